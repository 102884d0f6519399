#include "api/response_stream.hpp"

#include <cstdio>

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
                               std::string request_id)
    : request_id_(std::move(request_id)),
      streaming_(request.stream),
      thinking_enabled_(request.thinking),
      single_tool_call_(request.conversation.tool_choice.disable_parallel_tool_use),
      decoder_(frontend.decoder()),
      parser_(frontend.parser(request, prompt)),
      stops_(request.stop_sequences),
      builder_(random_id("msg_"), request.model,
               Usage{static_cast<std::int64_t>(prompt.tokens.size()), 0, 0, 0}, request.stream),
      prompt_tokens_(static_cast<std::int64_t>(prompt.tokens.size())),
      conversation_(summarize_conversation(request.conversation)) {}

void ResponseStream::on_prompt_cached(std::size_t tokens) {
  {
    std::lock_guard lock(mutex_);
    cached_ = tokens;
    if (wake_) wake_();
  }
  cv_.notify_all();
}

bool ResponseStream::on_token(std::int32_t token) {
  {
    std::lock_guard lock(mutex_);
    queued_.push_back(token);
    if (wake_) wake_();
  }
  cv_.notify_all();
  return !stop_requested_.load(std::memory_order_relaxed);
}

void ResponseStream::on_finished(const engine::GenerationResult& result) {
  {
    std::lock_guard lock(mutex_);
    result_ = result;
    if (wake_) wake_();
  }
  cv_.notify_all();
}

bool ResponseStream::wanted() {
  return !stop_requested_.load(std::memory_order_relaxed);
}

ResponseStream::Poll ResponseStream::poll(std::string& out, std::chrono::milliseconds wait) {
  std::optional<engine::GenerationResult> result;
  std::optional<std::size_t> cached;
  {
    std::unique_lock lock(mutex_);
    const auto ready = [this] { return (cached_ && !started_) || !queued_.empty() || result_.has_value(); };
    if (pending_.empty() && !done_ && !ready()) cv_.wait_for(lock, wait, ready);
    if (cached_ && !started_) cached = cached_;
    taken_.swap(queued_);
    queued_.clear();
    if (result_ && !done_) result = std::move(result_);
  }
  if (cached) start(*cached);
  for (std::int32_t token : taken_) consume(token);
  taken_.clear();
  if (result) finish(*result);
  const bool had = !pending_.empty();
  out.append(pending_);
  pending_.clear();
  if (done_) return Poll::kDone;
  return had ? Poll::kData : Poll::kIdle;
}

int ResponseStream::http_status() const {
  return http_status_;
}

std::string ResponseStream::outcome() const {
  return outcome_;
}

void ResponseStream::set_wake(std::function<void()> wake) {
  std::lock_guard lock(mutex_);
  wake_ = std::move(wake);
}

void ResponseStream::cancel() {
  if (job_) job_->cancel();
}

void ResponseStream::text(std::string_view text) {
  builder_.text(text, pending_);
}

void ResponseStream::thinking(std::string_view text) {
  // Reasoning is returned only to clients that asked for thinking blocks.
  if (thinking_enabled_) builder_.thinking(text, pending_);
}

void ResponseStream::tool_call_start(std::string_view id, std::string_view name) {
  builder_.tool_use_start(id.empty() ? random_id("toolu_") : std::string(id), std::string(name), pending_);
}

void ResponseStream::tool_call_arguments(std::string_view json_fragment) {
  builder_.tool_use_input(json_fragment, pending_);
}

void ResponseStream::tool_call_end() {
  ++tool_calls_;
  if (single_tool_call_) stop_now_ = true;
}

// What is not read from the cache is computed and written to it; finish() corrects the split
// should the job fail before its prompt is kept.
void ResponseStream::start(std::size_t cached) {
  started_ = true;
  const auto read = static_cast<std::int64_t>(cached);
  builder_.prompt_cache(read, prompt_tokens_ - read);
  builder_.start(pending_);
}

void ResponseStream::consume(std::int32_t token) {
  if (stop_now_) return;  // computed before the scheduler saw the stop: not part of the answer
  if (!started_) start(0);  // the scheduler always says first; never content before message_start
  ++consumed_;
  scratch_.clear();
  decoder_->push(token, scratch_);
  released_.clear();
  const auto hit = stops_.feed(scratch_, released_);
  if (hit) {
    matched_stop_ = stops_.sequences()[*hit];
    stop_now_ = true;
  }
  if (!released_.empty()) parser_->feed(released_, *this);
  if (stop_now_) stop_requested_.store(true, std::memory_order_relaxed);
}

void ResponseStream::finish(const engine::GenerationResult& finished) {
  engine::GenerationResult result = finished;
  if (stop_now_) {
    // The scheduler ended it because we asked (as cancelled, or with a token we dropped).
    result.reason = engine::FinishReason::kStopped;
    result.error.reset();
    result.output_tokens = consumed_;
  }
  const bool stop_hit = stops_.matched();
  if (result.reason != engine::FinishReason::kCancelled && result.reason != engine::FinishReason::kError) {
    // Flush whatever the decoder, the stop matcher and the parser still hold.
    scratch_.clear();
    decoder_->finish(scratch_);
    released_.clear();
    if (!stop_hit) {
      if (auto hit = stops_.feed(scratch_, released_)) matched_stop_ = stops_.sequences()[*hit];
      if (!stops_.matched()) stops_.flush(released_);
    }
    if (!released_.empty()) parser_->feed(released_, *this);
    parser_->finish(*this);
  }

  std::optional<ApiError> error;
  if (result.reason == engine::FinishReason::kError) {
    error = internal_error(result.error ? result.error->message : "generation failed");
  } else if (result.reason == engine::FinishReason::kCancelled) {
    // A client that went away reads nothing; anyone still listening learns why it stopped.
    error = overloaded("the request was cancelled: " +
                           (result.error ? result.error->message : std::string("the server stopped it")),
                       503);
  }

  if (error) {
    http_status_ = error->http_status;
    if (streaming_) {
      pending_ += error_frame(*error);
    } else {
      pending_ = error_body(*error, request_id_);
    }
  } else {
    StopReason reason = StopReason::kEndTurn;
    std::optional<std::string> matched;
    if (stops_.matched()) {
      reason = StopReason::kStopSequence;
      matched = matched_stop_;
    } else if (result.reason == engine::FinishReason::kMaxTokens ||
               result.reason == engine::FinishReason::kContextFull) {
      // Before tool_use: a call cut off by the limit is incomplete, as the real API says.
      reason = StopReason::kMaxTokens;
    } else if (tool_calls_ > 0) {
      reason = StopReason::kToolUse;
    }
    if (!started_) start(static_cast<std::size_t>(result.cached_prompt_tokens));
    builder_.prompt_cache(result.cached_prompt_tokens, result.cache_written_prompt_tokens);
    builder_.finish(reason, matched, result.output_tokens, pending_);
    if (!streaming_)
      pending_ = builder_.message().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  outcome_ = std::string(engine::to_string(result.reason)) + ": " + std::to_string(result.prompt_tokens) +
             " prompt tokens (" + std::to_string(result.cached_prompt_tokens) + " cached), " +
             std::to_string(result.output_tokens) + " output tokens; " + timings(result) + "; " +
             conversation_;
  done_ = true;
}

}  // namespace pensieve::api
