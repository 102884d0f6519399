#include "synth/tensor_plan.hpp"

namespace pensieve::synth {
namespace {

class Planner {
 public:
  Planner(const Shape& shape, const WeightScheme& scheme)
      : scheme_(scheme), facts_{shape.n_layer, shape.n_expert, shape.tied_embeddings} {}

  void matrix(std::string name, MatrixRole role, std::uint32_t layer, std::vector<std::uint64_t> dims) {
    const tensor::TensorType type = choose_type(scheme_, MatrixSite{role, layer, dims[0]}, facts_);
    out_.push_back({std::move(name), std::move(dims), type, Fill::kRandom, kWeightStd});
  }
  // 1-D tensors are F32 in every scheme: the loader requires it and quantizers leave them alone.
  void vector(std::string name, std::uint64_t n, Fill fill, float scale) {
    out_.push_back({std::move(name), {n}, tensor::TensorType::kF32, fill, scale});
  }
  std::vector<PlannedTensor> take() { return std::move(out_); }

 private:
  const WeightScheme& scheme_;
  ModelFacts facts_;
  std::vector<PlannedTensor> out_;
};

void plan_block(Planner& p, const Shape& s, std::uint32_t layer) {
  const std::string b = "blk." + std::to_string(layer) + ".";
  const std::uint64_t e = s.n_embd;
  p.vector(b + "attn_norm.weight", e, Fill::kConstant, 1.0f);
  p.matrix(b + "attn_q.weight", MatrixRole::kAttnQ, layer, {e, s.q_dim()});
  p.matrix(b + "attn_k.weight", MatrixRole::kAttnK, layer, {e, s.kv_dim()});
  p.matrix(b + "attn_v.weight", MatrixRole::kAttnV, layer, {e, s.kv_dim()});
  if (s.has_qkv_bias()) {
    p.vector(b + "attn_q.bias", s.q_dim(), Fill::kRandom, kBiasStd);
    p.vector(b + "attn_k.bias", s.kv_dim(), Fill::kRandom, kBiasStd);
    p.vector(b + "attn_v.bias", s.kv_dim(), Fill::kRandom, kBiasStd);
  }
  if (s.has_qk_norm()) {
    p.vector(b + "attn_q_norm.weight", s.head_dim, Fill::kConstant, 1.0f);
    p.vector(b + "attn_k_norm.weight", s.head_dim, Fill::kConstant, 1.0f);
  }
  p.matrix(b + "attn_output.weight", MatrixRole::kAttnOutput, layer, {s.q_dim(), e});
  p.vector(b + "ffn_norm.weight", e, Fill::kConstant, 1.0f);
  if (s.is_moe()) {
    const std::uint64_t n = s.n_expert, f = s.n_ff_expert;
    p.matrix(b + "ffn_gate_inp.weight", MatrixRole::kRouter, layer, {e, n});
    p.matrix(b + "ffn_gate_exps.weight", MatrixRole::kGateExps, layer, {e, f, n});
    p.matrix(b + "ffn_up_exps.weight", MatrixRole::kUpExps, layer, {e, f, n});
    p.matrix(b + "ffn_down_exps.weight", MatrixRole::kDownExps, layer, {f, e, n});
  } else {
    p.matrix(b + "ffn_gate.weight", MatrixRole::kFfnGate, layer, {e, s.n_ff});
    p.matrix(b + "ffn_up.weight", MatrixRole::kFfnUp, layer, {e, s.n_ff});
    p.matrix(b + "ffn_down.weight", MatrixRole::kFfnDown, layer, {s.n_ff, e});
  }
}

}  // namespace

std::uint64_t PlannedTensor::element_count() const {
  std::uint64_t n = 1;
  for (auto d : dims) n *= d;
  return n;
}

std::vector<PlannedTensor> plan_tensors(const Shape& s, const WeightScheme& scheme) {
  Planner p(s, scheme);
  p.matrix("token_embd.weight", MatrixRole::kTokenEmbd, 0, {s.n_embd, s.n_vocab});
  if (s.llama3_rope) p.vector("rope_freqs.weight", s.head_dim / 2, Fill::kRopeFactors, 0.0f);
  for (std::uint32_t layer = 0; layer < s.n_layer; ++layer) plan_block(p, s, layer);
  p.vector("output_norm.weight", s.n_embd, Fill::kConstant, 1.0f);
  if (!s.tied_embeddings) p.matrix("output.weight", MatrixRole::kOutput, 0, {s.n_embd, s.n_vocab});
  return p.take();
}

}  // namespace pensieve::synth
