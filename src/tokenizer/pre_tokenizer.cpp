#include "tokenizer/pre_tokenizer.hpp"

#include <array>
#include <iterator>
#include <utility>

namespace pensieve::tokenizer {
namespace {

using rules::Rule;

// The regex sequences are those of each model's Hugging Face tokenizer, as llama.cpp lists them
// per pre-tokenizer type; the comments in pre_tokenizer_rules.cpp quote each regex.
constexpr Rule kGpt2Rules[] = {rules::gpt2};
constexpr Rule kLlama3Rules[] = {rules::llama3};
constexpr Rule kQwen2Rules[] = {rules::qwen2};
constexpr Rule kStarcoderRules[] = {rules::single_number, rules::gpt2};
constexpr Rule kFalconRules[] = {rules::punctuation_run_with_backtick, rules::gpt2, rules::three_ascii_digits};
constexpr Rule kDefaultRules[] = {rules::punctuation_run, rules::gpt2, rules::number_run,
                                  rules::three_ascii_digits};
constexpr Rule kDeepseekCoderRules[] = {rules::single_newline, rules::space_then_letters,
                                        rules::space_then_punctuation, rules::cjk_run, rules::single_number};
constexpr Rule kDeepseekLlmRules[] = {rules::single_newline,        rules::space_then_cased_letters,
                                      rules::space_then_ascii_punctuation, rules::trailing_spaces,
                                      rules::cjk_run,               rules::number_run};
constexpr Rule kDeepseekV3Rules[] = {rules::one_to_three_numbers, rules::ideograph_or_kana_run,
                                     rules::deepseek_v3_words};
constexpr Rule kGpt4oRules[] = {rules::o200k};
constexpr Rule kTekkenRules[] = {rules::tekken};
constexpr Rule kKimiK2Rules[] = {rules::kimi_k2};

constexpr PreTokenizerSpec kDefault{"default", kDefaultRules, false, false};
constexpr PreTokenizerSpec kGpt2{"gpt-2", kGpt2Rules, false, false};
constexpr PreTokenizerSpec kGptNeox{"mpt", kGpt2Rules, false, true};  // GPT-NeoX vocab: NFC first
constexpr PreTokenizerSpec kLlama3{"llama-bpe", kLlama3Rules, true, false};
constexpr PreTokenizerSpec kQwen2{"qwen2", kQwen2Rules, false, true};
constexpr PreTokenizerSpec kStarcoder{"starcoder", kStarcoderRules, false, false};
constexpr PreTokenizerSpec kFalcon{"falcon", kFalconRules, false, false};
constexpr PreTokenizerSpec kDeepseekCoder{"deepseek-coder", kDeepseekCoderRules, false, false};
constexpr PreTokenizerSpec kDeepseekLlm{"deepseek-llm", kDeepseekLlmRules, false, false};
constexpr PreTokenizerSpec kDeepseekV3{"deepseek-v3", kDeepseekV3Rules, false, false};
// GLM-4 splits with Llama 3's regex but merges every word (its tokenizer.json does not ignore merges).
constexpr PreTokenizerSpec kGlm4{"glm4", kLlama3Rules, false, false};
// gpt-oss's tokenizer.json and Mistral's Tekken ignore merges; Kimi K2's reference is tiktoken,
// which looks a whole piece up before merging, which is the same thing.
constexpr PreTokenizerSpec kGpt4o{"gpt-4o", kGpt4oRules, true, false};
constexpr PreTokenizerSpec kTekken{"tekken", kTekkenRules, true, false};
constexpr PreTokenizerSpec kKimiK2{"kimi-k2", kKimiK2Rules, true, false};

// GGUF names (as converters write them) → spec. Aliases share a spec when the model's
// tokenizer uses the very same regexes.
constexpr std::pair<std::string_view, const PreTokenizerSpec*> kByName[] = {
    {"default", &kDefault},
    {"gpt-2", &kGpt2},
    {"gpt2", &kGpt2},
    {"phi-2", &kGpt2},
    {"mpt", &kGptNeox},
    {"olmo", &kGptNeox},
    {"llama-bpe", &kLlama3},
    {"llama3", &kLlama3},
    {"llama-v3", &kLlama3},
    {"qwen2", &kQwen2},
    {"deepseek-r1-qwen", &kQwen2},
    {"stablelm2", &kQwen2},
    {"starcoder", &kStarcoder},
    {"refact", &kStarcoder},
    {"smollm", &kStarcoder},
    {"codeshell", &kStarcoder},
    {"command-r", &kStarcoder},
    {"falcon", &kFalcon},
    {"deepseek-coder", &kDeepseekCoder},
    {"deepseek-llm", &kDeepseekLlm},
    {"deepseek-v3", &kDeepseekV3},
    {"glm4", &kGlm4},
    {"chatglm-bpe", &kGlm4},
    {"gpt-4o", &kGpt4o},
    {"tekken", &kTekken},
    {"kimi-k2", &kKimiK2},
};

constexpr auto kNames = [] {
  std::array<std::string_view, std::size(kByName)> names{};
  for (std::size_t i = 0; i < names.size(); ++i) names[i] = kByName[i].first;
  return names;
}();

void apply_rule(Rule rule, const CodepointText& text, const std::vector<Piece>& in, std::vector<Piece>& out) {
  out.clear();
  for (const Piece& piece : in) {
    std::size_t pos = piece.begin;
    while (pos < piece.end) {
      const rules::Match m = rule(text, pos, piece.end);
      if (m.begin == m.end) break;
      if (pos < m.begin) out.push_back({static_cast<std::uint32_t>(pos), static_cast<std::uint32_t>(m.begin)});
      out.push_back({static_cast<std::uint32_t>(m.begin), static_cast<std::uint32_t>(m.end)});
      pos = m.end;
    }
    if (pos < piece.end) out.push_back({static_cast<std::uint32_t>(pos), piece.end});
  }
}

}  // namespace

const PreTokenizerSpec* find_pre_tokenizer(std::string_view name) {
  if (name.empty()) return &kDefault;
  for (const auto& [known, spec] : kByName) {
    if (known == name) return spec;
  }
  return nullptr;
}

std::span<const std::string_view> known_pre_tokenizer_names() { return kNames; }

void split_into_pieces(const PreTokenizerSpec& spec, const CodepointText& text, std::vector<Piece>& pieces,
                       std::vector<Piece>& scratch) {
  pieces.clear();
  if (text.size() == 0) return;
  pieces.push_back({0, static_cast<std::uint32_t>(text.size())});
  for (Rule rule : spec.rules) {
    apply_rule(rule, text, pieces, scratch);
    pieces.swap(scratch);
  }
}

}  // namespace pensieve::tokenizer
