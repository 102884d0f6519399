// Memory guard costs on the request path (admission, snapshot load) and in the sampler
// (one full refresh of the real /proc and cgroup files of this machine).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstring>
#include <memory>

#include "memory/admission.hpp"
#include "memory/estimate.hpp"
#include "memory/guard.hpp"
#include "memory/request_admission.hpp"
#include "memory/sampler.hpp"

namespace pensieve::memory {
namespace {

MemorySnapshot warning_snapshot() {
  MemorySnapshot s;
  s.reading.available_known = true;
  s.reading.available_bytes = 1536 * kMiB;
  s.reading.total_bytes = 16 * kGiB;
  s.thresholds = resolve(ThresholdConfig{}, s.reading.total_bytes);
  s.tier = classify(s.reading.available_bytes, s.thresholds);
  return s;
}

// The pure decision, admitted (no message is built).
void BM_DecideAdmission_Admit(benchmark::State& state) {
  const MemorySnapshot snapshot = warning_snapshot();
  AdmissionPolicy policy;
  policy.process_baseline_bytes = 4 * kGiB;
  std::uint64_t needed = 256 * kMiB;
  for (auto _ : state) {
    benchmark::DoNotOptimize(needed);
    auto d = decide_admission(snapshot, needed, policy);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_DecideAdmission_Admit);

// A refusal builds the human message: allowed to cost more, it ends the request.
void BM_DecideAdmission_Refuse(benchmark::State& state) {
  const MemorySnapshot snapshot = warning_snapshot();
  std::uint64_t needed = kGiB;
  for (auto _ : state) {
    benchmark::DoNotOptimize(needed);
    auto d = decide_admission(snapshot, needed, AdmissionPolicy{});
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_DecideAdmission_Refuse);

// What the server calls: latest snapshot (atomic shared_ptr load) + decision + counter, while
// the background sampler refreshes every 200 ms. Threads show contention on the shared_ptr.
std::unique_ptr<MemoryGuard>& shared_guard() {
  static std::unique_ptr<MemoryGuard> guard = [] {
    MemoryGuardConfig config;
    config.interval = std::chrono::milliseconds(200);
    return std::move(MemoryGuard::create(config)).value();
  }();
  return guard;
}

void BM_GuardAdmit(benchmark::State& state) {
  MemoryGuard& guard = *shared_guard();
  std::uint64_t needed = 64 * kMiB;
  for (auto _ : state) {
    benchmark::DoNotOptimize(needed);
    auto d = guard.admit(needed);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_GuardAdmit)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

// The server's whole admission check (memory/request_admission): the request's estimate from the
// model's figures, then the guard's decision. Qwen3-8B-like figures, 2000 prompt tokens.
void BM_RequestAdmission(benchmark::State& state) {
  MemoryGuard& guard = *shared_guard();
  ModelFigures figures;
  figures.n_layers = 36;
  figures.n_heads = 32;
  figures.n_kv_heads = 8;
  figures.head_dim_k = figures.head_dim_v = 128;
  figures.n_embd = 4096;
  figures.n_ff = 12288;
  figures.n_vocab = 151936;
  figures.n_ctx_train = 40960;
  RequestAdmission admission(guard, {figures, 32768, /*kv_preallocated=*/true});
  std::uint64_t prompt = 2000;
  for (auto _ : state) {
    benchmark::DoNotOptimize(prompt);
    auto d = admission.admit_request(prompt, 4096);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_RequestAdmission)->Threads(1)->Threads(2)->UseRealTime();

void BM_SnapshotLoad_AtomicSharedPtr(benchmark::State& state) {
  MemoryGuard& guard = *shared_guard();
  for (auto _ : state) {
    auto s = guard.snapshot();
    benchmark::DoNotOptimize(s->reading.available_bytes);
  }
}
BENCHMARK(BM_SnapshotLoad_AtomicSharedPtr)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

// The alternative we weighed: a seqlock over the few numbers admission needs. Readers write
// nothing shared, so they cannot contend with each other.
struct AdmissionFigures {
  std::uint64_t available, total, critical_below, tier;
};
class SeqlockFigures {
 public:
  void store(const AdmissionFigures& f) {
    const std::uint64_t seq = seq_.load(std::memory_order_relaxed);
    seq_.store(seq + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    words_[0].store(f.available, std::memory_order_relaxed);
    words_[1].store(f.total, std::memory_order_relaxed);
    words_[2].store(f.critical_below, std::memory_order_relaxed);
    words_[3].store(f.tier, std::memory_order_relaxed);
    seq_.store(seq + 2, std::memory_order_release);
  }
  AdmissionFigures load() const {
    while (true) {
      const std::uint64_t before = seq_.load(std::memory_order_acquire);
      AdmissionFigures f{words_[0].load(std::memory_order_relaxed), words_[1].load(std::memory_order_relaxed),
                         words_[2].load(std::memory_order_relaxed),
                         words_[3].load(std::memory_order_relaxed)};
      std::atomic_thread_fence(std::memory_order_acquire);
      if ((before & 1) == 0 && seq_.load(std::memory_order_relaxed) == before) return f;
    }
  }

 private:
  std::atomic<std::uint64_t> seq_{0};
  std::atomic<std::uint64_t> words_[4]{};
};

SeqlockFigures& shared_seqlock() {
  static SeqlockFigures figures;
  static const bool stored = (figures.store({1536 * kMiB, 16 * kGiB, kGiB, 1}), true);
  (void)stored;
  return figures;
}

void BM_SnapshotLoad_Seqlock(benchmark::State& state) {
  const SeqlockFigures& figures = shared_seqlock();
  for (auto _ : state) {
    auto f = figures.load();
    benchmark::DoNotOptimize(f);
  }
}
BENCHMARK(BM_SnapshotLoad_Seqlock)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

// One sampler refresh on this machine's real files: meminfo, every cgroup level, status,
// vmstat, PSI; then tier, snapshot allocation and publication.
void BM_SamplerRefresh(benchmark::State& state) {
  const ReaderConfig real_filesystem;
  MemorySampler sampler(MemoryReader(real_filesystem), ThresholdConfig{}, std::chrono::milliseconds(200));
  for (auto _ : state) {
    auto s = sampler.refresh_now();
    benchmark::DoNotOptimize(s);
  }
  state.counters["cgroup_levels"] = static_cast<double>(MemoryReader(real_filesystem).cgroup_levels().size());
}
BENCHMARK(BM_SamplerRefresh)->Unit(benchmark::kMicrosecond);

void BM_ReaderRead(benchmark::State& state) {
  const ReaderConfig real_filesystem;
  MemoryReader reader(real_filesystem);
  for (auto _ : state) {
    auto r = reader.read();
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ReaderRead)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace pensieve::memory
