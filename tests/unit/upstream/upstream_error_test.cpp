// An upstream's HTTP error answers, in each body shape upstreams send, as the front's client
// sees them: the upstream's message, said to be the upstream's, with the status that says whose
// fault it was.
#include "upstream/upstream_error.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace pensieve::upstream {
namespace {

void expect(const api::ApiError& e, int status, const std::string& type, const std::string& part) {
  EXPECT_EQ(e.http_status, status) << e.message;
  EXPECT_EQ(e.type, type) << e.message;
  EXPECT_NE(e.message.find(part), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("upstream"), std::string::npos) << e.message;
}

TEST(UpstreamError, ClientMistakesStayClientMistakes) {
  // OpenAI's envelope.
  expect(
      upstream_error(400, R"({"error": {"message": "max_tokens is too large", "type": "invalid_request_error",
                                 "param": "max_tokens", "code": null}})"),
      400, "invalid_request_error", "max_tokens is too large");
  // vLLM's validation error (older vLLM and SGLang put the fields at the top).
  expect(upstream_error(422, R"({"object": "error", "message": "top_k must be -1 or at least 1", "type":
                                 "BadRequestError", "param": null, "code": 422})"),
         400, "invalid_request_error", "top_k must be -1 or at least 1");
  // FastAPI's own validation detail.
  expect(upstream_error(422, R"({"detail": [{"loc": ["body", "messages", 0], "msg": "Field required",
                                 "type": "missing"}, {"loc": ["body", "model"], "msg": "bad"}]})"),
         400, "invalid_request_error", "body.messages.0: Field required; body.model: bad");
  expect(
      upstream_error(404, R"({"object": "error", "message": "The model `q` does not exist.", "code": 404})"),
      400, "invalid_request_error", "The model `q` does not exist.");
  expect(upstream_error(413, "Request Entity Too Large"), 400, "invalid_request_error",
         "Request Entity Too Large");
  expect(upstream_error(400, ""), 400, "invalid_request_error", "HTTP 400");
}

TEST(UpstreamError, BadCredentialsAreTheServersFault) {
  // Anthropic's envelope from an upstream that is another pensieve with a key.
  const api::ApiError e = upstream_error(
      401, R"({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"},
               "request_id": "req_1"})");
  expect(e, 502, "api_error", "invalid x-api-key");
  EXPECT_NE(e.message.find("API key"), std::string::npos) << e.message;
  expect(upstream_error(403, R"({"detail": "Forbidden"})"), 502, "api_error", "Forbidden");
}

TEST(UpstreamError, BusyUpstreamsAreOverloaded) {
  expect(upstream_error(429, "Too Many Requests\n"), 529, "overloaded_error", "Too Many Requests");
  expect(upstream_error(503, R"({"error": "server is loading the model"})"), 529, "overloaded_error",
         "server is loading the model");
  expect(upstream_error(
             529, R"({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})"),
         529, "overloaded_error", "Overloaded");
}

TEST(UpstreamError, OtherFailuresAreBadGateways) {
  expect(upstream_error(500, R"({"message": "CUDA error: out of memory"})"), 502, "api_error",
         "CUDA error: out of memory");
  expect(upstream_error(502, "<html><body>Bad Gateway</body></html>"), 502, "api_error", "Bad Gateway");
  expect(upstream_error(504, "gateway timeout"), 502, "api_error", "HTTP 504");
  expect(upstream_error(408, "timeout"), 502, "api_error", "timeout");
}

TEST(UpstreamError, LongTextIsCutOnACharacterBoundary) {
  std::string body;
  for (int i = 0; i < 800; ++i) body += "é";  // 1600 bytes of two-byte characters
  const api::ApiError e = upstream_error(500, body);
  EXPECT_LT(e.message.size(), 1200u);
  EXPECT_NO_THROW((void)nlohmann::json(e.message).dump()) << "valid UTF-8";
}

}  // namespace
}  // namespace pensieve::upstream
