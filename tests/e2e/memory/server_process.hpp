// tests/e2e/memory/server_process: the real `pensieve serve` as a child process for end-to-end
// tests — started (optionally through a wrapper such as scripts/cgroup-run.sh) on a free
// loopback port found in its log, stopped with SIGTERM, and measured through /proc — plus the
// rewritable meminfo file behind `--memory-source file:PATH` and a small SSE reader.
#pragma once

#include <httplib.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pensieve::e2e {

inline constexpr std::uint64_t kMiB = 1024 * 1024;
inline constexpr std::uint64_t kGiB = 1024 * kMiB;

std::string pensieve_binary();
std::string fixture_model();  // a small chat-capable fixture model

// Polls `done` every `step` until it holds or `deadline` passes; returns its last value.
bool poll_until(const std::function<bool()>& done, std::chrono::milliseconds deadline,
                std::chrono::milliseconds step = std::chrono::milliseconds(20));

// A fresh directory, removed with everything in it at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A meminfo-format file; every set() replaces it whole (write + rename), so the server never
// reads half of it.
class MeminfoFile {
 public:
  explicit MeminfoFile(std::filesystem::path path) : path_(std::move(path)) {}
  void set(std::uint64_t total_bytes, std::uint64_t available_bytes);
  std::string source() const { return "file:" + path_.string(); }

 private:
  std::filesystem::path path_;
};

struct ProcessMemory {
  std::uint64_t rss_bytes = 0;   // VmRSS
  std::uint64_t peak_bytes = 0;  // VmHWM: the most RSS since start or since reset_peak_rss()
};
std::optional<ProcessMemory> process_memory(pid_t pid);
// Makes VmHWM start again from the current RSS (writes 5 to /proc/PID/clear_refs).
bool reset_peak_rss(pid_t pid);

struct CommandResult {
  int exit_status = -1;  // -1 when it did not exit normally
  std::string output;    // stdout and stderr together
};
// Runs `argv` to completion with output captured.
CommandResult run_command(const std::vector<std::string>& argv);

class ServerProcess {
 public:
  // Starts `wrapper… pensieve serve --host 127.0.0.1 --port 0 ARGS…` with its output in
  // `log_path`. Use wait_until_serving() next.
  ServerProcess(std::vector<std::string> args, std::filesystem::path log_path,
                std::vector<std::string> wrapper = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  enum class State { kServing, kExited, kTimedOut };
  // Waits for the "serving … on http://127.0.0.1:PORT" log line, or for the process to end.
  State wait_until_serving(std::chrono::milliseconds deadline = std::chrono::seconds(60));

  int port() const { return port_; }
  // The pensieve process itself (the wrapper's child when there is a wrapper).
  pid_t server_pid() const;
  bool running();
  // The exit status of the started process (the wrapper when there is one), waiting up to
  // `deadline`; nullopt if it is still running. -1: killed by a signal (see term_signal()).
  std::optional<int> wait_exit(std::chrono::milliseconds deadline);
  int term_signal() const { return term_signal_; }
  // SIGTERM, then SIGKILL after `grace`; returns the exit status as wait_exit().
  std::optional<int> stop(std::chrono::milliseconds grace = std::chrono::seconds(20));
  std::string log() const;

  httplib::Client client(std::chrono::seconds read_timeout = std::chrono::seconds(60)) const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int exit_status_ = -1;
  int term_signal_ = 0;
  bool wrapped_ = false;
  int port_ = -1;
  std::filesystem::path log_path_;
};

// Messages API bodies.
std::string message_body(int max_tokens, bool stream, const std::string& text = "Tell me a story.",
                         double temperature = 0.0);
httplib::Result post_message(httplib::Client& client, int max_tokens, bool stream = false,
                             const std::string& text = "Tell me a story.");

struct SseEvent {
  std::string event;
  nlohmann::json data;
};

// A streaming POST /v1/messages run on its own thread; events arrive as they are parsed.
class StreamingRequest {
 public:
  StreamingRequest(const ServerProcess& server, const std::string& body);
  ~StreamingRequest();  // waits for the request to end
  // Waits until an event satisfying `match` has arrived; false at the deadline.
  bool wait_for(const std::function<bool(const SseEvent&)>& match, std::chrono::milliseconds deadline);
  // Waits for the HTTP request to end (the stream closed); false at the deadline.
  bool wait_done(std::chrono::milliseconds deadline);
  std::vector<SseEvent> events() const;
  int status() const;
  httplib::Headers headers() const;
  void abandon() { abandoned_ = true; }  // makes the client hang up at its next chunk

 private:
  void feed(const char* data, std::size_t size);

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::string pending_;
  std::vector<SseEvent> events_;
  bool done_ = false;
  int status_ = 0;
  httplib::Headers headers_;
  std::atomic<bool> abandoned_{false};
  std::thread thread_;
};

}  // namespace pensieve::e2e
