#include "tokenizer/tokenizer.hpp"
#include "tokenizer/unicode.hpp"

namespace pensieve::tokenizer {

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, DecodeOptions options)
    : tokenizer_(&tokenizer), options_(options) {}

std::string_view StreamDecoder::feed(std::int32_t id) {
  tokenizer_->append_piece(id, options_, at_start_, pending_);
  const std::size_t complete = complete_utf8_prefix(pending_);
  ready_.clear();
  append_sanitized_utf8(std::string_view(pending_).substr(0, complete), ready_);
  pending_.erase(0, complete);
  return ready_;
}

std::string_view StreamDecoder::flush() {
  ready_.clear();
  append_sanitized_utf8(pending_, ready_);
  pending_.clear();
  return ready_;
}

void StreamDecoder::reset() {
  at_start_ = true;
  pending_.clear();
  ready_.clear();
}

}  // namespace pensieve::tokenizer
