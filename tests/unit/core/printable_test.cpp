#include "core/printable.hpp"

#include <gtest/gtest.h>

namespace pensieve::core {
namespace {

TEST(Printable, KeepsTextAndUtf8) {
  EXPECT_EQ(printable("blk.0.attn_q.weight"), "blk.0.attn_q.weight");
  EXPECT_EQ(printable("général 名前 🙂"), "général 名前 🙂");
  EXPECT_EQ(printable(""), "");
}

// What could steer a terminal or forge a log line is written out as bytes.
TEST(Printable, EscapesControlsAndBrokenUtf8) {
  EXPECT_EQ(printable("a\nb"), "a\\x0ab");
  EXPECT_EQ(printable("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(printable(std::string_view("x\0y", 3)), "x\\x00y");
  EXPECT_EQ(printable("del\x7f"), "del\\x7f");
  EXPECT_EQ(printable("\xc2\x9b"
                      "2J"),
            "\\xc2\\x9b2J");                                // C1 control (CSI) in UTF-8
  EXPECT_EQ(printable("\xc3"), "\\xc3");                    // cut short
  EXPECT_EQ(printable("\xe0\x80\xaf"), "\\xe0\\x80\\xaf");  // overlong
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
  EXPECT_EQ(printable("\xff\xfe"), "\\xff\\xfe");
}

}  // namespace
}  // namespace pensieve::core
