#include "tensor/quantize.hpp"

#include <cstdio>
#include <cstdlib>

namespace pensieve::tensor {

bool can_quantize(TensorType type) { return traits_of(type).quantize != nullptr; }

void quantize(TensorType type, const float* src, std::uint8_t* dst, std::size_t count) {
  const TypeTraits& t = traits_of(type);
  if (t.quantize == nullptr || count % t.block_size != 0) {
    std::fprintf(stderr, "pensieve: quantize(%.*s, count %zu): unsupported type or partial block\n",
                 static_cast<int>(t.name.size()), t.name.data(), count);
    std::abort();
  }
  t.quantize(src, dst, count / t.block_size);
}

}  // namespace pensieve::tensor
