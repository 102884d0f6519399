#include "model/kv_pool.hpp"

#include <cassert>
#include <cstring>
#include <string>

namespace pensieve::model {

kernels::KvBlockLayout KvPool::layout_for(const Hyperparams& hp, kernels::KvType kv_type) {
  return {kv_type, hp.n_layer, hp.n_head_kv, hp.head_dim_k, hp.head_dim_v};
}

std::uint64_t KvPool::block_bytes_for(const Hyperparams& hp, kernels::KvType kv_type) {
  const std::uint64_t contents = layout_for(hp, kv_type).bytes();
  return (contents + kPageBytes - 1) / kPageBytes * kPageBytes;
}

std::uint64_t KvPool::bytes_for(const Hyperparams& hp, kernels::KvType kv_type, std::uint32_t blocks) {
  return block_bytes_for(hp, kv_type) * blocks;
}

Result<std::shared_ptr<KvPool>> KvPool::create(const Hyperparams& hp, kernels::KvType kv_type,
                                               std::uint32_t blocks, Paging paging) {
  const std::uint64_t block_bytes = block_bytes_for(hp, kv_type);
  const std::uint64_t bytes = block_bytes * blocks;
  auto memory = core::AnonymousMemory::allocate(bytes);
  if (!memory) {
    return make_error(ErrorCode::kResourceExhausted, "not enough memory for a KV pool of " +
                                                         std::to_string(blocks) + " blocks (" +
                                                         std::to_string(bytes >> 20) + " MiB)");
  }
  // Written now, so the kernel gives every page (zeros, as a fresh mapping reads anyway).
  if (paging == Paging::kResident) std::memset(memory->data(), 0, memory->size());
  try {
    return std::shared_ptr<KvPool>(
        new KvPool(layout_for(hp, kv_type), block_bytes, blocks, paging, std::move(*memory)));
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCode::kResourceExhausted,
                      "not enough memory for the block counts of a KV pool of " + std::to_string(blocks));
  }
}

KvPool::KvPool(kernels::KvBlockLayout layout, std::size_t block_bytes, std::uint32_t blocks, Paging paging,
               core::AnonymousMemory memory)
    : layout_(layout),
      block_bytes_(block_bytes),
      total_(blocks),
      paging_(paging),
      memory_(std::move(memory)),
      free_(blocks),
      holders_(blocks, 0),
      pinned_(blocks, 0),
      free_count_(blocks) {
  // Lowest blocks first, so a pool that is never full never touches its upper end.
  for (std::uint32_t i = 0; i < blocks; ++i) free_[i] = blocks - 1 - i;
}

std::uint32_t KvPool::holders(std::uint32_t block) const {
  std::lock_guard lock(mutex_);
  return holders_.at(block);
}

void KvPool::count_change(std::uint32_t block, std::uint32_t holders, std::uint32_t pinned) {
  const bool was = holders_[block] > 0 && pinned_[block] == 0;
  const bool is = holders > 0 && pinned == 0;
  holders_[block] = holders;
  pinned_[block] = pinned;
  if (is && !was) unpinned_only_.fetch_add(1, std::memory_order_relaxed);
  if (was && !is) unpinned_only_.fetch_sub(1, std::memory_order_relaxed);
}

bool KvPool::take(std::span<std::uint32_t> out, bool pinned) {
  std::lock_guard lock(mutex_);
  if (out.size() > free_.size()) return false;
  for (std::uint32_t& block : out) {
    block = free_.back();
    free_.pop_back();
    count_change(block, 1, pinned ? 1 : 0);
  }
  free_count_.store(static_cast<std::uint32_t>(free_.size()), std::memory_order_relaxed);
  return true;
}

void KvPool::retain(std::uint32_t block, bool pinned) {
  std::lock_guard lock(mutex_);
  assert(holders_[block] > 0);
  count_change(block, holders_[block] + 1, pinned_[block] + (pinned ? 1 : 0));
}

void KvPool::release(std::uint32_t block, bool pinned) {
  std::lock_guard lock(mutex_);
  assert(holders_[block] > 0 && (!pinned || pinned_[block] > 0));
  count_change(block, holders_[block] - 1, pinned_[block] - (pinned ? 1 : 0));
  if (holders_[block] != 0) return;
  if (paging_ == Paging::kOnDemand) memory_.discard(std::size_t{block} * block_bytes_, block_bytes_);
  free_.push_back(block);
  free_count_.store(static_cast<std::uint32_t>(free_.size()), std::memory_order_relaxed);
}

void KvPool::repin(std::uint32_t block, bool pinned) {
  std::lock_guard lock(mutex_);
  assert(holders_[block] > 0 && (pinned || pinned_[block] > 0));
  count_change(block, holders_[block], pinned ? pinned_[block] + 1 : pinned_[block] - 1);
}

void KvPool::copy_block(std::uint32_t from, std::uint32_t to) const {
  std::memcpy(block_data(to), block_data(from), layout_.bytes());
}

}  // namespace pensieve::model
