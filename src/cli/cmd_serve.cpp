// `pensieve serve`: loads a model and serves the Anthropic Messages API until SIGINT/SIGTERM.
// This file only parses flags and wires modules together; the behaviour lives in them.
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "api/chat_frontend.hpp"
#include "api/messages_service.hpp"
#include "cli/commands.hpp"
#include "cli/environment.hpp"
#include "cli/memory_options.hpp"
#include "cli/model_argument.hpp"
#include "cli/serve_banner.hpp"
#include "cli/serve_upstream.hpp"
#include "cli/test_model.hpp"
#include "core/log.hpp"
#include "core/thread_pool.hpp"
#include "engine/model_backend.hpp"
#include "engine/prompt_store.hpp"
#include "engine/scheduler.hpp"
#include "engine/serving_memory.hpp"
#include "gguf/reader.hpp"
#include "hub/model_ref.hpp"
#include "kernels/kv_cache.hpp"
#include "memory/byte_size.hpp"
#include "memory/estimate.hpp"
#include "memory/guard.hpp"
#include "memory/release.hpp"
#include "model/hyperparams.hpp"
#include "model/model.hpp"
#include "server/http_server.hpp"
#include "server/memory_wiring.hpp"

namespace pensieve::cli {
namespace {

struct ServeArgs {
  std::string model;
  bool pull = false;
  std::string host = "127.0.0.1";
  int port = 7777;
  std::string ctx_size = "0";  // 0: the model's trained context; "auto": the largest that fits
  std::size_t parallel = 4;
  unsigned threads = 0;  // 0: one per physical core
  std::string kv_type = "f16";
  std::size_t max_queue = 32;
  std::vector<std::string> api_keys;
  bool insecure = false;
  MemoryOptions memory;
  std::string model_name;
  std::string kv_budget;  // empty: one context per slot; "auto": what memory allows; or a size
  std::string cache_dir;  // empty: the user's cache folder; "off": no prompt cache on disk
  std::string cache_dir_size = "4GiB";
  int shutdown_grace_seconds = 10;
  double ping_interval_seconds = 2.0;
  std::uint32_t prompt_chunk = 256;
  std::string log_level = "info";
  std::string log_format = "text";
  // Upstream mode (cli/serve_upstream).
  std::vector<std::string> upstreams;
  std::string upstream_key;
  std::string upstream_model;
  std::size_t upstream_max_outstanding = 16;
  double upstream_max_waiting = 4;
};

UpstreamServeArgs upstream_args(const ServeArgs& args) {
  UpstreamServeArgs u;
  u.upstreams = args.upstreams;
  u.key = args.upstream_key;
  u.upstream_model = args.upstream_model;
  u.max_outstanding = args.upstream_max_outstanding;
  u.max_waiting = args.upstream_max_waiting;
  u.model_name = args.model_name;
  u.host = args.host;
  u.port = args.port;
  u.api_keys = args.api_keys;
  u.insecure = args.insecure;
  u.memory = args.memory;
  u.shutdown_grace_seconds = args.shutdown_grace_seconds;
  u.ping_interval_seconds = args.ping_interval_seconds;
  return u;
}

// What the server says as it goes; warnings and errors go to core::log's own levels.
void log_line(const std::string& line) {
  core::log::info(line);
}

// --cache-dir: the folder given, "off", or by default $XDG_CACHE_HOME/pensieve/prompts (else
// ~/.cache/pensieve/prompts). Null when off or when no folder can be named.
Result<std::unique_ptr<engine::PromptStore>> open_prompt_store(const ServeArgs& args,
                                                               engine::Backend& backend) {
  if (args.cache_dir == "off") return std::unique_ptr<engine::PromptStore>();
  std::filesystem::path dir = args.cache_dir;
  if (dir.empty()) {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    if (xdg != nullptr && *xdg == '/') {
      dir = std::filesystem::path(xdg) / "pensieve" / "prompts";
    } else if (home != nullptr && *home == '/') {
      dir = std::filesystem::path(home) / ".cache" / "pensieve" / "prompts";
    } else {
      core::log::warning("no prompt cache on disk: neither XDG_CACHE_HOME nor HOME is set (use --cache-dir)");
      return std::unique_ptr<engine::PromptStore>();
    }
  }
  auto budget = memory::parse_byte_size(args.cache_dir_size);
  if (!budget) return budget.error().with_context("--cache-dir-size");
  auto store = engine::PromptStore::open(
      backend,
      {.cache_dir = dir, .max_bytes = *budget, .warn = [](const std::string& m) { core::log::warning(m); }});
  if (!store) return store.error().with_context("--cache-dir");
  log_line("prompt cache: " + std::to_string((*store)->entries()) + " saved prefix(es), " +
           memory::format_bytes((*store)->bytes()) + " of " + memory::format_bytes(*budget) + " in " +
           (*store)->folder().string());
  return store;
}

std::string rfc3339_mtime(const std::string& path) {
  struct stat st {};
  std::time_t t = ::stat(path.c_str(), &st) == 0 ? st.st_mtime : 0;
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

int run_serve(ServeArgs args) {
  auto log_level = core::log::parse_level(args.log_level);
  auto log_format = core::log::parse_format(args.log_format);
  if (!log_level || !log_format) {
    core::log::error("pensieve serve: " + (log_level ? log_format.error() : log_level.error()).message);
    return 2;
  }
  core::log::configure(*log_level, *log_format);
  if (!args.upstreams.empty()) {
    if (!args.model.empty()) {
      core::log::error(
          "pensieve serve: --model and --upstream exclude each other: a model is served here, or "
          "the upstreams serve theirs");
      return 2;
    }
    return run_upstream_serve(upstream_args(args));
  }
  if (args.model.empty()) {
    core::log::error(
        "pensieve serve: --model is required (or --upstream URL, to serve from upstream servers)");
    return 2;
  }
  // After the log is set up, so that what it says about the model is in the log's format.
  auto resolved = hub::resolve_model(args.model, args.pull);
  if (!resolved) {
    core::log::error("pensieve serve: " + resolved.error().message);
    return 1;
  }
  if (!resolved->note.empty()) log_line(resolved->note);
  args.model = resolved->path;
  // Before any thread starts, so that none gets a heap arena the idle-time trim cannot empty.
  memory::use_one_heap_arena();
  // Signals are taken by one thread with sigwait; every other thread must have them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);  // save the prompt cache now
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto guard_config = memory_guard_config(args.memory);
  if (!guard_config) {
    core::log::error("pensieve serve: " + guard_config.error().message);
    return 2;
  }
  auto context = engine::parse_context_request(args.ctx_size);
  if (!context) {
    core::log::error("pensieve serve: " + context.error().message);
    return 2;
  }
  auto kv_type = kernels::parse_kv_type(args.kv_type);
  if (!kv_type) {
    log_line("pensieve serve: --kv-type: " + kv_type.error().message);
    return 2;
  }
  auto guard = memory::MemoryGuard::create(*guard_config);
  if (!guard) {
    log_line("pensieve serve: memory guard: " + guard.error().message);
    return 2;
  }

  // The whole configuration must fit before anything big is allocated. The weights are copied
  // into memory as they load (repacked for the kernels), so the memory available afterwards no
  // longer includes them: the check runs on the file's metadata first, and a model that cannot
  // fit is refused before it takes the machine's memory. The tokenizer and chat template come
  // from the metadata too, so that a file the API cannot serve fails before a long load.
  log_line("loading " + args.model);
  const unsigned threads = args.threads != 0 ? args.threads : core::default_thread_count();
  auto file = gguf::File::open(args.model);
  if (!file) {
    core::log::error("pensieve serve: " + file.error().message);
    return 1;
  }
  auto read = model::read_hyperparams(file->contents());
  if (!read) {
    core::log::error("pensieve serve: " + read.error().with_context(args.model).message);
    return 1;
  }
  const model::Hyperparams hp = std::move(*read);
  const std::uint64_t weights_bytes = engine::tensor_data_bytes(file->contents());
  auto frontend = api::ChatFrontend::from_gguf(file->contents());
  if (!frontend) {
    core::log::error("pensieve serve: " + frontend.error().message);
    return 1;
  }
  if (auto shape = kernels::check_kv_shape(*kv_type, hp.head_dim_k, hp.head_dim_v); !shape) {
    core::log::error("pensieve serve: " + shape.error().message);
    return 1;
  }
  const auto snapshot = (*guard)->refresh_now();
  const engine::MemoryBudget budget{snapshot->reading.available_known, snapshot->reading.available_bytes,
                                    snapshot->thresholds.warning_below};
  engine::SlotConfig slot{.kv_type = *kv_type, .threads = threads, .batch_tokens = args.prompt_chunk};
  if (!args.kv_budget.empty() && args.kv_budget != "auto") {
    auto bytes = memory::parse_byte_size(args.kv_budget);
    if (!bytes) {
      log_line("pensieve serve: --kv-budget: " + bytes.error().message);
      return 1;
    }
    slot.kv_budget_bytes = *bytes;
  }
  auto plan = engine::plan_serving(hp, weights_bytes, *context, args.parallel, budget, slot);
  if (plan && args.kv_budget == "auto") {
    // What memory allows once the weights and scratch are counted, keeping the warning reserve free.
    const std::uint64_t others = plan->estimate.total_bytes - plan->estimate.kv_bytes;
    if (!budget.known || budget.available_bytes <= budget.reserve_bytes + others) {
      log_line("pensieve serve: --kv-budget auto: " +
               std::string(budget.known ? "no memory is left for a KV cache after the weights and scratch ("
                                        : "available memory is unknown (") +
               memory::format_bytes(others) + "); give a size");
      return 1;
    }
    slot.kv_budget_bytes = budget.available_bytes - budget.reserve_bytes - others;
    plan = engine::plan_serving(hp, weights_bytes, *context, args.parallel, budget, slot);
  }
  if (!plan) {
    core::log::error("pensieve serve: " + plan.error().message);
    return 1;
  }
  if (!plan->checked) {
    std::string why =
        snapshot->reading.warnings.empty() ? "" : " (" + snapshot->reading.warnings.front() + ")";
    core::log::warning("available memory is unknown" + why + "; the model needs " +
                       memory::describe(plan->estimate) + ", and that cannot be checked");
  } else if (!plan->fit.fits) {
    core::log::error("pensieve serve: " + plan->fit.message);
    return 1;
  } else {
    log_line(plan->fit.message);
  }
  const std::uint64_t ctx = plan->ctx_size;
  const std::string memory_verdict =
      plan->checked ? plan->fit.message : "not checked: available memory is unknown";

  const auto load_start = std::chrono::steady_clock::now();
  auto last_line = load_start;
  const auto loading = [&](std::uint64_t done, std::uint64_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (done < total && now - last_line < std::chrono::seconds(2)) return;
    last_line = now;
    const double seconds = std::chrono::duration<double>(now - load_start).count();
    if (done < total) {
      log_line("loading weights: " + std::to_string(total > 0 ? done * 100 / total : 100) + "% (" +
               memory::format_bytes(done) + " of " + memory::format_bytes(total) + ")");
    } else {
      char took[32];
      std::snprintf(took, sizeof took, "%.1f s", seconds);
      log_line("weights ready: " + memory::format_bytes(total) + " in " + took);
    }
  };
  auto model = model::Model::load(std::move(*file), args.model, {.threads = threads, .on_progress = loading});
  if (!model) {
    core::log::error("pensieve serve: " + model.error().message);
    return 1;
  }
  log_line("compute: " + std::to_string((*model)->threads()) + " threads, " +
           std::string(kernels::name_of((*model)->kernels().isa)) + " kernels, " +
           std::string(kernels::name_of(*kv_type)) + " KV cache");

  const std::uint32_t pool_blocks = engine::kv_pool_blocks((*model)->hparams(), slot, ctx, args.parallel);
  auto backend =
      engine::ModelBackend::create(**model, static_cast<std::uint32_t>(ctx), *kv_type,
                                   engine::batch_rows(slot.batch_tokens, args.parallel), pool_blocks);
  if (!backend) {
    core::log::error("pensieve serve: " + backend.error().message);
    return 1;
  }
  auto store = open_prompt_store(args, **backend);
  if (!store) {
    core::log::error("pensieve serve: " + store.error().message);
    return 1;
  }
  engine::SchedulerOptions scheduler_options;
  scheduler_options.prompt_store = store->get();
  scheduler_options.prompt_chunk = slot.batch_tokens;
  scheduler_options.parallel = args.parallel;
  scheduler_options.max_queued = args.max_queue;
  scheduler_options.log = log_line;
  auto scheduler = engine::Scheduler::create(**backend, scheduler_options);
  if (!scheduler) {
    core::log::error("pensieve serve: " + scheduler.error().message);
    return 1;
  }
  (*guard)->mark_baseline();

  const auto name = (*model)->metadata().get_string("general.name");
  api::ModelInfo info;
  info.id = !args.model_name.empty() ? args.model_name
            : (name.ok() && *name)   ? std::string(**name)
                                     : std::filesystem::path(args.model).stem().string();
  info.display_name = info.id;
  info.created_at = rfc3339_mtime(args.model);
  api::MessagesService service(**frontend, **scheduler, info);

  server::MemoryWiring wiring{**guard,
                              **scheduler,
                              plan->figures,
                              ctx,
                              false,  // the KV pool takes memory as blocks are used
                              nlohmann::json{{"id", info.id},
                                             {"path", args.model},
                                             {"architecture", (*model)->hparams().architecture_name},
                                             {"context_size", ctx},
                                             {"parallel", args.parallel}}};
  auto hooks = server::wire_memory(wiring, service, log_line);

  server::ServerOptions options;
  options.host = args.host;
  options.port = args.port;
  options.api_keys = args.api_keys;
  options.insecure = args.insecure;
  options.ping_interval =
      std::chrono::milliseconds(static_cast<std::int64_t>(args.ping_interval_seconds * 1000.0));
  server::HttpServer http(options, service, hooks);
  if (auto bound = http.bind(); !bound) {
    core::log::error("pensieve serve: " + bound.error().message);
    return 1;
  }
  log_line("serving " + info.id + " on http://" + args.host + ":" + std::to_string(http.port()) +
           " (context " + std::to_string(ctx) + ", " + std::to_string(args.parallel) +
           " slots), a KV pool of " +
           std::to_string(std::uint64_t{pool_blocks} * model::KvPool::kBlockTokens) + " tokens");
  for (const auto& line : serve_banner({.model_id = info.id,
                          .model_path = args.model,
                          .architecture = (*model)->hparams().architecture_name,
                          .context = ctx,
                          .slots = args.parallel,
                          .kv_pool_tokens = std::uint64_t{pool_blocks} * model::KvPool::kBlockTokens,
                          .kv_type = std::string(kernels::name_of(*kv_type)),
                          .threads = (*model)->threads(),
                          .isa = std::string(kernels::name_of((*model)->kernels().isa)),
                          .memory = memory_verdict,
                          .host = args.host,
                          .port = http.port(),
                          .needs_key = !args.api_keys.empty(),
                          .test_model_notice = test_model_notice((*model)->metadata())})) {
    log_line(line);
  }

  std::atomic<bool> finished{false};
  std::thread signal_thread([&] {
    const timespec tick{0, 200'000'000};
    auto wait_signal = [&](std::chrono::steady_clock::duration budget) {
      const auto until = std::chrono::steady_clock::now() + budget;
      while (!finished && std::chrono::steady_clock::now() < until) {
        const int signal = sigtimedwait(&signals, nullptr, &tick);
        if (signal == SIGUSR1) {
          log_line("saving the prompt cache (SIGUSR1)");
          (*scheduler)->save_prompt_cache();
        } else if (signal > 0) {
          return true;
        }
      }
      return false;
    };
    while (!finished) {
      if (!wait_signal(std::chrono::hours(24 * 365))) continue;
      log_line("shutting down: finishing " + std::to_string(http.in_flight()) +
               " request(s) (signal again to cancel them)");
      http.begin_drain();
      const auto grace_end =
          std::chrono::steady_clock::now() + std::chrono::seconds(args.shutdown_grace_seconds);
      bool hurry = false;
      while (!hurry && http.in_flight() > 0 && std::chrono::steady_clock::now() < grace_end) {
        hurry = wait_signal(std::chrono::milliseconds(100));
      }
      // Whatever is still running ends with an error event rather than a cut-off stream.
      (*scheduler)->shutdown();
      const auto flush_end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      while (http.in_flight() > 0 && std::chrono::steady_clock::now() < flush_end) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      http.stop();
      return;
    }
  });
  http.serve();
  finished = true;
  signal_thread.join();
  (*scheduler)->shutdown();
  (*guard)->stop();
  if (*store) {
    log_line("prompt cache: " + std::to_string((*store)->entries()) + " prefix(es), " +
             memory::format_bytes((*store)->bytes()) + " in " + (*store)->folder().string());
  }
  log_line("stopped");
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("serve", "Serve the Anthropic Messages API on a model");
  auto args = std::make_shared<ServeArgs>();
  cmd->add_option("--model,-m", args->model, kModelArgumentHelp);
  add_pull_flag(*cmd, args->pull);
  cmd->add_option("--host", args->host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", args->port, "Port to listen on")->capture_default_str();
  cmd->add_option("--ctx-size,-c", args->ctx_size,
                  "Context size per slot in tokens; 0 = the model's, auto = the largest that fits in memory")
      ->capture_default_str();
  cmd->add_option("--threads,-t", args->threads, "Compute threads (default: one per physical core)");
  cmd->add_option("--kv-type", args->kv_type,
                  "KV cache element type: f16, q8_0 (34 bytes per 32 values) or f32")
      ->capture_default_str();
  cmd->add_option("--parallel", args->parallel, "Generations computed at once (slots)")
      ->capture_default_str();
  cmd->add_option("--max-queue", args->max_queue, "Requests waiting for a slot before 529 overloaded_error")
      ->capture_default_str();
  cmd->add_option("--api-key", args->api_keys, "Accepted API key (x-api-key or Bearer); repeatable");
  cmd->add_flag("--insecure", args->insecure, "Allow a non-loopback address without an API key");
  add_memory_options(*cmd, args->memory, true);
  cmd->add_option("--model-name", args->model_name,
                  "Model id reported by /v1/models (default: general.name)");
  cmd->add_option("--kv-budget", args->kv_budget,
                  "Memory of the KV cache pool all requests and cached prompts share, e.g. 6GiB, or auto "
                  "(what available memory allows); default one --ctx-size per slot");
  cmd->add_option("--cache-dir", args->cache_dir,
                  "Folder for prompt caches kept across restarts (saved at shutdown and on SIGUSR1); "
                  "default $XDG_CACHE_HOME/pensieve/prompts, \"off\" for none");
  cmd->add_option("--cache-dir-size", args->cache_dir_size,
                  "Most disk space the saved prompt caches of one model take, e.g. 4GiB")
      ->capture_default_str();
  cmd->add_option("--shutdown-grace", args->shutdown_grace_seconds,
                  "Seconds in-flight requests get to finish after SIGINT/SIGTERM")
      ->capture_default_str();
  cmd->add_option("--prompt-chunk", args->prompt_chunk,
                  "Prompt tokens computed per step, shared by the prompts being read: larger is faster "
                  "prompt processing, smaller is shorter pauses for the streams generating meanwhile")
      ->check(CLI::Range(16, 4096))
      ->capture_default_str();
  cmd->add_option("--ping-interval", args->ping_interval_seconds,
                  "Seconds between SSE ping events while a stream has nothing else to send")
      ->check(CLI::Range(0.05, 5.0))
      ->capture_default_str();
  cmd->add_option("--log-level", args->log_level, "What the log says: debug, info, warning or error")
      ->capture_default_str();
  cmd->add_option("--log-format", args->log_format,
                  "text (a timestamped line each) or json (one object per line: time, level, message)")
      ->capture_default_str();
  cmd->add_option("--upstream", args->upstreams,
                  "Serve from this OpenAI-compatible server (vLLM, SGLang, pensieve) instead of a local "
                  "model, e.g. http://10.0.0.5:8000; repeatable (balanced, with failover)");
  cmd->add_option("--upstream-key", args->upstream_key, "API key sent to the upstreams");
  cmd->add_option("--upstream-model", args->upstream_model,
                  "Model id asked of the upstreams (default: the first one they list)");
  cmd->add_option("--upstream-max-outstanding", args->upstream_max_outstanding,
                  "Requests in flight per upstream before 529 (the limit when an upstream has no metrics)")
      ->capture_default_str();
  cmd->add_option("--upstream-max-waiting", args->upstream_max_waiting,
                  "Requests queued at an upstream (from its Prometheus metrics) before 529")
      ->capture_default_str();
  group_options(
      *cmd,
      {{"Model", {"model", "pull", "model-name"}},
       {"Upstream mode",
        {"upstream", "upstream-key", "upstream-model", "upstream-max-outstanding", "upstream-max-waiting"}},
       {"Listening", {"host", "port", "api-key", "insecure", "shutdown-grace", "ping-interval"}},
       {"Compute", {"threads", "ctx-size", "parallel", "max-queue", "prompt-chunk", "kv-type", "kv-budget"}},
       {"Prompt cache on disk", {"cache-dir", "cache-dir-size"}},
       {"Logging", {"log-level", "log-format"}}});
  cmd->callback([args, &exit_code] { exit_code = run_serve(*args); });
}

}  // namespace pensieve::cli
