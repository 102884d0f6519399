#include "cli/claude_setup.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <sstream>

namespace pensieve::cli {
namespace {

bool executable(const std::filesystem::path& p) {
  std::error_code ec;
  return !p.empty() && std::filesystem::is_regular_file(p, ec) && access(p.c_str(), X_OK) == 0;
}

std::optional<std::filesystem::path> on_path(const std::string& path_var, const std::string& name) {
  std::stringstream dirs(path_var);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    const auto candidate = std::filesystem::path(dir) / name;
    if (executable(candidate)) return candidate;
  }
  return std::nullopt;
}

// `npm prefix -g`: where `npm install -g` put its binaries, when that is not on PATH.
std::optional<std::filesystem::path> npm_global_bin(const Environment& env) {
  if (auto prefix = env.get("NPM_CONFIG_PREFIX"); prefix && !prefix->empty()) {
    return std::filesystem::path(*prefix) / "bin";
  }
  if (!on_path(env.get("PATH").value_or(""), "npm")) return std::nullopt;
  FILE* pipe = popen("npm prefix -g 2>/dev/null", "r");
  if (pipe == nullptr) return std::nullopt;
  std::array<char, 4096> buf{};
  std::string out;
  while (std::fgets(buf.data(), buf.size(), pipe) != nullptr) out += buf.data();
  if (pclose(pipe) != 0) return std::nullopt;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (out.empty()) return std::nullopt;
  return std::filesystem::path(out) / "bin";
}

void set_unless_set(Environment& env, const std::string& name, const std::string& value) {
  if (auto v = env.get(name); v && !v->empty()) return;
  env.set(name, value);
}

}  // namespace

ClaudeLimits claude_limits(std::uint64_t context_size) {
  ClaudeLimits l;
  l.max_output_tokens = std::clamp<std::uint64_t>(context_size / 4, 1024, kClaudeCodeOutputTokens);
  l.compact_window = context_size;
  if (context_size < kClaudeCodePromptTokens + l.max_output_tokens) {
    l.warning = "the context of " + std::to_string(context_size) +
                " tokens leaves little room: Claude Code's own prompt is about " +
                std::to_string(kClaudeCodePromptTokens) +
                " tokens. Give a model trained on a longer context, or free memory for a larger --ctx-size";
  }
  return l;
}

Result<std::filesystem::path> find_claude(const Environment& env) {
  if (auto bin = env.get("PENSIEVE_CLAUDE_BIN"); bin && !bin->empty()) {
    if (executable(*bin)) return std::filesystem::path(*bin);
    return make_error(ErrorCode::kNotFound,
                      "PENSIEVE_CLAUDE_BIN is " + *bin + ", which is not an executable file");
  }
  if (auto found = on_path(env.get("PATH").value_or(""), "claude")) return *found;
  std::vector<std::filesystem::path> places;
  if (auto home = env.get("HOME"); home && !home->empty()) {
    places.push_back(std::filesystem::path(*home) / ".local" / "bin" / "claude");
    places.push_back(std::filesystem::path(*home) / ".claude" / "local" / "claude");
  }
  if (auto npm = npm_global_bin(env)) places.push_back(*npm / "claude");
  for (const auto& p : places) {
    if (executable(p)) return p;
  }
  return make_error(ErrorCode::kNotFound,
                    "Claude Code is not installed (no `claude` on PATH, in ~/.local/bin or in npm's global "
                    "folder). Install it with:\n  npm install -g @anthropic-ai/claude-code\nor point "
                    "PENSIEVE_CLAUDE_BIN at its binary");
}

void set_claude_environment(Environment& env, const ClaudeEndpoint& endpoint) {
  env.set("ANTHROPIC_BASE_URL", endpoint.base_url);
  env.unset("ANTHROPIC_API_KEY");
  env.set("ANTHROPIC_AUTH_TOKEN", endpoint.auth_token);
  // Whichever model Claude Code picks for a task, it is the one served here, by its own name.
  for (const char* slot :
       {"ANTHROPIC_MODEL", "ANTHROPIC_DEFAULT_OPUS_MODEL", "ANTHROPIC_DEFAULT_SONNET_MODEL",
        "ANTHROPIC_DEFAULT_HAIKU_MODEL", "ANTHROPIC_SMALL_FAST_MODEL", "CLAUDE_CODE_SUBAGENT_MODEL"}) {
    env.set(slot, endpoint.model_id);
  }
  // No telemetry, error reports or update checks leave for the internet on a local setup.
  env.set("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1");
  set_unless_set(env, "CLAUDE_CODE_MAX_OUTPUT_TOKENS", std::to_string(endpoint.limits.max_output_tokens));
  // The model's real window, so that Claude Code compacts its conversation before it overflows
  // instead of counting on the 200k of its own models.
  set_unless_set(env, "CLAUDE_CODE_MAX_CONTEXT_TOKENS", std::to_string(endpoint.limits.compact_window));
  set_unless_set(env, "CLAUDE_CODE_AUTO_COMPACT_WINDOW", std::to_string(endpoint.limits.compact_window));
}

}  // namespace pensieve::cli
