// model/forward_pass: the transformer forward pass over one chunk of tokens (at most the
// sequence's max_batch). Every supported family runs the same block structure; the optional
// parts (biases, per-head q/k norms, experts) are present or absent in the bound weights.
// Internal to the model module; callers use Model::forward.
#pragma once

#include <cstdint>
#include <span>

#include "model/model.hpp"

namespace pensieve::model {

class ForwardPass {
 public:
  ForwardPass(const Model& model, Sequence& seq);

  // Computes `tokens` at positions seq.size() on and appends them to the cache. For each
  // logit_rows[i] that lies in [first_row, first_row + tokens.size()), writes that token's
  // logits to logits[i·n_vocab …]; row indices count from the start of the whole forward call.
  void run_chunk(std::span<const std::int32_t> tokens, std::uint32_t first_row,
                 std::span<const std::uint32_t> logit_rows, std::span<float> logits);

 private:
  void embed(std::span<const std::int32_t> tokens);
  void attention_block(int layer, std::size_t n);
  void feed_forward_block(int layer, std::size_t n);
  void dense_feed_forward(const LayerWeights& lw, std::size_t n);
  void expert_feed_forward(int layer, const LayerWeights& lw, std::size_t n);
  void route_to_experts(int layer, const LayerWeights& lw, std::size_t n);
  void output_logits(std::size_t first_token, std::size_t count, float* out);
  void observe(std::string_view name, int layer, const float* data, std::size_t rows, std::size_t cols) const;
  // out (rows of out_stride floats) = w · each row of `in`, on the model's threads.
  void project(const WeightMatrix& w, kernels::PreparedInput& in, float* out, std::size_t out_stride);

  const Hyperparams& hp_;
  const kernels::KernelTable& kernels_;
  core::ThreadPool& pool_;
  const Weights& w_;
  Sequence& seq_;
  std::size_t pos0_ = 0;  // position of the chunk's first token
};

}  // namespace pensieve::model
