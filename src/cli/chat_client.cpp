#include "cli/chat_client.hpp"

#include <httplib.h>

namespace pensieve::cli {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The message of an Anthropic error body, else the body itself.
std::string error_message(int status, const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j["error"].is_object() && j["error"]["message"].is_string()) {
    return j["error"]["message"].get<std::string>();
  }
  return "HTTP " + std::to_string(status) + (body.empty() ? "" : ": " + body);
}

}  // namespace

void SseSplitter::feed(std::string_view bytes,
                       const std::function<void(const std::string&, const std::string&)>& on_event) {
  buffer_.append(bytes);
  for (std::size_t end; (end = buffer_.find("\n\n")) != std::string::npos;) {
    std::string event, data;
    std::size_t at = 0;
    while (at < end) {
      std::size_t nl = buffer_.find('\n', at);
      if (nl == std::string::npos || nl > end) nl = end;
      const std::string_view line(buffer_.data() + at, nl - at);
      if (line.rfind("event:", 0) == 0) {
        event = std::string(line.substr(line.size() > 6 && line[6] == ' ' ? 7 : 6));
      } else if (line.rfind("data:", 0) == 0) {
        if (!data.empty()) data += '\n';
        data += line.substr(line.size() > 5 && line[5] == ' ' ? 6 : 5);
      }
      at = nl + 1;
    }
    buffer_.erase(0, end + 2);
    on_event(event, data);
  }
}

MessagesClient::MessagesClient(const std::string& host, int port, std::string api_key)
    : client_(std::make_unique<httplib::Client>(host, port)), api_key_(std::move(api_key)) {
  // A long prompt can keep the first byte waiting; the server's pings keep the stream alive
  // meanwhile, so a read that waits this long means the server is gone.
  client_->set_read_timeout(std::chrono::minutes(5));
  client_->set_connection_timeout(std::chrono::seconds(5));
}

MessagesClient::~MessagesClient() = default;

void MessagesClient::cancel() {
  cancelled_ = true;
  client_->stop();
}

std::optional<std::int64_t> MessagesClient::count_tokens(nlohmann::json request, std::string& error) {
  request.erase("stream");
  request.erase("max_tokens");
  auto r = client_->Post("/v1/messages/count_tokens", {{"x-api-key", api_key_}}, request.dump(),
                         "application/json");
  if (!r) {
    error = "the server did not answer: " + httplib::to_string(r.error());
    return std::nullopt;
  }
  if (r->status != 200) {
    error = error_message(r->status, r->body);
    return std::nullopt;
  }
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j["input_tokens"].is_number_integer()) {
    error = "unexpected count_tokens answer: " + r->body;
    return std::nullopt;
  }
  return j["input_tokens"].get<std::int64_t>();
}

Answer MessagesClient::stream(nlohmann::json request, const AnswerOutput& output) {
  request["stream"] = true;
  cancelled_ = false;
  Answer answer;
  int status = 0;
  std::string error_body;
  SseSplitter sse;
  const auto started = Clock::now();
  bool first = true;
  auto mark_first = [&] {
    if (!first) return;
    first = false;
    answer.first_token_seconds = since(started);
  };
  auto on_event = [&](const std::string& event, const std::string& data) {
    auto j = nlohmann::json::parse(data, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return;
    if (event == "message_start") {
      const auto& usage = j["message"]["usage"];
      answer.input_tokens = usage.value("input_tokens", std::int64_t{0}) +
                            usage.value("cache_creation_input_tokens", std::int64_t{0});
      answer.cached_tokens = usage.value("cache_read_input_tokens", std::int64_t{0});
    } else if (event == "content_block_delta") {
      const auto& delta = j["delta"];
      const std::string type = delta.value("type", "");
      if (type == "text_delta") {
        mark_first();
        const std::string text = delta.value("text", "");
        answer.text += text;
        if (output.text) output.text(text);
      } else if (type == "thinking_delta") {
        mark_first();
        if (output.thinking) output.thinking(delta.value("thinking", ""));
      }
    } else if (event == "message_delta") {
      answer.stop_reason = j["delta"].value("stop_reason", "");
      answer.output_tokens = j["usage"].value("output_tokens", answer.output_tokens);
    } else if (event == "error") {
      answer.error = j["error"].value("message", data);
    }
  };

  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/messages";
  req.headers = {{"x-api-key", api_key_}, {"content-type", "application/json"}};
  req.body = request.dump();
  req.response_handler = [&](const httplib::Response& response) {
    status = response.status;
    return true;
  };
  req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    if (status != 200) {
      error_body.append(data, n);
    } else {
      sse.feed(std::string_view(data, n), on_event);
    }
    return true;
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  const bool sent = client_->send(req, res, err);
  answer.total_seconds = since(started);
  if (!sent) {
    if (cancelled_.exchange(false)) {
      answer.cancelled = true;
    } else {
      answer.error = "the server did not answer: " + httplib::to_string(err);
    }
  } else if (status != 200) {
    answer.error = error_message(status, error_body);
  }
  return answer;
}

}  // namespace pensieve::cli
