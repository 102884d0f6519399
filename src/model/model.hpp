// model/model: a loaded GGUF model. Immutable after load, so one Model serves many threads, each
// computing its own Sequence.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "core/result.hpp"
#include "core/thread_pool.hpp"
#include "gguf/reader.hpp"
#include "kernels/kernel_table.hpp"
#include "model/hyperparams.hpp"
#include "model/sequence.hpp"
#include "model/weights.hpp"

namespace pensieve::model {

// One sequence's share of a batch (Model::forward_batch): tokens appended at positions
// sequence->size() on, and the logits of tokens[logit_rows[i]] written to logits[i·n_vocab …].
struct BatchPart {
  Sequence* sequence = nullptr;
  std::span<const std::int32_t> tokens;
  std::span<const std::uint32_t> logit_rows;
  std::span<float> logits;  // logit_rows.size() · n_vocab floats
};

struct ComputeOptions {
  unsigned threads = 0;  // 0: one per physical core (core::default_thread_count)
  bool exact = false;    // the float oracle kernels instead of the active instruction set's
  // When set: called on the loading thread after each tensor is bound, with the bytes of tensor
  // data bound so far and in all (repacking reads them from the file, so a large model's load
  // takes seconds to minutes; the rest are only mapped). The last call has done == total.
  std::function<void(std::uint64_t done, std::uint64_t total)> on_progress = nullptr;
};

class Model {
 public:
  // Maps the file, reads hyperparameters, and binds and shape-checks every tensor, copying those a
  // forward pass streams (model/weight_copies.hpp). Forward passes run on
  // `options.threads` threads with the kernels of the active instruction set.
  static Result<std::unique_ptr<Model>> load(const std::string& gguf_path,
                                             const ComputeOptions& options = {});
  // The same for a file already opened (its metadata read to plan memory first); errors name
  // `gguf_path`.
  static Result<std::unique_ptr<Model>> load(gguf::File file, const std::string& gguf_path,
                                             const ComputeOptions& options = {});

  const Hyperparams& hparams() const { return hparams_; }
  const gguf::Contents& metadata() const { return file_.contents(); }
  const Weights& weights() const { return weights_; }
  std::uint64_t weights_bytes() const { return weights_.bytes; }
  std::size_t file_size() const { return file_.file_size(); }
  unsigned threads() const { return pool_->size(); }
  const kernels::KernelTable& kernels() const { return *kernels_; }
  // The rotation of q and k, computed once from the hyperparameters (and rope_freqs): every
  // layer's, or where sliding_rope() is set (Gemma 3) the full-attention layers'.
  const kernels::RopeTable& rope() const { return rope_; }
  // The sliding-window layers' rotation where it differs (hparams().rope_freq_base_sliding), else null.
  const kernels::RopeTable* sliding_rope() const {
    return hparams_.rope_freq_base_sliding != 0.0 ? &rope_sliding_ : nullptr;
  }
  // Forward passes of this model take turns on these threads (one pass at a time uses them all).
  core::ThreadPool& thread_pool() const { return *pool_; }

  // Far beyond any model's context; larger requests are mistakes, refused before allocating.
  static constexpr std::uint32_t kMaxContext = 1u << 24;

  // A new, empty sequence holding up to n_ctx tokens, computing options.max_batch tokens at a
  // time, with its KV cache in options.kv_type — in a pool of its own of ceil(n_ctx / 64) blocks,
  // resident from the start (KvPool::Paging::kResident).
  Result<Sequence> create_sequence(std::uint32_t n_ctx, const SequenceOptions& options = {}) const;

  // Memory for the KV caches of sequences of this model in `kv_type`: `blocks` blocks of
  // KvPool::kBlockTokens positions, shared by the sequences created on it, taking memory as
  // blocks are used and giving it back as they are freed (KvPool::Paging::kOnDemand).
  Result<std::shared_ptr<KvPool>> create_kv_pool(std::uint32_t blocks, kernels::KvType kv_type) const;

  // A new, empty sequence on a shared pool, holding no blocks until tokens are appended, and up
  // to max_tokens tokens (a request's context limit). Its cache has the pool's element type;
  // options.max_batch as above. Forward calls fail with kResourceExhausted when the pool runs out.
  Result<Sequence> create_sequence(std::shared_ptr<KvPool> pool, std::uint32_t max_tokens,
                                   const SequenceOptions& options = {}) const;

  // Appends `tokens` to `seq` at positions seq.size() … seq.size() + n - 1 and writes, for each
  // entry r of `logit_rows` (an index into `tokens`), n_vocab logits of the token tokens[r] into
  // logits[i·n_vocab …] where i is r's index in logit_rows. Only requested rows pay for the output
  // projection. On error nothing is appended. Takes the KV blocks all of `tokens` need (and
  // copies a block shared with another sequence before writing into it) before computing
  // anything: kResourceExhausted ("KV pool exhausted") when the pool has too few.
  // Needs the sequence's own workspace (options.max_batch > 0); longer inputs go in chunks.
  Status forward(Sequence& seq, std::span<const std::int32_t> tokens,
                 std::span<const std::uint32_t> logit_rows, std::span<float> logits) const;

  // Scratch for batches of up to max_rows tokens, shared by the sequences computed in them.
  Result<Workspace> create_workspace(std::uint32_t max_rows) const;

  // One forward pass over the tokens of several sequences together (each at most once), at most
  // workspace.max_rows() in all: every weight is read once for the whole batch, and each row's
  // numbers are those it gets computed alone. On error nothing is appended to any sequence, and
  // no block is taken: every part's blocks are taken, as in forward, before computing.
  Status forward_batch(Workspace& workspace, std::span<const BatchPart> parts) const;

 private:
  // Checks one part of a forward call (ownership, room, token ids, rows, logits size).
  Status check_part(const BatchPart& part) const;
  // Takes the KV blocks every part needs, for all parts or none.
  static Status take_kv_blocks(std::span<const BatchPart> parts);
  Result<Sequence> new_sequence(std::shared_ptr<KvPool> pool, std::uint32_t capacity,
                                const SequenceOptions& options) const;

  Model(gguf::File file, Hyperparams hparams, Weights weights, const kernels::KernelTable& kernels,
        std::unique_ptr<core::ThreadPool> pool);

  gguf::File file_;
  Hyperparams hparams_;
  Weights weights_;
  const kernels::KernelTable* kernels_;
  std::unique_ptr<core::ThreadPool> pool_;
  kernels::RopeTable rope_;          // every layer's, or the full-attention layers' (Gemma 3)
  kernels::RopeTable rope_sliding_;  // Gemma 3's sliding-window layers'
};

}  // namespace pensieve::model
