#include "mixed_prompt.hpp"

#include <cstdint>
#include <string_view>

namespace pensieve::bench {
namespace {

// A fixed-seed generator whose output is the same on every platform (unlike <random>'s
// distributions), so the benchmark input never changes.
class SplitMix {
 public:
  explicit SplitMix(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
  // Small indices far more often than large ones, roughly as words occur in text.
  std::size_t skewed(std::size_t n) {
    const std::size_t a = below(n), b = below(n);
    return a < b ? a : b;
  }

 private:
  std::uint64_t state_;
};

constexpr std::string_view kWords[] = {
    "the", "of", "and", "to", "a", "in", "is", "you", "that", "it", "for", "with", "file", "when", "tool",
    "use", "user", "be", "this", "not", "should", "code", "are", "or", "on", "if", "as", "can", "any",
    "must", "command", "path", "before", "changes", "always", "never", "task", "output", "run", "test",
    "instead", "directory", "only", "make", "sure", "read", "write", "edit", "search", "results",
    "function", "project", "existing", "request", "response", "parameters", "description", "optional",
    "required", "important", "example", "following", "without", "explicitly", "asked", "information",
    "concise", "repository", "conventions", "libraries", "dependencies", "security", "malicious",
    "commit", "branch", "message", "context", "background", "parallel", "multiple", "independent",
    "verify", "solution", "possible", "implementation", "understand", "codebase", "absolute", "relative",
    "Claude", "Bash", "Grep", "Glob", "TodoWrite", "WebFetch", "NotebookEdit", "API", "JSON", "URL",
};

constexpr std::string_view kTypes[] = {"string", "number", "integer", "boolean", "array", "object"};

void sentence(SplitMix& rng, std::string& out) {
  const std::size_t n = 6 + rng.below(14);
  for (std::size_t i = 0; i < n; ++i) {
    std::string_view w = kWords[rng.skewed(std::size(kWords))];
    if (i == 0) {
      out.push_back(static_cast<char>(w[0] >= 'a' && w[0] <= 'z' ? w[0] - 32 : w[0]));
      out.append(w.substr(1));
    } else {
      out.push_back(' ');
      if (rng.below(20) == 0) out.push_back('`');
      out.append(w);
      if (rng.below(20) == 0) out.push_back('`');
      if (rng.below(12) == 0) out.push_back(',');
    }
  }
  out.append(rng.below(6) == 0 ? ": " : ". ");
}

void tool_schema(SplitMix& rng, std::string& out) {
  out.append("{\"name\": \"");
  out.append(kWords[rng.below(std::size(kWords))]);
  out.append("_");
  out.append(kWords[rng.below(std::size(kWords))]);
  out.append("\", \"description\": \"");
  sentence(rng, out);
  sentence(rng, out);
  out.append("\", \"input_schema\": {\"type\": \"object\", \"properties\": {");
  const std::size_t props = 2 + rng.below(5);
  for (std::size_t i = 0; i < props; ++i) {
    if (i) out.append(", ");
    out.append("\"");
    out.append(kWords[rng.skewed(std::size(kWords))]);
    out.append("_");
    out.append(kWords[rng.skewed(std::size(kWords))]);
    out.append("\": {\"type\": \"");
    out.append(kTypes[rng.below(std::size(kTypes))]);
    out.append("\", \"description\": \"");
    sentence(rng, out);
    out.append("\"}");
  }
  out.append("}, \"required\": [\"");
  out.append(kWords[rng.skewed(std::size(kWords))]);
  out.append("\"], \"additionalProperties\": false, \"$schema\": \"http://json-schema.org/draft-07/schema#\"}}\n");
}

void code_block(SplitMix& rng, std::string& out) {
  const std::string_view name = kWords[rng.below(std::size(kWords))];
  out.append("```python\ndef ");
  out.append(name);
  out.append("_handler(request, timeout=");
  out.append(std::to_string(10 + rng.below(990)));
  out.append("):\n    \"\"\"");
  sentence(rng, out);
  out.append("\"\"\"\n    results = []\n    for index, item in enumerate(request.items):\n");
  out.append("        if item.");
  out.append(kWords[rng.skewed(std::size(kWords))]);
  out.append(" is None or index >= ");
  out.append(std::to_string(rng.below(100000)));
  out.append(":\n            continue\n        results.append({\"id\": item.id, \"value\": item.value * ");
  out.append(std::to_string(rng.below(1000)));
  out.append(".5})\n    return results  # 0x");
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 8; ++i) out.push_back(kHex[rng.below(16)]);
  out.append("\n```\n\n");
}

}  // namespace

std::string make_mixed_prompt(std::size_t target_bytes) {
  SplitMix rng(20260101);
  std::string out;
  out.reserve(target_bytes + 4096);
  while (out.size() < target_bytes) {
    switch (rng.below(4)) {
      case 0:
      case 1:
        tool_schema(rng, out);
        break;
      case 2:
        for (int i = 0, n = 2 + static_cast<int>(rng.below(5)); i < n; ++i) sentence(rng, out);
        out.append("\n\n");
        break;
      default:
        code_block(rng, out);
        break;
    }
  }
  out.resize(target_bytes);
  return out;
}

}  // namespace pensieve::bench
