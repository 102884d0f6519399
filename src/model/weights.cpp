#include "model/weights.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

#include "core/printable.hpp"
#include "tensor/dequantize.hpp"

namespace pensieve::model {
namespace {

std::string shape_string(const gguf::TensorInfo& t) {
  std::string s = "[";
  for (std::uint32_t d = 0; d < t.n_dims; ++d) s += (d ? ", " : "") + std::to_string(t.dims[d]);
  return s + "]";
}

std::string shape_string(std::initializer_list<std::uint64_t> dims) {
  std::string s = "[";
  const char* sep = "";
  for (auto d : dims) {
    s += sep + std::to_string(d);
    sep = ", ";
  }
  return s + "]";
}

class Binder {
 public:
  Binder(const gguf::Contents& contents, std::uint64_t& bytes, WeightCopies* copies,
         const BindProgress& progress)
      : contents_(contents), bytes_(bytes), copies_(copies), progress_(progress) {
    for (const auto& t : contents.tensors) total_ += t.data.size();
  }

  // Tensors the architecture does not use leave the count short of the total.
  void report_done() const {
    if (progress_ && bytes_ < total_) progress_(total_, total_);
  }

  bool has(const std::string& name) const { return contents_.find_tensor(name) != nullptr; }

  // How a forward pass reads a matrix: every row every pass, or a row a token (an embedding).
  enum class Use { kStreamed, kLookedUp };

  // A matrix stored as dims [cols, rows] (ggml order), or [cols, rows, stack] for expert stacks.
  Result<WeightMatrix> matrix(const std::string& name, std::initializer_list<std::uint64_t> dims,
                              Use use = Use::kStreamed) const {
    const gguf::TensorInfo* t = contents_.find_tensor(name);
    if (t == nullptr) return make_error(ErrorCode::kInvalidFormat, "tensor " + name + " is missing");
    PENSIEVE_TRY(check_shape(*t, dims));
    if (!tensor::can_dequantize(t->type)) {
      return make_error(ErrorCode::kUnsupported, "tensor " + name + " has type " +
                                                     std::string(tensor::name_of(t->type)) +
                                                     ", which this engine cannot compute with yet");
    }
    const std::uint64_t cols = t->dims[0];
    const auto row_bytes = tensor::bytes_for(t->type, cols);
    if (!row_bytes) {
      return make_error(ErrorCode::kInvalidFormat, "tensor " + name + " has rows of " + std::to_string(cols) +
                                                       " values, not a whole number of " +
                                                       std::string(tensor::name_of(t->type)) + " blocks");
    }
    WeightMatrix m{t->type, t->data.data(), static_cast<std::size_t>(t->row_count()),
                   static_cast<std::size_t>(cols), static_cast<std::size_t>(*row_bytes)};
    if (copies_ != nullptr && use == Use::kStreamed) {
      if (copies_->wants_repacked(t->type)) {
        if (auto repacked = copies_->repack(m, t->data); !repacked)
          return repacked.error().with_context(name);
      } else {
        copies_->copy_rows(m, t->data);
      }
    }
    bound(t->data.size());
    return m;
  }

  // A 1-D float32 tensor of n values (norm weights, biases, rope factors).
  Result<const float*> vector(const std::string& name, std::uint64_t n) const { return floats(name, {n}); }

  // A float32 tensor of these dims, read as one array (stacked biases).
  Result<const float*> floats(const std::string& name, std::initializer_list<std::uint64_t> dims) const {
    const gguf::TensorInfo* t = contents_.find_tensor(name);
    if (t == nullptr) return make_error(ErrorCode::kInvalidFormat, "tensor " + name + " is missing");
    PENSIEVE_TRY(check_shape(*t, dims));
    if (t->type != tensor::TensorType::kF32) {
      return make_error(ErrorCode::kUnsupported, "tensor " + name + " has type " +
                                                     std::string(tensor::name_of(t->type)) +
                                                     "; norm weights, biases and factors must be F32");
    }
    if (reinterpret_cast<std::uintptr_t>(t->data.data()) % alignof(float) != 0) {
      return make_error(ErrorCode::kInvalidFormat, "tensor " + name + " data is not 4-byte aligned");
    }
    bound(t->data.size());
    if (copies_ != nullptr) return copies_->copy_vector(t->data);
    return reinterpret_cast<const float*>(t->data.data());
  }

  Result<const float*> optional_vector(const std::string& name, std::uint64_t n) const {
    if (!has(name)) return static_cast<const float*>(nullptr);
    return vector(name, n);
  }

 private:
  void bound(std::uint64_t n) const {
    bytes_ += n;
    if (progress_) progress_(std::min(bytes_, total_), total_);
  }

  static Status check_shape(const gguf::TensorInfo& t, std::initializer_list<std::uint64_t> dims) {
    bool ok = t.n_dims == dims.size();
    std::uint32_t d = 0;
    for (auto expected : dims) ok = ok && t.dims[d++] == expected;
    if (ok) return {};
    return make_error(ErrorCode::kInvalidFormat, "tensor " + core::printable(t.name) + " has shape " +
                                                     shape_string(t) + "; the hyperparameters expect " +
                                                     shape_string(dims));
  }

  const gguf::Contents& contents_;
  std::uint64_t& bytes_;
  WeightCopies* copies_;
  const BindProgress& progress_;
  std::uint64_t total_ = 0;
};

#define PENSIEVE_BIND(lhs, expr)                          \
  do {                                                    \
    auto pensieve_bound_ = (expr);                        \
    if (!pensieve_bound_) return pensieve_bound_.error(); \
    lhs = *pensieve_bound_;                               \
  } while (0)

Status bind_attention(const Binder& b, const Hyperparams& hp, const std::string& p, LayerWeights& l) {
  const std::uint64_t e = hp.n_embd;
  PENSIEVE_BIND(l.attn_norm, b.vector(p + "attn_norm.weight", e));
  if (b.has(p + "attn_qkv.weight")) {
    WeightMatrix qkv;
    PENSIEVE_BIND(qkv, b.matrix(p + "attn_qkv.weight", {e, hp.q_dim() + hp.k_dim() + hp.v_dim()}));
    l.wq = qkv.slice_rows(0, hp.q_dim());
    l.wk = qkv.slice_rows(hp.q_dim(), hp.k_dim());
    l.wv = qkv.slice_rows(hp.q_dim() + hp.k_dim(), hp.v_dim());
  } else {
    PENSIEVE_BIND(l.wq, b.matrix(p + "attn_q.weight", {e, hp.q_dim()}));
    PENSIEVE_BIND(l.wk, b.matrix(p + "attn_k.weight", {e, hp.k_dim()}));
    PENSIEVE_BIND(l.wv, b.matrix(p + "attn_v.weight", {e, hp.v_dim()}));
  }
  PENSIEVE_BIND(l.bq, b.optional_vector(p + "attn_q.bias", hp.q_dim()));
  PENSIEVE_BIND(l.bk, b.optional_vector(p + "attn_k.bias", hp.k_dim()));
  PENSIEVE_BIND(l.bv, b.optional_vector(p + "attn_v.bias", hp.v_dim()));
  if (hp.architecture == Architecture::kQwen3 || hp.architecture == Architecture::kQwen3Moe ||
      hp.gemma_block) {
    PENSIEVE_BIND(l.q_norm, b.vector(p + "attn_q_norm.weight", hp.head_dim_k));
    PENSIEVE_BIND(l.k_norm, b.vector(p + "attn_k_norm.weight", hp.head_dim_k));
  }
  PENSIEVE_BIND(l.wo, b.matrix(p + "attn_output.weight", {hp.attn_out_dim(), e}));
  if (hp.gemma_block) PENSIEVE_BIND(l.attn_post_norm, b.vector(p + "post_attention_norm.weight", e));
  if (hp.architecture == Architecture::kGptOss) {
    PENSIEVE_BIND(l.bo, b.vector(p + "attn_output.bias", e));
    PENSIEVE_BIND(l.sinks, b.vector(p + "attn_sinks.weight", hp.n_head));
  }
  return {};
}

Status bind_feed_forward(const Binder& b, const Hyperparams& hp, const std::string& p, LayerWeights& l) {
  const std::uint64_t e = hp.n_embd;
  // gpt-oss's converter names the norm before the experts after the attention it follows.
  const bool gpt_oss = hp.architecture == Architecture::kGptOss;
  PENSIEVE_BIND(l.ffn_norm, b.vector(p + (gpt_oss ? "post_attention_norm.weight" : "ffn_norm.weight"), e));
  if (hp.is_moe()) {
    const std::uint64_t n = hp.n_expert;
    const std::uint64_t f = hp.n_ff_expert;
    PENSIEVE_BIND(l.router, b.matrix(p + "ffn_gate_inp.weight", {e, n}));
    PENSIEVE_BIND(l.gate_exps, b.matrix(p + "ffn_gate_exps.weight", {e, f, n}));
    PENSIEVE_BIND(l.up_exps, b.matrix(p + "ffn_up_exps.weight", {e, f, n}));
    PENSIEVE_BIND(l.down_exps, b.matrix(p + "ffn_down_exps.weight", {f, e, n}));
    if (gpt_oss) {
      PENSIEVE_BIND(l.router_bias, b.vector(p + "ffn_gate_inp.bias", n));
      PENSIEVE_BIND(l.gate_exps_bias, b.floats(p + "ffn_gate_exps.bias", {f, n}));
      PENSIEVE_BIND(l.up_exps_bias, b.floats(p + "ffn_up_exps.bias", {f, n}));
      PENSIEVE_BIND(l.down_exps_bias, b.floats(p + "ffn_down_exps.bias", {e, n}));
    }
    return {};
  }
  if (hp.architecture == Architecture::kPhi3) {
    // gate and up share one tensor: gate rows first, then up rows.
    WeightMatrix gate_up;
    PENSIEVE_BIND(gate_up, b.matrix(p + "ffn_up.weight", {e, 2ull * hp.n_ff}));
    l.ffn_gate = gate_up.slice_rows(0, hp.n_ff);
    l.ffn_up = gate_up.slice_rows(hp.n_ff, hp.n_ff);
  } else {
    PENSIEVE_BIND(l.ffn_gate, b.matrix(p + "ffn_gate.weight", {e, hp.n_ff}));
    PENSIEVE_BIND(l.ffn_up, b.matrix(p + "ffn_up.weight", {e, hp.n_ff}));
  }
  PENSIEVE_BIND(l.ffn_down, b.matrix(p + "ffn_down.weight", {hp.n_ff, e}));
  if (hp.gemma_block) PENSIEVE_BIND(l.ffn_post_norm, b.vector(p + "post_ffw_norm.weight", e));
  return {};
}

}  // namespace

Result<Weights> bind_weights(const gguf::Contents& contents, const Hyperparams& hp, WeightCopies* copies,
                             const BindProgress& progress) {
  Weights w;
  const Binder b(contents, w.bytes, copies, progress);
  // Tied embeddings are streamed as the output projection too.
  const bool tied = !b.has("output.weight");
  PENSIEVE_BIND(w.token_embd, b.matrix("token_embd.weight", {hp.n_embd, hp.n_vocab},
                                       tied ? Binder::Use::kStreamed : Binder::Use::kLookedUp));
  PENSIEVE_BIND(w.output_norm, b.vector("output_norm.weight", hp.n_embd));
  if (tied) {
    w.output = w.token_embd;
  } else {
    PENSIEVE_BIND(w.output, b.matrix("output.weight", {hp.n_embd, hp.n_vocab}));
  }
  PENSIEVE_BIND(w.rope_freqs, b.optional_vector("rope_freqs.weight", hp.n_rot / 2));
  if (hp.architecture == Architecture::kPhi3 &&
      (b.has("rope_factors_long.weight") || b.has("rope_factors_short.weight"))) {
    return make_error(ErrorCode::kUnsupported,
                      "phi3 LongRoPE (rope_factors_long/short) is not supported yet");
  }
  w.layers.resize(hp.n_layer);
  for (std::uint32_t i = 0; i < hp.n_layer; ++i) {
    const std::string prefix = "blk." + std::to_string(i) + ".";
    PENSIEVE_TRY(bind_attention(b, hp, prefix, w.layers[i]));
    PENSIEVE_TRY(bind_feed_forward(b, hp, prefix, w.layers[i]));
  }
  if (copies != nullptr) w.copy_storage = copies->take_storage();
  b.report_done();
  return w;
}

#undef PENSIEVE_BIND

}  // namespace pensieve::model
