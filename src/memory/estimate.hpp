// memory/estimate: how many bytes a model, a server configuration and one request need —
// KV cache, scratch buffers and weights — from a handful of model figures, so admission and
// the load-time fit check can decide before any allocation happens.
//
// The figures are a plain struct filled by whoever knows the model (model/ at load, a test
// by hand), so memory/ depends on nothing but core/.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.hpp"

namespace pensieve::memory {

struct ModelFigures {
  std::uint32_t n_layers = 0;
  std::uint32_t n_heads = 0;     // query heads
  std::uint32_t n_kv_heads = 0;  // key/value heads (GQA: fewer than n_heads)
  std::uint32_t head_dim_k = 0;
  std::uint32_t head_dim_v = 0;
  std::uint32_t n_embd = 0;
  std::uint32_t n_ff = 0;  // feed-forward width (for MoE: active experts × expert width)
  std::uint32_t n_vocab = 0;
  std::uint32_t n_ctx_train = 0;       // upper bound for an automatic context size
  std::uint32_t kv_element_bytes = 2;  // f16 KV cache
  std::uint64_t weights_bytes = 0;     // sum of tensor data sizes in the file
};

// Names the first figure that is zero (or inconsistent) so a caller can fail clearly.
Status validate(const ModelFigures& model);

// KV cache for one token across all layers: n_layers × n_kv_heads × (head_dim_k + head_dim_v) × element
// bytes.
std::uint64_t kv_bytes_per_token(const ModelFigures& model);

// Buffers one running sequence keeps besides its KV cache, all f32: logits (n_vocab), sampler
// candidates (n_vocab id+probability pairs, 8 bytes each) and attention scores (n_heads × tokens).
std::uint64_t sequence_scratch_bytes(const ModelFigures& model, std::uint64_t tokens);

// Activation buffers of one forward pass over `batch_tokens` tokens attending to up to `ctx`
// positions, all f32: per token the residual and two norm/output buffers (3 × n_embd), q
// (n_heads × head_dim_k), k and v (n_kv_heads × (head_dim_k + head_dim_v)), attention output
// (n_heads × head_dim_v), two feed-forward buffers (2 × n_ff) and scores (n_heads × ctx); plus
// one row of logits (n_vocab).
std::uint64_t batch_scratch_bytes(const ModelFigures& model, std::uint64_t batch_tokens, std::uint64_t ctx);

struct RequestEstimate {
  std::uint64_t tokens = 0;  // prompt + max_tokens, capped by the context size
  std::uint64_t kv_bytes = 0;
  std::uint64_t scratch_bytes = 0;
  std::uint64_t total_bytes = 0;
};

// What one request adds on top of an idle server: KV cache for its tokens plus its
// per-sequence scratch. `kv_preallocated` (an engine that reserves every slot's cache at load)
// leaves only the scratch.
RequestEstimate estimate_request(const ModelFigures& model, std::uint64_t prompt_tokens,
                                 std::uint64_t max_tokens, std::uint64_t ctx_size,
                                 bool kv_preallocated = false);

struct LoadPlan {
  std::uint64_t ctx_size = 4096;
  std::uint64_t parallel = 1;        // concurrent sequences
  std::uint64_t batch_tokens = 512;  // prefill batch
};

struct LoadEstimate {
  LoadPlan plan;
  std::uint64_t weights_bytes = 0;
  std::uint64_t kv_bytes = 0;       // kv_bytes_per_token × ctx × parallel
  std::uint64_t scratch_bytes = 0;  // one batch's activations + each sequence's scratch
  std::uint64_t total_bytes = 0;
};

LoadEstimate estimate_load(const ModelFigures& model, const LoadPlan& plan);

struct FitCheck {
  bool fits = false;
  LoadEstimate estimate;
  std::uint64_t available_bytes = 0;
  std::uint64_t reserve_bytes = 0;  // kept free: the warning threshold
  std::uint64_t budget_bytes = 0;   // available − reserve
  std::string message;              // every figure, and what to change when it does not fit
};

// Weights + KV + scratch against available − reserve.
FitCheck check_load_fit(const ModelFigures& model, const LoadPlan& plan, std::uint64_t available_bytes,
                        std::uint64_t reserve_bytes);

// `--ctx-size auto`: the largest multiple of `granularity` up to n_ctx_train (or `max_ctx` when
// non-zero) whose load estimate fits; an error listing the figures when not even `granularity`
// tokens fit.
Result<std::uint64_t> auto_context_size(const ModelFigures& model, LoadPlan plan,
                                        std::uint64_t available_bytes, std::uint64_t reserve_bytes,
                                        std::uint64_t granularity = 256, std::uint64_t max_ctx = 0);

}  // namespace pensieve::memory
