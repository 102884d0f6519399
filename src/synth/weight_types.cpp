#include "synth/weight_types.hpp"

#include <array>
#include <cctype>

namespace pensieve::synth {
namespace {

using tensor::TensorType;

// file_type values are llama.cpp's llama_ftype. A pure K-quant file is labelled with the
// *_K_S ftype, whose matrices are mostly that type; readers use the label only for display.
constexpr std::array kSchemes = {
    WeightScheme{"F32", TensorType::kF32, Mix::kPure, 0},
    WeightScheme{"F16", TensorType::kF16, Mix::kPure, 1},
    WeightScheme{"BF16", TensorType::kBF16, Mix::kPure, 32},
    WeightScheme{"Q8_0", TensorType::kQ8_0, Mix::kPure, 7},
    WeightScheme{"Q4_0", TensorType::kQ4_0, Mix::kPure, 2},
    WeightScheme{"Q4_1", TensorType::kQ4_1, Mix::kPure, 3},
    WeightScheme{"Q5_0", TensorType::kQ5_0, Mix::kPure, 8},
    WeightScheme{"Q5_1", TensorType::kQ5_1, Mix::kPure, 9},
    WeightScheme{"Q4_K", TensorType::kQ4_K, Mix::kPure, 14},
    WeightScheme{"Q5_K", TensorType::kQ5_K, Mix::kPure, 16},
    WeightScheme{"Q6_K", TensorType::kQ6_K, Mix::kPure, 18},
    WeightScheme{"IQ4_NL", TensorType::kIQ4_NL, Mix::kPure, 25},
    // 38 is MXFP4_MOE, the label of gpt-oss files (experts in MXFP4); here every matrix is.
    WeightScheme{"MXFP4", TensorType::kMXFP4, Mix::kPure, 38},
    WeightScheme{"Q4_K_M", TensorType::kQ4_K, Mix::kKQuantMedium, 15},
    WeightScheme{"Q5_K_M", TensorType::kQ5_K, Mix::kKQuantMedium, 17},
};

bool same_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// The *_K_M rules, before the row-length fallback. Only what applies to Q4_K_M and Q5_K_M is
// here; llama.cpp's 70B-only and Falcon-only branches concern no shape we synthesize.
TensorType k_medium_type(const WeightScheme& scheme, const MatrixSite& site, const ModelFacts& model) {
  // Mixtral-style models with exactly 8 experts get wider attention tensors.
  const bool eight_experts = model.n_expert == 8;
  switch (site.role) {
    case MatrixRole::kOutput:
      return site.row_length % 256 == 0 ? TensorType::kQ6_K : TensorType::kQ8_0;
    case MatrixRole::kTokenEmbd:
      // Tied embeddings are the output projection too, and are quantized as such.
      if (model.tied_embeddings) return site.row_length % 256 == 0 ? TensorType::kQ6_K : TensorType::kQ8_0;
      return scheme.base;
    case MatrixRole::kAttnV:
      if (eight_experts) return TensorType::kQ8_0;
      return use_more_bits(site.layer, model.n_layer) ? TensorType::kQ6_K : scheme.base;
    case MatrixRole::kAttnK:
      return eight_experts ? TensorType::kQ8_0 : scheme.base;
    case MatrixRole::kAttnOutput:
      return eight_experts && scheme.base == TensorType::kQ4_K ? TensorType::kQ5_K : scheme.base;
    case MatrixRole::kFfnDown:
    case MatrixRole::kDownExps:
      return use_more_bits(site.layer, model.n_layer) ? TensorType::kQ6_K : scheme.base;
    default:
      return scheme.base;
  }
}

}  // namespace

std::span<const WeightScheme> all_schemes() {
  return kSchemes;
}

std::string scheme_names() {
  std::string names;
  for (const auto& s : kSchemes) names += (names.empty() ? "" : ", ") + std::string(s.name);
  return names;
}

Result<WeightScheme> find_scheme(std::string_view name) {
  for (const auto& s : kSchemes) {
    if (same_ignoring_case(s.name, name)) return s;
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown type '" + std::string(name) + "' (valid types: " + scheme_names() + ")");
}

bool use_more_bits(std::uint32_t layer, std::uint32_t n_layer) {
  const auto i = static_cast<std::int64_t>(layer), n = static_cast<std::int64_t>(n_layer);
  return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

TensorType fallback_type(TensorType wanted, std::uint64_t row_length) {
  if (row_length % tensor::traits_of(wanted).block_size == 0) return wanted;
  TensorType next = TensorType::kF16;
  switch (wanted) {
    case TensorType::kQ4_K:
      next = TensorType::kQ5_0;
      break;
    case TensorType::kQ5_K:
      next = TensorType::kQ5_1;
      break;
    case TensorType::kQ6_K:
      next = TensorType::kQ8_0;
      break;
    default:
      break;  // a 32-value block that does not fit either
  }
  return row_length % tensor::traits_of(next).block_size == 0 ? next : TensorType::kF16;
}

TensorType choose_type(const WeightScheme& scheme, const MatrixSite& site, const ModelFacts& model) {
  if (site.role == MatrixRole::kRouter)
    return TensorType::kF32;  // converters keep it F32; quantizers skip it
  const TensorType wanted = scheme.mix == Mix::kPure ? scheme.base : k_medium_type(scheme, site, model);
  return fallback_type(wanted, site.row_length);
}

}  // namespace pensieve::synth
