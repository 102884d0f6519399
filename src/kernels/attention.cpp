#include "kernels/attention.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/matmul.hpp"
#include "kernels/ops.hpp"

namespace pensieve::kernels {

void attention(const float* q, const float* keys, const float* values, std::size_t first_key,
               std::size_t n_keys, const AttentionShape& shape, float scale, float* out, float* scores,
               const float* sinks) {
  const std::size_t k_stride = shape.n_head_kv * shape.head_dim_k;
  const std::size_t v_stride = shape.n_head_kv * shape.head_dim_v;
  const std::size_t group = shape.n_head / shape.n_head_kv;
  for (std::size_t h = 0; h < shape.n_head; ++h) {
    const std::size_t kv_head = h / group;
    const float* q_head = q + h * shape.head_dim_k;
    for (std::size_t j = 0; j < n_keys; ++j) {
      const float* k = keys + (first_key + j) * k_stride + kv_head * shape.head_dim_k;
      scores[j] = dot(q_head, k, shape.head_dim_k) * scale;
    }
    if (sinks == nullptr) {
      softmax_in_place(scores, n_keys);
    } else {
      // The softmax over the scores and the sink, of which only the scores' shares are kept.
      const float top = std::max(*std::max_element(scores, scores + n_keys), sinks[h]);
      double sum = std::exp(static_cast<double>(sinks[h] - top));
      for (std::size_t j = 0; j < n_keys; ++j) sum += std::exp(static_cast<double>(scores[j] - top));
      for (std::size_t j = 0; j < n_keys; ++j)
        scores[j] = static_cast<float>(std::exp(double{scores[j] - top}) / sum);
    }
    float* o = out + h * shape.head_dim_v;
    std::fill(o, o + shape.head_dim_v, 0.0f);
    for (std::size_t j = 0; j < n_keys; ++j) {
      const float* v = values + (first_key + j) * v_stride + kv_head * shape.head_dim_v;
      add_scaled_in_place(o, v, scores[j], shape.head_dim_v);
    }
  }
}

}  // namespace pensieve::kernels
