// memory/release: hands memory freed by a finished request back to the operating system.
// glibc keeps freed heap pages mapped for reuse, so RSS would stay at the request's peak;
// malloc_trim(0) returns every whole free page of every arena (madvise DONTNEED).
#pragma once

namespace pensieve::memory {

// Returns true when some memory was given back. Safe to call from any thread; costs a walk
// over the heap, so call it once per finished request, not per token.
bool release_free_heap();

}  // namespace pensieve::memory
