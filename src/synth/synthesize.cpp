#include "synth/synthesize.hpp"

#include <chrono>
#include <optional>
#include <thread>

#include "chat/template_family.hpp"
#include "gguf/reader.hpp"
#include "gguf/writer.hpp"
#include "synth/tensor_fill.hpp"
#include "synth/tensor_plan.hpp"
#include "synth/vocabulary.hpp"

namespace pensieve::synth {
namespace {

// Merges the built-in vocabulary learns at most; it has fewer where the shape's vocabulary is
// too small to hold them.
constexpr std::size_t kBuiltinMerges = 200;
constexpr std::size_t kChatTokens = 3;  // <|endoftext|>, <|im_start|>, <|im_end|>

// The keys converters write and our loader (model/hyperparams.cpp) and llama.cpp read.
Status write_hyperparams(gguf::Writer& w, const Shape& s, const WeightScheme& scheme) {
  const std::string a(model::info_of(s.architecture).name);
  PENSIEVE_TRY(w.add_string("general.architecture", a));
  PENSIEVE_TRY(w.add_string("general.name", "pensieve-synth-" + s.name));
  PENSIEVE_TRY(w.add_uint32("general.file_type", scheme.file_type));
  PENSIEVE_TRY(w.add_uint32("general.quantization_version", 2));
  PENSIEVE_TRY(w.add_uint32(a + ".vocab_size", s.n_vocab));
  PENSIEVE_TRY(w.add_uint32(a + ".context_length", s.n_ctx));
  PENSIEVE_TRY(w.add_uint32(a + ".embedding_length", s.n_embd));
  PENSIEVE_TRY(w.add_uint32(a + ".block_count", s.n_layer));
  if (s.n_ff > 0) PENSIEVE_TRY(w.add_uint32(a + ".feed_forward_length", s.n_ff));
  PENSIEVE_TRY(w.add_uint32(a + ".attention.head_count", s.n_head));
  PENSIEVE_TRY(w.add_uint32(a + ".attention.head_count_kv", s.n_head_kv));
  // Stated even where it equals n_embd / n_head, as converters do when config.json has head_dim.
  PENSIEVE_TRY(w.add_uint32(a + ".attention.key_length", s.head_dim));
  PENSIEVE_TRY(w.add_uint32(a + ".attention.value_length", s.head_dim));
  PENSIEVE_TRY(w.add_uint32(a + ".rope.dimension_count", s.head_dim));
  PENSIEVE_TRY(w.add_float32(a + ".rope.freq_base", static_cast<float>(s.rope_freq_base)));
  PENSIEVE_TRY(w.add_float32(a + ".attention.layer_norm_rms_epsilon", s.rms_norm_eps));
  if (s.is_moe()) {
    PENSIEVE_TRY(w.add_uint32(a + ".expert_count", s.n_expert));
    PENSIEVE_TRY(w.add_uint32(a + ".expert_used_count", s.n_expert_used));
    PENSIEVE_TRY(w.add_uint32(a + ".expert_feed_forward_length", s.n_ff_expert));
  }
  return {};
}

// The built-in vocabulary with ChatML's tokens and template, padded to the shape's n_vocab.
Status write_builtin_tokenizer(gguf::Writer& w, const Shape& s) {
  const std::size_t room = s.n_vocab > 256 + kChatTokens ? s.n_vocab - 256 - kChatTokens : 0;
  if (room == 0) {
    return make_error(ErrorCode::kInvalidArgument, "the built-in vocabulary needs more than " +
                                                       std::to_string(256 + kChatTokens) + " tokens; shape " +
                                                       s.name + " has " + std::to_string(s.n_vocab));
  }
  TokenList list = builtin_byte_level_vocab(std::min(kBuiltinMerges, room));
  const ChatTokens chat = add_chatml_tokens(list);
  add_filler_tokens(list, s.n_vocab);
  TokenizerSettings settings;
  settings.pre_tokenizer = s.pre_tokenizer;
  settings.eos = chat.im_end;
  settings.pad = chat.endoftext;
  settings.chat_template = std::string(chat::default_chat_template());
  return write_byte_level_tokenizer(w, list, settings);
}

}  // namespace

Result<SynthReport> synthesize(const SynthOptions& options, const std::string& out_path) {
  const auto start = std::chrono::steady_clock::now();
  Shape shape = options.shape;
  gguf::Writer w;

  // A vocabulary file decides n_vocab, which the metadata states before the tokenizer.
  std::optional<gguf::File> vocab;
  if (!options.vocab_path.empty()) {
    auto file = gguf::File::open(options.vocab_path);
    if (!file) return file.error().with_context(options.vocab_path);
    auto n_vocab = vocab_token_count(file->contents());
    if (!n_vocab) return n_vocab.error().with_context(options.vocab_path);
    shape.n_vocab = *n_vocab;
    vocab.emplace(std::move(*file));
  }
  PENSIEVE_TRY(check_shape(shape));
  PENSIEVE_TRY(write_hyperparams(w, shape, options.scheme));
  PENSIEVE_TRY(vocab ? copy_tokenizer(w, vocab->contents()) : write_builtin_tokenizer(w, shape));

  const unsigned threads =
      options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  SynthReport report;
  report.architecture = std::string(model::info_of(shape.architecture).name);
  report.n_layer = shape.n_layer;
  report.n_vocab = shape.n_vocab;
  for (const PlannedTensor& t : plan_tensors(shape, options.scheme)) {
    PENSIEVE_TRY(w.add_tensor_rows(t.name, t.type, t.dims, make_row_fill(t, shape, options.seed, threads)));
    const std::string type(tensor::name_of(t.type));
    report.parameters += t.element_count();
    report.tensors_by_type[type] += 1;
    report.bytes_by_type[type] += *tensor::bytes_for(t.type, t.element_count());
    ++report.tensors;
  }
  report.file_bytes = w.file_size();
  PENSIEVE_TRY(w.write_file(out_path));
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace pensieve::synth
