// Float-weight matmuls (F32, F16, BF16) on shapes large enough for every variant's prefill
// blocking: rows longer than one block of columns and not a multiple of 16, more tokens than one
// token block and not a multiple of a tile, row ranges that start off a tile. Each result must
// be the bits of the one-token, one-row call (what decode computes) and near the exact sum.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/kernel_table.hpp"
#include "tensor/dequantize.hpp"
#include "tensor/quantize.hpp"

namespace pensieve::kernels {
namespace {

using tensor::TensorType;

constexpr std::size_t kRows = 70, kCols = 4133, kTokens = 103;

class FloatPrefillTest : public ::testing::TestWithParam<std::tuple<Isa, TensorType>> {};

TEST_P(FloatPrefillTest, BatchedRowRangesEqualOneTokenOneRowCalls) {
  const auto [isa, type] = GetParam();
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> values(kRows * kCols), x(kTokens * kCols);
  for (auto& v : values) v = dist(rng);
  for (auto& v : x) v = dist(rng);
  const std::size_t row_bytes = *tensor::bytes_for(type, kCols);
  std::vector<std::uint8_t> bytes(kRows * row_bytes);
  if (type == TensorType::kF32) {
    std::memcpy(bytes.data(), values.data(), bytes.size());
  } else {
    tensor::quantize(type, values.data(), bytes.data(), values.size());
  }
  const WeightMatrix w{type, bytes.data(), kRows, kCols, row_bytes};
  const MatmulRowsFn fn = kernel_table(isa).matmul_for(type);
  const Activations all{ActivationFormat::kF32, reinterpret_cast<const std::uint8_t*>(x.data()),
                        kCols * sizeof(float), kTokens, kCols};

  // Row ranges as a thread pool might hand them out, one starting off a tile.
  std::vector<float> batched(kTokens * kRows, NAN);
  for (auto [begin, end] : {std::pair<std::size_t, std::size_t>{0, 3}, {3, 67}, {67, kRows}}) {
    fn(w, begin, end, all, batched.data(), kRows);
  }

  std::vector<float> row(kCols);
  for (std::size_t r = 0; r < kRows; ++r) {
    tensor::dequantize(type, w.row(r), row.data(), kCols);
    for (std::size_t t = 0; t < kTokens; ++t) {
      const Activations one{ActivationFormat::kF32, all.data + t * all.stride, all.stride, 1, kCols};
      float alone = NAN;
      fn(w, r, r + 1, one, &alone - r, 0);
      const float got = batched[t * kRows + r];
      ASSERT_EQ(std::memcmp(&alone, &got, sizeof(float)), 0)
          << name_of(isa) << " " << tensor::name_of(type) << " token " << t << " row " << r << ": " << got
          << " in the batch vs " << alone << " alone";
      double want = 0.0, magnitude = 0.0;
      for (std::size_t c = 0; c < kCols; ++c) {
        const double p = static_cast<double>(row[c]) * x[t * kCols + c];
        want += p;
        magnitude += std::abs(p);
      }
      ASSERT_NEAR(got, want, 2e-6 * magnitude + 1e-6) << name_of(isa) << " " << tensor::name_of(type);
    }
  }
}

std::vector<std::tuple<Isa, TensorType>> cases() {
  std::vector<std::tuple<Isa, TensorType>> v;
  for (Isa isa : supported_isas()) {
    for (TensorType t : {TensorType::kF32, TensorType::kF16, TensorType::kBF16}) v.emplace_back(isa, t);
  }
  return v;
}

INSTANTIATE_TEST_SUITE_P(FloatTypes, FloatPrefillTest, ::testing::ValuesIn(cases()), [](const auto& info) {
  return std::string(name_of(std::get<0>(info.param))) + "_" +
         std::string(tensor::name_of(std::get<1>(info.param)));
});

}  // namespace
}  // namespace pensieve::kernels
