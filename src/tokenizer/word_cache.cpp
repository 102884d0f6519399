#include "tokenizer/word_cache.hpp"

namespace pensieve::tokenizer {

bool WordCache::find(std::string_view word, std::uint64_t hash, std::vector<std::int32_t>& out) const {
  if (slots_.empty()) return false;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.word_length == 0) return false;
    if (slot.hash == hash && std::string_view(words_).substr(slot.word_offset, slot.word_length) == word) {
      out.insert(out.end(), ids_.begin() + slot.ids_offset, ids_.begin() + slot.ids_offset + slot.ids_length);
      return true;
    }
  }
}

void WordCache::insert(std::string_view word, std::uint64_t hash, std::span<const std::int32_t> ids) {
  if (count_ >= kMaxEntries) return;
  if ((count_ + 1) * 2 > slots_.size()) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, Slot{});
    const std::size_t mask = slots_.size() - 1;
    for (const Slot& slot : old) {
      if (slot.word_length == 0) continue;
      std::size_t i = slot.hash & mask;
      while (slots_[i].word_length != 0) i = (i + 1) & mask;
      slots_[i] = slot;
    }
  }
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = hash & mask;
  while (slots_[i].word_length != 0) i = (i + 1) & mask;
  slots_[i] = {hash, static_cast<std::uint32_t>(words_.size()), static_cast<std::uint32_t>(word.size()),
               static_cast<std::uint32_t>(ids_.size()), static_cast<std::uint32_t>(ids.size())};
  words_.append(word);
  ids_.insert(ids_.end(), ids.begin(), ids.end());
  ++count_;
}

}  // namespace pensieve::tokenizer
