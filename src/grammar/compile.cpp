#include "grammar/compile.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <utility>

namespace pensieve::grammar::detail {
namespace {

// A node of the Thompson construction: epsilon moves allowed, edges labelled by byte sets.
struct TNode {
  std::uint32_t rule = 0;
  bool accepting = false;
  std::vector<std::pair<ByteSet, std::uint32_t>> bytes;
  std::vector<Grammar::CallEdge> calls;
  std::vector<std::uint32_t> eps;
};

class Builder {
 public:
  Builder(const ExprPool& pool, std::uint32_t root)
      : root_rule_(static_cast<std::uint32_t>(pool.rule_bodies.size())), pool_(pool), root_expr_(root) {}

  Status run() {
    rule_start_.assign(root_rule_ + 1, Grammar::kNone);
    rule_exit_.assign(root_rule_ + 1, Grammar::kNone);
    std::deque<std::uint32_t> queue{root_rule_};
    rule_start_[root_rule_] = 0;  // marks it queued
    while (!queue.empty()) {
      const std::uint32_t r = queue.front();
      queue.pop_front();
      std::uint32_t body = root_expr_;
      if (r != root_rule_) {
        if (!pool_.rule_bodies[r]) {
          return make_error(ErrorCode::kInvalidArgument,
                            "grammar rule '" + pool_.rule_names[r] + "' is declared but never defined");
        }
        body = *pool_.rule_bodies[r];
      }
      const std::uint32_t start = add(r);
      rule_start_[r] = start;
      const std::uint32_t exit = build(body, start, r, queue);
      if (too_big_) break;
      rule_exit_[r] = exit;
      nodes_[exit].accepting = true;
    }
    if (too_big_) {
      return make_error(ErrorCode::kResourceExhausted,
                        "grammar too large (over " + std::to_string(kMaxNodes) +
                            " states); reduce bounded repeats such as maxItems or maxLength");
    }
    return {};
  }

  std::vector<TNode> nodes_;
  std::vector<std::uint32_t> rule_start_, rule_exit_;
  std::uint32_t root_rule_;

 private:
  std::uint32_t add(std::uint32_t rule) {
    if (nodes_.size() >= kMaxNodes) {
      too_big_ = true;
      return 0;
    }
    nodes_.push_back(TNode{});
    nodes_.back().rule = rule;
    return static_cast<std::uint32_t>(nodes_.size() - 1);
  }

  // Adds `e` after node `from` and returns the node where it ends.
  std::uint32_t build(std::uint32_t e, std::uint32_t from, std::uint32_t rule,
                      std::deque<std::uint32_t>& queue) {
    if (too_big_) return from;
    const Expr& x = pool_.exprs[e];
    switch (x.kind) {
      case Expr::Kind::kEmpty:
        return from;
      case Expr::Kind::kBytes: {
        const std::uint32_t n = add(rule);
        nodes_[from].bytes.emplace_back(x.bytes, n);
        return n;
      }
      case Expr::Kind::kLiteral: {
        std::uint32_t cur = from;
        for (const char c : x.text) {
          const std::uint32_t n = add(rule);
          if (too_big_) return cur;
          nodes_[cur].bytes.emplace_back(ByteSet::single(static_cast<std::uint8_t>(c)), n);
          cur = n;
        }
        return cur;
      }
      case Expr::Kind::kSequence: {
        std::uint32_t cur = from;
        for (const std::uint32_t c : x.children) cur = build(c, cur, rule, queue);
        return cur;
      }
      case Expr::Kind::kAlternatives: {
        const std::uint32_t exit = add(rule);
        for (const std::uint32_t c : x.children) {
          const std::uint32_t s = add(rule);
          if (too_big_) return exit;
          nodes_[from].eps.push_back(s);
          const std::uint32_t t = build(c, s, rule, queue);
          nodes_[t].eps.push_back(exit);
        }
        return exit;
      }
      case Expr::Kind::kRepeat: {
        std::uint32_t cur = from;
        for (std::size_t i = 0; i < x.min && !too_big_; ++i) cur = build(x.children[0], cur, rule, queue);
        if (!x.max) {
          // Kleene star: a loop node both entered and left by epsilon.
          const std::uint32_t loop = add(rule);
          if (too_big_) return cur;
          nodes_[cur].eps.push_back(loop);
          const std::uint32_t t = build(x.children[0], loop, rule, queue);
          nodes_[t].eps.push_back(loop);
          return loop;
        }
        // (x (x (x)?)?)?: nested, so that after k copies exactly one position is alive.
        const std::uint32_t exit = add(rule);
        if (too_big_) return exit;
        nodes_[cur].eps.push_back(exit);
        for (std::size_t i = x.min; i < *x.max && !too_big_; ++i) {
          cur = build(x.children[0], cur, rule, queue);
          nodes_[cur].eps.push_back(exit);
        }
        return exit;
      }
      case Expr::Kind::kCall: {
        if (rule_start_[x.rule] == Grammar::kNone) {
          rule_start_[x.rule] = 0;
          queue.push_back(x.rule);
        }
        const std::uint32_t n = add(rule);
        nodes_[from].calls.push_back({x.rule, n});
        return n;
      }
    }
    return from;
  }

  const ExprPool& pool_;
  std::uint32_t root_expr_ = 0;
  bool too_big_ = false;
};

// Rules that can match the empty text.
std::vector<bool> nullable_rules(const Builder& b) {
  std::vector<bool> nullable(b.rule_start_.size(), false);
  for (bool changed = true; changed;) {
    changed = false;
    for (std::uint32_t r = 0; r < nullable.size(); ++r) {
      if (nullable[r] || b.rule_exit_[r] == Grammar::kNone) continue;
      std::vector<std::uint32_t> stack{b.rule_start_[r]};
      std::vector<bool> seen(b.nodes_.size(), false);
      seen[stack[0]] = true;
      while (!stack.empty() && !nullable[r]) {
        const std::uint32_t n = stack.back();
        stack.pop_back();
        if (n == b.rule_exit_[r]) nullable[r] = true;
        auto visit = [&](std::uint32_t m) {
          if (!seen[m]) {
            seen[m] = true;
            stack.push_back(m);
          }
        };
        for (const std::uint32_t m : b.nodes_[n].eps) visit(m);
        for (const auto& c : b.nodes_[n].calls)
          if (nullable[c.rule]) visit(c.ret);
      }
      changed |= nullable[r];
    }
  }
  return nullable;
}

// The automaton after epsilon removal, before final layout.
struct ENode {
  std::uint32_t rule = 0;
  bool accepting = false;
  std::vector<std::pair<ByteSet, std::uint32_t>> bytes;  // merged per target, sorted by target
  std::vector<Grammar::CallEdge> calls;                  // sorted, unique
};

void canonicalize(ENode& n) {
  std::sort(n.bytes.begin(), n.bytes.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  std::vector<std::pair<ByteSet, std::uint32_t>> merged;
  for (const auto& e : n.bytes) {
    if (e.first.empty()) continue;
    if (!merged.empty() && merged.back().second == e.second) {
      merged.back().first |= e.first;
    } else {
      merged.push_back(e);
    }
  }
  n.bytes = std::move(merged);
  std::sort(n.calls.begin(), n.calls.end(),
            [](const auto& a, const auto& b) { return std::pair(a.rule, a.ret) < std::pair(b.rule, b.ret); });
  n.calls.erase(std::unique(n.calls.begin(), n.calls.end(),
                            [](const auto& a, const auto& b) { return a.rule == b.rule && a.ret == b.ret; }),
                n.calls.end());
}

std::vector<ENode> remove_epsilons(const Builder& b, const std::vector<bool>& nullable) {
  std::vector<ENode> out(b.nodes_.size());
  std::vector<std::uint32_t> mark(b.nodes_.size(), Grammar::kNone);
  std::vector<std::uint32_t> stack;
  for (std::uint32_t n = 0; n < b.nodes_.size(); ++n) {
    ENode& e = out[n];
    e.rule = b.nodes_[n].rule;
    stack.assign(1, n);
    mark[n] = n;
    while (!stack.empty()) {
      const std::uint32_t c = stack.back();
      stack.pop_back();
      const TNode& t = b.nodes_[c];
      e.accepting |= t.accepting;
      e.bytes.insert(e.bytes.end(), t.bytes.begin(), t.bytes.end());
      e.calls.insert(e.calls.end(), t.calls.begin(), t.calls.end());
      auto visit = [&](std::uint32_t m) {
        if (mark[m] != n) mark[m] = n, stack.push_back(m);
      };
      for (const std::uint32_t m : t.eps) visit(m);
      for (const auto& call : t.calls)
        if (nullable[call.rule]) visit(call.ret);
    }
    canonicalize(e);
  }
  return out;
}

// Drops what can never complete, so that every live state has a way to finish.
bool prune_unproductive(std::vector<ENode>& nodes, std::vector<std::uint32_t>& rule_start,
                        std::uint32_t root) {
  std::vector<bool> productive(nodes.size(), false);
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t i = nodes.size(); i-- > 0;) {
      if (productive[i]) continue;
      const ENode& n = nodes[i];
      bool p = n.accepting;
      for (const auto& e : n.bytes) p = p || productive[e.second];
      for (const auto& c : n.calls) p = p || (productive[rule_start[c.rule]] && productive[c.ret]);
      if (p) productive[i] = changed = true;
    }
  }
  for (ENode& n : nodes) {
    std::erase_if(n.bytes, [&](const auto& e) { return !productive[e.second]; });
    std::erase_if(n.calls,
                  [&](const auto& c) { return !productive[rule_start[c.rule]] || !productive[c.ret]; });
  }
  return productive[rule_start[root]];
}

// Keeps the nodes reachable from the root and merges nodes with identical futures (Thompson's
// construction leaves several copies of e.g. a string's body loop), then renumbers densely.
void reduce(std::vector<ENode>& nodes, std::vector<std::uint32_t>& rule_start, std::uint32_t root) {
  std::vector<std::uint32_t> rep(nodes.size());
  for (std::uint32_t i = 0; i < rep.size(); ++i) rep[i] = i;
  for (int round = 0; round < 16; ++round) {
    std::map<std::string, std::uint32_t> by_signature;
    bool merged = false;
    for (std::uint32_t i = 0; i < nodes.size(); ++i) {
      if (rep[i] != i) continue;
      ENode& n = nodes[i];
      for (auto& e : n.bytes) e.second = rep[e.second];
      for (auto& c : n.calls) c.ret = rep[c.ret];
      canonicalize(n);
      std::string sig;
      auto put = [&sig](std::uint32_t v) { sig.append(reinterpret_cast<const char*>(&v), sizeof v); };
      put(n.rule);
      put(n.accepting);
      for (const auto& e : n.bytes) {
        put(e.second);
        for (const auto w : e.first.words()) sig.append(reinterpret_cast<const char*>(&w), sizeof w);
      }
      put(Grammar::kNone);
      for (const auto& c : n.calls) put(c.rule), put(c.ret);
      auto [it, inserted] = by_signature.emplace(std::move(sig), i);
      if (!inserted) rep[i] = it->second, merged = true;
    }
    for (auto& r : rep) r = rep[r];
    if (!merged) break;
  }
  for (auto& s : rule_start) s = s == Grammar::kNone ? s : rep[s];
  // Reachability from the root over the merged nodes.
  std::vector<std::uint32_t> index(nodes.size(), Grammar::kNone);
  std::vector<std::uint32_t> order;
  auto visit = [&](std::uint32_t m) {
    m = rep[m];
    if (index[m] == Grammar::kNone) index[m] = static_cast<std::uint32_t>(order.size()), order.push_back(m);
  };
  visit(rule_start[root]);
  for (std::size_t k = 0; k < order.size(); ++k) {
    const ENode& n = nodes[order[k]];
    for (const auto& e : n.bytes) visit(e.second);
    for (const auto& c : n.calls) visit(c.ret), visit(rule_start[c.rule]);
  }
  std::vector<ENode> out(order.size());
  for (std::size_t k = 0; k < order.size(); ++k) {
    out[k] = std::move(nodes[order[k]]);
    for (auto& e : out[k].bytes) e.second = index[rep[e.second]];
    for (auto& c : out[k].calls) c.ret = index[rep[c.ret]];
    canonicalize(out[k]);
  }
  for (auto& s : rule_start)
    s = (s == Grammar::kNone || index[s] == Grammar::kNone) ? Grammar::kNone : index[s];
  nodes = std::move(out);
}

// A rule whose start calls (through other rules' starts) back into itself would push forever.
std::optional<std::uint32_t> left_recursive_rule(const std::vector<ENode>& nodes,
                                                 const std::vector<std::uint32_t>& rule_start) {
  const std::size_t n_rules = rule_start.size();
  std::vector<int> state(n_rules, 0);  // 0 new, 1 on the path, 2 done
  std::optional<std::uint32_t> found;
  auto dfs = [&](auto&& self, std::uint32_t r) -> void {
    if (found || rule_start[r] == Grammar::kNone) return;
    state[r] = 1;
    for (const auto& c : nodes[rule_start[r]].calls) {
      if (state[c.rule] == 1) found = c.rule;
      if (found) return;
      if (state[c.rule] == 0) self(self, c.rule);
    }
    state[r] = 2;
  };
  for (std::uint32_t r = 0; r < n_rules && !found; ++r)
    if (state[r] == 0) dfs(dfs, r);
  return found;
}

}  // namespace

Result<Grammar::Data> compile(const ExprPool& pool, std::uint32_t root, bool tables) {
  Builder b(pool, root);
  PENSIEVE_TRY(b.run());
  std::vector<std::string> names = pool.rule_names;
  names.push_back("root");
  const std::vector<bool> nullable = nullable_rules(b);
  std::vector<ENode> nodes = remove_epsilons(b, nullable);
  std::vector<std::uint32_t> rule_start = b.rule_start_;
  for (std::uint32_t r = 0; r < rule_start.size(); ++r)
    if (b.rule_exit_[r] == Grammar::kNone) rule_start[r] = Grammar::kNone;
  // Unused declared rules have no start; calls to them cannot exist.
  if (auto r = left_recursive_rule(nodes, rule_start)) {
    return make_error(ErrorCode::kUnsupported, "grammar rule '" + names[*r] +
                                                   "' is left-recursive (it can call itself before "
                                                   "reading any text)");
  }
  if (!prune_unproductive(nodes, rule_start, b.root_rule_)) {
    return make_error(ErrorCode::kUnsupported,
                      "the grammar matches no text at all (e.g. a required property whose schema "
                      "recurses without end)");
  }
  reduce(nodes, rule_start, b.root_rule_);

  Grammar::Data d;
  d.root_rule = b.root_rule_;
  d.rule_names = std::move(names);
  d.rule_start = rule_start;
  if (!tables) return d;

  d.nodes.resize(nodes.size());
  for (std::uint32_t i = 0; i < nodes.size(); ++i) {
    Grammar::Node& out = d.nodes[i];
    out.rule = nodes[i].rule;
    out.accepting = nodes[i].accepting;
    out.byte_begin = static_cast<std::uint32_t>(d.byte_edges.size());
    std::vector<Grammar::ByteEdge> edges;
    for (const auto& [set, target] : nodes[i].bytes) {
      for (unsigned lo = 0; lo < 256;) {
        if (!set.test(static_cast<std::uint8_t>(lo))) {
          ++lo;
          continue;
        }
        unsigned hi = lo;
        while (hi + 1 < 256 && set.test(static_cast<std::uint8_t>(hi + 1))) ++hi;
        edges.push_back({static_cast<std::uint8_t>(lo), static_cast<std::uint8_t>(hi), target});
        lo = hi + 1;
      }
    }
    std::sort(edges.begin(), edges.end(), [](const auto& a, const auto& b) { return a.lo < b.lo; });
    d.byte_edges.insert(d.byte_edges.end(), edges.begin(), edges.end());
    out.byte_end = static_cast<std::uint32_t>(d.byte_edges.size());
    out.call_begin = static_cast<std::uint32_t>(d.call_edges.size());
    d.call_edges.insert(d.call_edges.end(), nodes[i].calls.begin(), nodes[i].calls.end());
    out.call_end = static_cast<std::uint32_t>(d.call_edges.size());
  }

  // first: what a node can read next without leaving its rule (calls included).
  d.first.assign(nodes.size(), ByteSet{});
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t i = nodes.size(); i-- > 0;) {
      ByteSet f = d.first[i];
      for (const auto& [set, target] : nodes[i].bytes) f |= set;
      for (const auto& c : nodes[i].calls) f |= d.first[rule_start[c.rule]];
      if (!(f == d.first[i])) d.first[i] = f, changed = true;
    }
  }
  // follow: what may come right after a rule, over every call site.
  d.follow.assign(rule_start.size(), ByteSet{});
  for (bool changed = true; changed;) {
    changed = false;
    for (std::uint32_t i = 0; i < nodes.size(); ++i) {
      for (const auto& c : nodes[i].calls) {
        ByteSet f = d.follow[c.rule];
        f |= d.first[c.ret];
        if (nodes[c.ret].accepting) f |= d.follow[nodes[i].rule];
        if (!(f == d.follow[c.rule])) d.follow[c.rule] = f, changed = true;
      }
    }
  }
  d.simple.assign(nodes.size() * 256, Grammar::kNone);
  for (std::uint32_t i = 0; i < nodes.size(); ++i) {
    const ENode& n = nodes[i];
    for (unsigned b = 0; b < 256; ++b) {
      const auto byte = static_cast<std::uint8_t>(b);
      std::uint32_t target = Grammar::kNone;
      bool complex = n.accepting && d.follow[n.rule].test(byte);
      for (const auto& c : n.calls) complex = complex || d.first[rule_start[c.rule]].test(byte);
      for (const auto& [set, t] : n.bytes) {
        if (!set.test(byte)) continue;
        if (target != Grammar::kNone) complex = true;
        target = t;
      }
      d.simple[i * 256 + b] = complex ? Grammar::kComplex : target;
    }
  }
  return d;
}

}  // namespace pensieve::grammar::detail
