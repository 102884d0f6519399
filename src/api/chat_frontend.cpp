#include "api/chat_frontend.hpp"

#include "chat/anthropic_mapping.hpp"
#include "chat/stream_parser.hpp"

namespace pensieve::api {
namespace {

class Decoder : public TokenDecoder {
 public:
  // Control tokens decode to their text: the tool-call parsers of some families need markers
  // such as <|python_tag|> or [TOOL_CALLS]; end-of-turn tokens never reach the decoder.
  explicit Decoder(const tokenizer::Tokenizer& tok) : decoder_(tok, tokenizer::DecodeOptions{true, false}) {}
  void push(std::int32_t token, std::string& out) override { out.append(decoder_.feed(token)); }
  void finish(std::string& out) override { out.append(decoder_.flush()); }

 private:
  tokenizer::StreamDecoder decoder_;
};

class Parser : public OutputParser {
 public:
  explicit Parser(std::unique_ptr<chat::StreamParser> parser) : parser_(std::move(parser)) {}
  void feed(std::string_view text, OutputSink& sink) override {
    events_.clear();
    parser_->feed(text, events_);
    deliver(sink);
  }
  void finish(OutputSink& sink) override {
    events_.clear();
    parser_->finish(events_);
    deliver(sink);
  }

 private:
  void deliver(OutputSink& sink) {
    for (const auto& e : events_) {
      switch (e.kind) {
        case chat::ChatEventKind::kText:
          sink.text(e.text);
          break;
        case chat::ChatEventKind::kReasoning:
          sink.thinking(e.text);
          break;
        case chat::ChatEventKind::kToolCallStart:
          sink.tool_call_start(e.id, e.name);
          break;
        case chat::ChatEventKind::kToolCallArguments:
          sink.tool_call_arguments(e.text);
          break;
        case chat::ChatEventKind::kToolCallEnd:
          sink.tool_call_end();
          break;
      }
    }
  }

  std::unique_ptr<chat::StreamParser> parser_;
  std::vector<chat::ChatEvent> events_;
};

}  // namespace

ChatFrontend::ChatFrontend(tokenizer::Tokenizer tok, chat::Template tmpl, chat::ModelChatTemplate info,
                           chat::TemplateTraits traits)
    : tokenizer_(std::move(tok)), template_(std::move(tmpl)), info_(std::move(info)), traits_(traits) {}

Result<std::unique_ptr<ChatFrontend>> ChatFrontend::from_gguf(const gguf::Contents& metadata) {
  auto tok = tokenizer::Tokenizer::from_gguf(metadata);
  if (!tok) return tok.error().with_context("tokenizer");
  auto info = chat::read_model_chat_template(metadata);
  if (!info) return info.error().with_context("chat template");
  const std::string source = info->source ? *info->source : std::string(chat::default_chat_template());
  auto tmpl = chat::Template::parse(source);
  if (!tmpl) return tmpl.error().with_context("chat template");
  const auto traits = chat::detect_template_traits(source);
  return std::unique_ptr<ChatFrontend>(
      new ChatFrontend(std::move(*tok), std::move(*tmpl), std::move(*info), traits));
}

Result<Prompt> ChatFrontend::prompt(const MessagesRequest& request) {
  auto context = chat::anthropic_to_template_context(request.body, {traits_.family});
  if (!context) return context.error();
  (*context)["bos_token"] = info_.bos_token;
  (*context)["eos_token"] = info_.eos_token;
  (*context)["add_generation_prompt"] = true;
  // Qwen3-style templates switch reasoning on and off with this variable.
  (*context)["enable_thinking"] = request.thinking;

  chat::RenderOptions options;
  options.trusted_variables = {"bos_token", "eos_token"};
  auto rendered = chat::render(template_, *context, options);
  if (!rendered) return rendered.error().with_context("rendering the chat template");

  // Trusted template text may hold control tokens; untrusted spans (user and tool text) never.
  const std::string& text = rendered->text;
  std::vector<tokenizer::Tokenizer::Segment> segments;
  std::size_t at = 0;
  for (const auto& [begin, end] : rendered->untrusted) {
    if (begin > at) segments.push_back({std::string_view(text).substr(at, begin - at), true});
    if (end > begin) segments.push_back({std::string_view(text).substr(begin, end - begin), false});
    at = end;
  }
  if (at < text.size()) segments.push_back({std::string_view(text).substr(at), true});

  Prompt p;
  p.tokens = tokenizer_.encode(segments);
  if (tokenizer_.add_bos() && tokenizer_.bos_id() &&
      (p.tokens.empty() || p.tokens.front() != *tokenizer_.bos_id())) {
    p.tokens.insert(p.tokens.begin(), *tokenizer_.bos_id());
  }
  p.opens_reasoning = traits_.think_tags && chat::prompt_opens_reasoning(text);
  if (context->contains("tools")) p.tools = (*context)["tools"];
  return p;
}

std::unique_ptr<TokenDecoder> ChatFrontend::decoder() {
  return std::make_unique<Decoder>(tokenizer_);
}

std::unique_ptr<OutputParser> ChatFrontend::parser(const MessagesRequest&, const Prompt& prompt) {
  chat::ParserOptions options;
  options.tools = nlohmann::json(prompt.tools);
  options.starts_in_reasoning = prompt.opens_reasoning;
  return std::make_unique<Parser>(chat::make_stream_parser(traits_, std::move(options)));
}

std::vector<std::int32_t> ChatFrontend::end_tokens() const {
  const auto ids = tokenizer_.end_of_generation_ids();
  return {ids.begin(), ids.end()};
}

}  // namespace pensieve::api
