// memory/release: hands memory freed by a finished request back to the operating system.
// glibc keeps freed heap pages mapped for reuse, so RSS would stay at the request's peak;
// malloc_trim(0) returns every whole free page of every arena (madvise DONTNEED) — but not the
// free top of a thread's own arena, which is why a server first limits the heap to one arena.
#pragma once

namespace pensieve::memory {

// Makes every thread allocate from glibc's main arena, the one arena whose free top
// release_free_heap() can return. Without it each server thread gets an arena of its own, and a
// big body freed at the end of one stays resident there: 16 clients sending 16 MB bodies at once
// left 50–480 MiB behind. Call at start-up, before any other thread exists. Returns false where
// the allocator is not glibc's (a sanitizer's, another C library) and nothing was changed.
bool use_one_heap_arena();

// Returns true when some memory was given back. Safe to call from any thread; costs a walk
// over the heap, so call it once per finished request, not per token.
bool release_free_heap();

}  // namespace pensieve::memory
