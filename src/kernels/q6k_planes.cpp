#include "kernels/q6k_planes.hpp"

#include <cstring>

#include "kernels/matmul.hpp"

namespace pensieve::kernels {
namespace {

// Codes are handled four bytes at a time (load time converts every Q6_K block of a model).
std::uint32_t load32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
void store32(std::uint8_t* p, std::uint32_t v) {
  std::memcpy(p, &v, sizeof v);
}
constexpr std::uint32_t kLow2 = 0x03030303u, kLow4 = 0x0f0f0f0fu, kLow6 = 0x3f3f3f3fu;

// The 256 codes (0..63) of a stored block in value order, as 64 dwords. Half h takes ql[64h..]
// and qh[32h..]; within it, value 32k + l has its low nibble in ql[l + 32(k & 1)] (the high
// nibble for k ≥ 2) and its top two bits at bits 2k..2k+1 of qh[l].
void stored_codes(const std::uint8_t* block, std::uint32_t (&codes)[64]) {
  for (int half = 0; half < 2; ++half) {
    const std::uint8_t* ql = block + 64 * half;
    const std::uint8_t* qh = block + 128 + 32 * half;
    std::uint32_t* c = codes + 32 * half;
    for (int l = 0; l < 32; l += 4) {
      const std::uint32_t q0 = load32(ql + l), q1 = load32(ql + 32 + l), h = load32(qh + l);
      c[l / 4] = (q0 & kLow4) | (h & kLow2) << 4;
      c[8 + l / 4] = (q1 & kLow4) | (h >> 2 & kLow2) << 4;
      c[16 + l / 4] = (q0 >> 4 & kLow4) | (h >> 4 & kLow2) << 4;
      c[24 + l / 4] = (q1 >> 4 & kLow4) | (h >> 6 & kLow2) << 4;
    }
  }
}

}  // namespace

// Dword i of code vector k is dword k of group i: codes[8i + k] (the header's Ck).
void q6k_block_to_planes(const std::uint8_t* block, std::uint8_t* out) {
  std::uint32_t codes[64];
  stored_codes(block, codes);
  for (int j = 0; j < 6; ++j) {
    const int carrier = 6 + j / 3, shift = 2 * (j % 3);
    for (int i = 0; i < 8; ++i) {
      const std::uint32_t carried = codes[8 * i + carrier] >> shift & kLow2;
      store32(out + 32 * j + 4 * i, codes[8 * i + j] | carried << 6);
    }
  }
  std::memcpy(out + 192, block + 192, kQ6KBlockBytes - 192);
}

void q6k_block_from_planes(const std::uint8_t* planes, std::uint8_t* out) {
  std::uint32_t codes[64];
  for (int i = 0; i < 8; ++i) {
    std::uint32_t p[6];
    for (int j = 0; j < 6; ++j) {
      p[j] = load32(planes + 32 * j + 4 * i);
      codes[8 * i + j] = p[j] & kLow6;
    }
    for (int k = 0; k < 2; ++k) {
      codes[8 * i + 6 + k] =
          (p[3 * k] >> 6 & kLow2) | (p[3 * k + 1] >> 6 & kLow2) << 2 | (p[3 * k + 2] >> 6 & kLow2) << 4;
    }
  }
  for (int half = 0; half < 2; ++half) {
    std::uint8_t* ql = out + 64 * half;
    std::uint8_t* qh = out + 128 + 32 * half;
    const std::uint32_t* c = codes + 32 * half;
    for (int l = 0; l < 32; l += 4) {
      const std::uint32_t c0 = c[l / 4], c1 = c[8 + l / 4], c2 = c[16 + l / 4], c3 = c[24 + l / 4];
      store32(ql + l, (c0 & kLow4) | (c2 & kLow4) << 4);
      store32(ql + 32 + l, (c1 & kLow4) | (c3 & kLow4) << 4);
      store32(qh + l,
              (c0 >> 4 & kLow2) | (c1 >> 4 & kLow2) << 2 | (c2 >> 4 & kLow2) << 4 | (c3 >> 4 & kLow2) << 6);
    }
  }
  std::memcpy(out + 192, planes + 192, kQ6KBlockBytes - 192);
}

void repack_q6k_planes(const WeightMatrix& w, std::size_t first, std::size_t end, std::uint8_t* out) {
  const std::size_t blocks = w.row_bytes / kQ6KBlockBytes;
  for (std::size_t r = first; r < end; ++r) {
    for (std::size_t b = 0; b < blocks; ++b) {
      const std::size_t at = r * w.row_bytes + b * kQ6KBlockBytes;
      q6k_block_to_planes(w.data + at, out + at);
    }
  }
}

}  // namespace pensieve::kernels
