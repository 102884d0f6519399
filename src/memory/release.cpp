#include "memory/release.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace pensieve::memory {

bool release_free_heap() {
#if defined(__GLIBC__)
  return ::malloc_trim(0) != 0;
#else
  return false;  // other allocators return memory on their own schedule
#endif
}

}  // namespace pensieve::memory
