#include "api/messages_service.hpp"

#include <gtest/gtest.h>

#include "support/fake_model.hpp"

namespace pensieve::api {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct Harness {
  explicit Harness(std::string script, std::size_t context = 512, engine::SchedulerOptions options = {})
      : backend(std::move(script), context),
        scheduler(std::move(engine::Scheduler::create(backend, options).value())),
        service(frontend, *scheduler, ModelInfo{"tiny", "Tiny", "2026-01-01T00:00:00Z"}) {}

  // Runs a request to the end and returns everything the HTTP side would send.
  std::string run(const json& body, int* status = nullptr) {
    auto started = service.create(body.dump(), "req_test");
    if (started.reply) {
      if (status) *status = started.reply->status;
      return started.reply->body;
    }
    std::string out;
    while (started.stream->poll(out, 1000ms) != ResponseStream::Poll::kDone) {
    }
    if (status) *status = started.stream->streaming() ? 200 : started.stream->http_status();
    return out;
  }

  testing::ScriptBackend backend;
  testing::ByteFrontend frontend;
  std::unique_ptr<engine::Scheduler> scheduler;
  MessagesService service;
};

json request(std::string text, int max_tokens = 100) {
  return {{"model", "claude-haiku-4-5"}, {"max_tokens", max_tokens}, {"messages", {{{"role", "user"}, {"content", text}}}}};
}

TEST(MessagesService, NonStreamingMessage) {
  Harness h("Hello there");
  int status = 0;
  auto m = json::parse(h.run(request("hi"), &status));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(m["model"], "claude-haiku-4-5");
  EXPECT_EQ(m["content"][0]["text"], "Hello there");
  EXPECT_EQ(m["stop_reason"], "end_turn");
  // Every computed prompt token stays in the cache: written to it, not merely read as input.
  EXPECT_EQ(m["usage"]["input_tokens"], 0);
  EXPECT_EQ(m["usage"]["cache_creation_input_tokens"], 2);
  EXPECT_EQ(m["usage"]["output_tokens"], 11);
}

// A prompt longer than one scheduler chunk (256 tokens) is processed in pieces, then answered.
TEST(MessagesService, LongPromptIsAnsweredAfterAllItsChunks) {
  Harness h("ok", 2048);
  auto m = json::parse(h.run(request(std::string(600, 'a'))));
  EXPECT_EQ(m["content"][0]["text"], "ok");
  EXPECT_EQ(m["usage"]["cache_creation_input_tokens"], 600);
  EXPECT_EQ(m["usage"]["output_tokens"], 2);
}

// The same conversation again finds its prompt in the slot's cache (all but the last token, whose
// logits are needed), and the usage counts those tokens as cache reads, as the API does; what each
// request computed it wrote to the cache.
TEST(MessagesService, ARepeatedPromptIsReadFromTheCache) {
  Harness h("ok", 2048);
  auto first = json::parse(h.run(request(std::string(600, 'a'))));
  EXPECT_EQ(first["usage"]["input_tokens"], 0);
  EXPECT_EQ(first["usage"]["cache_creation_input_tokens"], 600);
  EXPECT_EQ(first["usage"]["cache_read_input_tokens"], 0);
  auto again = json::parse(h.run(request(std::string(600, 'a'))));
  EXPECT_EQ(again["content"][0]["text"], "ok");
  EXPECT_EQ(again["usage"]["input_tokens"], 0);
  EXPECT_EQ(again["usage"]["cache_read_input_tokens"], 599);
  EXPECT_EQ(again["usage"]["cache_creation_input_tokens"], 1);
}

TEST(MessagesService, MaxTokens) {
  Harness h("Hello there");
  auto m = json::parse(h.run(request("hi", 4)));
  EXPECT_EQ(m["content"][0]["text"], "Hell");
  EXPECT_EQ(m["stop_reason"], "max_tokens");
  EXPECT_EQ(m["usage"]["output_tokens"], 4);
}

TEST(MessagesService, StopSequenceAcrossTokens) {
  Harness h("abc###def");
  auto body = request("hi");
  body["stop_sequences"] = {"###", "zzz"};
  auto m = json::parse(h.run(body));
  EXPECT_EQ(m["content"][0]["text"], "abc");
  EXPECT_EQ(m["stop_reason"], "stop_sequence");
  EXPECT_EQ(m["stop_sequence"], "###");
}

TEST(MessagesService, HeldBackTextReleasedAtEnd) {
  Harness h("abc##");
  auto body = request("hi");
  body["stop_sequences"] = {"###"};
  auto m = json::parse(h.run(body));
  EXPECT_EQ(m["content"][0]["text"], "abc##");
  EXPECT_EQ(m["stop_reason"], "end_turn");
}

TEST(MessagesService, StreamingFrames) {
  Harness h("Yo");
  auto body = request("hi");
  body["stream"] = true;
  const std::string out = h.run(body);
  EXPECT_EQ(out.rfind("event: message_start\n", 0), 0u);
  EXPECT_NE(out.find("\"text_delta\",\"text\":\"Y\""), std::string::npos);
  EXPECT_NE(out.find("event: message_delta\n"), std::string::npos);
  EXPECT_NE(out.find("\"output_tokens\":2"), std::string::npos);
  const std::string last = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  ASSERT_GT(out.size(), last.size());
  EXPECT_EQ(out.substr(out.size() - last.size()), last);
}

TEST(MessagesService, ContextOverflowMessages) {
  Harness h("x", 16);
  int status = 0;
  // The users' text alone (a token per byte at most) is over: refused before any prompt is built.
  auto e = json::parse(h.run(request(std::string(20, 'a'), 1), &status));
  EXPECT_EQ(status, 400);
  EXPECT_EQ(e["error"]["message"], "prompt is too long: at least 20 tokens > 15 maximum");
  EXPECT_EQ(e["request_id"], "req_test");
  EXPECT_EQ(h.frontend.prompts_built, 0);
  // Over only with the assistant's text, which the floor leaves out: the built prompt's count.
  json body = request("aaaaa", 1);
  body["messages"].push_back({{"role", "assistant"}, {"content", std::string(15, 'b')}});
  e = json::parse(h.run(body, &status));
  EXPECT_EQ(e["error"]["message"], "prompt is too long: 20 tokens > 15 maximum");
  EXPECT_EQ(h.frontend.prompts_built, 1);
  e = json::parse(h.run(request(std::string(10, 'a'), 7), &status));
  EXPECT_EQ(e["error"]["message"],
            "input length and `max_tokens` exceed context limit: 10 + 7 > 16, decrease input length or `max_tokens` "
            "and try again");
}

TEST(MessagesService, ValidationErrorEnvelope) {
  Harness h("x");
  auto body = request("hi");
  body.erase("max_tokens");
  int status = 0;
  auto e = json::parse(h.run(body, &status));
  EXPECT_EQ(status, 400);
  EXPECT_EQ(e["type"], "error");
  EXPECT_EQ(e["error"]["type"], "invalid_request_error");
  EXPECT_EQ(e["error"]["message"], "max_tokens: Field required");
}

TEST(MessagesService, AdmissionCheckCanRefuse) {
  Harness h("x");
  h.service.set_admission_check([](std::int64_t, std::int64_t) -> std::optional<ApiError> {
    return overloaded("not enough memory", 503);
  });
  int status = 0;
  auto e = json::parse(h.run(request("hi"), &status));
  EXPECT_EQ(status, 503);
  EXPECT_EQ(e["error"]["type"], "overloaded_error");
}

TEST(MessagesService, QueueFullIs529) {
  engine::SchedulerOptions o;
  o.parallel = 1;
  o.max_queued = 0;
  Harness h(std::string(100000, 'z'), 200000, o);
  auto first = h.service.create(request("hi", 100000).dump(), "req_1");
  ASSERT_TRUE(first.stream);
  // Wait until the first is running, so the second finds no slot and no queue room.
  while (h.scheduler->stats().active == 0) std::this_thread::sleep_for(1ms);
  auto second = h.service.create(request("hi").dump(), "req_2");
  ASSERT_TRUE(second.reply);
  EXPECT_EQ(second.reply->status, 529);
  EXPECT_EQ(json::parse(second.reply->body)["error"]["type"], "overloaded_error");
  first.stream->cancel();
  std::string out;
  while (first.stream->poll(out, 1000ms) != ResponseStream::Poll::kDone) {
  }
  auto third = h.service.create(request("hi", 3).dump(), "req_3");
  EXPECT_TRUE(third.stream);
}

TEST(MessagesService, CountTokensAndModels) {
  Harness h("x");
  auto body = request("hello");
  body.erase("max_tokens");
  auto r = h.service.count_tokens(body.dump(), "req");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"input_tokens":5})"));
  auto list = json::parse(h.service.list_models().body);
  EXPECT_EQ(list["data"][0]["id"], "tiny");
  EXPECT_EQ(list["data"][0]["type"], "model");
  EXPECT_EQ(json::parse(h.service.get_model("claude-opus-4-1").body)["id"], "claude-opus-4-1");
}

}  // namespace
}  // namespace pensieve::api
