#include "upstream/forwarded_answer.hpp"

#include "api/error.hpp"
#include "upstream/upstream_error.hpp"

namespace pensieve::upstream {
namespace {

using namespace std::chrono_literals;

// How long an upstream may take to answer a request's head (pensieve reads and tokenizes the
// prompt first) before the next one is tried.
constexpr auto kHeadTimeout = 120s;
// An upstream's error body is kept up to this size (for its message).
constexpr std::size_t kErrorBodyLimit = 64 * 1024;

bool busy_status(int status) {
  return status == 429 || status == 503 || status == 529;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : "; ") + p;
  return s;
}

}  // namespace

api::Started ForwardedAnswer::open(ForwardSetup setup, UpstreamPool& pool, HttpClient& client) {
  auto answer = std::make_shared<ForwardedAnswer>(std::move(setup), pool, client);
  std::unique_lock lock(answer->mutex_);
  answer->wait_for_head(lock);
  const auto& format = answer->setup_.format;
  const auto& id = answer->setup_.request_id;
  if (answer->phase_ == Phase::kFailed) {
    const api::ApiError& e = *answer->refusal_;
    return {api::Reply{e.http_status, format.error_body(e, id)}, nullptr};
  }
  if (answer->upstream_status_ < 200 || answer->upstream_status_ >= 300) {
    // The upstream refused the request itself (a 400, say): its reason, in the route's format.
    answer->changed_.wait_for(lock, 10s, [&] { return answer->body_ended_; });
    const api::ApiError e = upstream_error(answer->upstream_status_, answer->error_body_);
    return {api::Reply{e.http_status, format.error_body(e, id)}, nullptr};
  }
  // Decided with the lock held: a failure from now on shows in the answer.
  answer->opened_ = true;
  return {std::nullopt, answer};
}

ForwardedAnswer::ForwardedAnswer(ForwardSetup setup, UpstreamPool& pool, HttpClient& client)
    : setup_(std::move(setup)), pool_(pool), client_(client), stops_(setup_.request.stop_sequences) {}

ForwardedAnswer::~ForwardedAnswer() {
  std::shared_ptr<HttpClient::Exchange> exchange;
  {
    std::lock_guard lock(mutex_);
    exchange = exchange_;
  }
  if (exchange) exchange->cancel();
}

void ForwardedAnswer::wait_for_head(std::unique_lock<std::mutex>& lock) {
  if (!attempt(lock)) {
    phase_ = Phase::kFailed;
    return;
  }
  while (phase_ == Phase::kSending) {
    const auto current = attempt_;
    if (changed_.wait_for(lock, kHeadTimeout,
                          [&] { return phase_ != Phase::kSending || attempt_ != current; }))
      continue;
    // Silent for too long: nothing has reached the client, so the next upstream may have it.
    failures_.push_back(upstream_url_ + ": no answer in " + std::to_string(kHeadTimeout.count()) + " s");
    last_failure_busy_ = false;
    auto stale = exchange_;
    if (!attempt(lock)) phase_ = Phase::kFailed;
    if (stale) {
      lock.unlock();
      stale->cancel();
      lock.lock();
    }
  }
}

bool ForwardedAnswer::attempt(std::unique_lock<std::mutex>& lock) {
  auto choice = pool_.choose(setup_.prefix_key, tried_);
  if (!choice.lease) {
    if (failures_.empty() && choice.refusal == UpstreamPool::Refusal::kAllBusy) {
      refusal_ = api::overloaded(choice.message, 529);
    } else if (failures_.empty()) {
      std::string urls;
      for (const auto& url : pool_.upstreams()) urls += (urls.empty() ? "" : ", ") + url.text();
      refusal_ = api::overloaded(choice.message + " (" + urls + ")", 503);
    } else {
      // Every upstream was tried: busy ones make it a 529 (come back later), else a 503.
      refusal_ = api::overloaded("no upstream could take the request: " + joined(failures_),
                                 last_failure_busy_ ? 529 : 503);
    }
    lease_.reset();
    exchange_.reset();
    return false;
  }
  lease_.emplace(std::move(*choice.lease));
  tried_.push_back(lease_->index());
  const UpstreamUrl url = lease_->url();
  upstream_url_ = url.text();
  const std::uint64_t n = ++attempt_;
  if (!opened_) phase_ = Phase::kSending;  // open() waits for this attempt's head
  upstream_status_ = 0;
  event_stream_ = true;
  error_body_.clear();
  inbox_.clear();  // an earlier attempt's bytes that made no event: its reader is dropped too
  exchange_.reset();

  HttpClient::Request request;
  request.method = "POST";
  request.target = url.api_target(setup_.path);
  request.body = setup_.body;  // kept: the next upstream may need it
  request.headers = setup_.headers;
  request.headers.emplace_back("accept", "text/event-stream");
  request.connect_timeout = setup_.connect_timeout;
  const std::weak_ptr<ForwardedAnswer> weak = weak_from_this();
  HttpClient::Handlers handlers;
  handlers.on_head = [weak, n](int status, const HeaderList& headers) {
    if (auto self = weak.lock()) self->on_head(n, status, headers);
  };
  handlers.on_data = [weak, n](std::string_view bytes) {
    if (auto self = weak.lock()) self->on_data(n, bytes);
  };
  handlers.on_end = [weak, n](std::optional<std::string> error, bool reached) {
    if (auto self = weak.lock()) self->on_end(n, std::move(error), reached);
  };
  lock.unlock();
  auto exchange = client_.start(url, std::move(request), std::move(handlers));
  lock.lock();
  if (attempt_ == n && !cancelled_) {
    exchange_ = std::move(exchange);
  } else if (exchange) {
    lock.unlock();
    exchange->cancel();
    lock.lock();
  }
  return true;
}

void ForwardedAnswer::fail_over(std::unique_lock<std::mutex>& lock, std::string why, bool busy) {
  failures_.push_back(upstream_url_ + ": " + std::move(why));
  last_failure_busy_ = busy;
  auto stale = std::move(exchange_);
  if (attempt(lock)) {
    // The new attempt's head or failure moves things on.
  } else if (!opened_) {
    phase_ = Phase::kFailed;
  } else {
    body_ended_ = true;
    end_failure_ = refusal_;
  }
  if (stale) {
    lock.unlock();
    stale->cancel();
    lock.lock();
  }
  changed_.notify_all();
  notify_reader(lock);
}

void ForwardedAnswer::on_head(std::uint64_t n, int status, const HeaderList& headers) {
  std::unique_lock lock(mutex_);
  if (n != attempt_ || cancelled_) return;
  if (busy_status(status)) {
    fail_over(lock, "answered " + std::to_string(status) + " (busy)", true);
    return;
  }
  if (opened_ && (status < 200 || status >= 300)) {
    // A later upstream (after a failover) refused the request itself: its answer is final.
    end_failure_ = upstream_error(status, "");
    body_ended_ = true;
    auto stale = std::move(exchange_);
    lease_.reset();
    if (stale) {
      lock.unlock();
      stale->cancel();
      lock.lock();
    }
    changed_.notify_all();
    notify_reader(lock);
    return;
  }
  upstream_status_ = status;
  for (const auto& [name, value] : headers) {
    if (name == "content-type") event_stream_ = value.find("text/event-stream") != std::string::npos;
  }
  phase_ = Phase::kAnswering;
  changed_.notify_all();
}

void ForwardedAnswer::on_data(std::uint64_t n, std::string_view bytes) {
  std::unique_lock lock(mutex_);
  if (n != attempt_ || cancelled_) return;
  if (upstream_status_ >= 200 && upstream_status_ < 300) {
    inbox_.append(bytes);
    changed_.notify_all();
    notify_reader(lock);
  } else if (error_body_.size() < kErrorBodyLimit) {
    error_body_.append(bytes.substr(0, kErrorBodyLimit - error_body_.size()));
  }
}

void ForwardedAnswer::on_end(std::uint64_t n, std::optional<std::string> error, bool reached) {
  std::unique_lock lock(mutex_);
  if (n != attempt_) return;
  if (cancelled_) {
    body_ended_ = true;
    lease_.reset();
    changed_.notify_all();
    notify_reader(lock);
    return;
  }
  const bool refused = upstream_status_ != 0 && (upstream_status_ < 200 || upstream_status_ >= 300);
  if (error && !emitted_ && !refused) {
    // Nothing of this answer reached the client: the next upstream may have the request. Only an
    // upstream that could not be reached is taken out until its health check passes; one that
    // answered and then broke off is still there.
    if (lease_ && !reached) pool_.connection_failed(lease_->index());
    fail_over(lock, *error + (reached ? "" : " (not reached)"), false);
    return;
  }
  lease_.reset();
  body_ended_ = true;
  end_error_ = std::move(error);
  changed_.notify_all();
  notify_reader(lock);
}

void ForwardedAnswer::notify_reader(std::unique_lock<std::mutex>& lock) {
  auto wake = wake_;
  lock.unlock();
  if (wake) wake();
  lock.lock();
}

void ForwardedAnswer::set_wake(std::function<void()> wake) {
  std::lock_guard lock(mutex_);
  wake_ = std::move(wake);
}

std::string ForwardedAnswer::upstream() const {
  std::lock_guard lock(mutex_);
  return upstream_url_;
}

void ForwardedAnswer::cancel() {
  std::shared_ptr<HttpClient::Exchange> exchange;
  {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    exchange = exchange_;
  }
  if (exchange) exchange->cancel();
}

api::Generation::Poll ForwardedAnswer::poll(std::string& out, std::chrono::milliseconds wait) {
  if (done_) return Poll::kDone;
  std::string bytes;
  bool ended = false;
  bool event_stream = true;
  std::uint64_t attempt = 0;
  std::optional<std::string> end_error;
  std::optional<api::ApiError> failure;
  int status = 0;
  {
    std::unique_lock lock(mutex_);
    if (inbox_.empty() && !body_ended_ && wait.count() > 0)
      changed_.wait_for(lock, wait, [&] { return !inbox_.empty() || body_ended_; });
    bytes.swap(inbox_);
    ended = body_ended_;
    end_error = end_error_;
    failure = end_failure_;
    event_stream = event_stream_;
    attempt = attempt_;
    status = upstream_status_;
  }
  if (failure) {
    // Every upstream failed or refused before any output: the client hears why.
    fail(*failure, out);
    return Poll::kDone;
  }
  // After a failover, the next upstream's head tells how its answer comes (a stream or a body).
  if (status < 200 || status >= 300) {
    if (!ended) return Poll::kIdle;
    fail(api::overloaded("the request was cancelled before an upstream answered", 503), out);
    return Poll::kDone;
  }
  if (!reader_ || reader_attempt_ != attempt) {
    // A new upstream's answer (after a failover): the last one's half-read chunks are dropped.
    reader_ = std::make_unique<CompletionReader>(event_stream);
    reader_attempt_ = attempt;
  }
  const std::size_t before = out.size();
  events_.clear();
  chat::EventSink sink(&events_);
  if (!bytes.empty()) reader_->feed(bytes, sink);
  if (ended && !end_error) reader_->finish(sink);
  if (!events_.empty() && !emitted_known_) {
    // The first output goes to the client only if its attempt is still the current one; from
    // then on the answer cannot move to another upstream.
    std::lock_guard lock(mutex_);
    if (attempt_ != attempt) return Poll::kIdle;
    emitted_ = true;
    emitted_known_ = true;
  }
  deliver(events_, out);

  if (matched_stop_) {
    cancel();  // the rest of the upstream's answer is not wanted
    finish(out);
  } else if (reader_->error()) {
    cancel();
    fail(*reader_->error(), out);
  } else if (ended && end_error) {
    fail(api::bad_gateway("the upstream " + upstream() + " failed mid-answer: " + *end_error), out);
  } else if (ended || reader_->saw_done()) {
    // [DONE] ends the answer even when the upstream (or a proxy) keeps the body open.
    if (!ended) cancel();
    finish(out);
  }
  if (done_) return Poll::kDone;
  return out.size() > before ? Poll::kData : Poll::kIdle;
}

void ForwardedAnswer::deliver(const std::vector<chat::ChatEvent>& events, std::string& out) {
  for (const auto& event : events) {
    if (matched_stop_) return;  // what follows a stop sequence is dropped
    switch (event.kind) {
      case chat::ChatEventKind::kText:
        delta_bytes_ += static_cast<std::int64_t>(event.text.size());
        deliver_text(event.text, out);
        break;
      case chat::ChatEventKind::kReasoning:
        delta_bytes_ += static_cast<std::int64_t>(event.text.size());
        if (!setup_.request.thinking) break;  // asked for no thinking: none goes out
        flush_text(out);
        emit(event, out);
        break;
      case chat::ChatEventKind::kToolCallArguments:
        delta_bytes_ += static_cast<std::int64_t>(event.text.size());
        [[fallthrough]];
      default:
        flush_text(out);
        emit(event, out);
    }
  }
}

void ForwardedAnswer::deliver_text(std::string_view text, std::string& out) {
  released_.clear();
  if (const auto index = stops_.feed(text, released_)) matched_stop_ = stops_.sequences()[*index];
  if (!released_.empty()) emit(chat::ChatEvent{chat::ChatEventKind::kText, released_, {}, {}, true}, out);
}

void ForwardedAnswer::flush_text(std::string& out) {
  released_.clear();
  stops_.flush(released_);
  if (!released_.empty()) emit(chat::ChatEvent{chat::ChatEventKind::kText, released_, {}, {}, true}, out);
}

void ForwardedAnswer::emit(const chat::ChatEvent& event, std::string& out) {
  // A whole body waits for the upstream's usage, so that it reports the true prompt size.
  if (!streaming()) {
    held_.push_back(event);
    return;
  }
  ensure_started(out);
  encoder_->event(event, out);
}

void ForwardedAnswer::ensure_started(std::string& out) {
  if (started_) return;
  started_ = true;
  const auto usage = reader_ ? reader_->usage() : std::nullopt;
  const std::int64_t prompt_tokens = usage ? usage->prompt_tokens : setup_.estimated_prompt_tokens;
  encoder_ = setup_.format.encoder(setup_.request, prompt_tokens, setup_.request_id);
  encoder_->prompt_cache(usage ? usage->cached_tokens : 0, 0);
  encoder_->start(out);
}

void ForwardedAnswer::finish(std::string& out) {
  if (!matched_stop_) flush_text(out);
  ensure_started(out);
  for (const auto& event : held_) encoder_->event(event, out);
  held_.clear();
  const auto usage = reader_ ? reader_->usage() : std::nullopt;
  if (usage) {
    // The upstream's own count replaces the estimate a stream started with.
    encoder_->prompt_tokens(usage->prompt_tokens);
    encoder_->prompt_cache(usage->cached_tokens, 0);
  }
  api::StopReason reason = api::StopReason::kEndTurn;
  if (matched_stop_) {
    reason = api::StopReason::kStopSequence;
  } else if (reader_ && reader_->stop_reason()) {
    reason = *reader_->stop_reason();
  }
  // Without the upstream's count (a stop sequence cut it off), about four bytes a token.
  const std::int64_t output_tokens =
      usage && !matched_stop_ ? usage->completion_tokens : (delta_bytes_ + 3) / 4;
  encoder_->end(reason, matched_stop_, output_tokens, out);
  done_ = true;
  http_status_ = 200;
  outcome_ = "relayed from " + upstream() + ", " + std::to_string(output_tokens) + " output tokens";
}

void ForwardedAnswer::fail(const api::ApiError& error, std::string& out) {
  // Before any event the stream carries the error alone, as the local engine's answers do.
  if (!encoder_)
    encoder_ = setup_.format.encoder(setup_.request, setup_.estimated_prompt_tokens, setup_.request_id);
  encoder_->fail(error, out);
  done_ = true;
  http_status_ = error.http_status;
  outcome_ = "failed: " + error.message;
}

}  // namespace pensieve::upstream
