// <think>…</think> in front of any family's parser. Reasoning is only looked for at the start of
// the answer (after blanks), where the templates that use it put it; blanks at the edges of the
// reasoning and between it and the answer are dropped, as the templates add them.
#include "chat/family_parsers.hpp"
#include "chat/marker_scan.hpp"

namespace pensieve::chat {

namespace {

constexpr std::string_view kOpen = "<think>";
constexpr std::string_view kClose = "</think>";

class ReasoningSplitter final : public StreamParser {
 public:
  ReasoningSplitter(std::unique_ptr<StreamParser> inner, bool starts_in_reasoning)
      : inner_(std::move(inner)), state_(starts_in_reasoning ? State::kReasoningStart : State::kStart) {}

  void feed(std::string_view chunk, std::vector<ChatEvent>& out) override {
    if (state_ == State::kContent) {
      inner_->feed(chunk, out);
      return;
    }
    buf_.append(chunk);
    run(out, /*at_end=*/false);
  }

  void finish(std::vector<ChatEvent>& out) override {
    run(out, /*at_end=*/true);
    if (state_ != State::kContent && !buf_.empty()) {
      // Ended while still deciding: what is left is answer text.
      inner_->feed(buf_, out);
      buf_.clear();
    }
    inner_->finish(out);
  }

 private:
  enum class State { kStart, kReasoningStart, kReasoning, kAfterReasoning, kContent };

  void to_content(std::vector<ChatEvent>& out) {
    state_ = State::kContent;
    std::string rest;
    rest.swap(buf_);
    inner_->feed(rest, out);
  }

  void run(std::vector<ChatEvent>& out, bool at_end) {
    EventSink sink(&out);
    for (;;) {
      switch (state_) {
        case State::kStart: {
          const size_t first = buf_.find_first_not_of(" \t\r\n");
          if (first == std::string::npos) {
            if (at_end) to_content(out);
            return;
          }
          const std::string_view rest = std::string_view(buf_).substr(first);
          if (rest.starts_with(kOpen)) {
            buf_.erase(0, first + kOpen.size());
            state_ = State::kReasoningStart;
            continue;
          }
          if (kOpen.starts_with(rest) && !at_end) return;
          to_content(out);
          return;
        }
        case State::kReasoningStart: {
          const size_t first = buf_.find_first_not_of(" \t\r\n");
          if (first == std::string::npos) {
            if (at_end) buf_.clear();
            return;
          }
          buf_.erase(0, first);
          state_ = State::kReasoning;
          continue;
        }
        case State::kReasoning: {
          const size_t close = buf_.find(kClose);
          if (close != std::string::npos) {
            std::string_view reasoning = std::string_view(buf_).substr(0, close);
            reasoning.remove_suffix(trailing_blanks(reasoning));
            sink.reasoning(reasoning);
            buf_.erase(0, close + kClose.size());
            state_ = State::kAfterReasoning;
            continue;
          }
          if (at_end) {
            std::string_view reasoning = buf_;
            reasoning.remove_suffix(trailing_blanks(reasoning));
            sink.reasoning(reasoning);
            buf_.clear();
            return;
          }
          size_t release = buf_.size() - partial_marker_tail(buf_, kClose);
          release -= trailing_blanks(std::string_view(buf_).substr(0, release));
          sink.reasoning(std::string_view(buf_).substr(0, release));
          buf_.erase(0, release);
          return;
        }
        case State::kAfterReasoning: {
          const size_t first = buf_.find_first_not_of(" \t\r\n");
          if (first == std::string::npos) {
            buf_.clear();
            return;
          }
          buf_.erase(0, first);
          to_content(out);
          return;
        }
        case State::kContent: return;
      }
    }
  }

  std::unique_ptr<StreamParser> inner_;
  State state_;
  std::string buf_;
};

}  // namespace

std::unique_ptr<StreamParser> make_reasoning_splitter(std::unique_ptr<StreamParser> inner,
                                                      bool starts_in_reasoning) {
  return std::make_unique<ReasoningSplitter>(std::move(inner), starts_in_reasoning);
}

}  // namespace pensieve::chat
