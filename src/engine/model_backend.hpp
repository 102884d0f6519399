// engine/model_backend: the scheduler's Backend over a loaded model::Model — every Sequence is a
// model::Sequence whose KV cache takes blocks from one shared pool (so sequences with a common
// prefix share its blocks, and memory is held only for tokens cached), all computed in one shared
// workspace, a batch at a time; prompt chunks ask the model for the last row's logits only, so
// long prompts skip the output projection.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend.hpp"
#include "model/model.hpp"

namespace pensieve::engine {

class ModelBackend : public Backend {
 public:
  // Up to `n_ctx` tokens per sequence (0 means the model's trained context length), KV caches in
  // `kv_type` from a pool of `pool_blocks` blocks of model::KvPool::kBlockTokens (0: enough for one
  // full context), computing up to `max_batch` tokens per pass. Allocates the workspace and maps
  // the pool (which takes memory only as blocks are used).
  static Result<std::unique_ptr<ModelBackend>> create(
      const model::Model& model, std::uint32_t n_ctx, kernels::KvType kv_type,
      std::uint32_t max_batch = model::Sequence::kDefaultMaxBatch, std::uint32_t pool_blocks = 0);

  std::int32_t vocab_size() const override;
  std::size_t context_length() const override { return n_ctx_; }
  Result<std::unique_ptr<Sequence>> create_sequence() override;
  Status forward(Sequence& sequence, std::span<const std::int32_t> tokens, std::span<float> last_logits) override;
  Status forward_batch(std::span<const BatchItem> items) override;
  std::size_t batch_capacity() const override { return workspace_.max_rows(); }
  KvPoolStats kv_pool() const override;
  std::size_t prefix_granularity() const override { return model::Sequence::kPrefixGranularity; }
  std::string cache_identity() const override { return identity_; }
  std::uint64_t prefix_bytes(std::size_t n) const override;
  Status save_prefix(Sequence& sequence, std::size_t n,
                     FunctionRef<Status(std::span<const std::uint8_t>)> write) override;
  Status load_prefix(Sequence& sequence, std::size_t n, std::size_t stored,
                     FunctionRef<Status(std::span<std::uint8_t>)> read,
                     FunctionRef<Status(std::size_t)> skip) override;

 private:
  ModelBackend(const model::Model& model, std::uint32_t n_ctx, kernels::KvType kv_type,
               model::Workspace workspace, std::shared_ptr<model::KvPool> pool);

  const model::Model& model_;
  std::uint32_t n_ctx_;
  kernels::KvType kv_type_;
  model::Workspace workspace_;
  std::shared_ptr<model::KvPool> pool_;
  std::string identity_;                  // see cache_identity()
  std::vector<model::BatchPart> parts_;   // per call, kept to spare the allocation
  std::vector<std::uint32_t> last_rows_;  // each part's last token index
};

}  // namespace pensieve::engine
