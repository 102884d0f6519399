// Helpers for the Jinja interpreter tests: render a template source with a JSON context.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "jinja/template.hpp"

namespace pensieve::jinja::testing {

inline Result<RenderedText> try_render(std::string_view source, const std::string& context_json = "{}",
                                       RenderOptions options = {}) {
  auto tmpl = Template::parse(source);
  if (!tmpl) return tmpl.error();
  return render(*tmpl, nlohmann::ordered_json::parse(context_json), options);
}

// The rendered text; a failed render fails the test with its message.
inline std::string render_text(std::string_view source, const std::string& context_json = "{}") {
  auto out = try_render(source, context_json);
  EXPECT_TRUE(out.ok()) << source << "\n -> " << (out.ok() ? "" : out.error().message);
  return out.ok() ? out->text : "<error>";
}

// The error message of a render that must fail.
inline std::string render_error(std::string_view source, const std::string& context_json = "{}",
                                RenderOptions options = {}) {
  auto out = try_render(source, context_json, std::move(options));
  EXPECT_FALSE(out.ok()) << source << "\n rendered: " << (out.ok() ? out->text : "");
  return out.ok() ? "" : out.error().message;
}

}  // namespace pensieve::jinja::testing
