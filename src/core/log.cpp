#include "core/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

namespace pensieve::core::log {
namespace {

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarning:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

// The formats put the whole line in the message (JSON needs the message escaped, which a pattern
// cannot do), so the pattern only adds the time where text wants it.
struct Logger {
  std::shared_ptr<spdlog::logger> logger;
  Format format = Format::kText;

  Logger()
      : logger(
            std::make_shared<spdlog::logger>("pensieve", std::make_shared<spdlog::sinks::stderr_sink_mt>())) {
    apply(Level::kInfo, Format::kText);
    // Every line reaches stderr at once: a crash or a kill must not eat the lines before it.
    logger->flush_on(spdlog::level::trace);
  }

  void apply(Level level, Format f) {
    format = f;
    logger->set_level(to_spdlog(level));
    logger->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        f == Format::kText ? "%Y-%m-%dT%H:%M:%SZ %v" : "%v", spdlog::pattern_time_type::utc));
  }
};

Logger& the_logger() {
  static Logger logger;
  return logger;
}

std::string iso_time_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(ms));
  return text;
}

}  // namespace

Result<Level> parse_level(std::string_view name) {
  if (name == "debug") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warning" || name == "warn") return Level::kWarning;
  if (name == "error") return Level::kError;
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown log level '" + std::string(name) + "' (debug, info, warning or error)");
}

Result<Format> parse_format(std::string_view name) {
  if (name == "text") return Format::kText;
  if (name == "json") return Format::kJson;
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown log format '" + std::string(name) + "' (text or json)");
}

const char* name_of(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "info";
}

void configure(Level level, Format format) {
  the_logger().apply(level, format);
}

bool enabled(Level level) {
  return the_logger().logger->should_log(to_spdlog(level));
}

void write(Level level, std::string_view message) {
  Logger& l = the_logger();
  if (!l.logger->should_log(to_spdlog(level))) return;
  if (l.format == Format::kJson) {
    const nlohmann::ordered_json line{
        {"time", iso_time_now()}, {"level", name_of(level)}, {"message", message}};
    l.logger->log(to_spdlog(level), line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  if (level == Level::kInfo) {
    l.logger->log(to_spdlog(level), message);
  } else {
    l.logger->log(to_spdlog(level), std::string(name_of(level)) + ": " + std::string(message));
  }
}

}  // namespace pensieve::core::log
