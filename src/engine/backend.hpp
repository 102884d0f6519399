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

  // A sequence with room for context_length() tokens; created once per slot at start-up.
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
