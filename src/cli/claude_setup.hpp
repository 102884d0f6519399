// cli/claude_setup: what `pensieve claude` needs to know about Claude Code — where its binary is,
// the environment variables it reads (endpoint, key, model names, traffic, limits), and the
// output-token limit that fits a local model's context. Claude Code asks for a large max_tokens
// (64000 for its newest models) on a prompt of about 20k tokens of its own; a local server whose
// context cannot hold both answers 400, and Claude Code then retries smaller on every turn.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "cli/child_process.hpp"
#include "core/result.hpp"

namespace pensieve::cli {

// Claude Code's system prompt and tool schemas, about what its first request carries.
inline constexpr std::uint64_t kClaudeCodePromptTokens = 20000;
// Claude Code's own default output limit for most models: never asked for more than this.
inline constexpr std::uint64_t kClaudeCodeOutputTokens = 32000;

struct ClaudeLimits {
  std::uint64_t max_output_tokens = 0;  // CLAUDE_CODE_MAX_OUTPUT_TOKENS
  std::uint64_t compact_window = 0;     // CLAUDE_CODE_AUTO_COMPACT_WINDOW: compact before the context is full
  std::optional<std::string> warning;   // the context is too small for Claude Code to work well
};

// A quarter of the context for output (at most 32000, at least 1024), so that a 32k context
// leaves 24k for the prompt; a context too small for Claude Code's own prompt comes with a warning.
ClaudeLimits claude_limits(std::uint64_t context_size);

// Claude Code's binary: $PENSIEVE_CLAUDE_BIN, else `claude` on PATH, in ~/.local/bin or
// ~/.claude/local (its own installers), or in npm's global prefix. The error says how to install it.
Result<std::filesystem::path> find_claude(const Environment& env);

struct ClaudeEndpoint {
  std::string base_url;  // http://host:port
  std::string auth_token;
  std::string model_id;  // the served model, by the name /v1/models gives it
  ClaudeLimits limits;
};

// Claude Code's environment: pointed at the endpoint with its token (ANTHROPIC_AUTH_TOKEN, sent
// as a Bearer token; ANTHROPIC_API_KEY is removed, since Claude Code would ask the user to approve
// it), every model slot naming the served model, non-essential traffic off, the limits set
// unless the user set them already.
void set_claude_environment(Environment& env, const ClaudeEndpoint& endpoint);

}  // namespace pensieve::cli
