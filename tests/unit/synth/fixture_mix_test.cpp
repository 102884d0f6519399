// The K-quant mixes and tensor names against files an established quantizer made: for each
// Q4_K_M / Q5_K_M fixture, a synthetic plan of the same shape must name the same tensors and give
// each the same type.
#include <gtest/gtest.h>

#include <map>

#include "gguf/reader.hpp"
#include "model/hyperparams.hpp"
#include "synth/tensor_plan.hpp"

namespace pensieve::synth {
namespace {

const std::string kModels = std::string(PENSIEVE_FIXTURES) + "/models/";

// The shape of a fixture, read the way the loader reads it.
Shape shape_of(const gguf::Contents& c) {
  auto hp = model::read_hyperparams(c);
  EXPECT_TRUE(hp.ok()) << hp.error().message;
  Shape s;
  s.name = "fixture";
  s.architecture = hp->architecture;
  s.n_layer = hp->n_layer;
  s.n_embd = hp->n_embd;
  s.n_ff = hp->n_ff;
  s.n_head = hp->n_head;
  s.n_head_kv = hp->n_head_kv;
  s.head_dim = hp->head_dim_k;
  s.n_vocab = hp->n_vocab;
  s.n_expert = hp->n_expert;
  s.n_expert_used = hp->n_expert_used;
  s.n_ff_expert = hp->n_ff_expert;
  s.tied_embeddings = c.find_tensor("output.weight") == nullptr;
  if (c.find_tensor("rope_freqs.weight") != nullptr) s.llama3_rope = Llama3RopeScaling{};
  return s;
}

class FixtureMixTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureMixTest, SameTensorsAndTypesAsTheEstablishedQuantizer) {
  auto file = gguf::File::open(kModels + GetParam());
  ASSERT_TRUE(file.ok()) << file.error().message;
  const gguf::Contents& c = file->contents();
  auto file_type = c.get_uint("general.file_type");
  ASSERT_TRUE(file_type.ok() && file_type->has_value());
  const WeightScheme* scheme = nullptr;
  for (const auto& s : all_schemes()) {
    if (s.mix == Mix::kKQuantMedium && s.file_type == **file_type) scheme = &s;
  }
  ASSERT_NE(scheme, nullptr) << "file_type " << **file_type;

  std::map<std::string, tensor::TensorType> theirs;
  for (const auto& t : c.tensors) theirs[std::string(t.name)] = t.type;
  std::map<std::string, tensor::TensorType> ours;
  for (const auto& t : plan_tensors(shape_of(c), *scheme)) {
    ours[t.name] = t.type;
    const gguf::TensorInfo* info = c.find_tensor(t.name);
    ASSERT_NE(info, nullptr) << t.name << " is not in " << GetParam();
    ASSERT_EQ(info->n_dims, t.dims.size()) << t.name;
    for (std::size_t d = 0; d < t.dims.size(); ++d)
      EXPECT_EQ(info->dims[d], t.dims[d]) << t.name << " dim " << d;
  }
  ASSERT_EQ(ours.size(), theirs.size());
  for (const auto& [name, type] : theirs) {
    EXPECT_EQ(tensor::name_of(ours.at(name)), tensor::name_of(type)) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(KQuantMixes, FixtureMixTest,
                         ::testing::Values("llama-q4_k_m.gguf", "llama-q5_k_m.gguf",
                                           "llama3-rope-q4_k_m.gguf", "qwen2-q4_k_m.gguf",
                                           "qwen3-q4_k_m.gguf", "qwen3-q5_k_m.gguf", "qwen3moe-q4_k_m.gguf"));

}  // namespace
}  // namespace pensieve::synth
