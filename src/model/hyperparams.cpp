#include "model/hyperparams.hpp"

#include <cmath>
#include <limits>
#include <optional>

#include "core/printable.hpp"

namespace pensieve::model {
namespace {

// Bounds that no real model approaches; they keep products of dimensions far from overflow
// before tensor shapes (bounded by the file's size) confirm them.
constexpr std::uint64_t kMaxDimension = 1u << 20;
constexpr std::uint64_t kMaxLayers = 4096;
constexpr std::uint64_t kMaxHeads = 4096;

class MetadataReader {
 public:
  MetadataReader(const gguf::Contents& contents, std::string prefix)
      : contents_(contents), prefix_(std::move(prefix)) {}

  std::string key(std::string_view suffix) const { return prefix_ + "." + std::string(suffix); }

  Result<std::optional<std::uint32_t>> optional_uint(std::string_view suffix, std::uint64_t max) const {
    const std::string k = key(suffix);
    auto v = contents_.get_uint(k);
    if (!v) return v.error();
    if (!v->has_value()) return std::optional<std::uint32_t>{};
    if (**v > max) {
      return make_error(ErrorCode::kInvalidFormat, "metadata key " + k + " = " + std::to_string(**v) +
                                                       " exceeds the limit of " + std::to_string(max));
    }
    return std::optional<std::uint32_t>{static_cast<std::uint32_t>(**v)};
  }

  Result<std::uint32_t> required_uint(std::string_view suffix, std::uint64_t max) const {
    auto v = optional_uint(suffix, max);
    if (!v) return v.error();
    if (!v->has_value()) return missing(suffix);
    return **v;
  }

  Result<std::optional<double>> optional_float(std::string_view suffix) const {
    const std::string k = key(suffix);
    auto v = contents_.get_float(k);
    if (!v) return v.error();
    if (v->has_value() && !std::isfinite(**v)) {
      return make_error(ErrorCode::kInvalidFormat, "metadata key " + k + " is not a finite number");
    }
    return *v;
  }

  Error missing(std::string_view suffix) const {
    return make_error(ErrorCode::kInvalidFormat, "required metadata key " + key(suffix) + " is missing");
  }

 private:
  const gguf::Contents& contents_;
  std::string prefix_;
};

Error inconsistent(const std::string& what) {
  return make_error(ErrorCode::kInvalidFormat, what);
}

}  // namespace

Result<Hyperparams> read_hyperparams(const gguf::Contents& contents) {
  auto arch_name = contents.get_string("general.architecture");
  if (!arch_name) return arch_name.error();
  if (!arch_name->has_value()) {
    return make_error(ErrorCode::kInvalidFormat, "required metadata key general.architecture is missing");
  }
  const auto arch = find_architecture(**arch_name);
  if (!arch) {
    return make_error(ErrorCode::kUnsupported, "architecture '" + core::printable(**arch_name) +
                                                   "' is not supported (supported: " +
                                                   std::string(supported_architecture_names()) + ")");
  }

  Hyperparams hp;
  hp.architecture = arch->architecture;
  hp.architecture_name = std::string(arch->name);
  hp.rope_style = arch->rope_style;
  const MetadataReader md(contents, hp.architecture_name);

#define PENSIEVE_ASSIGN(lhs, expr)                        \
  do {                                                    \
    auto pensieve_value_ = (expr);                        \
    if (!pensieve_value_) return pensieve_value_.error(); \
    lhs = *pensieve_value_;                               \
  } while (0)

  PENSIEVE_ASSIGN(hp.n_embd, md.required_uint("embedding_length", kMaxDimension));
  PENSIEVE_ASSIGN(hp.n_layer, md.required_uint("block_count", kMaxLayers));
  PENSIEVE_ASSIGN(hp.n_head, md.required_uint("attention.head_count", kMaxHeads));
  std::optional<std::uint32_t> u;
  PENSIEVE_ASSIGN(u, md.optional_uint("attention.head_count_kv", kMaxHeads));
  hp.n_head_kv = u.value_or(hp.n_head);
  if (hp.n_embd == 0 || hp.n_layer == 0 || hp.n_head == 0 || hp.n_head_kv == 0) {
    return inconsistent(md.key("embedding_length") + ", " + md.key("block_count") + ", " +
                        md.key("attention.head_count") + " and " + md.key("attention.head_count_kv") +
                        " must all be positive");
  }
  if (hp.n_head % hp.n_head_kv != 0) {
    return inconsistent(md.key("attention.head_count") + " = " + std::to_string(hp.n_head) +
                        " is not a multiple of " + md.key("attention.head_count_kv") + " = " +
                        std::to_string(hp.n_head_kv));
  }
  const std::uint32_t default_head_dim = hp.n_embd / hp.n_head;
  PENSIEVE_ASSIGN(u, md.optional_uint("attention.key_length", kMaxDimension));
  hp.head_dim_k = u.value_or(default_head_dim);
  PENSIEVE_ASSIGN(u, md.optional_uint("attention.value_length", kMaxDimension));
  hp.head_dim_v = u.value_or(default_head_dim);
  if (hp.head_dim_k == 0 || hp.head_dim_v == 0) {
    return inconsistent("head dimension is zero: set " + md.key("attention.key_length") + " / " +
                        md.key("attention.value_length") + " or make " + md.key("embedding_length") +
                        " at least " + md.key("attention.head_count"));
  }

  PENSIEVE_ASSIGN(u, md.optional_uint("feed_forward_length", kMaxDimension));
  hp.n_ff = u.value_or(0);
  PENSIEVE_ASSIGN(u, md.optional_uint("context_length", std::numeric_limits<std::uint32_t>::max()));
  hp.n_ctx_train = u.value_or(0);

  PENSIEVE_ASSIGN(u, md.optional_uint("rope.dimension_count", kMaxDimension));
  hp.n_rot = u.value_or(hp.head_dim_k);
  if (hp.n_rot % 2 != 0 || hp.n_rot > hp.head_dim_k) {
    return inconsistent(md.key("rope.dimension_count") + " = " + std::to_string(hp.n_rot) +
                        " must be even and at most the head dimension " + std::to_string(hp.head_dim_k));
  }
  std::optional<double> f;
  PENSIEVE_ASSIGN(f, md.optional_float("rope.freq_base"));
  hp.rope_freq_base = f.value_or(10000.0);
  if (hp.rope_freq_base <= 1.0) {
    return inconsistent(md.key("rope.freq_base") + " must be greater than 1");
  }

  // RoPE scaling: "linear" stretches positions; other kinds change frequencies in ways this
  // engine does not implement yet, and running without them would give wrong answers quietly.
  auto scaling_type = contents.get_string(md.key("rope.scaling.type"));
  if (!scaling_type) return scaling_type.error();
  std::optional<double> scaling_factor;
  PENSIEVE_ASSIGN(scaling_factor, md.optional_float("rope.scaling.factor"));
  std::optional<double> scale_linear;
  PENSIEVE_ASSIGN(scale_linear, md.optional_float("rope.scale_linear"));
  const std::string_view kind = scaling_type->value_or(scale_linear ? "linear" : "none");
  if (kind == "linear") {
    hp.rope_scaling = RopeScaling::kLinear;
    hp.rope_scaling_factor = scaling_factor.value_or(scale_linear.value_or(1.0));
    if (hp.rope_scaling_factor <= 0.0) {
      return inconsistent(md.key("rope.scaling.factor") + " must be positive for linear RoPE scaling");
    }
  } else if (kind == "yarn") {
    hp.rope_scaling = RopeScaling::kYarn;
    if (!scaling_factor || *scaling_factor < 1.0) {
      return inconsistent(md.key("rope.scaling.factor") + " must be given and at least 1 for YaRN");
    }
    hp.rope_scaling_factor = *scaling_factor;
    hp.yarn.factor = *scaling_factor;
    PENSIEVE_ASSIGN(u, md.optional_uint("rope.scaling.original_context_length",
                                        std::numeric_limits<std::uint32_t>::max()));
    if (!u || *u == 0) return md.missing("rope.scaling.original_context_length");
    hp.yarn.original_context = *u;
    PENSIEVE_ASSIGN(f, md.optional_float("rope.scaling.yarn_beta_fast"));
    hp.yarn.beta_fast = f.value_or(32.0);
    PENSIEVE_ASSIGN(f, md.optional_float("rope.scaling.yarn_beta_slow"));
    hp.yarn.beta_slow = f.value_or(1.0);
    if (hp.yarn.beta_fast <= 0.0 || hp.yarn.beta_slow <= 0.0) {
      return inconsistent(md.key("rope.scaling.yarn_beta_fast") + " and " +
                          md.key("rope.scaling.yarn_beta_slow") + " must be positive");
    }
    PENSIEVE_ASSIGN(f, md.optional_float("rope.scaling.attn_factor"));
    hp.yarn.attention_factor = f.value_or(1.0);
    if (hp.yarn.attention_factor <= 0.0)
      return inconsistent(md.key("rope.scaling.attn_factor") + " must be positive");
    hp.yarn.truncate = arch->yarn_truncate;
  } else if (kind != "none" && !(scaling_factor && *scaling_factor == 1.0)) {
    return make_error(ErrorCode::kUnsupported,
                      md.key("rope.scaling.type") + " '" + std::string(kind) + "' is not supported yet");
  }

  PENSIEVE_ASSIGN(f, md.optional_float("attention.layer_norm_rms_epsilon"));
  if (!f) return md.missing("attention.layer_norm_rms_epsilon");
  if (*f <= 0.0 || *f >= 1.0) {
    return inconsistent(md.key("attention.layer_norm_rms_epsilon") + " must lie in (0, 1)");
  }
  hp.rms_norm_eps = static_cast<float>(*f);

  hp.sliding_period = arch->sliding_period;
  hp.gemma_block = hp.architecture == Architecture::kGemma3;
  if (hp.gemma_block) {
    PENSIEVE_ASSIGN(f, md.optional_float("rope.freq_base_swa"));
    hp.rope_freq_base_sliding = f.value_or(10000.0);
    if (hp.rope_freq_base_sliding <= 1.0)
      return inconsistent(md.key("rope.freq_base_swa") + " must be greater than 1");
  }
  if (hp.architecture == Architecture::kPhi3 || hp.sliding_period != 0) {
    PENSIEVE_ASSIGN(u,
                    md.optional_uint("attention.sliding_window", std::numeric_limits<std::uint32_t>::max()));
    if (hp.sliding_period != 0 && (!u || *u == 0)) return md.missing("attention.sliding_window");
    hp.sliding_window = u.value_or(0);
  }

  if (arch->mixture_of_experts) {
    PENSIEVE_ASSIGN(hp.n_expert, md.required_uint("expert_count", 1u << 16));
    PENSIEVE_ASSIGN(hp.n_expert_used, md.required_uint("expert_used_count", 1u << 16));
    PENSIEVE_ASSIGN(hp.n_ff_expert, md.required_uint("expert_feed_forward_length", kMaxDimension));
    if (hp.n_expert == 0 || hp.n_expert_used == 0 || hp.n_expert_used > hp.n_expert || hp.n_ff_expert == 0) {
      return inconsistent(md.key("expert_used_count") + " = " + std::to_string(hp.n_expert_used) +
                          " must lie in [1, " + md.key("expert_count") + " = " + std::to_string(hp.n_expert) +
                          "], and " + md.key("expert_feed_forward_length") + " must be positive");
    }
    // Every block's feed-forward is the experts; a dense width in the metadata describes nothing.
    hp.n_ff = 0;
  } else if (hp.n_ff == 0) {
    return md.missing("feed_forward_length");
  }
#undef PENSIEVE_ASSIGN

  const gguf::TensorInfo* embd = contents.find_tensor("token_embd.weight");
  if (embd == nullptr) {
    return make_error(ErrorCode::kInvalidFormat, "tensor token_embd.weight is missing");
  }
  if (embd->n_dims != 2 || embd->dims[0] != hp.n_embd || embd->dims[1] == 0 ||
      embd->dims[1] > std::numeric_limits<std::int32_t>::max()) {
    return inconsistent("tensor token_embd.weight has shape [" + std::to_string(embd->dims[0]) + ", " +
                        std::to_string(embd->dims[1]) + "]; expected [" + std::to_string(hp.n_embd) + " (" +
                        md.key("embedding_length") + "), n_vocab]");
  }
  hp.n_vocab = static_cast<std::uint32_t>(embd->dims[1]);
  return hp;
}

}  // namespace pensieve::model
