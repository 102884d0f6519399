#include "chat/anthropic_mapping.hpp"

#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

namespace pensieve::chat {

namespace {

using json = nlohmann::ordered_json;

constexpr std::string_view kBlockSeparator = "\n\n";

Error invalid(std::string message) { return make_error(ErrorCode::kInvalidArgument, std::move(message)); }

std::string join(const std::vector<std::string>& parts) {
  std::string joined;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) joined.append(kBlockSeparator);
    joined.append(parts[i]);
  }
  return joined;
}

const std::string* string_field(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

bool is_alphanumeric_id(std::string_view id) {
  if (id.size() != 9) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

class Mapper {
 public:
  explicit Mapper(const MappingOptions& options) : options_(options) {}

  Result<json> map(const json& request) {
    if (!request.is_object()) return invalid("the request body must be a JSON object");
    const auto messages = request.find("messages");
    if (messages == request.end() || !messages->is_array()) {
      return invalid("the request needs a \"messages\" array");
    }
    if (const auto system = request.find("system"); system != request.end() && !system->is_null()) {
      PENSIEVE_TRY(add_system(*system, "system"));
    }
    for (size_t i = 0; i < messages->size(); ++i) {
      PENSIEVE_TRY(add_message((*messages)[i], "messages[" + std::to_string(i) + "]"));
    }
    json context;
    context["messages"] = json::array();
    if (!system_parts_.empty()) context["messages"].push_back({{"role", "system"}, {"content", join(system_parts_)}});
    for (json& message : out_) context["messages"].push_back(std::move(message));
    auto tools = map_tools(request);
    if (!tools.ok()) return tools.error();
    context["tools"] = std::move(tools.value());
    return context;
  }

 private:
  // Text of a content value (string or blocks) where only text-like blocks may appear.
  Result<std::vector<std::string>> text_parts(const json& content, const std::string& where) {
    std::vector<std::string> parts;
    if (content.is_string()) {
      parts.push_back(content.get<std::string>());
      return parts;
    }
    if (!content.is_array()) return invalid(where + ": content must be a string or an array of blocks");
    for (size_t i = 0; i < content.size(); ++i) {
      auto part = text_of_block(content[i], where + ".content[" + std::to_string(i) + "]");
      if (!part.ok()) return part.error();
      parts.push_back(std::move(part.value()));
    }
    return parts;
  }

  Result<std::string> text_of_block(const json& block, const std::string& where) {
    if (block.is_string()) return block.get<std::string>();
    if (!block.is_object()) return invalid(where + ": a content block must be an object");
    const std::string* type = string_field(block, "type");
    if (type == nullptr) return invalid(where + ": a content block needs a \"type\"");
    if (*type == "text") {
      const std::string* text = string_field(block, "text");
      if (text == nullptr) return invalid(where + ": a text block needs a \"text\" string");
      return *text;
    }
    if (*type == "image") return std::string(kImagePlaceholder);
    if (*type == "document") return std::string(kDocumentPlaceholder);
    return make_error(ErrorCode::kUnsupported,
                      where + ": content blocks of type \"" + *type + "\" are not supported here");
  }

  Status add_system(const json& content, const std::string& where) {
    if (content.is_string()) {
      std::string_view text = content.get_ref<const std::string&>();
      if (text.starts_with(kBillingHeaderPrefix)) {
        const size_t newline = text.find('\n');
        text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
      }
      if (!text.empty()) system_parts_.emplace_back(text);
      return {};
    }
    auto parts = text_parts(content, where);
    if (!parts.ok()) return parts.error();
    for (std::string& part : parts.value()) {
      if (std::string_view(part).starts_with(kBillingHeaderPrefix)) continue;
      system_parts_.push_back(std::move(part));
    }
    return {};
  }

  std::string call_id(const std::string& id) {
    if (options_.family != TemplateFamily::kMistral) return id;
    if (const auto it = rewritten_ids_.find(id); it != rewritten_ids_.end()) return it->second;
    std::string rewritten = mistral_tool_call_id(id);
    for (unsigned salt = 1; used_ids_.count(rewritten) > 0; ++salt) rewritten = mistral_tool_call_id(id, salt);
    used_ids_.insert(rewritten);
    rewritten_ids_.emplace(id, rewritten);
    return rewritten;
  }

  void push(json message) {
    if (!out_.empty() && out_.back()["role"] == message["role"] &&
        (message["role"] == "user" || message["role"] == "assistant")) {
      merge_into(out_.back(), message);
      return;
    }
    out_.push_back(std::move(message));
  }

  static void merge_into(json& into, const json& from) {
    const std::string a = into["content"].get<std::string>();
    const std::string b = from["content"].get<std::string>();
    into["content"] = a.empty() ? b : b.empty() ? a : a + std::string(kBlockSeparator) + b;
    for (const char* key : {"reasoning_content", "thinking"}) {
      if (!from.contains(key)) continue;
      into[key] = into.contains(key) ? json(into[key].get<std::string>() + std::string(kBlockSeparator) +
                                                from[key].get<std::string>())
                                     : from[key];
    }
    if (from.contains("tool_calls")) {
      if (!into.contains("tool_calls")) into["tool_calls"] = json::array();
      for (const auto& call : from["tool_calls"]) into["tool_calls"].push_back(call);
    }
  }

  Status add_message(const json& message, const std::string& where) {
    if (!message.is_object()) return invalid(where + ": a message must be an object");
    const std::string* role = string_field(message, "role");
    if (role == nullptr) return invalid(where + ": a message needs a \"role\"");
    const auto content = message.find("content");
    if (content == message.end()) return invalid(where + ": a message needs \"content\"");
    if (*role == "system") return add_system(*content, where);
    if (*role == "user") return add_user(*content, where);
    if (*role == "assistant") return add_assistant(*content, where);
    return invalid(where + ": role must be \"user\" or \"assistant\" (or \"system\"), not \"" + *role + "\"");
  }

  Status add_user(const json& content, const std::string& where) {
    if (content.is_string()) {
      push({{"role", "user"}, {"content", content}});
      return {};
    }
    if (!content.is_array()) return invalid(where + ": content must be a string or an array of blocks");
    std::vector<std::string> parts;
    auto flush_text = [&] {
      if (parts.empty()) return;
      push({{"role", "user"}, {"content", join(parts)}});
      parts.clear();
    };
    for (size_t i = 0; i < content.size(); ++i) {
      const json& block = content[i];
      const std::string block_where = where + ".content[" + std::to_string(i) + "]";
      const std::string* type = block.is_object() ? string_field(block, "type") : nullptr;
      if (type != nullptr && *type == "tool_result") {
        flush_text();
        PENSIEVE_TRY(add_tool_result(block, block_where));
        continue;
      }
      auto text = text_of_block(block, block_where);
      if (!text.ok()) return text.error();
      parts.push_back(std::move(text.value()));
    }
    flush_text();
    return {};
  }

  Status add_tool_result(const json& block, const std::string& where) {
    const std::string* id = string_field(block, "tool_use_id");
    if (id == nullptr) return invalid(where + ": a tool_result block needs a \"tool_use_id\"");
    std::string text;
    if (const auto content = block.find("content"); content != block.end() && !content->is_null()) {
      auto parts = text_parts(*content, where);
      if (!parts.ok()) return parts.error();
      text = join(parts.value());
    }
    json message = {{"role", "tool"}, {"tool_call_id", call_id(*id)}};
    if (const auto name = call_names_.find(*id); name != call_names_.end()) message["name"] = name->second;
    message["content"] = std::move(text);
    if (const auto is_error = block.find("is_error"); is_error != block.end() && *is_error == true) {
      message["is_error"] = true;
    }
    out_.push_back(std::move(message));
    return {};
  }

  Status add_assistant(const json& content, const std::string& where) {
    json message = {{"role", "assistant"}, {"content", ""}};
    if (content.is_string()) {
      message["content"] = content;
      push(std::move(message));
      return {};
    }
    if (!content.is_array()) return invalid(where + ": content must be a string or an array of blocks");
    std::vector<std::string> text;
    std::vector<std::string> reasoning;
    json calls = json::array();
    for (size_t i = 0; i < content.size(); ++i) {
      const json& block = content[i];
      const std::string block_where = where + ".content[" + std::to_string(i) + "]";
      const std::string* type = block.is_object() ? string_field(block, "type") : nullptr;
      if (type != nullptr && *type == "tool_use") {
        const std::string* id = string_field(block, "id");
        const std::string* name = string_field(block, "name");
        if (id == nullptr || name == nullptr) return invalid(block_where + ": a tool_use block needs \"id\" and \"name\"");
        const auto input = block.find("input");
        if (input == block.end() || !input->is_object()) {
          return invalid(block_where + ": a tool_use block needs an \"input\" object");
        }
        call_names_[*id] = *name;
        calls.push_back({{"id", call_id(*id)},
                         {"type", "function"},
                         {"function", {{"name", *name}, {"arguments", *input}}}});
      } else if (type != nullptr && *type == "thinking") {
        const std::string* thinking = string_field(block, "thinking");
        if (thinking == nullptr) return invalid(block_where + ": a thinking block needs a \"thinking\" string");
        reasoning.push_back(*thinking);
      } else if (type != nullptr && *type == "redacted_thinking") {
        continue;  // encrypted for Anthropic's models; nothing a local model can read
      } else {
        auto part = text_of_block(block, block_where);
        if (!part.ok()) return part.error();
        text.push_back(std::move(part.value()));
      }
    }
    message["content"] = join(text);
    if (!reasoning.empty()) {
      if (options_.family == TemplateFamily::kGptOss) {
        // Its template refuses a tool-call turn with both text and thinking; the text is shown
        // to it as analysis there anyway.
        if (calls.empty() || text.empty()) message["thinking"] = join(reasoning);
      } else {
        message["reasoning_content"] = join(reasoning);
      }
    }
    if (!calls.empty()) message["tool_calls"] = std::move(calls);
    push(std::move(message));
    return {};
  }

  Result<json> map_tools(const json& request) {
    const auto tools = request.find("tools");
    if (tools == request.end() || tools->is_null()) return json(nullptr);
    if (!tools->is_array()) return invalid("\"tools\" must be an array");
    if (const auto choice = request.find("tool_choice"); choice != request.end() && choice->is_object()) {
      const std::string* type = string_field(*choice, "type");
      if (type != nullptr && *type == "none") return json(nullptr);
    }
    json functions = json::array();
    for (size_t i = 0; i < tools->size(); ++i) {
      const json& tool = (*tools)[i];
      const std::string where = "tools[" + std::to_string(i) + "]";
      if (!tool.is_object()) return invalid(where + ": a tool must be an object");
      const std::string* name = string_field(tool, "name");
      if (name == nullptr) return invalid(where + ": a tool needs a \"name\"");
      const auto schema = tool.find("input_schema");
      if (schema == tool.end()) continue;  // a server tool: nothing here can run it
      if (!schema->is_object()) return invalid(where + ": \"input_schema\" must be an object");
      json function = {{"name", *name}};
      if (const std::string* description = string_field(tool, "description")) function["description"] = *description;
      function["parameters"] = *schema;
      functions.push_back({{"type", "function"}, {"function", std::move(function)}});
    }
    if (functions.empty()) return json(nullptr);
    return functions;
  }

  const MappingOptions& options_;
  std::vector<std::string> system_parts_;
  std::vector<json> out_;
  std::map<std::string, std::string> call_names_;
  std::map<std::string, std::string> rewritten_ids_;
  std::set<std::string> used_ids_;
};

}  // namespace

std::string mistral_tool_call_id(std::string_view id, unsigned salt) {
  if (salt == 0 && is_alphanumeric_id(id)) return std::string(id);
  // FNV-1a: stable across runs and platforms, unlike std::hash.
  std::uint64_t hash = 14695981039346656037ull;
  for (char c : id) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  for (unsigned i = 0; i < salt; ++i) hash = (hash ^ 0x5bu) * 1099511628211ull;
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string out;
  for (int i = 0; i < 9; ++i) {
    out.push_back(kAlphabet[hash % kAlphabet.size()]);
    hash /= kAlphabet.size();
    if (hash == 0) hash = 0x9e3779b97f4a7c15ull ^ static_cast<std::uint64_t>(i);
  }
  return out;
}

Result<nlohmann::ordered_json> anthropic_to_template_context(const nlohmann::ordered_json& request,
                                                             const MappingOptions& options) {
  Mapper mapper(options);
  return mapper.map(request);
}

}  // namespace pensieve::chat
