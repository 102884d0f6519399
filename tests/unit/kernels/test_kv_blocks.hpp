// A KV cache of one layer in plain memory, for kernel tests: its blocks lie in memory in reverse
// order (tile t in block n − 1 − t) with a gap between them, and everything starts as 0xff bytes
// (NaN in f32 and f16), so a test passes only if every position is found through the block table
// and nothing unwritten is ever used.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/kv_cache.hpp"

namespace pensieve::kernels::testing {

class TestKvBlocks {
 public:
  TestKvBlocks(KvType type, std::size_t n_head_kv, std::size_t head_dim_k, std::size_t head_dim_v,
               std::size_t positions)
      : layout_{type, 1, n_head_kv, head_dim_k, head_dim_v},
        stride_(layout_.bytes() + kGap),
        table_((positions + kKvBlockTokens - 1) / kKvBlockTokens),
        bytes_(table_.size() * stride_, 0xff) {
    for (std::size_t t = 0; t < table_.size(); ++t)
      table_[t] = static_cast<std::uint32_t>(table_.size() - 1 - t);
  }

  KvLayer layer() { return layout_.layer(0, bytes_.data(), stride_, table_.data(), table_.size()); }

 private:
  static constexpr std::size_t kGap = 256;
  KvBlockLayout layout_;
  std::size_t stride_;
  std::vector<std::uint32_t> table_;
  std::vector<std::uint8_t> bytes_;
};

}  // namespace pensieve::kernels::testing
