#include "server/auth.hpp"

#include <gtest/gtest.h>

namespace pensieve::server {
namespace {

TEST(Auth, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_FALSE(constant_time_equal("secret", "secreT"));
  EXPECT_FALSE(constant_time_equal("secret", "secret2"));
  EXPECT_FALSE(constant_time_equal("", "x"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

TEST(Auth, PresentedKey) {
  EXPECT_EQ(presented_key("k1", "Bearer k2"), "k1");
  EXPECT_EQ(presented_key("", "Bearer k2"), "k2");
  EXPECT_EQ(presented_key("", "bearer k3"), "k3");
  EXPECT_EQ(presented_key("", "Basic abc"), "");
  EXPECT_EQ(presented_key("", "Bearer "), "");
}

TEST(Auth, Authorized) {
  EXPECT_TRUE(authorized({}, ""));
  EXPECT_TRUE(authorized({}, "anything"));
  EXPECT_TRUE(authorized({"a", "b"}, "b"));
  EXPECT_FALSE(authorized({"a", "b"}, "c"));
  EXPECT_FALSE(authorized({"a"}, ""));
  EXPECT_FALSE(authorized({""}, ""));  // had an empty key slipped through, no key still would not pass
}

TEST(Auth, Loopback) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.1.2.3"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("[::1]"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("192.168.1.10"));
  EXPECT_FALSE(is_loopback_host("::"));
}

TEST(Auth, BindPolicy) {
  EXPECT_TRUE(check_bind_policy("127.0.0.1", {}, false).ok());
  EXPECT_FALSE(check_bind_policy("0.0.0.0", {}, false).ok());
  EXPECT_TRUE(check_bind_policy("0.0.0.0", {"k"}, false).ok());
  EXPECT_TRUE(check_bind_policy("0.0.0.0", {}, true).ok());
  // An empty key (`--api-key "$UNSET"`) is refused on any address, with or without --insecure.
  for (const char* host : {"0.0.0.0", "127.0.0.1"}) {
    const Status empty = check_bind_policy(host, {""}, true);
    ASSERT_FALSE(empty.ok());
    EXPECT_NE(empty.error().message.find("empty"), std::string::npos);
    EXPECT_FALSE(check_bind_policy(host, {"k", ""}, false).ok());
  }
}

}  // namespace
}  // namespace pensieve::server
