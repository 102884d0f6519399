#include "api/response_stream.hpp"

#include <cstdio>

#include "api/message_builder.hpp"
#include "api/request_summary.hpp"

namespace pensieve::api {
namespace {

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

std::string rate(double tokens, double s) {
  if (s <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f t/s", tokens / s);
  return buf;
}

// "queued 0.00 s, prompt 1.20 s (300 computed, 250.0 t/s), first token after 1.20 s, 11 more in
// 0.50 s (22.0 t/s)": where a request's time went, for the log.
std::string timings(const engine::GenerationResult& r) {
  const std::int64_t computed = r.prompt_tokens - r.cached_prompt_tokens;
  std::string s = "queued " + seconds(r.queue_seconds) + ", prompt " + seconds(r.prompt_seconds) + " (" +
                  std::to_string(computed) + " computed, " +
                  rate(static_cast<double>(computed), r.prompt_seconds) + ")";
  if (r.output_tokens > 0) {
    // The first output token comes with the prompt's last logits; the rest are decode steps.
    s += ", first token after " + seconds(r.queue_seconds + r.prompt_seconds) + ", " +
         std::to_string(r.output_tokens - 1) + " more in " + seconds(r.generation_seconds) + " (" +
         rate(static_cast<double>(r.output_tokens - 1), r.generation_seconds) + ")";
  }
  return s;
}

}  // namespace

ResponseStream::ResponseStream(const MessagesRequest& request, Frontend& frontend, const Prompt& prompt,
                               std::string request_id, const AnswerFormat& format)
    : request_id_(std::move(request_id)),
      streaming_(request.stream),
      ping_(format.ping),
      conversation_(summarize_conversation(request.conversation)),
      pipeline_(request, frontend, prompt,
                format.encoder(request, static_cast<std::int64_t>(prompt.tokens.size()), request_id_)) {}

ResponseStream::Poll ResponseStream::poll(std::string& out, std::chrono::milliseconds wait) {
  queue_->take(taken_, pending_.empty() && !done_ ? wait : std::chrono::milliseconds(0));
  if (taken_.cached && !pipeline_.started()) pipeline_.start(*taken_.cached, pending_);
  for (const std::int32_t token : taken_.tokens)
    if (!pipeline_.token(token, pending_)) queue_->stop();
  if (taken_.result && !done_) {
    const engine::GenerationResult result = pipeline_.finish(*taken_.result, pending_);
    outcome_ = std::string(engine::to_string(result.reason)) + ": " + std::to_string(result.prompt_tokens) +
               " prompt tokens (" + std::to_string(result.cached_prompt_tokens) + " cached), " +
               std::to_string(result.output_tokens) + " output tokens; " + timings(result) + "; " +
               conversation_;
    done_ = true;
  }
  const bool had = !pending_.empty();
  out.append(pending_);
  pending_.clear();
  if (done_) return Poll::kDone;
  return had ? Poll::kData : Poll::kIdle;
}

void ResponseStream::cancel() {
  if (job_) job_->cancel();
}

}  // namespace pensieve::api
