#include "model/model.hpp"

#include <stdexcept>

#include "model/forward_pass.hpp"

namespace pensieve::model {

Model::Model(gguf::File file, Hyperparams hparams, Weights weights, const kernels::KernelTable& kernels,
             std::unique_ptr<core::ThreadPool> pool)
    : file_(std::move(file)),
      hparams_(std::move(hparams)),
      weights_(std::move(weights)),
      kernels_(&kernels),
      pool_(std::move(pool)) {}

Result<std::unique_ptr<Model>> Model::load(const std::string& gguf_path, const ComputeOptions& options) {
  auto file = gguf::File::open(gguf_path);
  if (!file) return file.error();
  auto hparams = read_hyperparams(file->contents());
  if (!hparams) return hparams.error().with_context(gguf_path);
  const kernels::KernelTable& kernels = options.exact ? kernels::exact_kernels() : kernels::active_kernels();
  auto pool = std::make_unique<core::ThreadPool>(options.threads != 0 ? options.threads
                                                                      : core::default_thread_count());
  // The weights point into the mapping, which stays put when the File moves into the Model, and
  // into the repacked panels, which move with the Weights.
  WeightPanels panels(kernels, *pool);
  auto weights = bind_weights(file->contents(), *hparams, &panels);
  if (!weights) return weights.error().with_context(gguf_path);
  return std::unique_ptr<Model>(
      new Model(std::move(*file), std::move(*hparams), std::move(*weights), kernels, std::move(pool)));
}

Result<Sequence> Model::create_sequence(std::uint32_t n_ctx, const SequenceOptions& options) const {
  if (n_ctx == 0) return make_error(ErrorCode::kInvalidArgument, "context size must be at least 1 token");
  if (n_ctx > kMaxContext) {
    return make_error(ErrorCode::kInvalidArgument, "context size " + std::to_string(n_ctx) +
                                                       " exceeds the limit of " +
                                                       std::to_string(kMaxContext) + " tokens");
  }
  if (options.max_batch == 0)
    return make_error(ErrorCode::kInvalidArgument, "batch size must be at least 1 token");
  PENSIEVE_TRY(kernels::check_kv_shape(options.kv_type, hparams_.head_dim_k, hparams_.head_dim_v));
  const SequenceLayout layout = SequenceLayout::plan(hparams_, n_ctx, options, pool_->size());
  try {
    return Sequence(*this, hparams_, layout);
  } catch (const std::exception&) {  // bad_alloc, or length_error beyond the address space
    return make_error(ErrorCode::kResourceExhausted,
                      "not enough memory for a sequence of " + std::to_string(n_ctx) + " tokens (" +
                          std::to_string((layout.kv_cache_bytes() + layout.scratch_bytes()) >> 20) + " MiB)");
  }
}

Status Model::forward(Sequence& seq, std::span<const std::int32_t> tokens,
                      std::span<const std::uint32_t> logit_rows, std::span<float> logits) const {
  if (seq.model_ != this) {
    return make_error(ErrorCode::kInvalidArgument, "the sequence was created by a different model");
  }
  const std::uint64_t needed = std::uint64_t{seq.size()} + tokens.size();
  if (needed > seq.capacity()) {
    return make_error(ErrorCode::kResourceExhausted,
                      "context overflow: the sequence holds " + std::to_string(seq.size()) + " tokens and " +
                          std::to_string(tokens.size()) + " more exceed its context size of " +
                          std::to_string(seq.capacity()));
  }
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || static_cast<std::uint64_t>(tokens[i]) >= hparams_.n_vocab) {
      return make_error(ErrorCode::kOutOfRange, "token id " + std::to_string(tokens[i]) + " at index " +
                                                    std::to_string(i) + " is outside the vocabulary [0, " +
                                                    std::to_string(hparams_.n_vocab) + ")");
    }
  }
  for (std::uint32_t row : logit_rows) {
    if (row >= tokens.size()) {
      return make_error(ErrorCode::kOutOfRange, "logit row " + std::to_string(row) +
                                                    " is not an index into the " +
                                                    std::to_string(tokens.size()) + " tokens given");
    }
  }
  if (logits.size() != logit_rows.size() * std::size_t{hparams_.n_vocab}) {
    return make_error(ErrorCode::kInvalidArgument,
                      "logits span holds " + std::to_string(logits.size()) + " floats; " +
                          std::to_string(logit_rows.size()) + " rows of " + std::to_string(hparams_.n_vocab) +
                          " need " + std::to_string(logit_rows.size() * std::size_t{hparams_.n_vocab}));
  }

  ForwardPass pass(*this, seq);
  for (std::size_t first = 0; first < tokens.size(); first += seq.max_batch()) {
    const std::size_t count = std::min<std::size_t>(seq.max_batch(), tokens.size() - first);
    pass.run_chunk(tokens.subspan(first, count), static_cast<std::uint32_t>(first), logit_rows, logits);
  }
  return {};
}

}  // namespace pensieve::model
