// engine/backend: what the scheduler needs from a model — per-sequence state (a KV cache) and a
// forward pass that appends tokens to several sequences at once and yields the last position's
// logits of each. The model module implements it; tests implement it with small deterministic
// models.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/function_ref.hpp"
#include "core/result.hpp"

namespace pensieve::engine {

class Sequence {
 public:
  virtual ~Sequence() = default;
  virtual std::size_t size() const = 0;  // tokens held in the cache
  virtual void clear() = 0;
  // Keeps the first n tokens' cache (a prefix another request shares); no-op when n >= size().
  virtual void truncate(std::size_t n) = 0;
  // Becomes the first n tokens of `from` (another sequence of the same backend), sharing their
  // cache where the backend can; kUnsupported where it cannot (the caller computes them instead).
  virtual Status share_prefix(const Sequence& /*from*/, std::size_t /*n*/) {
    return make_error(ErrorCode::kUnsupported, "this backend cannot share a cache prefix");
  }
  // Pinned: held for a running job; unpinned: kept only in case a later prompt reuses it.
  virtual void set_pinned(bool /*pinned*/) {}
  // KV blocks this sequence holds (shared or not), and those appending n tokens would take from
  // the pool (new ones, and a copy of a shared last block); 0 without a shared pool.
  virtual std::size_t blocks_held() const { return 0; }
  virtual std::size_t blocks_to_append(std::size_t /*n*/) const { return 0; }
};

// The memory sequences' caches are taken from, in blocks of block_tokens positions. A backend
// without a shared pool (each sequence owning its room) reports block_tokens 0.
struct KvPoolStats {
  std::size_t block_tokens = 0;
  std::size_t total_blocks = 0;
  std::size_t free_blocks = 0;
  std::size_t unpinned_only_blocks = 0;  // held only by unpinned sequences: freed by dropping them
  std::uint64_t block_bytes = 0;
};

// One sequence's share of a batched forward pass.
struct BatchItem {
  Sequence* sequence = nullptr;
  std::span<const std::int32_t> tokens;
  std::span<float> last_logits;  // vocab_size floats for the last token's logits, or empty
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::int32_t vocab_size() const = 0;
  virtual std::size_t context_length() const = 0;  // the most tokens one sequence can hold

  virtual KvPoolStats kv_pool() const { return {}; }

  // An empty sequence that may grow to context_length() tokens (with a shared pool it holds no
  // memory until it does).
  virtual Result<std::unique_ptr<Sequence>> create_sequence() = 0;

  // Appends `tokens` to `sequence`. When `last_logits` is non-empty (vocab_size floats) it
  // receives the logits of the last token; only that row is computed.
  virtual Status forward(Sequence& sequence, std::span<const std::int32_t> tokens,
                         std::span<float> last_logits) = 0;

  // Appends every item's tokens to its sequence (each sequence at most once) in one pass where
  // the backend can; at most batch_capacity() tokens in all. Each item's numbers are those it gets
  // computed alone. On error the items' sequences are left unknown. By default: one by one.
  virtual Status forward_batch(std::span<const BatchItem> items) {
    for (const BatchItem& item : items) PENSIEVE_TRY(forward(*item.sequence, item.tokens, item.last_logits));
    return {};
  }
  virtual std::size_t batch_capacity() const { return SIZE_MAX; }

  // Keeping a sequence's cache across restarts (engine/prompt_store): prefixes of a multiple of
  // prefix_granularity() tokens (0: not supported), as bytes that identify themselves by
  // cache_identity() — the model and the cache's format — and that save_prefix hands out piece by
  // piece; load_prefix reads those of a `stored`-token prefix and keeps the first n tokens,
  // skipping the rest with `skip(bytes)` (model::Sequence::save_prefix, load_prefix).
  virtual std::size_t prefix_granularity() const { return 0; }
  virtual std::string cache_identity() const { return {}; }
  virtual std::uint64_t prefix_bytes(std::size_t /*n*/) const { return 0; }
  virtual Status save_prefix(Sequence& /*sequence*/, std::size_t /*n*/,
                             FunctionRef<Status(std::span<const std::uint8_t>)> /*write*/) {
    return make_error(ErrorCode::kUnsupported, "this backend cannot save a cache prefix");
  }
  virtual Status load_prefix(Sequence& /*sequence*/, std::size_t /*n*/, std::size_t /*stored*/,
                             FunctionRef<Status(std::span<std::uint8_t>)> /*read*/,
                             FunctionRef<Status(std::size_t)> /*skip*/) {
    return make_error(ErrorCode::kUnsupported, "this backend cannot load a cache prefix");
  }
};

}  // namespace pensieve::engine
