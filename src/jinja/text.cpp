#include "jinja/text.hpp"

#include <algorithm>

namespace pensieve::jinja {

Text::Text(std::string bytes, bool untrusted) : bytes_(std::move(bytes)) {
  if (untrusted && !bytes_.empty()) untrusted_.emplace_back(0, bytes_.size());
}

void Text::mark_untrusted(std::size_t begin, std::size_t end) {
  if (begin >= end) return;
  if (!untrusted_.empty() && untrusted_.back().second >= begin) {
    untrusted_.back().second = std::max(untrusted_.back().second, end);
    return;
  }
  untrusted_.emplace_back(begin, end);
}

void Text::append(const Text& other) {
  const std::size_t offset = bytes_.size();
  bytes_ += other.bytes_;
  for (const auto& [begin, end] : other.untrusted_) mark_untrusted(begin + offset, end + offset);
}

void Text::append_trusted(std::string_view bytes) {
  bytes_ += bytes;
}

void Text::append_untrusted(std::string_view bytes) {
  const std::size_t offset = bytes_.size();
  bytes_ += bytes;
  mark_untrusted(offset, bytes_.size());
}

void Text::append(std::string_view bytes, bool untrusted) {
  if (untrusted) {
    append_untrusted(bytes);
  } else {
    append_trusted(bytes);
  }
}

Text Text::substr(std::size_t pos, std::size_t count) const {
  if (pos >= bytes_.size()) return Text();
  const std::size_t end = count >= bytes_.size() - pos ? bytes_.size() : pos + count;
  Text out(bytes_.substr(pos, end - pos));
  for (const auto& [b, e] : untrusted_) {
    const std::size_t cb = std::max(b, pos);
    const std::size_t ce = std::min(e, end);
    if (cb < ce) out.mark_untrusted(cb - pos, ce - pos);
  }
  return out;
}

}  // namespace pensieve::jinja
