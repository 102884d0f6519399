// tokenizer_json_to_gguf: writes the GGUF vocabulary of a byte-level BPE tokenizer.json (Hugging Face
// tokenizers format), with the keys and token types a model converter writes for such a model, so a
// model's real tokenizer can be loaded through the normal path without its weights:
//
//   tokenizer_json_to_gguf --tokenizer tokenizer.json [--config tokenizer_config.json]
//                          --pre NAME [--arch ARCH] --out vocab.gguf
//
// tokenizer.ggml.model is "gpt2"; --pre names the pre-tokenizer (converters recognise it from the
// model, we are told). Tokens are laid out by id; an id no token claims becomes "[PAD<id>]" of type
// unused. Added tokens are control tokens when marked special, user-defined otherwise. bos/eos and
// add_bos/add_eos come from tokenizer_config.json when given.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/writer.hpp"

namespace {

using nlohmann::json;

constexpr std::int32_t kNormal = 1;
constexpr std::int32_t kControl = 3;
constexpr std::int32_t kUserDefined = 4;
constexpr std::int32_t kUnused = 5;

struct Args {
  std::string tokenizer, config, pre, arch, out;
};

bool parse_args(int argc, char** argv, Args& a) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view k = argv[i];
    std::string* slot = k == "--tokenizer" ? &a.tokenizer
                        : k == "--config"  ? &a.config
                        : k == "--pre"     ? &a.pre
                        : k == "--arch"    ? &a.arch
                        : k == "--out"     ? &a.out
                                           : nullptr;
    if (slot == nullptr) return false;
    *slot = argv[i + 1];
  }
  return argc % 2 == 1 && !a.tokenizer.empty() && !a.pre.empty() && !a.out.empty();
}

std::optional<json> read_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// tokenizer_config.json names a token either as a string or as {"content": ...}.
std::optional<std::string> config_token(const json& config, const char* key) {
  const auto it = config.find(key);
  if (it == config.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
    return (*it)["content"].get<std::string>();
  }
  return std::nullopt;
}

bool is_byte_level(const json& tok) {
  auto has_byte_level = [](const json& node) {
    if (!node.is_object()) return false;
    if (node.value("type", "") == "ByteLevel") return true;
    for (const char* list : {"pretokenizers", "decoders"}) {
      if (node.contains(list) && node[list].is_array()) {
        for (const json& child : node[list]) {
          if (child.is_object() && child.value("type", "") == "ByteLevel") return true;
        }
      }
    }
    return false;
  };
  return has_byte_level(tok.value("pre_tokenizer", json())) || has_byte_level(tok.value("decoder", json()));
}

int fail(const std::string& message) {
  std::cerr << "tokenizer_json_to_gguf: " << message << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse_args(argc, argv, args)) {
    return fail(
        "usage: --tokenizer tokenizer.json [--config tokenizer_config.json] --pre NAME [--arch ARCH] --out "
        "OUT.gguf");
  }
  const auto tok = read_json(args.tokenizer);
  if (!tok) return fail("cannot read " + args.tokenizer + " as JSON");
  const json& model = (*tok)["model"];
  if (!model.is_object() || model.value("type", "") != "BPE" || !is_byte_level(*tok)) {
    return fail(args.tokenizer + " is not a byte-level BPE tokenizer");
  }
  if (!model.contains("vocab") || !model["vocab"].is_object() || !model.contains("merges")) {
    return fail(args.tokenizer + " has no vocab or merges");
  }

  // Token texts and types by id; added tokens may reuse a vocabulary id or extend the range.
  std::map<std::int64_t, std::pair<std::string, std::int32_t>> by_id;
  for (const auto& [text, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0)
      return fail("vocab id for '" + text + "' is not valid");
    by_id[id.get<std::int64_t>()] = {text, kNormal};
  }
  if (tok->contains("added_tokens") && (*tok)["added_tokens"].is_array()) {
    for (const json& added : (*tok)["added_tokens"]) {
      const std::int64_t id = added.value("id", std::int64_t{-1});
      if (id < 0 || !added.contains("content")) return fail("an added token has no id or content");
      by_id[id] = {added["content"].get<std::string>(),
                   added.value("special", false) ? kControl : kUserDefined};
    }
  }
  if (by_id.empty()) return fail("the vocabulary is empty");
  const std::int64_t n = by_id.rbegin()->first + 1;
  if (n > (std::int64_t{1} << 24)) return fail("token ids run past 16M; refusing");

  std::vector<std::string> tokens(static_cast<std::size_t>(n));
  std::vector<std::int32_t> types(static_cast<std::size_t>(n), kUnused);
  for (std::int64_t id = 0; id < n; ++id) tokens[id] = "[PAD" + std::to_string(id) + "]";
  std::map<std::string, std::int64_t> id_of;
  for (const auto& [id, entry] : by_id) {
    tokens[id] = entry.first;
    types[id] = entry.second;
    id_of[entry.first] = id;
  }

  // Merges are "left right" strings in older files and [left, right] pairs in newer ones.
  std::vector<std::string> merges;
  merges.reserve(model["merges"].size());
  for (const json& m : model["merges"]) {
    if (m.is_string()) {
      merges.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    } else {
      return fail("a merge is neither \"a b\" nor [a, b]");
    }
  }

  pensieve::gguf::Writer w;
  auto check = [](const pensieve::Status& s) {
    if (!s) throw std::runtime_error(s.error().message);
  };
  try {
    if (!args.arch.empty()) check(w.add_string("general.architecture", args.arch));
    check(w.add_string("tokenizer.ggml.model", "gpt2"));
    check(w.add_string("tokenizer.ggml.pre", args.pre));
    check(w.add_string_array("tokenizer.ggml.tokens", tokens));
    check(w.add_array("tokenizer.ggml.token_type", types));
    check(w.add_string_array("tokenizer.ggml.merges", merges));
    if (!args.config.empty()) {
      const auto config = read_json(args.config);
      if (!config) return fail("cannot read " + args.config + " as JSON");
      for (const auto& [key, gguf_key] : {std::pair{"bos_token", "tokenizer.ggml.bos_token_id"},
                                          std::pair{"eos_token", "tokenizer.ggml.eos_token_id"},
                                          std::pair{"unk_token", "tokenizer.ggml.unknown_token_id"},
                                          std::pair{"pad_token", "tokenizer.ggml.padding_token_id"}}) {
        const auto text = config_token(*config, key);
        if (!text) continue;
        const auto it = id_of.find(*text);
        if (it == id_of.end()) return fail(std::string(key) + " '" + *text + "' is not a token");
        check(w.add_uint32(gguf_key, static_cast<std::uint32_t>(it->second)));
      }
      for (const auto& [key, gguf_key] : {std::pair{"add_bos_token", "tokenizer.ggml.add_bos_token"},
                                          std::pair{"add_eos_token", "tokenizer.ggml.add_eos_token"}}) {
        if (config->contains(key) && (*config)[key].is_boolean())
          check(w.add_bool(gguf_key, (*config)[key].get<bool>()));
      }
    }
    check(w.write_file(args.out));
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  std::cout << args.out << ": " << n << " tokens, " << merges.size() << " merges, pre-tokenizer " << args.pre
            << "\n";
  return 0;
}
