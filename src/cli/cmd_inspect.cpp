#include <cstdint>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "cli/commands.hpp"
#include "cli/memory_options.hpp"
#include "cli/model_argument.hpp"
#include "engine/serving_memory.hpp"
#include "gguf/reader.hpp"
#include "kernels/kv_cache.hpp"
#include "memory/byte_size.hpp"
#include "model/hyperparams.hpp"

namespace pensieve::cli {
namespace {

// The context and slot defaults are serve's, so a bare `inspect MODEL` shows what a bare
// `serve --model MODEL` will check and allocate.
struct InspectOptions {
  std::string model_path;
  bool pull = false;
  std::string ctx_size = "0";  // 0: the training context; auto: the largest that fits
  std::uint64_t parallel = 4;
  std::string kv_type = "f16";
  MemoryOptions memory;
};

std::string human_bytes(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 4) {
    value /= 1024.0;
    ++unit;
  }
  std::ostringstream s;
  s << std::fixed << std::setprecision(unit == 0 ? 0 : 1) << value << " " << kUnits[unit];
  return s.str();
}

void print_row(std::string_view label, const std::string& value) {
  std::cout << "  " << std::left << std::setw(22) << label << value << "\n";
}

void print_hyperparams(const model::Hyperparams& hp) {
  std::cout << "hyperparameters:\n";
  print_row("vocabulary", std::to_string(hp.n_vocab));
  print_row("embedding", std::to_string(hp.n_embd));
  print_row("layers", std::to_string(hp.n_layer));
  print_row("heads (q / kv)", std::to_string(hp.n_head) + " / " + std::to_string(hp.n_head_kv));
  print_row("head dim (k / v)", std::to_string(hp.head_dim_k) + " / " + std::to_string(hp.head_dim_v));
  if (hp.is_moe()) {
    print_row("experts (used / all)", std::to_string(hp.n_expert_used) + " / " + std::to_string(hp.n_expert));
    print_row("expert feed-forward", std::to_string(hp.n_ff_expert));
  } else {
    print_row("feed-forward", std::to_string(hp.n_ff));
  }
  print_row("training context", hp.n_ctx_train ? std::to_string(hp.n_ctx_train) : "(not stated)");
  std::ostringstream rope;
  rope << hp.n_rot << " dims, base " << hp.rope_freq_base << ", "
       << (hp.rope_style == kernels::RopeStyle::kNormal ? "normal" : "neox") << " layout";
  if (hp.rope_scaling == model::RopeScaling::kLinear) rope << ", linear scaling x" << hp.rope_scaling_factor;
  print_row("rope", rope.str());
  std::ostringstream eps;
  eps << hp.rms_norm_eps;
  print_row("rms norm epsilon", eps.str());
  if (hp.sliding_window) print_row("sliding window", std::to_string(hp.sliding_window));
}

// The same plan `pensieve serve` makes before it allocates: engine::plan_serving against the
// memory guard's reading, with the warning threshold kept free.
int print_memory_plan(const InspectOptions& options, const model::Hyperparams& hp,
                      std::uint64_t weights_bytes) {
  auto context = engine::parse_context_request(options.ctx_size);
  auto config = memory_guard_config(options.memory);
  if (!context || !config) {
    std::cerr << "pensieve inspect: " << (!context ? context.error() : config.error()).message << "\n";
    return 2;
  }
  auto kv_type = kernels::parse_kv_type(options.kv_type);
  if (!kv_type) {
    std::cerr << "pensieve inspect: --kv-type: " << kv_type.error().message << "\n";
    return 2;
  }
  config->start_sampler = false;
  auto guard = memory::MemoryGuard::create(*config);
  if (!guard) {
    std::cerr << "pensieve inspect: memory guard: " << guard.error().message << "\n";
    return 2;
  }
  const auto snapshot = (*guard)->snapshot();
  const engine::MemoryBudget budget{snapshot->reading.available_known, snapshot->reading.available_bytes,
                                    snapshot->thresholds.warning_below};
  auto plan =
      engine::plan_serving(hp, weights_bytes, *context, options.parallel, budget, {.kv_type = *kv_type});
  if (!plan) {
    std::cerr << "pensieve inspect: " << plan.error().message << "\n";
    return 1;
  }
  const memory::LoadEstimate& e = plan->estimate;
  std::cout << "memory for " << e.plan.parallel << " sequence(s) of " << e.plan.ctx_size << " tokens:\n";
  print_row("weights", memory::format_bytes(e.weights_bytes));
  print_row("kv cache", memory::format_bytes(e.kv_bytes) + " (" + memory::format_bytes(e.kv_bytes_per_token) +
                            " per token, " + std::string(kernels::name_of(*kv_type)) + ")");
  print_row("scratch", memory::format_bytes(e.scratch_bytes));
  print_row("total", memory::format_bytes(e.total_bytes) + " (" + std::to_string(e.total_bytes) + " bytes)");
  if (!plan->checked) {
    print_row("fits", "unknown: no memory reading" + (snapshot->reading.warnings.empty()
                                                          ? ""
                                                          : " (" + snapshot->reading.warnings.front() + ")"));
    return 0;
  }
  print_row("available", memory::format_bytes(plan->fit.available_bytes) + ", of which " +
                             memory::format_bytes(plan->fit.reserve_bytes) + " kept free");
  print_row("fits", plan->fit.fits ? "yes" : "no");
  if (!plan->fit.fits) std::cout << plan->fit.message << "\n";
  return 0;
}

int run_inspect(const InspectOptions& options) {
  auto file = gguf::File::open(options.model_path);
  if (!file) {
    std::cerr << "pensieve inspect: " << file.error().message << "\n";
    return 1;
  }
  const auto& c = file->contents();
  auto arch = c.get_string("general.architecture");
  std::cout << "file:          " << options.model_path << "\n";
  std::cout << "file size:     " << file->file_size() << " bytes (" << human_bytes(file->file_size())
            << ")\n";
  std::cout << "gguf version:  " << c.version << "\n";
  std::cout << "architecture:  " << (arch.ok() && *arch ? std::string(**arch) : "(unknown)") << "\n";
  std::cout << "metadata keys: " << c.metadata.size() << "\n";
  std::map<std::string_view, std::size_t> by_type;
  std::uint64_t tensor_bytes = 0;
  for (const auto& t : c.tensors) {
    ++by_type[tensor::name_of(t.type)];
    tensor_bytes += t.data.size();
  }
  std::cout << "tensors:       " << c.tensors.size() << " (";
  const char* sep = "";
  for (const auto& [name, n] : by_type) {
    std::cout << sep << name << ": " << n;
    sep = ", ";
  }
  std::cout << ")\n";

  auto hp = model::read_hyperparams(c);
  if (!hp) {
    // The file is readable but not runnable; say why, and fail so scripts notice.
    std::cerr << "pensieve inspect: cannot run this model: " << hp.error().message << "\n";
    return 1;
  }
  print_hyperparams(*hp);

  return print_memory_plan(options, *hp, engine::tensor_data_bytes(c));
}

}  // namespace

void add_inspect_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("inspect", "Print a model's metadata, tensors and memory needs");
  auto options = std::make_shared<InspectOptions>();
  cmd->add_option("model", options->model_path, kModelArgumentHelp)->required();
  add_pull_flag(*cmd, options->pull);
  cmd->add_option("--ctx-size", options->ctx_size,
                  "Context size per slot for the memory estimate, as for serve: 0 = the model's, auto = the "
                  "largest that fits")
      ->capture_default_str();
  cmd->add_option("--parallel", options->parallel, "Slots, as for serve")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--kv-type", options->kv_type, "KV cache element type, as for serve: f16, q8_0 or f32")
      ->capture_default_str();
  add_memory_options(*cmd, options->memory, false);
  cmd->callback([options, &exit_code] {
    if (!resolve_model_argument("inspect", options->model_path, options->pull)) {
      exit_code = 1;
      return;
    }
    exit_code = run_inspect(*options);
  });
}

}  // namespace pensieve::cli
