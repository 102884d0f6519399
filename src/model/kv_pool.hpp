// model/kv_pool: memory for the KV caches of many sequences of one model, in blocks of
// kBlockTokens positions (kernels/kv_cache.hpp gives a block's layout). Sequences take blocks as
// they grow and give them back as they shrink; a block several sequences hold (a shared prompt
// prefix) is counted once per holder and stays until the last lets go. A block no one holds goes
// back to the free list and, in a shared pool, its pages to the kernel, so dropping cache
// really frees memory.
//
// Holders are pinned (a sequence being computed) or not (a sequence kept only in case a later
// prompt starts the same way); unpinned_only_blocks() says how much dropping every unpinned one
// would free. Counts are kept as holders come and go, so reading them costs nothing.
//
// The counts are safe to read from any thread; taking, sharing and giving back blocks is for one
// thread at a time (the scheduler's), as sharing reads another sequence's table unlocked.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "core/anonymous_memory.hpp"
#include "core/result.hpp"
#include "kernels/kv_cache.hpp"
#include "model/hyperparams.hpp"

namespace pensieve::model {

class KvPool {
 public:
  static constexpr std::uint32_t kBlockTokens = kernels::kKvBlockTokens;

  // How a pool holds its memory.
  enum class Paging {
    // Pages taken as blocks are first written and given back as blocks are freed: a pool shared
    // by many sequences, whose memory follows what they hold.
    kOnDemand,
    // Every page taken at creation and kept until the pool goes: a sequence's own pool, resident
    // as a contiguous cache was, so the memory counted for it at start-up is the memory it has.
    kResident,
  };
  // Blocks start on page boundaries and fill whole pages, so freeing one returns its memory.
  static constexpr std::size_t kPageBytes = 4096;

  // The block layout of this model's caches in `kv_type`.
  static kernels::KvBlockLayout layout_for(const Hyperparams& hp, kernels::KvType kv_type);
  // Bytes one block takes in a pool: its contents rounded up to whole pages.
  static std::uint64_t block_bytes_for(const Hyperparams& hp, kernels::KvType kv_type);
  // Bytes a pool of `blocks` blocks maps.
  static std::uint64_t bytes_for(const Hyperparams& hp, kernels::KvType kv_type, std::uint32_t blocks);

  // A pool of `blocks` blocks, all free. Callers go through Model::create_kv_pool (or
  // create_sequence), which check the shape first.
  static Result<std::shared_ptr<KvPool>> create(const Hyperparams& hp, kernels::KvType kv_type,
                                                std::uint32_t blocks, Paging paging = Paging::kOnDemand);

  KvPool(const KvPool&) = delete;
  KvPool& operator=(const KvPool&) = delete;

  kernels::KvType kv_type() const { return layout_.type; }
  const kernels::KvBlockLayout& layout() const { return layout_; }
  std::uint32_t total_blocks() const { return total_; }
  std::uint32_t free_blocks() const { return free_count_.load(std::memory_order_relaxed); }
  std::uint32_t used_blocks() const { return total_ - free_blocks(); }
  // Blocks held by unpinned holders only: what dropping every cached sequence would free.
  std::uint32_t unpinned_only_blocks() const { return unpinned_only_.load(std::memory_order_relaxed); }
  std::size_t block_bytes() const { return block_bytes_; }
  Paging paging() const { return paging_; }
  // Memory the held blocks take (free blocks of a kOnDemand pool take none).
  std::uint64_t held_bytes() const { return std::uint64_t{used_blocks()} * block_bytes_; }
  // Holders of one block (0 when free); for tests and diagnostics.
  std::uint32_t holders(std::uint32_t block) const;

  // Layer `layer` of the blocks `table` lists, as the attention kernels address it.
  kernels::KvLayer layer(std::size_t layer, std::span<const std::uint32_t> table) const {
    return layout_.layer(layer, memory_.data(), block_bytes_, table.data(), table.size());
  }
  std::uint8_t* block_data(std::uint32_t block) const { return memory_.data() + block * block_bytes_; }

 private:
  friend class BlockTable;  // the only holder type: takes, shares and returns blocks

  KvPool(kernels::KvBlockLayout layout, std::size_t block_bytes, std::uint32_t blocks, Paging paging,
         core::AnonymousMemory memory);

  // Fills `out` with free blocks, each with one holder (pinned or not); all of them or, when
  // fewer are free, none (false).
  bool take(std::span<std::uint32_t> out, bool pinned);
  // One more holder of a held block.
  void retain(std::uint32_t block, bool pinned);
  // One holder fewer; the last one's leaving frees the block and its pages.
  void release(std::uint32_t block, bool pinned);
  // A holder of the block becomes pinned (or unpinned).
  void repin(std::uint32_t block, bool pinned);
  // Copies a block's contents into another.
  void copy_block(std::uint32_t from, std::uint32_t to) const;

  // Updates unpinned_only_ around a change of one block's counts. Called with mutex_ held.
  void count_change(std::uint32_t block, std::uint32_t holders, std::uint32_t pinned);

  kernels::KvBlockLayout layout_;
  std::size_t block_bytes_;
  std::uint32_t total_;
  Paging paging_;
  core::AnonymousMemory memory_;

  mutable std::mutex mutex_;            // guards the vectors below and the counters' updates
  std::vector<std::uint32_t> free_;     // free blocks; the next taken is at the back
  std::vector<std::uint32_t> holders_;  // per block
  std::vector<std::uint32_t> pinned_;   // per block: how many of its holders are pinned
  std::atomic<std::uint32_t> free_count_;
  std::atomic<std::uint32_t> unpinned_only_{0};
};

}  // namespace pensieve::model
