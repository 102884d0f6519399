#include "cli/serve_banner.hpp"

#include "cli/claude_setup.hpp"

namespace pensieve::cli {
namespace {

// A word the shell reads back unchanged: model names may hold spaces.
std::string shell_word(const std::string& s) {
  const bool plain = !s.empty() && s.find_first_not_of(
                                       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                       "0123456789._-/:+@") == std::string::npos;
  if (plain) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::vector<std::string> serve_banner(const ServeFacts& f) {
  // A server on every address is reached on loopback from this machine.
  const std::string host = f.host == "0.0.0.0" || f.host == "::" ? "127.0.0.1" : f.host;
  const std::string url = "http://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                          std::to_string(f.port);
  const ClaudeLimits limits = claude_limits(f.context);
  std::vector<std::string> lines = {
      "ready at " + url,
      "  model    " + f.model_id + " (" + f.architecture + ") from " + f.model_path,
      "  context  " + std::to_string(f.context) + " tokens per request, " + std::to_string(f.slots) +
          " slot(s), a KV pool of " + std::to_string(f.kv_pool_tokens) + " tokens (" + f.kv_type + ")",
      "  compute  " + std::to_string(f.threads) + " threads, " + f.isa + " kernels",
      "  memory   " + f.memory,
      "  Claude Code: pensieve claude --port " + std::to_string(f.port) +
          (f.needs_key ? " (with PENSIEVE_API_KEY set to your key)" : ""),
      "           or: ANTHROPIC_BASE_URL=" + url +
          " ANTHROPIC_AUTH_TOKEN=" + (f.needs_key ? std::string("<your --api-key>") : std::string("local")) +
          " ANTHROPIC_MODEL=" + shell_word(f.model_id) +
          " CLAUDE_CODE_MAX_OUTPUT_TOKENS=" + std::to_string(limits.max_output_tokens) + " claude",
  };
  if (limits.warning) lines.push_back("  note: for Claude Code " + *limits.warning);
  if (f.test_model_notice) lines.push_back("warning: " + *f.test_model_notice);
  return lines;
}

}  // namespace pensieve::cli
