// tokenizer/hash_index: flat open-addressing tables for the two look-ups on the encode hot path —
// token text → id and (left id, right id) → merge — sized once at load, never allocating after.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace pensieve::tokenizer {

inline std::uint64_t mix64(std::uint64_t a, std::uint64_t b) {
  const unsigned __int128 m = static_cast<unsigned __int128>(a) * b;
  return static_cast<std::uint64_t>(m) ^ static_cast<std::uint64_t>(m >> 64);
}

// A fast 64-bit hash for short byte strings (tokens and words are mostly under 16 bytes).
inline std::uint64_t hash_bytes(std::string_view s) {
  constexpr std::uint64_t kA = 0x9E3779B97F4A7C15ull, kB = 0xD6E8FEB86659FD93ull;
  const char* p = s.data();
  std::size_t n = s.size();
  std::uint64_t h = kA ^ (n * kB);
  while (n >= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    h = mix64(h ^ v, kB);
    p += 8;
    n -= 8;
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  return mix64(h ^ tail ^ (static_cast<std::uint64_t>(n) << 59), kA);
}

// Maps strings to ids; the strings themselves live with the caller, who hands the index a
// function from id to string at look-up time. Each slot is 8 bytes.
class StringIdIndex {
 public:
  // Inserts `key` → id unless the key is present; returns false when it was.
  template <typename KeyOf>
  bool insert(std::string_view key, std::int32_t id, const KeyOf& key_of) {
    if ((count_ + 1) * 10 > slots_.size() * 7) grow(key_of);
    return insert_no_grow(key, id, key_of);
  }

  // Later inserts of the same key replace the id (the last token with a text wins).
  template <typename KeyOf>
  void assign(std::string_view key, std::int32_t id, const KeyOf& key_of) {
    if ((count_ + 1) * 10 > slots_.size() * 7) grow(key_of);
    const std::uint64_t h = hash_bytes(key);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.id < 0) {
        s = {static_cast<std::uint32_t>(h >> 32), id};
        ++count_;
        return;
      }
      if (s.tag == static_cast<std::uint32_t>(h >> 32) && key_of(s.id) == key) {
        s.id = id;
        return;
      }
    }
  }

  template <typename KeyOf>
  std::int32_t find(std::string_view key, const KeyOf& key_of) const {
    if (slots_.empty()) return -1;
    const std::uint64_t h = hash_bytes(key);
    const auto tag = static_cast<std::uint32_t>(h >> 32);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.tag == tag && key_of(s.id) == key) return s.id;
    }
  }

  template <typename KeyOf>
  void reserve(std::size_t n, const KeyOf& key_of) {
    while (n * 10 > slots_.size() * 7) grow(key_of);
  }

 private:
  struct Slot {
    std::uint32_t tag = 0;
    std::int32_t id = -1;
  };

  template <typename KeyOf>
  bool insert_no_grow(std::string_view key, std::int32_t id, const KeyOf& key_of) {
    const std::uint64_t h = hash_bytes(key);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.id < 0) {
        s = {static_cast<std::uint32_t>(h >> 32), id};
        ++count_;
        return true;
      }
      if (s.tag == static_cast<std::uint32_t>(h >> 32) && key_of(s.id) == key) return false;
    }
  }

  template <typename KeyOf>
  void grow(const KeyOf& key_of) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    count_ = 0;
    for (const Slot& s : old) {
      if (s.id >= 0) insert_no_grow(key_of(s.id), s.id, key_of);
    }
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t count_ = 0;
};

// (left id, right id) → (merge rank, merged id): the BPE merge list keyed for id-level merging.
class MergeIndex {
 public:
  struct Merge {
    std::int32_t rank = -1;  // -1: no such merge
    std::int32_t result = -1;
  };

  void reserve(std::size_t n) {
    std::size_t cap = 64;
    while (n * 10 > cap * 7) cap *= 2;
    if (cap > slots_.size()) rebuild(cap);
  }

  // Keeps the first (lowest-rank) entry for a pair, as the merge list is ordered by rank.
  bool insert(std::int32_t left, std::int32_t right, Merge merge) {
    if ((count_ + 1) * 10 > slots_.size() * 7) rebuild(slots_.empty() ? 64 : slots_.size() * 2);
    return insert_no_grow(key(left, right), merge);
  }

  Merge find(std::int32_t left, std::int32_t right) const {
    if (slots_.empty()) return {};
    const std::uint64_t k = key(left, right);
    for (std::size_t i = mix64(k, kMul) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == k) return s.merge;
      if (s.key == kEmpty) return {};
    }
  }

 private:
  static constexpr std::uint64_t kEmpty = ~0ull;
  static constexpr std::uint64_t kMul = 0x9E3779B97F4A7C15ull;
  struct Slot {
    std::uint64_t key = kEmpty;
    Merge merge;
  };

  static std::uint64_t key(std::int32_t left, std::int32_t right) {
    return static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32 | static_cast<std::uint32_t>(right);
  }

  bool insert_no_grow(std::uint64_t k, Merge merge) {
    for (std::size_t i = mix64(k, kMul) & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.key == k) return false;
      if (s.key == kEmpty) {
        s = {k, merge};
        ++count_;
        return true;
      }
    }
  }

  void rebuild(std::size_t capacity) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    count_ = 0;
    for (const Slot& s : old) {
      if (s.key != kEmpty) insert_no_grow(s.key, s.merge);
    }
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t count_ = 0;
};

}  // namespace pensieve::tokenizer
