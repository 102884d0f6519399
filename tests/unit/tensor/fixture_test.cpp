// Real-data check of the dequantizers: each quantized fixture model was made by an established
// engine from the same float16-exact weights as its -f16 sibling, so dequantizing any tensor must
// land within that type's quantization step of the f16 tensor.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "gguf/reader.hpp"
#include "tensor/dequantize.hpp"
#include "tensor/quantize.hpp"

namespace pensieve::tensor {
namespace {

const std::string kModels = std::string(PENSIEVE_FIXTURES) + "/models";

std::vector<float> decode(const gguf::TensorInfo& t) {
  std::vector<float> out(t.element_count);
  dequantize(t.type, t.data.data(), out.data(), out.size());
  return out;
}

// How a type's step size follows from the values of one group sharing a scale, and how many steps
// an error may reach. Symmetric types span [-absmax, absmax]; the K types with a minimum span
// [min(lo, 0), max(hi, 0)]. The bounds allow for the fp16/6-bit rounding of the scales and for the
// clipping of the extreme value in the _0 types; a wrong bit layout scores several steps.
struct StepRule {
  std::size_t group;        // values sharing one scale
  bool with_min;            // asymmetric (scale and minimum) or symmetric
  double steps_in_range;    // distinct steps across the range
  double max_error_steps;   // worst allowed |error| in steps
  double max_relative_rms;  // allowed rms(error) / rms(values) over a whole tensor
};

const std::map<TensorType, StepRule> kRules = {
    {TensorType::kQ8_0, {32, false, 254, 0.6, 0.008}},
    {TensorType::kQ4_0, {32, false, 15, 1.05, 0.1}},
    {TensorType::kQ4_K, {32, true, 15, 1.5, 0.09}},
    {TensorType::kQ5_K, {32, true, 31, 1.5, 0.05}},
    {TensorType::kQ6_K, {16, false, 63, 1.0, 0.025}},
};

struct Comparison {
  double worst_error_steps = 0;
  double relative_rms = 0;
};

Comparison compare(const std::vector<float>& got, const std::vector<float>& want, const StepRule& rule) {
  Comparison c;
  double sum_sq_err = 0, sum_sq_ref = 0;
  for (std::size_t g = 0; g < got.size(); g += rule.group) {
    float lo = 0, hi = 0, err = 0;
    for (std::size_t j = g; j < g + rule.group; ++j) {
      lo = std::min(lo, want[j]);
      hi = std::max(hi, want[j]);
      err = std::max(err, std::fabs(got[j] - want[j]));
      sum_sq_err += static_cast<double>(got[j] - want[j]) * (got[j] - want[j]);
      sum_sq_ref += static_cast<double>(want[j]) * want[j];
    }
    const double range = rule.with_min ? hi - lo : 2.0 * std::max(-lo, hi);
    const double step = range / rule.steps_in_range;
    if (step > 0) c.worst_error_steps = std::max(c.worst_error_steps, err / step);
    else if (err > 0) c.worst_error_steps = INFINITY;
  }
  c.relative_rms = std::sqrt(sum_sq_err / sum_sq_ref);
  return c;
}

struct FilePair {
  std::string quantized;
  std::string base;
};

// Every quantized fixture with its float16 sibling (same family prefix).
// Files of architectures the engine does not load yet (the manifest's pending_models) may use types
// that have no codec yet either; they join this test when they move into 'models'.
std::set<std::string> pending_files() {
  std::ifstream in(kModels + "/manifest.json");
  const auto manifest = nlohmann::json::parse(in);
  std::set<std::string> files;
  const nlohmann::json pending = manifest.value("pending_models", nlohmann::json::object());
  for (const auto& entry : pending) {
    for (const auto& file : entry.at("files").items()) files.insert(file.key());
  }
  return files;
}

std::vector<FilePair> quantized_fixtures() {
  std::vector<FilePair> pairs;
  const std::set<std::string> pending = pending_files();
  for (const auto& entry : std::filesystem::directory_iterator(kModels)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".gguf" || pending.count(name) != 0) continue;
    const std::string family = name.substr(0, name.rfind('-'));
    const std::string suffix = name.substr(family.size());
    if (suffix == "-f16.gguf" || suffix == "-f32.gguf") continue;
    pairs.push_back({entry.path().string(), kModels + "/" + family + "-f16.gguf"});
  }
  std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return a.quantized < b.quantized; });
  return pairs;
}

TEST(FixtureDequantize, EveryQuantizedTensorIsWithinItsStepOfTheF16Weights) {
  std::map<TensorType, int> checked;
  const auto pairs = quantized_fixtures();
  ASSERT_GE(pairs.size(), 10u);
  for (const auto& pair : pairs) {
    auto quant = gguf::File::open(pair.quantized);
    auto base = gguf::File::open(pair.base);
    ASSERT_TRUE(quant.ok()) << pair.quantized;
    ASSERT_TRUE(base.ok()) << pair.base;
    for (const auto& t : quant->contents().tensors) {
      SCOPED_TRACE(pair.quantized + ": " + std::string(t.name) + " (" + std::string(name_of(t.type)) + ")");
      const auto* ref = base->contents().find_tensor(t.name);
      ASSERT_NE(ref, nullptr);
      ASSERT_EQ(ref->dims, t.dims);
      ASSERT_TRUE(can_dequantize(t.type));
      const auto got = decode(t);
      const auto want = decode(*ref);
      // The gpt-oss fixture's MXFP4 experts are exactly representable (see FixtureMxfp4 below),
      // so they too must decode to the f16 values, once gpt-oss leaves pending_models.
      if (t.type == TensorType::kF32 || t.type == TensorType::kF16 || t.type == TensorType::kMXFP4) {
        EXPECT_EQ(got, want);
      } else {
        const auto rule = kRules.find(t.type);
        ASSERT_NE(rule, kRules.end()) << "no step rule for this type";
        const Comparison c = compare(got, want, rule->second);
        EXPECT_LE(c.worst_error_steps, rule->second.max_error_steps);
        EXPECT_LE(c.relative_rms, rule->second.max_relative_rms);
      }
      ++checked[t.type];
    }
  }
  EXPECT_GT(checked[TensorType::kQ8_0], 0);
  EXPECT_GT(checked[TensorType::kQ4_0], 0);
  EXPECT_GT(checked[TensorType::kQ4_K], 0);
  EXPECT_GT(checked[TensorType::kQ5_K], 0);
  EXPECT_GT(checked[TensorType::kQ6_K], 0);
}

double relative_rms(const std::vector<float>& got, const std::vector<float>& want) {
  double err = 0, ref = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    err += static_cast<double>(got[i] - want[i]) * (got[i] - want[i]);
    ref += static_cast<double>(want[i]) * want[i];
  }
  return std::sqrt(err / ref);
}

// Our reference quantizers, fed the same f16 weights, must come close to the established engine's
// error on every tensor (they use plainer scale choices, so a little worse is expected). The qwen3
// files hold every quantized type of the fixtures; the other families would only add run time.
TEST(FixtureQuantize, ErrorComparableToTheEstablishedQuantizer) {
  std::map<TensorType, int> checked;
  for (const auto& pair : quantized_fixtures()) {
    if (std::filesystem::path(pair.quantized).filename().string().rfind("qwen3", 0) != 0) continue;
    auto quant = gguf::File::open(pair.quantized);
    auto base = gguf::File::open(pair.base);
    ASSERT_TRUE(quant.ok() && base.ok()) << pair.quantized;
    for (const auto& t : quant->contents().tensors) {
      if (t.type == TensorType::kF32 || t.type == TensorType::kF16) continue;
      SCOPED_TRACE(pair.quantized + ": " + std::string(t.name) + " (" + std::string(name_of(t.type)) + ")");
      ASSERT_TRUE(can_quantize(t.type));
      const auto* ref = base->contents().find_tensor(t.name);
      ASSERT_NE(ref, nullptr);
      const auto want = decode(*ref);
      std::vector<std::uint8_t> ours(t.data.size());
      quantize(t.type, want.data(), ours.data(), want.size());
      std::vector<float> got(want.size());
      dequantize(t.type, ours.data(), got.data(), got.size());
      EXPECT_LE(relative_rms(got, want), 1.2 * relative_rms(decode(t), want));
      ++checked[t.type];
    }
  }
  EXPECT_EQ(checked.size(), 5u);  // Q8_0, Q4_0, Q4_K, Q5_K, Q6_K
}

}  // namespace
}  // namespace pensieve::tensor

namespace pensieve::tensor {
namespace {

// gpt-oss ships its expert weights in MXFP4. The fixture's weights are exactly representable in
// it, so its MXFP4 file must decode to the very bits of the f16 file's tensors, and our quantizer,
// fed those f16 weights, must find an encoding that decodes to them too.
struct Mxfp4Pair {
  Result<gguf::File> quantized = gguf::File::open(kModels + "/gpt-oss-mxfp4.gguf");
  Result<gguf::File> base = gguf::File::open(kModels + "/gpt-oss-f16.gguf");

  struct Tensors {
    const gguf::TensorInfo* mxfp4;
    const gguf::TensorInfo* f16;  // the same tensor in the f16 file, or null
  };
  // Every MXFP4 tensor of the quantized file with its counterpart.
  std::vector<Tensors> mxfp4_tensors() const {
    std::vector<Tensors> out;
    for (const auto& t : quantized->contents().tensors) {
      if (t.type == TensorType::kMXFP4) out.push_back({&t, base->contents().find_tensor(t.name)});
    }
    return out;
  }
};

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(FixtureMxfp4, ExpertTensorsDecodeToTheBitsOfTheF16Weights) {
  const Mxfp4Pair files;
  ASSERT_TRUE(files.quantized.ok() && files.base.ok());
  const auto tensors = files.mxfp4_tensors();
  EXPECT_EQ(tensors.size(), 6u);  // gate, up and down experts of both layers
  for (const auto& [t, ref] : tensors) {
    SCOPED_TRACE(std::string(t->name));
    EXPECT_NE(std::string(t->name).find("_exps.weight"), std::string::npos) << "only experts are MXFP4";
    ASSERT_NE(ref, nullptr);
    ASSERT_EQ(ref->dims, t->dims);
    ASSERT_EQ(ref->type, TensorType::kF16);
    ASSERT_TRUE(same_bits(decode(*t), decode(*ref)));
  }
}

TEST(FixtureMxfp4, QuantizingTheF16WeightsGivesBackTheirBits) {
  const Mxfp4Pair files;
  ASSERT_TRUE(files.quantized.ok() && files.base.ok());
  const auto tensors = files.mxfp4_tensors();
  EXPECT_EQ(tensors.size(), 6u);
  for (const auto& [t, ref] : tensors) {
    SCOPED_TRACE(std::string(t->name));
    ASSERT_NE(ref, nullptr);
    const auto want = decode(*ref);
    std::vector<std::uint8_t> ours(t->data.size());
    quantize(TensorType::kMXFP4, want.data(), ours.data(), want.size());
    std::vector<float> got(want.size());
    dequantize(TensorType::kMXFP4, ours.data(), got.data(), got.size());
    ASSERT_TRUE(same_bits(got, want));
  }
}

}  // namespace
}  // namespace pensieve::tensor
