#include "model/model.hpp"

#include <stdexcept>

#include "model/forward_pass.hpp"

namespace pensieve::model {

namespace {

kernels::RopeTable rope_of(const Hyperparams& hp, const Weights& w) {
  switch (hp.rope_scaling) {
    case RopeScaling::kYarn:
      return kernels::yarn_rope(hp.rope_freq_base, hp.n_rot, hp.yarn);
    case RopeScaling::kLinear:
      return kernels::plain_rope(hp.rope_freq_base, hp.n_rot, w.rope_freqs, 1.0 / hp.rope_scaling_factor);
    case RopeScaling::kNone:
      break;
  }
  return kernels::plain_rope(hp.rope_freq_base, hp.n_rot, w.rope_freqs);
}

}  // namespace

Model::Model(gguf::File file, Hyperparams hparams, Weights weights, const kernels::KernelTable& kernels,
             std::unique_ptr<core::ThreadPool> pool)
    : file_(std::move(file)),
      hparams_(std::move(hparams)),
      weights_(std::move(weights)),
      kernels_(&kernels),
      pool_(std::move(pool)),
      rope_(rope_of(hparams_, weights_)),
      rope_sliding_(hparams_.rope_freq_base_sliding != 0.0
                        ? kernels::plain_rope(hparams_.rope_freq_base_sliding, hparams_.n_rot, nullptr)
                        : kernels::RopeTable{}) {}

Result<std::unique_ptr<Model>> Model::load(const std::string& gguf_path, const ComputeOptions& options) {
  auto file = gguf::File::open(gguf_path);
  if (!file) return file.error();
  return load(std::move(*file), gguf_path, options);
}

Result<std::unique_ptr<Model>> Model::load(gguf::File file, const std::string& gguf_path,
                                           const ComputeOptions& options) {
  auto hparams = read_hyperparams(file.contents());
  if (!hparams) return hparams.error().with_context(gguf_path);
  const kernels::KernelTable& kernels = options.exact ? kernels::exact_kernels() : kernels::active_kernels();
  auto pool = std::make_unique<core::ThreadPool>(options.threads != 0 ? options.threads
                                                                      : core::default_thread_count());
  // The weights point into the mapping, which stays put when the File moves into the Model, and
  // into the copies, which move with the Weights.
  WeightCopies copies(kernels, *pool, file.contents());
  auto weights = bind_weights(file.contents(), *hparams, &copies, options.on_progress);
  if (!weights) return weights.error().with_context(gguf_path);
  return std::unique_ptr<Model>(
      new Model(std::move(file), std::move(*hparams), std::move(*weights), kernels, std::move(pool)));
}

namespace {

// A sequence's size, checked before anything is allocated for it.
Status check_sequence_capacity(std::uint32_t n_ctx) {
  if (n_ctx == 0) return make_error(ErrorCode::kInvalidArgument, "context size must be at least 1 token");
  if (n_ctx > Model::kMaxContext) {
    return make_error(ErrorCode::kInvalidArgument, "context size " + std::to_string(n_ctx) +
                                                       " exceeds the limit of " +
                                                       std::to_string(Model::kMaxContext) + " tokens");
  }
  return {};
}

}  // namespace

Result<Sequence> Model::create_sequence(std::uint32_t n_ctx, const SequenceOptions& options) const {
  PENSIEVE_TRY(check_sequence_capacity(n_ctx));
  PENSIEVE_TRY(kernels::check_kv_shape(options.kv_type, hparams_.head_dim_k, hparams_.head_dim_v));
  auto pool =
      KvPool::create(hparams_, options.kv_type, (n_ctx + KvPool::kBlockTokens - 1) / KvPool::kBlockTokens,
                     KvPool::Paging::kResident);
  if (!pool) {
    const SequenceLayout layout = SequenceLayout::plan(hparams_, n_ctx, options, pool_->size());
    return make_error(ErrorCode::kResourceExhausted,
                      "not enough memory for a sequence of " + std::to_string(n_ctx) + " tokens (" +
                          std::to_string((layout.kv_cache_bytes() + layout.scratch_bytes()) >> 20) + " MiB)");
  }
  return new_sequence(std::move(*pool), n_ctx, options);
}

Result<std::shared_ptr<KvPool>> Model::create_kv_pool(std::uint32_t blocks, kernels::KvType kv_type) const {
  if (blocks == 0) return make_error(ErrorCode::kInvalidArgument, "a KV pool needs at least 1 block");
  PENSIEVE_TRY(kernels::check_kv_shape(kv_type, hparams_.head_dim_k, hparams_.head_dim_v));
  return KvPool::create(hparams_, kv_type, blocks);
}

Result<Sequence> Model::create_sequence(std::shared_ptr<KvPool> pool, std::uint32_t max_tokens,
                                        const SequenceOptions& options) const {
  PENSIEVE_TRY(check_sequence_capacity(max_tokens));
  if (pool == nullptr) return make_error(ErrorCode::kInvalidArgument, "no KV pool given");
  if (pool->layout() != KvPool::layout_for(hparams_, pool->kv_type())) {
    return make_error(ErrorCode::kInvalidArgument, "the KV pool was made for a model of another shape");
  }
  return new_sequence(std::move(pool), max_tokens, options);
}

Result<Sequence> Model::new_sequence(std::shared_ptr<KvPool> pool, std::uint32_t capacity,
                                     const SequenceOptions& options) const {
  const WorkspaceLayout workspace = options.max_batch != 0
                                        ? WorkspaceLayout::plan(hparams_, options.max_batch, pool_->size())
                                        : WorkspaceLayout{};
  try {
    return Sequence(*this, hparams_, std::move(pool), capacity, workspace);
  } catch (const std::exception&) {  // bad_alloc, or length_error beyond the address space
    return make_error(ErrorCode::kResourceExhausted,
                      "not enough memory for a sequence of " + std::to_string(capacity) + " tokens (" +
                          std::to_string(workspace.bytes() >> 20) + " MiB of workspace)");
  }
}

Result<Workspace> Model::create_workspace(std::uint32_t max_rows) const {
  if (max_rows == 0) return make_error(ErrorCode::kInvalidArgument, "batch size must be at least 1 token");
  const WorkspaceLayout layout = WorkspaceLayout::plan(hparams_, max_rows, pool_->size());
  try {
    return Workspace(*this, hparams_, layout);
  } catch (const std::exception&) {
    return make_error(ErrorCode::kResourceExhausted, "not enough memory for a batch workspace of " +
                                                         std::to_string(max_rows) + " tokens (" +
                                                         std::to_string(layout.bytes() >> 20) + " MiB)");
  }
}

Status Model::check_part(const BatchPart& part) const {
  const Sequence& seq = *part.sequence;
  const auto tokens = part.tokens;
  if (seq.model_ != this) {
    return make_error(ErrorCode::kInvalidArgument, "the sequence was created by a different model");
  }
  // The bounds of the sequence's cache, not a policy: whether a request fits was decided before
  // it was queued (api/messages_service), and the scheduler stops a generation at the context.
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
  for (std::uint32_t row : part.logit_rows) {
    if (row >= tokens.size()) {
      return make_error(ErrorCode::kOutOfRange, "logit row " + std::to_string(row) +
                                                    " is not an index into the " +
                                                    std::to_string(tokens.size()) + " tokens given");
    }
  }
  const std::size_t wanted = part.logit_rows.size() * std::size_t{hparams_.n_vocab};
  if (part.logits.size() != wanted) {
    return make_error(ErrorCode::kInvalidArgument, "logits span holds " + std::to_string(part.logits.size()) +
                                                       " floats; " + std::to_string(part.logit_rows.size()) +
                                                       " rows of " + std::to_string(hparams_.n_vocab) +
                                                       " need " + std::to_string(wanted));
  }
  return {};
}

Status Model::take_kv_blocks(std::span<const BatchPart> parts) {
  for (std::size_t p = 0; p < parts.size(); ++p) {
    Sequence& seq = *parts[p].sequence;
    const auto n = static_cast<std::uint32_t>(parts[p].tokens.size());
    if (seq.take_blocks_to_append(n)) continue;
    // Nothing is attached yet, so what each part needs can still be counted.
    const KvPool& pool = *seq.kv_pool();
    std::uint64_t needed = 0;
    for (const BatchPart& other : parts) {
      if (other.sequence->kv_pool().get() == &pool) {
        needed += other.sequence->blocks_to_append(static_cast<std::uint32_t>(other.tokens.size()));
      }
    }
    for (std::size_t q = 0; q < p; ++q) parts[q].sequence->give_back_pending();
    return make_error(ErrorCode::kResourceExhausted,
                      "KV pool exhausted: " + std::to_string(needed) + " blocks needed, " +
                          std::to_string(pool.free_blocks()) + " free of " +
                          std::to_string(pool.total_blocks()) + " (" + std::to_string(KvPool::kBlockTokens) +
                          " tokens each)");
  }
  for (const BatchPart& part : parts)
    part.sequence->attach_pending(static_cast<std::uint32_t>(part.tokens.size()));
  return {};
}

Status Model::forward(Sequence& seq, std::span<const std::int32_t> tokens,
                      std::span<const std::uint32_t> logit_rows, std::span<float> logits) const {
  PENSIEVE_TRY(check_part({&seq, tokens, logit_rows, logits}));
  if (!seq.workspace_) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "the sequence has no workspace of its own (max_batch 0); compute it with forward_batch");
  }
  const BatchPart whole{&seq, tokens, logit_rows, logits};
  PENSIEVE_TRY(take_kv_blocks(std::span(&whole, 1)));
  Workspace& ws = *seq.workspace_;
  ForwardPass pass(*this, ws, &seq.observer_);
  std::vector<ForwardPass::OutputRow> outputs;
  for (std::size_t first = 0; first < tokens.size(); first += ws.max_rows()) {
    const std::size_t count = std::min<std::size_t>(ws.max_rows(), tokens.size() - first);
    outputs.clear();
    for (std::size_t i = 0; i < logit_rows.size(); ++i) {
      if (logit_rows[i] >= first && logit_rows[i] < first + count) {
        outputs.push_back(
            {static_cast<std::uint32_t>(logit_rows[i] - first), logits.data() + i * hparams_.n_vocab});
      }
    }
    const ForwardPass::Segment segment{&seq, tokens.subspan(first, count)};
    pass.run(std::span(&segment, 1), outputs);
  }
  return {};
}

Status Model::forward_batch(Workspace& workspace, std::span<const BatchPart> parts) const {
  if (workspace.model_ != this) {
    return make_error(ErrorCode::kInvalidArgument, "the workspace was created by a different model");
  }
  std::size_t rows = 0;
  for (std::size_t p = 0; p < parts.size(); ++p) {
    if (parts[p].sequence == nullptr)
      return make_error(ErrorCode::kInvalidArgument, "batch part without a sequence");
    if (auto checked = check_part(parts[p]); !checked) {
      return checked.error().with_context("batch part " + std::to_string(p));
    }
    for (std::size_t q = 0; q < p; ++q) {
      if (parts[q].sequence == parts[p].sequence) {
        return make_error(ErrorCode::kInvalidArgument, "a sequence appears twice in one batch");
      }
    }
    rows += parts[p].tokens.size();
  }
  if (rows > workspace.max_rows()) {
    return make_error(ErrorCode::kInvalidArgument, "a batch of " + std::to_string(rows) +
                                                       " tokens exceeds the workspace's " +
                                                       std::to_string(workspace.max_rows()));
  }
  PENSIEVE_TRY(take_kv_blocks(parts));
  std::vector<ForwardPass::Segment> segments;
  std::vector<ForwardPass::OutputRow> outputs;
  std::uint32_t first_row = 0;
  for (const BatchPart& part : parts) {
    if (part.tokens.empty()) continue;
    segments.push_back({part.sequence, part.tokens});
    for (std::size_t i = 0; i < part.logit_rows.size(); ++i) {
      outputs.push_back({first_row + part.logit_rows[i], part.logits.data() + i * hparams_.n_vocab});
    }
    first_row += static_cast<std::uint32_t>(part.tokens.size());
  }
  if (segments.empty()) return {};
  const TensorObserver* observer = segments.size() == 1 ? &segments.front().sequence->observer_ : nullptr;
  ForwardPass pass(*this, workspace, observer);
  pass.run(segments, outputs);
  return {};
}

}  // namespace pensieve::model
