// Builds the e2e tests' chat model: the GPT-2 byte-level vocabulary (qwen2 pre-tokenizer) with
// Qwen3's special tokens and chat template, a one-layer qwen3 body with small random weights and
// a long context, so Claude Code's 20k-token prompts are processed in seconds. The output
// projection favours <|im_end|> just enough that sampled answers end after a few tokens.
//
// With --reply or --loop the model is scripted instead: each piece becomes one token (an added
// user-defined token unless the vocabulary has it already) and the weights make the output,
// whatever the prompt, those pieces in order — then <|im_end|> (--reply), or the pieces again and
// again (--loop). The attention and feed-forward outputs are zero, so the last hidden state is
// the current token's embedding: each token names its successor through the embedding (one
// dimension per piece, one for every other token) and the output matrix (the successor's row
// reads its predecessor's dimension), with a margin that sampling at any usual temperature keeps.
//
// Another family's template may be given, with the control tokens it writes (its markers), which
// are added to the vocabulary as such.
//
// usage: make_chat_model VOCAB.gguf TEMPLATE.jinja OUT.gguf [CONTEXT [CONTROL_TOKEN... | --reply|--loop
// PIECE...]]
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gguf/reader.hpp"
#include "gguf/writer.hpp"
#include "synth/vocabulary.hpp"

using namespace pensieve;

namespace {

constexpr std::uint32_t kEmbd = 32, kHeads = 1, kKvHeads = 1, kHeadDim = 16, kFf = 64;

int fail(const std::string& what) {
  std::cerr << "make_chat_model: " << what << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    return fail(
        "usage: make_chat_model VOCAB.gguf TEMPLATE.jinja OUT.gguf "
        "[CONTEXT [CONTROL_TOKEN... | --reply|--loop PIECE...]]");
  }
  const std::string mode = argc > 5 ? argv[5] : "";
  const bool scripted = mode == "--reply" || mode == "--loop";
  const bool loop = mode == "--loop";
  const std::vector<std::string> pieces(argv + (scripted ? 6 : argc), argv + argc);
  const std::vector<std::string> control_tokens(argv + (scripted ? argc : std::min(argc, 5)), argv + argc);
  if (scripted && (pieces.empty() || pieces.size() + 1 > kEmbd)) {
    return fail("a script has 1 to " + std::to_string(kEmbd - 1) + " pieces");
  }
  const std::uint32_t context = argc > 4 ? static_cast<std::uint32_t>(std::stoul(argv[4])) : 65536;
  auto vocab = gguf::File::open(argv[1]);
  if (!vocab) return fail(vocab.error().message);
  std::ifstream tin(argv[2]);
  if (!tin) return fail(std::string("cannot read ") + argv[2]);
  std::stringstream tss;
  tss << tin.rdbuf();
  const std::string chat_template = tss.str();

  auto list = synth::read_byte_level_vocab(vocab->contents());
  if (!list) return fail(list.error().message);
  // Qwen3's added tokens: the control tokens the template writes, and user-defined ones the
  // model writes as text.
  const synth::ChatTokens chat = synth::add_chatml_tokens(*list);
  for (const char* text :
       {"<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"}) {
    list->add(text, tokenizer::TokenType::kUserDefined);
  }
  for (const auto& token : control_tokens) list->add(token, tokenizer::TokenType::kControl);
  const std::int32_t im_end = chat.im_end;
  std::vector<std::int32_t> script;  // the pieces' token ids
  for (const auto& piece : pieces) {
    const auto id = list->find(piece);
    script.push_back(id ? *id : list->add(piece, tokenizer::TokenType::kUserDefined));
    for (std::size_t i = 0; i + 1 < script.size(); ++i) {
      if (script[i] == script.back())
        return fail("piece \"" + piece + "\" comes twice: its successor would be ambiguous");
    }
  }
  const std::uint32_t n_vocab = static_cast<std::uint32_t>(list->size());

  gguf::Writer w;
  Status s;
  auto check = [&](Status st) {
    if (!st.ok() && s.ok()) s = st;
  };
  check(w.add_string("general.architecture", "qwen3"));
  check(w.add_string("general.name", scripted ? "pensieve-e2e-scripted" : "pensieve-e2e-qwen3"));
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
  synth::TokenizerSettings settings;
  settings.pre_tokenizer = "qwen2";
  settings.eos = im_end;
  settings.pad = chat.endoftext;
  settings.chat_template = chat_template;
  check(synth::write_byte_level_tokenizer(w, *list, settings));

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

  std::vector<float> embd, out;
  if (!scripted) {
    // Dimension 0 of every embedding is large and positive, so after the final norm it stays
    // positive whatever the token; the output row of <|im_end|> reads only that dimension.
    embd = random(std::size_t(kEmbd) * n_vocab);
    for (std::size_t t = 0; t < n_vocab; ++t) embd[t * kEmbd] = 1.0f;
    out = random(std::size_t(kEmbd) * n_vocab);
    for (std::size_t i = 0; i < kEmbd; ++i) out[std::size_t(im_end) * kEmbd + i] = 0.0f;
    out[std::size_t(im_end) * kEmbd] =
        1.4f;  // logit ≈ 1.4 × 5.6 ≈ 7.9: p ≈ 0.05 a step against ~50k near-zero logits
  } else {
    // Token t's embedding is e0, or e(i+1) for the i-th piece; after the norm it is
    // sqrt(kEmbd) ≈ 5.7 times that, so a weight of kScript gives the successor a logit of ~28
    // and every other token 0.
    constexpr float kScript = 5.0f;
    embd.assign(std::size_t(kEmbd) * n_vocab, 0.0f);
    out.assign(std::size_t(kEmbd) * n_vocab, 0.0f);
    for (std::size_t t = 0; t < n_vocab; ++t) embd[t * kEmbd] = 1.0f;
    for (std::size_t i = 0; i < script.size(); ++i) {
      const std::size_t row = std::size_t(script[i]) * kEmbd;
      embd[row] = 0.0f;
      embd[row + i + 1] = 1.0f;
    }
    out[std::size_t(script[0]) * kEmbd] = kScript;  // any other token: the first piece
    for (std::size_t i = 0; i + 1 < script.size(); ++i) {
      out[std::size_t(script[i + 1]) * kEmbd + i + 1] = kScript;
    }
    out[std::size_t(loop ? script[0] : im_end) * kEmbd + script.size()] = kScript;
  }
  add("token_embd.weight", {kEmbd, n_vocab}, embd, tensor::TensorType::kF16);
  add("output.weight", {kEmbd, n_vocab}, out, tensor::TensorType::kF16);
  add("output_norm.weight", {kEmbd}, ones(kEmbd));
  const std::string p = "blk.0.";
  add(p + "attn_norm.weight", {kEmbd}, ones(kEmbd));
  add(p + "attn_q.weight", {kEmbd, kHeads * kHeadDim}, random(std::size_t(kEmbd) * kHeads * kHeadDim));
  add(p + "attn_k.weight", {kEmbd, kKvHeads * kHeadDim}, random(std::size_t(kEmbd) * kKvHeads * kHeadDim));
  add(p + "attn_v.weight", {kEmbd, kKvHeads * kHeadDim}, random(std::size_t(kEmbd) * kKvHeads * kHeadDim));
  add(p + "attn_q_norm.weight", {kHeadDim}, ones(kHeadDim));
  add(p + "attn_k_norm.weight", {kHeadDim}, ones(kHeadDim));
  // A scripted model's blocks add nothing to the residual stream: its output follows the embedding.
  auto block_out = [&](std::size_t n) { return scripted ? std::vector<float>(n, 0.0f) : random(n); };
  add(p + "attn_output.weight", {kHeads * kHeadDim, kEmbd},
      block_out(std::size_t(kEmbd) * kHeads * kHeadDim));
  add(p + "ffn_norm.weight", {kEmbd}, ones(kEmbd));
  add(p + "ffn_gate.weight", {kEmbd, kFf}, random(std::size_t(kEmbd) * kFf));
  add(p + "ffn_up.weight", {kEmbd, kFf}, random(std::size_t(kEmbd) * kFf));
  add(p + "ffn_down.weight", {kFf, kEmbd}, block_out(std::size_t(kEmbd) * kFf));
  if (!s.ok()) return fail(s.error().message);
  if (auto st = w.write_file(argv[3]); !st.ok()) return fail(st.error().message);
  return 0;
}
