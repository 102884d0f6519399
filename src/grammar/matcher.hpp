// grammar/matcher: one generation's position inside a Grammar.
#pragma once

#include <memory>
#include <string_view>

#include "grammar/grammar.hpp"
#include "grammar/stack_set.hpp"

namespace pensieve::grammar {

// Cheap to copy: a shared pointer and the live call stacks (one stack of a few frames in an
// unambiguous spot, a handful while alternatives share a prefix).
class Matcher {
 public:
  explicit Matcher(std::shared_ptr<const Grammar> g);

  // Reads bytes; false (and the state unchanged) if they cannot continue a valid prefix.
  bool accept(std::string_view bytes);
  // The text so far is a complete sentence of the grammar.
  bool can_end() const;
  // Complete, and nothing may follow.
  bool must_end() const;

  const Grammar& grammar() const { return *grammar_; }
  const std::shared_ptr<const Grammar>& grammar_ptr() const { return grammar_; }
  const StackSet& state() const { return state_; }

 private:
  std::shared_ptr<const Grammar> grammar_;
  StackSet state_;
};

}  // namespace pensieve::grammar
