#include "api/request_summary.hpp"

#include <gtest/gtest.h>

#include "support/conversation_from_body.hpp"

namespace pensieve::api {
namespace {

using nlohmann::ordered_json;

std::string summarize_conversation(const ordered_json& body) {
  auto conversation = pensieve::testing::conversation_from_body(body);
  EXPECT_TRUE(conversation.ok()) << conversation.error().message;
  return conversation.ok() ? api::summarize_conversation(*conversation) : std::string();
}

TEST(RequestSummary, NamesTheLastMessagesRoleAndBlockTypes) {
  const auto body = ordered_json::parse(R"({"messages": [
    {"role": "user", "content": "make the file"},
    {"role": "assistant", "content": [{"type": "text", "text": "ok"}, {"type": "tool_use", "id": "t", "name": "Bash", "input": {}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "secret output"}]}
  ]})");
  EXPECT_EQ(summarize_conversation(body), "3 messages, the last user [tool_result]");
}

TEST(RequestSummary, AStringContentIsText) {
  const auto body = ordered_json::parse(R"({"messages": [{"role": "user", "content": "hello"}]})");
  EXPECT_EQ(summarize_conversation(body), "1 message, the last user [text]");
}

TEST(RequestSummary, NeverShowsTheTextItself) {
  const auto body = ordered_json::parse(
      R"({"messages": [{"role": "user", "content": [{"type": "text", "text": "my password"}]}]})");
  EXPECT_EQ(summarize_conversation(body).find("password"), std::string::npos);
}

// A body that validation would refuse never becomes a Conversation; what remains to tolerate is
// an empty one.
TEST(RequestSummary, ToleratesWhatValidationWouldRefuse) {
  EXPECT_EQ(api::summarize_conversation(chat::Conversation{}), "no messages");
}

}  // namespace
}  // namespace pensieve::api
