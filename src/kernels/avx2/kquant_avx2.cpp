// kernels/avx2/kquant_avx2: Q6_K from its planes form (q6k_planes.hpp) against ActBlock256
// activations. (Q4_K and Q5_K read repacked panels: kquant_panels_avx2.cpp.)
//
// The stored form took 92 vector operations a block: each 32 codes were assembled from a nibble
// and two bits, met a pair of scales picked out by a shuffle, and ended in a float conversion
// and multiply-add of their own, since each 32 activations have a scale of their own. From the
// planes a block is about 50: six ANDs give six of its eight code vectors and eight operations
// the other two; the activations' dwords are transposed once per call so that every code vector
// meets them in the lanes of its own group, two scale vectors serve the whole block, and the eight
// groups' sums leave the integers together, in one conversion, multiply and multiply-add.
// Measured on Zen 3 (BENCHMARKS.md, seventeenth session): a core decodes 27–30 GB/s from its L2
// cache (16–20 before), two cores 47 GB/s at best from L3 (33–34: less than a fast machine's
// memory delivers), and prompts run at 240–270 GOP/s (155–160). From memory at 27–34 GB/s it
// reads no faster than the stored form did: that form was already keeping pace there.
//
// Each (row, input) pair follows one fixed sequence of float operations (the kernel table's
// contract): per block, f = float(Σ_g-lanes s·Σq·a − 32·s·Σa)·d_a, acc = fma(f, d, acc); then
// the eight lanes summed in a fixed order. The integer sums are exact: a maddubs pair sum of
// codes ≤ 63 with activation codes ≤ 127 in magnitude stays below 2·63·128, so two of them summed
// as int16 stay below 32767 before madd widens them with their scale.
#include "kernels/avx2/avx2_common.hpp"
#include "kernels/avx2/panel_passes.hpp"
#include "kernels/q6k_planes.hpp"
#include "kernels/scratch.hpp"

namespace pensieve::kernels::avx2 {
namespace {

__m256i load256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

// `in` with its codes in the planes' order: dword i of code vector k (bytes 32k + 4i..) is dword k
// of group i (bytes 32i + 4k..) — an 8 × 8 transpose of dwords. Sums and scales stay as they are.
void transpose_codes(const ActBlock256& in, ActBlock256& out) {
  __m256i r[8], t[8], u[8];
  for (int i = 0; i < 8; ++i) r[i] = load256(in.q + 32 * i);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
    u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
    u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
    u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  for (int k = 0; k < 4; ++k) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.q + 32 * k),
                        _mm256_permute2x128_si256(u[k], u[k + 4], 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.q + 32 * (k + 4)),
                        _mm256_permute2x128_si256(u[k], u[k + 4], 0x31));
  }
  std::memcpy(out.sums, in.sums, sizeof(in.sums));
  std::memcpy(out.d, in.d, sizeof(in.d));
}

// One block's codes and scales, unpacked once for every input that meets it.
struct Block {
  __m256i codes[8];
  __m256i offset_scales;  // 32·s_g as int16 lane g (|32·s_g| ≤ 4096)
  __m256i first_scales;   // s_2i in int16 lanes 2i and 2i + 1 (code vectors 0..3)
  __m256i second_scales;  // s_2i+1 likewise (code vectors 4..7)
  __m256 d;

  explicit Block(const std::uint8_t* b) {
    const __m256i six = _mm256_set1_epi8(0x3f);
    __m256i p[6];
#pragma GCC unroll 6
    for (int j = 0; j < 6; ++j) {
      p[j] = load256(b + 32 * j);
      codes[j] = _mm256_and_si256(p[j], six);
    }
    // Bits 6..7 of three planes, as bits 0..1, 2..3 and 4..5 (16-bit shifts carry the next
    // byte's bits in above them, which the masks drop).
#pragma GCC unroll 2
    for (int k = 0; k < 2; ++k) {
      const __m256i low = _mm256_and_si256(_mm256_srli_epi16(p[3 * k], 6), _mm256_set1_epi8(0x03));
      const __m256i mid = _mm256_and_si256(_mm256_srli_epi16(p[3 * k + 1], 4), _mm256_set1_epi8(0x0c));
      const __m256i high = _mm256_and_si256(_mm256_srli_epi16(p[3 * k + 2], 2), _mm256_set1_epi8(0x30));
      codes[6 + k] = _mm256_or_si256(_mm256_or_si256(low, mid), high);
    }
    const __m256i scales = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 192)));
    const __m256i even = _mm256_setr_epi8(0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13, 0, 1, 0, 1, 4,
                                          5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13);
    first_scales = _mm256_shuffle_epi8(scales, even);
    second_scales = _mm256_shuffle_epi8(scales, _mm256_add_epi8(even, _mm256_set1_epi8(2)));
    offset_scales = _mm256_slli_epi16(scales, 5);
    d = _mm256_set1_ps(load_fp16(b + 208));
  }

  // acc += the block's eight groups against one input's block (its codes transposed), lane g
  // holding group g.
  void meet(const ActBlock256& a, __m256& acc) const {
    __m256i part[4];
#pragma GCC unroll 4
    for (int k = 0; k < 8; k += 2) {
      const __m256i pair = _mm256_add_epi16(_mm256_maddubs_epi16(codes[k], load256(a.q + 32 * k)),
                                            _mm256_maddubs_epi16(codes[k + 1], load256(a.q + 32 * k + 32)));
      part[k / 2] = _mm256_madd_epi16(pair, k < 4 ? first_scales : second_scales);
    }
    // The codes are the values + 32: Σ s·Σ (q − 32)·a = Σ s·Σ q·a − 32·Σ s·(Σ a).
    const __m256i offset = _mm256_madd_epi16(offset_scales, load256(a.sums));
    const __m256i sum = _mm256_sub_epi32(
        _mm256_add_epi32(_mm256_add_epi32(part[0], part[1]), _mm256_add_epi32(part[2], part[3])), offset);
    acc = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(sum), _mm256_loadu_ps(a.d)), d, acc);
  }
};

// Inputs a pass over a row meets while its codes are in registers.
constexpr std::size_t kPassInputs = 8;

// Decode reads the rows once, one after another: ask for the lines a few KiB ahead (a prefetch
// past the matrix's end never faults).
constexpr std::size_t kDecodePrefetchBytes = 4096;

// Row r (planes) × T inputs from t0 (transposed blocks, x.stride bytes a row) into
// out[(t0 + t)·out_stride + r].
template <int T>
void row_inputs(const WeightMatrix& w, std::size_t r, const Activations& x, std::size_t t0, float* out,
                std::size_t out_stride) {
  __m256 acc[1][T];
  for (int t = 0; t < T; ++t) acc[0][t] = _mm256_setzero_ps();
  const std::uint8_t* row = w.data + r * w.row_bytes;
  const std::size_t blocks = w.cols / 256;
  for (std::size_t b = 0; b < blocks; ++b) {
    const std::uint8_t* at = row + b * kQ6KBlockBytes;
    if constexpr (T == 1) {
      for (std::size_t line = 0; line < kQ6KBlockBytes; line += 64)
        _mm_prefetch(reinterpret_cast<const char*>(at + kDecodePrefetchBytes + line), _MM_HINT_T0);
    }
    const Block block(at);
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const auto* a =
          reinterpret_cast<const ActBlock256*>(x.data + (t0 + static_cast<std::size_t>(t)) * x.stride);
      block.meet(a[b], acc[0][t]);
    }
  }
  store_tile(acc, r, t0, out, out_stride);
}

// The table entry. Rows not in planes form (a matrix not repacked for this table) are repacked
// into scratch memory first, so every call computes from the same layout and gets the same bits.
void matmul(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end, const Activations& x,
            float* out, std::size_t out_stride) {
  if (row_end <= row_begin || x.rows == 0) return;
  const std::size_t rows = row_end - row_begin;
  WeightMatrix planes{w.type, nullptr, rows, w.cols, w.row_bytes};
  if (w.repacking == Repacking::kQ6KPlanes) {
    planes.data = w.repacked + row_begin * w.row_bytes;
  } else {
    std::uint8_t* copy = scratch(2, rows * w.row_bytes);
    const WeightMatrix part{w.type, w.data + row_begin * w.row_bytes, rows, w.cols, w.row_bytes};
    repack_q6k_planes(part, 0, rows, copy);
    planes.data = copy;
  }
  const std::size_t blocks = w.cols / 256;
  auto* transposed = reinterpret_cast<ActBlock256*>(scratch(1, x.rows * blocks * sizeof(ActBlock256)));
  for (std::size_t t = 0; t < x.rows; ++t) {
    const auto* in = reinterpret_cast<const ActBlock256*>(x.data + t * x.stride);
    for (std::size_t b = 0; b < blocks; ++b) transpose_codes(in[b], transposed[t * blocks + b]);
  }
  const Activations xt{x.format, reinterpret_cast<const std::uint8_t*>(transposed),
                       blocks * sizeof(ActBlock256), x.rows, x.cols};
  // Rows in units of 8, each unit met by up to 8 inputs at a time (the shared loop nest; a block
  // of 4 units stays in L2 while every group of inputs passes over it). A block's codes made once
  // serve the pass's inputs: 8 a pass ran prompts at 240–270 GOP/s, 4 at 200–232.
  constexpr std::size_t kUnitRows = 8;
  panel_passes<kPassInputs>(
      0, (rows + kUnitRows - 1) / kUnitRows, x.rows, [&]<std::size_t T>(std::size_t unit, std::size_t t0) {
        const std::size_t end = (unit + 1) * kUnitRows < rows ? (unit + 1) * kUnitRows : rows;
        for (std::size_t r = unit * kUnitRows; r < end; ++r)
          row_inputs<static_cast<int>(T)>(planes, r, xt, t0, out + row_begin, out_stride);
      });
}

}  // namespace

void add_kquant_kernels(MatmulSlots& slots, Repacking (&repacking)[kTypeSlots]) {
  const auto q6k = static_cast<std::size_t>(tensor::TensorType::kQ6_K);
  slots[q6k] = matmul;
  repacking[q6k] = Repacking::kQ6KPlanes;
}

}  // namespace pensieve::kernels::avx2
