// model/forward_pass: the transformer forward pass over one batch of rows — consecutive tokens of
// one or more sequences, at most the workspace's max_rows. Weight matrices read every row at
// once; attention and the cache writes go sequence by sequence. Every supported family runs the
// same block structure; the optional parts (biases, per-head q/k norms, experts) are present or
// absent in the bound weights. Internal to the model module; callers use Model::forward and
// Model::forward_batch.
#pragma once

#include <cstdint>
#include <span>

#include "model/model.hpp"

namespace pensieve::model {

class ForwardPass {
 public:
  // One sequence's consecutive rows of the batch, appended at positions sequence->size() on.
  struct Segment {
    Sequence* sequence = nullptr;
    std::span<const std::int32_t> tokens;
  };
  // A row whose logits are wanted (its index in the batch) and where they go (n_vocab floats).
  struct OutputRow {
    std::uint32_t row = 0;
    float* logits = nullptr;
  };

  // `observer`, when set, sees the batch's intermediate tensors.
  ForwardPass(const Model& model, Workspace& workspace, const TensorObserver* observer);

  // Computes the segments' tokens (rows in segment order), appends them to their caches and
  // writes the logits of `outputs`. Checked by the caller: rows fit the workspace, tokens and
  // rows are in range, each sequence has room and appears once, and holds the KV blocks its new
  // positions go to, none of them shared with another sequence.
  void run(std::span<const Segment> segments, std::span<const OutputRow> outputs);

 private:
  void embed(std::span<const Segment> segments, std::size_t n);
  void attention_block(int layer, std::span<const Segment> segments, std::size_t n);
  void feed_forward_block(int layer, std::size_t n);
  void dense_feed_forward(const LayerWeights& lw, std::size_t n);
  // Rows routed to one expert: expert_in rows [first, first + rows).
  struct ExpertRows {
    std::uint32_t expert = 0;
    std::size_t first = 0;
    std::size_t rows = 0;
  };
  void expert_feed_forward(int layer, const LayerWeights& lw, std::size_t n);
  void sort_by_expert(std::size_t n);
  void run_experts(const LayerWeights& lw, std::span<const ExpertRows> group, std::size_t rows);
  void route_to_experts(int layer, const LayerWeights& lw, std::size_t n);
  void route_by_biased_logits(int layer, const LayerWeights& lw, std::size_t n);
  void output_logits(std::span<const OutputRow> outputs);
  void observe(std::string_view name, int layer, const float* data, std::size_t rows, std::size_t cols) const;
  // out (rows of out_stride floats) = w · each row of `in`, on the model's threads.
  void project(const WeightMatrix& w, kernels::PreparedInput& in, float* out, std::size_t out_stride);

  const Hyperparams& hp_;
  const kernels::KernelTable& kernels_;
  core::ThreadPool& pool_;
  const Weights& w_;
  const Model& model_;
  Workspace& ws_;
  const TensorObserver* observer_;
};

}  // namespace pensieve::model
