#include "api/request_summary.hpp"

namespace pensieve::api {

std::string summarize_conversation(const chat::Conversation& conversation) {
  const auto& messages = conversation.messages;
  if (messages.empty()) return "no messages";
  const chat::Message& last = messages.back();
  std::string out = std::to_string(messages.size()) + " message" + (messages.size() == 1 ? "" : "s") +
                    ", the last " + std::string(chat::role_name(last.role));
  std::string blocks;
  if (last.content.bare_text) {
    blocks = "text";
  } else {
    for (const auto& block : last.content.blocks) {
      if (!blocks.empty()) blocks += ", ";
      blocks += chat::block_type(block);
    }
  }
  return out + " [" + blocks + "]";
}

}  // namespace pensieve::api
