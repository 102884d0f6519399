#include "api/chat_frontend.hpp"

#include <cstdio>

#include "chat/anthropic_mapping.hpp"
#include "chat/stream_parser.hpp"
#include "chat/tool_call_writer.hpp"
#include "core/log.hpp"
#include "grammar/builder.hpp"
#include "grammar/control_token.hpp"

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


}  // namespace

ChatFrontend::ChatFrontend(tokenizer::Tokenizer tok, jinja::Template tmpl, chat::ModelChatTemplate info,
                           chat::TemplateTraits traits, std::string_view template_source)
    : tokenizer_(std::move(tok)),
      template_(std::move(tmpl)),
      info_(std::move(info)),
      traits_(traits),
      prefiller_(traits, template_source) {
  // Token texts as the vocabulary spells them (byte-level BPE writes some bytes as two), so this
  // errs long, which only lowers the floor it gives.
  for (std::int32_t id = 0; id < tokenizer_.n_vocab(); ++id) {
    longest_token_bytes_ = std::max(longest_token_bytes_, tokenizer_.token_text(id).size());
  }
}

Result<std::unique_ptr<ChatFrontend>> ChatFrontend::from_gguf(const gguf::Contents& metadata) {
  auto tok = tokenizer::Tokenizer::from_gguf(metadata);
  if (!tok) return tok.error().with_context("tokenizer");
  auto info = chat::read_model_chat_template(metadata);
  if (!info) return info.error().with_context("chat template");
  const std::string source = info->source ? *info->source : std::string(chat::default_chat_template());
  auto tmpl = jinja::Template::parse(source);
  if (!tmpl) return tmpl.error().with_context("chat template");
  const auto traits = chat::detect_template_traits(source);
  return std::unique_ptr<ChatFrontend>(
      new ChatFrontend(std::move(*tok), std::move(*tmpl), std::move(*info), traits, source));
}

std::string reasoning_effort(bool thinking, std::optional<std::int64_t> budget_tokens) {
  if (!thinking) return "low";
  if (!budget_tokens) return "medium";
  if (*budget_tokens < 4096) return "low";
  if (*budget_tokens < 16384) return "medium";
  return "high";
}

Prompt ChatFrontend::raw_prompt(std::string_view text) const {
  // The client wrote the whole prompt, template markers included (text-completion front ends
  // format chats themselves), so its control tokens are read as such: no text of anyone else's
  // is in it to guard.
  const tokenizer::Tokenizer::Segment whole{text, true};
  Prompt p;
  p.tokens = tokenizer_.encode(std::span(&whole, 1));
  add_bos(p.tokens);
  return p;
}

void ChatFrontend::add_bos(std::vector<std::int32_t>& tokens) const {
  if (tokenizer_.add_bos() && tokenizer_.bos_id() &&
      (tokens.empty() || tokens.front() != *tokenizer_.bos_id()))
    tokens.insert(tokens.begin(), *tokenizer_.bos_id());
}

Result<Prompt> ChatFrontend::prompt(const MessagesRequest& request) {
  if (request.raw_prompt) return raw_prompt(*request.raw_prompt);
  const chat::ToolChoice& choice = request.conversation.tool_choice;
  auto context = chat::anthropic_to_template_context(request.conversation, {traits_.family});
  if (!context) return context.error();
  (*context)["bos_token"] = info_.bos_token;
  (*context)["eos_token"] = info_.eos_token;
  (*context)["add_generation_prompt"] = true;
  // A forced tool call comes first, so reasoning is switched off: the templates that know
  // enable_thinking then close an empty <think></think> before the call (Qwen3, SmolLM3, GLM).
  const bool forcing = choice.forces_a_call() && prefiller_.supported();
  if (choice.forces_a_call() && !prefiller_.supported() && !told_forcing_unsupported_.exchange(true)) {
    core::log::warning(
        std::string("tool_choice \"any\"/\"tool\" cannot be enforced for the ") +
        chat::to_string(traits_.family) +
        " template family (no tool-call syntax to prefill); such requests are treated as \"auto\"");
  }
  // Qwen3-style templates switch reasoning on and off with this variable; gpt-oss's always
  // reasons, as much as its reasoning_effort says.
  // So is it for an output schema: the answer is the JSON alone.
  const bool reasoning = request.thinking && !forcing && !request.output_schema;
  (*context)["enable_thinking"] = reasoning;
  (*context)["reasoning_effort"] = reasoning_effort(reasoning, request.thinking_budget_tokens);

  jinja::RenderOptions options;
  options.trusted_variables = {"bos_token", "eos_token"};
  auto rendered = jinja::render(template_, *context, options);
  if (!rendered) return rendered.error().with_context("rendering the chat template");

  auto prefill = prefiller_.prefill(choice.mode, choice.name, *context, rendered->text);
  if (!prefill) return prefill.error();

  // Trusted template text may hold control tokens; untrusted spans (user and tool text) never.
  const std::size_t rendered_size = rendered->text.size();
  auto untrusted = rendered->untrusted;
  if (prefill->has_value()) {
    const chat::ToolCallPrefill& call = **prefill;
    rendered->text += call.text;
    // The prefill's markers are ours; the tool name in it is the client's.
    if (call.name_end > call.name_begin) untrusted.push_back({rendered_size + call.name_begin, rendered_size + call.name_end});
  }
  const std::string& text = rendered->text;
  std::vector<tokenizer::Tokenizer::Segment> segments;
  std::size_t at = 0;
  for (const auto& [begin, end] : untrusted) {
    if (begin > at) segments.push_back({std::string_view(text).substr(at, begin - at), true});
    if (end > begin) segments.push_back({std::string_view(text).substr(begin, end - begin), false});
    at = end;
  }
  if (at < text.size()) segments.push_back({std::string_view(text).substr(at), true});

  Prompt p;
  p.tokens = tokenizer_.encode(segments);
  add_bos(p.tokens);
  // Judged before the prefill: the parser reads the prefill as the model's first output.
  p.opens_reasoning = traits_.think_tags && chat::prompt_opens_reasoning(std::string_view(text).substr(0, rendered_size));
  if (context->contains("tools")) p.tools = (*context)["tools"];
  if (prefill->has_value()) p.prefill = std::move((*prefill)->text);
  PENSIEVE_TRY(add_grammar(request, *context, p));
  return p;
}

Status ChatFrontend::add_grammar(const MessagesRequest& request, const nlohmann::ordered_json& context,
                                 Prompt& p) {
  std::vector<std::string> unconstrained;
  // Said once per grammar (as its masker is built once): Claude Code resends the same tools.
  auto tell = [&](const std::string& key) {
    if (unconstrained.empty()) return;
    std::lock_guard lock(told_mutex_);
    if (!told_keys_.insert(std::hash<std::string>{}(key)).second) return;
    for (const auto& why : unconstrained)
      core::log::warning("tool arguments held only to be a JSON object: " + why);
  };
  const std::string tools = context.value("tools", nlohmann::ordered_json()).dump();
  const chat::ToolChoice& choice = request.conversation.tool_choice;
  if (!p.prefill.empty() && choice.forces_a_call()) {
    auto call = prefiller_.call_grammar(choice.mode, choice.name, context, !choice.disable_parallel_tool_use,
                                        &unconstrained);
    if (!call) {
      // Too large a grammar: the call is still prefilled, only not held to its schema.
      core::log::warning("a forced tool call is not constrained: " + call.error().message);
      return {};
    }
    if (!*call) {
      if (!told_unconstrained_.exchange(true))
        core::log::warning(std::string("forced tool calls are prefilled but not constrained for the ") +
                           chat::to_string(traits_.family) + " template family");
      return {};
    }
    p.grammar = std::move(*call);
    p.grammar_key = "call " + std::to_string(static_cast<int>(choice.mode)) +
                    (choice.disable_parallel_tool_use ? " one " : " some ") + choice.name + " " + tools;
    tell(p.grammar_key);
    return {};
  }
  if (choice.mode == chat::ToolChoiceMode::kAuto && context.contains("tools") && !request.output_schema) {
    const bool parallel = !choice.disable_parallel_tool_use;
    auto lazy = prefiller_.lazy_call(context, parallel, &unconstrained);
    if (!lazy) {
      core::log::warning("tool calls are not constrained: " + lazy.error().message);
      return {};
    }
    if (!*lazy) return {};
    p.grammar = std::move((*lazy)->grammar);
    p.grammar_trigger = std::move((*lazy)->trigger);
    p.grammar_key = std::string("auto ") + (parallel ? "some " : "one ") + tools;
    tell(p.grammar_key);
    return {};
  }
  if (!request.output_schema) return {};
  grammar::GrammarBuilder b;
  auto json = b.json_schema(*request.output_schema);
  if (!json) {
    return make_error(ErrorCode::kInvalidArgument, "output_config.format.schema: " + json.error().message +
                                                       " (not supported for structured outputs)");
  }
  // A prompt that still leaves reasoning open has it closed, empty, before the answer.
  auto root = p.opens_reasoning ? b.sequence({b.literal("</think>\n\n"), *json}) : *json;
  auto built = b.try_build(root);
  if (!built) return built.error();
  p.grammar = std::move(*built);
  p.grammar_key =
      std::string("schema ") + (p.opens_reasoning ? "after reasoning " : "") + request.output_schema->dump();
  return {};
}

MaskerCache& ChatFrontend::maskers() {
  std::call_once(maskers_made_, [this] {
    // The bytes each token stands for in a grammar: its text, or for a control token its marked
    // text, which only a grammar's marker literal takes (grammar/control_token.hpp).
    auto bytes = std::make_shared<std::vector<std::string>>(static_cast<std::size_t>(tokenizer_.n_vocab()));
    for (std::int32_t id = 0; id < tokenizer_.n_vocab(); ++id) {
      std::string piece;
      tokenizer_.append_piece(id, {}, piece);
      tokenizer_.finish_decoded_text(piece, 0, false, {});
      (*bytes)[static_cast<std::size_t>(id)] =
          grammar::grammar_token_bytes(std::move(piece), tokenizer_.token_text(id),
                                       tokenizer_.token_type(id) == tokenizer::TokenType::kControl);
    }
    maskers_ = std::make_unique<MaskerCache>(std::move(bytes));
  });
  return *maskers_;
}

std::shared_ptr<engine::TokenConstraint> ChatFrontend::constraint(const Prompt& prompt) {
  if (!prompt.grammar) return nullptr;
  auto& cache = maskers();
  auto entry = cache.get(prompt.grammar_key, prompt.grammar);
  std::optional<Trigger> trigger;
  if (prompt.grammar_trigger) trigger = Trigger{*prompt.grammar_trigger, prompt.opens_reasoning};
  return std::make_shared<GrammarConstraint>(entry.masker, entry.grammar, cache.token_bytes(), end_tokens(),
                                             std::move(trigger));
}

std::unique_ptr<TokenDecoder> ChatFrontend::decoder() {
  return std::make_unique<Decoder>(tokenizer_);
}

std::unique_ptr<chat::StreamParser> ChatFrontend::parser(const MessagesRequest& request,
                                                         const Prompt& prompt) {
  // A text completion is text, whatever markup the model writes.
  if (request.raw_prompt) return chat::make_stream_parser(chat::TemplateTraits{}, {});
  chat::ParserOptions options;
  options.make_tool_call_id = chat::tool_call_id_maker(request.tool_call_id_prefix);
  options.tools = nlohmann::json(prompt.tools);
  options.starts_in_reasoning = prompt.opens_reasoning;
  options.parse_tool_calls = request.conversation.tool_choice.mode != chat::ToolChoiceMode::kNone;
  return chat::make_stream_parser(traits_, std::move(options));
}

std::vector<std::int32_t> ChatFrontend::end_tokens() const {
  const auto ids = tokenizer_.end_of_generation_ids();
  return {ids.begin(), ids.end()};
}

}  // namespace pensieve::api
