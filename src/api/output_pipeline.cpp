#include "api/output_pipeline.hpp"

#include "api/error.hpp"

namespace pensieve::api {

OutputPipeline::OutputPipeline(const MessagesRequest& request, Frontend& frontend, const Prompt& prompt,
                               std::unique_ptr<AnswerEncoder> encoder)
    : thinking_enabled_(request.thinking),
      single_tool_call_(request.conversation.tool_choice.disable_parallel_tool_use),
      prompt_tokens_(static_cast<std::int64_t>(prompt.tokens.size())),
      decoder_(frontend.decoder()),
      parser_(frontend.parser(request, prompt)),
      stops_(request.stop_sequences),
      encoder_(std::move(encoder)) {
  // The prefill (a forced call's opening) is the output's start: its events (the call's start)
  // go out with the first token.
  if (!prompt.prefill.empty()) parser_->feed(prompt.prefill, events_);
}

// What is not read from the cache is computed and written to it; finish() corrects the split
// should the job fail before its prompt is kept.
void OutputPipeline::start(std::size_t cached, std::string& out) {
  started_ = true;
  const auto read = static_cast<std::int64_t>(cached);
  encoder_->prompt_cache(read, prompt_tokens_ - read);
  encoder_->start(out);
}

bool OutputPipeline::token(std::int32_t id, std::string& out) {
  if (stop_now_) return false;   // computed before the scheduler saw the stop: not part of the answer
  if (!started_) start(0, out);  // the scheduler always says first; never content before message_start
  ++consumed_;
  decoded_.clear();
  decoder_->push(id, decoded_);
  released_.clear();
  if (const auto hit = stops_.feed(decoded_, released_)) {
    matched_stop_ = stops_.sequences()[*hit];
    stop_now_ = true;
  }
  parse(released_, out);
  return !stop_now_;
}

void OutputPipeline::parse(std::string_view text, std::string& out) {
  if (text.empty()) return;
  parser_->feed(text, events_);
  deliver(out);
}

void OutputPipeline::deliver(std::string& out) {
  for (const chat::ChatEvent& e : events_) {
    if (e.kind == chat::ChatEventKind::kToolCallEnd) {
      ++tool_calls_;
      if (single_tool_call_) stop_now_ = true;
    }
    // Reasoning is returned only to clients that asked for it.
    if (e.kind != chat::ChatEventKind::kReasoning || thinking_enabled_) encoder_->event(e, out);
  }
  chat::clear_events(events_);
}

engine::GenerationResult OutputPipeline::finish(const engine::GenerationResult& finished, std::string& out) {
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
    decoded_.clear();
    decoder_->finish(decoded_);
    released_.clear();
    if (!stop_hit) {
      if (auto hit = stops_.feed(decoded_, released_)) matched_stop_ = stops_.sequences()[*hit];
      if (!stops_.matched()) stops_.flush(released_);
    }
    if (!released_.empty()) parser_->feed(released_, events_);
    parser_->finish(events_);
    deliver(out);
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
    encoder_->fail(*error, out);
    return result;
  }
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
  if (!started_) start(static_cast<std::size_t>(result.cached_prompt_tokens), out);
  encoder_->prompt_cache(result.cached_prompt_tokens, result.cache_written_prompt_tokens);
  encoder_->end(reason, matched, result.output_tokens, out);
  return result;
}

}  // namespace pensieve::api
