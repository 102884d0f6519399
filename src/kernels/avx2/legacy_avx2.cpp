// kernels/avx2/legacy_avx2: the 32-value block types (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL)
// against ActBlock32 activations.
//
// A block's integer dot product is exact: maddubs multiplies unsigned by signed bytes into int16
// pair sums, madd widens them. Signed weight codes go through the sign trick (|w| as the unsigned
// side, the activation takes w's sign), so every pair sum stays below 2·128·127 < 32767. Unsigned
// codes (the _1 types, 0..31) are the unsigned side as they are. Per pair and block the float work
// is then fixed: acc += float(dot) · (d_w · d_a), and for the _1 types acc₀ += m_w · d_a·Σq_a.
#include "kernels/avx2/avx2_common.hpp"

namespace pensieve::kernels::avx2 {
namespace {

// One weight block: codes as the unsigned operand (|w|, or w for unsigned types), w itself for
// the sign (signed types), d and (the _1 types) m in every lane.
struct Weights32 {
  __m256i mag;
  __m256i sign;
  __m256 d;
  __m256 m;
};

struct Input32 {
  __m256i q;
  __m256 d;
  __m256 d_sum;  // d·Σq in lane 0, zero elsewhere: the offset lands in lane 0 of the accumulator
};

void set_signed(Weights32& out, __m256i codes, float d) {
  out.mag = _mm256_sign_epi8(codes, codes);
  out.sign = codes;
  out.d = _mm256_set1_ps(d);
}

void set_unsigned(Weights32& out, __m256i codes, float d, float m) {
  out.mag = codes;
  out.d = _mm256_set1_ps(d);
  out.m = _mm256_set1_ps(m);
}

struct Base32 {
  static constexpr std::size_t kValues = 32;
  static constexpr std::size_t kActBytes = sizeof(ActBlock32);
  using Weights = Weights32;
  using Input = Input32;

  static void load(const std::uint8_t* p, Input32& in) {
    const auto* a = reinterpret_cast<const ActBlock32*>(p);
    in.q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a->q));
    in.d = _mm256_set1_ps(a->d);
    in.d_sum = _mm256_setr_ps(a->d_sum, 0, 0, 0, 0, 0, 0, 0);
  }
};

struct SignedBase : Base32 {
  static void step(__m256& acc, const Weights32& w, const Input32& in) {
    const __m256i dot = dot_u8_s8(w.mag, _mm256_sign_epi8(in.q, w.sign));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(w.d, in.d), acc);
  }
};

struct UnsignedBase : Base32 {
  static void step(__m256& acc, const Weights32& w, const Input32& in) {
    const __m256i dot = dot_u8_s8(w.mag, in.q);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(w.d, in.d), acc);
    acc = _mm256_fmadd_ps(w.m, in.d_sum, acc);
  }
};

// Q8_0: { fp16 d; i8 q[32]; }
struct Q8_0 : SignedBase {
  static constexpr std::size_t kBytes = 34;
  static void unpack(const std::uint8_t* b, Weights32& out) {
    set_signed(out, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 2)), load_fp16(b));
  }
};

// Q4_0: { fp16 d; u8 qs[16]; } code = nibble - 8
struct Q4_0 : SignedBase {
  static constexpr std::size_t kBytes = 18;
  static void unpack(const std::uint8_t* b, Weights32& out) {
    set_signed(out, _mm256_sub_epi8(nibbles_32(b + 2), _mm256_set1_epi8(8)), load_fp16(b));
  }
};

// Q5_0: { fp16 d; u32 qh; u8 qs[16]; } code = (nibble | fifth bit << 4) - 16
struct Q5_0 : SignedBase {
  static constexpr std::size_t kBytes = 22;
  static void unpack(const std::uint8_t* b, Weights32& out) {
    const __m256i codes = _mm256_or_si256(nibbles_32(b + 6), fifth_bits_32(load_u32(b + 2)));
    set_signed(out, _mm256_sub_epi8(codes, _mm256_set1_epi8(16)), load_fp16(b));
  }
};

// IQ4_NL: { fp16 d; u8 qs[16]; } code = grid[nibble]; the grid is fixed by the format.
struct Iq4Nl : SignedBase {
  static constexpr std::size_t kBytes = 18;
  static void unpack(const std::uint8_t* b, Weights32& out) {
    const __m256i grid = _mm256_setr_epi8(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
                                          -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
    set_signed(out, _mm256_shuffle_epi8(grid, nibbles_32(b + 2)), load_fp16(b));
  }
};

// Q4_1: { fp16 d; fp16 m; u8 qs[16]; } value = d·nibble + m
struct Q4_1 : UnsignedBase {
  static constexpr std::size_t kBytes = 20;
  static void unpack(const std::uint8_t* b, Weights32& out) {
    set_unsigned(out, nibbles_32(b + 4), load_fp16(b), load_fp16(b + 2));
  }
};

// Q5_1: { fp16 d; fp16 m; u32 qh; u8 qs[16]; } value = d·(nibble | fifth bit << 4) + m
struct Q5_1 : UnsignedBase {
  static constexpr std::size_t kBytes = 24;
  static void unpack(const std::uint8_t* b, Weights32& out) {
    set_unsigned(out, _mm256_or_si256(nibbles_32(b + 8), fifth_bits_32(load_u32(b + 4))), load_fp16(b),
                 load_fp16(b + 2));
  }
};

template <class K>
void matmul(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end, const Activations& x, float* out,
            std::size_t out_stride) {
  matmul_tiled<BlockTile<K>, 4, 4, 4>(w, row_begin, row_end, x, out, out_stride);
}

template <class K>
void add(KernelTable& table, tensor::TensorType type) {
  table.matmul_rows[static_cast<std::size_t>(type)] = matmul<K>;
}

}  // namespace

void add_legacy_kernels(KernelTable& table) {
  using tensor::TensorType;
  add<Q8_0>(table, TensorType::kQ8_0);
  add<Q4_0>(table, TensorType::kQ4_0);
  add<Q4_1>(table, TensorType::kQ4_1);
  add<Q5_0>(table, TensorType::kQ5_0);
  add<Q5_1>(table, TensorType::kQ5_1);
  add<Iq4Nl>(table, TensorType::kIQ4_NL);
}

}  // namespace pensieve::kernels::avx2
