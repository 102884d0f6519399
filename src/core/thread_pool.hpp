// core/thread_pool: persistent worker threads for the forward pass. A parallel region hands every
// thread the same job; work inside it is split by task index, claimed from a shared counter so a
// slow thread does not hold the others back. Workers spin briefly between regions (a forward pass
// opens hundreds of them per token) and then sleep, so an idle server costs no CPU. A region
// allocates nothing. Regions from different threads are serialised, never interleaved.
//
// A worker takes part in a region only if it joins before the calling thread has finished its own
// share; one that has not (descheduled, on a machine busy with other work) is shut out of that
// region and its share is run by the caller. So a region never waits for a thread the OS has not
// run — on a loaded machine that wait was a scheduler time slice per region, hundreds per token.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "core/function_ref.hpp"

namespace pensieve::core {

class ThreadPool {
 public:
  // `n_threads` counts the calling thread, which always takes part: 1 means no workers.
  explicit ThreadPool(unsigned n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  unsigned size() const { return n_threads_; }

  // Calls task(i) once for every i in [0, n_tasks), spread over the threads; returns when all
  // are done. Tasks should be coarse (microseconds at least) and independent.
  void parallel_for(std::size_t n_tasks, FunctionRef<void(std::size_t task)> task);

  // Calls job(thread, n_threads) once on each thread, thread in [0, n_threads).
  void run_on_all(FunctionRef<void(unsigned thread, unsigned n_threads)> job);

 private:
  void worker_loop(unsigned thread);
  void run_region(FunctionRef<void(unsigned thread, unsigned n_threads)> job);

  unsigned n_threads_;
  std::vector<std::thread> workers_;
  std::mutex region_mutex_;  // one region at a time

  // Per worker: (region << 2) | status, status one of the k* below. A worker joins region g by
  // moving its state from an earlier region to (g, kJoined); the caller shuts it out by moving it
  // to (g, kShutOut) first. Whoever wins decides; the loser sees it.
  static constexpr std::uint64_t kDone = 0, kJoined = 1, kShutOut = 2;
  struct alignas(64) WorkerState {
    std::atomic<std::uint64_t> value{0};
  };

  // The current region: its job, published by bumping generation_.
  FunctionRef<void(unsigned, unsigned)>* job_ = nullptr;
  std::atomic<std::uint64_t> generation_{0};
  std::vector<WorkerState> states_;  // [thread - 1]
  std::atomic<bool> stopping_{false};
};

// Threads to use by default: one per physical core this process may run on.
unsigned default_thread_count();

}  // namespace pensieve::core
