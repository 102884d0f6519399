// model/model: a loaded GGUF model. Immutable after load, so one Model serves many threads, each
// computing its own Sequence.
#pragma once

#include <cstdint>
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

struct ComputeOptions {
  unsigned threads = 0;  // 0: one per physical core (core::default_thread_count)
  bool exact = false;    // the float oracle kernels instead of the active instruction set's
};

class Model {
 public:
  // Maps the file, reads hyperparameters, and binds and shape-checks every tensor, repacking those
  // the kernels read as panels (model/weight_panels.hpp). Forward passes run on
  // `options.threads` threads with the kernels of the active instruction set.
  static Result<std::unique_ptr<Model>> load(const std::string& gguf_path,
                                             const ComputeOptions& options = {});

  const Hyperparams& hparams() const { return hparams_; }
  const gguf::Contents& metadata() const { return file_.contents(); }
  const Weights& weights() const { return weights_; }
  std::uint64_t weights_bytes() const { return weights_.bytes; }
  std::size_t file_size() const { return file_.file_size(); }
  unsigned threads() const { return pool_->size(); }
  const kernels::KernelTable& kernels() const { return *kernels_; }
  // Forward passes of this model take turns on these threads (one pass at a time uses them all).
  core::ThreadPool& thread_pool() const { return *pool_; }

  // Far beyond any model's context; larger requests are mistakes, refused before allocating.
  static constexpr std::uint32_t kMaxContext = 1u << 24;

  // A new, empty sequence holding up to n_ctx tokens, computing options.max_batch tokens at a
  // time, with its KV cache in options.kv_type.
  Result<Sequence> create_sequence(std::uint32_t n_ctx, const SequenceOptions& options = {}) const;

  // Appends `tokens` to `seq` at positions seq.size() … seq.size() + n - 1 and writes, for each
  // entry r of `logit_rows` (an index into `tokens`), n_vocab logits of the token tokens[r] into
  // logits[i·n_vocab …] where i is r's index in logit_rows. Only requested rows pay for the output
  // projection. On error nothing is appended.
  Status forward(Sequence& seq, std::span<const std::int32_t> tokens,
                 std::span<const std::uint32_t> logit_rows, std::span<float> logits) const;

 private:
  Model(gguf::File file, Hyperparams hparams, Weights weights, const kernels::KernelTable& kernels,
        std::unique_ptr<core::ThreadPool> pool);

  gguf::File file_;
  Hyperparams hparams_;
  Weights weights_;
  const kernels::KernelTable* kernels_;
  std::unique_ptr<core::ThreadPool> pool_;
};

}  // namespace pensieve::model
