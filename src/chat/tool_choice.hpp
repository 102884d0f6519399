// chat/tool_choice: honours a client's tool_choice without constrained decoding. A forced choice
// ("any", or "tool" with a name) is made by prefilling the start of a tool call, in the family's
// own syntax, after the rendered prompt: the model can only go on writing that call. The same
// prefill is fed to the family's stream parser first, so the call comes back as a tool call.
//
// - kTool: the call is written up to where its arguments begin (`<tool_call>\n{"name": "X",
//   "arguments": ` for Hermes), so the model writes only the arguments.
// - kAny: only the opener, up to where the name goes; the model picks the tool.
// - Reasoning families: a forced call comes first, so the prompt is rendered with thinking off
//   (the templates then close an empty <think></think> themselves), and a prompt that still
//   leaves <think> open gets "</think>\n\n" in front of the call.
// - kNone and kAuto need no prefill (kNone is handled by the mapping, which offers no tools, and
//   by parsing tool-call markup as text).
// Families with no tool-call syntax (generic) have nothing to prefill: the caller falls back to
// auto and says so.
//
// call_grammar() gives what the model must write after the prefill for the call to be valid, so
// that constrained decoding makes it so, in every family with call syntax; lazy_call() does the
// same for tool_choice auto from the moment the model opens a call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/call_trigger.hpp"
#include "chat/conversation.hpp"
#include "chat/template_family.hpp"
#include "core/result.hpp"
#include "grammar/builder.hpp"
#include "grammar/grammar.hpp"

namespace pensieve::chat {

struct ToolCallPrefill {
  std::string text;  // goes after the rendered prompt, and first into the stream parser
  // [name_begin, name_end) is the client's tool name inside `text` (empty for kAny): it came from
  // the request, so it is tokenized as untrusted text, never as control tokens.
  std::size_t name_begin = 0;
  std::size_t name_end = 0;
};

class ToolCallPrefiller {
 public:
  // The template source tells the Mistral call forms apart (Nemo's JSON array, Small 3.2's
  // [CALL_ID], Devstral's [ARGS]).
  ToolCallPrefiller(const TemplateTraits& traits, std::string_view template_source);

  // False for families whose calls have no syntax to prefill.
  bool supported() const { return syntax_ != Syntax::kNone; }

  // The prefill for a forced choice, or nullopt for kAuto / kNone / unsupported families.
  // `context` is the rendered template context (its "tools" must offer `name` for kTool, and
  // Kimi-K2 numbers calls across its "messages"); `rendered_prompt` is the text it rendered to.
  Result<std::optional<ToolCallPrefill>> prefill(ToolChoiceMode mode, std::string_view name,
                                                 const nlohmann::ordered_json& context,
                                                 std::string_view rendered_prompt) const;

  // For a forced choice, the grammar of what follows the prefill: for kAny the name of one of the
  // offered tools and the syntax up to its arguments; the arguments, valid for that tool's schema
  // (as JSON, or for Qwen3-Coder and GLM as their parameter markup, which the family parser reads
  // back into arguments that validate); the call's close; then, with `parallel` where the family
  // writes calls one after another, up to seven more calls (for kTool, of that tool); then what
  // closes a section of calls (DeepSeek-R1, Kimi-K2, the JSON lists of Mistral Nemo and Granite).
  // The output may end after any complete call. Parallel calls: Hermes, Qwen3-Coder, GLM, the
  // three Mistral forms, DeepSeek-R1, Kimi-K2, Granite; not Llama 3 (one bare JSON object a turn)
  // nor gpt-oss (<|call|> ends the turn). Markers that a vocabulary may hold as control tokens
  // (Kimi-K2's <|tool_call_end|>, DeepSeek's <｜tool▁call▁end｜>, Mistral's [ARGS]) are matched by
  // those tokens or by their text (grammar/control_token.hpp). nullptr for kAuto / kNone and for
  // families without call syntax. A tool whose schema the grammar cannot express still gets a
  // call with the right syntax and name, its arguments held only to be an object; `unconstrained`
  // (when given) receives why, one line per such tool.
  Result<std::shared_ptr<const grammar::Grammar>> call_grammar(
      ToolChoiceMode mode, std::string_view name, const nlohmann::ordered_json& context,
      bool parallel = false, std::vector<std::string>* unconstrained = nullptr) const;

  // For tool_choice auto: the texts with which the model opens a call (a marker's text and, for a
  // marker, its control token), and the grammar of the call from there on (the rest of the opener,
  // one of the offered tools, its valid arguments, the close). Constrained decoding engages when a
  // trigger appears, so free text stays free but a call that starts finishes valid. Every family
  // with a distinct opener has one: Hermes and Qwen3-Coder (<tool_call>), GLM (<tool_call>), the
  // Mistral forms ([TOOL_CALLS]), gpt-oss (to=functions.), DeepSeek-R1 (<｜tool▁calls▁begin｜>),
  // Kimi-K2 (<|tool_calls_section_begin|>), Granite (<|tool_call|>). Llama 3 has none: its call
  // is a bare JSON object, which no text tells apart from an answer that begins with "{". Where a
  // section holds the calls (see call_grammar) the grammar takes the whole section, with more
  // calls when `parallel`; elsewhere each call opens with the trigger and is held alone.
  // Qwen3-Coder's model sometimes drops the <tool_call> wrapper: a bare "<function=" opens a call
  // too (one of the trigger's openings). gpt-oss's trigger counts only in a message's header.
  struct LazyCall {
    CallTrigger trigger;
    std::shared_ptr<const grammar::Grammar> grammar;
  };
  Result<std::optional<LazyCall>> lazy_call(const nlohmann::ordered_json& context, bool parallel = false,
                                            std::vector<std::string>* unconstrained = nullptr) const;

 private:
  enum class Arguments : std::uint8_t { kJson, kQwen3Coder, kGlm };
  // A call in the family's syntax: `before` NAME `after` ARGUMENTS `close`, further calls
  // `next` NAME `after` ARGUMENTS `close`, then `end`.
  struct CallParts {
    std::string before;
    std::string after;
    bool numbered = false;                  // `after` holds the call's number (call_parts' k)
    std::vector<std::string> other_afters;  // what else may follow a name the model writes
    bool json_name = false;                 // the name sits in a JSON string
    Arguments arguments = Arguments::kJson;
    std::string close;
    bool call_id = false;  // `, "id": "…"` may come before the close (Mistral Nemo writes one)
    std::optional<std::string> next;  // between one call's close and the next one's name
    std::string end;
    std::string trigger;              // what opens a call, within `before`; empty: no distinct opener
    // Another opener (lazily only): `bare_opener` NAME `after` ARGUMENTS `bare_close`, one call.
    std::string bare_opener;
    std::string bare_close;
    std::vector<std::string> quiet_open, quiet_close;  // see CallTrigger
    std::vector<std::string> tokens;  // the markers a vocabulary may hold as control tokens
  };
  // The parts of call number k of this turn.
  CallParts call_parts(const nlohmann::ordered_json& context, std::size_t k) const;
  Result<grammar::GrammarBuilder::Rule> arguments_rule(grammar::GrammarBuilder& b, const CallParts& parts,
                                                       const nlohmann::ordered_json& schema) const;
  // call_grammar(); `lazy`: from the trigger on, the model naming the tool (kAny).
  Result<std::shared_ptr<const grammar::Grammar>> call_grammar(ToolChoiceMode mode, std::string_view name,
                                                               const nlohmann::ordered_json& context,
                                                               bool parallel, bool lazy,
                                                               std::vector<std::string>* unconstrained) const;

  enum class Syntax : std::uint8_t {
    kNone,
    kHermes,
    kQwen3Coder,
    kLlama3,
    kMistralArray,
    kMistralCallId,
    kMistralArgs,
    kGptOss,
    kDeepSeekR1,
    kGlm,
    kKimiK2,
    kGranite,
  };

  Syntax syntax_ = Syntax::kNone;
  bool think_tags_ = false;
};

}  // namespace pensieve::chat
