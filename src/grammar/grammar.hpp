// grammar: constrained decoding. A Grammar is a compiled, immutable set of byte-level rules (built
// with GrammarBuilder, e.g. literal tool-call syntax around JSON-Schema-shaped JSON); a Matcher is
// one generation's position inside it; a TokenMasker says which tokens of a vocabulary may come
// next. The module knows nothing of models, requests or HTTP.
//
// Representation: each named rule is a byte automaton without epsilon moves whose edges either
// consume a byte range or call another rule (push a return node). A matcher state is the set of
// call stacks still alive (usually one), so the grammar may be ambiguous and recursive, but not
// left-recursive (the compiler refuses that).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "grammar/byte_set.hpp"

namespace pensieve::grammar {

class Grammar {
 public:
  static constexpr std::uint32_t kNone = 0xFFFFFFFFu;     // simple_next(): no way to take the byte
  static constexpr std::uint32_t kComplex = 0xFFFFFFFEu;  // simple_next(): needs the full step

  struct ByteEdge {
    std::uint8_t lo;
    std::uint8_t hi;
    std::uint32_t target;
  };
  struct CallEdge {
    std::uint32_t rule;
    std::uint32_t ret;  // where the caller continues once the rule has matched
  };
  struct Node {
    std::uint32_t rule = 0;
    bool accepting = false;  // the node's rule may end here
    std::uint32_t byte_begin = 0, byte_end = 0;
    std::uint32_t call_begin = 0, call_end = 0;
  };

  // What the compiler fills in (grammar/compile.cpp).
  struct Data {
    std::vector<Node> nodes;
    std::vector<ByteEdge> byte_edges;
    std::vector<CallEdge> call_edges;
    std::vector<std::uint32_t> rule_start;
    std::vector<std::string> rule_names;
    std::vector<ByteSet> first;         // per node: bytes it can consume without returning from its rule
    std::vector<ByteSet> follow;        // per rule: bytes that may come right after it, in any caller
    std::vector<std::uint32_t> simple;  // node * 256 + byte: see simple_next()
    std::uint32_t root_rule = 0;
  };

  explicit Grammar(Data data) : d_(std::move(data)) {}

  std::uint32_t root_node() const { return d_.rule_start[d_.root_rule]; }
  std::size_t node_count() const { return d_.nodes.size(); }
  std::size_t rule_count() const { return d_.rule_start.size(); }
  const Node& node(std::uint32_t n) const { return d_.nodes[n]; }
  std::span<const ByteEdge> byte_edges(std::uint32_t n) const {
    const Node& x = d_.nodes[n];
    return {d_.byte_edges.data() + x.byte_begin, x.byte_end - x.byte_begin};
  }
  std::span<const CallEdge> call_edges(std::uint32_t n) const {
    const Node& x = d_.nodes[n];
    return {d_.call_edges.data() + x.call_begin, x.call_end - x.call_begin};
  }
  std::uint32_t rule_start(std::uint32_t rule) const { return d_.rule_start[rule]; }
  const std::string& rule_name(std::uint32_t rule) const { return d_.rule_names[rule]; }
  const ByteSet& first(std::uint32_t n) const { return d_.first[n]; }
  const ByteSet& follow(std::uint32_t rule) const { return d_.follow[rule]; }

  // The one node that byte b leads to from node n when that move cannot involve the call stack:
  // a single byte edge takes b, no call from n can start with b, and if n may end its rule, b can
  // never follow the rule. kNone when nothing at all can take b (whatever the stack), kComplex
  // when the full step over the stack is needed. Lets token masks walk most bytes by lookup.
  std::uint32_t simple_next(std::uint32_t n, std::uint8_t b) const { return d_.simple[n * 256u + b]; }

 private:
  Data d_;
};

}  // namespace pensieve::grammar
