// What the chat-completions body holds, and why it differs from the local path where it does:
//
// - `system` and any system-role message become one leading system message, as the local chat
//   mapping makes them (many templates refuse a system message further down). A billing-header
//   block (or first line) that Claude Code changes on every request is dropped, for the same reason
//   as there: it would defeat the upstream's prefix cache.
// - A user turn's tool results become "tool" messages, before the turn's text: OpenAI wants a
//   call's result right after the assistant message that made it.
// - Consecutive turns of one role are merged, as Anthropic's API merges them, since many templates
//   insist that roles alternate.
// - Stop sequences are not forwarded: OpenAI's finish_reason cannot say which one matched, and
//   Anthropic's answer must (stop_sequence), so the front matches them in the text it receives.
#include "upstream/chat_body.hpp"

#include <cstdint>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "chat/anthropic_mapping.hpp"

namespace pensieve::upstream {
namespace {

using json = nlohmann::ordered_json;
using chat::ContentBlock;
using chat::Role;

std::string indexed(const std::string& where, std::size_t i) {
  return where + ".content[" + std::to_string(i) + "]";
}

api::ApiError cannot_forward(const std::string& where, std::string_view type) {
  return api::invalid_request(where + ": content blocks of type \"" + std::string(type) +
                              "\" cannot be forwarded to the upstream model");
}

// What stands for an image or a document: the local engine's words.
std::optional<std::string> placeholder(const chat::ToolResultPart& part) {
  if (std::holds_alternative<chat::ImageBlock>(part)) return std::string(chat::kImagePlaceholder);
  if (std::holds_alternative<chat::DocumentBlock>(part)) return std::string(chat::kDocumentPlaceholder);
  return std::nullopt;
}
std::optional<std::string> placeholder(const ContentBlock& block) {
  if (std::holds_alternative<chat::ImageBlock>(block)) return std::string(chat::kImagePlaceholder);
  if (std::holds_alternative<chat::DocumentBlock>(block)) return std::string(chat::kDocumentPlaceholder);
  return std::nullopt;
}

api::ApiError misplaced(const std::string& where, std::string_view type, Role role) {
  return api::invalid_request(where + ": a \"" + std::string(type) + "\" block in a " +
                              std::string(chat::role_name(role)) +
                              " message cannot be forwarded to the upstream model");
}

std::optional<api::ApiError> check_result(const chat::ToolResultBlock& result, const std::string& where) {
  for (std::size_t k = 0; k < result.content.size(); ++k) {
    if (std::holds_alternative<chat::OtherBlock>(result.content[k]))
      return cannot_forward(indexed(where, k), chat::block_type(result.content[k]));
  }
  return std::nullopt;
}

std::optional<api::ApiError> check_block(const ContentBlock& block, Role role, const std::string& where) {
  if (std::holds_alternative<chat::TextBlock>(block)) return std::nullopt;
  // Images and documents go as the local engine shows them to its model: a placeholder saying
  // what was left out (the typed conversation keeps only that they were there).
  if (std::holds_alternative<chat::ImageBlock>(block) || std::holds_alternative<chat::DocumentBlock>(block))
    return role == Role::kUser ? std::optional<api::ApiError>()
                               : misplaced(where, chat::block_type(block), role);
  if (std::holds_alternative<chat::OtherBlock>(block)) return cannot_forward(where, chat::block_type(block));
  const bool fits = role == Role::kAssistant
                        ? std::holds_alternative<chat::ThinkingBlock>(block) ||
                              std::holds_alternative<chat::RedactedThinkingBlock>(block) ||
                              std::holds_alternative<chat::ToolUseBlock>(block)
                        : role == Role::kUser && std::holds_alternative<chat::ToolResultBlock>(block);
  if (!fits) return misplaced(where, chat::block_type(block), role);
  if (const auto* result = std::get_if<chat::ToolResultBlock>(&block)) return check_result(*result, where);
  return std::nullopt;
}

// One OpenAI message while the body is built; turns of one role merge before it is written.
struct OutMessage {
  std::string role;  // system, user, assistant, tool
  std::vector<std::string> text;
  std::vector<std::string> reasoning;
  json tool_calls = json::array();
  std::string tool_call_id;
};

// A string for one text part, else an array of text parts (every upstream kind reads both).
json content_of(const std::vector<std::string>& text) {
  if (text.empty()) return "";
  if (text.size() == 1) return text.front();
  json parts = json::array();
  for (const std::string& t : text) parts.push_back({{"type", "text"}, {"text", t}});
  return parts;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) {
    if (!out.empty()) out += "\n\n";
    out += p;
  }
  return out;
}

class BodyBuilder {
 public:
  json messages(const chat::Conversation& c) {
    if (c.system) add_system(*c.system);
    for (const chat::Message& m : c.messages) {
      switch (m.role) {
        case Role::kSystem:
          add_system(m.content);
          break;
        case Role::kUser:
          add_user(m.content);
          break;
        case Role::kAssistant:
          add_assistant(m.content);
          break;
      }
    }
    // An empty final assistant message prefills nothing: leaving it out asks for the same answer,
    // where an empty assistant turn would be rendered as one.
    if (!out_.empty()) {
      const OutMessage& last = out_.back();
      const bool empty_text = last.text.empty() || (last.text.size() == 1 && last.text.front().empty());
      if (last.role == "assistant" && empty_text && last.reasoning.empty() && last.tool_calls.empty())
        out_.pop_back();
    }
    json messages = json::array();
    if (!system_.empty()) messages.push_back({{"role", "system"}, {"content", content_of(system_)}});
    for (OutMessage& m : out_) messages.push_back(write(m));
    return messages;
  }

 private:
  void add_system(const chat::Content& content) {
    for (std::size_t i = 0; i < content.blocks.size(); ++i) {
      const auto* text = std::get_if<chat::TextBlock>(&content.blocks[i]);
      if (text == nullptr) continue;
      std::string_view t = text->text;
      if (t.starts_with(chat::kBillingHeaderPrefix)) {
        // A system string loses only its first line; a block that starts with one goes whole.
        if (!content.bare_text) continue;
        const std::size_t newline = t.find('\n');
        t = newline == std::string_view::npos ? std::string_view() : t.substr(newline + 1);
        if (t.empty()) continue;
      }
      system_.emplace_back(t);
    }
  }

  OutMessage& turn(const char* role) {
    if (out_.empty() || out_.back().role != role) out_.push_back(OutMessage{role, {}, {}, json::array(), {}});
    return out_.back();
  }

  void add_user(const chat::Content& content) {
    std::vector<std::string> text;
    for (const ContentBlock& block : content.blocks) {
      if (const auto* t = std::get_if<chat::TextBlock>(&block)) {
        text.push_back(t->text);
      } else if (auto stand_in = placeholder(block)) {
        text.push_back(std::move(*stand_in));
      } else if (const auto* result = std::get_if<chat::ToolResultBlock>(&block)) {
        OutMessage tool{"tool", {}, {}, json::array(), result->tool_use_id};
        // OpenAI has no error flag for a tool result: an error result goes as its text alone,
        // which says what went wrong.
        for (const chat::ToolResultPart& part : result->content) {
          if (const auto* t = std::get_if<chat::TextBlock>(&part)) {
            tool.text.push_back(t->text);
          } else if (auto stand_in = placeholder(part)) {
            tool.text.push_back(std::move(*stand_in));
          }
        }
        out_.push_back(std::move(tool));
      }
    }
    if (text.empty()) return;
    OutMessage& user = turn("user");
    for (std::string& t : text) user.text.push_back(std::move(t));
  }

  void add_assistant(const chat::Content& content) {
    OutMessage& assistant = turn("assistant");
    for (const ContentBlock& block : content.blocks) {
      if (const auto* t = std::get_if<chat::TextBlock>(&block)) {
        assistant.text.push_back(t->text);
      } else if (const auto* thinking = std::get_if<chat::ThinkingBlock>(&block)) {
        assistant.reasoning.push_back(thinking->thinking);
      } else if (const auto* call = std::get_if<chat::ToolUseBlock>(&block)) {
        assistant.tool_calls.push_back(
            {{"id", call->id},
             {"type", "function"},
             {"function",
              {{"name", call->name},
               {"arguments", call->input.dump(-1, ' ', false, json::error_handler_t::replace)}}}});
      }
      // Redacted thinking is encrypted for Anthropic's models: nothing another model can read.
    }
  }

  static json write(OutMessage& m) {
    json message{{"role", m.role}};
    if (m.role == "tool") message["tool_call_id"] = m.tool_call_id;
    if (m.role == "assistant" && m.text.empty() && !m.tool_calls.empty())
      message["content"] = nullptr;
    else
      message["content"] = content_of(m.text);
    if (m.role != "assistant") return message;
    // Where vLLM, SGLang and pensieve read a past turn's reasoning back for the template.
    if (!m.reasoning.empty()) message["reasoning_content"] = joined(m.reasoning);
    if (!m.tool_calls.empty()) message["tool_calls"] = std::move(m.tool_calls);
    return message;
  }

  std::vector<std::string> system_;
  std::vector<OutMessage> out_;
};

json tools_of(const chat::Conversation& c) {
  json tools = json::array();
  for (const chat::Tool& tool : c.tools) {
    if (!tool.input_schema) continue;
    json function{{"name", tool.name}};
    if (tool.description) function["description"] = *tool.description;
    function["parameters"] = *tool.input_schema;
    tools.push_back({{"type", "function"}, {"function", std::move(function)}});
  }
  return tools;
}

json tool_choice_of(const chat::ToolChoice& choice) {
  switch (choice.mode) {
    case chat::ToolChoiceMode::kAuto:
      return "auto";
    case chat::ToolChoiceMode::kAny:
      return "required";
    case chat::ToolChoiceMode::kNone:
      return "none";
    case chat::ToolChoiceMode::kTool:
      return {{"type", "function"}, {"function", {{"name", choice.name}}}};
  }
  return "auto";
}

// What both kinds of completion carry besides the prompt: the limit and the sampler's fields
// (penalties, min_p and top_k are extensions that vLLM, SGLang and pensieve read).
void add_sampling(const api::MessagesRequest& request, json& body) {
  if (request.max_tokens > 0) body["max_tokens"] = request.max_tokens;
  if (request.temperature) body["temperature"] = *request.temperature;
  if (request.top_p) body["top_p"] = *request.top_p;
  // Not OpenAI's, but vLLM, SGLang and pensieve read it. 0 (no limit) is left out: older vLLM
  // refuses it (its "no limit" is -1), and leaving it out means the same everywhere.
  if (request.top_k && *request.top_k > 0) body["top_k"] = *request.top_k;
  // Written as the signed integer an OpenAI body carried (pensieve's reader and vLLM's take that).
  if (request.seed) body["seed"] = static_cast<std::int64_t>(*request.seed);
  if (request.presence_penalty) body["presence_penalty"] = *request.presence_penalty;
  if (request.frequency_penalty) body["frequency_penalty"] = *request.frequency_penalty;
  if (request.min_p) body["min_p"] = *request.min_p;
  if (request.repetition_penalty) body["repetition_penalty"] = *request.repetition_penalty;
}

}  // namespace

std::optional<api::ApiError> check_forwardable(const api::MessagesRequest& request) {
  const chat::Conversation& c = request.conversation;
  if (c.system) {
    for (std::size_t i = 0; i < c.system->blocks.size(); ++i) {
      if (auto e = check_block(c.system->blocks[i], Role::kSystem, "system[" + std::to_string(i) + "]"))
        return e;
    }
  }
  for (std::size_t i = 0; i < c.messages.size(); ++i) {
    const chat::Message& m = c.messages[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    for (std::size_t j = 0; j < m.content.blocks.size(); ++j) {
      if (auto e = check_block(m.content.blocks[j], m.role, indexed(where, j))) return e;
    }
  }
  // Anthropic's server tools (no input_schema) are left out, as the local engine leaves them:
  // nothing behind either can run them.
  return std::nullopt;
}

json chat_completion_body(const api::MessagesRequest& request, const std::string& model) {
  const chat::Conversation& c = request.conversation;
  json body{{"model", model}, {"messages", BodyBuilder().messages(c)}};
  if (json tools = tools_of(c); !tools.empty()) {
    body["tools"] = std::move(tools);
    body["tool_choice"] = tool_choice_of(c.tool_choice);
    if (c.tool_choice.disable_parallel_tool_use) body["parallel_tool_calls"] = false;
  }
  add_sampling(request, body);
  if (request.output_schema) {
    body["response_format"] = {
        {"type", "json_schema"},
        {"json_schema", {{"name", "output"}, {"schema", *request.output_schema}, {"strict", true}}}};
  }
  // Qwen3-style templates switch reasoning with this variable; vLLM and SGLang pass these
  // arguments to the template, and pensieve reads enable_thinking from them.
  body["chat_template_kwargs"] = {{"enable_thinking", request.thinking}};
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  return body;
}

json text_completion_body(const api::MessagesRequest& request, const std::string& model) {
  json body{{"model", model}, {"prompt", request.raw_prompt.value_or("")}};
  add_sampling(request, body);
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  return body;
}

}  // namespace pensieve::upstream
