#include "kernels/matmul.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "tensor/dequantize.hpp"
#include "tensor/quantize.hpp"

namespace pensieve::kernels {
namespace {

using tensor::TensorType;

std::vector<float> random_floats(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Quantizes a rows × cols float matrix row by row into `type` and returns its view and bytes.
struct StoredMatrix {
  std::vector<std::uint8_t> bytes;
  WeightMatrix view;
};

StoredMatrix store(TensorType type, const std::vector<float>& values, std::size_t rows, std::size_t cols) {
  StoredMatrix m;
  const std::size_t row_bytes = *tensor::bytes_for(type, cols);
  m.bytes.resize(rows * row_bytes);
  if (type == TensorType::kF32) {
    std::memcpy(m.bytes.data(), values.data(), values.size() * sizeof(float));
  } else {
    for (std::size_t r = 0; r < rows; ++r)
      tensor::quantize(type, values.data() + r * cols, m.bytes.data() + r * row_bytes, cols);
  }
  m.view = WeightMatrix{type, m.bytes.data(), rows, cols, row_bytes};
  return m;
}

TEST(Dot, MatchesDoubleSumForEveryTailLength) {
  for (std::size_t n : {0u, 1u, 7u, 8u, 9u, 33u, 256u, 1000u}) {
    const auto a = random_floats(n, 1);
    const auto b = random_floats(n, 2);
    double expected = 0.0;
    for (std::size_t i = 0; i < n; ++i) expected += static_cast<double>(a[i]) * b[i];
    EXPECT_NEAR(dot(a.data(), b.data(), n), expected, 1e-5) << "n = " << n;
  }
}

TEST(Matmul, F32WithStridesMatchesNaiveProduct) {
  constexpr std::size_t kRows = 5, kCols = 12, kTokens = 3, kXStride = 16, kOutStride = 7;
  const auto w = random_floats(kRows * kCols, 3);
  const auto x = random_floats(kTokens * kXStride, 4);
  const StoredMatrix m = store(TensorType::kF32, w, kRows, kCols);
  std::vector<float> out(kTokens * kOutStride, -7.0f);
  std::vector<float> row(kCols);
  matmul(m.view, x.data(), kXStride, kTokens, out.data(), kOutStride, row);
  for (std::size_t t = 0; t < kTokens; ++t) {
    for (std::size_t r = 0; r < kRows; ++r) {
      double expected = 0.0;
      for (std::size_t c = 0; c < kCols; ++c)
        expected += static_cast<double>(w[r * kCols + c]) * x[t * kXStride + c];
      EXPECT_NEAR(out[t * kOutStride + r], expected, 1e-5);
    }
    // Columns past `rows` in each output row are left alone.
    EXPECT_EQ(out[t * kOutStride + kRows], -7.0f);
  }
}

TEST(Matmul, SliceRowsSelectsThePartOfAFusedMatrix) {
  constexpr std::size_t kRows = 6, kCols = 8;
  const auto w = random_floats(kRows * kCols, 5);
  const auto x = random_floats(kCols, 6);
  const StoredMatrix m = store(TensorType::kF32, w, kRows, kCols);
  std::vector<float> full(kRows), part(2), row(kCols);
  matmul(m.view, x.data(), kCols, 1, full.data(), kRows, row);
  matmul(m.view.slice_rows(3, 2), x.data(), kCols, 1, part.data(), 2, row);
  EXPECT_EQ(part[0], full[3]);
  EXPECT_EQ(part[1], full[4]);
}

// For quantized weights the product must be exactly that of the dequantized rows: the
// reference path introduces no error of its own beyond float32 arithmetic.
class QuantizedMatmul : public ::testing::TestWithParam<TensorType> {};

TEST_P(QuantizedMatmul, EqualsProductOfDequantizedRows) {
  const TensorType type = GetParam();
  const std::size_t cols = 2 * tensor::traits_of(type).block_size;
  constexpr std::size_t kRows = 4, kTokens = 2;
  const StoredMatrix m = store(type, random_floats(kRows * cols, 7), kRows, cols);
  const auto x = random_floats(kTokens * cols, 8);
  std::vector<float> out(kTokens * kRows), row(cols), dequantized(cols);
  matmul(m.view, x.data(), cols, kTokens, out.data(), kRows, row);
  for (std::size_t r = 0; r < kRows; ++r) {
    tensor::dequantize(type, m.view.row(r), dequantized.data(), cols);
    for (std::size_t t = 0; t < kTokens; ++t) {
      double expected = 0.0;
      for (std::size_t c = 0; c < cols; ++c)
        expected += static_cast<double>(dequantized[c]) * x[t * cols + c];
      EXPECT_NEAR(out[t * kRows + r], expected, 1e-4) << "row " << r << ", token " << t;
    }
  }
}

// Every stored type the tensor module can also produce (the list grows with its quantizers).
std::vector<TensorType> quantizable_types() {
  std::vector<TensorType> types;
  for (TensorType t : {TensorType::kF16, TensorType::kBF16, TensorType::kQ8_0, TensorType::kQ4_0,
                       TensorType::kQ4_1, TensorType::kQ5_0, TensorType::kQ5_1, TensorType::kIQ4_NL,
                       TensorType::kQ4_K, TensorType::kQ5_K, TensorType::kQ6_K, TensorType::kMXFP4}) {
    if (tensor::can_quantize(t) && tensor::can_dequantize(t)) types.push_back(t);
  }
  return types;
}

INSTANTIATE_TEST_SUITE_P(Types, QuantizedMatmul, ::testing::ValuesIn(quantizable_types()),
                         [](const auto& info) { return std::string(tensor::name_of(info.param)); });

TEST(DequantizeRow, ReadsTheRequestedRow) {
  constexpr std::size_t kRows = 3, kCols = 4;
  const auto w = random_floats(kRows * kCols, 9);
  const StoredMatrix m = store(TensorType::kF32, w, kRows, kCols);
  std::vector<float> out(kCols);
  dequantize_row(m.view, 2, out.data());
  for (std::size_t c = 0; c < kCols; ++c) EXPECT_EQ(out[c], w[2 * kCols + c]);
}

}  // namespace
}  // namespace pensieve::kernels

namespace pensieve::tensor {
// gtest prints TensorType parameters by name.
void PrintTo(TensorType type, std::ostream* os);
void PrintTo(TensorType type, std::ostream* os) {
  *os << name_of(type);
}
}  // namespace pensieve::tensor
