#include "model/weights.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "contents_editing.hpp"
#include "core/thread_pool.hpp"
#include "kernels/kernel_table.hpp"
#include "kernels/panel_layout.hpp"
#include "model/weight_copies.hpp"

namespace pensieve::model {
namespace {

using namespace testing;

Result<Weights> bind(const gguf::Contents& c) {
  auto hp = read_hyperparams(c);
  if (!hp) return hp.error();
  return bind_weights(c, *hp);
}

// Bound with the load-time copies `table` asks for (the weights keep the copies' memory).
Result<Weights> bind_copied(const gguf::Contents& c, const kernels::KernelTable& table,
                            core::ThreadPool& pool) {
  auto hp = read_hyperparams(c);
  if (!hp) return hp.error();
  WeightCopies copies(table, pool, c);
  return bind_weights(c, *hp, &copies);
}

TEST(Weights, BindsEveryTensorOfTheLlamaFixture) {
  const gguf::File file = open_fixture("llama-f32.gguf");
  auto w = bind(file.contents());
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_EQ(w->layers.size(), 2u);
  EXPECT_EQ(w->layers[1].wk.rows, 128u);
  EXPECT_EQ(w->layers[1].wk.cols, 256u);
  EXPECT_EQ(w->layers[0].ffn_down.cols, 512u);
  EXPECT_NE(w->output.data, w->token_embd.data);
  EXPECT_EQ(w->rope_freqs, nullptr);
  std::uint64_t all = 0;
  for (const auto& t : file.contents().tensors) all += t.data.size();
  EXPECT_EQ(w->bytes, all);
}

// What `pensieve serve` shows while a model loads: a count that only grows, ends at the file's
// tensor data once, and is told after every tensor (a qwen3 fixture has a few dozen).
TEST(Weights, ProgressCountsUpToTheFilesTensorData) {
  const gguf::File file = open_fixture("qwen3-q8_0.gguf");
  auto hp = read_hyperparams(file.contents());
  ASSERT_TRUE(hp.ok());
  std::vector<std::pair<std::uint64_t, std::uint64_t>> calls;
  auto w = bind_weights(file.contents(), *hp, nullptr,
                        [&](std::uint64_t done, std::uint64_t total) { calls.emplace_back(done, total); });
  ASSERT_TRUE(w.ok()) << w.error().message;
  std::uint64_t all = 0;
  for (const auto& t : file.contents().tensors) all += t.data.size();
  ASSERT_GE(calls.size(), file.contents().tensors.size() - 1);
  std::uint64_t previous = 0;
  for (const auto& [done, total] : calls) {
    EXPECT_EQ(total, all);
    EXPECT_GT(done, previous);
    previous = done;
  }
  EXPECT_EQ(calls.back().first, all);
}

// The copies (repacked matrices, matrices as stored, float vectors) are carved from one mapping,
// so huge pages cover them end to end: each on a cache line, none overlapping another, and each
// still the file's data. The untied token embedding, read a row a token, stays in the file.
TEST(Weights, CopiesShareOneMappingAndKeepTheFilesData) {
  const gguf::File file = open_fixture("llama-q4_0.gguf");
  // Any table that repacks Q4_0; binding only copies, so the scalar one does on any CPU.
  kernels::KernelTable table = kernels::kernel_table(kernels::Isa::kScalar);
  table.repacking[static_cast<std::size_t>(tensor::TensorType::kQ4_0)] = kernels::Repacking::kPanels;
  core::ThreadPool pool(2);
  auto w = bind_copied(file.contents(), table, pool);
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_EQ(w->copy_storage.size(), 1u);
  const std::uint8_t* begin = w->copy_storage[0].data();
  const std::uint8_t* end = begin + w->copy_storage[0].size();

  std::vector<std::pair<const std::uint8_t*, std::size_t>> carved;
  auto check_matrix = [&](const WeightMatrix& m, const char* name) {
    ASSERT_NE(m.repacked, nullptr) << name;
    ASSERT_EQ(m.repacking, kernels::Repacking::kPanels) << name;
    carved.emplace_back(m.repacked, kernels::panels_bytes(m.rows, m.row_bytes));
    std::vector<std::uint8_t> row(m.row_bytes);
    for (std::size_t r : {std::size_t{0}, m.rows / 2, m.rows - 1}) {
      kernels::unpack_panel_row(m.repacked, m.row_bytes, r, row.data());
      EXPECT_EQ(std::memcmp(row.data(), m.row(r), m.row_bytes), 0) << name << " row " << r;
    }
  };
  auto check_vector = [&](const float* v, std::size_t n, const char* name) {
    carved.emplace_back(reinterpret_cast<const std::uint8_t*>(v), n * sizeof(float));
    const gguf::TensorInfo* t = file.contents().find_tensor(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(std::memcmp(v, t->data.data(), n * sizeof(float)), 0) << name;
  };
  const auto& layer = w->layers[0];
  check_matrix(layer.wq, "wq");
  check_matrix(layer.wk, "wk");
  check_matrix(layer.ffn_down, "ffn_down");
  check_matrix(w->layers[1].ffn_up, "ffn_up");
  // The untied Q4_0 embedding, looked up a row a token and read by no kernel, is not repacked.
  EXPECT_EQ(w->token_embd.repacked, nullptr);
  EXPECT_EQ(w->token_embd.data, file.contents().find_tensor("token_embd.weight")->data.data());
  check_vector(layer.attn_norm, layer.wq.cols, "blk.0.attn_norm.weight");
  check_vector(w->output_norm, w->token_embd.cols, "output_norm.weight");
  // The Q6_K output matrix is not repacked: copied as stored.
  const gguf::TensorInfo* output = file.contents().find_tensor("output.weight");
  ASSERT_NE(output, nullptr);
  EXPECT_EQ(w->output.repacked, nullptr);
  EXPECT_NE(w->output.data, output->data.data());
  EXPECT_EQ(std::memcmp(w->output.data, output->data.data(), output->data.size()), 0);
  carved.emplace_back(w->output.data, output->data.size());

  std::sort(carved.begin(), carved.end());
  for (std::size_t i = 0; i < carved.size(); ++i) {
    const auto [at, bytes] = carved[i];
    EXPECT_GE(at, begin);
    EXPECT_LE(at + bytes, end);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(at) % 64, 0u);
    if (i + 1 < carved.size()) {
      EXPECT_LE(at + bytes, carved[i + 1].first);
    }
  }
}

// Matrices a pass streams are copied as stored where they are not repacked; an untied token
// embedding, read a row a token, stays in the file (copied, it would all be resident); a tied one
// is the output projection too, and is copied.
TEST(Weights, StreamedMatricesAreCopiedAndALookedUpEmbeddingIsNot) {
  const gguf::File file = open_fixture("llama-q6_k.gguf");
  kernels::KernelTable table = kernels::kernel_table(kernels::Isa::kScalar);
  table.repacking[static_cast<std::size_t>(tensor::TensorType::kQ4_0)] =
      kernels::Repacking::kPanels;  // none in this file
  core::ThreadPool pool(2);
  auto file_data = [&](const gguf::Contents& c, const char* name) {
    return c.find_tensor(name)->data.data();
  };
  auto copied = [&](const gguf::Contents& c, const WeightMatrix& m, const char* name) {
    const auto& data = c.find_tensor(name)->data;
    return m.repacked == nullptr && m.data != data.data() &&
           std::memcmp(m.data, data.data(), data.size()) == 0;
  };
  {
    const gguf::Contents& c = file.contents();
    auto w = bind_copied(c, table, pool);
    ASSERT_TRUE(w.ok()) << w.error().message;
    EXPECT_EQ(w->token_embd.data, file_data(c, "token_embd.weight"));
    EXPECT_TRUE(copied(c, w->output, "output.weight"));
    EXPECT_TRUE(copied(c, w->layers[1].ffn_down, "blk.1.ffn_down.weight"));
    EXPECT_TRUE(copied(c, w->layers[0].wv, "blk.0.attn_v.weight"));
  }
  {
    gguf::Contents c = file.contents();
    erase_tensor(c, "output.weight");
    auto w = bind_copied(c, table, pool);
    ASSERT_TRUE(w.ok()) << w.error().message;
    EXPECT_TRUE(copied(c, w->token_embd, "token_embd.weight"));
    EXPECT_EQ(w->output.data, w->token_embd.data);
  }
}

// A table whose Q6_K kernel reads planes (the AVX2 one) gets its streamed Q6_K matrices in planes,
// whose rows unpack to the file's; an untied embedding stays in the file, and a tied one is looked
// up from the planes, row for row the values of the file's.
TEST(Weights, Q6KMatricesAreRepackedIntoPlanes) {
  const gguf::File file = open_fixture("llama-q6_k.gguf");
  kernels::KernelTable table = kernels::kernel_table(kernels::Isa::kScalar);
  table.repacking[static_cast<std::size_t>(tensor::TensorType::kQ6_K)] = kernels::Repacking::kQ6KPlanes;
  core::ThreadPool pool(2);
  auto in_planes = [&](const gguf::Contents& c, const WeightMatrix& m, const char* name) {
    const auto& data = c.find_tensor(name)->data;
    if (m.repacking != kernels::Repacking::kQ6KPlanes || m.repacked == nullptr) return false;
    std::vector<std::uint8_t> row(m.row_bytes);
    for (std::size_t r = 0; r < m.rows; ++r) {
      kernels::unpack_repacked_row(m, r, row.data());
      if (std::memcmp(row.data(), data.data() + r * m.row_bytes, m.row_bytes) != 0) return false;
    }
    // The planes are not the stored rows.
    return std::memcmp(m.repacked, data.data(), m.row_bytes) != 0;
  };
  {
    const gguf::Contents& c = file.contents();
    auto w = bind_copied(c, table, pool);
    ASSERT_TRUE(w.ok()) << w.error().message;
    EXPECT_EQ(w->token_embd.repacked, nullptr);
    EXPECT_EQ(w->token_embd.data, c.find_tensor("token_embd.weight")->data.data());
    EXPECT_TRUE(in_planes(c, w->output, "output.weight"));
    EXPECT_TRUE(in_planes(c, w->layers[1].ffn_down, "blk.1.ffn_down.weight"));
    EXPECT_TRUE(in_planes(c, w->layers[0].wv, "blk.0.attn_v.weight"));
  }
  gguf::Contents c = file.contents();
  erase_tensor(c, "output.weight");
  auto w = bind_copied(c, table, pool);
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_TRUE(in_planes(c, w->token_embd, "token_embd.weight"));
  const WeightMatrix& embd = w->token_embd;
  const WeightMatrix stored{embd.type, c.find_tensor("token_embd.weight")->data.data(), embd.rows, embd.cols,
                            embd.row_bytes};
  std::vector<float> want(embd.cols), got(embd.cols);
  for (std::size_t r : {std::size_t{0}, embd.rows / 2, embd.rows - 1}) {
    kernels::dequantize_row(stored, r, want.data());
    kernels::dequantize_row(embd, r, got.data());
    EXPECT_EQ(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)), 0) << "row " << r;
  }
}

// A table that reads no panels (the reference kernels) gets no copies: everything is read from
// the file.
TEST(Weights, NoCopiesForATableWithoutPanels) {
  const gguf::File file = open_fixture("llama-q4_0.gguf");
  kernels::KernelTable table = kernels::kernel_table(kernels::Isa::kScalar);
  table.repacking.fill(kernels::Repacking::kNone);
  core::ThreadPool pool(2);
  auto w = bind_copied(file.contents(), table, pool);
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_TRUE(w->copy_storage.empty());
  EXPECT_EQ(w->output.data, file.contents().find_tensor("output.weight")->data.data());
  EXPECT_EQ(w->layers[0].wq.repacked, nullptr);
  EXPECT_EQ(reinterpret_cast<const std::uint8_t*>(w->layers[0].attn_norm),
            file.contents().find_tensor("blk.0.attn_norm.weight")->data.data());
}

TEST(Weights, MissingOutputMeansTiedEmbeddings) {
  const gguf::File file = open_fixture("llama-f32.gguf");
  gguf::Contents c = file.contents();
  erase_tensor(c, "output.weight");
  auto w = bind(c);
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->output.data, w->token_embd.data);
}

TEST(Weights, MissingOrMisshapenTensorIsNamed) {
  const gguf::File file = open_fixture("llama-f32.gguf");
  {
    gguf::Contents c = file.contents();
    erase_tensor(c, "blk.1.ffn_up.weight");
    auto w = bind(c);
    ASSERT_FALSE(w.ok());
    EXPECT_NE(w.error().message.find("blk.1.ffn_up.weight is missing"), std::string::npos)
        << w.error().message;
  }
  {
    gguf::Contents c = file.contents();
    tensor_named(c, "blk.0.attn_k.weight").dims = {128, 256, 1, 1};
    auto w = bind(c);
    ASSERT_FALSE(w.ok());
    EXPECT_NE(w.error().message.find("blk.0.attn_k.weight has shape [128, 256]"), std::string::npos)
        << w.error().message;
    EXPECT_NE(w.error().message.find("[256, 128]"), std::string::npos) << w.error().message;
  }
  {
    gguf::Contents c = file.contents();
    tensor_named(c, "blk.0.attn_norm.weight").type = tensor::TensorType::kF16;
    auto w = bind(c);
    ASSERT_FALSE(w.ok());
    EXPECT_NE(w.error().message.find("blk.0.attn_norm.weight"), std::string::npos) << w.error().message;
  }
}

TEST(Weights, Phi3FusedTensorsBecomeRowSlices) {
  const gguf::File file = open_fixture("phi3-f16.gguf");
  auto w = bind(file.contents());
  ASSERT_TRUE(w.ok()) << w.error().message;
  const LayerWeights& l = w->layers[0];
  EXPECT_EQ(l.wq.rows, 256u);
  EXPECT_EQ(l.wk.data, l.wq.data + 256 * l.wq.row_bytes);
  EXPECT_EQ(l.wv.data, l.wk.data + 256 * l.wk.row_bytes);
  EXPECT_EQ(l.ffn_gate.rows, 512u);
  EXPECT_EQ(l.ffn_up.data, l.ffn_gate.data + 512 * l.ffn_gate.row_bytes);
}

TEST(Weights, Qwen3MoeBindsExpertStacksAndNorms) {
  const gguf::File file = open_fixture("qwen3moe-q4_k_m.gguf");
  auto w = bind(file.contents());
  ASSERT_TRUE(w.ok()) << w.error().message;
  const LayerWeights& l = w->layers[1];
  EXPECT_EQ(l.router.rows, 8u);
  EXPECT_EQ(l.gate_exps.rows, 8u * 256u);
  EXPECT_EQ(l.down_exps.rows, 8u * 256u);
  EXPECT_EQ(l.down_exps.cols, 256u);
  EXPECT_NE(l.q_norm, nullptr);
  EXPECT_NE(l.k_norm, nullptr);
}

TEST(Weights, Llama3BindsRopeFrequencyFactors) {
  const gguf::File file = open_fixture("llama3-rope-f16.gguf");
  auto w = bind(file.contents());
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_NE(w->rope_freqs, nullptr);
  EXPECT_GT(w->rope_freqs[31], 1.0f);  // low frequencies are slowed
}

}  // namespace
}  // namespace pensieve::model
