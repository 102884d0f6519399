#include "model/sequence.hpp"

#include <algorithm>

#include "kernels/kv_cache.hpp"
#include "model/model.hpp"

namespace pensieve::model {
namespace {

constexpr std::uint32_t kBlockTokens = KvPool::kBlockTokens;

std::uint32_t blocks_for(std::uint64_t tokens) {
  return static_cast<std::uint32_t>((tokens + kBlockTokens - 1) / kBlockTokens);
}

}  // namespace

SequenceLayout SequenceLayout::plan(const Hyperparams& hp, std::uint32_t n_ctx,
                                    const SequenceOptions& options, unsigned threads) {
  SequenceLayout layout;
  layout.n_ctx = n_ctx;
  layout.kv_type = options.kv_type;
  layout.kv_bytes = KvPool::bytes_for(hp, options.kv_type, blocks_for(n_ctx));
  if (options.max_batch != 0) layout.workspace = WorkspaceLayout::plan(hp, options.max_batch, threads);
  return layout;
}

Sequence::Sequence(const Model& model, const Hyperparams& hp, std::shared_ptr<KvPool> pool,
                   std::uint32_t capacity, const WorkspaceLayout& workspace)
    : model_(&model), capacity_(capacity), blocks_(std::move(pool), blocks_for(capacity)) {
  if (workspace.max_rows != 0) workspace_.reset(new Workspace(model, hp, workspace));
}

void Sequence::truncate(std::uint32_t n) {
  size_ = std::min(size_, n);
  blocks_.truncate(blocks_for(size_));
}

Status Sequence::share_prefix(const Sequence& from, std::uint32_t n) {
  if (&from == this) return make_error(ErrorCode::kInvalidArgument, "a sequence cannot share its own prefix");
  if (from.model_ != model_) {
    return make_error(ErrorCode::kInvalidArgument, "the sequences belong to different models");
  }
  if (from.kv_pool() != kv_pool()) {
    return make_error(ErrorCode::kInvalidArgument, "sequences share a prefix only on one KV pool");
  }
  if (n > from.size_ || n > capacity_) {
    return make_error(ErrorCode::kOutOfRange, "a prefix of " + std::to_string(n) + " tokens exceeds the " +
                                                  std::to_string(from.size_) + " tokens held or the " +
                                                  std::to_string(capacity_) + " this sequence may hold");
  }
  clear();
  blocks_.share(from.blocks_, blocks_for(n));
  size_ = n;
  return {};
}

std::uint32_t Sequence::blocks_to_append(std::uint32_t n) const {
  if (n == 0) return 0;
  const std::uint32_t fresh = blocks_for(std::uint64_t{size_} + n) - kv_blocks();
  const bool into_shared = size_ % kBlockTokens != 0 && blocks_.shared(size_ / kBlockTokens);
  return fresh + (into_shared ? 1 : 0);
}

bool Sequence::take_blocks_to_append(std::uint32_t n) {
  return blocks_.take(blocks_to_append(n), pending_);
}

void Sequence::give_back_pending() {
  blocks_.give_back(pending_);
  pending_.clear();
}

void Sequence::attach_pending(std::uint32_t n) {
  const std::size_t fresh = blocks_for(std::uint64_t{size_} + n) - kv_blocks();
  std::size_t next = 0;
  if (pending_.size() > fresh) {
    // Taken to copy the last block on write. Another part of the same batch may have made its
    // own copy meanwhile, leaving this sequence the block's only holder: then it is not needed.
    const std::uint32_t copy = pending_[next++];
    if (blocks_.shared(size_ / kBlockTokens)) {
      blocks_.replace_with_copy(size_ / kBlockTokens, copy);
    } else {
      blocks_.give_back(std::span(&copy, 1));
    }
  }
  while (next < pending_.size()) blocks_.append(pending_[next++]);
  pending_.clear();
}

std::uint64_t Sequence::prefix_bytes(const Hyperparams& hp, kernels::KvType kv_type, std::uint32_t n) {
  return std::uint64_t{n} * hp.n_layer * hp.n_head_kv *
         (kernels::kv_row_bytes(kv_type, hp.head_dim_k) + kernels::kv_row_bytes(kv_type, hp.head_dim_v));
}

Status Sequence::check_prefix(std::uint32_t n, std::uint32_t limit, const char* what) const {
  if (n % kPrefixGranularity != 0) {
    return make_error(ErrorCode::kInvalidArgument, "a saved prefix is a multiple of " +
                                                       std::to_string(kPrefixGranularity) + " tokens, not " +
                                                       std::to_string(n));
  }
  if (n > limit) {
    return make_error(ErrorCode::kOutOfRange, "a prefix of " + std::to_string(n) + " tokens exceeds the " +
                                                  std::to_string(limit) + " " + what);
  }
  return {};
}

Status Sequence::save_prefix(std::uint32_t n,
                             FunctionRef<Status(std::span<const std::uint8_t>)> write) const {
  PENSIEVE_TRY(check_prefix(n, size_, "tokens the sequence holds"));
  const kernels::KvBlockLayout& layout = blocks_.pool().layout();
  const std::size_t tiles = n / kBlockTokens;
  for (std::size_t l = 0; l < layout.n_layer; ++l) {
    const kernels::KvLayer cache = kv_layer(static_cast<int>(l));
    for (std::size_t head = 0; head < layout.n_head_kv; ++head) {
      // A whole key tile is the same bytes in a block as in the file; so are a tile's value rows.
      for (std::size_t t = 0; t < tiles; ++t)
        PENSIEVE_TRY(write(std::span(cache.key_tile(head, t), layout.key_tile_bytes())));
      for (std::size_t t = 0; t < tiles; ++t)
        PENSIEVE_TRY(
            write(std::span(cache.value_row(head, t * kBlockTokens), kBlockTokens * cache.v_row_bytes())));
    }
  }
  return {};
}

Status Sequence::load_prefix(std::uint32_t n, std::uint32_t stored,
                             FunctionRef<Status(std::span<std::uint8_t>)> read,
                             FunctionRef<Status(std::size_t)> skip) {
  PENSIEVE_TRY(check_prefix(n, capacity_, "tokens of the sequence's context"));
  PENSIEVE_TRY(check_prefix(stored, UINT32_MAX, "tokens"));
  if (stored < n) {
    return make_error(ErrorCode::kInvalidArgument, "cannot keep " + std::to_string(n) + " tokens of a " +
                                                       std::to_string(stored) + "-token prefix");
  }
  clear();
  const std::uint32_t tiles = n / kBlockTokens;
  if (!blocks_.take(tiles, pending_)) {
    return make_error(ErrorCode::kResourceExhausted,
                      "KV pool exhausted: loading a prefix of " + std::to_string(n) + " tokens needs " +
                          std::to_string(tiles) + " blocks, " + std::to_string(blocks_.pool().free_blocks()) +
                          " free");
  }
  for (std::uint32_t block : pending_) blocks_.append(block);  // empty before: nothing to copy
  pending_.clear();
  const kernels::KvBlockLayout& layout = blocks_.pool().layout();
  const std::size_t skipped_tiles = (stored - n) / kBlockTokens;
  auto load = [&]() -> Status {
    for (std::size_t l = 0; l < layout.n_layer; ++l) {
      const kernels::KvLayer cache = kv_layer(static_cast<int>(l));
      for (std::size_t head = 0; head < layout.n_head_kv; ++head) {
        for (std::size_t t = 0; t < tiles; ++t)
          PENSIEVE_TRY(read(std::span(cache.key_tile(head, t), layout.key_tile_bytes())));
        if (skipped_tiles != 0) PENSIEVE_TRY(skip(skipped_tiles * layout.key_tile_bytes()));
        for (std::size_t t = 0; t < tiles; ++t)
          PENSIEVE_TRY(
              read(std::span(cache.value_row(head, t * kBlockTokens), kBlockTokens * cache.v_row_bytes())));
        if (skipped_tiles != 0) PENSIEVE_TRY(skip(skipped_tiles * kBlockTokens * cache.v_row_bytes()));
      }
    }
    return {};
  };
  if (Status loaded = load(); !loaded) {
    clear();
    return loaded;
  }
  size_ = n;
  return {};
}

}  // namespace pensieve::model
