#include "core/log.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace pensieve::core::log {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Every test leaves the log as the program starts it.
class Log : public ::testing::Test {
 protected:
  void TearDown() override { configure(Level::kInfo, Format::kText); }
};

TEST_F(Log, TextLinesAreStampedAndNameTheirLevelUnlessInfo) {
  configure(Level::kDebug, Format::kText);
  ::testing::internal::CaptureStderr();
  debug("details");
  info("serving");
  warning("memory is low");
  error("cannot bind");
  const auto lines = lines_of(::testing::internal::GetCapturedStderr());
  ASSERT_EQ(lines.size(), 4u);
  const std::regex stamp(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (.*)$)");
  const std::vector<std::string> expected{"debug: details", "serving", "warning: memory is low",
                                          "error: cannot bind"};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(lines[i], m, stamp)) << lines[i];
    EXPECT_EQ(m[1], expected[i]);
  }
}

TEST_F(Log, JsonLinesAreObjectsWithTimeLevelAndTheMessageEscaped) {
  configure(Level::kInfo, Format::kJson);
  ::testing::internal::CaptureStderr();
  info("a \"quoted\" line\nwith a newline and \xff a bad byte");
  warning("low");
  const auto lines = lines_of(::testing::internal::GetCapturedStderr());
  ASSERT_EQ(lines.size(), 2u);
  const auto first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first["level"], "info");
  EXPECT_EQ(first["message"].get<std::string>().substr(0, 27), "a \"quoted\" line\nwith a newl");
  EXPECT_TRUE(std::regex_match(first["time"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  EXPECT_EQ(nlohmann::json::parse(lines[1])["level"], "warning");
}

TEST_F(Log, LinesBelowTheLevelAreNotWritten) {
  configure(Level::kWarning, Format::kText);
  EXPECT_FALSE(enabled(Level::kInfo));
  EXPECT_TRUE(enabled(Level::kError));
  ::testing::internal::CaptureStderr();
  debug("no");
  info("no");
  warning("yes");
  const auto lines = lines_of(::testing::internal::GetCapturedStderr());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("warning: yes"), std::string::npos);
}

TEST(LogNames, ParseAndName) {
  EXPECT_EQ(*parse_level("warn"), Level::kWarning);
  EXPECT_EQ(*parse_level("debug"), Level::kDebug);
  EXPECT_EQ(*parse_format("json"), Format::kJson);
  EXPECT_FALSE(parse_level("loud").ok());
  EXPECT_NE(parse_format("xml").error().message.find("text or json"), std::string::npos);
  EXPECT_STREQ(name_of(Level::kError), "error");
}

}  // namespace
}  // namespace pensieve::core::log
