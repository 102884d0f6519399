#include "grammar/stack_set.hpp"

#include <algorithm>

namespace pensieve::grammar {
namespace {

// Expands the top of `buf` (a whole stack) over calls and returns until byte b is read.
// `pushed` counts frames pushed during this expansion: those are never popped again before a
// byte is read, because the compiler already folded "call a rule that matches nothing" into
// the caller's own edges (and this keeps the expansion finite).
void expand(const Grammar& g, std::vector<std::uint32_t>& buf, std::uint32_t pushed, std::uint8_t b,
            StackSet& out) {
  const std::uint32_t top = buf.back();
  const std::uint32_t quick = g.simple_next(top, b);
  if (quick == Grammar::kNone) return;
  if (quick != Grammar::kComplex) {
    buf.back() = quick;
    out.push(buf);
    buf.back() = top;
    return;
  }
  for (const auto& e : g.byte_edges(top)) {
    if (b < e.lo) break;
    if (b > e.hi) continue;
    buf.back() = e.target;
    out.push(buf);
    buf.back() = top;
  }
  for (const auto& c : g.call_edges(top)) {
    const std::uint32_t start = g.rule_start(c.rule);
    if (!g.first(start).test(b)) continue;
    buf.back() = c.ret;
    buf.push_back(start);
    expand(g, buf, pushed + 1, b, out);
    buf.pop_back();
    buf.back() = top;
  }
  if (pushed == 0 && buf.size() > 1 && g.node(top).accepting) {
    buf.pop_back();
    expand(g, buf, 0, b, out);
    buf.push_back(top);
  }
}

}  // namespace

void step_stack(const Grammar& g, std::span<const std::uint32_t> s, std::uint8_t b, StepScratch& scratch,
                StackSet& out) {
  scratch.frames.assign(s.begin(), s.end());
  expand(g, scratch.frames, 0, b, out);
}

void step(const Grammar& g, const StackSet& in, std::uint8_t b, StepScratch& scratch, StackSet& out) {
  out.clear();
  if (in.size() == 1) {
    step_stack(g, in.stack(0), b, scratch, out);
    if (out.size() <= 1) return;
  } else {
    for (std::size_t i = 0; i < in.size(); ++i) step_stack(g, in.stack(i), b, scratch, out);
    if (out.size() <= 1) return;
  }
  // Sort and deduplicate the stacks.
  StackSet& u = scratch.unsorted;
  std::swap(u, out);
  out.clear();
  auto& order = scratch.order;
  order.clear();
  for (std::size_t i = 0; i < u.size(); ++i) {
    const std::uint32_t begin = i == 0 ? 0 : u.ends[i - 1];
    order.emplace_back(begin, u.ends[i]);
  }
  auto view = [&u](const std::pair<std::uint32_t, std::uint32_t>& r) {
    return std::span<const std::uint32_t>(u.frames.data() + r.first, r.second - r.first);
  };
  std::sort(order.begin(), order.end(), [&](const auto& a, const auto& c) {
    const auto x = view(a), y = view(c);
    return std::lexicographical_compare(x.begin(), x.end(), y.begin(), y.end());
  });
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (i > 0) {
      const auto x = view(order[i - 1]), y = view(order[i]);
      if (std::equal(x.begin(), x.end(), y.begin(), y.end())) continue;
    }
    out.push(view(order[i]));
  }
}

bool stack_can_end(const Grammar& g, std::span<const std::uint32_t> s) {
  return std::all_of(s.begin(), s.end(), [&g](std::uint32_t n) { return g.node(n).accepting; });
}

bool stack_can_continue(const Grammar& g, std::span<const std::uint32_t> s) {
  for (std::size_t i = s.size(); i-- > 0;) {
    if (!g.first(s[i]).empty()) return true;
    if (!g.node(s[i]).accepting) return false;
  }
  return false;
}

}  // namespace pensieve::grammar
