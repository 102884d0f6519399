// `pensieve chat`: a conversation with a model in the terminal. The model runs in a `pensieve
// serve` child on a free loopback port, so the chat gets exactly the server's prompt rendering,
// caching and output parsing; the chat itself is a Messages API client (cli/chat_session).
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "cli/chat_client.hpp"
#include "cli/chat_session.hpp"
#include "cli/commands.hpp"
#include "cli/interrupt.hpp"
#include "cli/line_editor.hpp"
#include "cli/local_server.hpp"
#include "cli/model_argument.hpp"

namespace pensieve::cli {
namespace {

struct ChatArgs {
  std::string model;
  bool pull = false;
  std::string system;
  bool thinking = false;
  std::string ctx_size = "auto";
  std::string server_log;
};

// Colour only for a terminal that can show it, and never against the user's NO_COLOR.
bool use_color() {
  const char* term = std::getenv("TERM");
  const char* no_color = std::getenv("NO_COLOR");
  return isatty(1) == 1 && (no_color == nullptr || *no_color == '\0') &&
         (term == nullptr || std::string(term) != "dumb");
}

int run_chat(const ChatArgs& args) {
  auto model = model_file("chat", args.model, args.pull);
  if (!model) return 1;
  const bool color = use_color();
  auto port = free_port("127.0.0.1");
  if (!port) {
    std::cerr << "pensieve chat: " << port.error().message << "\n";
    return 1;
  }
  const auto state = state_directory();
  ServerLaunch launch;
  launch.model = model->string();
  launch.port = *port;
  launch.api_key = random_api_key();
  launch.serve_args = {"--ctx-size", args.ctx_size, "--parallel", "1"};
  launch.log_file = !args.server_log.empty() ? std::filesystem::path(args.server_log)
                    : state.empty() ? std::filesystem::temp_directory_path() / "pensieve-chat-serve.log"
                                    : state / "chat-serve.log";
  auto server = LocalServer::start(launch);
  if (!server) {
    std::cerr << "pensieve chat: " << server.error().message << "\n";
    return 1;
  }
  std::cerr << "loading " << model->string() << " (server log: " << launch.log_file.string() << ")\n";
  // Of the server's log only its warnings matter here (memory, a test model); the rest is its own.
  auto ready = server->wait_ready([](const std::string& line) {
    if (const auto at = line.find(" warning: "); at != std::string::npos)
      std::cerr << line.substr(at + 1) << "\n";
  });
  if (!ready) {
    std::cerr << "pensieve chat: " << ready.error().message;
    return 1;
  }

  // Ctrl-C from here stops answers; the server, in its own process group, never sees it.
  install_interrupt_handler();
  MessagesClient client(launch.host, launch.port, launch.api_key);
  int status = 0;
  {
    LineEditor editor(state.empty() ? std::filesystem::path() : state / "chat_history", &take_interrupt);
    ChatSettings settings{ready->model_id, ready->context_size, args.system, args.thinking, color};
    std::cout << "pensieve chat with " << ready->model_id << " (context " << ready->context_size
              << " tokens). /help for commands, Ctrl-C stops an answer, Ctrl-D leaves.\n"
              << std::flush;
    ChatSession session(client, editor, settings);
    status = session.run();
  }
  server->stop();
  return status;
}

}  // namespace

void add_chat_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("chat", "Chat with a model in the terminal");
  auto args = std::make_shared<ChatArgs>();
  cmd->add_option("model", args->model, kModelArgumentHelp)->group("Model");
  add_pull_flag(*cmd, args->pull);
  cmd->get_option("--pull")->group("Model");
  cmd->add_option("--ctx-size,-c", args->ctx_size,
                  "Context size in tokens: auto = the largest the model and memory allow")
      ->capture_default_str()
      ->group("Model");
  cmd->add_option("--system", args->system, "System prompt (change it in the chat with /system)")
      ->group("Conversation");
  cmd->add_flag("--thinking", args->thinking, "Ask the model to think before it answers (shown dimmed)")
      ->group("Conversation");
  cmd->add_option("--server-log", args->server_log,
                  "Log file of the model server (default $XDG_STATE_HOME/pensieve/chat-serve.log)")
      ->group("Server");
  cmd->footer(chat_help() +
              "\nHistory is kept in $XDG_STATE_HOME/pensieve/chat_history (else ~/.local/state/pensieve).");
  cmd->callback([args, &exit_code] { exit_code = run_chat(*args); });
}

}  // namespace pensieve::cli
