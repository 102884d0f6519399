// kernels/kv_cache: how one sequence's keys and values are stored, in f32, f16 or q8_0, and the
// conversion on write. Per layer and key/value head, positions are contiguous, so attention over
// one head streams one region of memory:
//
//   keys:   (n_head_kv, n_ctx positions) in tiles of kKeyTile positions, each tile transposed —
//           dimension-major, so a tile's scores are a plain float matrix product. The last tile
//           is only as wide as the positions left, so the cache holds exactly n_ctx positions.
//   values: (n_head_kv, n_ctx, row) — rows in the type's row format (f16 values, or q8_0 blocks
//           of 32 sharing an f16 scale).
//
// q8_0 needs head dimensions that are multiples of 32 (check_kv_shape says so clearly).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/result.hpp"
#include "kernels/kv_type.hpp"

namespace pensieve::kernels {

std::string_view name_of(KvType type);
// "f32", "f16" or "q8_0".
Result<KvType> parse_kv_type(std::string_view name);

// Bytes that `dim` values of one position take (dim a multiple of 32 for q8_0).
std::size_t kv_row_bytes(KvType type, std::size_t dim);

// Whether a cache of `type` can hold heads of these dimensions; the error says why not.
Status check_kv_shape(KvType type, std::size_t head_dim_k, std::size_t head_dim_v);

// One layer of a sequence's cache. The pointers address (n_head_kv · n_ctx · row bytes) each.
struct KvLayer {
  KvType type = KvType::kF32;
  std::uint8_t* k = nullptr;
  std::uint8_t* v = nullptr;
  std::size_t n_ctx = 0;
  std::size_t n_head_kv = 0;
  std::size_t head_dim_k = 0;
  std::size_t head_dim_v = 0;

  std::size_t k_row_bytes() const { return kv_row_bytes(type, head_dim_k); }
  std::size_t v_row_bytes() const { return kv_row_bytes(type, head_dim_v); }
  // Positions in key tile `tile` (kKeyTile, or fewer for the last).
  std::size_t tile_width(std::size_t tile) const;
  // Start of key tile `tile` of head `head`, in the layout LoadKeysFn reads.
  std::uint8_t* key_tile(std::size_t head, std::size_t tile) const;
  // The value row of head `head` at `position`.
  std::uint8_t* value_row(std::size_t head, std::size_t position) const;
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
