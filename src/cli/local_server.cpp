#include "cli/local_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

namespace pensieve::cli {
namespace {

httplib::Headers key_headers(const std::string& api_key) {
  if (api_key.empty()) return {};
  return {{"x-api-key", api_key}};
}

std::optional<nlohmann::json> parse_json(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

}  // namespace

ServerProbe probe_server(const std::string& host, int port, const std::string& api_key) {
  ServerProbe probe;
  httplib::Client client(host, port);
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_read_timeout(std::chrono::seconds(10));
  auto health = client.Get("/health", key_headers(api_key));
  const std::string where = host + ":" + std::to_string(port);
  if (!health) {
    if (health.error() == httplib::Error::Connection) return probe;  // nothing listening
    probe.kind = ServerProbe::Kind::kOther;
    probe.description = "something that does not answer HTTP on " + where;
    return probe;
  }
  const auto body = parse_json(health->body);
  // 200 when it accepts requests, 503 when memory is short: either way a pensieve server.
  if (!body || !body->contains("status") || !body->contains("memory")) {
    probe.kind = ServerProbe::Kind::kOther;
    probe.description =
        "another program (HTTP " + std::to_string(health->status) + " from /health) on " + where;
    return probe;
  }
  probe.kind = ServerProbe::Kind::kPensieve;
  const auto& model = (*body)["model"];
  if (model.is_object() && model.contains("path")) {
    probe.key_accepted = true;
    probe.model_path = model.value("path", "");
    probe.model_id = model.value("id", "");
    probe.context_size = model.value("context_size", std::uint64_t{0});
  }
  // The id clients name it by, as the Messages API lists it.
  if (auto models = client.Get("/v1/models", key_headers(api_key)); models && models->status == 200) {
    if (auto list = parse_json(models->body);
        list && (*list)["data"].is_array() && !(*list)["data"].empty()) {
      probe.model_id = (*list)["data"][0].value("id", probe.model_id);
    }
  }
  probe.description = "pensieve serving " +
                      (probe.model_path.empty() ? std::string("a model") : probe.model_path) + " on " + where;
  return probe;
}

bool serves_model(const ServerProbe& probe, const std::filesystem::path& model) {
  if (probe.kind != ServerProbe::Kind::kPensieve || probe.model_path.empty()) return false;
  std::error_code ec;
  const bool same = std::filesystem::equivalent(probe.model_path, model, ec);
  return !ec && same;
}

Result<int> free_port(const std::string& host) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(ErrorCode::kIo, "socket: " + std::string(std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    close(fd);
    return make_error(ErrorCode::kInvalidArgument, "not an IPv4 address: " + host);
  }
  socklen_t len = sizeof addr;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  const int e = errno;
  close(fd);
  if (!ok) return make_error(ErrorCode::kIo, "no free port on " + host + ": " + std::strerror(e));
  return static_cast<int>(ntohs(addr.sin_port));
}

std::string random_api_key() {
  unsigned char bytes[16] = {};
  const int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    [[maybe_unused]] auto n = read(fd, bytes, sizeof bytes);
    close(fd);
  }
  std::string key = "pensieve-";
  for (unsigned char b : bytes) {
    char hex[3];
    std::snprintf(hex, sizeof hex, "%02x", b);
    key += hex;
  }
  return key;
}

std::filesystem::path self_executable() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path("pensieve") : p;
}

std::filesystem::path state_directory() {
  std::filesystem::path dir;
  const char* xdg = std::getenv("XDG_STATE_HOME");
  const char* home = std::getenv("HOME");
  if (xdg != nullptr && *xdg == '/') {
    dir = std::filesystem::path(xdg) / "pensieve";
  } else if (home != nullptr && *home == '/') {
    dir = std::filesystem::path(home) / ".local" / "state" / "pensieve";
  } else {
    return {};
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  return ec ? std::filesystem::path() : dir;
}

std::string last_lines(const std::filesystem::path& file, std::size_t n) {
  std::ifstream in(file);
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(std::move(line));
    if (lines.size() > n) lines.pop_front();
  }
  std::string out;
  for (const auto& l : lines) out += "  " + l + "\n";
  return out;
}

Result<LocalServer> LocalServer::start(const ServerLaunch& launch) {
  ChildOptions o;
  o.argv = {self_executable().string(), "serve", "--model", launch.model, "--host", launch.host, "--port",
            std::to_string(launch.port)};
  o.argv.insert(o.argv.end(), launch.serve_args.begin(), launch.serve_args.end());
  o.env.unset("PENSIEVE_API_KEY");
  if (!launch.api_key.empty()) o.env.set("PENSIEVE_API_KEY", launch.api_key);
  o.output_file = launch.log_file.string();
  // Claude Code owns the terminal: its Ctrl-C is for it, not for the server under it.
  o.own_process_group = true;
  o.end_with_parent = true;
  auto child = ChildProcess::start(o);
  if (!child) return child.error().with_context("pensieve serve");
  return LocalServer(launch, std::move(*child));
}

Result<ServerProbe> LocalServer::wait_ready(const std::function<void(const std::string&)>& on_log_line) {
  auto pass_log_on = [&] {
    std::ifstream in(launch_.log_file, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(log_read_));
    std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    log_read_ += chunk.size();
    partial_ += chunk;
    for (std::size_t nl; (nl = partial_.find('\n')) != std::string::npos;) {
      if (on_log_line) on_log_line(partial_.substr(0, nl));
      partial_.erase(0, nl + 1);
    }
  };
  for (;;) {
    pass_log_on();
    if (!child_.running()) {
      return make_error(ErrorCode::kInternal,
                        "pensieve serve exited (status " + std::to_string(child_.exit_status().value_or(1)) +
                            ") before it was ready; the end of its log (" + launch_.log_file.string() +
                            "):\n" + last_lines(launch_.log_file, 15));
    }
    // The server binds its port only once the model is loaded: until then nothing answers.
    auto probe = probe_server(launch_.host, launch_.port, launch_.api_key);
    if (probe.kind == ServerProbe::Kind::kPensieve) {
      pass_log_on();
      return probe;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

int LocalServer::stop(std::chrono::milliseconds grace) {
  return child_.stop(grace);
}

}  // namespace pensieve::cli
