#include "chat/chat_event.hpp"

#include <utility>

namespace pensieve::chat {

const char* to_string(ChatEventKind kind) {
  switch (kind) {
    case ChatEventKind::kText: return "text";
    case ChatEventKind::kReasoning: return "reasoning";
    case ChatEventKind::kToolCallStart: return "tool_call_start";
    case ChatEventKind::kToolCallArguments: return "tool_call_arguments";
    case ChatEventKind::kToolCallEnd: return "tool_call_end";
  }
  return "unknown";
}

namespace {

bool is_delta(ChatEventKind kind) {
  return kind == ChatEventKind::kText || kind == ChatEventKind::kReasoning ||
         kind == ChatEventKind::kToolCallArguments;
}

// Text buffers of cleared events, per thread (a stream is driven by one thread at a time, and a
// buffer moved between threads is still just memory). Bounded: a burst of events leaves no more
// than this many behind.
constexpr std::size_t kMaxSpareTexts = 16;
thread_local std::vector<std::string> spare_texts;

std::string take_spare_text() {
  if (spare_texts.empty()) return {};
  std::string s = std::move(spare_texts.back());
  spare_texts.pop_back();
  s.clear();
  return s;
}

}  // namespace

void clear_events(std::vector<ChatEvent>& events) {
  if (spare_texts.capacity() < kMaxSpareTexts) spare_texts.reserve(kMaxSpareTexts);
  for (ChatEvent& e : events)
    if (spare_texts.size() < kMaxSpareTexts && e.text.capacity() > std::string().capacity())
      spare_texts.push_back(std::move(e.text));
  events.clear();
}

void EventSink::delta_event(ChatEventKind kind, std::string_view delta) {
  if (delta.empty() || out_ == nullptr) return;
  if (!out_->empty() && out_->back().kind == kind) {
    out_->back().text.append(delta);
    return;
  }
  ChatEvent event;
  event.kind = kind;
  event.text = take_spare_text();
  event.text.assign(delta);
  out_->push_back(std::move(event));
}

void EventSink::tool_call_start(std::string id, std::string name) {
  if (out_ == nullptr) return;
  ChatEvent event;
  event.kind = ChatEventKind::kToolCallStart;
  event.id = std::move(id);
  event.name = std::move(name);
  out_->push_back(std::move(event));
}

void EventSink::tool_call_end(bool complete) {
  if (out_ == nullptr) return;
  ChatEvent event;
  event.kind = ChatEventKind::kToolCallEnd;
  event.complete = complete;
  out_->push_back(std::move(event));
}

std::vector<ChatEvent> merge_adjacent_deltas(const std::vector<ChatEvent>& events) {
  std::vector<ChatEvent> merged;
  for (const ChatEvent& event : events) {
    if (is_delta(event.kind) && event.text.empty()) continue;
    if (is_delta(event.kind) && !merged.empty() && merged.back().kind == event.kind) {
      merged.back().text += event.text;
    } else {
      merged.push_back(event);
    }
  }
  return merged;
}

}  // namespace pensieve::chat
