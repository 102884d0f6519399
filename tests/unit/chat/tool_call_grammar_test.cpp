// Forced tool calls under constrained decoding, for every call syntax, over a real vocabulary
// (GPT-2's byte-level BPE) to which the families' markers are added as control tokens: random
// walks through the token mask of ToolCallPrefiller::call_grammar always give text that the
// family's own stream parser turns into complete calls of offered tools whose input validates
// against the tool's schema (the schema corpus of the grammar tests); and valid inputs written in
// the family's syntax are never blocked, token by token.
#include <gtest/gtest.h>

#include <bit>
#include <nlohmann/json.hpp>
#include <random>
#include <unordered_map>

#include "../grammar/schema_check.hpp"
#include "../grammar/schema_corpus.hpp"
#include "chat/anthropic_mapping.hpp"
#include "chat/tool_choice.hpp"
#include "chat_fixtures.hpp"
#include "grammar/control_token.hpp"
#include "grammar/matcher.hpp"
#include "grammar/token_masker.hpp"
#include "parser_test_support.hpp"
#include "support/conversation_from_body.hpp"
#include "support/derived_fixtures.hpp"
#include "tokenizer/tokenizer.hpp"

namespace pensieve::chat {
namespace {

using pensieve::testing::context_from_body;

using nlohmann::ordered_json;
using testing::kChatFixtures;
using testing::read_text;

// The markers of every family: each becomes a control token of the test vocabulary, so that the
// walks may write a marker either way, as a real model may.
const std::vector<std::string> kMarkers = {"<tool_call>",
                                           "</tool_call>",
                                           "[TOOL_CALLS]",
                                           "[CALL_ID]",
                                           "[ARGS]",
                                           "<|channel|>",
                                           "<|constrain|>",
                                           "<|message|>",
                                           "<|tool_call|>",
                                           "<arg_key>",
                                           "</arg_key>",
                                           "<arg_value>",
                                           "</arg_value>",
                                           "<|tool_calls_section_begin|>",
                                           "<|tool_call_begin|>",
                                           "<|tool_call_argument_begin|>",
                                           "<|tool_call_end|>",
                                           "<|tool_calls_section_end|>",
                                           "<｜tool▁calls▁begin｜>",
                                           "<｜tool▁call▁begin｜>",
                                           "<｜tool▁sep｜>",
                                           "<｜tool▁call▁end｜>",
                                           "<｜tool▁calls▁end｜>"};

struct Vocab {
  tokenizer::Tokenizer tok;
  std::vector<std::string> bytes;    // what the masker and matcher see
  std::vector<std::string> decoded;  // what the stream parser sees (control tokens as their text)
  std::unordered_map<std::string, std::uint32_t> by_bytes;
  std::size_t longest = 0;
};

const Vocab& vocab() {
  static const Vocab* v = [] {
    auto tok =
        tokenizer::Tokenizer::from_file(::pensieve::testing::fixture_path("vocab/ggml-vocab-gpt-2.gguf"));
    EXPECT_TRUE(tok.ok());
    auto* out = new Vocab{std::move(*tok), {}, {}, {}, 0};
    for (std::int32_t i = 0; i < out->tok.n_vocab(); ++i) {
      std::string piece;
      out->tok.append_piece(i, {}, piece);
      const bool control = out->tok.token_type(i) == tokenizer::TokenType::kControl;
      out->bytes.push_back(grammar::grammar_token_bytes(piece, out->tok.token_text(i), control));
      out->decoded.push_back(control ? std::string(out->tok.token_text(i)) : piece);
    }
    for (const std::string& marker : kMarkers) {
      out->bytes.push_back(grammar::control_token_bytes(marker));
      out->decoded.push_back(marker);
    }
    for (std::size_t i = 0; i < out->bytes.size(); ++i) {
      if (out->bytes[i].empty()) continue;
      out->by_bytes.emplace(out->bytes[i], static_cast<std::uint32_t>(i));
      out->longest = std::max(out->longest, out->bytes[i].size());
    }
    return out;
  }();
  return *v;
}

bool has(const std::vector<std::uint64_t>& mask, std::size_t id) {
  return (mask[id >> 6] >> (id & 63)) & 1;
}

struct Family {
  const char* model;
  TemplateTraits traits;
  std::string source;
};

// One fixture template per call syntax.
std::vector<Family> families() {
  std::vector<Family> out;
  for (const char* model : {"Qwen-Qwen3-0.6B", "Qwen3-Coder", "meta-llama-Llama-3.1-8B-Instruct",
                            "mistralai-Mistral-Nemo-Instruct-2407", "Mistral-Small-3.2-24B-Instruct-2506",
                            "unsloth-mistral-Devstral-Small-2507", "openai-gpt-oss-120b",
                            "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", "GLM-4.6", "Kimi-K2-Instruct",
                            "ibm-granite-granite-3.3-2B-Instruct"}) {
    std::string source = read_text(kChatFixtures + "templates/" + model + ".jinja");
    const TemplateTraits traits = detect_template_traits(source);
    out.push_back({model, traits, std::move(source)});
  }
  return out;
}

std::vector<std::pair<std::string, ordered_json>> corpus() {
  auto tools = grammar::testing::claude_code_tools();
  for (auto& s : grammar::testing::other_schemas()) tools.push_back(std::move(s));
  return tools;
}

// The template context's tools, as the request mapping makes them from Anthropic tools.
ordered_json context_for(const std::vector<std::pair<std::string, ordered_json>>& tools) {
  ordered_json request;
  request["tools"] = ordered_json::array();
  for (const auto& [name, schema] : tools)
    request["tools"].push_back({{"name", name}, {"input_schema", schema}});
  request["messages"] = ordered_json::array({{{"role", "user"}, {"content", "Go."}}});
  auto context = context_from_body(request);
  EXPECT_TRUE(context.ok());
  return context.ok() ? *context : ordered_json();
}

// Per grammar node: the fewest bytes that end its rule from there (a call costs the shortest
// text of the rule it calls). Fixed point over the nodes, as the grammar may recurse.
std::vector<std::size_t> bytes_to_end(const grammar::Grammar& g) {
  constexpr std::size_t kFar = std::size_t{1} << 40;
  std::vector<std::size_t> d(g.node_count(), kFar);
  for (bool changed = true; changed;) {
    changed = false;
    for (std::uint32_t n = 0; n < g.node_count(); ++n) {
      std::size_t best = g.node(n).accepting ? 0 : kFar;
      for (const auto& e : g.byte_edges(n)) best = std::min(best, 1 + d[e.target]);
      for (const auto& c : g.call_edges(n)) best = std::min(best, d[g.rule_start(c.rule)] + d[c.ret]);
      if (best < d[n]) d[n] = best, changed = true;
    }
  }
  return d;
}

// The fewest bytes that complete the grammar from the matcher's state: each frame of a stack
// must end its rule (the top one the innermost).
std::size_t distance(const grammar::Matcher& m, const std::vector<std::size_t>& to_end) {
  std::size_t best = SIZE_MAX;
  for (std::size_t i = 0; i < m.state().size(); ++i) {
    std::size_t sum = 0;
    for (const std::uint32_t frame : m.state().stack(i)) sum += to_end[frame];
    best = std::min(best, sum);
  }
  return best;
}

// The shortest bytes that complete the grammar: each byte one that brings the end a byte nearer.
std::string shortest_completion(const grammar::Matcher& m, const std::vector<std::size_t>& to_end) {
  grammar::Matcher at = m;
  std::string path;
  for (std::size_t left = distance(at, to_end); left > 0; --left) {
    bool stepped = false;
    for (unsigned b = 0; b < 256 && !stepped; ++b) {
      grammar::Matcher next = at;
      const char c = static_cast<char>(b);
      if (next.accept(std::string_view(&c, 1)) && distance(next, to_end) == left - 1) {
        at = std::move(next);
        path += c;
        stepped = true;
      }
    }
    if (!stepped) {
      ADD_FAILURE() << "no byte brings the end nearer after '" << path << "'";
      return path;
    }
  }
  EXPECT_TRUE(at.can_end());
  return path;
}

// A random walk: allowed tokens at random for a while, then mostly the shortest way to an end
// (the longest allowed token that follows it), now and then a random allowed token still (often
// where few are allowed), so that walks also take the other ways open at the end of a call
// (another call). At an end it may stop. Returns the text as the parser would see it.
std::string random_walk(grammar::TokenMasker& masker, const std::shared_ptr<const grammar::Grammar>& g,
                        std::mt19937& rng) {
  const Vocab& v = vocab();
  const std::vector<std::size_t> to_end = bytes_to_end(*g);
  grammar::Matcher m(g);
  std::string text;
  std::vector<std::uint64_t> mask;
  auto coin = [&rng](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng) == 0; };
  const int free_steps = std::uniform_int_distribution<int>(3, 60)(rng);
  std::string finish;  // the shortest way to an end from here, while it is followed
  for (int step = 0; step < 3000; ++step) {
    if (m.must_end() || (m.can_end() && coin(step < free_steps ? 6 : 3))) return text;
    masker.allowed(m, mask);
    std::size_t count = 0;
    for (const std::uint64_t w : mask) count += static_cast<std::size_t>(std::popcount(w));
    EXPECT_GT(count, 0u) << "nothing allowed after: " << text;
    if (count == 0) return text;
    std::uint32_t id = 0;
    // Where few tokens are allowed (the syntax decides, e.g. another call or the end), a random
    // one half the time.
    const bool wander = step < free_steps || coin(count <= 8 ? 2 : 5);
    if (!wander && !(finish.empty() && (finish = shortest_completion(m, to_end)).empty())) {
      // The longest allowed token that follows the way to the end.
      std::size_t best = 0;
      for (std::size_t n = std::min(finish.size(), v.longest); n > 0 && best == 0; --n) {
        const auto it = v.by_bytes.find(finish.substr(0, n));
        if (it != v.by_bytes.end() && has(mask, it->second)) best = n, id = it->second;
      }
      EXPECT_GT(best, 0u) << "no token follows the way '" << finish << "' to the end after: " << text;
      finish.erase(0, best);
    } else {
      std::size_t pick = std::uniform_int_distribution<std::size_t>(0, count - 1)(rng);
      for (std::size_t w = 0;; ++w) {
        const auto bits = static_cast<std::size_t>(std::popcount(mask[w]));
        if (pick >= bits) {
          pick -= bits;
          continue;
        }
        std::uint64_t word = mask[w];
        for (; pick > 0; --pick) word &= word - 1;
        id = static_cast<std::uint32_t>(w * 64 + static_cast<std::size_t>(std::countr_zero(word)));
        break;
      }
      finish.clear();
    }
    EXPECT_TRUE(m.accept(v.bytes[id])) << "allowed token refused: '" << v.bytes[id] << "' after: " << text;
    text += v.decoded[id];
  }
  ADD_FAILURE() << "the walk did not end: " << text;
  return text;
}

struct Call {
  std::string name;
  std::string arguments;
  bool complete = false;
};

std::vector<Call> parse_calls(const Family& f, const ordered_json& context, const std::string& prefill,
                              const std::string& text, std::string& other) {
  ParserOptions options = testing::make_options(nlohmann::json(context["tools"]));
  auto counter = std::make_shared<int>(0);
  options.make_tool_call_id = [counter] { return "call_" + std::to_string((*counter)++); };
  auto parser = make_stream_parser(f.traits, std::move(options));
  std::vector<ChatEvent> events;
  parser->feed(prefill, events);
  parser->feed(text, events);
  parser->finish(events);
  std::vector<Call> calls;
  for (const ChatEvent& e : events) {
    switch (e.kind) {
      case ChatEventKind::kToolCallStart:
        calls.push_back({e.name, "", false});
        break;
      case ChatEventKind::kToolCallArguments:
        calls.back().arguments += e.text;
        break;
      case ChatEventKind::kToolCallEnd:
        calls.back().complete = e.complete;
        break;
      default:
        other += e.text;
    }
  }
  return calls;
}

// Every call complete, of an offered tool (`only`, when given), with input valid for its schema.
void expect_valid_calls(const std::vector<Call>& calls,
                        const std::vector<std::pair<std::string, ordered_json>>& tools,
                        const std::string& text, const std::string& only = "") {
  ASSERT_FALSE(calls.empty()) << text;
  for (const Call& call : calls) {
    EXPECT_TRUE(call.complete) << text;
    if (!only.empty()) {
      EXPECT_EQ(call.name, only) << text;
    }
    const auto tool =
        std::find_if(tools.begin(), tools.end(), [&](const auto& t) { return t.first == call.name; });
    ASSERT_NE(tool, tools.end()) << "not an offered tool: " << call.name << " in " << text;
    const ordered_json input = ordered_json::parse(call.arguments, nullptr, false);
    ASSERT_FALSE(input.is_discarded()) << call.arguments << " from " << text;
    EXPECT_EQ(grammar::testing::SchemaCheck(tool->second).validate(input, tool->second), "")
        << call.name << " " << input.dump() << " from " << text;
  }
}

TEST(ToolCallGrammar, RandomWalksGiveCallsTheFamilyParserReadsAsValid) {
  const auto tools = corpus();
  const ordered_json context = context_for(tools);
  for (const Family& f : families()) {
    SCOPED_TRACE(f.model);
    const ToolCallPrefiller prefiller(f.traits, f.source);
    std::mt19937 rng(17);
    // "any", calls one after another where the family writes them so.
    auto g = prefiller.call_grammar(ToolChoiceMode::kAny, "", context, /*parallel=*/true);
    ASSERT_TRUE(g.ok() && *g) << (g.ok() ? "no grammar" : g.error().message);
    auto prefill = prefiller.prefill(ToolChoiceMode::kAny, "", context, "");
    ASSERT_TRUE(prefill.ok() && prefill->has_value());
    grammar::TokenMasker masker(*g, vocab().bytes);
    std::size_t calls = 0;
    for (int walk = 0; walk < 10; ++walk) {
      const std::string text = random_walk(masker, *g, rng);
      std::string other;
      const auto parsed = parse_calls(f, context, (*prefill)->text, text, other);
      expect_valid_calls(parsed, tools, (*prefill)->text + text);
      EXPECT_EQ(other.find_first_not_of(" \n"), std::string::npos) << "text besides the calls: " << other;
      calls += parsed.size();
    }
    // Llama 3 and gpt-oss write one call a turn.
    if (f.traits.family != TemplateFamily::kLlama3 && f.traits.family != TemplateFamily::kGptOss) {
      EXPECT_GT(calls, 10u) << "some walks write several calls";
    }

    // "tool", one call only.
    for (const char* name : {"Grep", "enums"}) {
      auto one = prefiller.call_grammar(ToolChoiceMode::kTool, name, context, /*parallel=*/false);
      ASSERT_TRUE(one.ok() && *one);
      auto tool_prefill = prefiller.prefill(ToolChoiceMode::kTool, name, context, "");
      ASSERT_TRUE(tool_prefill.ok() && tool_prefill->has_value());
      grammar::TokenMasker one_masker(*one, vocab().bytes);
      for (int walk = 0; walk < 3; ++walk) {
        const std::string text = random_walk(one_masker, *one, rng);
        std::string other;
        const auto parsed = parse_calls(f, context, (*tool_prefill)->text, text, other);
        expect_valid_calls(parsed, tools, (*tool_prefill)->text + text, name);
        EXPECT_EQ(parsed.size(), 1u) << text;
      }
    }
  }
}

// Whether the parser reads this parameter's value raw (chat/text_arguments.cpp): its schema in
// "properties" has type "string", or "string" with "null".
bool read_raw(const ordered_json& schema, const std::string& key) {
  if (!schema.contains("properties") || !schema["properties"].contains(key)) return false;
  const ordered_json& p = schema["properties"][key];
  if (!p.is_object() || !p.contains("type")) return false;
  if (p["type"].is_string()) return p["type"] == "string";
  bool string = false;
  for (const auto& t : p["type"]) {
    if (t != "string" && t != "null") return false;
    string = string || t == "string";
  }
  return string;
}

// A parameter's value as Qwen3-Coder and GLM write it, or nullopt where markup cannot hold it (see
// grammar/markup_arguments.cpp: the closing tag inside, '<' in a counted raw string, a string
// that would read back as another JSON value).
std::optional<std::string> markup_value(const ordered_json& schema, const std::string& key,
                                        const ordered_json& v, const std::string& value_end) {
  if (read_raw(schema, key)) {
    if (!v.is_string()) return std::nullopt;
    const std::string text = v.get<std::string>();
    if (text.find(value_end) != std::string::npos) return std::nullopt;
    if (schema["properties"][key].contains("maxLength") && text.find('<') != std::string::npos)
      return std::nullopt;
    return text;
  }
  if (v.is_string()) {
    const std::string text = v.get<std::string>();
    const auto parsed = nlohmann::json::parse(text, nullptr, false);
    if (!parsed.is_discarded() && !parsed.is_string()) return std::nullopt;
    if (text.find(value_end) != std::string::npos) return std::nullopt;
    if (!text.empty() && std::string_view(" \t\n\r-0123456789[{tfn").find(text[0]) != std::string_view::npos)
      return std::nullopt;
    return text;
  }
  // JSON, with '<' escaped (markup JSON never writes "</", nor '<' in a counted string).
  std::string out;
  for (const char c : v.dump()) out += c == '<' ? std::string("\\u003c") : std::string(1, c);
  return out;
}

// The call as the family writes it after the "any" prefill (from the tool's name on), or nullopt
// where its syntax cannot hold the input.
std::optional<std::string> written_call(const Family& f, const std::string& name, const ordered_json& input,
                                        const ordered_json& schema, bool indent) {
  const std::string json = indent ? input.dump(2) : input.dump();
  const std::string model = f.model;
  auto markup = [&](const char* open, const char* close, const char* value_close,
                    const std::string& value_end) -> std::optional<std::string> {
    std::string out;
    for (const auto& [key, value] : input.items()) {
      const auto text = markup_value(schema, key, value, value_end);
      if (!text) return std::nullopt;
      out += open + key + close + *text + value_close;
    }
    return out;
  };
  switch (f.traits.family) {
    case TemplateFamily::kHermes:
      return name + "\", \"arguments\": " + json + "}\n</tool_call>";
    case TemplateFamily::kLlama3:
      return name + "\", \"parameters\": " + json + "}";
    case TemplateFamily::kGranite:
      return name + "\", \"arguments\": " + json + "}]";
    case TemplateFamily::kMistral:
      if (model.find("Nemo") != std::string::npos)
        return name + "\", \"arguments\": " + json + ", \"id\": \"a1b2c3d4e\"}]";
      if (model.find("Devstral") != std::string::npos) return name + "[ARGS]" + json;
      return name + "[CALL_ID]" + mistral_tool_call_id("prefill-0") + "[ARGS]" + json;
    case TemplateFamily::kGptOss:
      return name + (indent ? " <|constrain|>json<|message|>" : "<|channel|>commentary json<|message|>") +
             json;
    case TemplateFamily::kDeepSeekR1:
      return name + "\n```json\n" + json + "\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>";
    case TemplateFamily::kKimiK2:
      return name + ":0<|tool_call_argument_begin|>" + json + "<|tool_call_end|><|tool_calls_section_end|>";
    case TemplateFamily::kQwen3Coder: {
      const auto args = markup("<parameter=", ">\n", "\n</parameter>\n", "</parameter>");
      if (!args) return std::nullopt;
      return name + ">\n" + *args + "</function>\n</tool_call>";
    }
    case TemplateFamily::kGlm: {
      const auto args = markup("<arg_key>", "</arg_key>\n<arg_value>", "</arg_value>\n", "</arg_value>");
      if (!args) return std::nullopt;
      return name + "\n" + *args + "</tool_call>";
    }
    case TemplateFamily::kGeneric:
      break;
  }
  return std::nullopt;
}

TEST(ToolCallGrammar, ValidInputsWrittenInTheFamilySyntaxAreNeverBlocked) {
  const auto tools = corpus();
  const ordered_json context = context_for(tools);
  const Vocab& v = vocab();
  for (const Family& f : families()) {
    SCOPED_TRACE(f.model);
    const ToolCallPrefiller prefiller(f.traits, f.source);
    auto g = prefiller.call_grammar(ToolChoiceMode::kAny, "", context, /*parallel=*/false);
    ASSERT_TRUE(g.ok() && *g);
    grammar::TokenMasker masker(*g, v.bytes);
    std::mt19937 rng(29);
    std::size_t written = 0, skipped = 0;
    std::vector<std::uint64_t> mask;
    for (const auto& [name, schema] : tools) {
      const grammar::testing::SchemaCheck check(schema);
      for (int i = 0; i < 4; ++i) {
        const ordered_json input = check.generate(schema, rng);
        ASSERT_EQ(check.validate(input, schema), "") << input.dump();
        const auto text = written_call(f, name, input, schema, i % 2 == 1);
        if (!text) {
          ++skipped;
          continue;
        }
        ++written;
        grammar::Matcher m(*g);
        std::string so_far;
        for (const std::int32_t id : v.tok.encode(*text, false)) {
          const auto t = static_cast<std::size_t>(id);
          masker.allowed(m, mask);
          ASSERT_TRUE(has(mask, t)) << "token '" << v.bytes[t] << "' blocked after '" << so_far << "' in "
                                    << *text;
          ASSERT_TRUE(m.accept(v.bytes[t]));
          so_far += v.bytes[t];
        }
        EXPECT_TRUE(m.can_end()) << *text;
      }
    }
    EXPECT_GT(written, 3 * skipped) << "most inputs can be written";
  }
}

}  // namespace
}  // namespace pensieve::chat
