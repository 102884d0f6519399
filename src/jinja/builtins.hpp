// jinja/builtins: the filters, tests, methods and global functions chat templates call,
// with the semantics of Jinja2 3.1 in Hugging Face's immutable sandbox.
#pragma once

#include <optional>
#include <string_view>

#include "jinja/value.hpp"

namespace pensieve::jinja {

class Interpreter;

bool has_filter(std::string_view name);
bool has_test(std::string_view name);

Value apply_filter(Interpreter& in, std::string_view name, const Value& input, CallArgs& args);
bool apply_test(Interpreter& in, std::string_view name, const Value& input, CallArgs& args);

// A bound method of a str, list or dict ("strip", "items", ...), or nullopt when the type has
// no method of that name. Methods that mutate in place fail when called, as in the sandbox.
std::optional<Value> find_method(const Value& object, std::string_view name);

// range, namespace, dict, raise_exception, strftime_now.
Dict make_globals();

// Python operators over values: + - * / // % ** ~ == != < <= > >= in.
Value binary_operator(Interpreter& in, std::string_view op, const Value& left, const Value& right);
bool contains(const Value& container, const Value& item);

}  // namespace pensieve::jinja
