// sampling/sampler: turns one row of logits into the next token id.
//
// The chain is: penalties (repetition, presence, frequency over a recent window) → greedy when
// temperature is 0 → top-k → softmax at the temperature → top-p → min-p → a draw from a seeded
// generator. All buffers are sized once for the vocabulary, so sampling a token allocates nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <vector>

#include "core/result.hpp"

namespace pensieve::sampling {

struct SamplingParams {
  float temperature = 1.0f;         // 0 picks the most likely token (greedy)
  std::int32_t top_k = 0;           // 0: off
  float top_p = 1.0f;               // 1: off
  float min_p = 0.0f;               // 0: off; drops tokens below min_p × the best probability
  float repetition_penalty = 1.0f;  // 1: off; > 1 makes recent tokens less likely
  float presence_penalty = 0.0f;    // subtracted once from each recent token's logit
  float frequency_penalty = 0.0f;   // subtracted per occurrence in the recent window
  std::int32_t penalty_window = 64; // how many recent tokens the penalties look at
  std::optional<std::uint64_t> seed;  // absent: a fresh random seed per sampler
};

// An Error naming the first out-of-range parameter.
Status validate(const SamplingParams& params);

class Sampler {
 public:
  Sampler(const SamplingParams& params, std::int32_t vocab_size);

  // Picks a token from `logits` (vocab_size values). Penalties are applied to `logits` in place.
  std::int32_t sample(std::span<float> logits);

  // Records a token (prompt or generated) in the penalty window.
  void accept(std::int32_t token);

  const SamplingParams& params() const { return params_; }

 private:
  struct Candidate {
    std::int32_t id;
    float logit;
    float p;
  };

  void apply_penalties(std::span<float> logits);
  std::int32_t draw(std::size_t n);

  SamplingParams params_;
  std::int32_t vocab_size_;
  std::vector<Candidate> candidates_;    // (vocab_size)
  std::vector<std::int32_t> window_;     // ring of the last penalty_window tokens
  std::size_t window_next_ = 0;
  std::size_t window_fill_ = 0;
  std::vector<std::uint32_t> counts_;    // (vocab_size) occurrences within the window
  std::vector<std::uint32_t> stamp_;     // (vocab_size) marks tokens already penalised this step
  std::uint32_t step_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace pensieve::sampling
