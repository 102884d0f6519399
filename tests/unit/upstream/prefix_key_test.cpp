#include <gtest/gtest.h>

#include "upstream/upstream_backend.hpp"

namespace pensieve::upstream {
namespace {

nlohmann::ordered_json body(std::vector<nlohmann::ordered_json> messages) {
  return {{"model", "m"},
          {"tools", nlohmann::ordered_json::array({{{"type", "function"}, {"function", {{"name", "f"}}}}})},
          {"messages", messages}};
}
nlohmann::ordered_json message(const char* role, const char* text) {
  return {{"role", role}, {"content", text}};
}

TEST(PrefixKey, ATurnOfAConversationKeepsItsKey) {
  const auto first = body({message("system", "be brief"), message("user", "hello")});
  const auto third =
      body({message("system", "be brief"), message("user", "hello"), message("assistant", "hi"),
            message("user", "more"), message("assistant", "ok"), message("user", "again")});
  EXPECT_EQ(prefix_key(first), prefix_key(third));
}

TEST(PrefixKey, AnotherConversationOrToolSetHasAnotherKey) {
  const auto a = body({message("system", "be brief"), message("user", "hello")});
  EXPECT_NE(prefix_key(a), prefix_key(body({message("system", "be brief"), message("user", "goodbye")})));
  EXPECT_NE(prefix_key(a), prefix_key(body({message("system", "be long"), message("user", "hello")})));
  auto other_tools = a;
  other_tools["tools"][0]["function"]["name"] = "g";
  EXPECT_NE(prefix_key(a), prefix_key(other_tools));
}

TEST(PrefixKey, EstimatesAboutFourBytesAToken) {
  EXPECT_EQ(estimate_tokens(0), 0);
  EXPECT_EQ(estimate_tokens(1), 1);
  EXPECT_EQ(estimate_tokens(400), 100);
}

}  // namespace
}  // namespace pensieve::upstream
