// grammar/token_masker: which tokens of a vocabulary may come next in a grammar.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "grammar/grammar.hpp"
#include "grammar/matcher.hpp"

namespace pensieve::grammar {

// Built once per (grammar, vocabulary) and reused across generations. allowed() may be called
// from several threads (a mutex guards the mask cache and scratch space), though one scheduler
// thread is the intended use.
//
// How a mask is made (cheap enough for ~150k tokens): for every grammar node the constructor
// walks the vocabulary's trie by the moves that cannot involve the call stack
// (Grammar::simple_next), which gives the tokens allowed whatever the stack below is, plus the
// few trie branches where the stack matters. allowed() combines the former and walks only the
// latter with the full step; masks are also cached by the whole matcher state, which repeats on
// every token inside a free JSON string.
//
// End-of-generation tokens are not the masker's business: the caller allows them iff
// Matcher::can_end().
class TokenMasker {
 public:
  // token_bytes[i]: the exact bytes token i decodes to ("" for tokens that are never allowed,
  // e.g. control tokens).
  TokenMasker(std::shared_ptr<const Grammar> g, std::vector<std::string> token_bytes);
  ~TokenMasker();
  TokenMasker(const TokenMasker&) = delete;
  TokenMasker& operator=(const TokenMasker&) = delete;

  // Sets bit i of `allowed` (resized to ceil(n/64) words) iff token i's bytes can follow the
  // matcher's text and keep it a valid prefix. `m` must be a matcher of this masker's grammar.
  void allowed(const Matcher& m, std::vector<std::uint64_t>& allowed);

  std::size_t vocab_size() const;
  struct Stats {
    std::uint64_t cache_hits = 0;
    std::uint64_t cache_misses = 0;
    double precompute_ms = 0;
  };
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pensieve::grammar
