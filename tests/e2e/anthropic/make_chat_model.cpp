// Builds the e2e tests' chat model: the GPT-2 byte-level vocabulary (qwen2 pre-tokenizer) with
// Qwen3's special tokens and chat template, a one-layer qwen3 body with small random weights and
// a long context, so Claude Code's 20k-token prompts are processed in seconds. The output
// projection favours <|im_end|> just enough that sampled answers end after a few tokens.
//
// usage: make_chat_model VOCAB.gguf TEMPLATE.jinja OUT.gguf [CONTEXT]
#include <cmath>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gguf/reader.hpp"
#include "gguf/writer.hpp"

using namespace pensieve;

namespace {

constexpr std::uint32_t kEmbd = 32, kHeads = 1, kKvHeads = 1, kHeadDim = 16, kFf = 64;

int fail(const std::string& what) {
  std::cerr << "make_chat_model: " << what << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return fail("usage: make_chat_model VOCAB.gguf TEMPLATE.jinja OUT.gguf [CONTEXT]");
  const std::uint32_t context = argc > 4 ? static_cast<std::uint32_t>(std::stoul(argv[4])) : 65536;
  auto vocab = gguf::File::open(argv[1]);
  if (!vocab) return fail(vocab.error().message);
  std::ifstream tin(argv[2]);
  if (!tin) return fail(std::string("cannot read ") + argv[2]);
  std::stringstream tss;
  tss << tin.rdbuf();
  const std::string chat_template = tss.str();

  const auto& c = vocab->contents();
  auto tokens_array = c.get_array("tokenizer.ggml.tokens");
  auto merges_array = c.get_array("tokenizer.ggml.merges");
  if (!tokens_array.ok() || !*tokens_array || !merges_array.ok() || !*merges_array)
    return fail("vocabulary lacks tokens or merges");
  std::vector<std::string> tokens, merges;
  std::vector<std::int32_t> types;
  for (const auto& v : (*tokens_array)->items) tokens.emplace_back(*v.as_string());
  for (const auto& v : (*merges_array)->items) merges.emplace_back(*v.as_string());
  auto type_array = c.get_array("tokenizer.ggml.token_type");
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    std::int32_t t = 1;
    if (type_array.ok() && *type_array && i < (*type_array)->items.size()) {
      t = static_cast<std::int32_t>((*type_array)->items[i].as_int().value_or(1));
    }
    types.push_back(t);
  }
  // Qwen3's added tokens: control tokens (type 3) the template writes, user-defined (type 4) ones
  // the model writes as text.
  const std::vector<std::pair<std::string, std::int32_t>> added = {
      {"<|im_start|>", 3}, {"<|im_end|>", 3},   {"<think>", 4},         {"</think>", 4},
      {"<tool_call>", 4},  {"</tool_call>", 4}, {"<tool_response>", 4}, {"</tool_response>", 4}};
  std::int32_t im_end = -1, endoftext = -1;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] == "<|endoftext|>") endoftext = static_cast<std::int32_t>(i), types[i] = 3;
  }
  for (const auto& [text, type] : added) {
    if (text == "<|im_end|>") im_end = static_cast<std::int32_t>(tokens.size());
    tokens.push_back(text);
    types.push_back(type);
  }
  const std::uint32_t n_vocab = static_cast<std::uint32_t>(tokens.size());

  gguf::Writer w;
  Status s;
  auto check = [&](Status st) {
    if (!st.ok() && s.ok()) s = st;
  };
  check(w.add_string("general.architecture", "qwen3"));
  check(w.add_string("general.name", "pensieve-e2e-qwen3"));
  check(w.add_uint32("qwen3.context_length", context));
  check(w.add_uint32("qwen3.embedding_length", kEmbd));
  check(w.add_uint32("qwen3.block_count", 1));
  check(w.add_uint32("qwen3.feed_forward_length", kFf));
  check(w.add_uint32("qwen3.attention.head_count", kHeads));
  check(w.add_uint32("qwen3.attention.head_count_kv", kKvHeads));
  check(w.add_uint32("qwen3.attention.key_length", kHeadDim));
  check(w.add_uint32("qwen3.attention.value_length", kHeadDim));
  check(w.add_uint32("qwen3.rope.dimension_count", kHeadDim));
  check(w.add_float32("qwen3.rope.freq_base", 1000000.0f));
  check(w.add_float32("qwen3.attention.layer_norm_rms_epsilon", 1e-6f));
  check(w.add_string("tokenizer.ggml.model", "gpt2"));
  check(w.add_string("tokenizer.ggml.pre", "qwen2"));
  check(w.add_string_array("tokenizer.ggml.tokens", tokens));
  check(w.add_array("tokenizer.ggml.token_type", types));
  check(w.add_string_array("tokenizer.ggml.merges", merges));
  check(w.add_uint32("tokenizer.ggml.eos_token_id", static_cast<std::uint32_t>(im_end)));
  if (endoftext >= 0)
    check(w.add_uint32("tokenizer.ggml.padding_token_id", static_cast<std::uint32_t>(endoftext)));
  check(w.add_bool("tokenizer.ggml.add_bos_token", false));
  check(w.add_string("tokenizer.chat_template", chat_template));

  std::mt19937 rng(20260123);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  auto random = [&](std::size_t n) {
    std::vector<float> v(n);
    for (auto& x : v) x = normal(rng);
    return v;
  };
  auto ones = [](std::size_t n) { return std::vector<float>(n, 1.0f); };
  auto add = [&](const std::string& name, std::vector<std::uint64_t> dims, const std::vector<float>& values,
                 tensor::TensorType type = tensor::TensorType::kF32) {
    check(w.add_tensor_from_floats(name, type, dims, values));
  };

  // Dimension 0 of every embedding is large and positive, so after the final norm it stays
  // positive whatever the token; the output row of <|im_end|> reads only that dimension.
  auto embd = random(std::size_t(kEmbd) * n_vocab);
  for (std::size_t t = 0; t < n_vocab; ++t) embd[t * kEmbd] = 1.0f;
  add("token_embd.weight", {kEmbd, n_vocab}, embd, tensor::TensorType::kF16);
  auto out = random(std::size_t(kEmbd) * n_vocab);
  for (std::size_t i = 0; i < kEmbd; ++i) out[std::size_t(im_end) * kEmbd + i] = 0.0f;
  out[std::size_t(im_end) * kEmbd] =
      1.4f;  // logit ≈ 1.4 × 5.6 ≈ 7.9: p ≈ 0.05 a step against ~50k near-zero logits
  add("output.weight", {kEmbd, n_vocab}, out, tensor::TensorType::kF16);
  add("output_norm.weight", {kEmbd}, ones(kEmbd));
  const std::string p = "blk.0.";
  add(p + "attn_norm.weight", {kEmbd}, ones(kEmbd));
  add(p + "attn_q.weight", {kEmbd, kHeads * kHeadDim}, random(std::size_t(kEmbd) * kHeads * kHeadDim));
  add(p + "attn_k.weight", {kEmbd, kKvHeads * kHeadDim}, random(std::size_t(kEmbd) * kKvHeads * kHeadDim));
  add(p + "attn_v.weight", {kEmbd, kKvHeads * kHeadDim}, random(std::size_t(kEmbd) * kKvHeads * kHeadDim));
  add(p + "attn_q_norm.weight", {kHeadDim}, ones(kHeadDim));
  add(p + "attn_k_norm.weight", {kHeadDim}, ones(kHeadDim));
  add(p + "attn_output.weight", {kHeads * kHeadDim, kEmbd}, random(std::size_t(kEmbd) * kHeads * kHeadDim));
  add(p + "ffn_norm.weight", {kEmbd}, ones(kEmbd));
  add(p + "ffn_gate.weight", {kEmbd, kFf}, random(std::size_t(kEmbd) * kFf));
  add(p + "ffn_up.weight", {kEmbd, kFf}, random(std::size_t(kEmbd) * kFf));
  add(p + "ffn_down.weight", {kFf, kEmbd}, random(std::size_t(kEmbd) * kFf));
  if (!s.ok()) return fail(s.error().message);
  if (auto st = w.write_file(argv[3]); !st.ok()) return fail(st.error().message);
  return 0;
}
