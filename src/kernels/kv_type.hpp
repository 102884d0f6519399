// kernels/kv_type: the element types a KV cache can hold. A plain enum in a header of its own, so
// the instruction-set translation units can name it without pulling in any inline code.
#pragma once

#include <cstddef>

namespace pensieve::kernels {

enum class KvType {
  kF32,   // full precision: the correctness path (pensieve logits)
  kF16,   // IEEE half: half the memory, what serving uses
  kQ8_0,  // blocks of 32 values of one head row sharing an f16 scale: 34 bytes per 32 values
};

inline constexpr std::size_t kKvTypes = 3;

}  // namespace pensieve::kernels
