#include "jinja/template.hpp"

#include <algorithm>

#include "jinja/error.hpp"
#include "jinja/interpreter.hpp"
#include "jinja/parser.hpp"

namespace pensieve::jinja {

struct TemplateAccess {
  static const Body& body(const Template& t) { return *t.body_; }
  static Template make(Body body) {
    Template t;
    t.body_ = std::make_shared<const Body>(std::move(body));
    return t;
  }
};

namespace {

Error to_error(const Failure& failure) {
  ErrorCode code = ErrorCode::kInvalidArgument;
  switch (failure.kind()) {
    case FailureKind::kSyntax:
      code = ErrorCode::kInvalidFormat;
      break;
    case FailureKind::kLimit:
      // A limit of the template's own run (steps, output, macro depth): our side of the
      // request, not an overload to retry later.
      code = ErrorCode::kInternal;
      break;
    default:
      break;
  }
  std::string where = "chat template";
  if (failure.line() > 0) where += " line " + std::to_string(failure.line());
  if (failure.kind() == FailureKind::kRaised) where += " raised an exception";
  return make_error(code, where + ": " + failure.what());
}

}  // namespace

bool RenderedText::overlaps_untrusted(std::size_t begin, std::size_t end) const {
  auto it = std::upper_bound(untrusted.begin(), untrusted.end(), begin,
                             [](std::size_t pos, const auto& range) { return pos < range.second; });
  return it != untrusted.end() && it->first < end && begin < end;
}

Result<Template> Template::parse(std::string_view source) {
  try {
    return TemplateAccess::make(parse_template(source));
  } catch (const Failure& failure) {
    return to_error(failure);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("chat template could not be parsed: ") + e.what());
  }
}

Result<RenderedText> render(const Template& tmpl, const nlohmann::ordered_json& context,
                            const RenderOptions& options) {
  if (!context.is_object())
    return make_error(ErrorCode::kInvalidArgument, "template context must be a JSON object");
  try {
    Dict variables;
    for (const auto& [name, value] : context.items()) {
      const bool trusted = std::find(options.trusted_variables.begin(), options.trusted_variables.end(),
                                     name) != options.trusted_variables.end();
      variables.set(Text(name), from_json(value, !trusted));
    }
    Limits limits{options.max_steps, options.max_output_bytes, options.max_call_depth};
    Interpreter interpreter(limits, options.clock, options.utc);
    Text out = interpreter.render(TemplateAccess::body(tmpl), variables);
    return RenderedText{out.str(), out.untrusted_ranges()};
  } catch (const Failure& failure) {
    return to_error(failure);
  } catch (const std::exception& e) {
    // Out of memory or a library failure: report it rather than take the server down.
    return make_error(ErrorCode::kInternal, std::string("chat template rendering failed: ") + e.what());
  }
}

}  // namespace pensieve::jinja
