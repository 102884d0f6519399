#include "openai/chat_request.hpp"

#include <nlohmann/json.hpp>
#include <string>

#include "openai/request_fields.hpp"

namespace pensieve::openai {
namespace {

using json = nlohmann::ordered_json;
using api::ApiError;
using api::invalid_request;

// The text of a message's content: a string, or an array of parts of which only text is text.
// Other parts keep their type so the chat mapping can refuse them by name.
std::optional<ApiError> read_content(const json& content, const std::string& where, chat::Content& out) {
  if (content.is_null()) return std::nullopt;
  if (content.is_string()) {
    out.blocks.push_back(chat::TextBlock{content.get<std::string>()});
    out.bare_text = true;
    return std::nullopt;
  }
  if (!content.is_array()) return invalid_request(where + ".content: must be a string or an array of parts");
  for (std::size_t i = 0; i < content.size(); ++i) {
    const json& part = content[i];
    const std::string at = where + ".content[" + std::to_string(i) + "]";
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
      return invalid_request(at + ": a part needs a string \"type\"");
    const std::string type = part["type"].get<std::string>();
    if (type == "text") {
      if (!part.contains("text") || !part["text"].is_string())
        return invalid_request(at + ".text: must be a string");
      out.blocks.push_back(chat::TextBlock{part["text"].get<std::string>()});
    } else if (type == "image_url") {
      out.blocks.push_back(chat::ImageBlock{});
    } else {
      out.blocks.push_back(chat::OtherBlock{type});
    }
  }
  return std::nullopt;
}

std::optional<ApiError> read_messages(const json& messages, chat::Conversation& c) {
  if (!messages.is_array() || messages.empty()) return invalid_request("messages: must be a non-empty array");
  bool leading_system = true;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      return invalid_request(where + ".role: must be one of system, developer, user, assistant, tool");
    const std::string role = m["role"].get<std::string>();
    const json content = m.contains("content") ? m["content"] : json();
    if (role == "system" || role == "developer") {
      chat::Content text;
      if (auto e = read_content(content, where, text)) return e;
      if (leading_system) {
        // Every leading system message is the conversation's system prompt, in order.
        if (!c.system) c.system = chat::Content{};
        for (auto& b : text.blocks) c.system->blocks.push_back(std::move(b));
        c.system->bare_text = c.system->blocks.size() == 1 && text.bare_text;
      } else {
        c.messages.push_back({chat::Role::kSystem, std::move(text)});
      }
      continue;
    }
    leading_system = false;
    if (role == "user") {
      chat::Message message{chat::Role::kUser, {}};
      if (auto e = read_content(content, where, message.content)) return e;
      if (message.content.blocks.empty())
        return invalid_request(where + ".content: a user message needs content");
      // After tool results the user's words join the same turn, as Anthropic's API writes it.
      if (!c.messages.empty() && c.messages.back().role == chat::Role::kUser) {
        auto& blocks = c.messages.back().content.blocks;
        for (auto& b : message.content.blocks) blocks.push_back(std::move(b));
        c.messages.back().content.bare_text = false;
      } else {
        c.messages.push_back(std::move(message));
      }
    } else if (role == "assistant") {
      chat::Message message{chat::Role::kAssistant, {}};
      if (m.contains("reasoning_content") && m["reasoning_content"].is_string())
        message.content.blocks.push_back(chat::ThinkingBlock{m["reasoning_content"].get<std::string>()});
      if (auto e = read_content(content, where, message.content)) return e;
      if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
        const json& calls = m["tool_calls"];
        if (!calls.is_array()) return invalid_request(where + ".tool_calls: must be an array");
        for (std::size_t k = 0; k < calls.size(); ++k) {
          const json& call = calls[k];
          const std::string at = where + ".tool_calls[" + std::to_string(k) + "]";
          if (!call.is_object() || !call.contains("function") || !call["function"].is_object())
            return invalid_request(at + ".function: required");
          const json& f = call["function"];
          if (!f.contains("name") || !f["name"].is_string())
            return invalid_request(at + ".function.name: required");
          json input = json::object();
          if (f.contains("arguments") && f["arguments"].is_string() &&
              !f["arguments"].get<std::string>().empty()) {
            input = json::parse(f["arguments"].get<std::string>(), nullptr, false);
            if (input.is_discarded() || !input.is_object())
              return invalid_request(at + ".function.arguments: must be a JSON object in a string");
          }
          const std::string id = call.contains("id") && call["id"].is_string()
                                     ? call["id"].get<std::string>()
                                     : "call_" + std::to_string(i) + "_" + std::to_string(k);
          message.content.blocks.push_back(
              chat::ToolUseBlock{id, f["name"].get<std::string>(), std::move(input)});
        }
      }
      if (message.content.blocks.empty()) message.content.blocks.push_back(chat::TextBlock{""});
      c.messages.push_back(std::move(message));
    } else if (role == "tool") {
      if (!m.contains("tool_call_id") || !m["tool_call_id"].is_string())
        return invalid_request(where + ".tool_call_id: required for a tool message");
      chat::Content text;
      if (auto e = read_content(content, where, text)) return e;
      chat::ToolResultBlock result{m["tool_call_id"].get<std::string>(), {}, false};
      for (auto& b : text.blocks) {
        if (auto* t = std::get_if<chat::TextBlock>(&b))
          result.content.push_back(std::move(*t));
        else if (std::holds_alternative<chat::ImageBlock>(b))
          result.content.push_back(chat::ImageBlock{});
        else
          result.content.push_back(chat::OtherBlock{std::string(chat::block_type(b))});
      }
      // Results of one turn's calls go back together, in one user turn.
      if (c.messages.empty() || c.messages.back().role != chat::Role::kUser ||
          !std::holds_alternative<chat::ToolResultBlock>(c.messages.back().content.blocks.back()))
        c.messages.push_back({chat::Role::kUser, {}});
      c.messages.back().content.blocks.push_back(std::move(result));
    } else {
      return invalid_request(where + ".role: must be one of system, developer, user, assistant, tool");
    }
  }
  return std::nullopt;
}

std::optional<ApiError> read_tools(const json& body, chat::Conversation& c) {
  if (const auto tools = body.find("tools"); tools != body.end() && !tools->is_null()) {
    if (!tools->is_array()) return invalid_request("tools: must be an array");
    for (std::size_t i = 0; i < tools->size(); ++i) {
      const json& t = (*tools)[i];
      const std::string at = "tools[" + std::to_string(i) + "]";
      if (!t.is_object() || t.value("type", "") != "function" || !t.contains("function") ||
          !t["function"].is_object())
        return invalid_request(at +
                               ": only {\"type\": \"function\", \"function\": {...}} tools are supported");
      const json& f = t["function"];
      if (!f.contains("name") || !f["name"].is_string())
        return invalid_request(at + ".function.name: required");
      chat::Tool tool;
      tool.name = f["name"].get<std::string>();
      if (f.contains("description") && f["description"].is_string())
        tool.description = f["description"].get<std::string>();
      if (f.contains("parameters") && !f["parameters"].is_null()) {
        if (!f["parameters"].is_object())
          return invalid_request(at + ".function.parameters: must be an object");
        tool.input_schema = f["parameters"];
      } else {
        tool.input_schema = json{{"type", "object"}, {"properties", json::object()}};
      }
      c.tools.push_back(std::move(tool));
    }
  }
  if (const auto choice = body.find("tool_choice"); choice != body.end() && !choice->is_null()) {
    if (choice->is_string()) {
      const std::string s = choice->get<std::string>();
      if (s == "none")
        c.tool_choice.mode = chat::ToolChoiceMode::kNone;
      else if (s == "auto")
        c.tool_choice.mode = chat::ToolChoiceMode::kAuto;
      else if (s == "required")
        c.tool_choice.mode = chat::ToolChoiceMode::kAny;
      else
        return invalid_request("tool_choice: must be none, auto, required or a named function");
    } else if (choice->is_object() && choice->contains("function") && (*choice)["function"].is_object() &&
               (*choice)["function"].contains("name") && (*choice)["function"]["name"].is_string()) {
      c.tool_choice.mode = chat::ToolChoiceMode::kTool;
      c.tool_choice.name = (*choice)["function"]["name"].get<std::string>();
    } else {
      return invalid_request(
          "tool_choice: must be none, auto, required or {\"type\": \"function\", \"function\": {\"name\": "
          "...}}");
    }
    if (c.tool_choice.forces_a_call() && c.tools.empty())
      return invalid_request("tool_choice: asks for a tool call, but the request offers no tools");
  }
  if (const auto parallel = body.find("parallel_tool_calls");
      parallel != body.end() && parallel->is_boolean())
    c.tool_choice.disable_parallel_tool_use = !parallel->get<bool>();
  return std::nullopt;
}

std::optional<ApiError> read_fields(const json& body, ChatRequest& chat) {
  api::MessagesRequest& r = chat.request;
  SharedFields shared;
  if (auto e = read_shared_fields(body, r, shared)) return e;
  chat.include_usage = shared.include_usage;
  // Tool calls the model makes get ids in OpenAI's form; those a client sends back keep theirs.
  r.tool_call_id_prefix = "call_";
  if (auto e = read_max_tokens(body, {"max_completion_tokens", "max_tokens"}, r.max_tokens)) return e;
  // Reasoning models think unless told not to; what they think comes back as reasoning_content.
  const std::string effort = body.contains("reasoning_effort") && body["reasoning_effort"].is_string()
                                 ? body["reasoning_effort"].get<std::string>()
                                 : "";
  r.thinking = effort != "none" && effort != "minimal";
  // vLLM's and SGLang's switch for Qwen3-style templates, which pensieve's upstream mode sends:
  // read so that a pensieve upstream honours it too. Other template arguments are not taken.
  if (const auto kwargs = body.find("chat_template_kwargs"); kwargs != body.end() && !kwargs->is_null()) {
    if (!kwargs->is_object()) return invalid_request("chat_template_kwargs: must be an object");
    if (const auto enable = kwargs->find("enable_thinking"); enable != kwargs->end() && !enable->is_null()) {
      if (!enable->is_boolean())
        return invalid_request("chat_template_kwargs.enable_thinking: must be a boolean");
      r.thinking = enable->get<bool>();
    }
  }
  if (const auto format = body.find("response_format"); format != body.end() && format->is_object()) {
    const std::string type = format->value("type", "");
    if (type == "json_schema") {
      const auto spec = format->find("json_schema");
      if (spec == format->end() || !spec->is_object() || !spec->contains("schema") ||
          !(*spec)["schema"].is_object())
        return invalid_request("response_format.json_schema.schema: required, an object");
      r.output_schema = (*spec)["schema"];
    } else if (type == "json_object") {
      r.output_schema = json{{"type", "object"}};
    } else if (type != "text") {
      return invalid_request("response_format.type: must be text, json_object or json_schema");
    }
  }
  if (!body.contains("messages")) return invalid_request("messages: required");
  if (auto e = read_messages(body["messages"], r.conversation)) return e;
  return read_tools(body, r.conversation);
}

}  // namespace

ParsedChatRequest parse_chat_request(std::string_view body) {
  json parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded()) return {std::nullopt, invalid_request("the body is not valid JSON")};
  ChatRequest chat;
  if (auto e = read_fields(parsed, chat)) return {std::nullopt, std::move(e)};
  return {std::move(chat), std::nullopt};
}

}  // namespace pensieve::openai
