#include "cli/child_process.hpp"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>

extern char** environ;

namespace pensieve::cli {
namespace {

std::string name_of(const std::string& entry) {
  return entry.substr(0, entry.find('='));
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// In the child between fork and exec: only async-signal-safe calls. Returns only on failure.
[[noreturn]] void exec_child(const ChildOptions& o, char* const* argv, char* const* envp, pid_t parent,
                             int report_fd) {
  // exec keeps ignored dispositions and the signal mask: a launcher that ignores SIGINT while
  // Claude Code runs, or a server that blocks signals for sigwait, must not pass that on.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s : {SIGINT, SIGTERM, SIGQUIT, SIGPIPE, SIGHUP, SIGCHLD}) ::signal(s, SIG_DFL);
  if (o.own_process_group) setpgid(0, 0);
  if (o.end_with_parent) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);  // the parent died before the request took hold
  }
  if (o.own_process_group) {
    // Out of the foreground group a read from the terminal would stop the child.
    const int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
  }
  if (!o.output_file.empty()) {
    const int fd = open(o.output_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
      const int e = errno;
      [[maybe_unused]] auto n = write(report_fd, &e, sizeof e);
      _exit(127);
    }
  }
  execve(argv[0], argv, envp);
  const int e = errno;
  [[maybe_unused]] auto n = write(report_fd, &e, sizeof e);
  _exit(127);
}

}  // namespace

Environment Environment::inherited() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.entries_.emplace_back(*e);
  return env;
}

void Environment::set(const std::string& name, const std::string& value) {
  unset(name);
  entries_.push_back(name + "=" + value);
}

void Environment::unset(const std::string& name) {
  std::erase_if(entries_, [&](const std::string& e) { return name_of(e) == name; });
}

std::optional<std::string> Environment::get(const std::string& name) const {
  for (const auto& e : entries_) {
    if (name_of(e) == name) return e.substr(name.size() + 1);
  }
  return std::nullopt;
}

Result<ChildProcess> ChildProcess::start(const ChildOptions& options) {
  if (options.argv.empty()) return make_error(ErrorCode::kInvalidArgument, "no program to run");
  const auto argv = c_strings(options.argv);
  const auto envp = c_strings(options.env.entries());
  // exec's failure comes back through a pipe that closes on a successful exec.
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) return make_error(ErrorCode::kIo, std::strerror(errno));
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const int e = errno;
    close(report[0]);
    close(report[1]);
    return make_error(ErrorCode::kIo, std::string("fork: ") + std::strerror(e));
  }
  if (pid == 0) {
    close(report[0]);
    exec_child(options, argv.data(), envp.data(), parent, report[1]);
  }
  close(report[1]);
  // Set from both sides, so that the group exists whichever runs first.
  if (options.own_process_group) setpgid(pid, pid);
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(report[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  ChildProcess child(pid);
  if (n == sizeof child_errno) {
    child.wait();
    const std::string what = options.output_file.empty() || child_errno == ENOENT
                                 ? options.argv[0]
                                 : options.argv[0] + " (output to " + options.output_file + ")";
    return make_error(child_errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                      "cannot run " + what + ": " + std::strerror(child_errno));
  }
  return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_), status_(other.status_) {
  other.pid_ = -1;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) stop(std::chrono::seconds(5));
}

void ChildProcess::record(int wait_status) {
  if (WIFEXITED(wait_status)) {
    status_ = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    status_ = 128 + WTERMSIG(wait_status);
  }
}

bool ChildProcess::running() {
  if (pid_ <= 0 || status_) return false;
  int ws = 0;
  const pid_t r = waitpid(pid_, &ws, WNOHANG);
  if (r == pid_) record(ws);
  return !status_;
}

int ChildProcess::wait() {
  while (pid_ > 0 && !status_) {
    int ws = 0;
    const pid_t r = waitpid(pid_, &ws, 0);
    if (r == pid_) {
      record(ws);
    } else if (r < 0 && errno != EINTR) {
      status_ = 1;  // not our child any more (ECHILD): nothing left to wait for
    }
  }
  return status_.value_or(1);
}

void ChildProcess::signal(int signal) const {
  if (pid_ > 0 && !status_) kill(pid_, signal);
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
  signal(SIGTERM);
  const auto until = std::chrono::steady_clock::now() + grace;
  while (running() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (running()) signal(SIGKILL);
  return wait();
}

}  // namespace pensieve::cli
