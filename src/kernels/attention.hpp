// kernels/attention: scaled dot-product attention of one query token over float keys/values, with
// grouped-query heads (several query heads share one key/value head), over a full score vector.
// The plain reference that tiled attention (flash_attention.hpp, what the forward pass runs) is
// tested against.
#pragma once

#include <cstddef>

namespace pensieve::kernels {

struct AttentionShape {
  std::size_t n_head = 0;     // query heads
  std::size_t n_head_kv = 0;  // key/value heads; divides n_head
  std::size_t head_dim_k = 0;
  std::size_t head_dim_v = 0;
};

// q: (n_head * head_dim_k). keys: cache rows (n_head_kv * head_dim_k) for positions
// [first_key, first_key + n_keys), values likewise with head_dim_v; both indexed by absolute
// position. out: (n_head * head_dim_v). scores: scratch of n_keys floats. sinks: null, or per
// query head a logit that joins the softmax's denominator and weighs no value.
void attention(const float* q, const float* keys, const float* values, std::size_t first_key,
               std::size_t n_keys, const AttentionShape& shape, float scale, float* out, float* scores,
               const float* sinks = nullptr);

}  // namespace pensieve::kernels
