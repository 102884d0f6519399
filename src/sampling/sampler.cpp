#include "sampling/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace pensieve::sampling {
namespace {

bool finite(float v) { return std::isfinite(v); }

}  // namespace

Status validate(const SamplingParams& p) {
  auto bad = [](const std::string& what) { return make_error(ErrorCode::kInvalidArgument, what); };
  if (!finite(p.temperature) || p.temperature < 0.0f) return bad("temperature must be >= 0");
  if (p.top_k < 0) return bad("top_k must be >= 0");
  if (!finite(p.top_p) || p.top_p <= 0.0f || p.top_p > 1.0f) return bad("top_p must be in (0, 1]");
  if (!finite(p.min_p) || p.min_p < 0.0f || p.min_p > 1.0f) return bad("min_p must be in [0, 1]");
  if (!finite(p.repetition_penalty) || p.repetition_penalty <= 0.0f) {
    return bad("repetition_penalty must be > 0");
  }
  if (!finite(p.presence_penalty)) return bad("presence_penalty must be a finite number");
  if (!finite(p.frequency_penalty)) return bad("frequency_penalty must be a finite number");
  if (p.penalty_window < 0) return bad("penalty_window must be >= 0");
  return {};
}

Sampler::Sampler(const SamplingParams& params, std::int32_t vocab_size)
    : params_(params),
      vocab_size_(vocab_size),
      candidates_(static_cast<std::size_t>(vocab_size)),
      window_(static_cast<std::size_t>(std::max(params.penalty_window, 0))),
      counts_(static_cast<std::size_t>(vocab_size), 0),
      stamp_(static_cast<std::size_t>(vocab_size), 0),
      rng_(params.seed ? *params.seed : std::random_device{}()) {}

void Sampler::accept(std::int32_t token) {
  if (window_.empty() || token < 0 || token >= vocab_size_) return;
  if (window_fill_ == window_.size()) {
    --counts_[static_cast<std::size_t>(window_[window_next_])];
  } else {
    ++window_fill_;
  }
  window_[window_next_] = token;
  ++counts_[static_cast<std::size_t>(token)];
  window_next_ = (window_next_ + 1) % window_.size();
}

void Sampler::apply_penalties(std::span<float> logits) {
  const bool any = params_.repetition_penalty != 1.0f || params_.presence_penalty != 0.0f ||
                   params_.frequency_penalty != 0.0f;
  if (!any || window_fill_ == 0) return;
  if (++step_ == 0) {  // the stamp counter wrapped: forget every old mark
    std::fill(stamp_.begin(), stamp_.end(), 0);
    step_ = 1;
  }
  for (std::size_t i = 0; i < window_fill_; ++i) {
    const auto t = static_cast<std::size_t>(window_[i]);
    if (stamp_[t] == step_) continue;
    stamp_[t] = step_;
    float& l = logits[t];
    if (params_.repetition_penalty != 1.0f) {
      l = l > 0.0f ? l / params_.repetition_penalty : l * params_.repetition_penalty;
    }
    l -= params_.presence_penalty + params_.frequency_penalty * static_cast<float>(counts_[t]);
  }
}

std::int32_t Sampler::draw(std::size_t n) {
  double total = 0.0;
  for (std::size_t i = 0; i < n; ++i) total += candidates_[i].p;
  std::uniform_real_distribution<double> uniform(0.0, total);
  double r = uniform(rng_);
  for (std::size_t i = 0; i < n; ++i) {
    r -= candidates_[i].p;
    if (r < 0.0) return candidates_[i].id;
  }
  return candidates_[n - 1].id;
}

std::int32_t Sampler::sample(std::span<float> logits) {
  apply_penalties(logits);
  const std::size_t vocab = static_cast<std::size_t>(vocab_size_);

  if (params_.temperature <= 0.0f) {
    return static_cast<std::int32_t>(std::max_element(logits.begin(), logits.begin() + vocab) -
                                     logits.begin());
  }

  for (std::size_t i = 0; i < vocab; ++i) {
    candidates_[i] = {static_cast<std::int32_t>(i), logits[i], 0.0f};
  }
  auto by_logit = [](const Candidate& a, const Candidate& b) { return a.logit > b.logit; };
  std::size_t n = vocab;
  if (params_.top_k > 0 && static_cast<std::size_t>(params_.top_k) < n) {
    n = static_cast<std::size_t>(params_.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + n, candidates_.end(), by_logit);
  } else if (params_.top_p < 1.0f || params_.min_p > 0.0f) {
    std::sort(candidates_.begin(), candidates_.begin() + n, by_logit);
  }

  float max_logit = candidates_[0].logit;
  for (std::size_t i = 1; i < n; ++i) max_logit = std::max(max_logit, candidates_[i].logit);
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    candidates_[i].p = std::exp((candidates_[i].logit - max_logit) / params_.temperature);
    sum += candidates_[i].p;
  }

  // From here on, when top-p or min-p is on, candidates are sorted by descending probability.
  if (params_.top_p < 1.0f) {
    double kept = 0.0;
    std::size_t keep = 0;
    while (keep < n) {
      kept += candidates_[keep].p / sum;
      ++keep;
      if (kept >= params_.top_p) break;
    }
    n = keep;
  }
  if (params_.min_p > 0.0f) {
    const float floor = params_.min_p * candidates_[0].p;
    std::size_t keep = 1;
    while (keep < n && candidates_[keep].p >= floor) ++keep;
    n = keep;
  }
  return draw(n);
}

}  // namespace pensieve::sampling
