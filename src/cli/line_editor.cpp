#include "cli/line_editor.hpp"

#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

// libedit's readline interface (Debian's libedit-dev), not GNU readline's.
#include <editline/readline.h>

namespace pensieve::cli {
namespace {

constexpr int kHistoryEntries = 1000;

}  // namespace

LineEditor::LineEditor(std::filesystem::path history_file, bool (*interrupted)())
    : history_file_(std::move(history_file)), interrupted_(interrupted), terminal_(isatty(0) == 1) {
  if (!terminal_) return;
  // The chat's own handler takes Ctrl-C: libedit must neither install its handlers nor re-raise
  // the signal to the process group.
  rl_catch_signals = 0;
  rl_readline_name = const_cast<char*>("pensieve");
  rl_initialize();
  stifle_history(kHistoryEntries);
  if (!history_file_.empty()) read_history(history_file_.c_str());
}

LineEditor::~LineEditor() {
  if (!terminal_ || history_file_.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(history_file_.parent_path(), ec);
  write_history(history_file_.c_str());
  history_truncate_file(history_file_.c_str(), kHistoryEntries);
}

LineEditor::Read LineEditor::read(const std::string& prompt) {
  if (!terminal_) {
    std::string line;
    if (std::getline(std::cin, line)) return {Status::kLine, line};
    return {interrupted_() ? Status::kInterrupted : Status::kEnd, {}};
  }
  char* line = readline(prompt.c_str());
  if (line == nullptr) {
    // A read cut by Ctrl-C comes back as no line, like the end of input.
    return {interrupted_() ? Status::kInterrupted : Status::kEnd, {}};
  }
  std::string text(line);
  std::free(line);
  if (interrupted_()) return {Status::kInterrupted, {}};
  return {Status::kLine, std::move(text)};
}

bool LineEditor::more_input(std::chrono::milliseconds wait) const {
  pollfd p{0, POLLIN, 0};
  return poll(&p, 1, static_cast<int>(wait.count())) == 1 && (p.revents & POLLIN) != 0;
}

void LineEditor::remember(const std::string& entry) {
  if (terminal_ && !entry.empty()) add_history(entry.c_str());
}

}  // namespace pensieve::cli
