#include "hub/progress.hpp"

#include <gtest/gtest.h>

#include <cstdio>

namespace pensieve::hub {
namespace {

TEST(ProgressTest, FormatsTimesAndBars) {
  EXPECT_EQ(format_eta(0), "0:00");
  EXPECT_EQ(format_eta(42.4), "0:42");
  EXPECT_EQ(format_eta(725), "12:05");
  EXPECT_EQ(format_eta(3723), "1:02:03");
  EXPECT_EQ(format_eta(-1), "?");
  EXPECT_EQ(progress_bar(0, 100, 12), "[..........]");
  EXPECT_EQ(progress_bar(50, 100, 12), "[#####.....]");
  EXPECT_EQ(progress_bar(100, 100, 12), "[##########]");
}

TEST(ProgressTest, FiguresSaySizeShareSpeedAndEta) {
  const std::uint64_t mib = 1 << 20;
  EXPECT_EQ(progress_figures(256 * mib, 1024 * mib, 64.0 * mib),
            "256.0 MiB / 1.00 GiB  25%  64.0 MiB/s  ETA 0:12");
  EXPECT_EQ(progress_figures(0, 1024, 0), "0 B / 1.0 KiB  0%");
}

TEST(ProgressTest, StylesFollowTheTerminal) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(*parse_progress_style("auto", fileno(file)), ProgressStyle::kLines);
  EXPECT_EQ(*parse_progress_style("bar", fileno(file)), ProgressStyle::kBar);
  EXPECT_EQ(*parse_progress_style("none", fileno(file)), ProgressStyle::kNone);
  EXPECT_FALSE(parse_progress_style("fancy", fileno(file)).ok());
  std::fclose(file);
}

TEST(ProgressTest, LinesReportStartAndEnd) {
  char* text = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&text, &size);
  {
    ProgressReporter progress(out, ProgressStyle::kLines, "model.gguf", 2048, 1024);
    progress.update(1536);
    progress.update(2048);
    progress.finish(true);
  }
  std::fclose(out);
  const std::string log(text, size);
  std::free(text);
  EXPECT_NE(log.find("model.gguf: 1.5 KiB / 2.0 KiB  75%"), std::string::npos) << log;
  EXPECT_NE(log.find("model.gguf: 1.0 KiB in"), std::string::npos) << log;
  EXPECT_NE(log.find("(resumed after 1.0 KiB)"), std::string::npos) << log;
  EXPECT_EQ(log.find('\r'), std::string::npos) << "lines never redraw";
}

TEST(ProgressTest, ABarRedrawsOneLineAndMakesRoomForNotes) {
  char* text = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&text, &size);
  {
    ProgressReporter progress(out, ProgressStyle::kBar, "model.gguf", 2048, 0);
    progress.update(1024);
    progress.note("the connection ended early at 1.0 KiB; resuming");
    progress.update(2048);
    progress.finish(true);
  }
  std::fclose(out);
  const std::string log(text, size);
  std::free(text);
  EXPECT_EQ(log.rfind("\rmodel.gguf [", 0), 0u) << log;
  EXPECT_NE(log.find("1.0 KiB / 2.0 KiB  50%\x1b[K\nmodel.gguf: the connection ended early"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("\rmodel.gguf [######################] 2.0 KiB / 2.0 KiB  100%"), std::string::npos)
      << log;
  EXPECT_EQ(log.back(), '\n');
}

}  // namespace
}  // namespace pensieve::hub
