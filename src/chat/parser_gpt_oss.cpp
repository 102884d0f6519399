// gpt-oss (harmony). Generation continues after "<|start|>assistant" with messages of the form
//   HEADER<|message|>BODY<|end|>            then <|start|>assistant HEADER… for the next one
// where HEADER holds <|channel|>analysis|commentary|final and, for a tool call, to=functions.NAME
// (before or after the channel) and maybe <|constrain|>json. A call's body is its JSON arguments
// and ends with <|call|>. analysis → reasoning; final and commentary without recipient → text.
#include "chat/family_parsers.hpp"
#include "chat/json_scanner.hpp"
#include "chat/marker_scan.hpp"
#include "chat/tool_call_writer.hpp"

namespace pensieve::chat {

namespace {

constexpr std::string_view kMessage = "<|message|>";
constexpr std::string_view kChannel = "<|channel|>";
constexpr std::string_view kStart = "<|start|>";
// Body terminators: the first three are consumed, the last two begin the next header.
constexpr Marker kBodyEnds[] = {{"<|end|>", 0}, {"<|call|>", 0}, {"<|return|>", 0}, {kStart, 1}, {kChannel, 1}};
constexpr std::string_view kHeaderStarts[] = {kStart, kChannel, "to=", "<|constrain|>", "assistant"};
constexpr size_t kMaxHeaderSize = 512;

std::string_view skip_space(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  return first == std::string_view::npos ? std::string_view() : text.substr(first);
}

// A header in the making: does it (still) begin like one?
bool could_be_header(std::string_view header) {
  header = skip_space(header);
  if (header.empty()) return true;
  for (std::string_view start : kHeaderStarts) {
    if (header.starts_with(start) || start.starts_with(header)) return true;
  }
  return false;
}

std::string_view word_after(std::string_view text, std::string_view key) {
  const size_t at = text.find(key);
  if (at == std::string_view::npos) return {};
  const std::string_view rest = text.substr(at + key.size());
  size_t end = 0;
  while (end < rest.size() && !is_blank(rest[end]) && rest[end] != '<') ++end;
  return rest.substr(0, end);
}

class GptOssParser final : public StreamParser {
 public:
  explicit GptOssParser(ParserOptions options)
      : writer_(sink_, std::move(options.make_tool_call_id)), parse_tool_calls_(options.parse_tool_calls) {}

  void feed(std::string_view chunk, std::vector<ChatEvent>& out) override {
    sink_.bind(&out);
    buf_.append(chunk);
    run(/*at_end=*/false);
  }

  void finish(std::vector<ChatEvent>& out) override {
    sink_.bind(&out);
    run(/*at_end=*/true);
    if (state_ == State::kHeader) sink_.text(buf_);  // an unfinished header is not lost
    buf_.clear();
    if (writer_.open()) writer_.end(false);
  }

 private:
  enum class State { kHeader, kBody };
  enum class Body { kText, kReasoning, kToolCall, kAfterToolCall };

  void run(bool at_end) {
    while (state_ == State::kHeader ? step_header() : step_body(at_end)) {
    }
  }

  bool step_header() {
    const size_t message = buf_.find(kMessage);
    const std::string_view header =
        std::string_view(buf_).substr(0, message == std::string::npos ? buf_.size() : message);
    const bool empty_header = message != std::string::npos && skip_space(header).empty();
    if (!could_be_header(header) || header.size() > kMaxHeaderSize || empty_header) {
      // Not harmony after all: plain answer text.
      body_ = Body::kText;
      state_ = State::kBody;
      return true;
    }
    if (message == std::string::npos) return false;  // at the end, finish() releases it
    open_body(header);
    buf_.erase(0, message + kMessage.size());
    state_ = State::kBody;
    return true;
  }

  void open_body(std::string_view header) {
    const std::string_view channel = word_after(header, kChannel);
    std::string_view recipient = word_after(header, "to=");
    if (!recipient.empty() && !parse_tool_calls_) {
      body_ = Body::kText;  // tool_choice "none": the call's arguments are only text
    } else if (!recipient.empty()) {
      if (recipient.starts_with("functions.")) recipient.remove_prefix(10);
      writer_.start(std::string(recipient));
      scanner_ = JsonScanner(/*objects_only=*/true);
      body_ = Body::kToolCall;
    } else if (channel == "analysis") {
      body_ = Body::kReasoning;
    } else {
      body_ = Body::kText;
    }
  }

  void emit_body(std::string_view text) {
    switch (body_) {
      case Body::kText: sink_.text(text); return;
      case Body::kReasoning: sink_.reasoning(text); return;
      case Body::kToolCall: {
        size_t consumed = 0;
        const ArgumentsStep step = stream_json_arguments(scanner_, text, consumed, writer_);
        if (step == ArgumentsStep::kMore) return;
        writer_.end(step == ArgumentsStep::kComplete);
        body_ = Body::kAfterToolCall;
        emit_body(text.substr(consumed));
        return;
      }
      case Body::kAfterToolCall: {
        // Anything after the arguments other than blanks is kept as text.
        const std::string_view rest = skip_space(text);
        if (!rest.empty()) {
          body_ = Body::kText;
          sink_.text(rest);
        }
        return;
      }
    }
  }

  void close_body() {
    if (writer_.open()) writer_.end(false);  // the message ended inside the arguments
  }

  bool step_body(bool at_end) {
    const std::string_view view = buf_;
    const MarkerHit hit = find_first_marker(view, kBodyEnds);
    if (hit.marker != nullptr) {
      emit_body(view.substr(0, hit.at));
      close_body();
      const bool starts_next_header = hit.marker->opener == 1;
      buf_.erase(0, hit.at + (starts_next_header ? 0 : hit.marker->text.size()));
      state_ = State::kHeader;
      return true;
    }
    const size_t release = releasable(view, kBodyEnds, at_end);
    if (release == 0) return false;
    emit_body(view.substr(0, release));
    buf_.erase(0, release);
    return true;
  }

  EventSink sink_;
  ToolCallWriter writer_;
  JsonScanner scanner_;
  bool parse_tool_calls_;
  std::string buf_;
  State state_ = State::kHeader;
  Body body_ = Body::kText;
};

}  // namespace

std::unique_ptr<StreamParser> make_gpt_oss_parser(ParserOptions options) {
  return std::make_unique<GptOssParser>(std::move(options));
}

}  // namespace pensieve::chat
