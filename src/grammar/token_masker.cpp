#include "grammar/token_masker.hpp"

#include <chrono>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "grammar/byte_trie.hpp"

namespace pensieve::grammar {
namespace {

// The cached masks together may use this much memory; past it the cache starts over.
constexpr std::size_t kCacheBytes = std::size_t{64} << 20;

std::vector<std::pair<std::string_view, std::uint32_t>> trie_entries(const std::vector<std::string>& tokens) {
  std::vector<std::pair<std::string_view, std::uint32_t>> out;
  out.reserve(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) out.emplace_back(tokens[i], static_cast<std::uint32_t>(i));
  return out;
}

}  // namespace

struct TokenMasker::Impl {
  // What a grammar node allows by itself, and where the stack below it must be consulted.
  struct NodeMask {
    std::vector<std::uint64_t> dense;  // used when many tokens are allowed
    std::vector<std::uint32_t> ids;    // otherwise
    // (trie node, grammar node): the trie node's byte, read at the grammar node (reached by
    // simple moves from this one), needs the full step over the stack.
    std::vector<std::pair<std::uint32_t, std::uint32_t>> frontier;
    // Trie nodes whose byte may follow the rule's end at a node reached by simple moves, where
    // nothing else makes the byte complex: the move within the rule (if any) is walked above like
    // any simple one, and only the return to the caller is left for allowed(), from the stack
    // without its top frame. (A line break inside raw markup text may begin the closing tag: these
    // are most of a markup grammar's complex bytes.)
    std::vector<std::uint32_t> returns;
  };

  Impl(std::shared_ptr<const Grammar> g, std::vector<std::string> tokens)
      : grammar(std::move(g)), token_bytes(std::move(tokens)), trie(trie_entries(token_bytes)) {
    words = (token_bytes.size() + 63) / 64;
    const auto t0 = std::chrono::steady_clock::now();
    node_masks.resize(grammar->node_count());
    std::vector<std::uint32_t> at_depth(trie.max_depth() + 1);
    for (std::uint32_t n = 0; n < grammar->node_count(); ++n) precompute(n, at_depth);
    stats.precompute_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    states.resize(trie.max_depth() + 2);
  }

  void precompute(std::uint32_t n, std::vector<std::uint32_t>& at_depth) {
    NodeMask& mask = node_masks[n];
    const Grammar& g = *grammar;
    at_depth[0] = n;
    for (std::uint32_t i = 1; i < trie.size();) {
      const std::uint32_t from = at_depth[trie.depth(i) - 1];
      const std::uint32_t next = g.simple_next(from, trie.byte(i));
      if (next == Grammar::kNone) {
        i = trie.subtree_end(i);
      } else if (next == Grammar::kComplex) {
        // A token's first byte is read at n itself, whose calls allowed() expands (see add_stack).
        const bool at_n = trie.depth(i) == 1;
        const std::optional<std::uint32_t> within = split_move(from, trie.byte(i), at_n);
        if (!within) {
          mask.frontier.emplace_back(i, from);
          i = trie.subtree_end(i);
          continue;
        }
        if (may_return(from, trie.byte(i)) && (mask.returns.empty() || mask.returns.back() != i))
          mask.returns.push_back(i);
        if (*within == Grammar::kNone) {
          i = trie.subtree_end(i);
          continue;
        }
        at_depth[trie.depth(i)] = *within;
        for (const std::uint32_t id : trie.ids(i)) mask.ids.push_back(id);
        ++i;
      } else {
        at_depth[trie.depth(i)] = next;
        for (const std::uint32_t id : trie.ids(i)) mask.ids.push_back(id);
        ++i;
      }
    }
    if (mask.ids.size() * 32 > token_bytes.size()) {
      mask.dense.assign(words, 0);
      for (const std::uint32_t id : mask.ids) mask.dense[id >> 6] |= std::uint64_t{1} << (id & 63);
      mask.ids.clear();
      mask.ids.shrink_to_fit();
    }
  }

  // out = the state after byte b. Where the state has come down to one stack and the byte is a
  // simple move from its top (a line break inside raw text, once the closing tag it might have begun
  // is ruled out), the move is a look-up rather than a full step: the walks below a frontier branch
  // mostly run inside one rule again after a byte or two.
  void advance(const StackSet& in, std::uint8_t b, StackSet& out) {
    if (in.size() == 1) {
      const std::uint32_t next = grammar->simple_next(in.frames.back(), b);
      if (next == Grammar::kNone) {
        out.clear();
        return;
      }
      if (next != Grammar::kComplex) {
        out = in;
        out.frames.back() = next;
        return;
      }
    }
    step(*grammar, in, b, scratch, out);
  }

  bool may_return(std::uint32_t n, std::uint8_t b) const {
    const Grammar& g = *grammar;
    return g.node(n).accepting && g.follow(g.node(n).rule).test(b);
  }

  // A complex byte b at node n taken apart: the one node a byte edge leads to within the rule
  // (kNone when none does), the return being left to allowed() (may_return) and, with
  // `calls_expanded`, the calls too. Nullopt when b needs the full step: several byte edges take
  // it, or a call does and calls are not expanded.
  std::optional<std::uint32_t> split_move(std::uint32_t n, std::uint8_t b, bool calls_expanded) const {
    const Grammar& g = *grammar;
    if (!calls_expanded) {
      for (const auto& c : g.call_edges(n))
        if (g.first(g.rule_start(c.rule)).test(b)) return std::nullopt;
    }
    std::uint32_t target = Grammar::kNone;
    for (const auto& e : g.byte_edges(n)) {
      if (b < e.lo || b > e.hi) continue;
      if (target != Grammar::kNone) return std::nullopt;
      target = e.target;
    }
    return target;
  }

  // Walks trie node i's subtree from `start` (the state before i's byte), a byte at a time.
  void walk(const StackSet& start, std::uint32_t i, std::vector<std::uint64_t>& out) {
    const std::uint32_t base = trie.depth(i) - 1;
    states[0] = start;
    for (std::uint32_t j = i, end = trie.subtree_end(i); j < end;) {
      const std::uint32_t d = trie.depth(j) - base;
      advance(states[d - 1], trie.byte(j), states[d]);
      if (states[d].empty()) {
        j = trie.subtree_end(j);
        continue;
      }
      for (const std::uint32_t id : trie.ids(j)) out[id >> 6] |= std::uint64_t{1} << (id & 63);
      ++j;
    }
  }

  void compute(const StackSet& state, std::vector<std::uint64_t>& out) {
    out.assign(words, 0);
    for (std::size_t s = 0; s < state.size(); ++s) add_stack(state.stack(s), out);
  }

  // The tokens one stack allows: its top's precomputed set, the walks it left, the returns to
  // the caller, and for each call its top can make, what the callee's start allows on the stack
  // that call makes (a token entering a call at its first byte).
  void add_stack(std::span<const std::uint32_t> stack, std::vector<std::uint64_t>& out) {
    {
      const NodeMask& mask = node_masks[stack.back()];
      if (!mask.dense.empty()) {
        for (std::size_t w = 0; w < words; ++w) out[w] |= mask.dense[w];
      } else {
        for (const std::uint32_t id : mask.ids) out[id >> 6] |= std::uint64_t{1} << (id & 63);
      }
      for (const auto& [trie_node, grammar_node] : mask.frontier) {
        single.clear();
        single.push(stack);
        single.frames.back() = grammar_node;
        walk(single, trie_node, out);
      }
      if (stack.size() > 1 && !mask.returns.empty()) {
        single.clear();
        single.push(stack.first(stack.size() - 1));
        for (const std::uint32_t trie_node : mask.returns) walk(single, trie_node, out);
      }
    }
    std::vector<std::uint32_t> called;
    for (const auto& c : grammar->call_edges(stack.back())) {
      called.assign(stack.begin(), stack.end());
      called.back() = c.ret;
      called.push_back(grammar->rule_start(c.rule));
      add_stack(called, out);
    }
  }

  std::shared_ptr<const Grammar> grammar;
  std::vector<std::string> token_bytes;
  ByteTrie trie;
  std::size_t words = 0;
  std::vector<NodeMask> node_masks;

  std::mutex mutex;  // guards everything below
  std::vector<StackSet> states;
  StackSet single;
  StepScratch scratch;
  std::unordered_map<std::string, std::vector<std::uint64_t>> cache;
  std::string key;
  Stats stats;
};

TokenMasker::TokenMasker(std::shared_ptr<const Grammar> g, std::vector<std::string> token_bytes)
    : impl_(std::make_unique<Impl>(std::move(g), std::move(token_bytes))) {}

TokenMasker::~TokenMasker() = default;

std::size_t TokenMasker::vocab_size() const {
  return impl_->token_bytes.size();
}

TokenMasker::Stats TokenMasker::stats() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->stats;
}

void TokenMasker::allowed(const Matcher& m, std::vector<std::uint64_t>& allowed) {
  Impl& d = *impl_;
  std::lock_guard lock(d.mutex);
  const StackSet& state = m.state();
  d.key.assign(state.key_frames());
  d.key.append(state.key_ends());
  if (auto it = d.cache.find(d.key); it != d.cache.end()) {
    ++d.stats.cache_hits;
    allowed = it->second;
    return;
  }
  ++d.stats.cache_misses;
  d.compute(state, allowed);
  if ((d.cache.size() + 1) * d.words * sizeof(std::uint64_t) > kCacheBytes) d.cache.clear();
  d.cache.emplace(d.key, allowed);
}

}  // namespace pensieve::grammar
