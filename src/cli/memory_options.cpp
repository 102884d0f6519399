#include "cli/memory_options.hpp"

namespace pensieve::cli {
namespace {

void add_guard_options(CLI::App& command, MemoryOptions& o, bool sampling) {
  command
      .add_option("--memory-source", o.source, "Memory readings: proc, or file:PATH (a meminfo-format file)")
      ->capture_default_str();
  command
      .add_option("--memory-warning", o.warning,
                  "Tier 'warning' below this much available memory (e.g. 2GiB, or 25% of the total); "
                  "also what the load-time check keeps free")
      ->capture_default_str();
  command.add_option("--memory-critical", o.critical, "Tier 'critical' (new requests get 503) below this")
      ->capture_default_str();
  command
      .add_option("--memory-emergency", o.emergency,
                  "Tier 'emergency' (running generations are cancelled, newest first) below this")
      ->capture_default_str();
  command
      .add_option("--memory-hysteresis", o.hysteresis,
                  "How far above a threshold memory must rise before a better tier returns")
      ->capture_default_str();
  if (!sampling) return;
  command.add_option("--memory-interval", o.interval_ms, "Milliseconds between memory readings")
      ->check(CLI::Range(10, 60000))
      ->capture_default_str();
  command.add_flag("--memory-refuse-unknown", o.refuse_when_unknown,
                   "Refuse requests (503) while memory readings fail, instead of admitting them");
}

}  // namespace

void add_memory_options(CLI::App& command, MemoryOptions& o, bool sampling) {
  add_guard_options(command, o, sampling);
  for (CLI::Option* option : command.get_options()) {
    const auto& names = option->get_lnames();
    if (!names.empty() && names.front().starts_with("memory-")) option->group("Memory guard");
  }
}

Result<memory::MemoryGuardConfig> memory_guard_config(const MemoryOptions& o) {
  memory::MemoryGuardConfig config;
  auto source = memory::parse_memory_source(o.source);
  if (!source) return source.error().with_context("--memory-source");
  config.reader.source = *source;
  struct Threshold {
    const char* flag;
    const std::string& text;
    memory::SizeSpec& into;
  };
  const Threshold thresholds[] = {{"--memory-warning", o.warning, config.thresholds.warning_below},
                                  {"--memory-critical", o.critical, config.thresholds.critical_below},
                                  {"--memory-emergency", o.emergency, config.thresholds.emergency_below},
                                  {"--memory-hysteresis", o.hysteresis, config.thresholds.hysteresis}};
  for (const Threshold& t : thresholds) {
    auto spec = memory::parse_size_spec(t.text);
    if (!spec) return spec.error().with_context(t.flag);
    t.into = *spec;
  }
  PENSIEVE_TRY(memory::validate(config.thresholds));
  config.interval = std::chrono::milliseconds(o.interval_ms);
  config.admission.refuse_when_unknown = o.refuse_when_unknown;
  return config;
}

}  // namespace pensieve::cli
