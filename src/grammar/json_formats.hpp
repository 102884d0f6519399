// grammar/json_formats: byte grammars for the JSON Schema string formats we constrain.
#pragma once

#include <optional>
#include <string_view>

#include "grammar/builder.hpp"

namespace pensieve::grammar::detail {

// The whole JSON string (quotes included) for format `name`, or nullopt for a format we do not
// know. Supported: date-time, date, time (RFC 3339), uuid, uri (a scheme, ':', then URI
// characters or %-escapes, at least one), email (a dot-atom-ish local part '@' domain labels).
std::optional<GrammarBuilder::Rule> json_format(GrammarBuilder& b, std::string_view name);
// The same without the quotes (the text a string of that format holds). None of these texts
// holds '<', nor reads as a JSON number, boolean, null, array or object.
std::optional<GrammarBuilder::Rule> format_text(GrammarBuilder& b, std::string_view name);

}  // namespace pensieve::grammar::detail
