// cli/local_server: a `pensieve serve` on this machine as `pensieve claude` and `pensieve chat`
// see it — one already listening on a port (what it serves, found through /health and
// /v1/models), or one started as a child of this process, waited for until it answers and
// stopped when its user is done. The server's log goes to a file; while it loads, its lines are
// passed on so that a long load shows progress, and a server that dies says why.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cli/child_process.hpp"
#include "core/result.hpp"

namespace pensieve::cli {

// What answers on a host and port.
struct ServerProbe {
  enum class Kind { kNothing, kOther, kPensieve };
  Kind kind = Kind::kNothing;
  bool key_accepted = false;       // /health showed its details: the key was right (or none needed)
  std::string model_id;            // what /v1/models lists first
  std::string model_path;          // as the server was given it
  std::uint64_t context_size = 0;  // per slot
  std::string description;         // for messages: "pensieve serving X" or what else answered
};

ServerProbe probe_server(const std::string& host, int port, const std::string& api_key);

// Whether a probed server serves the file at `model` (paths compared as files, not as text).
bool serves_model(const ServerProbe& probe, const std::filesystem::path& model);

// A port the kernel says is free now on `host`.
Result<int> free_port(const std::string& host);

// A key no other program knows, for a server only its starter should use.
std::string random_api_key();

// The binary running now, to start `pensieve serve` from the same build.
std::filesystem::path self_executable();

struct ServerLaunch {
  std::string model;
  std::string host = "127.0.0.1";
  int port = 0;
  std::string api_key;                  // passed through the environment, never on the command line
  std::vector<std::string> serve_args;  // more flags for `pensieve serve`
  std::filesystem::path log_file;
};

class LocalServer {
 public:
  static Result<LocalServer> start(const ServerLaunch& launch);

  // Returns once /health answers, handing each new line of the server's log to `on_log_line`
  // meanwhile; an error carrying the log's last lines when the server exits first.
  Result<ServerProbe> wait_ready(const std::function<void(const std::string&)>& on_log_line);

  // SIGTERM (the server finishes what is in flight), SIGKILL after `grace`; the exit status.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(15));
  pid_t pid() const { return child_.pid(); }
  bool running() { return child_.running(); }
  const ServerLaunch& launch() const { return launch_; }

 private:
  LocalServer(ServerLaunch launch, ChildProcess child)
      : launch_(std::move(launch)), child_(std::move(child)) {}

  ServerLaunch launch_;
  ChildProcess child_;
  std::uint64_t log_read_ = 0;  // bytes of the log already handed on
  std::string partial_;         // a log line not yet ended
};

// The last `n` lines of a text file, for error messages.
std::string last_lines(const std::filesystem::path& file, std::size_t n);

// $XDG_STATE_HOME/pensieve (else ~/.local/state/pensieve), created; empty when neither is set.
std::filesystem::path state_directory();

}  // namespace pensieve::cli
