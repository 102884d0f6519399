// api/response_stream: one /v1/messages generation in flight. The scheduler thread feeds it
// tokens (it is the job's observer); the HTTP thread polls it for bytes to send — SSE frames
// when streaming, the whole JSON body at the end otherwise — and cancels it when the client
// goes away. The two sides meet only at a mutex-guarded output buffer.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "api/error.hpp"
#include "api/frontend.hpp"
#include "api/message_builder.hpp"
#include "engine/generation.hpp"
#include "sampling/stop_matcher.hpp"

namespace pensieve::api {

class ResponseStream : public engine::GenerationObserver, private OutputSink {
 public:
  ResponseStream(const MessagesRequest& request, Frontend& frontend, const Prompt& prompt,
                 std::string request_id);

  void attach(std::shared_ptr<engine::Job> job) { job_ = std::move(job); }
  bool streaming() const { return streaming_; }

  enum class Poll { kData, kIdle, kDone };
  // Moves pending output into `out`, waiting up to `wait` for some. kDone: generation has
  // finished and `out` holds the last bytes.
  Poll poll(std::string& out, std::chrono::milliseconds wait);

  // Non-streaming only, after kDone: the HTTP status of the body (200, or the error's).
  int http_status() const;
  // How the generation ended, after kDone (for logs).
  std::string outcome() const;

  // The client went away: stop generating, free the slot.
  void cancel();
  // A check the scheduler makes before each step (false: the client is gone). Set by the HTTP
  // layer; cleared before the connection it probes can close, so it never sees a reused socket.
  void set_liveness_check(std::function<bool()> alive);
  void clear_liveness_check() { set_liveness_check(nullptr); }

  // engine::GenerationObserver (scheduler thread)
  bool wanted() override;
  bool on_token(std::int32_t token) override;
  void on_finished(const engine::GenerationResult& result) override;

 private:
  // OutputSink (scheduler thread)
  void text(std::string_view text) override;
  void thinking(std::string_view text) override;
  void tool_call_start(std::string_view id, std::string_view name) override;
  void tool_call_arguments(std::string_view json_fragment) override;
  void tool_call_end() override;

  void publish(std::string&& frames, bool done);

  std::string request_id_;
  bool streaming_;
  bool thinking_enabled_;
  bool single_tool_call_;  // disable_parallel_tool_use: stop after the first complete call
  std::unique_ptr<TokenDecoder> decoder_;
  std::unique_ptr<OutputParser> parser_;
  sampling::StopMatcher stops_;
  MessageBuilder builder_;
  std::shared_ptr<engine::Job> job_;

  // Scheduler-thread state.
  std::string scratch_;   // decoded text of one token
  std::string released_;  // text past the stop matcher
  std::string frames_;    // SSE frames produced by one token
  std::string matched_stop_;
  int tool_calls_ = 0;
  bool in_tool_call_ = false;
  bool stop_now_ = false;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::string pending_;
  bool done_ = false;
  int http_status_ = 200;
  std::string outcome_;
  std::function<bool()> alive_;  // guarded by mutex_
};

}  // namespace pensieve::api
