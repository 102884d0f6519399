#include "api/response_stream.hpp"

#include <cstdio>

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
      single_tool_call_(request.tool_choice.disable_parallel_tool_use),
      decoder_(frontend.decoder()),
      parser_(frontend.parser(request, prompt)),
      stops_(request.stop_sequences),
      builder_(random_id("msg_"), request.model,
               Usage{static_cast<std::int64_t>(prompt.tokens.size()), 0, 0, 0}, request.stream) {
  std::string start;
  builder_.start(start);
  pending_ = std::move(start);
}

void ResponseStream::publish(std::string&& frames, bool done) {
  {
    std::lock_guard lock(mutex_);
    pending_.append(frames);
    done_ = done_ || done;
  }
  frames.clear();
  cv_.notify_all();
}

ResponseStream::Poll ResponseStream::poll(std::string& out, std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  if (pending_.empty() && !done_) cv_.wait_for(lock, wait, [this] { return !pending_.empty() || done_; });
  const bool had = !pending_.empty();
  out.append(pending_);
  pending_.clear();
  if (done_) return Poll::kDone;
  return had ? Poll::kData : Poll::kIdle;
}

int ResponseStream::http_status() const {
  std::lock_guard lock(mutex_);
  return http_status_;
}

std::string ResponseStream::outcome() const {
  std::lock_guard lock(mutex_);
  return outcome_;
}

void ResponseStream::cancel() {
  if (job_) job_->cancel();
}

void ResponseStream::set_liveness_check(std::function<bool()> alive) {
  std::lock_guard lock(mutex_);
  alive_ = std::move(alive);
}

bool ResponseStream::wanted() {
  std::lock_guard lock(mutex_);
  return !alive_ || alive_();
}

void ResponseStream::text(std::string_view text) {
  builder_.text(text, frames_);
}

void ResponseStream::thinking(std::string_view text) {
  // Reasoning is returned only to clients that asked for thinking blocks.
  if (thinking_enabled_) builder_.thinking(text, frames_);
}

void ResponseStream::tool_call_start(std::string_view id, std::string_view name) {
  in_tool_call_ = true;
  builder_.tool_use_start(id.empty() ? random_id("toolu_") : std::string(id), std::string(name), frames_);
}

void ResponseStream::tool_call_arguments(std::string_view json_fragment) {
  builder_.tool_use_input(json_fragment, frames_);
}

void ResponseStream::tool_call_end() {
  in_tool_call_ = false;
  ++tool_calls_;
  if (single_tool_call_) stop_now_ = true;
}

bool ResponseStream::on_token(std::int32_t token) {
  scratch_.clear();
  decoder_->push(token, scratch_);
  released_.clear();
  const auto hit = stops_.feed(scratch_, released_);
  if (hit) matched_stop_ = stops_.sequences()[*hit];
  const bool stop_hit = hit.has_value();
  if (!released_.empty()) parser_->feed(released_, *this);
  if (!frames_.empty()) publish(std::move(frames_), false);
  return !stop_hit && !stop_now_;
}

void ResponseStream::on_finished(const engine::GenerationResult& result) {
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

  std::string final_bytes = std::move(frames_);
  frames_.clear();
  int status = 200;
  if (error) {
    status = error->http_status;
    if (streaming_) {
      final_bytes += error_frame(*error);
    } else {
      final_bytes = error_body(*error, request_id_);
    }
  } else {
    StopReason reason = StopReason::kEndTurn;
    std::optional<std::string> matched;
    if (stops_.matched()) {
      reason = StopReason::kStopSequence;
      matched = matched_stop_;
    } else if (tool_calls_ > 0) {
      reason = StopReason::kToolUse;
    } else if (result.reason == engine::FinishReason::kMaxTokens ||
               result.reason == engine::FinishReason::kContextFull) {
      reason = StopReason::kMaxTokens;
    }
    builder_.cached_prompt(result.cached_prompt_tokens);
    builder_.finish(reason, matched, result.output_tokens, final_bytes);
    if (!streaming_)
      final_bytes = builder_.message().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  {
    std::lock_guard lock(mutex_);
    http_status_ = status;
    outcome_ = std::string(engine::to_string(result.reason)) + ": " + std::to_string(result.prompt_tokens) +
               " prompt tokens (" + std::to_string(result.cached_prompt_tokens) + " cached), " +
               std::to_string(result.output_tokens) + " output tokens; " + timings(result);
  }
  publish(std::move(final_bytes), true);
}

}  // namespace pensieve::api
