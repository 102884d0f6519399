// api/grammar_constraint: a grammar as the scheduler's token constraint. Each sampled token's
// bytes move a matcher on; before each token the vocabulary mask comes from a TokenMasker, which
// is costly to build (~100 ms for a 150k vocabulary) and so is kept per grammar in a small cache:
// Claude Code sends the same tools every turn.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat/call_trigger.hpp"
#include "engine/token_constraint.hpp"
#include "grammar/matcher.hpp"
#include "grammar/token_masker.hpp"

namespace pensieve::api {

// Lazy (with a trigger, for tool_choice auto): free until the output shows the trigger (outside
// the reasoning, when the prompt opens some, and outside the call's quiet spans), then held to the
// grammar until it is complete, then free again. Otherwise the whole output follows the grammar
// and nothing may follow it.
struct Trigger {
  chat::CallTrigger call;
  bool starts_in_reasoning = false;  // triggers count only after "</think>"
};

class GrammarConstraint final : public engine::TokenConstraint {
 public:
  // `token_bytes`: the bytes each token stands for in a grammar (grammar_token_bytes());
  // `end_tokens` are allowed exactly where the grammar may end.
  GrammarConstraint(std::shared_ptr<grammar::TokenMasker> masker,
                    std::shared_ptr<const grammar::Grammar> grammar,
                    std::shared_ptr<const std::vector<std::string>> token_bytes,
                    std::vector<std::int32_t> end_tokens, std::optional<Trigger> trigger = std::nullopt);

  void mask(std::span<float> logits) override;
  bool accept(std::int32_t token) override;

 private:
  // Free: watches for the trigger; true once it has engaged the grammar.
  bool watch(std::string_view bytes);

  std::shared_ptr<grammar::TokenMasker> masker_;
  std::shared_ptr<const grammar::Grammar> grammar_;
  grammar::Matcher matcher_;
  std::optional<Trigger> trigger_;
  bool engaged_ = true;
  // Triggers are only words until one of these shows ("</think>", or the end of a quiet span).
  const std::vector<std::string>* quiet_until_ = nullptr;
  std::string recent_;  // free output not yet ruled out as the start of a trigger
  std::shared_ptr<const std::vector<std::string>> token_bytes_;
  std::vector<std::int32_t> end_tokens_;
  std::vector<std::uint64_t> allowed_;
  std::vector<float> end_logits_;
};

// The grammars used last with their maskers, by a key naming what a grammar was made from; a
// hit returns the cached grammar, which the matcher must then use (the masker knows its own).
class MaskerCache {
 public:
  struct Entry {
    std::shared_ptr<const grammar::Grammar> grammar;
    std::shared_ptr<grammar::TokenMasker> masker;
  };
  explicit MaskerCache(std::shared_ptr<const std::vector<std::string>> token_bytes, std::size_t capacity = 8);
  Entry get(const std::string& key, const std::shared_ptr<const grammar::Grammar>& g);
  const std::shared_ptr<const std::vector<std::string>>& token_bytes() const { return token_bytes_; }

 private:
  std::shared_ptr<const std::vector<std::string>> token_bytes_;
  std::size_t capacity_;
  std::mutex mutex_;
  std::list<std::pair<std::string, Entry>> entries_;  // most recent first
};

}  // namespace pensieve::api
