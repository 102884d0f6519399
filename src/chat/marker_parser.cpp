#include "chat/marker_parser.hpp"

#include <utility>

#include "chat/tool_call_object.hpp"

namespace pensieve::chat {

MarkerParser::BodyStatus MarkerParser::close_with_optional_marker(std::string_view input, size_t& consumed,
                                                                  std::string_view marker, bool at_end) {
  switch (expect_literal(input, consumed, marker)) {
    case Expect::kFound:
      return BodyStatus::kDone;
    case Expect::kPartial:
      return at_end ? BodyStatus::kDone : BodyStatus::kMore;
    case Expect::kAbsent:
      return BodyStatus::kDone;
  }
  return BodyStatus::kFailed;
}

template <class Reader>
MarkerParser::BodyStatus MarkerParser::feed_json_reader(Reader& reader, std::string_view input,
                                                        size_t& consumed) {
  while (consumed < input.size()) {
    const auto status = reader.feed(input[consumed], writer_);
    if (status == ToolCallObject::Status::kFailed) return BodyStatus::kFailed;
    ++consumed;
    if (status == ToolCallObject::Status::kDone) return BodyStatus::kDone;
  }
  return BodyStatus::kMore;
}

MarkerParser::BodyStatus MarkerParser::feed_json_call(ToolCallObject& reader, std::string_view input,
                                                      size_t& consumed) {
  return feed_json_reader(reader, input, consumed);
}

MarkerParser::BodyStatus MarkerParser::feed_json_call(ToolCallArray& reader, std::string_view input,
                                                      size_t& consumed) {
  return feed_json_reader(reader, input, consumed);
}

MarkerParser::BodyStatus MarkerParser::feed_json_arguments(JsonScanner& scanner, std::string_view input,
                                                           size_t& consumed) {
  switch (stream_json_arguments(scanner, input, consumed, writer_)) {
    case ArgumentsStep::kMore:
      return BodyStatus::kMore;
    case ArgumentsStep::kComplete:
      return BodyStatus::kDone;
    case ArgumentsStep::kInvalid:
      return BodyStatus::kFailed;
  }
  return BodyStatus::kFailed;
}

MarkerParser::MarkerParser(ParserOptions options)
    : writer_(sink_, options.make_tool_call_id), options_(std::move(options)) {}

void MarkerParser::feed(std::string_view chunk, std::vector<ChatEvent>& out) {
  sink_.bind(&out);
  buf_.append(chunk);
  run(/*at_end=*/false);
}

void MarkerParser::finish(std::vector<ChatEvent>& out) {
  sink_.bind(&out);
  run(/*at_end=*/true);
  if (writer_.open()) writer_.end(false);
}

void MarkerParser::run(bool at_end) {
  for (;;) {
    bool progressed = false;
    switch (mode_) {
      case Mode::kText: progressed = step_text(at_end); break;
      case Mode::kBody: progressed = step_body(at_end); break;
      case Mode::kAfterCall: progressed = step_after_call(at_end); break;
    }
    if (!progressed) break;
  }
  buf_.erase(0, pos_);
  pos_ = 0;
}

void MarkerParser::enter_body(int opener, std::string_view marker) {
  pending_.assign(marker);
  pending_marker_size_ = marker.size();
  calls_before_body_ = writer_.started_count();
  begin_body(opener);
  mode_ = Mode::kBody;
}

bool MarkerParser::step_text(bool at_end) {
  const std::string_view view = std::string_view(buf_).substr(pos_);
  if (view.empty()) return false;
  if (at_start_) {
    const size_t first = view.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos && !at_end) return false;
    at_start_ = false;
    if (first != std::string_view::npos && implicit_body_at(view[first])) {
      // Leading blanks belong to the body, so a failed body gives them back with its text.
      enter_body(kImplicitOpener, {});
      return true;
    }
  }
  const auto all_markers = markers();
  const MarkerHit hit = find_first_marker(view, all_markers);
  if (hit.marker != nullptr) {
    std::string_view before = view.substr(0, hit.at);
    // Blanks between text and a tool call carry nothing; they come back if the call fails.
    const size_t blanks = hit.marker->opener != kDropMarker ? trailing_blanks(before) : 0;
    sink_.text(before.substr(0, before.size() - blanks));
    pos_ += hit.at + hit.marker->text.size();
    if (hit.marker->opener != kDropMarker) {
      enter_body(hit.marker->opener, view.substr(hit.at - blanks, blanks + hit.marker->text.size()));
    }
    return true;
  }
  size_t release = releasable(view, all_markers, at_end);
  // Trailing blanks wait to see whether a tool call follows them.
  if (!at_end) release -= trailing_blanks(view.substr(0, release));
  if (release == 0) return false;
  sink_.text(view.substr(0, release));
  pos_ += release;
  return true;
}

bool MarkerParser::step_body(bool at_end) {
  const std::string_view input = std::string_view(buf_).substr(pos_);
  if (input.empty() && !at_end) return false;
  size_t consumed = 0;
  BodyStatus status = parse_body(input, consumed, at_end);
  if (status == BodyStatus::kMore && at_end) status = BodyStatus::kFailed;
  const bool committed = writer_.started_count() > calls_before_body_;
  if (!committed) pending_.append(input.substr(0, consumed));
  pos_ += consumed;
  switch (status) {
    case BodyStatus::kMore: return consumed > 0;
    case BodyStatus::kDone:
      if (writer_.open()) writer_.end(true);
      pending_.clear();
      mode_ = Mode::kAfterCall;
      return true;
    case BodyStatus::kFailed:
      if (committed) {
        if (writer_.open()) writer_.end(false);
      } else {
        // Nothing was emitted for this body: its marker (and the blanks before it) are text, and
        // the rest is scanned again.
        sink_.text(std::string_view(pending_).substr(0, pending_marker_size_));
        buf_.insert(pos_, pending_, pending_marker_size_);
      }
      pending_.clear();
      mode_ = Mode::kText;
      return true;
  }
  return false;
}

bool MarkerParser::step_after_call(bool at_end) {
  const std::string_view view = std::string_view(buf_).substr(pos_);
  const size_t first = view.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    if (!at_end) return false;
    pos_ += view.size();  // blanks after the last call
    mode_ = Mode::kText;
    return false;
  }
  const std::string_view rest = view.substr(first);
  bool marker_follows = false;
  bool could_be_marker = false;
  for (const Marker& marker : markers()) {
    if (rest.starts_with(marker.text)) marker_follows = true;
    if (marker.text.starts_with(rest)) could_be_marker = true;
  }
  if (!marker_follows && could_be_marker && !at_end) return false;
  if (marker_follows) pos_ += first;  // blanks between calls
  mode_ = Mode::kText;
  return true;
}

}  // namespace pensieve::chat
