// model/block_table: one sequence's hold on KV pool blocks — entry i is the block of positions
// [64·i, 64·i + 64) — as one holder, pinned or not (model/kv_pool.hpp). Gives every block back
// when it shrinks or dies; moves, never copies, so each hold is released exactly once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "model/kv_pool.hpp"

namespace pensieve::model {

class BlockTable {
 public:
  BlockTable() = default;
  // Empty, on `pool`, with room for `max_blocks` entries reserved (no allocation as it grows).
  BlockTable(std::shared_ptr<KvPool> pool, std::size_t max_blocks);
  BlockTable(BlockTable&& other) noexcept;
  BlockTable& operator=(BlockTable&& other) noexcept;
  BlockTable(const BlockTable&) = delete;
  BlockTable& operator=(const BlockTable&) = delete;
  ~BlockTable() { truncate(0); }

  KvPool& pool() const { return *pool_; }
  const std::shared_ptr<KvPool>& shared_pool() const { return pool_; }
  std::span<const std::uint32_t> blocks() const { return blocks_; }
  std::size_t size() const { return blocks_.size(); }
  // Whether another holder shares entry i (so it must be copied before a write).
  bool shared(std::size_t i) const { return pool_->holders(blocks_[i]) > 1; }

  bool pinned() const { return pinned_; }
  void set_pinned(bool pinned);

  // Gives back the entries from `keep` on.
  void truncate(std::size_t keep);
  // Becomes (from being empty) a holder of `from`'s first `count` blocks, on the same pool.
  void share(const BlockTable& from, std::size_t count);
  // Takes `count` free blocks from the pool for this table, appending them to `out` (not yet
  // entries): all of them, or none when fewer are free (false).
  bool take(std::size_t count, std::vector<std::uint32_t>& out);
  // Gives back blocks taken with take() that never became entries.
  void give_back(std::span<const std::uint32_t> taken);
  // Adds a block taken with take().
  void append(std::uint32_t block) { blocks_.push_back(block); }
  // Makes entry i a block taken with take() holding a copy of entry i's contents, giving back
  // the block it held (copy on write).
  void replace_with_copy(std::size_t i, std::uint32_t block);

 private:
  std::shared_ptr<KvPool> pool_;
  std::vector<std::uint32_t> blocks_;
  bool pinned_ = true;
};

}  // namespace pensieve::model
