// jinja/error: how the interpreter reports a failure internally.
//
// The tree-walking interpreter is deeply recursive, so failures travel up as one exception
// type that never leaves the module: Template::parse and render() catch it and return a
// pensieve::Result naming the template line.
#pragma once

#include <stdexcept>
#include <string>

namespace pensieve::jinja {

enum class FailureKind {
  kSyntax,     // the template cannot be parsed
  kRaised,     // the template called raise_exception(msg)
  kType,       // an operation on values of the wrong type (Python's TypeError)
  kUndefined,  // use of an undefined value beyond printing or testing it
  kLimit,      // a step, output, size or recursion limit was reached
  kValue,      // a value of the right type but unusable (Python's ValueError)
};

class Failure : public std::runtime_error {
 public:
  Failure(FailureKind kind, const std::string& message, int line = 0)
      : std::runtime_error(message), kind_(kind), line_(line) {}

  FailureKind kind() const { return kind_; }
  int line() const { return line_; }
  void set_line_if_unknown(int line) {
    if (line_ == 0) line_ = line;
  }

 private:
  FailureKind kind_;
  int line_;
};

[[noreturn]] inline void fail(FailureKind kind, const std::string& message, int line = 0) {
  throw Failure(kind, message, line);
}

}  // namespace pensieve::jinja
