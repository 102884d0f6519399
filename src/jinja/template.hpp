// jinja/template: the public face of the Jinja2 interpreter. A model's chat template
// (Jinja2 source from tokenizer.chat_template) is parsed once and rendered per request,
// byte for byte as Hugging Face's renderer does (trim_blocks, lstrip_blocks, loop controls,
// immutable sandbox, tojson as json.dumps, raise_exception, strftime_now).
//
// Provenance: strings in the context are untrusted unless their top-level variable is listed
// in RenderOptions::trusted_variables (bos_token, eos_token, ...); template literals are
// trusted. The result lists the byte ranges that came from untrusted strings; a tokenizer must
// not match a special token that overlaps any of them.
#pragma once

#include <cstddef>
#include <ctime>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace pensieve::jinja {

struct Stmt;

struct RenderedText {
  std::string text;
  // [begin, end) byte ranges of `text` that came from untrusted input; sorted, disjoint.
  std::vector<std::pair<std::size_t, std::size_t>> untrusted;

  // Whether any byte of [begin, end) is untrusted.
  bool overlaps_untrusted(std::size_t begin, std::size_t end) const;
};

class Template {
 public:
  // Fails (kInvalidFormat) with the line of the first syntax error.
  static Result<Template> parse(std::string_view source);

 private:
  Template() = default;
  friend struct TemplateAccess;
  std::shared_ptr<const std::vector<std::unique_ptr<Stmt>>> body_;
};

struct RenderOptions {
  // Top-level context variables whose strings are trusted (e.g. "bos_token", "eos_token").
  std::vector<std::string> trusted_variables;
  // The clock strftime_now reads; empty means the system clock.
  std::function<std::time_t()> clock;
  // strftime_now formats in UTC when set, otherwise in local time as Python's datetime.now().
  bool utc = false;
  std::size_t max_steps = 10'000'000;
  std::size_t max_output_bytes = 64u << 20;
  int max_call_depth = 64;
};

// Renders with `context` (a JSON object) as the template's variables. A template that raises,
// misuses a value or exceeds a limit fails with a message naming the template line.
// Pass an ordered_json: templates see dict keys in insertion order (tojson of the tools list
// must keep the client's key order), which nlohmann::json, sorting its keys, has lost.
Result<RenderedText> render(const Template& tmpl, const nlohmann::ordered_json& context,
                            const RenderOptions& options);

}  // namespace pensieve::jinja
