// cli/line_editor: the chat's input line — editing and history through libedit (its readline
// interface), history kept in a file between sessions; plain line reads when stdin is not a
// terminal. Ctrl-C is the caller's business: its handler must not restart interrupted reads
// (no SA_RESTART), so that a read in progress returns kInterrupted.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

namespace pensieve::cli {

class LineEditor {
 public:
  // `interrupted` tells a Ctrl-C from the end of input when a read comes back empty-handed.
  LineEditor(std::filesystem::path history_file, bool (*interrupted)());
  ~LineEditor();
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  enum class Status { kLine, kEnd, kInterrupted };
  struct Read {
    Status status = Status::kEnd;
    std::string text;
  };
  Read read(const std::string& prompt);

  // Whether more input arrives within `wait`: a pasted block's next line rather than one typed.
  bool more_input(std::chrono::milliseconds wait) const;

  void remember(const std::string& entry);  // into the history (saved when the editor closes)
  bool terminal() const { return terminal_; }

 private:
  std::filesystem::path history_file_;
  bool (*interrupted_)();
  bool terminal_;
};

}  // namespace pensieve::cli
