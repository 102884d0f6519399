#include "hub/progress.hpp"

#include <unistd.h>

#include <cmath>

#include "memory/byte_size.hpp"

namespace pensieve::hub {
namespace {

// A bar redraws often enough to look alive; lines come rarely enough to keep a log short.
constexpr auto kBarInterval = std::chrono::milliseconds(100);
constexpr auto kLineInterval = std::chrono::seconds(5);
constexpr int kBarWidth = 24;

}  // namespace

Result<ProgressStyle> parse_progress_style(std::string_view text, int fd) {
  if (text == "auto") return ::isatty(fd) ? ProgressStyle::kBar : ProgressStyle::kLines;
  if (text == "bar") return ProgressStyle::kBar;
  if (text == "lines") return ProgressStyle::kLines;
  if (text == "none") return ProgressStyle::kNone;
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown progress style '" + std::string(text) + "' (auto, bar, lines or none)");
}

std::string format_eta(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 100.0 * 3600) return "?";
  const auto s = static_cast<long long>(std::llround(seconds));
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
  }
  return buf;
}

std::string progress_figures(std::uint64_t done, std::uint64_t total, double bytes_per_second) {
  std::string line = memory::format_bytes(done) + " / " + memory::format_bytes(total);
  if (total > 0) line += "  " + std::to_string(done * 100 / total) + "%";
  if (bytes_per_second > 0) {
    line += "  " + memory::format_bytes(static_cast<std::uint64_t>(bytes_per_second)) + "/s";
    if (total > done) line += "  ETA " + format_eta(static_cast<double>(total - done) / bytes_per_second);
  }
  return line;
}

std::string progress_bar(std::uint64_t done, std::uint64_t total, int width) {
  const int inner = std::max(width - 2, 1);
  const int filled =
      total == 0 ? inner : static_cast<int>(std::min<std::uint64_t>(done, total) * inner / total);
  std::string bar(1, '[');
  bar.append(filled, '#').append(inner - filled, '.').append(1, ']');
  return bar;
}

ProgressReporter::ProgressReporter(std::FILE* out, ProgressStyle style, std::string label,
                                   std::uint64_t total, std::uint64_t already)
    : out_(out),
      style_(style),
      label_(std::move(label)),
      total_(total),
      already_(already),
      done_(already),
      started_(Clock::now()) {}

double ProgressReporter::speed(std::uint64_t done, Clock::time_point now) const {
  const double seconds = std::chrono::duration<double>(now - started_).count();
  if (seconds < 0.2 || done <= already_) return 0;
  return static_cast<double>(done - already_) / seconds;
}

void ProgressReporter::draw(std::uint64_t done, Clock::time_point now) {
  const std::string figures = progress_figures(done, total_, speed(done, now));
  if (style_ == ProgressStyle::kBar) {
    // \r and erase-to-end redraw the same line; the label is cut so the line fits 100 columns.
    std::string label = label_;
    if (label.size() > 40) label = std::string("…").append(label_, label_.size() - 39);
    std::fprintf(out_, "\r%s %s %s\x1b[K", label.c_str(), progress_bar(done, total_, kBarWidth).c_str(),
                 figures.c_str());
  } else {
    std::fprintf(out_, "%s: %s\n", label_.c_str(), figures.c_str());
  }
  std::fflush(out_);
  last_draw_ = now;
  drawn_ = true;
}

void ProgressReporter::update(std::uint64_t done) {
  done_ = done;
  if (style_ == ProgressStyle::kNone) return;
  const auto now = Clock::now();
  const auto interval = style_ == ProgressStyle::kBar
                            ? std::chrono::duration_cast<Clock::duration>(kBarInterval)
                            : std::chrono::duration_cast<Clock::duration>(kLineInterval);
  if (!drawn_ || now - last_draw_ >= interval) draw(done, now);
}

void ProgressReporter::note(const std::string& message) {
  if (style_ == ProgressStyle::kNone) return;
  // The bar's line has no newline yet: end it, or the message would be drawn over.
  if (style_ == ProgressStyle::kBar && drawn_) std::fputc('\n', out_);
  std::fprintf(out_, "%s: %s\n", label_.c_str(), message.c_str());
  std::fflush(out_);
  drawn_ = false;
}

void ProgressReporter::finish(bool complete) {
  if (style_ == ProgressStyle::kNone) return;
  const auto now = Clock::now();
  if (style_ == ProgressStyle::kBar && drawn_) draw(done_, now);
  if (style_ == ProgressStyle::kBar) std::fputc('\n', out_);
  const double seconds = std::chrono::duration<double>(now - started_).count();
  const std::uint64_t moved = done_ - std::min(done_, already_);
  if (complete) {
    std::fprintf(out_, "%s: %s in %s", label_.c_str(), memory::format_bytes(moved).c_str(),
                 format_eta(seconds).c_str());
    if (already_ > 0) std::fprintf(out_, " (resumed after %s)", memory::format_bytes(already_).c_str());
    std::fputc('\n', out_);
  } else {
    std::fprintf(out_, "%s: stopped at %s of %s\n", label_.c_str(), memory::format_bytes(done_).c_str(),
                 memory::format_bytes(total_).c_str());
  }
  std::fflush(out_);
}

}  // namespace pensieve::hub
