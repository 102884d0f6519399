// api/generation: one answer in flight, as the HTTP layer carries it — from the local engine
// (api::ResponseStream) or from an upstream server (upstream mode). The connection polls it for
// bytes, sends pings while it is quiet, and cancels it when the client goes away.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace pensieve::api {

class Generation {
 public:
  virtual ~Generation() = default;

  virtual bool streaming() const = 0;
  // What keeps the stream alive while nothing else goes out (the answer format's ping).
  virtual const std::string& ping_frame() const = 0;

  enum class Poll { kData, kIdle, kDone };
  // Moves pending output into `out`, waiting up to `wait` for some. kDone: the answer is complete
  // and `out` holds its last bytes.
  virtual Poll poll(std::string& out, std::chrono::milliseconds wait) = 0;
  // Non-streaming only, after kDone: the HTTP status of the body (200, or the error's).
  virtual int http_status() const = 0;
  // How it ended, after kDone (for logs).
  virtual std::string outcome() const = 0;
  // The client went away: stop, free what the answer holds.
  virtual void cancel() = 0;
  // Called (on another thread) each time poll() has something new, so that a reader need not
  // wait in poll(): it must only post work elsewhere, never call back.
  virtual void set_wake(std::function<void()> wake) = 0;
};

}  // namespace pensieve::api
