#include "server_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

extern char** environ;

namespace pensieve::e2e {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Spawns argv with stdout and stderr going to `log_path`.
pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

std::optional<int> find_port(const std::string& log) {
  const std::string marker = " on http://127.0.0.1:";
  const auto at = log.find(marker);
  if (at == std::string::npos || log.rfind("serving ", at) == std::string::npos) return std::nullopt;
  const auto from = at + marker.size();
  const auto to = log.find_first_not_of("0123456789", from);
  if (to == std::string::npos || to == from) return std::nullopt;
  return std::stoi(log.substr(from, to - from));
}

}  // namespace

std::string pensieve_binary() {
  return PENSIEVE_BIN;
}

std::string fixture_model() {
  return std::string(PENSIEVE_FIXTURES) + "/models/qwen3-q8_0.gguf";
}

bool poll_until(const std::function<bool()>& done, std::chrono::milliseconds deadline,
                std::chrono::milliseconds step) {
  const auto until = Clock::now() + deadline;
  while (true) {
    if (done()) return true;
    if (Clock::now() >= until) return done();
    std::this_thread::sleep_for(step);
  }
}

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("pensieve-e2e-memory-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void MeminfoFile::set(std::uint64_t total_bytes, std::uint64_t available_bytes) {
  const auto tmp = path_.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "MemTotal:       " << total_bytes / 1024 << " kB\n"
        << "MemFree:        " << available_bytes / 1024 << " kB\n"
        << "MemAvailable:   " << available_bytes / 1024 << " kB\n"
        << "Buffers:               0 kB\nCached:                0 kB\n"
        << "SwapTotal:             0 kB\nSwapFree:              0 kB\n";
  }
  std::filesystem::rename(tmp, path_);
}

std::optional<ProcessMemory> process_memory(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  if (!in) return std::nullopt;
  ProcessMemory m;
  bool rss = false, hwm = false;
  std::string line;
  while (std::getline(in, line)) {
    std::uint64_t kb = 0;
    if (std::sscanf(line.c_str(), "VmRSS: %lu kB", &kb) == 1) {
      m.rss_bytes = kb * 1024;
      rss = true;
    } else if (std::sscanf(line.c_str(), "VmHWM: %lu kB", &kb) == 1) {
      m.peak_bytes = kb * 1024;
      hwm = true;
    }
  }
  if (!rss || !hwm) return std::nullopt;
  return m;
}

bool reset_peak_rss(pid_t pid) {
  std::ofstream out("/proc/" + std::to_string(pid) + "/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

CommandResult run_command(const std::vector<std::string>& argv) {
  TempDir dir;
  const auto log = dir.path() / "output";
  CommandResult result;
  const pid_t pid = spawn(argv, log);
  if (pid < 0) {
    result.output = "cannot start " + argv.front();
    return result;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.output = read_file(log);
  return result;
}

ServerProcess::ServerProcess(std::vector<std::string> args, std::filesystem::path log_path,
                             std::vector<std::string> wrapper)
    : wrapped_(!wrapper.empty()), log_path_(std::move(log_path)) {
  std::vector<std::string> argv = std::move(wrapper);
  argv.push_back(pensieve_binary());
  // No prompt cache on disk: these tests measure memory, and must not write to the user's folders.
  for (const char* a : {"serve", "--host", "127.0.0.1", "--port", "0", "--cache-dir", "off"})
    argv.push_back(a);
  for (auto& a : args) argv.push_back(std::move(a));
  pid_ = spawn(argv, log_path_);
  if (pid_ < 0) reaped_ = true;
}

ServerProcess::~ServerProcess() {
  stop();
}

ServerProcess::State ServerProcess::wait_until_serving(std::chrono::milliseconds deadline) {
  State state = State::kTimedOut;
  poll_until(
      [&] {
        if (auto port = find_port(log())) {
          port_ = *port;
          state = State::kServing;
          return true;
        }
        if (!running()) {
          state = State::kExited;
          return true;
        }
        return false;
      },
      deadline, 20ms);
  return state;
}

pid_t ServerProcess::server_pid() const {
  if (!wrapped_) return pid_;
  // The wrapper runs the server as its only child.
  std::ifstream in("/proc/" + std::to_string(pid_) + "/task/" + std::to_string(pid_) + "/children");
  pid_t child = -1;
  in >> child;
  return child;
}

bool ServerProcess::running() {
  if (reaped_) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  reaped_ = true;
  if (r == pid_) {
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    term_signal_ = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  }
  return false;
}

std::optional<int> ServerProcess::wait_exit(std::chrono::milliseconds deadline) {
  if (!poll_until([&] { return !running(); }, deadline, 20ms)) return std::nullopt;
  return exit_status_;
}

std::optional<int> ServerProcess::stop(std::chrono::milliseconds grace) {
  if (!running()) return exit_status_;
  ::kill(pid_, SIGTERM);
  if (auto status = wait_exit(grace)) return status;
  ::kill(pid_, SIGKILL);
  return wait_exit(10s);
}

std::string ServerProcess::log() const {
  return read_file(log_path_);
}

httplib::Client ServerProcess::client(std::chrono::seconds read_timeout) const {
  httplib::Client c("127.0.0.1", port_);
  c.set_read_timeout(read_timeout);
  c.set_connection_timeout(5s);
  return c;
}

std::string message_body(int max_tokens, bool stream, const std::string& text, double temperature) {
  nlohmann::json body{{"model", "pensieve"},
                      {"max_tokens", max_tokens},
                      {"temperature", temperature},
                      {"stream", stream},
                      {"messages", {{{"role", "user"}, {"content", text}}}}};
  return body.dump();
}

httplib::Result post_message(httplib::Client& client, int max_tokens, bool stream, const std::string& text) {
  return client.Post("/v1/messages", message_body(max_tokens, stream, text), "application/json");
}

StreamingRequest::StreamingRequest(const ServerProcess& server, const std::string& body) {
  thread_ = std::thread([this, port = server.port(), body] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(120s);
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/messages";
    req.body = body;
    req.set_header("Content-Type", "application/json");
    req.response_handler = [this](const httplib::Response& res) {
      std::lock_guard lock(mutex_);
      status_ = res.status;
      headers_ = res.headers;
      return true;
    };
    req.content_receiver = [this](const char* data, std::size_t size, std::uint64_t, std::uint64_t) {
      feed(data, size);
      return !abandoned_.load();
    };
    httplib::Response res;
    httplib::Error error = httplib::Error::Success;
    c.send(req, res, error);
    std::lock_guard lock(mutex_);
    done_ = true;
    cv_.notify_all();
  });
}

StreamingRequest::~StreamingRequest() {
  if (thread_.joinable()) thread_.join();
}

void StreamingRequest::feed(const char* data, std::size_t size) {
  std::lock_guard lock(mutex_);
  pending_.append(data, size);
  std::size_t end;
  while ((end = pending_.find("\n\n")) != std::string::npos) {
    const std::string frame = pending_.substr(0, end);
    pending_.erase(0, end + 2);
    SseEvent e;
    std::istringstream lines(frame);
    std::string line, data_text;
    while (std::getline(lines, line)) {
      if (line.rfind("event: ", 0) == 0) e.event = line.substr(7);
      if (line.rfind("data: ", 0) == 0) data_text += line.substr(6);
    }
    e.data = nlohmann::json::parse(data_text, nullptr, false);
    events_.push_back(std::move(e));
  }
  cv_.notify_all();
}

bool StreamingRequest::wait_for(const std::function<bool(const SseEvent&)>& match,
                                std::chrono::milliseconds deadline) {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, deadline, [&] {
    for (const auto& e : events_) {
      if (match(e)) return true;
    }
    return done_;
  }) && std::any_of(events_.begin(), events_.end(), match);
}

bool StreamingRequest::wait_done(std::chrono::milliseconds deadline) {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, deadline, [&] { return done_; });
}

std::vector<SseEvent> StreamingRequest::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

int StreamingRequest::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

httplib::Headers StreamingRequest::headers() const {
  std::lock_guard lock(mutex_);
  return headers_;
}

}  // namespace pensieve::e2e
