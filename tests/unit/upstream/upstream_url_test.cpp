#include "upstream/upstream_url.hpp"

#include <gtest/gtest.h>

namespace pensieve::upstream {
namespace {

UpstreamUrl parse_ok(std::string_view text) {
  auto url = parse_upstream_url(text);
  EXPECT_TRUE(url.ok()) << text << ": " << (url.ok() ? "" : url.error().message);
  return url.ok() ? *url : UpstreamUrl{};
}

TEST(UpstreamUrl, HostPortAndBase) {
  const UpstreamUrl url = parse_ok("http://gpu-box.local:8000/v1");
  EXPECT_EQ(url.host, "gpu-box.local");
  EXPECT_EQ(url.port, 8000);
  EXPECT_EQ(url.base_path, "/v1");
  EXPECT_EQ(url.text(), "http://gpu-box.local:8000/v1");
  EXPECT_EQ(url.host_header(), "gpu-box.local:8000");
}

TEST(UpstreamUrl, DefaultPortAndTrailingSlashes) {
  const UpstreamUrl url = parse_ok("HTTP://10.1.2.3/");
  EXPECT_EQ(url.host, "10.1.2.3");
  EXPECT_EQ(url.port, 80);
  EXPECT_EQ(url.base_path, "");
  EXPECT_EQ(url.host_header(), "10.1.2.3");
  EXPECT_EQ(parse_ok("http://h:9/v1///").base_path, "/v1");
}

TEST(UpstreamUrl, ChatCompletionsWithOrWithoutV1) {
  EXPECT_EQ(parse_ok("http://h:8000/v1").chat_completions_target(), "/v1/chat/completions");
  EXPECT_EQ(parse_ok("http://h:8000/v1/").chat_completions_target(), "/v1/chat/completions");
  EXPECT_EQ(parse_ok("http://h:8000").chat_completions_target(), "/v1/chat/completions");
  EXPECT_EQ(parse_ok("http://h:8000/proxy/v1").chat_completions_target(), "/proxy/v1/chat/completions");
  EXPECT_EQ(parse_ok("http://h:8000/proxy").chat_completions_target(), "/proxy/v1/chat/completions");
  EXPECT_EQ(parse_ok("http://h:8000/apiv1").api_target("/models"), "/apiv1/v1/models");
}

TEST(UpstreamUrl, Ipv6Literal) {
  const UpstreamUrl url = parse_ok("http://[::1]:8001/v1");
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.port, 8001);
  EXPECT_EQ(url.host_header(), "[::1]:8001");
  EXPECT_EQ(url.text(), "http://[::1]:8001/v1");
  EXPECT_EQ(parse_ok("http://[fe80::2]").port, 80);
}

TEST(UpstreamUrl, HttpsIsRefusedSayingWhy) {
  auto url = parse_upstream_url("https://api.example.com/v1");
  ASSERT_FALSE(url.ok());
  EXPECT_EQ(url.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(url.error().message.find("no TLS"), std::string::npos) << url.error().message;
}

TEST(UpstreamUrl, RefusesWhatItCannotUse) {
  for (std::string_view bad :
       {"", "localhost:8000", "ftp://h", "http://", "http://:8000", "http://h:", "http://h:0",
        "http://h:65536", "http://h:80x", "http://h:-1", "http://user:pw@h:8000", "http://h:8000/v1?x=1",
        "http://h/#frag", "http://[::1", "http://[::1]x", "http://[zz]:1", "http://h h:1", "http://h/a b",
        "http://h\x01"}) {
    auto url = parse_upstream_url(bad);
    EXPECT_FALSE(url.ok()) << "'" << bad << "' parsed";
    if (!url.ok()) {
      EXPECT_EQ(url.error().code, ErrorCode::kInvalidArgument);
      EXPECT_FALSE(url.error().message.empty());
    }
  }
}

}  // namespace
}  // namespace pensieve::upstream
