#include "cli/chat_session.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <thread>

#include "cli/interrupt.hpp"

namespace pensieve::cli {
namespace {

constexpr const char* kDim = "\x1b[2m";
constexpr const char* kUndim = "\x1b[22m";
// A pasted block arrives at once; a person never types the next line this fast after Enter.
constexpr std::chrono::milliseconds kPasteGap{25};

bool blank(const std::string& s) {
  return s.find_first_not_of(" \t\r\n") == std::string::npos;
}

std::string rate(double tokens, double seconds) {
  if (seconds <= 0 || tokens <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f tokens/s", tokens / seconds);
  return buf;
}

std::string secs(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

// What the model's answer looks like on the terminal as it streams: thinking dimmed, then a
// blank line before the text. Runs on the streaming thread only.
class AnswerPrinter {
 public:
  explicit AnswerPrinter(bool color) : color_(color) {}
  AnswerOutput output() {
    return {[this](std::string_view t) { text(t); }, [this](std::string_view t) { thinking(t); }};
  }
  // Leaves the cursor at the start of a clean line.
  void end() {
    if (in_thinking_ && color_) std::cout << kUndim;
    if (!at_line_start_) std::cout << "\n";
    std::cout << std::flush;
  }

 private:
  void thinking(std::string_view t) {
    if (!in_thinking_ && color_) std::cout << kDim;
    in_thinking_ = true;
    write(t);
  }
  void text(std::string_view t) {
    if (in_thinking_) {
      if (color_) std::cout << kUndim;
      std::cout << (at_line_start_ ? "\n" : "\n\n");
      in_thinking_ = false;
      at_line_start_ = true;
    }
    write(t);
  }
  void write(std::string_view t) {
    if (t.empty()) return;
    std::cout << t << std::flush;
    at_line_start_ = t.back() == '\n';
  }

  bool color_;
  bool in_thinking_ = false;
  bool at_line_start_ = true;
};

}  // namespace

std::string chat_help() {
  return "Type a message and press Enter. A line ending in \\ continues on the next line; a pasted block\n"
         "is sent as one message. Up and Down walk the history (kept between sessions).\n"
         "  /system TEXT   set the system prompt (/system alone shows it)\n"
         "  /clear         forget the conversation (the system prompt stays)\n"
         "  /stats         tokens and speed of the last answer\n"
         "  /help          this help\n"
         "  /exit          leave (also Ctrl-D, or Ctrl-C twice at the prompt)\n"
         "Ctrl-C while the model answers stops the answer.";
}

ChatSession::ChatSession(MessagesClient& client, LineEditor& editor, ChatSettings settings)
    : client_(client), editor_(editor), settings_(std::move(settings)) {}

void ChatSession::note(const std::string& text) const {
  if (settings_.color) {
    std::cout << kDim << text << kUndim << "\n" << std::flush;
  } else {
    std::cout << text << "\n" << std::flush;
  }
}

ChatSession::Input ChatSession::read_message(std::string& text) {
  auto first = editor_.read(">>> ");
  if (first.status == LineEditor::Status::kEnd) return Input::kEnd;
  if (first.status == LineEditor::Status::kInterrupted) return Input::kInterrupted;
  text = std::move(first.text);
  for (;;) {
    const bool continued = !text.empty() && text.back() == '\\';
    if (continued) {
      text.pop_back();
    } else if (!editor_.terminal() || !editor_.more_input(kPasteGap)) {
      break;
    }
    auto next = editor_.read("... ");
    if (next.status == LineEditor::Status::kInterrupted) return Input::kDropped;
    if (next.status == LineEditor::Status::kEnd) break;
    text += "\n" + next.text;
  }
  editor_.remember(text);
  return blank(text) ? Input::kEmpty : Input::kMessage;
}

int ChatSession::run() {
  int interrupts = 0;  // Ctrl-C in a row at the prompt
  for (;;) {
    std::string text;
    const Input input = read_message(text);
    if (input == Input::kEnd) {
      std::cout << "\n";
      return 0;
    }
    if (input == Input::kInterrupted || input == Input::kDropped) {
      std::cout << "\n";
      // A message being written counts as the first Ctrl-C at the prompt, whatever came before.
      interrupts = input == Input::kDropped ? 1 : interrupts + 1;
      if (interrupts >= 2) return 0;
      note("(Ctrl-C again, Ctrl-D or /exit to leave)");
      continue;
    }
    interrupts = 0;
    if (input == Input::kEmpty) continue;
    if (text.front() == '/') {
      if (!run_command(text)) return 0;
      continue;
    }
    ask(text);
  }
}

bool ChatSession::run_command(const std::string& line) {
  const auto space = line.find_first_of(" \t\n");
  const std::string name = line.substr(0, space);
  std::string arg = space == std::string::npos ? "" : line.substr(line.find_first_not_of(" \t\n", space));
  if (space != std::string::npos && blank(arg)) arg.clear();
  if (name == "/exit" || name == "/quit" || name == "/bye") return false;
  if (name == "/help" || name == "/?") {
    note(chat_help());
  } else if (name == "/clear") {
    messages_.clear();
    last_.reset();
    note("conversation cleared");
  } else if (name == "/system") {
    if (!arg.empty()) {
      settings_.system = arg;
      note("system prompt set");
    } else {
      note(settings_.system.empty() ? "no system prompt" : "system prompt: " + settings_.system);
    }
  } else if (name == "/stats") {
    note(stats());
  } else {
    note("unknown command " + name + " (/help lists them)");
  }
  return true;
}

nlohmann::json ChatSession::request() const {
  nlohmann::json body{{"model", settings_.model_id}, {"max_tokens", 1}, {"messages", messages_}};
  if (!settings_.system.empty()) body["system"] = settings_.system;
  return body;
}

void ChatSession::ask(const std::string& text) {
  messages_.push_back({{"role", "user"}, {"content", text}});
  nlohmann::json body = request();
  // The answer may take whatever the context leaves after the prompt.
  std::string error;
  const auto prompt_tokens = client_.count_tokens(body, error);
  if (!prompt_tokens) {
    note("error: " + error);
    messages_.pop_back();
    return;
  }
  const auto context = static_cast<std::int64_t>(settings_.context);
  if (*prompt_tokens >= context) {
    note("the conversation (" + std::to_string(*prompt_tokens) + " tokens) fills the context of " +
         std::to_string(context) + " tokens: /clear to start over");
    messages_.pop_back();
    return;
  }
  const std::int64_t max_tokens = context - *prompt_tokens;
  body["max_tokens"] = max_tokens;
  constexpr std::int64_t kLeastThinkingBudget = 1024;  // the API's minimum
  if (settings_.thinking && max_tokens > kLeastThinkingBudget) {
    body["thinking"] = {{"type", "enabled"},
                        {"budget_tokens", std::max(kLeastThinkingBudget, max_tokens / 2)}};
  }

  // The answer streams on a second thread while this one waits for it to end or for Ctrl-C.
  int done[2];
  if (pipe2(done, O_CLOEXEC) != 0) {
    note("error: cannot make a pipe");
    messages_.pop_back();
    return;
  }
  take_interrupt();  // a Ctrl-C from before the question is not for this answer
  AnswerPrinter printer(settings_.color);
  Answer answer;
  std::thread worker([&] {
    answer = client_.stream(body, printer.output());
    const char byte = 1;
    [[maybe_unused]] auto n = ::write(done[1], &byte, 1);
  });
  bool cancelling = false;
  for (;;) {
    pollfd fds[2] = {{done[0], POLLIN, 0}, {interrupt_fd(), POLLIN, 0}};
    // Once cancelling, cancel again on every tick: the request may not have been sent yet.
    const int n = poll(fds, 2, cancelling ? 50 : -1);
    if (n > 0 && (fds[0].revents & POLLIN) != 0) break;
    if (take_interrupt()) cancelling = true;
    if (cancelling) client_.cancel();
  }
  worker.join();
  close(done[0]);
  close(done[1]);
  printer.end();

  if (answer.cancelled) note("[stopped]");
  if (answer.error) note("error: " + *answer.error);
  if (answer.text.empty() && (answer.cancelled || answer.error)) {
    messages_.pop_back();  // nothing to answer to: the question goes too
  } else {
    messages_.push_back({{"role", "assistant"}, {"content", answer.text}});
  }
  if (!answer.error) last_ = answer;
}

std::string ChatSession::stats() const {
  if (!last_) return "no answer yet";
  const Answer& a = *last_;
  const double decode_seconds = a.total_seconds - a.first_token_seconds;
  // A stopped stream ends before the server's final count of output tokens.
  const std::string output =
      a.output_tokens > 0 ? std::to_string(a.output_tokens) + " output tokens" : "output tokens not counted";
  std::string s = "last answer" + std::string(a.cancelled ? " (stopped)" : "") + ": " +
                  std::to_string(a.input_tokens + a.cached_tokens) + " prompt tokens (" +
                  std::to_string(a.cached_tokens) + " from the cache), " + output + "\n";
  s += "  prompt  " + rate(static_cast<double>(a.input_tokens), a.first_token_seconds) +
       " (first token after " + secs(a.first_token_seconds) + ")\n";
  if (a.output_tokens > 0) {
    s += "  output  " + rate(static_cast<double>(a.output_tokens - 1), decode_seconds) + " (" +
         secs(decode_seconds) + " after the first token)\n";
  }
  s += "  conversation: " + std::to_string(messages_.size()) + " messages";
  return s;
}

}  // namespace pensieve::cli
