// Behaviour pinned down on small vocabularies written out in the test: merge order, the
// Llama 3 whole-word rule, merges through non-token intermediates, SentencePiece scores and
// byte fallback, and clear errors for malformed tokenizer metadata.
#include <gtest/gtest.h>

#include "synthetic_vocab.hpp"
#include "tokenizer/tokenizer.hpp"

namespace pensieve::tokenizer {
namespace {

using testing::SyntheticVocab;

// A byte-level vocabulary: the 256 byte tokens, then `extra` tokens, with the given merges.
SyntheticVocab bpe_vocab(std::string_view pre, const std::vector<std::string>& extra,
                         const std::vector<std::string>& merges) {
  SyntheticVocab v;
  auto tokens = SyntheticVocab::byte_tokens();
  tokens.insert(tokens.end(), extra.begin(), extra.end());
  v.set_string("tokenizer.ggml.model", "gpt2");
  v.set_string("tokenizer.ggml.pre", pre);
  v.set_strings("tokenizer.ggml.tokens", tokens);
  v.set_strings("tokenizer.ggml.merges", merges);
  return v;
}

Tokenizer make(const SyntheticVocab& v) {
  auto tok = Tokenizer::from_gguf(v.contents());
  EXPECT_TRUE(tok.ok()) << tok.error().message;
  return std::move(*tok);
}

std::vector<std::string> texts(const Tokenizer& tok, const std::vector<std::int32_t>& ids) {
  std::vector<std::string> out;
  for (std::int32_t id : ids) out.emplace_back(tok.token_text(id));
  return out;
}

using Texts = std::vector<std::string>;

TEST(ByteLevelBpe, LowerRankMergesFirstWherePairsOverlap) {
  auto b_c_first = make(bpe_vocab("gpt-2", {"ab", "bc"}, {"b c", "a b"}));
  EXPECT_EQ(texts(b_c_first, b_c_first.encode("abc", false)), (Texts{"a", "bc"}));
  auto a_b_first = make(bpe_vocab("gpt-2", {"ab", "bc"}, {"a b", "b c"}));
  EXPECT_EQ(texts(a_b_first, a_b_first.encode("abc", false)), (Texts{"ab", "c"}));
}

TEST(ByteLevelBpe, EqualPairsMergeLeftmostFirst) {
  auto tok = make(bpe_vocab("gpt-2", {"aa"}, {"a a"}));
  EXPECT_EQ(texts(tok, tok.encode("aaa", false)), (Texts{"aa", "a"}));
  EXPECT_EQ(texts(tok, tok.encode("aaaa", false)), (Texts{"aa", "aa"}));
}

TEST(ByteLevelBpe, LlamaBpeKeepsAPreTokenThatIsItselfAToken) {
  // "abc" is a token but no merge reaches it: only the Llama 3 rule yields it whole.
  const std::vector<std::string> extra = {"bc", "abc"};
  auto llama3 = make(bpe_vocab("llama-bpe", extra, {"b c"}));
  EXPECT_EQ(texts(llama3, llama3.encode("abc", false)), (Texts{"abc"}));
  auto gpt2 = make(bpe_vocab("gpt-2", extra, {"b c"}));
  EXPECT_EQ(texts(gpt2, gpt2.encode("abc", false)), (Texts{"a", "bc"}));
}

TEST(ByteLevelBpe, MergesMayPassThroughTextsThatAreNotTokens) {
  // "ab" is not a token, yet "a b" then "ab c" reach "abc"; a stranded "ab" falls back to bytes.
  auto tok = make(bpe_vocab("gpt-2", {"abc"}, {"a b", "ab c"}));
  EXPECT_EQ(texts(tok, tok.encode("abc", false)), (Texts{"abc"}));
  EXPECT_EQ(texts(tok, tok.encode("abd", false)), (Texts{"a", "b", "d"}));
}

TEST(ByteLevelBpe, SpacesAndBytesUseTheirStandInCharacters) {
  auto tok = make(bpe_vocab("gpt-2", {"\xC4\xA0" "a"}, {"\xC4\xA0 a"}));  // "Ġa"
  EXPECT_EQ(texts(tok, tok.encode(" a", false)), (Texts{"\xC4\xA0" "a"}));
  const std::string binary("\x00\xff\x80", 3);
  const auto ids = tok.encode(binary, false);
  EXPECT_EQ(ids, (std::vector<std::int32_t>{0, 255, 128}));
  EXPECT_EQ(tok.decode(ids), binary);
}

TEST(ByteLevelBpe, MalformedMergeLinesAreSkipped) {
  auto tok = make(bpe_vocab("gpt-2", {"ab"}, {"ab", "a b"}));  // "ab" has no separator: ignored
  EXPECT_EQ(texts(tok, tok.encode("ab", false)), (Texts{"ab"}));
}

SyntheticVocab spm_vocab(const std::vector<std::pair<std::string, double>>& extra) {
  SyntheticVocab v;
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<double> scores = {0, 0, 0};
  std::vector<std::int64_t> types = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    tokens.emplace_back(name);
    scores.push_back(0);
    types.push_back(6);
  }
  for (const auto& [text, score] : extra) {
    tokens.push_back(text);
    scores.push_back(score);
    types.push_back(1);
  }
  v.set_string("tokenizer.ggml.model", "llama");
  v.set_strings("tokenizer.ggml.tokens", tokens);
  v.set_floats("tokenizer.ggml.scores", scores);
  v.set_ints("tokenizer.ggml.token_type", types);
  v.set_uint("tokenizer.ggml.bos_token_id", 1);
  v.set_uint("tokenizer.ggml.eos_token_id", 2);
  v.set_uint("tokenizer.ggml.unknown_token_id", 0);
  return v;
}

const std::string kSpace = "\xE2\x96\x81";  // ▁

TEST(SentencePieceBpe, HigherScoreMergesFirst) {
  auto ab_wins = make(spm_vocab({{kSpace, -1}, {"a", -1}, {"b", -1}, {kSpace + "a", -3}, {"ab", -2}}));
  EXPECT_EQ(texts(ab_wins, ab_wins.encode("ab", false)), (Texts{kSpace, "ab"}));
  auto space_a_wins = make(spm_vocab({{kSpace, -1}, {"a", -1}, {"b", -1}, {kSpace + "a", -2}, {"ab", -3}}));
  EXPECT_EQ(texts(space_a_wins, space_a_wins.encode("ab", false)), (Texts{kSpace + "a", "b"}));
}

TEST(SentencePieceBpe, UnknownCharactersFallBackToByteTokens) {
  auto tok = make(spm_vocab({{kSpace, -1}, {"a", -1}}));
  const auto ids = tok.encode("a\xC3\xA9", false);  // "aé": é is not in the vocabulary
  EXPECT_EQ(texts(tok, ids), (Texts{kSpace, "a", "<0xC3>", "<0xA9>"}));
  EXPECT_EQ(tok.decode(ids), " a\xC3\xA9");
  EXPECT_EQ(tok.decode(ids, {.render_special = false, .strip_space_prefix = true}), "a\xC3\xA9");
}

TEST(SentencePieceBpe, SpacePrefixFollowsTheFlag) {
  auto v = spm_vocab({{kSpace, -1}, {"a", -1}});
  v.set_bool("tokenizer.ggml.add_space_prefix", false);
  auto tok = make(v);
  EXPECT_EQ(texts(tok, tok.encode("a a", false)), (Texts{"a", kSpace, "a"}));
}

TEST(SentencePieceBpe, MergesAcrossWordsWhenTheVocabularyHasSuchTokens) {
  // Words are encoded one by one only when no token could join them; "a▁b" can, so here the
  // text must be merged as a whole.
  auto tok = make(spm_vocab({{kSpace, -1}, {"a", -1}, {"b", -1}, {"a" + kSpace, -0.7}, {"a" + kSpace + "b", -0.5}, {kSpace + "a", -2}}));
  EXPECT_EQ(texts(tok, tok.encode("a b", false)), (Texts{kSpace, "a" + kSpace + "b"}));
  auto split = make(spm_vocab({{kSpace, -1}, {"a", -1}, {"b", -1}, {kSpace + "a", -2}, {kSpace + "b", -2}}));
  EXPECT_EQ(texts(split, split.encode("a b", false)), (Texts{kSpace + "a", kSpace + "b"}));
}

TEST(Vocabulary, ReportsMalformedMetadataClearly) {
  auto expect_error = [](const SyntheticVocab& v, ErrorCode code, std::string_view words) {
    auto tok = Tokenizer::from_gguf(v.contents());
    ASSERT_FALSE(tok.ok());
    EXPECT_EQ(tok.error().code, code) << tok.error().message;
    EXPECT_NE(tok.error().message.find(words), std::string::npos) << tok.error().message;
  };
  SyntheticVocab none;
  expect_error(none, ErrorCode::kNotFound, "no tokenizer");

  auto bert = bpe_vocab("gpt-2", {}, {});
  bert.set_string("tokenizer.ggml.model", "bert");
  expect_error(bert, ErrorCode::kUnsupported, "'bert'");

  expect_error(bpe_vocab("tekken-9", {}, {}), ErrorCode::kUnsupported, "'tekken-9'");

  auto no_merges = bpe_vocab("gpt-2", {}, {});
  no_merges.remove("tokenizer.ggml.merges");
  expect_error(no_merges, ErrorCode::kNotFound, "merges");

  auto short_scores = spm_vocab({});
  short_scores.set_floats("tokenizer.ggml.scores", {0.0, 1.0});
  expect_error(short_scores, ErrorCode::kInvalidFormat, "tokenizer.ggml.scores");

  auto numbers = spm_vocab({});
  numbers.set_ints("tokenizer.ggml.tokens", {1, 2, 3});
  expect_error(numbers, ErrorCode::kInvalidFormat, "not a string");

  auto wrong_type = spm_vocab({});
  wrong_type.set_string("tokenizer.ggml.bos_token_id", "one");
  EXPECT_FALSE(Tokenizer::from_gguf(wrong_type.contents()).ok());
}

TEST(Vocabulary, DropsSpecialIdsOutsideTheVocabulary) {
  auto v = spm_vocab({{kSpace, -1}});
  v.set_uint("tokenizer.ggml.padding_token_id", 1000000);
  auto tok = make(v);
  EXPECT_FALSE(tok.pad_id().has_value());
  EXPECT_EQ(tok.bos_id(), 1);
}

}  // namespace
}  // namespace pensieve::tokenizer
