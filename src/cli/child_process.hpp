// cli/child_process: a program started as a child of this one and owned until it ends — the
// `pensieve serve` that `claude` and `chat` start, and Claude Code itself. Linux only (fork, exec,
// prctl): a server child can be put in its own process group, so that the terminal's Ctrl-C meant
// for Claude Code does not reach it, and be told to end when this process dies, so that a killed
// launcher leaves no server behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace pensieve::cli {

// The environment a child gets: this process's, edited.
class Environment {
 public:
  static Environment inherited();
  void set(const std::string& name, const std::string& value);
  void unset(const std::string& name);
  std::optional<std::string> get(const std::string& name) const;
  const std::vector<std::string>& entries() const { return entries_; }  // NAME=VALUE

 private:
  std::vector<std::string> entries_;
};

struct ChildOptions {
  std::vector<std::string> argv;  // argv[0] is the program's path (no PATH search)
  Environment env = Environment::inherited();
  std::string output_file;         // non-empty: stdout and stderr go there (truncated); else inherited
  bool own_process_group = false;  // out of the terminal's foreground group: no Ctrl-C from it
  bool end_with_parent = false;    // SIGTERM when this process dies
};

class ChildProcess {
 public:
  // Fails when the program cannot be run (exec's error, reported back before this returns).
  static Result<ChildProcess> start(const ChildOptions& options);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ChildProcess(const ChildProcess&) = delete;
  ~ChildProcess();  // stops a child still running

  pid_t pid() const { return pid_; }
  // Reaps the child without waiting; its exit status once it has ended.
  bool running();
  // A shell's $?: the exit code, or 128 + the signal that ended it.
  std::optional<int> exit_status() const { return status_; }
  int wait();
  void signal(int signal) const;
  // SIGTERM, then SIGKILL after `grace`; the exit status.
  int stop(std::chrono::milliseconds grace);

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  void record(int wait_status);

  pid_t pid_ = -1;
  std::optional<int> status_;
};

}  // namespace pensieve::cli
