#include "chat/text_arguments.hpp"

#include "grammar/raw_text_schema.hpp"

namespace pensieve::chat {

namespace {

const nlohmann::json* parameter_schema(const nlohmann::json& tools, std::string_view function,
                                       std::string_view parameter) {
  if (!tools.is_array()) return nullptr;
  for (const auto& tool : tools) {
    const auto& fn = tool.is_object() && tool.contains("function") ? tool["function"] : tool;
    if (!fn.is_object()) continue;
    const auto name = fn.find("name");
    if (name == fn.end() || !name->is_string() || name->get_ref<const std::string&>() != function) continue;
    const auto properties = fn.find("parameters");
    if (properties == fn.end() || !properties->is_object()) return nullptr;
    const auto props = properties->find("properties");
    if (props == properties->end() || !props->is_object()) return nullptr;
    const auto schema = props->find(std::string(parameter));
    return schema == props->end() ? nullptr : &*schema;
  }
  return nullptr;
}

}  // namespace

std::string dump_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json typed_argument_value(const nlohmann::json& tools, std::string_view function,
                                    std::string_view parameter, std::string_view raw) {
  const nlohmann::json* schema = parameter_schema(tools, function, parameter);
  if (schema != nullptr && grammar::is_raw_text_schema(*schema)) return std::string(raw);
  auto parsed = nlohmann::json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || parsed.is_string()) return std::string(raw);
  return parsed;
}

void ArgumentsObjectWriter::add(ToolCallWriter& writer, std::string_view key, const nlohmann::json& value) {
  piece_.assign(first_ ? "{" : ", ");
  first_ = false;
  piece_.append(dump_json(nlohmann::json(std::string(key))));
  piece_.append(": ");
  piece_.append(dump_json(value));
  writer.arguments(piece_);
}

void ArgumentsObjectWriter::close(ToolCallWriter& writer) {
  writer.arguments(first_ ? "{}" : "}");
  first_ = true;
}

}  // namespace pensieve::chat
