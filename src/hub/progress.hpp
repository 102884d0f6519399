// hub/progress: how a download shows itself. On a terminal a bar redrawn in place (size, speed,
// ETA); in a log or pipe a plain line now and then, so CI logs and `2> file` stay readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace pensieve::hub {

enum class ProgressStyle { kBar, kLines, kNone };

// "auto" (a bar when `fd` is a terminal, else lines), "bar", "lines" or "none".
Result<ProgressStyle> parse_progress_style(std::string_view text, int fd);

// "0:42", "12:05", "1:02:03"; "?" for an unknown or absurd time.
std::string format_eta(double seconds);

// One progress line without the bar: "412.0 MiB / 1.20 GiB  34%  25.1 MiB/s  ETA 0:32".
std::string progress_figures(std::uint64_t done, std::uint64_t total, double bytes_per_second);

// "[#######.............]" `width` characters wide, brackets included.
std::string progress_bar(std::uint64_t done, std::uint64_t total, int width);

class ProgressReporter {
 public:
  using Clock = std::chrono::steady_clock;

  // `already`: bytes present before this transfer (a resumed download); they count toward the
  // figures but not the speed.
  ProgressReporter(std::FILE* out, ProgressStyle style, std::string label, std::uint64_t total,
                   std::uint64_t already);

  // `done`: bytes of the file present now.
  void update(std::uint64_t done);
  // A message on a line of its own ("resuming at …"); a bar being drawn moves below it.
  void note(const std::string& message);
  // The last line: how much arrived and how fast, or that it stopped.
  void finish(bool complete);

 private:
  void draw(std::uint64_t done, Clock::time_point now);
  double speed(std::uint64_t done, Clock::time_point now) const;

  std::FILE* out_;
  ProgressStyle style_;
  std::string label_;
  std::uint64_t total_;
  std::uint64_t already_;
  std::uint64_t done_;
  Clock::time_point started_;
  Clock::time_point last_draw_{};
  bool drawn_ = false;
};

}  // namespace pensieve::hub
