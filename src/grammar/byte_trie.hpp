// grammar/byte_trie: the byte strings of a vocabulary as a trie laid out in preorder, so that a
// walk is a forward scan that skips a whole subtree with one jump when its prefix is refused.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace pensieve::grammar {

class ByteTrie {
 public:
  // entries: (bytes, id); empty strings are left out. Several ids may share the same bytes.
  explicit ByteTrie(std::vector<std::pair<std::string_view, std::uint32_t>> entries);

  // Node 0 is the root (the empty prefix); nodes are numbered in preorder.
  std::size_t size() const { return byte_.size(); }
  std::uint8_t byte(std::size_t i) const { return byte_[i]; }
  std::uint32_t depth(std::size_t i) const { return depth_[i]; }
  // One past the last node of i's subtree.
  std::uint32_t subtree_end(std::size_t i) const { return end_[i]; }
  // The ids whose bytes end exactly at node i.
  std::span<const std::uint32_t> ids(std::size_t i) const {
    return {ids_.data() + ids_begin_[i], ids_begin_[i + 1] - ids_begin_[i]};
  }
  std::uint32_t max_depth() const { return max_depth_; }

 private:
  std::vector<std::uint8_t> byte_;
  std::vector<std::uint32_t> depth_;
  std::vector<std::uint32_t> end_;
  std::vector<std::uint32_t> ids_begin_;  // size() + 1 entries
  std::vector<std::uint32_t> ids_;
  std::uint32_t max_depth_ = 0;
};

}  // namespace pensieve::grammar
