// Streaming detokenization: ids fed one at a time never yield a broken UTF-8 sequence, and the
// pieces add up to the whole decode — with byte-fallback tokens (one byte per token), byte-level
// tokens that cut characters apart, random texts, and random id sequences.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "fixture_tokenizer.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/unicode.hpp"

namespace pensieve::tokenizer {
namespace {

using testing::load_fixture;

// Feeds every id, checking that each chunk is valid UTF-8; returns the concatenation.
std::string stream(const Tokenizer& tok, const std::vector<std::int32_t>& ids, DecodeOptions options = {}) {
  StreamDecoder decoder(tok, options);
  std::string out;
  for (std::int32_t id : ids) {
    const std::string_view chunk = decoder.feed(id);
    EXPECT_TRUE(is_valid_utf8(chunk)) << "after id " << id;
    out.append(chunk);
  }
  const std::string_view rest = decoder.flush();
  EXPECT_TRUE(is_valid_utf8(rest));
  out.append(rest);
  return out;
}

TEST(StreamDecoder, HoldsBackByteTokensUntilTheCharacterIsComplete) {
  auto tok = load_fixture("vocab/ggml-vocab-llama-spm.gguf");
  const auto ids = tok.encode("\xF0\x9F\xA6\x99", false);  // 🦙: not in the vocabulary
  std::vector<std::int32_t> byte_ids;
  for (std::int32_t id : ids) {
    if (tok.token_type(id) == TokenType::kByte) byte_ids.push_back(id);
  }
  ASSERT_EQ(byte_ids.size(), 4u);
  StreamDecoder decoder(tok);
  EXPECT_EQ(decoder.feed(byte_ids[0]), "");
  EXPECT_EQ(decoder.feed(byte_ids[1]), "");
  EXPECT_EQ(decoder.feed(byte_ids[2]), "");
  EXPECT_EQ(decoder.pending_bytes(), 3u);
  EXPECT_EQ(decoder.feed(byte_ids[3]), "\xF0\x9F\xA6\x99");
  EXPECT_EQ(decoder.pending_bytes(), 0u);
  EXPECT_EQ(decoder.flush(), "");
}

TEST(StreamDecoder, CharactersCutAcrossByteLevelTokensComeOutWhole) {
  auto tok = load_fixture("vocab/ggml-vocab-gpt-2.gguf");
  const std::string text = "こんにちは世界 你好，世界！ 안녕하세요 🧑‍💻👍🏽 Cửa Việt";
  const auto ids = tok.encode(text, false);
  int held = 0;
  StreamDecoder decoder(tok);
  for (std::int32_t id : ids) {
    decoder.feed(id);
    if (decoder.pending_bytes() > 0) ++held;
  }
  EXPECT_GT(held, 0) << "the text should cut some character apart";
  EXPECT_EQ(stream(tok, ids), text);
}

TEST(StreamDecoder, RandomTextsStreamToTheirDecode) {
  const std::vector<std::string> alphabet = {"a", "Z", " ", "\n", "é", "ß", "ж", "中", "文", "가", "🦙", "😀",
                                             "\u200d", "👍🏽", "क्", "ि", "€", "½", "\t", "'s"};
  for (const char* vocab : {"vocab/ggml-vocab-gpt-2-pre-qwen2.gguf", "vocab/ggml-vocab-llama-spm.gguf",
                            "vocab/ggml-vocab-deepseek-coder.gguf", "models/qwen3-f16.gguf"}) {
    auto tok = load_fixture(vocab);
    std::mt19937 rng(11);
    for (int trial = 0; trial < 200; ++trial) {
      std::string text;
      for (int i = 0, n = static_cast<int>(rng() % 30); i < n; ++i) text += alphabet[rng() % alphabet.size()];
      const auto ids = tok.encode(text, false);
      const std::string whole = tok.decode(ids);
      ASSERT_TRUE(is_valid_utf8(whole)) << vocab;
      EXPECT_EQ(stream(tok, ids), whole) << vocab << " text \"" << text << "\"";
      const DecodeOptions strip{.render_special = false, .strip_space_prefix = true};
      EXPECT_EQ(stream(tok, ids, strip), tok.decode(ids, strip)) << vocab;
    }
  }
}

TEST(StreamDecoder, RandomIdsStreamToTheSanitisedDecode) {
  auto tok = load_fixture("vocab/ggml-vocab-gpt-2.gguf");
  std::mt19937 rng(5);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<std::int32_t> ids;
    for (int i = 0, n = 1 + static_cast<int>(rng() % 12); i < n; ++i) {
      ids.push_back(static_cast<std::int32_t>(rng() % 512));  // many are single bytes 0x80..0xFF
    }
    EXPECT_EQ(stream(tok, ids), sanitize_utf8(tok.decode(ids))) << "trial " << trial;
  }
}

TEST(StreamDecoder, FlushReplacesAnUnfinishedCharacter) {
  auto tok = load_fixture("vocab/ggml-vocab-llama-spm.gguf");
  StreamDecoder decoder(tok);
  EXPECT_EQ(decoder.feed(*tok.find_token("<0xE4>")), "");
  EXPECT_EQ(decoder.feed(*tok.find_token("<0xBD>")), "");
  EXPECT_EQ(decoder.flush(), "\xEF\xBF\xBD");
  // An impossible continuation is replaced at once, and the next character still comes out.
  EXPECT_EQ(decoder.feed(*tok.find_token("<0xE4>")), "");
  const std::string_view out = decoder.feed(*tok.find_token("a"));
  EXPECT_EQ(out, "\xEF\xBF\xBD" "a");
}

TEST(StreamDecoder, ControlTokensAreSilentUnlessRendered) {
  auto tok = load_fixture("models/qwen2-f16.gguf");
  const auto ids = tok.encode("<|im_start|>assistant\nHi<|im_end|>", true);
  EXPECT_EQ(stream(tok, ids), "assistant\nHi");
  EXPECT_EQ(stream(tok, ids, {.render_special = true}), "<|im_start|>assistant\nHi<|im_end|>");
  StreamDecoder decoder(tok);
  EXPECT_EQ(decoder.feed(-5), "");  // ids outside the vocabulary are ignored
  EXPECT_EQ(decoder.feed(1 << 30), "");
}

}  // namespace
}  // namespace pensieve::tokenizer
