// `pensieve claude`: Claude Code on a local model in one command. Uses the pensieve server already
// serving that model on the port, or starts one (context sized to the model and the memory, see
// serve --ctx-size auto) and stops it when Claude Code exits; then runs `claude` with the
// environment that points it there (cli/claude_setup) and exits with Claude Code's status.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "cli/child_process.hpp"
#include "cli/claude_setup.hpp"
#include "cli/commands.hpp"
#include "cli/local_server.hpp"
#include "cli/model_argument.hpp"

namespace pensieve::cli {
namespace {

struct ClaudeArgs {
  std::string model;
  bool pull = false;
  std::string host = "127.0.0.1";
  int port = 7777;
  std::string ctx_size = "auto";
  std::size_t parallel = 2;
  std::string api_key;
  std::string server_log;
  std::vector<std::string> claude_args;
};

void say(const std::string& line) {
  std::cerr << "pensieve claude: " << line << "\n" << std::flush;
}

std::filesystem::path default_log_file(int port) {
  const auto dir = state_directory();
  const std::string name = "claude-serve-" + std::to_string(port) + ".log";
  return dir.empty() ? std::filesystem::temp_directory_path() / name : dir / name;
}

// Runs Claude Code to its end with this process's terminal. The terminal's SIGINT and SIGQUIT
// reach Claude Code directly (same process group), so they are only passed on when another
// process sent them here; SIGTERM and SIGHUP always are. Warns once if `server` dies meanwhile.
int run_until_exit(ChildProcess& claude, LocalServer* server) {
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) sigaddset(&signals, s);
  bool told_server_died = false;
  while (claude.running()) {
    siginfo_t info{};
    const timespec tick{0, 200'000'000};
    const int s = sigtimedwait(&signals, &info, &tick);
    if (s == SIGTERM || s == SIGHUP) {
      claude.signal(s);
    } else if ((s == SIGINT || s == SIGQUIT) && (info.si_code == SI_USER || info.si_code == SI_QUEUE)) {
      claude.signal(s);
    }
    if (server != nullptr && !told_server_died && !server->running()) {
      told_server_died = true;
      say("the server exited while Claude Code was running; the end of its log (" +
          server->launch().log_file.string() + "):\n" + last_lines(server->launch().log_file, 15));
    }
  }
  return claude.wait();
}

int run_claude(const ClaudeArgs& args) {
  Environment env = Environment::inherited();
  // Before any model is loaded: without Claude Code there is nothing to serve for.
  auto claude_bin = find_claude(env);
  if (!claude_bin) {
    say(claude_bin.error().message);
    return 127;
  }

  std::optional<LocalServer> started;
  ServerProbe probe = probe_server(args.host, args.port, args.api_key);
  const std::string where = args.host + ":" + std::to_string(args.port);
  std::string key = args.api_key;
  if (probe.kind == ServerProbe::Kind::kOther) {
    say("port " + std::to_string(args.port) + " is taken by " + probe.description +
        "; choose another with --port");
    return 1;
  }
  if (probe.kind == ServerProbe::Kind::kPensieve) {
    if (!probe.key_accepted) {
      say("the pensieve server on " + where +
          " wants an API key: set PENSIEVE_API_KEY (or --api-key) to one it accepts, or choose another "
          "--port");
      return 1;
    }
    if (!args.model.empty()) {
      auto model = model_file("claude", args.model, args.pull);
      if (!model) return 1;
      if (!serves_model(probe, *model)) {
        say("the pensieve server on " + where + " serves " + probe.model_path + ", not " + model->string() +
            "; stop it or choose another --port");
        return 1;
      }
    }
    say("using the server already running on " + where + " (" + probe.model_path + ")");
  } else {
    // No model named and none served: the default one, fetched on first use.
    const bool use_default = args.model.empty();
    if (use_default) say("no --model given: using " + std::string(kDefaultModelReference));
    auto model =
        model_file("claude", use_default ? kDefaultModelReference : args.model, args.pull || use_default);
    if (!model) return 1;
    if (key.empty()) key = random_api_key();
    ServerLaunch launch;
    launch.model = model->string();
    launch.host = args.host;
    launch.port = args.port;
    launch.api_key = key;
    launch.serve_args = {"--ctx-size", args.ctx_size, "--parallel", std::to_string(args.parallel)};
    launch.log_file =
        args.server_log.empty() ? default_log_file(args.port) : std::filesystem::path(args.server_log);
    auto server = LocalServer::start(launch);
    if (!server) {
      say(server.error().message);
      return 1;
    }
    started.emplace(std::move(*server));
    say("started pensieve serve (pid " + std::to_string(started->pid()) + ") on " + where +
        "; its log: " + launch.log_file.string());
    auto ready =
        started->wait_ready([](const std::string& line) { std::cerr << "  [serve] " << line << "\n"; });
    if (!ready) {
      say(ready.error().message);
      return 1;
    }
    probe = *ready;
  }

  const ClaudeLimits limits = claude_limits(probe.context_size);
  if (limits.warning) say("warning: " + *limits.warning);
  ClaudeEndpoint endpoint{"http://" + where, key.empty() ? "pensieve-local" : key, probe.model_id, limits};
  set_claude_environment(env, endpoint);
  say("Claude Code on " + probe.model_id + ": context " + std::to_string(probe.context_size) +
      " tokens, replies of up to " + env.get("CLAUDE_CODE_MAX_OUTPUT_TOKENS").value_or("?") + " tokens");

  ChildOptions options;
  options.argv = {claude_bin->string()};
  options.argv.insert(options.argv.end(), args.claude_args.begin(), args.claude_args.end());
  options.env = env;
  // Until here a signal ends this process, and the server with it (it ends with its parent).
  // From here they are taken by run_until_exit, blocked first so that none is lost in between;
  // children start with none blocked (child_process resets the mask).
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto claude = ChildProcess::start(options);
  int status = 1;
  if (!claude) {
    say(claude.error().message);
  } else {
    status = run_until_exit(*claude, started ? &*started : nullptr);
  }
  if (started) {
    const int server_status = started->stop();
    if (server_status != 0) say("the server exited with status " + std::to_string(server_status));
  }
  return status;
}

}  // namespace

void add_claude_command(CLI::App& app, int& exit_code) {
  auto* cmd =
      app.add_subcommand("claude", "Run Claude Code on a local model (starts a server when none runs)");
  auto args = std::make_shared<ClaudeArgs>();
  cmd->add_option("--model,-m", args->model,
                  std::string(kModelArgumentHelp) +
                      "; without one, the server already running on --port, else the default model (fetched "
                      "on first use)")
      ->group("Model");
  add_pull_flag(*cmd, args->pull);
  cmd->get_option("--pull")->group("Model");
  cmd->add_option("--ctx-size,-c", args->ctx_size,
                  "Context size of a started server: auto = the largest the model and memory allow")
      ->capture_default_str()
      ->group("Model");
  cmd->add_option("--parallel", args->parallel, "Generations a started server computes at once")
      ->capture_default_str()
      ->group("Model");
  cmd->add_option("--host", args->host, "Address of the server")
      ->capture_default_str()
      ->group("Server");
  cmd->add_option("--port", args->port, "Port of the server: one running there is used, else one is started")
      ->capture_default_str()
      ->group("Server");
  cmd->add_option("--api-key", args->api_key,
                  "Key of a running server; a started server gets a random one unless this is given")
      ->group("Server");
  cmd->add_option("--server-log", args->server_log,
                  "Log file of a started server (default $XDG_STATE_HOME/pensieve/claude-serve-PORT.log)")
      ->group("Server");
  cmd->add_option("claude_args", args->claude_args, "Arguments for Claude Code, after --")
      ->group("Claude Code");
  cmd->footer(
      "Example: pensieve claude --model qwen3.gguf -- -p \"explain this repository\"\n"
      "Claude Code gets ANTHROPIC_BASE_URL, ANTHROPIC_AUTH_TOKEN, ANTHROPIC_MODEL (and the other model "
      "slots),\n"
      "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1, and CLAUDE_CODE_MAX_OUTPUT_TOKENS / "
      "CLAUDE_CODE_MAX_CONTEXT_TOKENS\n"
      "fitted to the server's context. PENSIEVE_CLAUDE_BIN names the claude binary to run.");
  cmd->callback([args, &exit_code] { exit_code = run_claude(*args); });
}

}  // namespace pensieve::cli
