// kernels/row_dealer: hands out the rows of one or more matrices to the threads of a parallel
// region. Each thread owns a contiguous share of all the rows and works through it from the front,
// so it reads one stream of memory that the hardware prefetchers follow from range to range; a
// thread that runs out takes the back half of what is left of the largest share, so the threads
// finish within a range of each other. (Dealing every range from one shared counter made each
// thread jump about the matrix a dozen times a region, each jump a new stream for the prefetchers
// to find: Q4_0 decoded 1–11% slower; BENCHMARKS.md, twenty-third session.)
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

namespace pensieve::kernels {

class RowDealer {
 public:
  // Rows come in slices of this many (SIMD tiles); a range starts at a slice within its matrix.
  static constexpr std::size_t kSliceRows = 64;
  static constexpr std::size_t kMaxMatrices = 32;
  // Threads past this many get no rows (the pool's default is one thread per physical core).
  static constexpr std::size_t kMaxShares = 256;

  // `rows[m]`: the rows of matrix m (at most kMaxMatrices; 2^30 rows in all, far past any
  // model's), dealt to `threads` threads.
  RowDealer(std::span<const std::size_t> rows, unsigned threads);
  RowDealer(const RowDealer&) = delete;
  RowDealer& operator=(const RowDealer&) = delete;

  // Whether all the rows make one slice at most: too little work to wake other threads for.
  bool one_range() const { return total_slices_ <= 1; }

  // Thread `thread`'s next range: rows [begin, end) of matrix `which`; false when no rows are left
  // anywhere. Every row is dealt exactly once, to whichever thread asks first.
  bool next(unsigned thread, std::size_t& which, std::size_t& begin, std::size_t& end);

 private:
  // A share: slices [front, back) not yet dealt, and a count of the times the share was refilled
  // (so that a thread holding a stale copy of an emptied and refilled share cannot change it).
  struct alignas(64) Share {
    std::atomic<std::uint64_t> packed{0};
  };
  static std::uint64_t pack(std::uint64_t front, std::uint64_t back, std::uint64_t refills);
  static std::uint64_t front_of(std::uint64_t packed) { return packed & 0xffffff; }
  static std::uint64_t back_of(std::uint64_t packed) { return packed >> 24 & 0xffffff; }
  static std::uint64_t refills_of(std::uint64_t packed) { return packed >> 48; }

  // Takes a range from the front of the share; false when it is empty.
  bool take_front(Share& share, std::size_t& which, std::size_t& begin, std::size_t& end);
  // Moves the back half of the largest other share into `mine`, which is empty; false when all
  // are empty.
  bool take_over(unsigned thread, Share& mine);

  std::size_t slice_ends_[kMaxMatrices] = {};  // running totals of the matrices' slices
  std::size_t rows_[kMaxMatrices] = {};
  std::size_t matrices_ = 0;
  std::size_t total_slices_ = 0;
  unsigned shares_ = 0;
  Share share_[kMaxShares];
};

}  // namespace pensieve::kernels
