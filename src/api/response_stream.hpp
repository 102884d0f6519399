// api/response_stream: one /v1/messages generation in flight. The scheduler thread only hands it
// token ids and the final result (it is the job's observer) through a mutex-guarded queue, so the
// compute thread never waits on text or JSON; the HTTP thread, polling for bytes to send, turns
// them into text, matches stop sequences, parses tool calls and encodes SSE frames (or the whole
// JSON body at the end), and cancels the job when the client goes away. A stop found in the text
// ends the generation before the scheduler's next step; a token computed meanwhile is dropped.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

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

  // Called on the scheduler thread, under the stream's lock, each time poll() has something new,
  // so that a reader need not wait in poll(): it must only post work elsewhere, never call back.
  void set_wake(std::function<void()> wake);

  // engine::GenerationObserver (scheduler thread): queue and wake, nothing more.
  bool wanted() override;
  void on_prompt_cached(std::size_t tokens) override;
  bool on_token(std::int32_t token) override;
  void on_finished(const engine::GenerationResult& result) override;

 private:
  // The text pipeline, on the polling thread: the start (once the prompt's cached part is known,
  // so that message_start's usage is the truth), one token, and the end.
  void start(std::size_t cached);
  void consume(std::int32_t token);
  void finish(const engine::GenerationResult& result);

  // OutputSink (polling thread)
  void text(std::string_view text) override;
  void thinking(std::string_view text) override;
  void tool_call_start(std::string_view id, std::string_view name) override;
  void tool_call_arguments(std::string_view json_fragment) override;
  void tool_call_end() override;

  std::string request_id_;
  bool streaming_;
  bool thinking_enabled_;
  bool single_tool_call_;  // disable_parallel_tool_use: stop after the first complete call
  std::unique_ptr<TokenDecoder> decoder_;
  std::unique_ptr<OutputParser> parser_;
  sampling::StopMatcher stops_;
  MessageBuilder builder_;
  std::shared_ptr<engine::Job> job_;

  // Polling-thread state.
  std::string scratch_;   // decoded text of one token
  std::string released_;  // text past the stop matcher
  std::string matched_stop_;
  int tool_calls_ = 0;
  bool stop_now_ = false;      // the text asked to stop (stop sequence, single tool call)
  std::int64_t consumed_ = 0;  // tokens that reached the text, up to the one that stopped it
  std::string pending_;        // output not yet returned by poll
  std::int64_t prompt_tokens_;
  std::string conversation_;  // for the log: what the request carried (api/request_summary)
  bool started_ = false;
  bool done_ = false;
  int http_status_ = 200;
  std::string outcome_;
  std::vector<std::int32_t> taken_;  // tokens moved out of the queue

  // Shared with the scheduler thread, under mutex_.
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::function<void()> wake_;
  std::optional<std::size_t> cached_;  // of the prompt, once the scheduler has settled it
  std::vector<std::int32_t> queued_;
  std::optional<engine::GenerationResult> result_;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace pensieve::api
