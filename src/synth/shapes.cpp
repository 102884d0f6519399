#include "synth/shapes.hpp"

#include <vector>

namespace pensieve::synth {
namespace {

using model::Architecture;

Shape llama(std::string name, std::uint32_t layers, std::uint32_t embd, std::uint32_t ff, std::uint32_t heads,
            std::uint32_t kv_heads, std::uint32_t head_dim, std::uint32_t vocab, std::uint32_t ctx) {
  Shape s;
  s.name = std::move(name);
  s.architecture = Architecture::kLlama;
  s.n_layer = layers;
  s.n_embd = embd;
  s.n_ff = ff;
  s.n_head = heads;
  s.n_head_kv = kv_heads;
  s.head_dim = head_dim;
  s.n_vocab = vocab;
  s.n_ctx = ctx;
  s.rope_freq_base = 500000.0;
  s.rms_norm_eps = 1e-5f;
  s.pre_tokenizer = "llama-bpe";
  return s;
}

Shape qwen(std::string name, Architecture arch, std::uint32_t layers, std::uint32_t embd, std::uint32_t ff,
           std::uint32_t heads, std::uint32_t kv_heads, std::uint32_t head_dim, std::uint32_t vocab,
           std::uint32_t ctx) {
  Shape s = llama(std::move(name), layers, embd, ff, heads, kv_heads, head_dim, vocab, ctx);
  s.architecture = arch;
  s.rope_freq_base = 1000000.0;
  s.rms_norm_eps = 1e-6f;
  s.pre_tokenizer = "qwen2";
  return s;
}

// Values from each model's config.json (hidden_size, intermediate_size, num_hidden_layers,
// num_attention_heads, num_key_value_heads, head_dim, vocab_size, max_position_embeddings,
// rope_theta, rms_norm_eps, tie_word_embeddings, rope_scaling, MoE sizes).
std::vector<Shape> make_shapes() {
  std::vector<Shape> shapes;

  // Tiny shapes for tests: every tensor kind of their family, a whole model in a few MB.
  Shape tiny = llama("tiny-llama", 2, 256, 512, 4, 2, 64, 512, 4096);
  tiny.llama3_rope = Llama3RopeScaling{8.0, 1.0, 4.0, 1024};
  shapes.push_back(tiny);
  Shape tiny_moe = qwen("tiny-qwen3moe", Architecture::kQwen3Moe, 2, 256, 512, 4, 2, 64, 512, 4096);
  tiny_moe.n_expert = 8;
  tiny_moe.n_expert_used = 2;
  tiny_moe.n_ff_expert = 256;
  shapes.push_back(tiny_moe);

  Shape l1b = llama("llama3.2-1b", 16, 2048, 8192, 32, 8, 64, 128256, 131072);
  l1b.tied_embeddings = true;
  l1b.llama3_rope = Llama3RopeScaling{32.0, 1.0, 4.0, 8192};
  shapes.push_back(l1b);

  shapes.push_back(llama("llama3-8b", 32, 4096, 14336, 32, 8, 128, 128256, 8192));

  // n_embd 896 is not a multiple of 256: most matrices take the K-quant fallback types.
  Shape q05 = qwen("qwen2.5-0.5b", Architecture::kQwen2, 24, 896, 4864, 14, 2, 64, 151936, 32768);
  q05.tied_embeddings = true;
  shapes.push_back(q05);

  Shape q15 = qwen("qwen2.5-1.5b", Architecture::kQwen2, 28, 1536, 8960, 12, 2, 128, 151936, 32768);
  q15.tied_embeddings = true;
  shapes.push_back(q15);

  Shape q4b = qwen("qwen3-4b", Architecture::kQwen3, 36, 2560, 9728, 32, 8, 128, 151936, 40960);
  q4b.tied_embeddings = true;
  shapes.push_back(q4b);

  Shape a3b = qwen("qwen3-30b-a3b", Architecture::kQwen3Moe, 48, 2048, 6144, 32, 4, 128, 151936, 40960);
  a3b.n_expert = 128;
  a3b.n_expert_used = 8;
  a3b.n_ff_expert = 768;
  shapes.push_back(a3b);
  return shapes;
}

const std::vector<Shape>& shapes() {
  static const std::vector<Shape> kShapes = make_shapes();
  return kShapes;
}

Error bad_shape(const Shape& s, const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, "shape " + s.name + ": " + what);
}

}  // namespace

std::span<const Shape> all_shapes() {
  return shapes();
}

std::string shape_names() {
  std::string names;
  for (const auto& s : shapes()) names += (names.empty() ? "" : ", ") + s.name;
  return names;
}

Result<Shape> find_shape(std::string_view name) {
  for (const auto& s : shapes()) {
    if (s.name == name) return s;
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown shape '" + std::string(name) + "' (valid shapes: " + shape_names() + ")");
}

Status check_shape(const Shape& s) {
  if (s.architecture == model::Architecture::kPhi3) {
    return bad_shape(s, "phi3 (fused attn_qkv and gate+up tensors) is not synthesized");
  }
  if (s.n_layer == 0 || s.n_embd == 0 || s.n_head == 0 || s.n_head_kv == 0 || s.head_dim == 0 ||
      s.n_vocab == 0) {
    return bad_shape(s, "layers, embedding, heads, head dimension and vocabulary must all be positive");
  }
  if (s.n_head % s.n_head_kv != 0) return bad_shape(s, "head count is not a multiple of the kv head count");
  if (s.head_dim % 2 != 0) return bad_shape(s, "head dimension must be even (RoPE rotates pairs)");
  const bool moe = s.architecture == model::Architecture::kQwen3Moe;
  if (moe != s.is_moe()) return bad_shape(s, "experts are given exactly for the qwen3moe architecture");
  if (moe && (s.n_expert_used == 0 || s.n_expert_used > s.n_expert || s.n_ff_expert == 0)) {
    return bad_shape(s, "experts used must lie in [1, experts] and the expert width must be positive");
  }
  if (!moe && s.n_ff == 0) return bad_shape(s, "feed-forward width must be positive");
  return {};
}

}  // namespace pensieve::synth
