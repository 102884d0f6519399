// Every case of every ../shared/fixtures/vocab/*.inp must encode to exactly the ids of the
// matching .out (produced by each model's reference tokenizer), and decode back to its text. The
// vocabulary beside them is the shared one, or derived at test time (support/derived_fixtures.hpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/derived_fixtures.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/unicode.hpp"

namespace pensieve::tokenizer {
namespace {

const std::string kVocabDir = std::string(PENSIEVE_FIXTURES) + "/vocab";

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Cases are separated by "\n__ggml_vocab_test__\n"; text after the last separator, if any, is
// one more case (llama.cpp's test-tokenizer-0 reads them the same way).
std::vector<std::string> read_cases(const std::string& path) {
  const std::string raw = read_all(path);
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> cases;
  std::size_t pos = 0;
  while (pos < raw.size()) {
    const std::size_t next = raw.find(sep, pos);
    if (next == std::string::npos) {
      cases.push_back(raw.substr(pos));
      break;
    }
    cases.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  return cases;
}

std::vector<std::vector<std::int32_t>> read_expected(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::int32_t>> lines;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::vector<std::int32_t> ids;
    std::int32_t id;
    while (ss >> id) ids.push_back(id);
    lines.push_back(std::move(ids));
  }
  return lines;
}

std::string escaped(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string join(const std::vector<std::int32_t>& ids) {
  std::ostringstream out;
  for (std::size_t i = 0; i < ids.size(); ++i) out << (i ? " " : "") << ids[i];
  return out.str();
}

class VocabFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(VocabFixture, EveryCaseEncodesToTheReferenceIds) {
  const std::string base = kVocabDir + "/" + GetParam();
  auto tok = Tokenizer::from_file(::pensieve::testing::fixture_path("vocab/" + GetParam()));
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  const auto cases = read_cases(base + ".inp");
  const auto expected = read_expected(base + ".out");
  ASSERT_EQ(cases.size(), expected.size()) << "case count of .inp and .out differ";
  ASSERT_GT(cases.size(), 40u);
  int failures = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto ids = tok->encode(cases[i], false);
    EXPECT_EQ(ids, expected[i]) << "case " << i << " text \"" << escaped(cases[i]) << "\"\n  expected: "
                                << join(expected[i]) << "\n  actual:   " << join(ids);
    if (ids != expected[i]) ++failures;
  }
  EXPECT_EQ(failures, 0);
}

TEST_P(VocabFixture, EveryCaseDecodesBackToItsText) {
  const std::string base = kVocabDir + "/" + GetParam();
  auto tok = Tokenizer::from_file(::pensieve::testing::fixture_path("vocab/" + GetParam()));
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  for (const std::string& text : read_cases(base + ".inp")) {
    const auto ids = tok->encode(text, false);
    const std::string back = tok->decode(ids, {.render_special = false, .strip_space_prefix = true});
    std::string want = text;
    std::string normal;
    if (normalize_nfc(text, normal) && tok->pre_tokenizer() == "qwen2") want = normal;
    EXPECT_EQ(back, want) << "text \"" << escaped(text) << "\" ids " << join(ids);
  }
}

std::vector<std::string> vocab_files() {
  std::vector<std::string> names;
  // One per reference case file, so a vocabulary derived at test time is never left out.
  for (const auto& entry : std::filesystem::directory_iterator(kVocabDir)) {
    if (entry.path().extension() == ".inp") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param.substr(0, info.param.size() - std::string(".gguf").size());
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Vocab, VocabFixture, ::testing::ValuesIn(vocab_files()), test_name);

}  // namespace
}  // namespace pensieve::tokenizer
