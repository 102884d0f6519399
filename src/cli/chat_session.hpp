// cli/chat_session: the conversation loop of `pensieve chat` — read a message (continued lines,
// pasted blocks), run a command or stream the model's answer (thinking dimmed), keep the
// conversation, and let Ctrl-C stop an answer without ending the chat.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/chat_client.hpp"
#include "cli/line_editor.hpp"

namespace pensieve::cli {

struct ChatSettings {
  std::string model_id;
  std::uint64_t context = 0;  // tokens the server holds per request
  std::string system;
  bool thinking = false;
  bool color = false;  // dim thinking and notes with ANSI escapes
};

// The help text of the session's commands and input.
std::string chat_help();

class ChatSession {
 public:
  ChatSession(MessagesClient& client, LineEditor& editor, ChatSettings settings);
  // Until /exit, Ctrl-D, two Ctrl-C in a row at the prompt, or the end of input; the exit status.
  int run();

 private:
  // kDropped: Ctrl-C on a continued line, which drops the message written so far.
  enum class Input { kMessage, kEmpty, kInterrupted, kDropped, kEnd };
  Input read_message(std::string& text);
  // false: the user asked to leave.
  bool run_command(const std::string& line);
  void ask(const std::string& text);
  nlohmann::json request() const;
  void note(const std::string& text) const;  // a line of the program's own, dimmed
  std::string stats() const;

  MessagesClient& client_;
  LineEditor& editor_;
  ChatSettings settings_;
  std::vector<nlohmann::json> messages_;
  std::optional<Answer> last_;
};

}  // namespace pensieve::cli
