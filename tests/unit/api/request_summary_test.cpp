#include "api/request_summary.hpp"

#include <gtest/gtest.h>

namespace pensieve::api {
namespace {

using nlohmann::ordered_json;

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

TEST(RequestSummary, ToleratesWhatValidationWouldRefuse) {
  EXPECT_EQ(summarize_conversation(ordered_json::object()), "no messages");
  EXPECT_EQ(summarize_conversation(ordered_json::parse(R"({"messages": [{"content": [1]}]})")),
            "1 message, the last ? [?]");
}

}  // namespace
}  // namespace pensieve::api
