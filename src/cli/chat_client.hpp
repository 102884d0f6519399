// cli/chat_client: `pensieve chat`'s side of the Messages API — one streamed /v1/messages request
// to the local server, its SSE events turned into text and thinking as they arrive, and the
// figures /stats shows (tokens, and the time to the first token and to the end as this client
// saw them). cancel() may be called from another thread: the connection is closed, and the
// server stops generating when its client goes away.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace httplib {
class Client;
}

namespace pensieve::cli {

struct AnswerOutput {
  std::function<void(std::string_view)> text;
  std::function<void(std::string_view)> thinking;
};

struct Answer {
  std::string text;
  std::string stop_reason;
  std::int64_t input_tokens = 0;   // computed for this request
  std::int64_t cached_tokens = 0;  // read from the prompt cache
  std::int64_t output_tokens = 0;
  double first_token_seconds = 0;  // request sent → first text or thinking
  double total_seconds = 0;
  bool cancelled = false;
  std::optional<std::string> error;  // the server's error, or why the request failed
};

// Splits an SSE byte stream into events (name, data); partial frames wait for their end.
class SseSplitter {
 public:
  void feed(std::string_view bytes,
            const std::function<void(const std::string& event, const std::string& data)>& on_event);

 private:
  std::string buffer_;
};

class MessagesClient {
 public:
  MessagesClient(const std::string& host, int port, std::string api_key);
  ~MessagesClient();

  // POST /v1/messages with `request` (stream is set to true), to the end or until cancelled.
  Answer stream(nlohmann::json request, const AnswerOutput& output);
  // Prompt tokens of `request` (POST /v1/messages/count_tokens), or the error's message.
  std::optional<std::int64_t> count_tokens(nlohmann::json request, std::string& error);
  void cancel();

 private:
  std::unique_ptr<httplib::Client> client_;
  std::string api_key_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace pensieve::cli
