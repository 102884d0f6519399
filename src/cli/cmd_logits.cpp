#include <bit>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/model_argument.hpp"
#include "core/result.hpp"
#include "kernels/kv_cache.hpp"
#include "model/model.hpp"

namespace pensieve::cli {
namespace {

struct LogitsOptions {
  std::string model_path;
  bool pull = false;
  std::string tokens;
  std::string out_path;
  std::uint32_t ctx_size = 0;  // 0: exactly the number of tokens
  std::string dump_dir;        // when set, every named intermediate tensor is written there
  unsigned threads = 0;        // 0: one per physical core
  bool exact = false;          // float oracle kernels (no activation quantization)
  std::string kv_type = "f32";  // full precision: what reference logits are computed with
};

// Writes each intermediate tensor the forward pass offers to DIR/[blk.L.]NAME.f32 (raw float32,
// rows appended in order across chunks), for comparing the reference with other paths.
Result<model::TensorObserver> tensor_dumper(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::kIo, "--dump-dir: cannot create " + dir + ": " + ec.message());
  auto started = std::make_shared<std::set<std::string>>();
  return model::TensorObserver([dir, started](const model::TensorView& t) {
    const std::string file = (t.layer >= 0 ? "blk." + std::to_string(t.layer) + "." : std::string()) +
                             std::string(t.name) + ".f32";
    const bool first = started->insert(file).second;
    std::ofstream out(dir + "/" + file, std::ios::binary | (first ? std::ios::trunc : std::ios::app));
    out.write(reinterpret_cast<const char*>(t.data), static_cast<std::streamsize>(t.rows * t.cols * sizeof(float)));
  });
}

// "1 2 3" or "1,2,3" into ids.
Result<std::vector<std::int32_t>> parse_tokens(const std::string& text) {
  std::vector<std::int32_t> ids;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ' || text[i] == ',' || text[i] == '\t' || text[i] == '\n') {
      ++i;
      continue;
    }
    std::int32_t id = 0;
    const auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), id);
    if (ec != std::errc() ||
        (end != text.data() + text.size() && *end != ' ' && *end != ',' && *end != '\t' && *end != '\n')) {
      return make_error(
          ErrorCode::kInvalidArgument,
          "--tokens: '" + text.substr(i, 20) + "' is not a token id (expected integers like \"1 2 3\")");
    }
    ids.push_back(id);
    i = static_cast<std::size_t>(end - text.data());
  }
  if (ids.empty()) return make_error(ErrorCode::kInvalidArgument, "--tokens: no token ids given");
  return ids;
}

Status run_logits(const LogitsOptions& options) {
  auto tokens = parse_tokens(options.tokens);
  if (!tokens) return tokens.error();
  auto kv_type = kernels::parse_kv_type(options.kv_type);
  if (!kv_type) return kv_type.error().with_context("--kv-type");
  auto model = model::Model::load(options.model_path, {.threads = options.threads, .exact = options.exact});
  if (!model) return model.error();
  const std::uint32_t n_ctx =
      options.ctx_size != 0 ? options.ctx_size : static_cast<std::uint32_t>(tokens->size());
  auto seq = (*model)->create_sequence(n_ctx, {.kv_type = *kv_type});
  if (!seq) return seq.error();
  if (!options.dump_dir.empty()) {
    auto dumper = tensor_dumper(options.dump_dir);
    if (!dumper) return dumper.error();
    seq->set_observer(std::move(*dumper));
  }

  std::vector<std::uint32_t> rows(tokens->size());
  std::iota(rows.begin(), rows.end(), 0u);
  std::vector<float> logits(rows.size() * std::size_t{(*model)->hparams().n_vocab});
  PENSIEVE_TRY((*model)->forward(*seq, *tokens, rows, logits));

  // Raw little-endian float32; every platform we build for is little-endian.
  static_assert(std::endian::native == std::endian::little);
  std::ofstream out(options.out_path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(logits.data()),
            static_cast<std::streamsize>(logits.size() * sizeof(float)));
  out.close();
  if (!out) return make_error(ErrorCode::kIo, "cannot write " + options.out_path);
  return {};
}

}  // namespace

void add_logits_command(CLI::App& app, int& exit_code) {
  auto* cmd =
      app.add_subcommand("logits", "Write the logits of every position as raw float32 [positions x vocab]");
  auto options = std::make_shared<LogitsOptions>();
  cmd->add_option("model", options->model_path, kModelArgumentHelp)->required();
  add_pull_flag(*cmd, options->pull);
  cmd->add_option("--tokens", options->tokens, "token ids, e.g. \"1 2 3\"")->required();
  cmd->add_option("--out", options->out_path, "output file")->required();
  cmd->add_option("--ctx-size", options->ctx_size, "context size in tokens (default: the number of tokens)");
  cmd->add_option("--threads,-t", options->threads, "compute threads (default: one per physical core)");
  cmd->add_option("--kv-type", options->kv_type, "KV cache element type: f32, f16 or q8_0")
      ->capture_default_str();
  cmd->add_flag("--exact", options->exact,
                "float oracle kernels: weights dequantized, activations not quantized (slow)");
  cmd->add_option("--dump-dir", options->dump_dir,
                  "also write every named intermediate tensor to DIR/[blk.L.]NAME.f32 (raw float32)");
  cmd->callback([options, &exit_code] {
    if (!resolve_model_argument("logits", options->model_path, options->pull)) {
      exit_code = 1;
      return;
    }
    const Status status = run_logits(*options);
    if (!status) {
      std::cerr << "pensieve logits: " << status.error().message << "\n";
      exit_code = 1;
    }
  });
}

}  // namespace pensieve::cli
