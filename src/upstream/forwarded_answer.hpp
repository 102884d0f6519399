// upstream/forwarded_answer: one answer relayed from an upstream server. It picks an upstream
// from the pool, sends the translated request and reads the upstream's streamed chunks back into
// the parser's events, which the route's encoder (Anthropic's or OpenAI's) writes for the client —
// the same encoders the local engine's answers go through.
//
// Failover: until the upstream has sent a first chunk, nothing has reached the client, so a
// connection that fails (or an upstream that answers busy) sends the request to the next
// upstream. After that, a failure ends the answer with an error: never a silent retry.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/answer_encoder.hpp"
#include "api/api_backend.hpp"
#include "api/generation.hpp"
#include "api/messages_request.hpp"
#include "sampling/stop_matcher.hpp"
#include "upstream/completion_reader.hpp"
#include "upstream/http_client.hpp"
#include "upstream/upstream_pool.hpp"

namespace pensieve::upstream {

struct ForwardSetup {
  api::MessagesRequest request;
  api::AnswerFormat format;
  std::string request_id;
  std::string path = "/chat/completions";  // under the upstream's API base
  std::string body;                        // the request for the upstream
  std::uint64_t prefix_key = 0;
  std::int64_t estimated_prompt_tokens = 0;  // until the upstream tells its count
  HeaderList headers;                        // the upstream's key, if any
  std::chrono::milliseconds connect_timeout{3000};
};

class ForwardedAnswer final : public api::Generation, public std::enable_shared_from_this<ForwardedAnswer> {
 public:
  // Picks an upstream, sends, and waits for its response head (trying the next upstream on a
  // connection error or a busy answer): a generation under way, or the error to answer with —
  // 529 when every upstream is at its limit, 503 when none can be reached. Blocks the calling
  // worker thread until then.
  static api::Started open(ForwardSetup setup, UpstreamPool& pool, HttpClient& client);

  ForwardedAnswer(ForwardSetup setup, UpstreamPool& pool, HttpClient& client);
  ~ForwardedAnswer() override;

  bool streaming() const override { return setup_.request.stream; }
  const std::string& ping_frame() const override { return setup_.format.ping; }
  Poll poll(std::string& out, std::chrono::milliseconds wait) override;
  int http_status() const override { return http_status_; }
  std::string outcome() const override { return outcome_; }
  void cancel() override;
  void set_wake(std::function<void()> wake) override;

  // Which upstream answered (for logs and tests): its URL, empty before one did.
  std::string upstream() const;

 private:
  enum class Phase { kSending, kAnswering, kFailed };
  // Sends to the next upstream the pool offers; false (with `refusal_` set) when none is left.
  bool attempt(std::unique_lock<std::mutex>& lock);
  // This attempt failed before anything reached the client: the next upstream, if any.
  void fail_over(std::unique_lock<std::mutex>& lock, std::string why, bool busy);
  void on_head(std::uint64_t attempt, int status, const HeaderList& headers);
  void on_data(std::uint64_t attempt, std::string_view bytes);
  void on_end(std::uint64_t attempt, std::optional<std::string> error, bool reached);
  void notify_reader(std::unique_lock<std::mutex>& lock);  // calls the wake outside the lock
  // Waits (on the opening thread) until the answer has a head, or failed everywhere.
  void wait_for_head(std::unique_lock<std::mutex>& lock);

  void deliver(const std::vector<chat::ChatEvent>& events, std::string& out);
  void deliver_text(std::string_view text, std::string& out);
  void flush_text(std::string& out);
  void emit(const chat::ChatEvent& event, std::string& out);
  void ensure_started(std::string& out);
  void finish(std::string& out);
  void fail(const api::ApiError& error, std::string& out);

  ForwardSetup setup_;
  UpstreamPool& pool_;
  HttpClient& client_;

  // Shared with the client's threads, under the mutex.
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  Phase phase_ = Phase::kSending;
  bool opened_ = false;        // handed to the connection: failing now shows in the answer
  std::uint64_t attempt_ = 0;  // handlers of an earlier attempt are ignored
  std::vector<std::size_t> tried_;
  std::vector<std::string> failures_;  // "URL: why", for the error when every attempt failed
  bool last_failure_busy_ = false;
  std::optional<UpstreamPool::Lease> lease_;
  std::shared_ptr<HttpClient::Exchange> exchange_;
  std::string upstream_url_;
  int upstream_status_ = 0;
  bool event_stream_ = true;  // the upstream streams chunks (else it answered one JSON body)
  bool emitted_ = false;      // output went to the client: from now on no failover
  std::string error_body_;    // a non-2xx answer's body
  std::string inbox_;         // body bytes not yet read by poll()
  bool body_ended_ = false;
  std::optional<std::string> end_error_;      // the transport's, mid-answer
  std::optional<api::ApiError> end_failure_;  // every upstream failed, or a later one refused
  std::optional<api::ApiError> refusal_;
  bool cancelled_ = false;
  std::function<void()> wake_;

  // The HTTP thread's own (poll()).
  std::unique_ptr<CompletionReader> reader_;
  std::uint64_t reader_attempt_ = 0;  // the attempt whose answer reader_ reads
  bool emitted_known_ = false;        // emitted_, as this thread set it
  std::unique_ptr<api::AnswerEncoder> encoder_;
  sampling::StopMatcher stops_;
  std::optional<std::string> matched_stop_;
  std::vector<chat::ChatEvent> events_;
  std::vector<chat::ChatEvent> held_;  // a whole body's events, until the upstream's usage is known
  std::string released_;
  std::int64_t delta_bytes_ = 0;  // for an output-token estimate when the upstream gives none
  bool started_ = false;
  bool done_ = false;
  int http_status_ = 200;
  std::string outcome_;
};

}  // namespace pensieve::upstream
