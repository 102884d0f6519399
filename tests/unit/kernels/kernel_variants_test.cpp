// Every instruction-set variant's kernels against the scalar variant, and the scalar integer
// kernels against float arithmetic on the same (dequantized) numbers, for every weight type on
// random, ragged shapes. Also the table contract: a row's result does not depend on the batch.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "core/thread_pool.hpp"
#include "kernels/kernel_table.hpp"
#include "kernels/panel_layout.hpp"
#include "kernels/prepared_input.hpp"
#include "kernels/repacking.hpp"
#include "kernels/scratch.hpp"
#include "tensor/dequantize.hpp"
#include "tensor/quantize.hpp"

namespace pensieve::kernels {
namespace {

using tensor::TensorType;

const TensorType kTypes[] = {TensorType::kF32,    TensorType::kF16,  TensorType::kBF16, TensorType::kQ8_0,
                             TensorType::kQ4_0,   TensorType::kQ4_1, TensorType::kQ5_0, TensorType::kQ5_1,
                             TensorType::kIQ4_NL, TensorType::kQ4_K, TensorType::kQ5_K, TensorType::kQ6_K,
                             TensorType::kMXFP4};

struct Weights {
  std::vector<std::uint8_t> bytes;
  WeightMatrix w;
};

Weights random_weights(TensorType type, std::size_t rows, std::size_t cols, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> values(rows * cols);
  for (auto& v : values) v = dist(rng);
  Weights out;
  const std::size_t row_bytes = *tensor::bytes_for(type, cols);
  out.bytes.resize(rows * row_bytes);
  if (type == TensorType::kF32) {
    std::memcpy(out.bytes.data(), values.data(), out.bytes.size());
  } else {
    tensor::quantize(type, values.data(), out.bytes.data(), values.size());
  }
  out.w = {type, out.bytes.data(), rows, cols, row_bytes};
  return out;
}

std::vector<float> random_inputs(std::size_t n, std::size_t cols, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(n * cols);
  for (auto& v : x) v = dist(rng);
  // Some rows with a large outlier, as real activations have.
  if (n > 1) x[cols + cols / 3] = 40.0f;
  return x;
}

std::size_t block_of(TensorType type) {
  return tensor::traits_of(type).block_size == 256 ? 256 : 32;
}

// Runs one variant's matmul over all rows and inputs through PreparedInput (quantizing with that
// variant's quantizer).
std::vector<float> run(Isa isa, const WeightMatrix& w, const std::vector<float>& x, std::size_t n,
                       core::ThreadPool& pool) {
  const KernelTable& table = kernel_table(isa);
  PreparedInput input(n, w.cols);
  input.set(x.data(), w.cols, n, w.cols);
  std::vector<float> out(n * w.rows, NAN);
  matmul(table, pool, w, input, out.data(), w.rows);
  return out;
}

// Float reference on the numbers the integer kernel sees: dequantized weights times the
// dequantized 8-bit activations (or the floats themselves for float-activation types), in double.
std::vector<double> reference(const WeightMatrix& w, const std::vector<float>& x, std::size_t n) {
  const ActivationFormat format = activation_format_of(w.type);
  std::vector<float> xs(x);
  if (format != ActivationFormat::kF32) {
    std::vector<std::uint8_t> q(activation_row_bytes(format, w.cols));
    for (std::size_t t = 0; t < n; ++t) {
      kernel_table(Isa::kScalar)
          .quantize_row[static_cast<std::size_t>(format)](x.data() + t * w.cols, w.cols, q.data());
      for (std::size_t c = 0; c < w.cols; ++c) {
        if (format == ActivationFormat::kQ8x32) {
          const auto* b = reinterpret_cast<const ActBlock32*>(q.data()) + c / 32;
          xs[t * w.cols + c] = b->d * static_cast<float>(b->q[c % 32]);
        } else {
          const auto* b = reinterpret_cast<const ActBlock256*>(q.data()) + c / 256;
          xs[t * w.cols + c] = b->d[c % 256 / 32] * static_cast<float>(b->q[c % 256]);
        }
      }
    }
  }
  std::vector<float> row(w.cols);
  std::vector<double> out(n * w.rows);
  for (std::size_t r = 0; r < w.rows; ++r) {
    tensor::dequantize(w.type, w.row(r), row.data(), w.cols);
    for (std::size_t t = 0; t < n; ++t) {
      double s = 0.0;
      for (std::size_t c = 0; c < w.cols; ++c) s += static_cast<double>(row[c]) * xs[t * w.cols + c];
      out[t * w.rows + r] = s;
    }
  }
  return out;
}

// Tolerance: float rounding of a sum of `cols` products, relative to the sum of their magnitudes.
double magnitude(const WeightMatrix& w, const std::vector<float>& x, std::size_t t, std::size_t r) {
  std::vector<float> row(w.cols);
  tensor::dequantize(w.type, w.row(r), row.data(), w.cols);
  double m = 0.0;
  for (std::size_t c = 0; c < w.cols; ++c) m += std::abs(static_cast<double>(row[c]) * x[t * w.cols + c]);
  return m;
}

struct Shape {
  std::size_t rows, blocks, n;
};
const Shape kShapes[] = {{1, 1, 1}, {67, 3, 1}, {130, 2, 5}, {64, 8, 17}, {200, 4, 33}};

class KernelVariantTest : public ::testing::TestWithParam<std::tuple<Isa, TensorType>> {};

TEST_P(KernelVariantTest, MatchesFloatArithmeticOnTheSameNumbers) {
  const auto [isa, type] = GetParam();
  std::mt19937 rng(static_cast<unsigned>(type) * 31 + 7);
  core::ThreadPool pool(2);
  for (const Shape& s : kShapes) {
    const std::size_t cols = s.blocks * block_of(type);
    const Weights w = random_weights(type, s.rows, cols, rng);
    const std::vector<float> x = random_inputs(s.n, cols, rng);
    const std::vector<float> got = run(isa, w.w, x, s.n, pool);
    const std::vector<double> want = reference(w.w, x, s.n);
    for (std::size_t t = 0; t < s.n; ++t) {
      for (std::size_t r = 0; r < s.rows; ++r) {
        const double tolerance = 2e-6 * magnitude(w.w, x, t, r) + 1e-6;
        ASSERT_NEAR(got[t * s.rows + r], want[t * s.rows + r], tolerance)
            << name_of(isa) << " " << tensor::name_of(type) << " rows " << s.rows << " cols " << cols << " n "
            << s.n << " at input " << t << ", row " << r;
      }
    }
  }
}

TEST_P(KernelVariantTest, ResultOfARowDoesNotDependOnTheBatchOrRowRange) {
  const auto [isa, type] = GetParam();
  std::mt19937 rng(static_cast<unsigned>(type) * 17 + 3);
  core::ThreadPool pool(2);
  const std::size_t rows = 150, n = 19, cols = 4 * block_of(type);
  const Weights w = random_weights(type, rows, cols, rng);
  const std::vector<float> x = random_inputs(n, cols, rng);
  const std::vector<float> batched = run(isa, w.w, x, n, pool);
  const KernelTable& table = kernel_table(isa);
  for (std::size_t t = 0; t < n; ++t) {
    const std::vector<float> one(x.begin() + static_cast<long>(t * cols),
                                 x.begin() + static_cast<long>((t + 1) * cols));
    PreparedInput input(1, cols);
    input.set(one.data(), cols, 1, cols);
    const Activations& a = input.in(activation_format_of(type), table, pool);
    // Rows one at a time, in an odd order, with no thread pool: the same bits as the batched call.
    for (std::size_t r :
         {std::size_t{149}, std::size_t{0}, std::size_t{77}, std::size_t{64}, std::size_t{63}}) {
      float out = NAN;
      table.matmul_for(type)(w.w, r, r + 1, a, &out - r, 0);
      ASSERT_EQ(std::memcmp(&out, &batched[t * rows + r], sizeof(float)), 0)
          << name_of(isa) << " " << tensor::name_of(type) << " input " << t << " row " << r << ": " << out
          << " alone vs " << batched[t * rows + r] << " in the batch";
    }
  }
}

// 64-byte aligned memory for a repacked copy.
struct PanelBuffer {
  explicit PanelBuffer(std::size_t bytes)
      : data(static_cast<std::uint8_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64))) {}
  ~PanelBuffer() { std::free(data); }
  PanelBuffer(const PanelBuffer&) = delete;
  PanelBuffer& operator=(const PanelBuffer&) = delete;
  std::uint8_t* data;
};

// The (variant, type) pairs whose matmul reads a repacked copy (panels, Q6_K planes).
class RepackedVariantTest : public ::testing::TestWithParam<std::tuple<Isa, TensorType>> {};

TEST_P(RepackedVariantTest, TheRepackedCopyGivesTheBitsOfTheRows) {
  const auto [isa, type] = GetParam();
  const Repacking layout = kernel_table(isa).repacking_of(type);
  std::mt19937 rng(static_cast<unsigned>(type) * 13 + 5);
  core::ThreadPool pool(2);
  // An odd number of blocks: rows of the 32-value types are then not a whole number of dwords;
  // and more than four, so MXFP4's decoder (four blocks at a time) meets a whole four and a rest.
  const std::size_t rows = 150, cols = 7 * block_of(type);
  const Weights w = random_weights(type, rows, cols, rng);
  PanelBuffer copy(repacked_bytes(layout, rows, w.w.row_bytes));
  repack(layout, w.w, 0, repacked_units(layout, rows), copy.data);
  WeightMatrix packed = w.w;
  packed.repacked = copy.data;
  packed.repacking = layout;
  // One token and the small batches of streams decoding together (decoded from the copy in
  // registers, a few tokens at a time, with the rows' bits), then a prompt-sized batch.
  for (std::size_t n : {1, 2, 3, 4, 5, 7, 8, 9, 19}) {
    const std::vector<float> x = random_inputs(n, cols, rng);
    const std::vector<float> want = run(isa, w.w, x, n, pool);
    const std::vector<float> got = run(isa, packed, x, n, pool);
    ASSERT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0)
        << name_of(isa) << " " << tensor::name_of(type) << " n " << n;
    // A slice from a unit of the layout, ending inside one (an expert or fused part), keeps it.
    const WeightMatrix slice = packed.slice_rows(32, 37);
    ASSERT_NE(slice.repacked, nullptr);
    const std::vector<float> sliced = run(isa, slice, x, n, pool);
    for (std::size_t t = 0; t < n; ++t) {
      ASSERT_EQ(std::memcmp(&sliced[t * 37], &want[t * rows + 32], 37 * sizeof(float)), 0)
          << name_of(isa) << " " << tensor::name_of(type) << " slice, input " << t;
    }
    // Off a panel boundary a slice reads the rows; Q6_K planes are kept whole rows at a time.
    EXPECT_EQ(packed.slice_rows(40, 16).repacked != nullptr, layout == Repacking::kQ6KPlanes)
        << "a slice from row 40";
    // Row ranges that start inside a panel (or inside half of one), called on the table entry
    // itself, keep them too.
    const KernelTable& table = kernel_table(isa);
    PreparedInput input(n, cols);
    input.set(x.data(), cols, n, cols);
    const Activations& a = input.in(activation_format_of(type), table, pool);
    for (const auto& [begin, end] : {std::pair<std::size_t, std::size_t>{37, 150}, {8, 21}, {3, 5}}) {
      std::vector<float> part(n * rows, NAN);
      table.matmul_for(type)(packed, begin, end, a, part.data(), rows);
      for (std::size_t t = 0; t < n; ++t) {
        ASSERT_EQ(
            std::memcmp(&part[t * rows + begin], &want[t * rows + begin], (end - begin) * sizeof(float)), 0)
            << name_of(isa) << " " << tensor::name_of(type) << " rows " << begin << ".." << end << ", input "
            << t;
      }
    }
  }
}

// What one thread's matmul kernels keep in scratch slots 0 and 1 stays within what the memory
// estimate counts for them (matmul_scratch_bytes), for every variant and type, reading the layout
// the model gives them: the table's repacked copy where it asks for one.
TEST_P(KernelVariantTest, KernelScratchStaysWithinTheEstimate) {
  const auto [isa, type] = GetParam();
  const KernelTable& table = kernel_table(isa);
  const Repacking layout = table.repacking_of(type);
  std::mt19937 rng(static_cast<unsigned>(type) * 7 + 3);
  core::ThreadPool pool(2);
  const std::size_t rows = 64, cols = 8 * block_of(type);
  const Weights w = random_weights(type, rows, cols, rng);
  PanelBuffer copy(repacked_bytes(layout, rows, w.w.row_bytes));
  WeightMatrix packed = w.w;
  if (layout != Repacking::kNone) {
    repack(layout, w.w, 0, repacked_units(layout, rows), copy.data);
    packed.repacked = copy.data;
    packed.repacking = layout;
  }
  for (std::size_t n : {1, 7, 40}) {
    const std::vector<float> x = random_inputs(n, cols, rng);
    PreparedInput input(n, cols);
    input.set(x.data(), cols, n, cols);
    const Activations& a = input.in(activation_format_of(type), table, pool);
    std::vector<float> out(n * rows);
    std::size_t held = 0;
    // A thread of its own, so that its scratch starts empty.
    std::thread([&] {
      table.matmul_for(type)(packed, 0, rows, a, out.data(), rows);
      held = scratch_held(0) + scratch_held(1);
    }).join();
    EXPECT_LE(held, matmul_scratch_bytes(n, cols))
        << name_of(isa) << " " << tensor::name_of(type) << " n " << n;
  }
}

class ActivationVariantTest : public ::testing::TestWithParam<Isa> {};

// MXFP4's scale byte spans 2^-127 (a subnormal float, built from its bits in the SIMD variants) to
// 2^127, far beyond what random weights reach: one row per scale byte, checked relative to the
// row's own magnitude (with room for subnormal intermediates), alone, in a batch and from panels.
TEST_P(ActivationVariantTest, Mxfp4EveryScaleByteMatchesFloatArithmetic) {
  const Isa isa = GetParam();
  core::ThreadPool pool(2);
  std::mt19937 rng(41);
  constexpr std::size_t kRows = 241, kCols = 64;  // e ≤ 240 keeps the sums finite
  const std::size_t row_bytes = *tensor::bytes_for(TensorType::kMXFP4, kCols);
  Weights w;
  w.bytes.resize(kRows * row_bytes);
  for (std::size_t r = 0; r < kRows; ++r) {
    for (std::size_t b = 0; b < kCols / 32; ++b) {
      std::uint8_t* block = w.bytes.data() + r * row_bytes + b * 17;
      block[0] = static_cast<std::uint8_t>(r);
      for (std::size_t j = 1; j < 17; ++j) block[j] = static_cast<std::uint8_t>(rng());
    }
  }
  w.w = {TensorType::kMXFP4, w.bytes.data(), kRows, kCols, row_bytes};
  PanelBuffer panels(panels_bytes(kRows, row_bytes));
  repack_panels(w.w, 0, panel_count(kRows), panels.data);
  WeightMatrix packed = w.w;
  packed.repacked = panels.data;
  packed.repacking = Repacking::kPanels;
  for (std::size_t n : {1, 3, 9}) {
    const std::vector<float> x = random_inputs(n, kCols, rng);
    const std::vector<double> want = reference(w.w, x, n);
    for (const WeightMatrix* m : {&w.w, &packed}) {
      const std::vector<float> got = run(isa, *m, x, n, pool);
      for (std::size_t t = 0; t < n; ++t) {
        for (std::size_t r = 0; r < kRows; ++r) {
          // Below 2^-126 the product of the two scales (or partial sums) rounds to a multiple
          // of 2^-149: up to 2^-150 times a block's largest integer dot product, per block.
          const double subnormal_rounding = kCols / 32 * (12.0 * 127 * 32) * 0x1p-150;
          const double tolerance = 2e-6 * magnitude(w.w, x, t, r) + subnormal_rounding;
          ASSERT_NEAR(got[t * kRows + r], want[t * kRows + r], tolerance)
              << name_of(isa) << " scale byte " << r << ", n " << n << ", input " << t
              << (m == &packed ? " (panels)" : "");
        }
      }
    }
  }
}

TEST_P(ActivationVariantTest, QuantizedActivationsEqualScalar) {
  const Isa isa = GetParam();
  std::mt19937 rng(5);
  const std::size_t cols = 1024;
  std::vector<float> x = random_inputs(3, cols, rng);
  x[5] = 0.0f;
  std::fill(x.begin() + 256, x.begin() + 512, 0.0f);  // an all-zero block
  for (ActivationFormat format : {ActivationFormat::kQ8x32, ActivationFormat::kQ8x256}) {
    const std::size_t bytes = activation_row_bytes(format, cols);
    for (std::size_t t = 0; t < 3; ++t) {
      std::vector<std::uint8_t> want(bytes), got(bytes);
      const auto slot = static_cast<std::size_t>(format);
      kernel_table(Isa::kScalar).quantize_row[slot](x.data() + t * cols, cols, want.data());
      kernel_table(isa).quantize_row[slot](x.data() + t * cols, cols, got.data());
      EXPECT_EQ(std::memcmp(want.data(), got.data(), bytes), 0)
          << name_of(isa) << " format " << static_cast<int>(format) << " row " << t;
    }
  }
}

// Inputs a forward pass should never produce, but that must not make variants disagree (or reach
// an out-of-range conversion): NaN and infinite values, a block so small that 127 / max|x|
// overflows, and one at the top of the float range.
TEST_P(ActivationVariantTest, QuantizedNonFiniteAndExtremeActivationsEqualScalar) {
  const Isa isa = GetParam();
  std::mt19937 rng(9);
  const std::size_t cols = 1024;
  std::vector<float> x = random_inputs(1, cols, rng);
  x[3] = std::numeric_limits<float>::quiet_NaN();
  x[300] = std::numeric_limits<float>::infinity();
  x[301] = -std::numeric_limits<float>::infinity();
  for (std::size_t i = 512; i < 768; ++i) x[i] = (i % 3 == 0 ? -1e-40f : 1e-40f);  // denormal
  for (std::size_t i = 768; i < 1024; ++i) x[i] = (i % 2 == 0 ? -3e38f : 2e38f);
  for (ActivationFormat format : {ActivationFormat::kQ8x32, ActivationFormat::kQ8x256}) {
    const std::size_t bytes = activation_row_bytes(format, cols);
    std::vector<std::uint8_t> want(bytes), got(bytes);
    const auto slot = static_cast<std::size_t>(format);
    kernel_table(Isa::kScalar).quantize_row[slot](x.data(), cols, want.data());
    kernel_table(isa).quantize_row[slot](x.data(), cols, got.data());
    EXPECT_EQ(std::memcmp(want.data(), got.data(), bytes), 0)
        << name_of(isa) << " format " << static_cast<int>(format);
  }
}

INSTANTIATE_TEST_SUITE_P(Supported, ActivationVariantTest, ::testing::ValuesIn(supported_isas()),
                         [](const auto& info) { return std::string(name_of(info.param)); });

std::vector<std::tuple<Isa, TensorType>> cases() {
  std::vector<std::tuple<Isa, TensorType>> v;
  for (Isa isa : supported_isas()) {
    for (TensorType t : kTypes) v.emplace_back(isa, t);
  }
  return v;
}

std::vector<std::tuple<Isa, TensorType>> repacked_cases() {
  std::vector<std::tuple<Isa, TensorType>> v;
  for (const auto& c : cases()) {
    if (kernel_table(std::get<0>(c)).repacking_of(std::get<1>(c)) != Repacking::kNone) v.push_back(c);
  }
  return v;
}

std::string case_name(const ::testing::TestParamInfo<std::tuple<Isa, TensorType>>& info) {
  return std::string(name_of(std::get<0>(info.param))) + "_" +
         std::string(tensor::name_of(std::get<1>(info.param)));
}

INSTANTIATE_TEST_SUITE_P(AllTypes, KernelVariantTest, ::testing::ValuesIn(cases()), case_name);
INSTANTIATE_TEST_SUITE_P(RepackedTypes, RepackedVariantTest, ::testing::ValuesIn(repacked_cases()),
                         case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RepackedVariantTest);  // no such kernels on this CPU

}  // namespace
}  // namespace pensieve::kernels

namespace pensieve::kernels {
namespace {

// Several matrices that read one input (q, k and v of mixed types, as Q4_K_M has them) in one
// parallel region give the bits each gives alone.
TEST_P(ActivationVariantTest, ProjectionsTogetherEqualEachAlone) {
  const Isa isa = GetParam();
  const KernelTable& table = kernel_table(isa);
  core::ThreadPool pool(2);
  std::mt19937 rng(21);
  const std::size_t cols = 512, n = 5;
  const Weights q = random_weights(TensorType::kQ4_K, 200, cols, rng);
  const Weights k = random_weights(TensorType::kQ6_K, 70, cols, rng);
  const Weights v = random_weights(TensorType::kQ8_0, 64, cols, rng);
  const std::vector<float> x = random_inputs(n, cols, rng);
  PreparedInput input(n, cols);
  input.set(x.data(), cols, n, cols);
  std::vector<float> together(n * (200 + 70 + 64), NAN);
  const Projection projections[] = {{&q.w, together.data(), 200},
                                    {&k.w, together.data() + n * 200, 70},
                                    {&v.w, together.data() + n * 270, 64}};
  matmul(table, pool, projections, input);
  std::size_t at = 0;
  for (const Weights* w : {&q, &k, &v}) {
    const std::vector<float> alone = run(isa, w->w, x, n, pool);
    ASSERT_EQ(std::memcmp(alone.data(), together.data() + at, alone.size() * sizeof(float)), 0)
        << name_of(isa) << " " << tensor::name_of(w->w.type);
    at += alone.size();
  }
}

// Matrices that each read their own rows of a prepared input (experts, each with the tokens
// routed to it), as many as one region takes: each gives the bits it gives alone on just its rows.
TEST_P(ActivationVariantTest, ProjectionsOfTheirOwnRowsEqualEachAlone) {
  const Isa isa = GetParam();
  const KernelTable& table = kernel_table(isa);
  core::ThreadPool pool(2);
  std::mt19937 rng(22);
  const std::size_t cols = 512, n = 12;
  const TensorType types[] = {TensorType::kQ4_K, TensorType::kQ6_K, TensorType::kQ8_0, TensorType::kQ4_0};
  const std::vector<float> x = random_inputs(n, cols, rng);
  PreparedInput input(n, cols);
  input.set(x.data(), cols, n, cols);
  struct Case {
    Weights w;
    std::size_t first, rows;
    std::vector<float> out;
  };
  std::vector<Case> cases;
  for (std::size_t i = 0; i < kMaxProjections; ++i) {
    const std::size_t first = i % n, rows = 1 + i % (n - first);
    cases.push_back({random_weights(types[i % 4], 48 + 16 * (i % 3), cols, rng), first, rows, {}});
  }
  std::vector<ProjectionOfRows> projections;
  for (Case& c : cases) {
    c.out.assign(c.rows * c.w.w.rows, NAN);
    const Activations& all = input.in(table.activation_for(c.w.w.type), table, pool);
    projections.push_back({&c.w.w, rows_of(all, c.first, c.rows), c.out.data(), c.w.w.rows});
  }
  matmul(table, pool, projections);
  for (const Case& c : cases) {
    const std::vector<float> own(x.begin() + c.first * cols, x.begin() + (c.first + c.rows) * cols);
    const std::vector<float> alone = run(isa, c.w.w, own, c.rows, pool);
    ASSERT_EQ(std::memcmp(alone.data(), c.out.data(), alone.size() * sizeof(float)), 0)
        << name_of(isa) << " " << tensor::name_of(c.w.w.type) << " rows " << c.first << "+" << c.rows;
  }
}

class ElementwiseVariantTest : public ::testing::TestWithParam<Isa> {};

TEST_P(ElementwiseVariantTest, SwigluMatchesScalarAcrossTheRange) {
  const Isa isa = GetParam();
  std::vector<float> gate, up;
  for (float g = -100.0f; g <= 100.0f; g += 0.173f) {
    gate.push_back(g);
    up.push_back(1.0f + 0.01f * g);
  }
  for (float g : {0.0f, -0.0f, 1e-30f, -1e-30f, 88.5f, -88.5f, 1e30f, -1e30f}) {
    gate.push_back(g);
    up.push_back(2.0f);
  }
  std::vector<float> want(gate.size()), got(gate.size());
  kernel_table(Isa::kScalar).swiglu(gate.data(), up.data(), gate.size(), want.data());
  // Odd lengths exercise each variant's tail.
  for (std::size_t n : {gate.size(), std::size_t{1}, std::size_t{7}, std::size_t{17}}) {
    std::fill(got.begin(), got.end(), NAN);
    kernel_table(isa).swiglu(gate.data(), up.data(), n, got.data());
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_NEAR(got[i], want[i], 1e-6 * std::abs(want[i]) + 1e-30)
          << name_of(isa) << " gate " << gate[i] << " (n " << n << ")";
    }
  }
  // In place, as the forward pass calls it.
  std::vector<float> in_place = gate;
  kernel_table(isa).swiglu(in_place.data(), up.data(), gate.size(), in_place.data());
  std::vector<float> separate(gate.size());
  kernel_table(isa).swiglu(gate.data(), up.data(), gate.size(), separate.data());
  EXPECT_EQ(in_place, separate);
}

INSTANTIATE_TEST_SUITE_P(Supported, ElementwiseVariantTest, ::testing::ValuesIn(supported_isas()),
                         [](const auto& info) { return std::string(name_of(info.param)); });

}  // namespace
}  // namespace pensieve::kernels
