#include "kernels/row_dealer.hpp"

#include <algorithm>
#include <cassert>

namespace pensieve::kernels {

RowDealer::RowDealer(std::span<const std::size_t> rows, unsigned threads) {
  assert(rows.size() <= kMaxMatrices && threads > 0);
  matrices_ = rows.size();
  for (std::size_t m = 0; m < matrices_; ++m) {
    rows_[m] = rows[m];
    total_slices_ += (rows[m] + kSliceRows - 1) / kSliceRows;
    slice_ends_[m] = total_slices_;
  }
  assert(total_slices_ <= 0xffffff);
  shares_ = std::min<unsigned>(threads, kMaxShares);
  for (unsigned t = 0; t < shares_; ++t) {
    share_[t].packed.store(pack(total_slices_ * t / shares_, total_slices_ * (t + 1) / shares_, 0),
                           std::memory_order_relaxed);
  }
}

std::uint64_t RowDealer::pack(std::uint64_t front, std::uint64_t back, std::uint64_t refills) {
  return front | back << 24 | (refills & 0xffff) << 48;
}

bool RowDealer::next(unsigned thread, std::size_t& which, std::size_t& begin, std::size_t& end) {
  if (thread >= shares_) return false;
  Share& mine = share_[thread];
  if (take_front(mine, which, begin, end)) return true;
  while (take_over(thread, mine)) {
    if (take_front(mine, which, begin, end)) return true;
  }
  return false;
}

bool RowDealer::take_front(Share& share, std::size_t& which, std::size_t& begin, std::size_t& end) {
  std::uint64_t seen = share.packed.load(std::memory_order_relaxed);
  for (;;) {
    const std::uint64_t front = front_of(seen), back = back_of(seen);
    if (front >= back) return false;
    which = 0;
    while (front >= slice_ends_[which]) ++which;
    // A quarter of what is left, so that the ranges shrink towards the end of the share and a
    // thread that takes over the rest waits at most for one small range; never past the matrix.
    const std::uint64_t stop = std::min<std::uint64_t>(
        {front + std::max<std::uint64_t>(1, (back - front) / 4), back, slice_ends_[which]});
    if (share.packed.compare_exchange_weak(seen, pack(stop, back, refills_of(seen)),
                                           std::memory_order_relaxed)) {
      const std::size_t first = which > 0 ? slice_ends_[which - 1] : 0;
      begin = (front - first) * kSliceRows;
      end = std::min(rows_[which], (stop - first) * kSliceRows);
      return true;
    }
  }
}

bool RowDealer::take_over(unsigned thread, Share& mine) {
  if (shares_ < 2) return false;
  for (;;) {
    // The share with the most slices left.
    unsigned victim = shares_;
    std::uint64_t seen = 0, most = 0;
    for (unsigned k = 1; k <= shares_; ++k) {
      const unsigned t = (thread + k) % shares_;
      const std::uint64_t packed = share_[t].packed.load(std::memory_order_relaxed);
      const std::uint64_t left = back_of(packed) > front_of(packed) ? back_of(packed) - front_of(packed) : 0;
      if (left > most && t != thread) {
        victim = t;
        seen = packed;
        most = left;
      }
    }
    if (victim == shares_) return false;
    // The back half, rounded up: a share's last slice goes to whoever is free first.
    const std::uint64_t front = front_of(seen), back = back_of(seen);
    const std::uint64_t mid = back - (back - front + 1) / 2;
    if (!share_[victim].packed.compare_exchange_strong(seen, pack(front, mid, refills_of(seen)),
                                                       std::memory_order_relaxed)) {
      continue;  // its owner or another thread moved first: look again
    }
    // `mine` is empty, and no other thread changes an empty share. Refilling it bumps its count,
    // so that a thread still holding a copy from before it emptied cannot match it.
    const std::uint64_t old = mine.packed.load(std::memory_order_relaxed);
    mine.packed.store(pack(mid, back, refills_of(old) + 1), std::memory_order_relaxed);
    return true;
  }
}

}  // namespace pensieve::kernels
