#include "memory/release.hpp"

#include <cstdlib>  // defines __GLIBC__ (through <features.h>) when the C library is glibc

// Sanitizers that replace malloc ignore glibc's tuning and trimming: leave them alone.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PENSIEVE_GLIBC_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define PENSIEVE_GLIBC_MALLOC 0
#endif
#endif
#if !defined(PENSIEVE_GLIBC_MALLOC) && defined(__GLIBC__)
#define PENSIEVE_GLIBC_MALLOC 1
#elif !defined(PENSIEVE_GLIBC_MALLOC)
#define PENSIEVE_GLIBC_MALLOC 0
#endif

#if PENSIEVE_GLIBC_MALLOC
#include <malloc.h>
#endif

namespace pensieve::memory {

bool use_one_heap_arena() {
#if PENSIEVE_GLIBC_MALLOC
  // malloc_trim(0) madvises the free chunks of every arena, but shrinks only the main arena's top
  // chunk; a thread arena's top shrinks only on a free that leaves it past M_TRIM_THRESHOLD, which
  // glibc raises to twice the largest mmapped block freed so far (up to 64 MiB). One arena makes
  // every free page reachable by the trim. The cost is one lock for all threads' malloc, which the
  // per-thread cache in front of it mostly avoids (the compute path does not allocate per token).
  return ::mallopt(M_ARENA_MAX, 1) == 1;
#else
  return false;
#endif
}

bool release_free_heap() {
#if PENSIEVE_GLIBC_MALLOC
  return ::malloc_trim(0) != 0;
#else
  return false;  // other allocators return memory on their own schedule
#endif
}

}  // namespace pensieve::memory
