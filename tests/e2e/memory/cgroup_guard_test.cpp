// The memory guard in a real memory-limited cgroup (scripts/cgroup-run.sh: v2 where the machine
// offers it, else v1). The limit is a little above what the server needs; a "balloon" process in
// the same cgroup then takes memory the way the user's other programs would. The server must
// refuse with 503 while the headroom is critical, cancel its stream in an emergency, accept
// again once the balloon shrinks — and never be OOM-killed nor grow past the limit.
// Skipped, saying why, only when this machine cannot create such a cgroup (exit status 77).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <sstream>

#include "engine/serving_memory.hpp"
#include "model/hyperparams.hpp"
#include "server_process.hpp"

namespace pensieve::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr std::uint64_t kWarning = 32 * kMiB;
constexpr std::uint64_t kCritical = 16 * kMiB;
constexpr std::uint64_t kEmergency = 8 * kMiB;

std::optional<std::uint64_t> read_number(const std::string& path) {
  std::ifstream in(path);
  std::uint64_t v = 0;
  if (!(in >> v)) return std::nullopt;
  return v;
}

// PENSIEVE_CGROUP_DIR as cgroup-run.sh handed it to the server.
std::string cgroup_dir_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  std::string entry;
  while (std::getline(in, entry, '\0')) {
    if (entry.rfind("PENSIEVE_CGROUP_DIR=", 0) == 0) return entry.substr(20);
  }
  return {};
}

struct CgroupFiles {
  std::string dir;
  bool v2 = false;
  std::uint64_t usage() const {
    return read_number(dir + (v2 ? "/memory.current" : "/memory.usage_in_bytes")).value_or(0);
  }
  std::uint64_t oom_kills() const {
    std::ifstream in(dir + (v2 ? "/memory.events" : "/memory.oom_control"));
    std::string key;
    std::uint64_t value = 0;
    while (in >> key >> value) {
      if (key == "oom_kill") return value;
    }
    return 0;
  }
};

// A child process in the server's cgroup that holds as much memory as it is told. It speaks
// over pipes in raw syscalls only (it is forked from a threaded process).
class Balloon {
 public:
  explicit Balloon(const std::string& cgroup_procs) {
    int to_child[2], from_child[2];
    if (::pipe(to_child) != 0 || ::pipe(from_child) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(to_child[1]);
      ::close(from_child[0]);
      run(cgroup_procs.c_str(), to_child[0], from_child[1]);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    to_ = to_child[1];
    from_ = from_child[0];
    char ready = 0;
    ok_ = pid_ > 0 && ::read(from_, &ready, 1) == 1 && ready == 'r';
  }
  ~Balloon() {
    if (pid_ <= 0) return;
    ::close(to_);
    ::close(from_);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  bool ok() const { return ok_; }
  pid_t pid() const { return pid_; }
  // Holds `bytes` from now on (touched, so resident); 0 lets everything go.
  bool hold(std::uint64_t bytes) {
    char ack = 0;
    return ::write(to_, &bytes, sizeof bytes) == sizeof bytes && ::read(from_, &ack, 1) == 1 && ack == 'k';
  }

 private:
  [[noreturn]] static void run(const char* procs, int in, int out) {
    // First in line for the OOM killer, should it come to that: the server must not be chosen.
    if (int fd = ::open("/proc/self/oom_score_adj", O_WRONLY); fd >= 0) {
      (void)!::write(fd, "1000", 4);
      ::close(fd);
    }
    char pid_text[24];
    int n = 0;
    for (pid_t p = ::getpid(); p > 0; p /= 10) pid_text[n++] = static_cast<char>('0' + p % 10);
    char reversed[24];
    for (int i = 0; i < n; ++i) reversed[i] = pid_text[n - 1 - i];
    const int fd = ::open(procs, O_WRONLY);
    const bool moved = fd >= 0 && ::write(fd, reversed, static_cast<std::size_t>(n)) == n;
    if (fd >= 0) ::close(fd);
    if (!moved || ::write(out, "r", 1) != 1) ::_exit(1);
    void* block = nullptr;
    std::uint64_t held = 0;
    std::uint64_t want = 0;
    while (::read(in, &want, sizeof want) == sizeof want) {
      if (block) ::munmap(block, held);
      block = nullptr;
      held = 0;
      if (want > 0) {
        block = ::mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (block == MAP_FAILED) ::_exit(2);
        held = want;
        for (std::uint64_t i = 0; i < want; i += 4096) static_cast<volatile char*>(block)[i] = 1;
      }
      if (::write(out, "k", 1) != 1) ::_exit(3);
    }
    ::_exit(0);
  }

  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
  bool ok_ = false;
};

class RealCgroup : public ::testing::Test {
 protected:
  json health(int* status = nullptr) {
    auto c = server->client();
    auto r = c.Get("/health");
    if (!r) return json();
    if (status) *status = r->status;
    return json::parse(r->body, nullptr, false);
  }
  // Waits for /health to report one of `tiers`.
  bool wait_tier(std::initializer_list<const char*> tiers, json* last = nullptr) {
    json h;
    const bool ok = poll_until(
        [&] {
          h = health();
          if (!h.is_object()) return false;
          for (const char* t : tiers) {
            if (h["memory"]["status"] == t) return true;
          }
          return false;
        },
        10s);
    if (last) *last = h;
    return ok;
  }
  // Sizes the balloon so that the cgroup keeps about `headroom` bytes free.
  bool leave_headroom(Balloon& balloon, std::uint64_t headroom, std::uint64_t held_now) {
    const std::uint64_t used_by_others = files.usage() - held_now;
    if (limit < used_by_others + headroom) return false;
    held = limit - used_by_others - headroom;
    return balloon.hold(held);
  }

  TempDir dir;
  std::unique_ptr<ServerProcess> server;
  CgroupFiles files;
  std::uint64_t limit = 0;
  std::uint64_t held = 0;
};

TEST_F(RealCgroup, RefusesInsteadOfBeingOomKilledAndStaysUnderTheLimit) {
  // The server's own figure for this configuration, plus room for the process itself (binary,
  // libraries, threads) and the tiers above.
  auto file = gguf::File::open(fixture_model());
  ASSERT_TRUE(file.ok());
  auto hp = model::read_hyperparams(file->contents());
  ASSERT_TRUE(hp.ok());
  const auto needs = engine::serving_memory(*hp, engine::tensor_data_bytes(file->contents()),
                                            {4096, 2, engine::SlotConfig{}.batch_tokens});
  limit = (needs.total_bytes + 64 * kMiB) / kMiB * kMiB;

  server = std::make_unique<ServerProcess>(
      std::vector<std::string>{"--model", fixture_model(), "--ctx-size", "4096", "--parallel", "2",
                               "--memory-warning", std::to_string(kWarning), "--memory-critical",
                               std::to_string(kCritical), "--memory-emergency", std::to_string(kEmergency),
                               "--memory-hysteresis", "2MiB", "--memory-interval", "50"},
      dir.path() / "server.log",
      std::vector<std::string>{"/bin/bash", std::string(PENSIEVE_SOURCE_DIR) + "/scripts/cgroup-run.sh",
                               std::to_string(limit), "--"});
  const auto state = server->wait_until_serving();
  if (state == ServerProcess::State::kExited && server->wait_exit(1s) == 77) {
    GTEST_SKIP()
        << "this machine cannot create a memory-limited cgroup, so the real-cgroup test cannot run:\n"
        << server->log();
  }
  ASSERT_EQ(state, ServerProcess::State::kServing) << server->log();
  const pid_t pid = server->server_pid();
  ASSERT_GT(pid, 0);
  files.dir = cgroup_dir_of(pid);
  ASSERT_FALSE(files.dir.empty()) << "no PENSIEVE_CGROUP_DIR in the server's environment";
  files.v2 = std::filesystem::exists(files.dir + "/memory.current");
  RecordProperty("cgroup", files.dir);
  std::printf("cgroup %s (v%d), limit %.1f MiB; the model's estimate %.1f MiB; in use after start %.1f MiB\n",
              files.dir.c_str(), files.v2 ? 2 : 1, static_cast<double>(limit) / kMiB,
              static_cast<double>(needs.total_bytes) / kMiB, static_cast<double>(files.usage()) / kMiB);

  // The guard sees the cgroup, not the host.
  json h = health();
  ASSERT_TRUE(h.is_object());
  EXPECT_EQ(h["memory"]["cgroup_limit_bytes"], limit);
  EXPECT_EQ(h["memory"]["total_bytes"], limit);
  ASSERT_EQ(h["memory"]["status"], "safe")
      << "the server alone should leave the limit's headroom safe: " << h.dump();
  auto c = server->client();
  auto ok = post_message(c, 32);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;

  // Four at once, within the limit.
  std::vector<std::future<int>> burst;
  for (int i = 0; i < 4; ++i) {
    burst.push_back(std::async(std::launch::async, [this] {
      auto cc = server->client();
      auto r = post_message(cc, 64);
      return r ? r->status : -1;
    }));
  }
  for (auto& b : burst) EXPECT_EQ(b.get(), 200);

  // Other programs in the cgroup take memory: critical headroom (below 16 MiB).
  Balloon balloon(files.dir + "/cgroup.procs");
  ASSERT_TRUE(balloon.ok()) << "cannot start the balloon process in " << files.dir;
  ASSERT_TRUE(leave_headroom(balloon, 12 * kMiB, 0)) << "usage " << files.usage();
  ASSERT_TRUE(wait_tier({"critical"}, &h)) << h.dump() << "\n" << server->log();
  auto refused = post_message(c, 32);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503) << refused->body;
  EXPECT_EQ(refused->get_header_value("x-memory-status"), "critical");
  EXPECT_FALSE(refused->get_header_value("retry-after").empty());
  const json error = json::parse(refused->body, nullptr, false);
  EXPECT_EQ(error["error"]["type"], "overloaded_error");
  const std::string message = error["error"]["message"];
  EXPECT_NE(message.find("memory is critical"), std::string::npos) << message;
  EXPECT_NE(message.find("this request needs about"), std::string::npos) << message;
  EXPECT_NE(message.find("16.0 MiB free"), std::string::npos) << message;

  // Back to a safe headroom: a long stream starts; then an emergency (below 8 MiB) cancels it.
  ASSERT_TRUE(balloon.hold(0));
  held = 0;
  ASSERT_TRUE(wait_tier({"safe"}, &h)) << h.dump();
  // Greedy decoding of this prompt runs to max_tokens: about a second on a fast machine, while
  // filling the balloon near the limit (the kernel reclaiming as it goes) can take as long on a
  // loaded one. So the server is stopped while the balloon fills: once it goes on, the guard's
  // next reading (50 ms) finds the emergency with nearly all the stream still to come.
  StreamingRequest stream(*server, message_body(4000, /*stream=*/true, "Go on and on"));
  ASSERT_TRUE(stream.wait_for([](const SseEvent& e) { return e.event == "content_block_delta"; }, 30s))
      << server->log();
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);
  const bool filled = leave_headroom(balloon, 4 * kMiB, 0);
  ASSERT_EQ(::kill(pid, SIGCONT), 0);
  ASSERT_TRUE(filled) << "usage " << files.usage();
  ASSERT_TRUE(stream.wait_for([](const SseEvent& e) { return e.event == "error"; }, 20s))
      << "the stream was not cancelled\n"
      << server->log();
  const auto events = stream.events();
  EXPECT_EQ(events.back().event, "error");
  EXPECT_EQ(events.back().data["error"]["type"], "overloaded_error");
  int status = 0;
  h = health(&status);
  EXPECT_EQ(status, 503) << h.dump();
  EXPECT_EQ(h["memory"]["accepting_requests"], false);
  EXPECT_TRUE(server->running());

  // The balloon lets go: accepted again.
  ASSERT_TRUE(balloon.hold(0));
  ASSERT_TRUE(wait_tier({"safe"}, &h)) << h.dump();
  auto again = post_message(c, 32);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200) << again->body;

  // Never OOM-killed, never past the limit.
  const auto memory = process_memory(pid);
  ASSERT_TRUE(memory.has_value());
  std::printf("server peak RSS %.1f MiB under a %.1f MiB limit; OOM kills in the cgroup: %lu\n",
              static_cast<double>(memory->peak_bytes) / kMiB, static_cast<double>(limit) / kMiB,
              static_cast<unsigned long>(files.oom_kills()));
  RecordProperty("server_peak_rss_bytes", std::to_string(memory->peak_bytes));
  EXPECT_LT(memory->peak_bytes, limit);
  EXPECT_EQ(files.oom_kills(), 0u);
  EXPECT_TRUE(server->running());
  ASSERT_EQ(server->stop(), 0) << server->log();
  EXPECT_NE(server->log().find("oom_kills=0"), std::string::npos) << server->log();
}

}  // namespace
}  // namespace pensieve::e2e
