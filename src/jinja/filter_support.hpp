// jinja/filter_support: what the filter tables (filters.cpp, filters_text.cpp) share.
#pragma once

#include <string_view>
#include <unordered_map>

#include "jinja/value.hpp"

namespace pensieve::jinja {

using FilterFn = Value (*)(Interpreter&, const Value&, CallArgs&);
using FilterTable = std::unordered_map<std::string_view, FilterFn>;

// A boolean argument given by position or keyword; `fallback` when absent.
bool flag(const CallArgs& args, std::size_t index, std::string_view name, bool fallback);

void add_text_filters(FilterTable& table);

}  // namespace pensieve::jinja
