// chat/chat_event: what a stream parser reports while it splits generated text into visible
// text, reasoning and tool calls. The API layer turns these into its own stream events.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pensieve::chat {

enum class ChatEventKind : std::uint8_t {
  kText,               // text: a piece of the visible answer
  kReasoning,          // text: a piece of the model's reasoning ("thinking")
  kToolCallStart,      // id, name: a tool call begins; arguments follow
  kToolCallArguments,  // text: a piece of the arguments JSON; the pieces of one call concatenate
                       // to its full arguments object
  kToolCallEnd,        // complete: false when the arguments were cut off or malformed after
                       // they had begun to stream (they cannot be taken back then)
};

const char* to_string(ChatEventKind kind);

struct ChatEvent {
  ChatEventKind kind = ChatEventKind::kText;
  std::string text;
  std::string id;
  std::string name;
  bool complete = true;

  bool operator==(const ChatEvent&) const = default;
};

// Appends events to a caller-owned vector. Deltas of the same kind that follow each other are
// merged into one event, so a caller that clears and reuses its vector allocates only when a
// delta outgrows the string's capacity.
class EventSink {
 public:
  explicit EventSink(std::vector<ChatEvent>* out = nullptr) : out_(out) {}
  void bind(std::vector<ChatEvent>* out) { out_ = out; }

  void text(std::string_view delta) { delta_event(ChatEventKind::kText, delta); }
  void reasoning(std::string_view delta) { delta_event(ChatEventKind::kReasoning, delta); }
  void arguments(std::string_view delta) { delta_event(ChatEventKind::kToolCallArguments, delta); }
  void tool_call_start(std::string id, std::string name);
  void tool_call_end(bool complete);

 private:
  void delta_event(ChatEventKind kind, std::string_view delta);
  std::vector<ChatEvent>* out_;
};

// Empties `events`, keeping their text buffers for the next events this thread's EventSinks make:
// a stream that clears its vector after each token then allocates nothing once they have grown.
void clear_events(std::vector<ChatEvent>& events);

// Merges adjacent deltas of the same kind: two streams that differ only in how their deltas were
// cut compare equal afterwards.
std::vector<ChatEvent> merge_adjacent_deltas(const std::vector<ChatEvent>& events);

}  // namespace pensieve::chat
