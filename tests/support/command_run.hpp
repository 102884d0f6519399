// Test support: run a real command (the pensieve binary) through the shell and collect what it
// wrote to standard output and how it exited. Redirections (2>&1, 2>FILE) go in the command.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace pensieve::testing {

struct CommandRun {
  int exit_code = -1;  // -1 when the command could not start or did not exit normally
  std::string output;  // its standard output
};

inline CommandRun run_shell(const std::string& command) {
  CommandRun run;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) run.output.append(buffer, got);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

}  // namespace pensieve::testing
