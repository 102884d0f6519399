// model/workspace: the scratch memory of forward passes — activations, matmul inputs in their
// quantized forms, rotary angles and attention tiles — for up to `max_rows` tokens computed
// together, whichever sequences they belong to. Kept apart from the sequences' KV caches, so a
// server holds one workspace for its batches however many sequences it keeps; planned once,
// nothing is allocated per forward pass.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/flash_attention.hpp"
#include "kernels/prepared_input.hpp"
#include "model/hyperparams.hpp"

namespace pensieve::model {

class Model;
class ForwardPass;

// Sizes of a Workspace's buffers; shared with the memory estimate so both agree.
struct WorkspaceLayout {
  std::uint32_t max_rows = 0;
  unsigned threads = 1;            // the attention scratch has a share per thread
  std::size_t scratch_floats = 0;  // float and 32-bit index buffers
  std::size_t prepared_bytes = 0;  // matmul inputs in their quantized forms
  // What the matmul kernels keep per thread for inputs this wide (kernels::matmul_scratch_bytes),
  // all threads: not allocated by the workspace, but held while the model computes.
  std::size_t kernel_bytes = 0;

  static WorkspaceLayout plan(const Hyperparams& hp, std::uint32_t max_rows, unsigned threads);
  std::uint64_t bytes() const { return scratch_floats * sizeof(float) + prepared_bytes + kernel_bytes; }
};

class Workspace {
 public:
  Workspace(Workspace&&) noexcept = default;
  Workspace& operator=(Workspace&&) noexcept = default;

  std::uint32_t max_rows() const { return max_rows_; }

 private:
  friend class Model;
  friend class Sequence;
  friend class ForwardPass;

  Workspace(const Model& model, const Hyperparams& hp, const WorkspaceLayout& layout);

  const Model* model_;  // the model whose shape the buffers were planned for
  std::uint32_t max_rows_;

  std::vector<std::uint32_t> positions_;   // (max_rows) position of each row in its sequence
  std::vector<float> k_;                   // (max_rows, k_dim) projected keys, before the cache
  std::vector<float> v_;                   // (max_rows, v_dim) projected values, before the cache
  std::vector<float> x_;                   // (max_rows, n_embd) residual stream
  std::vector<float> xb_;                  // (max_rows, n_embd) normalised input of the current block
  std::vector<float> q_;                   // (max_rows, q_dim)
  std::vector<float> attn_;                // (max_rows, attn_out_dim) attention output per head
  std::vector<float> proj_;                // (max_rows, n_embd) block output before the residual add
  std::vector<float> ffn_gate_;            // (max_rows, max(n_ff, n_ff_expert)); holds the SwiGLU product
  std::vector<float> ffn_up_;              // (max_rows, max(n_ff, n_ff_expert))
  std::vector<float> router_;              // (max_rows, n_expert) router probabilities
  std::vector<std::uint32_t> chosen_;      // (max_rows, n_expert_used) experts chosen per token
  std::vector<float> chosen_weight_;       // (max_rows, n_expert_used) their renormalised weights
  std::vector<std::uint32_t> expert_first_;  // (n_expert + 1) each expert's first slot in expert_slots
  std::vector<std::uint32_t> expert_slots_;  // (max_rows, n_expert_used) routing slots sorted by expert
  std::vector<float> expert_in_;             // (max_rows, n_embd) the rows routed to a group of experts
  std::vector<float> expert_out_;          // (max_rows, n_embd)
  std::vector<std::uint32_t> expert_row_;  // (max_rows) batch row of each expert_in row
  std::vector<float> expert_row_weight_;   // (max_rows) router weight of each expert_in row
  std::vector<float> rope_cos_;            // (tables, max_rows, n_rot / 2): every layer's, then sliding ones'
  std::vector<float> rope_sin_;            // (tables, max_rows, n_rot / 2)
  kernels::AttentionScratch attention_;    // tiles and softmax state, per thread
  // Matmul inputs, quantized once for every weight that reads them.
  kernels::PreparedInput
      embd_in_;  // (max_rows, n_embd): the normed block input, or the rows of a group of experts
  kernels::PreparedInput attn_in_;  // (max_rows, attn_out_dim): the attention output
  kernels::PreparedInput ffn_in_;   // (max_rows, max(n_ff, n_ff_expert)): the SwiGLU product
};

}  // namespace pensieve::model
