#include "hub/reference.hpp"

#include <gtest/gtest.h>

namespace pensieve::hub {
namespace {

TEST(ReferenceTest, ParsesTheThreeForms) {
  auto plain = parse_reference("Qwen/Qwen3-1.7B-GGUF");
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(plain->repo, "Qwen/Qwen3-1.7B-GGUF");
  EXPECT_EQ(plain->quant, "");
  EXPECT_EQ(plain->file, "");

  auto quant = parse_reference("Qwen/Qwen3-1.7B-GGUF:q4_k_m");
  ASSERT_TRUE(quant.ok());
  EXPECT_EQ(quant->repo, "Qwen/Qwen3-1.7B-GGUF");
  EXPECT_EQ(quant->quant, "q4_k_m");
  EXPECT_EQ(quant->to_string(), "Qwen/Qwen3-1.7B-GGUF:q4_k_m");

  auto file = parse_reference("unsloth/GLM-GGUF/UD-Q4_K_XL/GLM-UD-Q4_K_XL-00001-of-00002.gguf");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->repo, "unsloth/GLM-GGUF");
  EXPECT_EQ(file->file, "UD-Q4_K_XL/GLM-UD-Q4_K_XL-00001-of-00002.gguf");
  EXPECT_EQ(file->to_string(), "unsloth/GLM-GGUF/UD-Q4_K_XL/GLM-UD-Q4_K_XL-00001-of-00002.gguf");
}

TEST(ReferenceTest, AcceptsTheHubHostInFront) {
  auto ref = parse_reference("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q8_0");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->repo, "bartowski/Llama-3.2-1B-Instruct-GGUF");
  EXPECT_EQ(ref->quant, "Q8_0");
  auto url = parse_reference("https://huggingface.co/bartowski/Llama-3.2-1B-Instruct-GGUF");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->repo, "bartowski/Llama-3.2-1B-Instruct-GGUF");
}

TEST(ReferenceTest, RejectsWhatIsNotOne) {
  for (const char* text :
       {"", "model.gguf", "org/", "/repo", "org/repo:", "org/repo/", "-org/repo", "org/re--po",
        "org/repo/../../etc/passwd", "org/repo/a//b.gguf", "org/repo:Q4 K", "org/re po"}) {
    auto ref = parse_reference(text);
    EXPECT_FALSE(ref.ok()) << text;
    if (!ref.ok()) {
      EXPECT_EQ(ref.error().code, ErrorCode::kInvalidArgument);
      EXPECT_NE(ref.error().message.find("ORG/REPO:QUANT"), std::string::npos) << ref.error().message;
    }
  }
}

TEST(ReferenceTest, TellsPathsFromReferences) {
  EXPECT_TRUE(looks_like_path("/models/a.gguf"));
  EXPECT_TRUE(looks_like_path("./a.gguf"));
  EXPECT_TRUE(looks_like_path("~/a.gguf"));
  EXPECT_TRUE(looks_like_path("model.gguf"));
  EXPECT_TRUE(looks_like_path("models/model.GGUF"));
  EXPECT_FALSE(looks_like_path("org/repo/model.gguf"));
  EXPECT_FALSE(looks_like_path("org/repo"));
  EXPECT_FALSE(looks_like_path("org/repo:Q4_K_M"));
  EXPECT_FALSE(looks_like_path("hf.co/org/repo"));
}

}  // namespace
}  // namespace pensieve::hub
