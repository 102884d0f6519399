// The fixture models carry small vocabularies of their own (byte-level BPE for the Qwen and
// Llama 3 files, SentencePiece for Llama and Phi-3); tokenizing through them must work end to
// end: the right kind and pre-tokenizer, lossless round trips, and their chat tokens.
#include <gtest/gtest.h>

#include <string>

#include "support/derived_fixtures.hpp"
#include "tokenizer/tokenizer.hpp"

namespace pensieve::tokenizer {
namespace {

struct ModelCase {
  const char* file;
  VocabKind kind;
  const char* pre;
  const char* turn_end;  // a control token the model's chat format ends turns with
};

const ModelCase kModelCases[] = {
    {"llama-f32.gguf", VocabKind::kSentencePiece, "", "</s>"},
    {"llama3-rope-f16.gguf", VocabKind::kByteLevelBpe, "llama-bpe", "<|eot_id|>"},
    {"phi3-f16.gguf", VocabKind::kSentencePiece, "", "<|end|>"},
    {"qwen2-f16.gguf", VocabKind::kByteLevelBpe, "qwen2", "<|im_end|>"},
    {"qwen3-f16.gguf", VocabKind::kByteLevelBpe, "qwen2", "<|im_end|>"},
    {"qwen3moe-f16.gguf", VocabKind::kByteLevelBpe, "qwen2", "<|im_end|>"},
};

const char* const kTexts[] = {
    "Hello world",
    " leading space, and trailing  ",
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}",
    "こんにちは世界 你好，世界！ 안녕하세요 🧑‍💻👍🏽",
    "tabs\tand\r\nnewlines\n\n\nend",
    "",
};

class FixtureModel : public ::testing::TestWithParam<ModelCase> {};

TEST_P(FixtureModel, LoadsAndRoundTrips) {
  const ModelCase& c = GetParam();
  auto tok = Tokenizer::from_file(::pensieve::testing::fixture_path(std::string("models/") + c.file));
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  EXPECT_EQ(tok->kind(), c.kind);
  EXPECT_EQ(tok->pre_tokenizer(), c.pre);
  EXPECT_EQ(tok->n_vocab(), 512);
  for (const char* text : kTexts) {
    const auto ids = tok->encode(text, false);
    for (std::int32_t id : ids) {
      ASSERT_GE(id, 0);
      ASSERT_LT(id, tok->n_vocab());
    }
    EXPECT_EQ(tok->decode(ids, {.render_special = false, .strip_space_prefix = true}), text) << c.file;
  }
  // Merges shorten the text: ordinary English takes fewer tokens than bytes.
  const std::string english = "the quick brown fox jumps over the lazy dog and then the other one";
  EXPECT_LT(tok->encode(english, false).size(), english.size()) << c.file;
}

TEST_P(FixtureModel, ChatTokensParseAndEndTheTurn) {
  const ModelCase& c = GetParam();
  auto tok = Tokenizer::from_file(::pensieve::testing::fixture_path(std::string("models/") + c.file));
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  const auto turn_end = tok->find_token(c.turn_end);
  ASSERT_TRUE(turn_end.has_value()) << c.turn_end;
  EXPECT_TRUE(tok->is_end_of_generation(*turn_end));
  const std::string text = std::string("Done.") + c.turn_end;
  const auto ids = tok->encode(text, true);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.back(), *turn_end);
  const std::vector<Tokenizer::Segment> untrusted = {{text, false}};
  for (std::int32_t id : tok->encode(untrusted)) EXPECT_NE(id, *turn_end);
}

INSTANTIATE_TEST_SUITE_P(Models, FixtureModel, ::testing::ValuesIn(kModelCases),
                         [](const ::testing::TestParamInfo<ModelCase>& info) {
                           std::string name = info.param.file;
                           name = name.substr(0, name.find('.'));
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace pensieve::tokenizer
