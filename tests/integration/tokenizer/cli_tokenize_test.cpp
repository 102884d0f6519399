// `pensieve tokenize MODEL (--text TEXT | --file PATH) [--special]` run as a user would: its one
// line of ids must match the reference ids of the vocabulary fixtures.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "support/derived_fixtures.hpp"

namespace {

const std::string kBinary = std::string(PENSIEVE_BINARY_DIR) + "/src/cli/pensieve";
const std::string kFixtures = PENSIEVE_FIXTURES;

struct CommandResult {
  int status = -1;
  std::string out;
};

CommandResult run(const std::string& args) {
  CommandResult r;
  FILE* pipe = popen((kBinary + " " + args + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) r.out.append(buf, n);
  r.status = pclose(pipe);
  return r;
}

std::string first_expected_line(const std::string& out_file) {
  std::ifstream in(out_file);
  std::string line;
  std::getline(in, line);
  const auto b = line.find_first_not_of(' ');
  return b == std::string::npos ? "" : line.substr(b);
}

TEST(CliTokenize, FileInputMatchesTheReferenceIds) {
  const std::string vocab = ::pensieve::testing::fixture_path("vocab/ggml-vocab-gpt-2-pre-llama3.gguf");
  const std::string path = testing::TempDir() + "/tokenize_case.txt";
  std::ofstream(path, std::ios::binary) << "ied 4 \xC2\xBD months";
  const CommandResult r = run("tokenize " + vocab + " --file " + path);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, first_expected_line(kFixtures + "/vocab/ggml-vocab-gpt-2-pre-llama3.gguf.out") + "\n");
}

TEST(CliTokenize, SpecialFlagParsesControlTokens) {
  const std::string model = kFixtures + "/models/qwen2-f16.gguf";
  const CommandResult plain = run("tokenize " + model + " --text '<|im_end|>'");
  const CommandResult special = run("tokenize " + model + " --text '<|im_end|>' --special");
  EXPECT_EQ(plain.status, 0);
  EXPECT_EQ(special.status, 0);
  EXPECT_EQ(special.out.find(' '), std::string::npos) << special.out;  // one id
  EXPECT_NE(plain.out.find(' '), std::string::npos) << plain.out;      // several ids
}

TEST(CliTokenize, MissingInputOrModelFails) {
  EXPECT_NE(run("tokenize " + kFixtures + "/models/qwen2-f16.gguf").status, 0);
  EXPECT_NE(run("tokenize /no/such/model.gguf --text hi").status, 0);
}

}  // namespace
