#include "sampling/stop_matcher.hpp"

#include <gtest/gtest.h>

namespace pensieve::sampling {
namespace {

TEST(StopMatcher, NoStopsReleasesEverything) {
  StopMatcher m({});
  std::string out;
  EXPECT_FALSE(m.feed("hello ", out));
  EXPECT_FALSE(m.feed("world", out));
  EXPECT_EQ(out, "hello world");
}

TEST(StopMatcher, MatchAcrossPieces) {
  StopMatcher m({"STOP"});
  std::string out;
  EXPECT_FALSE(m.feed("abc S", out));
  EXPECT_EQ(out, "abc ");  // "S" is held back
  EXPECT_FALSE(m.feed("T", out));
  EXPECT_EQ(out, "abc ");
  auto hit = m.feed("OP and more", out);
  ASSERT_TRUE(hit);
  EXPECT_EQ(*hit, 0u);
  EXPECT_EQ(out, "abc ");
  EXPECT_TRUE(m.matched());
  EXPECT_FALSE(m.feed("ignored", out));
  EXPECT_EQ(out, "abc ");
}

TEST(StopMatcher, HeldTextReleasedWhenItCannotMatch) {
  StopMatcher m({"STOP"});
  std::string out;
  m.feed("ST", out);
  EXPECT_EQ(out, "");
  m.feed("x", out);
  EXPECT_EQ(out, "STx");
}

TEST(StopMatcher, FlushReleasesTail) {
  StopMatcher m({"</end>"});
  std::string out;
  m.feed("text</e", out);
  EXPECT_EQ(out, "text");
  m.flush(out);
  EXPECT_EQ(out, "text</e");
}

TEST(StopMatcher, EarliestOfSeveralWins) {
  StopMatcher m({"world", "lo w"});
  std::string out;
  auto hit = m.feed("hello world", out);
  ASSERT_TRUE(hit);
  EXPECT_EQ(*hit, 1u);
  EXPECT_EQ(out, "hel");
}

TEST(StopMatcher, OverlappingPrefixes) {
  StopMatcher m({"aab"});
  std::string out;
  m.feed("a", out);
  m.feed("a", out);
  EXPECT_EQ(out, "");
  m.feed("a", out);  // "aaa": the first 'a' can no longer start a match
  EXPECT_EQ(out, "a");
  auto hit = m.feed("b", out);
  ASSERT_TRUE(hit);
  EXPECT_EQ(out, "a");
}

TEST(StopMatcher, OneCharacterAtATimeEqualsWhole) {
  const std::string text = "The quick brown fox jumps over the lazy dog. END of story";
  StopMatcher whole({"END", "fox!"});
  std::string a;
  auto hit_a = whole.feed(text, a);
  StopMatcher pieces({"END", "fox!"});
  std::string b;
  std::optional<std::size_t> hit_b;
  for (char c : text) {
    if (auto h = pieces.feed(std::string_view(&c, 1), b)) hit_b = h;
  }
  EXPECT_EQ(a, b);
  EXPECT_EQ(hit_a, hit_b);
  EXPECT_EQ(a, "The quick brown fox jumps over the lazy dog. ");
}

TEST(StopMatcher, MultiByteStopSequence) {
  StopMatcher m({"→x"});
  std::string out;
  m.feed("a\xE2\x86", out);  // the arrow's first two bytes
  EXPECT_EQ(out, "a");
  auto hit = m.feed("\x92x", out);
  ASSERT_TRUE(hit);
  EXPECT_EQ(out, "a");
}

}  // namespace
}  // namespace pensieve::sampling
