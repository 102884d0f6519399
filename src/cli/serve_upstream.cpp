#include "cli/serve_upstream.hpp"

#include <signal.h>

#include <atomic>
#include <thread>

#include "api/memory_refusal.hpp"
#include "core/log.hpp"
#include "memory/request_admission.hpp"
#include "server/http_server.hpp"
#include "upstream/health_monitor.hpp"
#include "upstream/http_client.hpp"
#include "upstream/upstream_backend.hpp"
#include "upstream/upstream_pool.hpp"

namespace pensieve::cli {
namespace {

void log_line(const std::string& line) {
  core::log::info(line);
}

// The first model an upstream lists (GET /v1/models), asking each in turn.
Result<std::string> discover_model(upstream::HttpClient& client,
                                   const std::vector<upstream::UpstreamUrl>& urls,
                                   const upstream::HeaderList& headers) {
  std::string why;
  for (const auto& url : urls) {
    auto got = client.get(url, url.api_target("/models"), std::chrono::seconds(5), headers);
    if (!got) {
      why += (why.empty() ? "" : "; ") + url.text() + ": " + got.error().message;
      continue;
    }
    const auto body = nlohmann::json::parse(got->body, nullptr, false);
    if (got->status == 200 && body.is_object() && body.contains("data") && body["data"].is_array() &&
        !body["data"].empty() && body["data"][0].is_object() && body["data"][0].contains("id") &&
        body["data"][0]["id"].is_string()) {
      return body["data"][0]["id"].get<std::string>();
    }
    why += (why.empty() ? "" : "; ") + url.text() + ": GET /v1/models answered " +
           std::to_string(got->status) + " without a model";
  }
  return Error{ErrorCode::kIo,
               "no upstream named its model (" + why + "); start one, or give --upstream-model"};
}

}  // namespace

int run_upstream_serve(const UpstreamServeArgs& args) {
  std::vector<upstream::UpstreamUrl> urls;
  for (const auto& text : args.upstreams) {
    auto url = upstream::parse_upstream_url(text);
    if (!url) {
      core::log::error("pensieve serve: --upstream " + text + ": " + url.error().message);
      return 2;
    }
    urls.push_back(*url);
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // The front holds no model and no caches: its guard refuses bodies it could not hold, at
  // critical memory or when their size would not fit, and tells its tier on every answer.
  auto guard_config = memory_guard_config(args.memory);
  if (!guard_config) {
    core::log::error("pensieve serve: " + guard_config.error().message);
    return 2;
  }
  auto guard = memory::MemoryGuard::create(*guard_config);
  if (!guard) {
    core::log::error("pensieve serve: memory guard: " + guard.error().message);
    return 2;
  }
  auto admission = std::make_shared<memory::RequestAdmission>(**guard, memory::RequestCosts{});

  // The pool outlives the client: the client's last handlers (at its shutdown) may still
  // release a lease or ask the pool for another upstream.
  upstream::PoolOptions pool_options;
  pool_options.max_outstanding = args.max_outstanding;
  pool_options.max_waiting = args.max_waiting;
  upstream::UpstreamPool pool(urls, pool_options);
  upstream::HttpClient client;
  upstream::HeaderList key_headers;
  if (!args.key.empty()) {
    key_headers.emplace_back("authorization", "Bearer " + args.key);
    key_headers.emplace_back("x-api-key", args.key);
  }
  std::string model = args.upstream_model;
  if (model.empty()) {
    auto found = discover_model(client, urls, key_headers);
    if (!found) {
      core::log::error("pensieve serve: " + found.error().message);
      return 1;
    }
    model = *found;
  }
  upstream::HealthMonitorOptions monitor_options;
  monitor_options.interval =
      std::chrono::milliseconds(static_cast<std::int64_t>(args.health_interval_seconds * 1000.0));
  monitor_options.api_key = args.key;
  monitor_options.log = log_line;
  upstream::HealthMonitor monitor(pool, client, monitor_options);

  upstream::UpstreamBackendOptions backend_options;
  backend_options.upstream_model = model;
  backend_options.model.id = args.model_name.empty() ? model : args.model_name;
  backend_options.model.display_name = backend_options.model.id;
  backend_options.model.created_at = "1970-01-01T00:00:00Z";
  backend_options.key = args.key;
  upstream::UpstreamBackend backend(backend_options, pool, client);

  server::ServerHooks hooks;
  memory::MemoryGuard* g = guard->get();
  hooks.refuse_before_reading = [admission](std::uint64_t body_bytes) {
    return api::memory_refusal(admission->admit_body(body_bytes));
  };
  hooks.response_headers = [g](bool details) {
    const auto snapshot = g->snapshot();
    server::HeaderList headers{{"x-memory-status", memory::to_string(snapshot->tier)}};
    if (details) headers.emplace_back("x-available-memory-gb", memory::available_gb_header(*snapshot));
    return headers;
  };
  hooks.health = [g, &pool, model](bool details) {
    const bool accepting = g->accepting_requests();
    bool any_up = false;
    nlohmann::ordered_json upstreams = nlohmann::ordered_json::array();
    for (const auto& s : pool.states()) {
      any_up = any_up || s.up;
      upstreams.push_back({{"url", s.url}, {"up", s.up}, {"outstanding", s.outstanding}});
    }
    const bool ok = accepting && any_up;
    nlohmann::ordered_json body{{"status", ok ? "ok" : "degraded"}};
    if (details) {
      body["model"] = {{"id", model}, {"upstream", true}};
      body["upstreams"] = std::move(upstreams);
      body["memory"] = g->health_json();
    }
    return api::Reply{ok ? 200 : 503, body.dump()};
  };
  hooks.metrics = [g, &pool] { return g->prometheus_text() + pool.prometheus_text(); };
  hooks.log = log_line;

  server::ServerOptions options;
  options.host = args.host;
  options.port = args.port;
  options.api_keys = args.api_keys;
  options.insecure = args.insecure;
  options.ping_interval =
      std::chrono::milliseconds(static_cast<std::int64_t>(args.ping_interval_seconds * 1000.0));
  // Each request's worker waits for its upstream's answer to begin; more of them than for a
  // local model, whose own slots are the limit.
  options.worker_threads = std::max<std::size_t>(8, args.max_outstanding * urls.size() / 4);
  server::HttpServer http(options, backend, hooks);
  if (auto bound = http.bind(); !bound) {
    core::log::error("pensieve serve: " + bound.error().message);
    return 1;
  }
  std::string list;
  for (const auto& url : urls) list += (list.empty() ? "" : ", ") + url.text();
  log_line("serving " + backend_options.model.id + " from " + std::to_string(urls.size()) + " upstream(s) (" +
           list + ", model " + model + ") on http://" + args.host + ":" + std::to_string(http.port()));
  log_line(
      "upstream mode: count_tokens and a stream's first prompt count are estimates (about 4 bytes a "
      "token); final usage is the upstream's");

  std::atomic<bool> finished{false};
  std::thread signal_thread([&] {
    const timespec tick{0, 200'000'000};
    while (!finished) {
      if (sigtimedwait(&signals, nullptr, &tick) <= 0) continue;
      const auto busy = [&] { return http.in_flight() + backend.opening(); };
      log_line("shutting down: finishing " + std::to_string(busy()) + " request(s)");
      http.begin_drain();
      const auto grace_end =
          std::chrono::steady_clock::now() + std::chrono::seconds(args.shutdown_grace_seconds);
      while (busy() > 0 && std::chrono::steady_clock::now() < grace_end) {
        if (sigtimedwait(&signals, nullptr, &tick) > 0) break;
      }
      http.stop();
      return;
    }
  });
  http.serve();
  finished = true;
  signal_thread.join();
  (*guard)->stop();
  log_line("stopped");
  return 0;
}

}  // namespace pensieve::cli
