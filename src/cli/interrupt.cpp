#include "cli/interrupt.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace pensieve::cli {
namespace {

// A signal handler reaches its program only through process-wide state.
std::atomic<bool> pending{false};
int pipe_fds[2] = {-1, -1};

void on_interrupt(int) {
  const int saved = errno;
  pending.store(true);
  const char byte = 1;
  [[maybe_unused]] auto n = write(pipe_fds[1], &byte, 1);
  errno = saved;
}

}  // namespace

void install_interrupt_handler() {
  if (pipe_fds[0] >= 0) return;
  if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) return;
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a read waiting for the user returns
  sigaction(SIGINT, &sa, nullptr);
}

bool take_interrupt() {
  char buf[64];
  while (pipe_fds[0] >= 0 && read(pipe_fds[0], buf, sizeof buf) > 0) {
  }
  return pending.exchange(false);
}

int interrupt_fd() {
  return pipe_fds[0];
}

}  // namespace pensieve::cli
