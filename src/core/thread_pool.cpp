#include "core/thread_pool.hpp"

#include <sched.h>

#include <fstream>
#include <set>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PENSIEVE_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define PENSIEVE_CPU_RELAX() asm volatile("yield")
#else
#define PENSIEVE_CPU_RELAX() ((void)0)
#endif

namespace pensieve::core {
namespace {

// About 50–100 µs of spinning: longer than the gap between two regions of one forward pass,
// far shorter than the gap between two requests.
constexpr int kSpinIterations = 20000;

template <typename T>
T spin_until_changed(const std::atomic<T>& value, T old) {
  for (int i = 0; i < kSpinIterations; ++i) {
    const T now = value.load(std::memory_order_acquire);
    if (now != old) return now;
    PENSIEVE_CPU_RELAX();
    // When there are more threads than cores, the thread we wait for may need this one's core.
    if (i % 256 == 255) std::this_thread::yield();
  }
  T now = value.load(std::memory_order_acquire);
  while (now == old) {
    value.wait(old, std::memory_order_acquire);
    now = value.load(std::memory_order_acquire);
  }
  return now;
}

}  // namespace

ThreadPool::ThreadPool(unsigned n_threads)
    : n_threads_(n_threads == 0 ? 1 : n_threads), states_(n_threads_ - 1) {
  workers_.reserve(n_threads_ - 1);
  for (unsigned t = 1; t < n_threads_; ++t) workers_.emplace_back([this, t] { worker_loop(t); });
}

ThreadPool::~ThreadPool() {
  stopping_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  generation_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::worker_loop(unsigned thread) {
  std::atomic<std::uint64_t>& state = states_[thread - 1].value;
  std::uint64_t seen = 0;
  for (;;) {
    seen = spin_until_changed(generation_, seen);
    if (stopping_.load(std::memory_order_acquire)) return;
    // Join the newest region unless the caller has already shut this thread out of it (then
    // the state names that region, or a later one).
    std::uint64_t before = state.load(std::memory_order_acquire);
    if ((before >> 2) >= seen) continue;
    if (!state.compare_exchange_strong(before, (seen << 2) | kJoined, std::memory_order_acq_rel)) continue;
    // Joined: the region cannot end before this thread says it is done, so job_ is its job.
    (*job_)(thread, n_threads_);
    state.store((seen << 2) | kDone, std::memory_order_release);
    state.notify_one();
  }
}

void ThreadPool::run_region(FunctionRef<void(unsigned, unsigned)> job) {
  if (n_threads_ == 1) {
    job(0, 1);
    return;
  }
  std::lock_guard lock(region_mutex_);
  job_ = &job;
  const std::uint64_t region = generation_.fetch_add(1, std::memory_order_acq_rel) + 1;
  generation_.notify_all();
  job(0, n_threads_);
  for (unsigned t = 1; t < n_threads_; ++t) {
    std::atomic<std::uint64_t>& state = states_[t - 1].value;
    std::uint64_t s = state.load(std::memory_order_acquire);
    if ((s >> 2) < region &&
        state.compare_exchange_strong(s, (region << 2) | kShutOut, std::memory_order_acq_rel)) {
      job(t, n_threads_);  // not yet running: its share is done here instead
      continue;
    }
    // It joined (the exchange failed because it did): wait for it to finish.
    while ((s & 3) != kDone) s = spin_until_changed(state, s);
  }
  job_ = nullptr;
}

void ThreadPool::run_on_all(FunctionRef<void(unsigned thread, unsigned n_threads)> job) { run_region(job); }

void ThreadPool::parallel_for(std::size_t n_tasks, FunctionRef<void(std::size_t task)> task) {
  if (n_tasks == 0) return;
  if (n_tasks == 1 || n_threads_ == 1) {
    for (std::size_t i = 0; i < n_tasks; ++i) task(i);
    return;
  }
  std::atomic<std::size_t> next{0};
  run_region([&](unsigned, unsigned) {
    for (;;) {
      const std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= n_tasks) return;
      task(i);
    }
  });
}

unsigned default_thread_count() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : n;
  }
  // Hyperthreads share a core's execution units: count distinct cores among the allowed CPUs.
  std::set<std::string> cores;
  unsigned logical = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    ++logical;
    std::ifstream siblings("/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/thread_siblings_list");
    std::string list;
    if (siblings && std::getline(siblings, list)) {
      cores.insert(list);
    } else {
      cores.insert("cpu" + std::to_string(cpu));
    }
  }
  const auto n = static_cast<unsigned>(cores.size());
  return n == 0 ? (logical == 0 ? 1 : logical) : n;
}

}  // namespace pensieve::core
