#include "engine/serving_memory.hpp"

#include <algorithm>
#include <charconv>
#include <string>

#include "core/thread_pool.hpp"
#include "model/kv_pool.hpp"
#include "model/model.hpp"
#include "model/sequence.hpp"
#include "model/workspace.hpp"

namespace pensieve::engine {
namespace {

constexpr std::uint64_t kContextWhenUnstated = 4096;

}  // namespace

std::uint32_t batch_rows(std::uint64_t batch_tokens, std::uint64_t parallel) {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(batch_tokens + parallel, UINT32_MAX));
}

std::uint32_t kv_pool_blocks(const model::Hyperparams& hp, const SlotConfig& slot, std::uint64_t ctx,
                             std::uint64_t parallel) {
  const std::uint64_t block_bytes = model::KvPool::block_bytes_for(hp, slot.kv_type);
  const std::uint64_t blocks =
      slot.kv_budget_bytes != 0
          ? slot.kv_budget_bytes / block_bytes
          : parallel * ((ctx + model::KvPool::kBlockTokens - 1) / model::KvPool::kBlockTokens);
  return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(blocks, 1, UINT32_MAX));
}

memory::LoadEstimate serving_memory(const model::Hyperparams& hp, std::uint64_t weights_bytes,
                                    const memory::LoadPlan& plan, const SlotConfig& slot) {
  const auto ctx =
      static_cast<std::uint32_t>(std::min<std::uint64_t>(plan.ctx_size, model::Model::kMaxContext));
  const auto batch = plan.batch_tokens != 0 ? plan.batch_tokens : 1;
  const unsigned threads = slot.threads != 0 ? slot.threads : core::default_thread_count();
  // Each slot holds its KV cache alone; all are computed in one workspace.
  const memory::ModelFigures figures = model_figures(hp, weights_bytes, slot.kv_type);
  const std::uint64_t workspace =
      model::WorkspaceLayout::plan(hp, batch_rows(batch, plan.parallel), threads).bytes();
  // Besides, each slot may want one row of logits per step (Scheduler's step logits).
  const std::uint64_t slot_logits = std::uint64_t{hp.n_vocab} * sizeof(float);

  memory::LoadEstimate e;
  e.plan = plan;
  e.weights_bytes = weights_bytes;
  e.kv_bytes = slot.kv_budget_bytes != 0
                   ? std::uint64_t{kv_pool_blocks(hp, slot, ctx, plan.parallel)} * figures.kv_block_bytes
                   : memory::kv_bytes_for_tokens(figures, ctx) * plan.parallel;
  e.kv_bytes_per_token = memory::kv_bytes_per_token(figures);
  e.scratch_bytes = workspace + slot_logits * plan.parallel;
  e.total_bytes = e.weights_bytes + e.kv_bytes + e.scratch_bytes;
  return e;
}

std::uint64_t tensor_data_bytes(const gguf::Contents& contents) {
  std::uint64_t bytes = 0;
  for (const auto& t : contents.tensors) bytes += t.data.size();
  return bytes;
}

memory::LoadEstimator serving_memory_estimator(const model::Hyperparams& hp, std::uint64_t weights_bytes,
                                               const SlotConfig& slot) {
  return [hp, weights_bytes, slot](const memory::LoadPlan& plan) {
    return serving_memory(hp, weights_bytes, plan, slot);
  };
}

memory::ModelFigures model_figures(const model::Hyperparams& hp, std::uint64_t weights_bytes,
                                   kernels::KvType kv_type) {
  memory::ModelFigures f;
  f.n_layers = hp.n_layer;
  f.n_heads = hp.n_head;
  f.n_kv_heads = hp.n_head_kv;
  f.head_dim_k = hp.head_dim_k;
  f.head_dim_v = hp.head_dim_v;
  f.n_embd = hp.n_embd;
  f.n_ff = hp.is_moe() ? hp.n_expert_used * hp.n_ff_expert : hp.n_ff;
  f.n_vocab = hp.n_vocab;
  f.n_ctx_train = hp.n_ctx_train;
  f.kv_block_tokens = model::KvPool::kBlockTokens;
  f.kv_block_bytes = model::KvPool::block_bytes_for(hp, kv_type);
  f.weights_bytes = weights_bytes;
  return f;
}

Result<ContextRequest> parse_context_request(std::string_view text) {
  if (text == "auto") return ContextRequest{ContextRequest::Kind::kAuto, 0};
  std::uint64_t tokens = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), tokens);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--ctx-size must be a number of tokens, 0 (the model's) or \"auto\"; got '" +
                          std::string(text) + "'");
  }
  if (tokens == 0) return ContextRequest{ContextRequest::Kind::kTrained, 0};
  return ContextRequest{ContextRequest::Kind::kTokens, tokens};
}

Result<ServingPlan> plan_serving(const model::Hyperparams& hp, std::uint64_t weights_bytes,
                                 const ContextRequest& ctx, std::uint64_t parallel,
                                 const MemoryBudget& budget, const SlotConfig& slot) {
  if (parallel == 0) return make_error(ErrorCode::kInvalidArgument, "--parallel must be at least 1");
  const auto estimator = serving_memory_estimator(hp, weights_bytes, slot);
  memory::LoadPlan plan;
  plan.parallel = parallel;
  plan.batch_tokens = slot.batch_tokens;
  const std::uint64_t trained = hp.n_ctx_train != 0 ? hp.n_ctx_train : kContextWhenUnstated;
  switch (ctx.kind) {
    case ContextRequest::Kind::kTrained:
      plan.ctx_size = trained;
      break;
    case ContextRequest::Kind::kTokens:
      plan.ctx_size = ctx.tokens;
      break;
    case ContextRequest::Kind::kAuto: {
      if (!budget.known) {
        return make_error(ErrorCode::kInvalidArgument,
                          "--ctx-size auto needs a memory reading, and none is available; give a number");
      }
      auto fit =
          memory::auto_context_size(estimator, plan, budget.available_bytes, budget.reserve_bytes, trained);
      if (!fit) return fit.error();
      plan.ctx_size = *fit;
      break;
    }
  }
  if (plan.ctx_size > model::Model::kMaxContext) {
    return make_error(ErrorCode::kInvalidArgument, "--ctx-size " + std::to_string(plan.ctx_size) +
                                                       " is beyond the engine's limit of " +
                                                       std::to_string(model::Model::kMaxContext) + " tokens");
  }
  ServingPlan out;
  out.ctx_size = plan.ctx_size;
  out.figures = model_figures(hp, weights_bytes, slot.kv_type);
  out.estimate = estimator(plan);
  if (budget.known) {
    out.checked = true;
    out.fit = memory::check_load_fit(estimator, plan, budget.available_bytes, budget.reserve_bytes, trained);
  }
  return out;
}

}  // namespace pensieve::engine
