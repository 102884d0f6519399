#include "api/request_summary.hpp"

namespace pensieve::api {

std::string summarize_conversation(const nlohmann::ordered_json& body) {
  const auto messages = body.find("messages");
  if (messages == body.end() || !messages->is_array() || messages->empty()) return "no messages";
  const auto& last = messages->back();
  std::string out = std::to_string(messages->size()) + " message" + (messages->size() == 1 ? "" : "s") +
                    ", the last " +
                    (last.contains("role") && last["role"].is_string() ? last["role"].get<std::string>()
                                                                       : std::string("?"));
  std::string blocks;
  const auto content = last.find("content");
  if (content != last.end() && content->is_string()) {
    blocks = "text";
  } else if (content != last.end() && content->is_array()) {
    for (const auto& block : *content) {
      if (!blocks.empty()) blocks += ", ";
      blocks += block.is_object() && block.contains("type") && block["type"].is_string()
                    ? block["type"].get<std::string>()
                    : std::string("?");
    }
  }
  return out + " [" + blocks + "]";
}

}  // namespace pensieve::api
