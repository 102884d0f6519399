// api/response_stream: one /v1/messages generation in flight, as the HTTP layer sees it. The
// scheduler thread hands token ids and the final result to the stream's OutputQueue (the job's
// observer) and never waits on text or JSON; the HTTP thread, polling for bytes to send, moves
// them through the OutputPipeline (text, stops, parsing, SSE frames or the whole JSON body) and
// cancels the job when the client goes away. A stop found in the text ends the generation before
// the scheduler's next step; a token computed meanwhile is dropped.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api/frontend.hpp"
#include "api/generation.hpp"
#include "api/messages_request.hpp"
#include "api/output_pipeline.hpp"
#include "engine/generation.hpp"
#include "engine/output_queue.hpp"

namespace pensieve::api {

class ResponseStream final : public Generation {
 public:
  ResponseStream(const MessagesRequest& request, Frontend& frontend, const Prompt& prompt,
                 std::string request_id, const AnswerFormat& format);

  // What the scheduler reports to: submit the job with this as its observer.
  std::shared_ptr<engine::OutputQueue> queue() const { return queue_; }
  void attach(std::shared_ptr<engine::Job> job) { job_ = std::move(job); }
  bool streaming() const override { return streaming_; }
  // What keeps the stream alive while nothing else goes out (the format's ping).
  const std::string& ping_frame() const override { return ping_; }

  Poll poll(std::string& out, std::chrono::milliseconds wait) override;

  // Non-streaming only, after kDone: the HTTP status of the body (200, or the error's).
  int http_status() const override { return pipeline_.http_status(); }
  // How the generation ended, after kDone (for logs).
  std::string outcome() const override { return outcome_; }

  // The client went away: stop generating, free the slot.
  void cancel() override;

  // Called on the scheduler thread each time poll() has something new, so that a reader need not
  // wait in poll(): it must only post work elsewhere, never call back.
  void set_wake(std::function<void()> wake) override { queue_->set_wake(std::move(wake)); }

 private:
  std::string request_id_;
  bool streaming_;
  std::string ping_;
  std::string conversation_;  // for the log: what the request carried (api/request_summary)
  std::shared_ptr<engine::OutputQueue> queue_ = std::make_shared<engine::OutputQueue>();
  OutputPipeline pipeline_;
  std::shared_ptr<engine::Job> job_;
  engine::OutputQueue::Taken taken_;
  std::string pending_;  // output not yet returned by poll
  bool done_ = false;
  std::string outcome_;
};

}  // namespace pensieve::api
