// chat/jinja/filter_support: what the filter tables (filters.cpp, filters_text.cpp) share.
#pragma once

#include <string_view>
#include <unordered_map>

#include "chat/jinja/value.hpp"

namespace pensieve::chat::jinja {

using FilterFn = Value (*)(Interpreter&, const Value&, CallArgs&);
using FilterTable = std::unordered_map<std::string_view, FilterFn>;

// A boolean argument given by position or keyword; `fallback` when absent.
bool flag(const CallArgs& args, std::size_t index, std::string_view name, bool fallback);

void add_text_filters(FilterTable& table);

}  // namespace pensieve::chat::jinja
