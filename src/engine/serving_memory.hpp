// engine/serving_memory: the one memory estimate, derived from the model's layout as it is
// allocated — weights, the KV pool (one context per slot in whole blocks, the figures
// model::KvPool maps, or --kv-budget), the one workspace all requests are computed in
// (model::WorkspaceLayout) and the scheduler's own per-slot buffers — and the choice of context
// size that `pensieve serve` checks against available memory before allocating anything. The
// same model figures are what admission estimates each request from (memory::estimate_request),
// and `pensieve inspect` prints the same plan, so what it says, what serve decides and what
// admission counts cannot drift apart.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/result.hpp"
#include "gguf/reader.hpp"
#include "kernels/kv_type.hpp"
#include "memory/estimate.hpp"
#include "model/hyperparams.hpp"

namespace pensieve::engine {

// How each slot's sequence is built, beyond the plan's context: the KV cache's element type (f16
// when serving unless asked otherwise: half of f32's memory, logits within a few 1e-3), the compute
// threads its attention scratch is planned for (0: core::default_thread_count), and the prompt
// tokens computed in one forward pass — the scheduler's prompt chunk. Larger chunks reuse each
// weight block across more tokens (prompt speed) at the cost of workspace memory.
struct SlotConfig {
  kernels::KvType kv_type = kernels::KvType::kF16;
  unsigned threads = 0;
  std::uint32_t batch_tokens = 256;
  // The KV pool all sequences share (--kv-budget); 0: one full context per slot.
  std::uint64_t kv_budget_bytes = 0;
};

// Blocks of the KV pool for `parallel` slots of `ctx` tokens under `slot` (its budget, or one
// context each), at least one.
std::uint32_t kv_pool_blocks(const model::Hyperparams& hp, const SlotConfig& slot, std::uint64_t ctx,
                             std::uint64_t parallel);

// Rows of the shared workspace: one prompt chunk plus one decoded token per slot, in one pass.
std::uint32_t batch_rows(std::uint64_t batch_tokens, std::uint64_t parallel);

// Every tensor's stored bytes: the weights figure of the estimate (the file is mapped, and what
// the forward pass reads becomes resident).
std::uint64_t tensor_data_bytes(const gguf::Contents& contents);

// The estimate for `plan.parallel` slots of `plan.ctx_size` tokens, computed together with a
// prompt chunk of up to `plan.batch_tokens` tokens.
memory::LoadEstimate serving_memory(const model::Hyperparams& hp, std::uint64_t weights_bytes,
                                    const memory::LoadPlan& plan, const SlotConfig& slot = {});
memory::LoadEstimator serving_memory_estimator(const model::Hyperparams& hp, std::uint64_t weights_bytes,
                                               const SlotConfig& slot = {});

// The model as it is served, for memory::estimate_request (admission) and the KV figures of the
// serving estimate: its shape, and its KV cache in `kv_type` as model::KvPool allocates it.
memory::ModelFigures model_figures(const model::Hyperparams& hp, std::uint64_t weights_bytes,
                                   kernels::KvType kv_type = SlotConfig{}.kv_type);

// What the user asked for with --ctx-size.
struct ContextRequest {
  enum class Kind { kTrained, kAuto, kTokens };
  Kind kind = Kind::kTrained;
  std::uint64_t tokens = 0;  // for kTokens
};
// "0" (the model's training context, 4096 when the file does not say), "auto" or a token count.
Result<ContextRequest> parse_context_request(std::string_view text);

// Available memory as the guard sees it; `known` false when the readings failed.
struct MemoryBudget {
  bool known = false;
  std::uint64_t available_bytes = 0;
  std::uint64_t reserve_bytes = 0;  // kept free: the warning threshold
};

struct ServingPlan {
  std::uint64_t ctx_size = 0;
  memory::ModelFigures figures;  // what admission estimates each request from
  memory::LoadEstimate estimate;
  bool checked = false;  // false when available memory is not known: nothing to check against
  memory::FitCheck fit;  // when checked
};

// Resolves the context size (auto: the largest that fits the budget) and checks the whole
// configuration against the budget. An error only when no context size can be chosen (auto
// without a reading, nothing fits, beyond the engine's limit); a plan that does not fit comes
// back with fit.fits false and fit.message saying every figure and what to change.
Result<ServingPlan> plan_serving(const model::Hyperparams& hp, std::uint64_t weights_bytes,
                                 const ContextRequest& ctx, std::uint64_t parallel,
                                 const MemoryBudget& budget, const SlotConfig& slot = {});

}  // namespace pensieve::engine
