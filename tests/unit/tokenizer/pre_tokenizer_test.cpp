// The hand-written pre-tokenizer rules must split text exactly as each model's regexes do. The
// expected pieces follow from the regexes quoted in pre_tokenizer_rules.cpp (and were checked
// against a Unicode regex engine); they cover every pre-tokenizer, including those without a
// vocabulary fixture (falcon, mpt, default, deepseek-llm), and scripts beyond Latin. Whole real
// vocabularies are compared with a reference tokenizer in tests/integration/tokenizer_reference.
#include "tokenizer/pre_tokenizer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pensieve::tokenizer {
namespace {

std::vector<std::string> split(std::string_view name, std::string_view text) {
  const PreTokenizerSpec* spec = find_pre_tokenizer(name);
  EXPECT_NE(spec, nullptr) << name;
  if (spec == nullptr) return {};
  CodepointText cps;
  cps.assign(text);
  std::vector<Piece> pieces, scratch;
  split_into_pieces(*spec, cps, pieces, scratch);
  std::vector<std::string> out;
  for (const Piece& p : pieces) {
    out.emplace_back(text.substr(cps.offset(p.begin), cps.offset(p.end) - cps.offset(p.begin)));
  }
  return out;
}

struct SplitCase {
  std::string_view pre;
  std::string_view text;
  std::vector<std::string> pieces;
};

const SplitCase kCases[] = {
    {"gpt-2",
     "Hello world's  3.14 x\n\ny",
     {"Hello", " world", "'s", " ", " 3", ".", "14", " x", "\n", "\n", "y"}},
    {"gpt-2", "I'VE we're", {"I", "'", "VE", " we", "'re"}},
    {"gpt-2", "a  \t b  ", {"a", "  \t", " b", "  "}},
    {"llama-bpe", "I'VE 12345 done!\n\n  ok", {"I", "'VE", " ", "123", "45", " done", "!\n\n", " ", " ok"}},
    {"llama-bpe", "我想在apple工作1314151天", {"我想在apple工作", "131", "415", "1", "天"}},
    {"llama-bpe", "नमस्ते दुनिया", {"नमस", "्त", "े", " द", "ुन", "िय", "ा"}},
    {"llama-bpe", " ...\n\nx", {" ...\n\n", "x"}},
    {"llama-bpe", "\tword", {"\tword"}},
    {"qwen2",
     "I'VE 12345 done!\n\n  ok",
     {"I", "'VE", " ", "1", "2", "3", "4", "5", " done", "!\n\n", " ", " ok"}},
    {"qwen2", "v2.0", {"v", "2", ".", "0"}},
    {"starcoder", "x=12 y", {"x", "=", "1", "2", " y"}},
    {"starcoder", "it's 99", {"it", "'s", " ", "9", "9"}},
    {"falcon", "a+b=c 1234567 $5", {"a", "+", "b", "=", "c", " ", "123", "456", "7", " ", "$", "5"}},
    {"falcon", "`code` 12", {"`", "code", "`", " 12"}},
    {"mpt", "Hello world's  3.14", {"Hello", " world", "'s", " ", " 3", ".", "14"}},
    {"default", "hello, world!! 123456", {"hello", ",", " world", "!!", " ", "123", "456"}},
    {"default", "a<=b", {"a", "<=", "b"}},
    {"deepseek-coder",
     "def f(x):\n  return 1234 中文",
     {"def", " f", "(", "x", "):", "\n", " ", " return", " ", "1", "2", "3", "4", " ", "中文"}},
    {"deepseek-coder", "Führer\r\nok", {"Führer", "\r", "\n", "ok"}},
    {"deepseek-llm", "Hello 世界 123 Ωmega!  ", {"Hello", " ", "世界", " ", "123", " Ω", "mega", "!", "  "}},
    {"deepseek-llm", "x\ny  \nz", {"x", "\n", "y", "  ", "\n", "z"}},
    {"gpt-4o",
     "HTTPServer getHTTPResponse iPhone DON'T you're",
     {"HTTPServer", " get", "HTTPResponse", " i", "Phone", " DON'T", " you're"}},
    {"gpt-4o", "x = a/b;\n\n// done 12345", {"x", " =", " a", "/b", ";\n\n//", " done", " ", "123", "45"}},
    {"gpt-4o", "Ǆungla ǅungla e\u0301 \u0301x", {"Ǆungla", " ǅungla", " e\u0301", " \u0301x"}},
    {"gpt-4o", " ...\n/ok", {" ...\n/", "ok"}},
    {"tekken", "HTTPServer DON'T 12345", {"HTTPServer", " DON", "'T", " ", "1", "2", "3", "4", "5"}},
    {"tekken", "CamelCase\tfoo\n\n bar", {"Camel", "Case", "\tfoo", "\n\n", " bar"}},
    {"kimi-k2", "中文English混合 北京市 Pascal", {"中文", "English", "混合", " ", "北京市", " Pascal"}},
    {"kimi-k2", "日本語のテキスト ⺀x 〇一", {"日本語", "のテキスト", " ⺀", "x", " ", "〇一"}},
    {"kimi-k2", "GPT4发布于2023年 it's/path", {"GPT", "4", "发布于", "202", "3", "年", " it's", "/path"}},
    {"deepseek-v3",
     "Hello, world! 12345 中文字 ひらがな",
     {"Hello", ",", " world", "!", " ", "123", "45", " ", "中文字", " ", "ひらがな"}},
    {"deepseek-v3", ".NET 'été (x) \t\tfoo", {".NET", " '", "été", " (", "x", ")", " \t", "\tfoo"}},
    {"deepseek-v3",
     "👨\u200D👩\u200D👧 a\u0301b\n\n  x",
     {"👨", "\u200D", "👩", "\u200D", "👧", " a\u0301b", "\n\n", " ", " x"}},
};

TEST(PreTokenizer, SplitsLikeTheModelsRegexes) {
  for (const SplitCase& c : kCases) {
    EXPECT_EQ(split(c.pre, c.text), c.pieces) << c.pre << ": \"" << c.text << "\"";
  }
}

TEST(PreTokenizer, PiecesCoverTheTextExactlyForEveryPreTokenizer) {
  const std::string text = "Grüße, 世界! It's 2026…\r\n\t  x=\"y\" 😀👍🏽 \xff\xfe तु  \n";
  for (std::string_view name : known_pre_tokenizer_names()) {
    std::string joined;
    for (const std::string& piece : split(name, text)) {
      EXPECT_FALSE(piece.empty()) << name;
      joined += piece;
    }
    EXPECT_EQ(joined, text) << name;
  }
}

TEST(PreTokenizer, NamesMapToOneTable) {
  EXPECT_EQ(find_pre_tokenizer("llama-bpe"), find_pre_tokenizer("llama3"));
  EXPECT_EQ(find_pre_tokenizer("refact"), find_pre_tokenizer("starcoder"));
  EXPECT_EQ(find_pre_tokenizer(""), find_pre_tokenizer("default"));
  EXPECT_EQ(find_pre_tokenizer("no-such-tokenizer"), nullptr);
  EXPECT_TRUE(find_pre_tokenizer("llama-bpe")->ignore_merges);
  EXPECT_FALSE(find_pre_tokenizer("gpt-2")->ignore_merges);
  EXPECT_TRUE(find_pre_tokenizer("qwen2")->normalize_nfc);
  EXPECT_EQ(find_pre_tokenizer("chatglm-bpe"), find_pre_tokenizer("glm4"));
  EXPECT_EQ(find_pre_tokenizer("smollm"), find_pre_tokenizer("starcoder"));
  // Which vocabularies ignore merges is part of each model's tokenizer, not of its regexes.
  EXPECT_TRUE(find_pre_tokenizer("gpt-4o")->ignore_merges);
  EXPECT_TRUE(find_pre_tokenizer("tekken")->ignore_merges);
  EXPECT_TRUE(find_pre_tokenizer("kimi-k2")->ignore_merges);
  EXPECT_FALSE(find_pre_tokenizer("deepseek-v3")->ignore_merges);
  EXPECT_FALSE(find_pre_tokenizer("glm4")->ignore_merges);
}

TEST(PreTokenizer, LongRunsStayLinear) {
  // A quadratic splitter would take seconds here; this checks the shape of the result.
  const std::string spaces(200000, ' ');
  const std::string text = spaces + "x" + spaces;
  for (std::string_view name : known_pre_tokenizer_names()) {
    std::size_t total = 0;
    for (const std::string& piece : split(name, text)) total += piece.size();
    EXPECT_EQ(total, text.size()) << name;
  }
}

}  // namespace
}  // namespace pensieve::tokenizer
