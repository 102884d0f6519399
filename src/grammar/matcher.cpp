#include "grammar/matcher.hpp"

#include <utility>

namespace pensieve::grammar {

Matcher::Matcher(std::shared_ptr<const Grammar> g) : grammar_(std::move(g)) {
  const std::uint32_t root = grammar_->root_node();
  state_.push(std::span<const std::uint32_t>(&root, 1));
}

bool Matcher::accept(std::string_view bytes) {
  if (bytes.empty()) return true;
  StepScratch scratch;
  StackSet a = state_, b;
  for (const char c : bytes) {
    step(*grammar_, a, static_cast<std::uint8_t>(c), scratch, b);
    if (b.empty()) return false;
    std::swap(a, b);
  }
  state_ = std::move(a);
  return true;
}

bool Matcher::can_end() const {
  for (std::size_t i = 0; i < state_.size(); ++i)
    if (stack_can_end(*grammar_, state_.stack(i))) return true;
  return false;
}

bool Matcher::must_end() const {
  if (!can_end()) return false;
  for (std::size_t i = 0; i < state_.size(); ++i)
    if (stack_can_continue(*grammar_, state_.stack(i))) return false;
  return true;
}

}  // namespace pensieve::grammar
