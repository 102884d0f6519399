// core/log: the one channel pensieve logs through (stderr), so that an operator chooses in one
// place how much is said (--log-level) and in what form (--log-format): text lines a person reads
// (`2026-11-29T12:20:41Z warning: …`, UTC), or one JSON object per line for a log collector
// ({"time": …, "level": …, "message": …}). Safe to call from any thread; lines never interleave.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace pensieve::core::log {

enum class Level : std::uint8_t { kDebug, kInfo, kWarning, kError };
enum class Format : std::uint8_t { kText, kJson };

// "debug", "info", "warning" (or "warn"), "error"; "text", "json".
Result<Level> parse_level(std::string_view name);
Result<Format> parse_format(std::string_view name);
const char* name_of(Level level);

// Before this the log says info and above, as text.
void configure(Level level, Format format);
bool enabled(Level level);

void write(Level level, std::string_view message);
inline void debug(std::string_view message) {
  write(Level::kDebug, message);
}
inline void info(std::string_view message) {
  write(Level::kInfo, message);
}
inline void warning(std::string_view message) {
  write(Level::kWarning, message);
}
inline void error(std::string_view message) {
  write(Level::kError, message);
}

}  // namespace pensieve::core::log
