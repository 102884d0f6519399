#include "kernels/kv_cache.hpp"

#include <array>
#include <cassert>
#include <cstring>
#include <string>

#include "kernels/attention_kernels.hpp"
#include "tensor/dequantize.hpp"
#include "tensor/half.hpp"
#include "tensor/quantize.hpp"

namespace pensieve::kernels {
namespace {

constexpr std::size_t kQ8Block = 32;
constexpr std::size_t kQ8BlockBytes = 34;  // f16 scale + 32 int8 codes

tensor::TensorType tensor_type_of(KvType type) {
  switch (type) {
    case KvType::kF32:
      return tensor::TensorType::kF32;
    case KvType::kF16:
      return tensor::TensorType::kF16;
    case KvType::kQ8_0:
      return tensor::TensorType::kQ8_0;
  }
  return tensor::TensorType::kF32;
}

}  // namespace

std::string_view name_of(KvType type) {
  switch (type) {
    case KvType::kF32:
      return "f32";
    case KvType::kF16:
      return "f16";
    case KvType::kQ8_0:
      return "q8_0";
  }
  return "unknown";
}

Result<KvType> parse_kv_type(std::string_view name) {
  for (KvType type : {KvType::kF32, KvType::kF16, KvType::kQ8_0}) {
    if (name == name_of(type)) return type;
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown KV cache type '" + std::string(name) + "' (expected f32, f16 or q8_0)");
}

std::size_t kv_row_bytes(KvType type, std::size_t dim) {
  switch (type) {
    case KvType::kF32:
      return dim * sizeof(float);
    case KvType::kF16:
      return dim * sizeof(std::uint16_t);
    case KvType::kQ8_0:
      return dim / kQ8Block * kQ8BlockBytes;
  }
  return 0;
}

Status check_kv_shape(KvType type, std::size_t head_dim_k, std::size_t head_dim_v) {
  if (head_dim_k == 0 || head_dim_v == 0) {
    return make_error(ErrorCode::kInvalidArgument, "KV cache: head dimensions must not be 0");
  }
  if (type == KvType::kQ8_0 && (head_dim_k % kQ8Block != 0 || head_dim_v % kQ8Block != 0)) {
    return make_error(
        ErrorCode::kUnsupported,
        "KV cache type q8_0 needs head dimensions that are multiples of 32; this model's key and "
        "value heads have " +
            std::to_string(head_dim_k) + " and " + std::to_string(head_dim_v) +
            " (use --kv-type f16 or f32)");
  }
  return {};
}

KvLayer KvBlockLayout::layer(std::size_t layer, std::uint8_t* blocks, std::size_t stride,
                             const std::uint32_t* table, std::size_t table_size) const {
  KvLayer view;
  view.type = type;
  view.n_head_kv = n_head_kv;
  view.head_dim_k = head_dim_k;
  view.head_dim_v = head_dim_v;
  view.k_row = k_row_bytes();
  view.v_row = v_row_bytes();
  view.blocks = blocks;
  view.block_stride = stride;
  view.layer_offset = layer * layer_bytes();
  view.table = table;
  view.tiles = table_size;
  return view;
}

void store_kv(const KvLayer& layer, std::size_t pos0, std::size_t n, const float* k, std::size_t k_stride,
              const float* v, std::size_t v_stride) {
  const std::size_t dk = layer.head_dim_k;
  const std::size_t dv = layer.head_dim_v;
  assert(pos0 + n <= layer.positions());
  // One head row of keys in the row format, scattered into the tile's columns below.
  std::array<std::uint8_t, 1024 / kQ8Block * kQ8BlockBytes> q8_row{};
  assert(dk <= 1024);
  for (std::size_t t = 0; t < n; ++t) {
    const std::size_t position = pos0 + t;
    const std::size_t tile = position / kKeyTile;
    const std::size_t col = position % kKeyTile;
    for (std::size_t h = 0; h < layer.n_head_kv; ++h) {
      const float* key = k + t * k_stride + h * dk;
      std::uint8_t* dst = layer.key_tile(h, tile);
      switch (layer.type) {
        case KvType::kF32: {
          auto* out = reinterpret_cast<float*>(dst);
          for (std::size_t d = 0; d < dk; ++d) out[d * kKeyTile + col] = key[d];
          break;
        }
        case KvType::kF16: {
          auto* out = reinterpret_cast<std::uint16_t*>(dst);
          for (std::size_t d = 0; d < dk; ++d) out[d * kKeyTile + col] = tensor::fp32_to_fp16(key[d]);
          break;
        }
        case KvType::kQ8_0: {
          tensor::quantize(tensor::TensorType::kQ8_0, key, q8_row.data(), dk);
          std::uint8_t* scales = dst;
          std::uint8_t* codes = dst + dk / kQ8Block * kKeyTile * 2;
          for (std::size_t b = 0; b < dk / kQ8Block; ++b) {
            const std::uint8_t* block = q8_row.data() + b * kQ8BlockBytes;
            std::memcpy(scales + (b * kKeyTile + col) * 2, block, 2);
            for (std::size_t i = 0; i < kQ8Block; ++i)
              codes[(b * kQ8Block + i) * kKeyTile + col] = block[2 + i];
          }
          break;
        }
      }
      const float* value = v + t * v_stride + h * dv;
      std::uint8_t* row = layer.value_row(h, position);
      if (layer.type == KvType::kF32) {
        std::memcpy(row, value, dv * sizeof(float));
      } else {
        tensor::quantize(tensor_type_of(layer.type), value, row, dv);
      }
    }
  }
}

void read_key(const KvLayer& layer, std::size_t head, std::size_t position, float* out) {
  const std::size_t tile = position / kKeyTile;
  const std::size_t col = position % kKeyTile;
  const std::uint8_t* src = layer.key_tile(head, tile);
  const std::size_t dk = layer.head_dim_k;
  for (std::size_t d = 0; d < dk; ++d) {
    switch (layer.type) {
      case KvType::kF32: {
        std::memcpy(&out[d], src + (d * kKeyTile + col) * sizeof(float), sizeof(float));
        break;
      }
      case KvType::kF16: {
        std::uint16_t h = 0;
        std::memcpy(&h, src + (d * kKeyTile + col) * 2, 2);
        out[d] = tensor::fp16_to_fp32(h);
        break;
      }
      case KvType::kQ8_0: {
        std::uint16_t scale = 0;
        std::memcpy(&scale, src + (d / kQ8Block * kKeyTile + col) * 2, 2);
        const auto code = static_cast<std::int8_t>(src[dk / kQ8Block * kKeyTile * 2 + d * kKeyTile + col]);
        out[d] = tensor::fp16_to_fp32(scale) * static_cast<float>(code);
        break;
      }
    }
  }
}

void read_value(const KvLayer& layer, std::size_t head, std::size_t position, float* out) {
  tensor::dequantize(tensor_type_of(layer.type), layer.value_row(head, position), out, layer.head_dim_v);
}

}  // namespace pensieve::kernels
