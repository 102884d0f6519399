// Test support: whether this build runs under the address sanitizer, so that the heaviest
// property tests can check a sample of their cases there. The sanitizer run looks for memory
// errors, which a sample of the same code paths finds too, and it runs them 5-6x slower; the
// release run still checks every case.
#pragma once

namespace pensieve::testing {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitizedBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kSanitizedBuild = true;
#else
inline constexpr bool kSanitizedBuild = false;
#endif
#else
inline constexpr bool kSanitizedBuild = false;
#endif

// How often to run a brute-force comparison: every `release_every` steps, or `sanitized_factor`
// times more rarely under the sanitizer.
constexpr int sample_every(int release_every, int sanitized_factor = 4) {
  return kSanitizedBuild ? release_every * sanitized_factor : release_every;
}

}  // namespace pensieve::testing
