#include "chat/tool_call_writer.hpp"

#include <memory>
#include <random>
#include <utility>

#include <nlohmann/json.hpp>

namespace pensieve::chat {

ToolCallWriter::ToolCallWriter(EventSink& sink, std::function<std::string()> make_id)
    : sink_(sink), make_id_(make_id ? std::move(make_id) : default_tool_call_id_maker()) {}

void ToolCallWriter::start(std::string name) {
  open_ = true;
  ++started_;
  arguments_.clear();
  sink_.tool_call_start(make_id_(), std::move(name));
}

void ToolCallWriter::arguments(std::string_view delta) {
  arguments_.append(delta);
  sink_.arguments(delta);
}

void ToolCallWriter::end(bool complete) {
  if (!open_) return;
  if (complete) {
    const auto parsed = nlohmann::json::parse(arguments_, nullptr, /*allow_exceptions=*/false);
    complete = parsed.is_object();
  }
  open_ = false;
  sink_.tool_call_end(complete);
}

ArgumentsStep stream_json_arguments(JsonScanner& scanner, std::string_view input, size_t& consumed,
                                    ToolCallWriter& writer) {
  if (!scanner.started()) {
    while (consumed < input.size() &&
           (input[consumed] == ' ' || input[consumed] == '\n' || input[consumed] == '\t' || input[consumed] == '\r')) {
      ++consumed;
    }
  }
  const size_t begin = consumed;
  ArgumentsStep result = ArgumentsStep::kMore;
  while (consumed < input.size()) {
    const auto step = scanner.feed(input[consumed]);
    if (step == JsonScanner::Step::kInvalid || step == JsonScanner::Step::kCompleteBefore) {
      result = ArgumentsStep::kInvalid;
      break;
    }
    ++consumed;
    if (step == JsonScanner::Step::kComplete) {
      result = ArgumentsStep::kComplete;
      break;
    }
  }
  writer.arguments(input.substr(begin, consumed - begin));
  return result;
}

std::function<std::string()> tool_call_id_maker(std::string prefix) {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [engine, prefix = std::move(prefix)] {
    static constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
    std::string id = prefix;
    for (int i = 0; i < 24; ++i) id.push_back(kAlphabet[pick(*engine)]);
    return id;
  };
}

std::function<std::string()> default_tool_call_id_maker() {
  return tool_call_id_maker("toolu_");
}

}  // namespace pensieve::chat
