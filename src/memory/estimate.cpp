#include "memory/estimate.hpp"

#include <algorithm>

#include "memory/byte_size.hpp"

namespace pensieve::memory {
namespace {

constexpr std::uint64_t kF32 = 4;
constexpr std::uint64_t kSamplerBytesPerToken = 20;

// Figures without a block size (validate() names them) count each position as a block rather
// than divide by zero.
std::uint64_t block_tokens(const ModelFigures& m) {
  return std::max<std::uint64_t>(m.kv_block_tokens, 1);
}

}  // namespace

Status validate(const ModelFigures& m) {
  struct Field {
    const char* name;
    std::uint64_t value;
  };
  const Field fields[] = {{"n_layers", m.n_layers},
                          {"n_heads", m.n_heads},
                          {"n_kv_heads", m.n_kv_heads},
                          {"head_dim_k", m.head_dim_k},
                          {"head_dim_v", m.head_dim_v},
                          {"n_embd", m.n_embd},
                          {"n_ff", m.n_ff},
                          {"n_vocab", m.n_vocab},
                          {"kv_block_tokens", m.kv_block_tokens},
                          {"kv_block_bytes", m.kv_block_bytes}};
  for (const Field& f : fields) {
    if (f.value == 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        std::string("model figure ") + f.name + " is 0; the memory estimate needs it");
    }
  }
  if (m.n_kv_heads > m.n_heads) {
    return make_error(ErrorCode::kInvalidArgument, "model has more KV heads (" +
                                                       std::to_string(m.n_kv_heads) + ") than query heads (" +
                                                       std::to_string(m.n_heads) + ")");
  }
  return {};
}

std::uint64_t kv_bytes_per_token(const ModelFigures& m) {
  return m.kv_block_bytes / block_tokens(m);
}

std::uint64_t kv_bytes_for_tokens(const ModelFigures& m, std::uint64_t tokens) {
  const std::uint64_t blocks = tokens / block_tokens(m) + (tokens % block_tokens(m) != 0 ? 1 : 0);
  return blocks * m.kv_block_bytes;
}

std::uint64_t sequence_scratch_bytes(const ModelFigures& m, std::uint64_t tokens) {
  const std::uint64_t logits = std::uint64_t{m.n_vocab} * kF32;
  const std::uint64_t candidates = std::uint64_t{m.n_vocab} * kSamplerBytesPerToken;
  const std::uint64_t scores = std::uint64_t{m.n_heads} * tokens * kF32;
  return logits + candidates + scores;
}

std::uint64_t request_handling_bytes(std::uint64_t prompt_tokens, std::uint64_t output_tokens) {
  return kRequestFixedBytes + prompt_tokens * kRequestBytesPerPromptToken +
         output_tokens * kRequestBytesPerOutputToken;
}

RequestEstimate estimate_request(const ModelFigures& m, std::uint64_t prompt_tokens, std::uint64_t max_tokens,
                                 std::uint64_t ctx_size, bool kv_preallocated) {
  RequestEstimate e;
  // Saturating: a client may send max_tokens near 2^64.
  const std::uint64_t wanted =
      prompt_tokens > UINT64_MAX - max_tokens ? UINT64_MAX : prompt_tokens + max_tokens;
  e.tokens = std::min(wanted, ctx_size);
  e.kv_bytes = kv_preallocated ? 0 : kv_bytes_for_tokens(m, e.tokens);
  e.scratch_bytes = sequence_scratch_bytes(m, e.tokens);
  const std::uint64_t prompt = std::min(prompt_tokens, e.tokens);
  e.handling_bytes = request_handling_bytes(prompt, e.tokens - prompt);
  e.total_bytes = e.kv_bytes + e.scratch_bytes + e.handling_bytes;
  return e;
}

std::string describe(const LoadEstimate& e) {
  return format_bytes(e.total_bytes) + " (" + std::to_string(e.total_bytes) + " bytes) = weights " +
         format_bytes(e.weights_bytes) + " + KV cache " + format_bytes(e.kv_bytes) + " (context " +
         std::to_string(e.plan.ctx_size) + " × parallel " + std::to_string(e.plan.parallel) + " × " +
         format_bytes(e.kv_bytes_per_token) + " per token) + scratch " + format_bytes(e.scratch_bytes);
}

FitCheck check_load_fit(const LoadEstimator& estimator, const LoadPlan& plan, std::uint64_t available_bytes,
                        std::uint64_t reserve_bytes, std::uint64_t max_ctx) {
  FitCheck fit;
  fit.estimate = estimator(plan);
  fit.available_bytes = available_bytes;
  fit.reserve_bytes = reserve_bytes;
  fit.budget_bytes = available_bytes > reserve_bytes ? available_bytes - reserve_bytes : 0;
  fit.fits = fit.estimate.total_bytes <= fit.budget_bytes;
  const std::string budget = format_bytes(fit.budget_bytes) + " can be used (" +
                             format_bytes(available_bytes) + " available − " + format_bytes(reserve_bytes) +
                             " kept free)";
  if (fit.fits) {
    fit.message = "model needs " + describe(fit.estimate) + "; " + budget;
    return fit;
  }
  fit.message =
      "model does not fit in memory: it needs " + describe(fit.estimate) + ", but only " + budget + ".";
  std::string advice;
  if (auto ctx = auto_context_size(estimator, plan, available_bytes, reserve_bytes,
                                   max_ctx != 0 ? std::min(max_ctx, plan.ctx_size) : plan.ctx_size);
      ctx.ok() && *ctx < plan.ctx_size) {
    advice += " use --ctx-size " + std::to_string(*ctx) + " or less (or --ctx-size auto);";
  }
  if (plan.parallel > 1) advice += " lower --parallel;";
  if (fit.estimate.weights_bytes > fit.budget_bytes) {
    advice += " the weights alone exceed the budget, so choose a smaller quantization or model;";
  }
  advice += " or free memory held by other programs.";
  fit.message += " To fit:" + advice;
  return fit;
}

Result<std::uint64_t> auto_context_size(const LoadEstimator& estimator, LoadPlan plan,
                                        std::uint64_t available_bytes, std::uint64_t reserve_bytes,
                                        std::uint64_t max_ctx, std::uint64_t granularity) {
  if (granularity == 0) granularity = 1;
  if (max_ctx == 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--ctx-size auto needs the model's training context length; give a number");
  }
  const std::uint64_t budget = available_bytes > reserve_bytes ? available_bytes - reserve_bytes : 0;
  auto fits = [&](std::uint64_t ctx) {
    plan.ctx_size = ctx;
    return estimator(plan).total_bytes <= budget;
  };
  // The estimate grows with ctx, so binary search over multiples of the granularity.
  std::uint64_t hi = max_ctx / granularity;
  if (hi == 0 && fits(max_ctx)) return max_ctx;  // a training context shorter than one step
  if (hi == 0 || !fits(granularity)) {
    plan.ctx_size = std::min(granularity, max_ctx);
    return make_error(
        ErrorCode::kResourceExhausted,
        "no context size fits: even " + std::to_string(plan.ctx_size) + " tokens need " +
            describe(estimator(plan)) + ", but only " + format_bytes(budget) + " can be used (" +
            format_bytes(available_bytes) + " available − " + format_bytes(reserve_bytes) +
            " kept free). Choose a smaller model or quantization, lower --parallel, or free memory.");
  }
  std::uint64_t lo = 1;
  while (lo < hi) {
    const std::uint64_t mid = lo + (hi - lo + 1) / 2;
    if (fits(mid * granularity))
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo * granularity;
}

}  // namespace pensieve::memory
