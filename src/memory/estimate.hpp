// memory/estimate: how many bytes one request and a whole server configuration need, so
// admission and the load-time fit check can decide before any allocation happens.
//
// A request's estimate comes from a handful of model figures, a plain struct filled from the
// model's layout as it is allocated (engine::model_figures; a test fills it by hand). A
// configuration's estimate comes from an estimator the engine supplies (it knows every buffer it
// allocates); here it is only checked against available memory. Neither works out the size of a
// model's buffers itself — the model's layout is the one source — and memory/ depends on nothing
// but core/.
#pragma once

#include <cstdint>
#include <functional>
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
  // The KV cache as it is allocated: blocks of kv_block_tokens positions, each holding every
  // layer's keys and values in the served element type and taking kv_block_bytes (whole pages).
  // model::KvPool's figures, so that what admission counts is what the pool takes.
  std::uint32_t kv_block_tokens = 0;
  std::uint64_t kv_block_bytes = 0;
  std::uint64_t weights_bytes = 0;     // sum of tensor data sizes in the file
};

// Names the first figure that is zero (or inconsistent) so a caller can fail clearly.
Status validate(const ModelFigures& model);

// KV cache for one token across all layers, on average over a block (for messages).
std::uint64_t kv_bytes_per_token(const ModelFigures& model);
// KV cache `tokens` positions take: the whole blocks they start.
std::uint64_t kv_bytes_for_tokens(const ModelFigures& model, std::uint64_t tokens);

// Buffers one running sequence keeps besides its KV cache: logits (n_vocab f32), the sampler's
// per-token state (n_vocab × 20 bytes: a candidate of id, logit and probability, a penalty count
// and a stamp) and attention scores (n_heads × tokens f32).
std::uint64_t sequence_scratch_bytes(const ModelFigures& model, std::uint64_t tokens);

// The request itself, apart from the model: the HTTP worker's stack and buffers, the body and
// its JSON tree, the rendered prompt and its token ids (per prompt token), and the response
// text held until it is sent (per output token). Measured on the e2e leak test, with margin.
inline constexpr std::uint64_t kRequestFixedBytes = 256 * 1024;
inline constexpr std::uint64_t kRequestBytesPerPromptToken = 64;
inline constexpr std::uint64_t kRequestBytesPerOutputToken = 32;
std::uint64_t request_handling_bytes(std::uint64_t prompt_tokens, std::uint64_t output_tokens);

struct RequestEstimate {
  std::uint64_t tokens = 0;  // prompt + max_tokens, capped by the context size
  std::uint64_t kv_bytes = 0;
  std::uint64_t scratch_bytes = 0;
  std::uint64_t handling_bytes = 0;  // request_handling_bytes
  std::uint64_t total_bytes = 0;
};

// What one request adds on top of an idle server: KV cache for its tokens in whole blocks, its per-sequence
// scratch and its handling. `kv_preallocated` (an engine that reserves every slot's cache at
// load) leaves out the KV cache.
RequestEstimate estimate_request(const ModelFigures& model, std::uint64_t prompt_tokens,
                                 std::uint64_t max_tokens, std::uint64_t ctx_size,
                                 bool kv_preallocated = false);

struct LoadPlan {
  std::uint64_t ctx_size = 4096;
  std::uint64_t parallel = 1;       // concurrent sequences (slots)
  std::uint64_t batch_tokens = 64;  // tokens computed per forward pass
};

struct LoadEstimate {
  LoadPlan plan;
  std::uint64_t weights_bytes = 0;
  std::uint64_t kv_bytes = 0;            // the KV cache of every slot (or the pool's budget)
  std::uint64_t kv_bytes_per_token = 0;  // of one sequence, for messages
  std::uint64_t scratch_bytes = 0;       // every buffer besides weights and KV cache
  std::uint64_t total_bytes = 0;
};

// Turns a plan into an estimate. Only the code that allocates knows the exact figures
// (engine::serving_memory for pensieve); memory/ decides what they mean. One estimator serves
// the load-time check, `--ctx-size auto` and `pensieve inspect`, so they always agree.
using LoadEstimator = std::function<LoadEstimate(const LoadPlan&)>;

struct FitCheck {
  bool fits = false;
  LoadEstimate estimate;
  std::uint64_t available_bytes = 0;
  std::uint64_t reserve_bytes = 0;  // kept free: the warning threshold
  std::uint64_t budget_bytes = 0;   // available − reserve
  std::string message;              // every figure, and what to change when it does not fit
};

// Weights + KV + scratch against available − reserve. `max_ctx` (the model's training
// context; 0 when unknown) bounds the context size the advice may suggest.
FitCheck check_load_fit(const LoadEstimator& estimator, const LoadPlan& plan, std::uint64_t available_bytes,
                        std::uint64_t reserve_bytes, std::uint64_t max_ctx = 0);

// `--ctx-size auto`: the largest multiple of `granularity` up to `max_ctx` (the model's
// training context) whose estimate fits in available − reserve; an error listing the figures
// when not even `granularity` tokens fit. The estimate must grow with the context size.
Result<std::uint64_t> auto_context_size(const LoadEstimator& estimator, LoadPlan plan,
                                        std::uint64_t available_bytes, std::uint64_t reserve_bytes,
                                        std::uint64_t max_ctx, std::uint64_t granularity = 256);

// "1.20 GiB (1288490189 bytes) = weights 1.00 GiB + KV cache … (context C × parallel P × B per
// token) + scratch …"
std::string describe(const LoadEstimate& estimate);

}  // namespace pensieve::memory
