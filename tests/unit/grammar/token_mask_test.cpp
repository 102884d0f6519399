// Token masks over a real vocabulary (GPT-2's byte-level BPE, 50k tokens): equal to trying every
// token on a copy of the matcher; random walks only ever produce valid instances; valid instances
// tokenized by the real tokenizer are never blocked.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "grammar/builder.hpp"
#include "grammar/matcher.hpp"
#include "grammar/token_masker.hpp"
#include "schema_check.hpp"
#include "schema_corpus.hpp"
#include "support/derived_fixtures.hpp"
#include "support/sanitized_build.hpp"
#include "tokenizer/tokenizer.hpp"

namespace pensieve::grammar {
namespace {

using nlohmann::ordered_json;
using testing::SchemaCheck;

struct Vocab {
  tokenizer::Tokenizer tok;
  std::vector<std::string> bytes;
};

const Vocab& vocab() {
  static const Vocab* v = [] {
    auto tok =
        tokenizer::Tokenizer::from_file(::pensieve::testing::fixture_path("vocab/ggml-vocab-gpt-2.gguf"));
    EXPECT_TRUE(tok.ok());
    std::vector<std::string> bytes(static_cast<std::size_t>(tok->n_vocab()));
    for (std::int32_t i = 0; i < tok->n_vocab(); ++i) {
      if (tok->token_type(i) == tokenizer::TokenType::kControl) continue;
      tok->append_piece(i, {}, bytes[static_cast<std::size_t>(i)]);
    }
    return new Vocab{std::move(*tok), std::move(bytes)};
  }();
  return *v;
}

bool has(const std::vector<std::uint64_t>& mask, std::size_t id) {
  return (mask[id >> 6] >> (id & 63)) & 1;
}

std::vector<std::pair<std::string, ordered_json>> all_schemas() {
  auto out = testing::claude_code_tools();
  for (auto& s : testing::other_schemas()) out.push_back(std::move(s));
  return out;
}

std::shared_ptr<const Grammar> grammar_for(const ordered_json& schema) {
  GrammarBuilder b;
  auto r = b.json_schema(schema);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return b.build(*r);
}

void expect_brute_force_equal(TokenMasker& masker, const Matcher& m, const std::string& text) {
  std::vector<std::uint64_t> mask;
  masker.allowed(m, mask);
  const auto& bytes = vocab().bytes;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    bool ok = false;
    if (!bytes[i].empty()) {
      Matcher copy = m;
      ok = copy.accept(bytes[i]);
    }
    ASSERT_EQ(has(mask, i), ok) << "token " << i << " '" << bytes[i] << "' after '" << text << "'";
  }
}

// Picks allowed tokens at random, leaning towards ones that close strings and brackets so that
// walks end; returns the text when the grammar could end, nullopt if the step bound ran out.
std::optional<std::string> random_walk(TokenMasker& masker, const std::shared_ptr<const Grammar>& g,
                                       std::mt19937& rng, int brute_force_every = 0) {
  Matcher m(g);
  std::string text;
  std::vector<std::uint64_t> mask;
  const auto& bytes = vocab().bytes;
  for (int step = 0; step < 600; ++step) {
    if (m.can_end() && (m.must_end() || std::uniform_int_distribution<int>(0, 3)(rng) == 0)) return text;
    masker.allowed(m, mask);
    std::vector<std::uint32_t> all, closing;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      if (!has(mask, i)) continue;
      all.push_back(static_cast<std::uint32_t>(i));
      if (bytes[i].find_first_of("\"}]") != std::string::npos)
        closing.push_back(static_cast<std::uint32_t>(i));
    }
    EXPECT_FALSE(all.empty()) << "no token allowed before the grammar can end, after '" << text << "'";
    if (all.empty()) return std::nullopt;
    if (brute_force_every > 0 && step % brute_force_every == 0) expect_brute_force_equal(masker, m, text);
    const bool close = !closing.empty() && std::uniform_int_distribution<int>(0, 9)(rng) < 4 + step / 20;
    const auto& from = close ? closing : all;
    const std::uint32_t id = from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(rng)];
    EXPECT_TRUE(m.accept(bytes[id])) << "allowed token refused: '" << bytes[id] << "' after '" << text << "'";
    text += bytes[id];
  }
  return std::nullopt;
}

// Runs `check(schema, grammar, masker)` for every schema of the corpus, each traced by name.
template <typename Check>
void for_each_schema(Check check) {
  for (const auto& [name, schema] : all_schemas()) {
    SCOPED_TRACE(name);
    const auto g = grammar_for(schema);
    ASSERT_NE(g, nullptr);
    TokenMasker masker(g, vocab().bytes);
    check(schema, g, masker);
  }
}

TEST(GrammarTokenMask, EqualsBruteForceOnRandomStates) {
  std::mt19937 rng(7);
  for_each_schema(
      [&](const ordered_json& /*schema*/, const std::shared_ptr<const Grammar>& g, TokenMasker& masker) {
        (void)random_walk(masker, g, rng, pensieve::testing::sample_every(9));
      });
}

// The tool-call grammar in Qwen3-Coder's markup: raw text values (a line break may begin the
// closing tag, which returns into the caller), and calls into the shared text rule at a value's
// first byte, which the masker takes apart rather than walking. Checked against the full step.
TEST(GrammarTokenMask, MarkupCallsEqualBruteForceOnRandomStates) {
  GrammarBuilder b;
  const MarkupForm form = MarkupForm::qwen3_coder();
  std::vector<GrammarBuilder::Rule> calls;
  for (const auto& [name, schema] : testing::claude_code_tools()) {
    auto args = b.markup_arguments(schema, form);
    ASSERT_TRUE(args.ok()) << name << ": " << args.error().message;
    calls.push_back(b.sequence({b.literal("<function=" + name + ">\n"), *args, b.literal("</function>")}));
  }
  const auto g =
      b.build(b.sequence({b.literal("<tool_call>\n"), b.alternatives(calls), b.literal("\n</tool_call>")}));
  ASSERT_NE(g, nullptr);
  TokenMasker masker(g, vocab().bytes);
  std::mt19937 rng(5);
  for (int walk = 0; walk < 3; ++walk) (void)random_walk(masker, g, rng, pensieve::testing::sample_every(6));
}

TEST(GrammarTokenMask, RandomWalksProduceValidInstances) {
  std::mt19937 rng(11);
  for_each_schema(
      [&](const ordered_json& schema, const std::shared_ptr<const Grammar>& g, TokenMasker& masker) {
        SchemaCheck check(schema);
        int finished = 0;
        for (int walk = 0; walk < 6; ++walk) {
          const auto text = random_walk(masker, g, rng);
          if (!text) continue;
          ++finished;
          const ordered_json value = ordered_json::parse(*text, nullptr, false);
          ASSERT_FALSE(value.is_discarded()) << "does not parse: " << *text;
          EXPECT_EQ(check.validate(value, schema), "") << *text;
        }
        EXPECT_GT(finished, 0);
      });
}

TEST(GrammarTokenMask, ValidInstancesAreNeverBlocked) {
  std::mt19937 rng(3);
  for_each_schema([&](const ordered_json& schema, const std::shared_ptr<const Grammar>& g,
                      TokenMasker& masker) {
    SchemaCheck check(schema);
    for (int i = 0; i < 10; ++i) {
      const ordered_json value = check.generate(schema, rng);
      ASSERT_EQ(check.validate(value, schema), "") << value.dump();
      for (const std::string& text : {value.dump(), value.dump(2)}) {
        Matcher m(g);
        std::vector<std::uint64_t> mask;
        std::string so_far;
        for (const std::int32_t id : vocab().tok.encode(text, false)) {
          masker.allowed(m, mask);
          ASSERT_TRUE(has(mask, static_cast<std::size_t>(id)))
              << "token '" << vocab().bytes[static_cast<std::size_t>(id)] << "' blocked after '" << so_far
              << "' in " << text;
          ASSERT_TRUE(m.accept(vocab().bytes[static_cast<std::size_t>(id)]));
          so_far += vocab().bytes[static_cast<std::size_t>(id)];
        }
        EXPECT_TRUE(m.can_end()) << text;
      }
    }
  });
}

TEST(GrammarTokenMask, ToolCallsInFamilySyntax) {
  const auto tools = testing::claude_code_tools();
  const auto g = testing::tool_call_grammar(tools);
  ASSERT_NE(g, nullptr);
  TokenMasker masker(g, vocab().bytes);
  std::mt19937 rng(5);
  for (int walk = 0; walk < 8; ++walk) {
    const auto text = random_walk(masker, g, rng, walk == 0 ? pensieve::testing::sample_every(7) : 0);
    if (!text) continue;
    // Each call: <tool_call>\n{json}\n</tool_call>, the JSON valid for the named tool's schema.
    std::size_t pos = 0;
    while ((pos = text->find("<tool_call>\n", pos)) != std::string::npos) {
      const std::size_t end = text->find("\n</tool_call>", pos);
      ASSERT_NE(end, std::string::npos) << *text;
      const ordered_json call = ordered_json::parse(text->substr(pos + 12, end - pos - 12), nullptr, false);
      ASSERT_FALSE(call.is_discarded()) << *text;
      const std::string name = call["name"];
      for (const auto& [tool, schema] : tools) {
        if (tool == name) {
          EXPECT_EQ(SchemaCheck(schema).validate(call["arguments"], schema), "") << *text;
        }
      }
      pos = end;
    }
  }
  // A string may close and the call continue inside one token: `"}` ends a string and an object.
  Matcher m(g);
  ASSERT_TRUE(m.accept("<tool_call>\n{\"name\": \"Glob\", \"arguments\": {\"pattern\": \"*.cpp"));
  std::vector<std::uint64_t> mask;
  masker.allowed(m, mask);
  for (const char* piece : {"\"}", "\",", "\"},"}) {
    if (auto id = vocab().tok.find_token(piece)) {
      Matcher copy = m;
      EXPECT_EQ(has(mask, static_cast<std::size_t>(*id)), copy.accept(piece)) << piece;
    }
  }
}

}  // namespace
}  // namespace pensieve::grammar
