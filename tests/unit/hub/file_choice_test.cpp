#include "hub/file_choice.hpp"

#include <gtest/gtest.h>

namespace pensieve::hub {
namespace {

std::vector<RepoFile> files(std::initializer_list<const char*> paths) {
  std::vector<RepoFile> out;
  for (const char* p : paths) out.push_back(RepoFile{p, 100, "", ""});
  return out;
}

std::vector<std::string> paths(const FileChoice& c) {
  std::vector<std::string> out;
  for (const auto& f : c.parts) out.push_back(f.path);
  return out;
}

Reference ref(std::string quant, std::string file = "") {
  return Reference{"org/repo", std::move(quant), std::move(file)};
}

const auto kRepo = files({"README.md", ".gitattributes", "Model-Q4_K_M.gguf", "Model-Q4_K_S.gguf",
                          "Model-Q8_0.gguf", "Model-IQ4_XS.gguf", "mmproj-Model-F16.gguf", "Model-F16.gguf"});

TEST(FileChoiceTest, MatchesTheTagCaseInsensitivelyAsAWholeToken) {
  auto c = choose_files(kRepo, ref("q4_k_m"));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(paths(*c), std::vector<std::string>{"Model-Q4_K_M.gguf"});
  EXPECT_EQ(c->note, "");
  // Q4_K is a prefix of two tags but the tag of none.
  auto prefix = choose_files(kRepo, ref("Q4_K"));
  ASSERT_FALSE(prefix.ok());
  EXPECT_EQ(prefix.error().code, ErrorCode::kNotFound);
}

TEST(FileChoiceTest, AProjectorIsNeverPickedByTag) {
  auto c = choose_files(kRepo, ref("F16"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(paths(*c), std::vector<std::string>{"Model-F16.gguf"});
  EXPECT_EQ(c->note, "");
  // By its path it can be fetched.
  auto by_path = choose_files(kRepo, ref("", "mmproj-Model-F16.gguf"));
  ASSERT_TRUE(by_path.ok());
  EXPECT_EQ(paths(*by_path), std::vector<std::string>{"mmproj-Model-F16.gguf"});
}

TEST(FileChoiceTest, AMissingTagListsTheOnesThatExist) {
  auto c = choose_files(kRepo, ref("Q5_K_M"));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kNotFound);
  EXPECT_NE(c.error().message.find("org/repo has no Q5_K_M model"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("F16, IQ4_XS, Q4_K_M, Q4_K_S, Q8_0"), std::string::npos)
      << c.error().message;
}

TEST(FileChoiceTest, NoTagPicksTheOnlyModelElseQ4KM) {
  auto only = choose_files(files({"README.md", "tiny-F32.gguf", "mmproj-tiny-F16.gguf"}), ref(""));
  ASSERT_TRUE(only.ok());
  EXPECT_EQ(paths(*only), std::vector<std::string>{"tiny-F32.gguf"});
  auto many = choose_files(kRepo, ref(""));
  ASSERT_TRUE(many.ok());
  EXPECT_EQ(paths(*many), std::vector<std::string>{"Model-Q4_K_M.gguf"});
  EXPECT_NE(many->note.find("picked Q4_K_M"), std::string::npos);
  auto open = choose_files(files({"a-Q8_0.gguf", "a-F16.gguf"}), ref(""));
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(open.error().message.find("say which"), std::string::npos);
  EXPECT_NE(open.error().message.find("F16, Q8_0"), std::string::npos) << open.error().message;
}

TEST(FileChoiceTest, SplitModelsComeWholeAndInOrder) {
  const auto repo = files({"Big-Q4_K_M-00003-of-00003.gguf", "Big-Q4_K_M-00001-of-00003.gguf",
                           "Big-Q4_K_M-00002-of-00003.gguf", "Big-Q8_0.gguf"});
  auto c = choose_files(repo, ref("Q4_K_M"));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(paths(*c),
            (std::vector<std::string>{"Big-Q4_K_M-00001-of-00003.gguf", "Big-Q4_K_M-00002-of-00003.gguf",
                                      "Big-Q4_K_M-00003-of-00003.gguf"}));
  // Naming any part means the whole model.
  auto by_part = choose_files(repo, ref("", "Big-Q4_K_M-00002-of-00003.gguf"));
  ASSERT_TRUE(by_part.ok());
  EXPECT_EQ(by_part->parts.size(), 3u);
  EXPECT_EQ(list_quantizations(repo), (std::vector<std::string>{"Q4_K_M", "Q8_0"}));
  // A missing part is an error, not two thirds of a model.
  auto gap = choose_files(files({"Big-Q4_K_M-00001-of-00003.gguf", "Big-Q4_K_M-00003-of-00003.gguf"}),
                          ref("Q4_K_M"));
  ASSERT_FALSE(gap.ok());
  EXPECT_NE(gap.error().message.find("has 3 parts but only 2"), std::string::npos) << gap.error().message;
}

TEST(FileChoiceTest, TagsInFoldersCount) {
  const auto repo = files({"UD-Q4_K_XL/GLM-UD-Q4_K_XL-00001-of-00002.gguf",
                           "UD-Q4_K_XL/GLM-UD-Q4_K_XL-00002-of-00002.gguf", "Q8_0/GLM-00001-of-00001.gguf"});
  auto ud = choose_files(repo, ref("ud-q4_k_xl"));
  ASSERT_TRUE(ud.ok()) << ud.error().message;
  EXPECT_EQ(ud->parts.size(), 2u);
  auto q8 = choose_files(repo, ref("Q8_0"));
  ASSERT_TRUE(q8.ok()) << q8.error().message;
  EXPECT_EQ(paths(*q8), std::vector<std::string>{"Q8_0/GLM-00001-of-00001.gguf"});
  EXPECT_EQ(list_quantizations(repo), (std::vector<std::string>{"Q8_0", "UD-Q4_K_XL"}));
}

TEST(FileChoiceTest, SeveralMatchesPickTheShortestAndSaySo) {
  const auto repo =
      files({"Model-Instruct-Q4_K_M.gguf", "Model-Q4_K_M.gguf", "Model-abliterated-Q4_K_M.gguf"});
  auto c = choose_files(repo, ref("Q4_K_M"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(paths(*c), std::vector<std::string>{"Model-Q4_K_M.gguf"});
  EXPECT_NE(c->note.find("matches 3 models"), std::string::npos) << c->note;
  EXPECT_NE(c->note.find("Model-Instruct-Q4_K_M.gguf"), std::string::npos) << c->note;
  EXPECT_NE(c->note.find("org/repo/FILE"), std::string::npos) << c->note;
}

TEST(FileChoiceTest, AMissingFileOrNoGgufSaysWhatExists) {
  auto missing = choose_files(kRepo, ref("", "nope.gguf"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no file nope.gguf in org/repo"), std::string::npos);
  EXPECT_NE(missing.error().message.find("Q8_0"), std::string::npos);
  auto none = choose_files(files({"model.safetensors", "config.json"}), ref(""));
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("no GGUF model files"), std::string::npos);
}

TEST(FileChoiceTest, ReadsTagsFromNames) {
  EXPECT_EQ(quantization_of("Qwen3-1.7B-Q4_K_M.gguf"), "Q4_K_M");
  EXPECT_EQ(quantization_of("qwen2.5-0.5b-instruct-q8_0.gguf"), "q8_0");
  EXPECT_EQ(quantization_of("gpt-oss-20b-MXFP4.gguf"), "MXFP4");
  EXPECT_EQ(quantization_of("Llama-3.2-1B-Instruct-IQ4_XS.gguf"), "IQ4_XS");
  EXPECT_EQ(quantization_of("Big-BF16-00001-of-00004.gguf"), "BF16");
  EXPECT_EQ(quantization_of("model.gguf"), "");
}

}  // namespace
}  // namespace pensieve::hub
