#include "tokenizer/tokenizer.hpp"
#include "tokenizer/unicode.hpp"

namespace pensieve::tokenizer {

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, DecodeOptions options)
    : tokenizer_(&tokenizer), options_(options) {}

std::string_view StreamDecoder::feed(std::int32_t id) {
  tokenizer_->append_piece(id, options_, pending_);
  const std::size_t complete = complete_utf8_prefix(pending_);
  ready_.clear();
  append_sanitized_utf8(std::string_view(pending_).substr(0, complete), ready_);
  pending_.erase(0, complete);
  finish();
  return ready_;
}

std::string_view StreamDecoder::flush() {
  ready_.clear();
  append_sanitized_utf8(pending_, ready_);
  pending_.clear();
  finish();
  return ready_;
}

// Complete characters only reach here, so a U+2581 is never cut between two calls.
void StreamDecoder::finish() {
  if (ready_.empty()) return;
  tokenizer_->finish_decoded_text(ready_, 0, at_start_, options_);
  at_start_ = false;
}

void StreamDecoder::reset() {
  at_start_ = true;
  pending_.clear();
  ready_.clear();
}

}  // namespace pensieve::tokenizer
