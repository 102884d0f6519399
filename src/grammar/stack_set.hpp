// grammar/stack_set: the state of a match: every call stack still alive, and the byte step
// that advances them (shared by Matcher and TokenMasker).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "grammar/grammar.hpp"

namespace pensieve::grammar {

// Stacks are stored flat: stack i is frames[ends[i-1] .. ends[i]), bottom first; its last frame is
// the node where matching continues, the ones below are where each caller resumes. Kept sorted
// and without duplicates, so equal states compare (and hash) equal.
struct StackSet {
  std::vector<std::uint32_t> frames;
  std::vector<std::uint32_t> ends;

  bool empty() const { return ends.empty(); }
  std::size_t size() const { return ends.size(); }
  std::span<const std::uint32_t> stack(std::size_t i) const {
    const std::uint32_t b = i == 0 ? 0 : ends[i - 1];
    return {frames.data() + b, ends[i] - b};
  }
  void clear() {
    frames.clear();
    ends.clear();
  }
  void push(std::span<const std::uint32_t> s) {
    for (const std::uint32_t f : s) frames.push_back(f);
    ends.push_back(static_cast<std::uint32_t>(frames.size()));
  }
  bool operator==(const StackSet&) const = default;
  // The bytes of the state, for hashing and cache keys.
  std::string_view key_frames() const {
    return {reinterpret_cast<const char*>(frames.data()), frames.size() * sizeof(std::uint32_t)};
  }
  std::string_view key_ends() const {
    return {reinterpret_cast<const char*>(ends.data()), ends.size() * sizeof(std::uint32_t)};
  }
};

// Scratch space for step(), reused to avoid allocating per byte.
struct StepScratch {
  std::vector<std::uint32_t> frames;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> order;
  StackSet unsorted;
};

// Appends to `out` the stacks that result from reading byte b on stack `s` (not sorted).
void step_stack(const Grammar& g, std::span<const std::uint32_t> s, std::uint8_t b, StepScratch& scratch,
                StackSet& out);

// out = the state after reading b from `in` (sorted, unique); empty when b cannot be read.
void step(const Grammar& g, const StackSet& in, std::uint8_t b, StepScratch& scratch, StackSet& out);

// Whether stack s may end here: it is at an accepting node and so is every caller below it.
bool stack_can_end(const Grammar& g, std::span<const std::uint32_t> s);
// Whether stack s can read any further byte.
bool stack_can_continue(const Grammar& g, std::span<const std::uint32_t> s);

}  // namespace pensieve::grammar
