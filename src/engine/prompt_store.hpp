// engine/prompt_store: cached prompts' KV caches kept on disk, so that a restarted server answers the
// next turn of a long conversation without computing its prefix again. One file per saved
// prefix, in a folder per model and cache format (Backend::cache_identity), named by a hash of
// its tokens: a header, the tokens, the cache bytes (Backend::save_prefix), each checksummed.
// Opening the store reads headers and tokens only; a prefix's cache is read when a prompt that
// starts with it is admitted, and checked as it is read. A file that is truncated, corrupt or
// made for another model is reported, deleted and never used. The folder is kept under a byte
// budget, dropping the least recently used files first.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "engine/backend.hpp"

namespace pensieve::engine {

struct PromptStoreOptions {
  std::filesystem::path cache_dir;               // the store's folder is cache_dir/<cache identity>
  std::uint64_t max_bytes = 4ull << 30;          // the folder's budget
  std::size_t min_tokens = 256;                  // shorter prefixes are not worth a file
  std::function<void(const std::string&)> warn;  // told about files that were not used, may be empty
};

class PromptStore {
 public:
  // Creates the folder if needed and reads what it holds. Errors when the backend cannot save
  // prefixes or the folder cannot be made.
  static Result<std::unique_ptr<PromptStore>> open(Backend& backend, PromptStoreOptions options);

  // The saved prefix sharing the most tokens with `prompt`, in whole granules and short of the
  // prompt's last token (whose logits must be computed); none when no saved prefix gives a granule.
  struct Match {
    std::size_t entry = 0;
    std::size_t tokens = 0;
  };
  std::optional<Match> best_match(std::span<const std::int32_t> prompt) const;

  // Reads match.tokens of the entry's cache into `sequence`. On failure the sequence is left empty,
  // and a malformed file (kInvalidFormat: truncated, checksum) is dropped with a warning.
  Status load(const Match& match, Sequence& sequence);

  // Saves the cache of tokens[0, n) held by `sequence`, n the largest whole number of granules,
  // unless a saved prefix already holds them; saved prefixes of them are dropped, and the oldest
  // files while over the budget. Nothing happens below min_tokens. Failures are also reported.
  Status save(std::span<const std::int32_t> tokens, Sequence& sequence);

  std::size_t entries() const { return entries_.size(); }
  std::uint64_t bytes() const;
  const std::filesystem::path& folder() const { return folder_; }

 private:
  struct Entry {
    std::filesystem::path path;
    std::vector<std::int32_t> tokens;
    std::uint64_t kv_offset = 0;  // where the cache bytes start in the file
    std::uint64_t kv_hash = 0;
    std::uint64_t file_bytes = 0;
    std::uint64_t last_used = 0;  // order of use: larger is more recent
  };

  PromptStore(Backend& backend, PromptStoreOptions options, std::filesystem::path folder);
  void scan();
  Status save_unreported(std::span<const std::int32_t> tokens, Sequence& sequence);
  Result<Entry> read_entry(const std::filesystem::path& path) const;
  void drop(std::size_t entry, const std::string& why);
  void keep_within_budget();
  void warn(const std::string& message) const;

  Backend& backend_;
  PromptStoreOptions options_;
  std::filesystem::path folder_;
  std::string identity_;
  std::vector<Entry> entries_;
  std::uint64_t uses_ = 0;
};

}  // namespace pensieve::engine
