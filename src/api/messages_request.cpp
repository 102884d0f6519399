#include "api/messages_request.hpp"

#include "api/body_errors.hpp"
#include "api/conversation_reader.hpp"

namespace pensieve::api {

bool nests_deeper_than(const nlohmann::ordered_json& value, int limit) {
  std::vector<std::pair<const nlohmann::ordered_json*, int>> pending{{&value, 0}};
  while (!pending.empty()) {
    const auto [v, depth] = pending.back();
    pending.pop_back();
    if (!v->is_structured()) continue;
    if (depth + 1 > limit) return true;
    for (const nlohmann::ordered_json& child : *v) pending.emplace_back(&child, depth + 1);
  }
  return false;
}

namespace {

using json = nlohmann::ordered_json;

std::optional<ApiError> number_in(const json& body, const char* name, double lo, double hi, std::optional<double>& out) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) return body_error(std::string(name) + ": Input should be a valid number");
  const double v = it->get<double>();
  if (v < lo)
    return body_error(std::string(name) + ": Input should be greater than or equal to " +
                      std::to_string(int(lo)));
  if (v > hi)
    return body_error(std::string(name) + ": Input should be less than or equal to " +
                      std::to_string(int(hi)));
  out = v;
  return std::nullopt;
}

std::optional<ApiError> parse_fields(json& body, RequestKind kind, MessagesRequest& r) {
  if (!body.is_object()) return body_error("Input should be a valid dictionary or object");
  // Tool inputs and schemas reach the chat template, whose values may nest at most 256 deep
  // around them: a deeper body is the client's mistake, said as such rather than met later.
  if (nests_deeper_than(body, kMaxRequestNesting)) {
    return body_error("the request nests JSON arrays and objects more than " +
                      std::to_string(kMaxRequestNesting) + " levels deep");
  }
  auto model = body.find("model");
  if (model == body.end()) return field_required("model");
  if (!model->is_string()) return body_error("model: Input should be a valid string");
  r.model = model->get<std::string>();

  auto messages = body.find("messages");
  if (messages == body.end()) return field_required("messages");

  if (kind == RequestKind::kCreate) {
    auto max_tokens = body.find("max_tokens");
    if (max_tokens == body.end() || max_tokens->is_null()) return field_required("max_tokens");
    if (!max_tokens->is_number_integer()) return body_error("max_tokens: Input should be a valid integer");
    r.max_tokens = max_tokens->get<std::int64_t>();
    if (r.max_tokens < 1) return body_error("max_tokens: Input should be greater than or equal to 1");
    if (auto s = body.find("stream"); s != body.end() && !s->is_null()) {
      if (!s->is_boolean()) return body_error("stream: Input should be a valid boolean");
      r.stream = s->get<bool>();
    }
  }

  if (auto sys = body.find("system"); sys != body.end() && !sys->is_null()) {
    if (auto e = read_system(*sys, r.conversation)) return e;
  }
  if (auto e = read_messages(*messages, r.conversation)) return e;
  if (auto e = check_tool_pairs(r.conversation)) return e;

  if (auto stops = body.find("stop_sequences"); stops != body.end() && !stops->is_null()) {
    if (!stops->is_array()) return body_error("stop_sequences: Input should be a valid list");
    for (std::size_t i = 0; i < stops->size(); ++i) {
      if (!(*stops)[i].is_string())
        return body_error(item_path("stop_sequences", i) + ": Input should be a valid string");
      r.stop_sequences.push_back((*stops)[i].get<std::string>());
    }
  }
  if (auto e = number_in(body, "temperature", 0.0, 1.0, r.temperature)) return e;
  if (auto e = number_in(body, "top_p", 0.0, 1.0, r.top_p)) return e;
  if (auto k = body.find("top_k"); k != body.end() && !k->is_null()) {
    if (!k->is_number_integer()) return body_error("top_k: Input should be a valid integer");
    r.top_k = k->get<std::int64_t>();
    if (*r.top_k < 0) return body_error("top_k: Input should be greater than or equal to 0");
  }

  if (auto t = body.find("thinking"); t != body.end() && !t->is_null()) {
    if (!t->is_object() || !t->contains("type") || !(*t)["type"].is_string()) return field_required("thinking.type");
    const std::string type = (*t)["type"].get<std::string>();
    if (type == "enabled") {
      auto budget = t->find("budget_tokens");
      if (budget == t->end()) return field_required("thinking.enabled.budget_tokens");
      if (!budget->is_number_integer())
        return body_error("thinking.enabled.budget_tokens: Input should be a valid integer");
      r.thinking_budget_tokens = budget->get<std::int64_t>();
      if (*r.thinking_budget_tokens < 1024) {
        return body_error("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024");
      }
      // No check against max_tokens: with interleaved thinking the budget may exceed it.
      r.thinking = true;
    } else if (type == "adaptive") {
      r.thinking = true;
    } else if (type != "disabled") {
      return body_error(
          "thinking: Input tag '" + type +
          "' found using 'type' does not match any of the expected tags: 'enabled', 'disabled', 'adaptive'");
    }
  }

  if (auto tools = body.find("tools"); tools != body.end() && !tools->is_null()) {
    if (auto e = read_tools(*tools, r.conversation)) return e;
  }
  if (auto tc = body.find("tool_choice"); tc != body.end() && !tc->is_null()) {
    if (auto e = read_tool_choice(*tc, r.conversation)) return e;
  }

  // Structured outputs: output_config.format, or the beta's top-level output_format.
  const auto read_format = [&](const json& format, const std::string& where) -> std::optional<ApiError> {
    if (format.is_null()) return std::nullopt;
    if (!format.is_object() || !format.contains("type") || !format["type"].is_string())
      return field_required(where + ".type");
    if (format["type"] != "json_schema") {
      return body_error(where + ": Input tag '" + format["type"].get<std::string>() +
                        "' found using 'type' does not match any of the expected tags: 'json_schema'");
    }
    if (!format.contains("schema")) return field_required(where + ".schema");
    if (!format["schema"].is_object())
      return body_error(where + ".schema: Input should be a valid dictionary");
    r.output_schema = format["schema"];
    return std::nullopt;
  };
  if (auto oc = body.find("output_config"); oc != body.end() && !oc->is_null()) {
    if (!oc->is_object()) return body_error("output_config: Input should be a valid dictionary or object");
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
