#include "chat/anthropic_mapping.hpp"

#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <variant>
#include <vector>

namespace pensieve::chat {

namespace {

using json = nlohmann::ordered_json;

constexpr std::string_view kBlockSeparator = "\n\n";

std::string join(const std::vector<std::string>& parts) {
  std::string joined;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) joined.append(kBlockSeparator);
    joined.append(parts[i]);
  }
  return joined;
}

bool is_alphanumeric_id(std::string_view id) {
  if (id.size() != 9) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

std::string indexed(const std::string& where, size_t i) {
  return where + ".content[" + std::to_string(i) + "]";
}

// The string a content was sent as, or null when it came as blocks.
const std::string* bare_string(const Content& content) {
  if (!content.bare_text || content.blocks.size() != 1) return nullptr;
  const auto* text = std::get_if<TextBlock>(&content.blocks.front());
  return text != nullptr ? &text->text : nullptr;
}

// The text a block stands for where only text-like blocks may appear (a ContentBlock or a
// ToolResultPart).
template <class Block>
Result<std::string> text_of(const Block& block, const std::string& where) {
  if (const auto* text = std::get_if<TextBlock>(&block)) return text->text;
  if (std::holds_alternative<ImageBlock>(block)) return std::string(kImagePlaceholder);
  if (std::holds_alternative<DocumentBlock>(block)) return std::string(kDocumentPlaceholder);
  return make_error(
      ErrorCode::kUnsupported,
      where + ": content blocks of type \"" + std::string(block_type(block)) + "\" are not supported here");
}

class Mapper {
 public:
  explicit Mapper(const MappingOptions& options) : options_(options) {}

  Result<json> map(const Conversation& conversation) {
    if (conversation.system) PENSIEVE_TRY(add_system(*conversation.system, "system"));
    for (size_t i = 0; i < conversation.messages.size(); ++i) {
      PENSIEVE_TRY(add_message(conversation.messages[i], "messages[" + std::to_string(i) + "]"));
    }
    json context;
    context["messages"] = json::array();
    if (!system_parts_.empty()) context["messages"].push_back({{"role", "system"}, {"content", join(system_parts_)}});
    for (json& message : out_) context["messages"].push_back(std::move(message));
    context["tools"] = map_tools(conversation);
    return context;
  }

 private:
  Status add_system(const Content& content, const std::string& where) {
    if (const std::string* string = bare_string(content)) {
      std::string_view text = *string;
      if (text.starts_with(kBillingHeaderPrefix)) {
        const size_t newline = text.find('\n');
        text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
      }
      if (!text.empty()) system_parts_.emplace_back(text);
      return {};
    }
    std::vector<std::string> parts;
    for (size_t i = 0; i < content.blocks.size(); ++i) {
      auto part = text_of(content.blocks[i], indexed(where, i));
      if (!part.ok()) return part.error();
      parts.push_back(std::move(part.value()));
    }
    for (std::string& part : parts) {
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

  Status add_message(const Message& message, const std::string& where) {
    switch (message.role) {
      case Role::kSystem:
        return add_system(message.content, where);
      case Role::kUser:
        return add_user(message.content, where);
      case Role::kAssistant:
        return add_assistant(message.content, where);
    }
    return {};
  }

  Status add_user(const Content& content, const std::string& where) {
    if (const std::string* text = bare_string(content)) {
      push({{"role", "user"}, {"content", *text}});
      return {};
    }
    std::vector<std::string> parts;
    auto flush_text = [&] {
      if (parts.empty()) return;
      push({{"role", "user"}, {"content", join(parts)}});
      parts.clear();
    };
    for (size_t i = 0; i < content.blocks.size(); ++i) {
      const ContentBlock& block = content.blocks[i];
      if (const auto* result = std::get_if<ToolResultBlock>(&block)) {
        flush_text();
        PENSIEVE_TRY(add_tool_result(*result, indexed(where, i)));
        continue;
      }
      auto text = text_of(block, indexed(where, i));
      if (!text.ok()) return text.error();
      parts.push_back(std::move(text.value()));
    }
    flush_text();
    return {};
  }

  Status add_tool_result(const ToolResultBlock& result, const std::string& where) {
    std::vector<std::string> parts;
    for (size_t i = 0; i < result.content.size(); ++i) {
      auto part = text_of(result.content[i], indexed(where, i));
      if (!part.ok()) return part.error();
      parts.push_back(std::move(part.value()));
    }
    json message = {{"role", "tool"}, {"tool_call_id", call_id(result.tool_use_id)}};
    if (const auto name = call_names_.find(result.tool_use_id); name != call_names_.end()) {
      message["name"] = name->second;
    }
    message["content"] = join(parts);
    if (result.is_error) message["is_error"] = true;
    out_.push_back(std::move(message));
    return {};
  }

  Status add_assistant(const Content& content, const std::string& where) {
    json message = {{"role", "assistant"}, {"content", ""}};
    if (const std::string* text = bare_string(content)) {
      message["content"] = *text;
      push(std::move(message));
      return {};
    }
    std::vector<std::string> text;
    std::vector<std::string> reasoning;
    json calls = json::array();
    for (size_t i = 0; i < content.blocks.size(); ++i) {
      const ContentBlock& block = content.blocks[i];
      if (const auto* call = std::get_if<ToolUseBlock>(&block)) {
        call_names_[call->id] = call->name;
        calls.push_back({{"id", call_id(call->id)},
                         {"type", "function"},
                         {"function", {{"name", call->name}, {"arguments", call->input}}}});
      } else if (const auto* thinking = std::get_if<ThinkingBlock>(&block)) {
        reasoning.push_back(thinking->thinking);
      } else if (std::holds_alternative<RedactedThinkingBlock>(block)) {
        continue;  // encrypted for Anthropic's models; nothing a local model can read
      } else {
        auto part = text_of(block, indexed(where, i));
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

  static json map_tools(const Conversation& conversation) {
    if (conversation.tool_choice.mode == ToolChoiceMode::kNone) return json(nullptr);
    json functions = json::array();
    for (const Tool& tool : conversation.tools) {
      if (!tool.input_schema) continue;  // a server tool: nothing here can run it
      json function = {{"name", tool.name}};
      if (tool.description) function["description"] = *tool.description;
      function["parameters"] = *tool.input_schema;
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

Result<nlohmann::ordered_json> anthropic_to_template_context(const Conversation& conversation,
                                                             const MappingOptions& options) {
  Mapper mapper(options);
  return mapper.map(conversation);
}

}  // namespace pensieve::chat
