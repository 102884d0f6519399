#include "tensor/dequantize.hpp"

#include <cstdio>
#include <cstdlib>

namespace pensieve::tensor {

bool can_dequantize(TensorType type) { return traits_of(type).dequantize != nullptr; }

void dequantize(TensorType type, const std::uint8_t* src, float* dst, std::size_t count) {
  const TypeTraits& t = traits_of(type);
  if (t.dequantize == nullptr || count % t.block_size != 0) {
    std::fprintf(stderr, "pensieve: dequantize(%.*s, count %zu): unsupported type or partial block\n",
                 static_cast<int>(t.name.size()), t.name.data(), count);
    std::abort();
  }
  t.dequantize(src, dst, count / t.block_size);
}

}  // namespace pensieve::tensor
