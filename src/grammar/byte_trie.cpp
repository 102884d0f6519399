#include "grammar/byte_trie.hpp"

#include <algorithm>

namespace pensieve::grammar {

ByteTrie::ByteTrie(std::vector<std::pair<std::string_view, std::uint32_t>> entries) {
  std::erase_if(entries, [](const auto& e) { return e.first.empty(); });
  std::sort(entries.begin(), entries.end());
  byte_.push_back(0);
  depth_.push_back(0);
  end_.push_back(0);
  ids_begin_.push_back(0);
  // path[d]: the node at depth d on the current string's path.
  std::vector<std::uint32_t> path{0};
  std::string_view previous;
  for (const auto& [bytes, id] : entries) {
    std::size_t common = 0;
    while (common < previous.size() && common < bytes.size() && previous[common] == bytes[common]) ++common;
    common = std::min(common, path.size() - 1);
    while (path.size() > common + 1) {
      end_[path.back()] = static_cast<std::uint32_t>(byte_.size());
      path.pop_back();
    }
    for (std::size_t d = common; d < bytes.size(); ++d) {
      path.push_back(static_cast<std::uint32_t>(byte_.size()));
      byte_.push_back(static_cast<std::uint8_t>(bytes[d]));
      depth_.push_back(static_cast<std::uint32_t>(d + 1));
      end_.push_back(0);
      ids_begin_.push_back(static_cast<std::uint32_t>(ids_.size()));
    }
    ids_.push_back(id);
    max_depth_ = std::max<std::uint32_t>(max_depth_, static_cast<std::uint32_t>(bytes.size()));
    previous = bytes;
  }
  for (const std::uint32_t n : path) end_[n] = static_cast<std::uint32_t>(byte_.size());
  ids_begin_.push_back(static_cast<std::uint32_t>(ids_.size()));
}

}  // namespace pensieve::grammar
