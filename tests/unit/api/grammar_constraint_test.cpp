// GrammarConstraint on a small vocabulary whose markers exist both as control tokens (their
// marked text, grammar/control_token.hpp) and as ordinary text: a lazy constraint stays out of the
// way until a trigger appears in either form (and not inside reasoning), then allows exactly what
// continues the call — the closing marker as its control token or its text, never a token that
// merely shares its bytes — and lets go once the call is complete.
#include "api/grammar_constraint.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "grammar/builder.hpp"
#include "grammar/control_token.hpp"

namespace pensieve::api {
namespace {

using grammar::control_token_bytes;

enum Token : std::int32_t {
  kHi,
  kGoText,
  kGoControl,
  kOpen,
  kClose,
  kDoneControl,
  kDoneText,
  kLt,
  kDoneTail,
  kEnd,
  kRawFF,
  kThinkEndControl,
  kGarbledControl,
  kMessageControl,
  kMessageEndControl,
  kCount
};

std::shared_ptr<const std::vector<std::string>> token_bytes() {
  auto bytes = std::make_shared<std::vector<std::string>>(kCount);
  auto& b = *bytes;
  b[kHi] = "hi";
  b[kGoText] = "<|go|>";
  b[kGoControl] = control_token_bytes("<|go|>");
  b[kOpen] = "{";
  b[kClose] = "}";
  b[kDoneControl] = control_token_bytes("<|done|>");
  b[kDoneText] = "<|done|>";
  b[kLt] = "<";
  b[kDoneTail] = "|done|>";
  b[kEnd] = control_token_bytes("<|eot|>");
  b[kRawFF] = grammar::grammar_token_bytes("\xFF", "", false);
  b[kThinkEndControl] = control_token_bytes("</think>");
  b[kGarbledControl] = control_token_bytes("<|don|>");
  b[kMessageControl] = control_token_bytes("<|message|>");
  b[kMessageEndControl] = control_token_bytes("<|end|>");
  return bytes;
}

struct Parts {
  std::shared_ptr<const grammar::Grammar> grammar;
  std::shared_ptr<grammar::TokenMasker> masker;
  std::shared_ptr<const std::vector<std::string>> bytes = token_bytes();
};

// After the trigger: "{}" then the closing marker.
Parts parts() {
  grammar::GrammarBuilder b;
  Parts s;
  s.grammar = b.build(b.sequence({b.literal("{}"), b.token("<|done|>")}));
  s.masker = std::make_shared<grammar::TokenMasker>(s.grammar, *s.bytes);
  return s;
}

std::vector<std::int32_t> allowed(GrammarConstraint& c) {
  std::vector<float> logits(kCount, 0.0f);
  c.mask(logits);
  std::vector<std::int32_t> out;
  for (std::int32_t i = 0; i < kCount; ++i)
    if (!std::isinf(logits[static_cast<std::size_t>(i)])) out.push_back(i);
  return out;
}

chat::CallTrigger call_trigger(std::vector<std::string> texts, std::vector<std::string> openings = {},
                               std::vector<std::string> quiet_open = {},
                               std::vector<std::string> quiet_close = {}) {
  chat::CallTrigger t;
  t.texts = std::move(texts);
  t.openings = std::move(openings);
  t.quiet_open = std::move(quiet_open);
  t.quiet_close = std::move(quiet_close);
  return t;
}

std::vector<std::int32_t> all() {
  std::vector<std::int32_t> out;
  for (std::int32_t i = 0; i < kCount; ++i) out.push_back(i);
  return out;
}

TEST(GrammarConstraint, LazyEngagesAtATriggerInEitherFormAndLetsGoWhenTheCallIsComplete) {
  const Parts s = parts();
  for (const std::int32_t trigger : {kGoText, kGoControl}) {
    SCOPED_TRACE(trigger);
    GrammarConstraint c(s.masker, s.grammar, s.bytes, {kEnd},
                        Trigger{call_trigger({"<|go|>", control_token_bytes("<|go|>")}), false});
    EXPECT_EQ(allowed(c), all()) << "free before the trigger";
    EXPECT_TRUE(c.accept(kHi));
    EXPECT_TRUE(c.accept(trigger));
    EXPECT_EQ(allowed(c), std::vector<std::int32_t>{kOpen});
    EXPECT_TRUE(c.accept(kOpen));
    EXPECT_TRUE(c.accept(kClose));
    // The marker as its control token, or spelled in text; not another control token, nor a raw
    // byte token that could spell the mark.
    EXPECT_EQ(allowed(c), (std::vector<std::int32_t>{kDoneControl, kDoneText, kLt}));
    EXPECT_TRUE(c.accept(kDoneControl));
    EXPECT_EQ(allowed(c), all()) << "free again after the call";
  }
}

TEST(GrammarConstraint, ForcedFollowsTheGrammarAndEndsWithIt) {
  const Parts s = parts();
  GrammarConstraint c(s.masker, s.grammar, s.bytes, {kEnd});
  EXPECT_EQ(allowed(c), std::vector<std::int32_t>{kOpen});
  EXPECT_TRUE(c.accept(kOpen));
  EXPECT_TRUE(c.accept(kClose));
  EXPECT_TRUE(c.accept(kLt));
  EXPECT_EQ(allowed(c), std::vector<std::int32_t>{kDoneTail});
  EXPECT_FALSE(c.accept(kDoneTail)) << "complete: nothing may follow";
}

TEST(GrammarConstraint, ATriggerInsideReasoningIsNotOne) {
  const Parts s = parts();
  GrammarConstraint c(
      s.masker, s.grammar, s.bytes, {kEnd},
      Trigger{call_trigger({"<|go|>", control_token_bytes("<|go|>")}), /*starts_in_reasoning=*/true});
  EXPECT_TRUE(c.accept(kGoControl));
  EXPECT_EQ(allowed(c), all()) << "still thinking";
  EXPECT_TRUE(c.accept(kThinkEndControl));  // </think> as a control token ends the reasoning
  EXPECT_EQ(allowed(c), all());
  EXPECT_TRUE(c.accept(kGoControl));
  EXPECT_EQ(allowed(c), std::vector<std::int32_t>{kOpen});
}

// gpt-oss writes "to=functions." in a message's header to call; inside a message's body the same
// words are only words.
TEST(GrammarConstraint, ATriggerInsideAQuietSpanIsNotOne) {
  const Parts s = parts();
  const chat::CallTrigger call =
      call_trigger({"<|go|>"}, {}, {control_token_bytes("<|message|>")}, {control_token_bytes("<|end|>")});
  GrammarConstraint c(s.masker, s.grammar, s.bytes, {kEnd}, Trigger{call, false});
  EXPECT_TRUE(c.accept(kMessageControl));
  EXPECT_TRUE(c.accept(kGoText));
  EXPECT_EQ(allowed(c), all()) << "in a body";
  EXPECT_TRUE(c.accept(kMessageEndControl));
  EXPECT_TRUE(c.accept(kHi));
  EXPECT_EQ(allowed(c), all());
  EXPECT_TRUE(c.accept(kGoText));
  EXPECT_EQ(allowed(c), std::vector<std::int32_t>{kOpen}) << "in a header";
}

// An opening (Qwen3-Coder's bare "<function=") is the grammar's own first words: the constraint
// hands it to the grammar rather than skipping it.
TEST(GrammarConstraint, AnOpeningIsTheStartOfTheCall) {
  const Parts s = parts();
  GrammarConstraint c(s.masker, s.grammar, s.bytes, {kEnd}, Trigger{call_trigger({"<|go|>"}, {"{"}), false});
  EXPECT_TRUE(c.accept(kHi));
  EXPECT_EQ(allowed(c), all());
  EXPECT_TRUE(c.accept(kOpen));
  EXPECT_EQ(allowed(c), std::vector<std::int32_t>{kClose});
}

}  // namespace
}  // namespace pensieve::api
