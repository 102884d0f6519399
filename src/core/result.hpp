// core/result: the error type every fallible function returns instead of throwing.
//
// std::expected is C++23 and g++ 12 lacks it, so Result<T> is a small stand-in with the same
// spirit: either a value or an Error carrying a code and a message a user can act on.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace pensieve {

enum class ErrorCode {
  kInvalidArgument,  // the caller passed something unusable
  kInvalidFormat,    // a file or payload is malformed
  kUnsupported,      // well-formed, but a feature we do not implement
  kNotFound,         // a file, key or tensor is missing
  kIo,               // the OS refused a read, write or map
  kOutOfRange,       // a value lies outside what is allowed
  kResourceExhausted,// memory, context or a step limit would be exceeded
  kCancelled,
  kInternal,
};

const char* to_string(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // "what went wrong" prefixed with where, so nested failures read outermost first.
  Error with_context(const std::string& where) const { return {code, where + ": " + message}; }
};

inline Error make_error(ErrorCode code, std::string message) { return {code, std::move(message)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(state_); }
  const T& value() const& { assert(ok()); return std::get<0>(state_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

// Result<void>: success carries nothing.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace pensieve

// Propagates an error out of the enclosing function, which must return a Result.
#define PENSIEVE_TRY(expr)                         \
  do {                                             \
    auto&& pensieve_try_result_ = (expr);          \
    if (!pensieve_try_result_.ok()) return pensieve_try_result_.error(); \
  } while (0)
