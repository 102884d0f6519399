// kernels/kv_cache: how a sequence's keys and values are stored, in f32, f16 or q8_0, and the
// conversion on write. The cache comes in blocks of kKvBlockTokens consecutive positions; a
// sequence reaches its positions through a block table (block b holds positions [64·b, 64·b + 64)),
// so blocks can live anywhere in a pool and be shared between sequences (model/kv_pool.hpp).
//
// One block, for every layer of the model, layer after layer:
//
//   layer l:  keys    head 0 … n_head_kv−1: one key tile each — kKeyTile positions transposed,
//                     dimension-major, so a tile's scores are a plain float matrix product
//                     (the layout LoadKeysFn reads; every tile is full width);
//             values  head 0 … n_head_kv−1: kKeyTile rows each, in the type's row format (f32,
//                     f16, or q8_0 blocks of 32 sharing an f16 scale).
//
// So a key tile and the value rows one tile of attention reads are each contiguous, and a
// block's layer part is layer_bytes() long at layer·layer_bytes().
//
// q8_0 needs head dimensions that are multiples of 32 (check_kv_shape says so clearly).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/result.hpp"
#include "kernels/attention_kernels.hpp"
#include "kernels/kv_type.hpp"

namespace pensieve::kernels {

std::string_view name_of(KvType type);
// "f32", "f16" or "q8_0".
Result<KvType> parse_kv_type(std::string_view name);

// Bytes that `dim` values of one position take (dim a multiple of 32 for q8_0).
std::size_t kv_row_bytes(KvType type, std::size_t dim);

// Whether a cache of `type` can hold heads of these dimensions; the error says why not.
Status check_kv_shape(KvType type, std::size_t head_dim_k, std::size_t head_dim_v);

// Positions per block: one key tile.
inline constexpr std::size_t kKvBlockTokens = kKeyTile;

struct KvLayer;

// The shape of one block (see above): the model's layers and heads, and the element type.
struct KvBlockLayout {
  KvType type = KvType::kF32;
  std::size_t n_layer = 0;
  std::size_t n_head_kv = 0;
  std::size_t head_dim_k = 0;
  std::size_t head_dim_v = 0;

  std::size_t k_row_bytes() const { return kv_row_bytes(type, head_dim_k); }
  std::size_t v_row_bytes() const { return kv_row_bytes(type, head_dim_v); }
  std::size_t key_tile_bytes() const { return kKeyTile * k_row_bytes(); }
  std::size_t layer_bytes() const { return n_head_kv * kKvBlockTokens * (k_row_bytes() + v_row_bytes()); }
  std::size_t bytes() const { return n_layer * layer_bytes(); }  // one block's contents

  // Layer `layer` of the blocks whose pool indices `table` lists, block i at blocks + i·stride.
  KvLayer layer(std::size_t layer, std::uint8_t* blocks, std::size_t stride, const std::uint32_t* table,
                std::size_t table_size) const;

  bool operator==(const KvBlockLayout&) const = default;
};

// One layer of a sequence's cache, as the attention kernels address it: positions [0,
// positions()) through the block table.
struct KvLayer {
  KvType type = KvType::kF32;
  std::size_t n_head_kv = 0;
  std::size_t head_dim_k = 0;
  std::size_t head_dim_v = 0;
  std::size_t k_row = 0;                 // bytes of one position's key of one head
  std::size_t v_row = 0;                 // bytes of one value row
  std::uint8_t* blocks = nullptr;        // the pool's block 0
  std::size_t block_stride = 0;          // bytes from one block to the next
  std::size_t layer_offset = 0;          // where this layer starts in a block
  const std::uint32_t* table = nullptr;  // pool index of the block of tile t: table[t]
  std::size_t tiles = 0;                 // entries in the table

  std::size_t k_row_bytes() const { return k_row; }
  std::size_t v_row_bytes() const { return v_row; }
  std::size_t positions() const { return tiles * kKvBlockTokens; }
  // Start of key tile `tile` of head `head` (kKeyTile positions), in the layout LoadKeysFn reads.
  std::uint8_t* key_tile(std::size_t head, std::size_t tile) const {
    return block_of(tile) + head * kKeyTile * k_row;
  }
  // The value row of head `head` at `position`; the rows of one tile follow it contiguously.
  std::uint8_t* value_row(std::size_t head, std::size_t position) const {
    return block_of(position / kKvBlockTokens) + n_head_kv * kKeyTile * k_row +
           (head * kKvBlockTokens + position % kKvBlockTokens) * v_row;
  }

 private:
  std::uint8_t* block_of(std::size_t tile) const {
    return blocks + table[tile] * block_stride + layer_offset;
  }
};

// Converts n positions of keys/values starting at pos0 into the cache: k row t (n_head_kv ·
// head_dim_k floats, heads side by side as the projection writes them) at k + t·k_stride; v
// likewise. f16 rounds to nearest even; q8_0 quantizes each 32 values of a head row as
// tensor::quantize does.
void store_kv(const KvLayer& layer, std::size_t pos0, std::size_t n, const float* k, std::size_t k_stride,
              const float* v, std::size_t v_stride);

// The cached key or value of one head at one position, as floats (for tests and debugging).
void read_key(const KvLayer& layer, std::size_t head, std::size_t position, float* out);
void read_value(const KvLayer& layer, std::size_t head, std::size_t position, float* out);

}  // namespace pensieve::kernels
