#include "model/block_table.hpp"

#include <cassert>
#include <utility>

namespace pensieve::model {

BlockTable::BlockTable(std::shared_ptr<KvPool> pool, std::size_t max_blocks) : pool_(std::move(pool)) {
  blocks_.reserve(max_blocks);
}

BlockTable::BlockTable(BlockTable&& other) noexcept
    : pool_(std::move(other.pool_)), blocks_(std::exchange(other.blocks_, {})), pinned_(other.pinned_) {}

BlockTable& BlockTable::operator=(BlockTable&& other) noexcept {
  if (this != &other) {
    truncate(0);
    pool_ = std::move(other.pool_);
    blocks_ = std::exchange(other.blocks_, {});
    pinned_ = other.pinned_;
  }
  return *this;
}

void BlockTable::set_pinned(bool pinned) {
  if (pinned == pinned_) return;
  pinned_ = pinned;
  for (std::uint32_t block : blocks_) pool_->repin(block, pinned);
}

void BlockTable::truncate(std::size_t keep) {
  while (blocks_.size() > keep) {
    pool_->release(blocks_.back(), pinned_);
    blocks_.pop_back();
  }
}

void BlockTable::share(const BlockTable& from, std::size_t count) {
  assert(blocks_.empty() && pool_ == from.pool_ && count <= from.blocks_.size());
  for (std::size_t i = 0; i < count; ++i) {
    pool_->retain(from.blocks_[i], pinned_);
    blocks_.push_back(from.blocks_[i]);
  }
}

bool BlockTable::take(std::size_t count, std::vector<std::uint32_t>& out) {
  const std::size_t first = out.size();
  out.resize(first + count);
  if (pool_->take(std::span(out).subspan(first), pinned_)) return true;
  out.resize(first);
  return false;
}

void BlockTable::give_back(std::span<const std::uint32_t> taken) {
  for (std::uint32_t block : taken) pool_->release(block, pinned_);
}

void BlockTable::replace_with_copy(std::size_t i, std::uint32_t block) {
  pool_->copy_block(blocks_[i], block);
  pool_->release(blocks_[i], pinned_);
  blocks_[i] = block;
}

}  // namespace pensieve::model
