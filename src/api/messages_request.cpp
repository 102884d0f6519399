#include "api/messages_request.hpp"

#include <set>

namespace pensieve::api {
namespace {

using json = nlohmann::ordered_json;

std::string path(std::string_view base, std::size_t i) { return std::string(base) + "." + std::to_string(i); }

std::optional<ApiError> fail(std::string message) { return invalid_request(std::move(message)); }

std::optional<ApiError> field_required(const std::string& name) { return fail(name + ": Field required"); }

// A text value: a string, or blocks that must each be a non-empty text block.
std::optional<ApiError> check_system(const json& system) {
  if (system.is_string()) return std::nullopt;
  if (!system.is_array()) return fail("system: Input should be a valid string or a list of text blocks");
  for (std::size_t i = 0; i < system.size(); ++i) {
    const json& block = system[i];
    if (!block.is_object() || block.value("type", "") != "text") {
      return fail(path("system", i) + ".type: Input should be 'text'");
    }
    auto text = block.find("text");
    if (text == block.end() || !text->is_string()) return field_required(path("system", i) + ".text");
    if (text->get_ref<const std::string&>().empty()) return fail("system: text content blocks must be non-empty");
  }
  return std::nullopt;
}

// Ids of the tool_use blocks in one message's content.
std::vector<std::string> tool_use_ids(const json& content) {
  std::vector<std::string> ids;
  if (!content.is_array()) return ids;
  for (const json& block : content) {
    if (block.is_object() && block.value("type", "") == "tool_use" && block.contains("id") && block["id"].is_string()) {
      ids.push_back(block["id"].get<std::string>());
    }
  }
  return ids;
}

std::optional<ApiError> check_block(const json& block, const std::string& where) {
  if (!block.is_object()) return fail(where + ": Input should be a valid dictionary or object");
  auto type = block.find("type");
  if (type == block.end() || !type->is_string()) return field_required(where + ".type");
  const std::string& t = type->get_ref<const std::string&>();
  if (t == "text") {
    auto text = block.find("text");
    if (text == block.end() || !text->is_string()) return field_required(where + ".text");
    if (text->get_ref<const std::string&>().empty()) return fail("messages: text content blocks must be non-empty");
  } else if (t == "tool_use" || t == "server_tool_use") {
    if (!block.contains("id") || !block["id"].is_string()) return field_required(where + ".id");
    if (!block.contains("name") || !block["name"].is_string()) return field_required(where + ".name");
    if (!block.contains("input")) return field_required(where + ".input");
    if (!block["input"].is_object()) return fail(where + ".input: Input should be a valid dictionary");
  } else if (t == "tool_result") {
    if (!block.contains("tool_use_id") || !block["tool_use_id"].is_string()) {
      return field_required(where + ".tool_use_id");
    }
    auto content = block.find("content");
    if (content != block.end() && !content->is_string() && !content->is_array() && !content->is_null()) {
      return fail(where + ".content: Input should be a valid string or a list of content blocks");
    }
  } else if (t == "thinking") {
    if (!block.contains("thinking") || !block["thinking"].is_string()) return field_required(where + ".thinking");
  }
  // Other block types (image, document, redacted_thinking, search results, …) are accepted as
  // they are; the chat mapping decides what a text model can make of them.
  return std::nullopt;
}

std::optional<ApiError> check_messages(const json& messages) {
  if (!messages.is_array()) return fail("messages: Input should be a valid list");
  if (messages.empty()) return fail("messages: at least one message is required");
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    const std::string where = path("messages", i);
    if (!m.is_object()) return fail(where + ": Input should be a valid dictionary or object");
    auto role = m.find("role");
    if (role == m.end()) return field_required(where + ".role");
    // The API takes system messages among the others (its SDK's SystemMessageParam; Claude Code
    // sends them), so the message names all three.
    if (!role->is_string() || (*role != "user" && *role != "assistant" && *role != "system")) {
      return fail(where + ".role: Input should be 'user', 'assistant' or 'system'");
    }
    auto content = m.find("content");
    if (content == m.end()) return field_required(where + ".content");
    const bool last_assistant = i + 1 == messages.size() && *role == "assistant";
    if (content->is_string()) {
      if (content->get_ref<const std::string&>().empty() && !last_assistant) {
        return fail(where + ": all messages must have non-empty content except for the optional final assistant message");
      }
    } else if (content->is_array()) {
      if (content->empty() && !last_assistant) {
        return fail(where + ": all messages must have non-empty content except for the optional final assistant message");
      }
      for (std::size_t j = 0; j < content->size(); ++j) {
        if (auto e = check_block((*content)[j], path(where + ".content", j))) return e;
      }
    } else {
      return fail(where + ".content: Input should be a valid string or a list of content blocks");
    }
  }

  // Every tool_use needs its tool_result in the next message, and every tool_result its tool_use
  // in the previous one.
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const json& content = messages[i]["content"];
    if (!content.is_array()) continue;
    std::set<std::string> previous;
    if (i > 0) {
      for (auto& id : tool_use_ids(messages[i - 1]["content"])) previous.insert(id);
    }
    for (std::size_t j = 0; j < content.size(); ++j) {
      const json& block = content[j];
      if (block.value("type", "") != "tool_result") continue;
      const std::string id = block["tool_use_id"].get<std::string>();
      if (!previous.count(id)) {
        return fail(path(path("messages", i) + ".content", j) + ": unexpected `tool_use_id` found in `tool_result` blocks: " +
                    id + ". Each `tool_result` block must have a corresponding `tool_use` block in the previous message.");
      }
    }
    auto ids = tool_use_ids(content);
    if (ids.empty()) continue;
    std::set<std::string> answered;
    if (i + 1 < messages.size() && messages[i + 1]["content"].is_array()) {
      for (const json& block : messages[i + 1]["content"]) {
        if (block.value("type", "") == "tool_result") answered.insert(block["tool_use_id"].get<std::string>());
      }
    }
    std::string missing;
    for (const auto& id : ids) {
      if (answered.count(id)) continue;
      if (!missing.empty()) missing += ", ";
      missing += id;
    }
    if (!missing.empty()) {
      return fail(path("messages", i) + ": `tool_use` ids were found without `tool_result` blocks immediately after: " +
                  missing + ". Each `tool_use` block must have a corresponding `tool_result` block in the next message.");
    }
  }
  return std::nullopt;
}

std::optional<ApiError> number_in(const json& body, const char* name, double lo, double hi, std::optional<double>& out) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) return fail(std::string(name) + ": Input should be a valid number");
  const double v = it->get<double>();
  if (v < lo) return fail(std::string(name) + ": Input should be greater than or equal to " + std::to_string(int(lo)));
  if (v > hi) return fail(std::string(name) + ": Input should be less than or equal to " + std::to_string(int(hi)));
  out = v;
  return std::nullopt;
}

// True when containers nest deeper than `limit` anywhere in `value` (walked without recursion, so
// a hostile body cannot exhaust the stack here either).
bool nests_deeper_than(const json& value, int limit) {
  std::vector<std::pair<const json*, int>> pending{{&value, 0}};
  while (!pending.empty()) {
    const auto [v, depth] = pending.back();
    pending.pop_back();
    if (!v->is_structured()) continue;
    if (depth + 1 > limit) return true;
    for (const json& child : *v) pending.emplace_back(&child, depth + 1);
  }
  return false;
}

std::optional<ApiError> parse_fields(const json& body, RequestKind kind, MessagesRequest& r) {
  if (!body.is_object()) return fail("Input should be a valid dictionary or object");
  // Tool inputs and schemas reach the chat template, whose values may nest at most 256 deep
  // around them: a deeper body is the client's mistake, said as such rather than met later.
  if (nests_deeper_than(body, kMaxRequestNesting)) {
    return fail("the request nests JSON arrays and objects more than " + std::to_string(kMaxRequestNesting) +
                " levels deep");
  }
  auto model = body.find("model");
  if (model == body.end()) return field_required("model");
  if (!model->is_string()) return fail("model: Input should be a valid string");
  r.model = model->get<std::string>();

  auto messages = body.find("messages");
  if (messages == body.end()) return field_required("messages");

  if (kind == RequestKind::kCreate) {
    auto max_tokens = body.find("max_tokens");
    if (max_tokens == body.end() || max_tokens->is_null()) return field_required("max_tokens");
    if (!max_tokens->is_number_integer()) return fail("max_tokens: Input should be a valid integer");
    r.max_tokens = max_tokens->get<std::int64_t>();
    if (r.max_tokens < 1) return fail("max_tokens: Input should be greater than or equal to 1");
    if (auto s = body.find("stream"); s != body.end() && !s->is_null()) {
      if (!s->is_boolean()) return fail("stream: Input should be a valid boolean");
      r.stream = s->get<bool>();
    }
  }

  if (auto sys = body.find("system"); sys != body.end() && !sys->is_null()) {
    if (auto e = check_system(*sys)) return e;
  }
  if (auto e = check_messages(*messages)) return e;

  if (auto stops = body.find("stop_sequences"); stops != body.end() && !stops->is_null()) {
    if (!stops->is_array()) return fail("stop_sequences: Input should be a valid list");
    for (std::size_t i = 0; i < stops->size(); ++i) {
      if (!(*stops)[i].is_string()) return fail(path("stop_sequences", i) + ": Input should be a valid string");
      r.stop_sequences.push_back((*stops)[i].get<std::string>());
    }
  }
  if (auto e = number_in(body, "temperature", 0.0, 1.0, r.temperature)) return e;
  if (auto e = number_in(body, "top_p", 0.0, 1.0, r.top_p)) return e;
  if (auto k = body.find("top_k"); k != body.end() && !k->is_null()) {
    if (!k->is_number_integer()) return fail("top_k: Input should be a valid integer");
    r.top_k = k->get<std::int64_t>();
    if (*r.top_k < 0) return fail("top_k: Input should be greater than or equal to 0");
  }

  if (auto t = body.find("thinking"); t != body.end() && !t->is_null()) {
    if (!t->is_object() || !t->contains("type") || !(*t)["type"].is_string()) return field_required("thinking.type");
    const std::string type = (*t)["type"].get<std::string>();
    if (type == "enabled") {
      auto budget = t->find("budget_tokens");
      if (budget == t->end()) return field_required("thinking.enabled.budget_tokens");
      if (!budget->is_number_integer()) return fail("thinking.enabled.budget_tokens: Input should be a valid integer");
      r.thinking_budget_tokens = budget->get<std::int64_t>();
      if (*r.thinking_budget_tokens < 1024) {
        return fail("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024");
      }
      // No check against max_tokens: with interleaved thinking the budget may exceed it.
      r.thinking = true;
    } else if (type == "adaptive") {
      r.thinking = true;
    } else if (type != "disabled") {
      return fail("thinking: Input tag '" + type +
                  "' found using 'type' does not match any of the expected tags: 'enabled', 'disabled', 'adaptive'");
    }
  }

  if (auto tools = body.find("tools"); tools != body.end() && !tools->is_null()) {
    if (!tools->is_array()) return fail("tools: Input should be a valid list");
    for (std::size_t i = 0; i < tools->size(); ++i) {
      const json& tool = (*tools)[i];
      if (!tool.is_object()) return fail(path("tools", i) + ": Input should be a valid dictionary or object");
      if (!tool.contains("name") || !tool["name"].is_string()) return field_required(path("tools", i) + ".name");
      const bool custom = !tool.contains("type") || tool["type"] == "custom";
      if (custom && !tool.contains("input_schema")) return field_required(path("tools", i) + ".custom.input_schema");
    }
  }

  if (auto tc = body.find("tool_choice"); tc != body.end() && !tc->is_null()) {
    if (!tc->is_object() || !tc->contains("type") || !(*tc)["type"].is_string()) return field_required("tool_choice.type");
    const std::string type = (*tc)["type"].get<std::string>();
    if (type == "auto") r.tool_choice.type = ToolChoiceType::kAuto;
    else if (type == "any") r.tool_choice.type = ToolChoiceType::kAny;
    else if (type == "none") r.tool_choice.type = ToolChoiceType::kNone;
    else if (type == "tool") {
      r.tool_choice.type = ToolChoiceType::kTool;
      if (!tc->contains("name") || !(*tc)["name"].is_string()) return field_required("tool_choice.tool.name");
      r.tool_choice.name = (*tc)["name"].get<std::string>();
    } else {
      return fail("tool_choice: Input tag '" + type +
                  "' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'");
    }
    if (auto d = tc->find("disable_parallel_tool_use"); d != tc->end() && d->is_boolean()) {
      r.tool_choice.disable_parallel_tool_use = d->get<bool>();
    }
  }

  // Structured outputs: output_config.format, or the beta's top-level output_format.
  const auto read_format = [&](const json& format, const std::string& where) -> std::optional<ApiError> {
    if (format.is_null()) return std::nullopt;
    if (!format.is_object() || !format.contains("type") || !format["type"].is_string())
      return field_required(where + ".type");
    if (format["type"] != "json_schema") {
      return fail(where + ": Input tag '" + format["type"].get<std::string>() +
                  "' found using 'type' does not match any of the expected tags: 'json_schema'");
    }
    if (!format.contains("schema")) return field_required(where + ".schema");
    if (!format["schema"].is_object()) return fail(where + ".schema: Input should be a valid dictionary");
    r.output_schema = format["schema"];
    return std::nullopt;
  };
  if (auto oc = body.find("output_config"); oc != body.end() && !oc->is_null()) {
    if (!oc->is_object()) return fail("output_config: Input should be a valid dictionary or object");
    if (auto f = oc->find("format"); f != oc->end()) {
      if (auto e = read_format(*f, "output_config.format")) return e;
    }
  }
  if (auto f = body.find("output_format"); f != body.end()) {
    if (auto e = read_format(*f, "output_format")) return e;
  }
  return std::nullopt;
}

}  // namespace

ParsedRequest parse_messages_request(nlohmann::ordered_json body, RequestKind kind) {
  MessagesRequest r;
  if (auto e = parse_fields(body, kind, r)) return {std::nullopt, std::move(e)};
  r.body = std::move(body);
  return {std::move(r), std::nullopt};
}

ParsedRequest parse_messages_request(std::string_view text, RequestKind kind) {
  auto body = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return {std::nullopt, invalid_request("There was an error parsing the body of your request: the body is not valid JSON")};
  }
  return parse_messages_request(std::move(body), kind);
}

}  // namespace pensieve::api
