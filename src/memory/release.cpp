#include "memory/release.hpp"

#include <cstdlib>  // defines __GLIBC__ (through <features.h>) when the C library is glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace pensieve::memory {

bool release_free_heap() {
#if defined(__GLIBC__)
  return ::malloc_trim(0) != 0;
#else
  return false;  // other C libraries return memory on their own schedule
#endif
}

}  // namespace pensieve::memory
