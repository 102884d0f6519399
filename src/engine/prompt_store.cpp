#include "engine/prompt_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "core/hash.hpp"
#include "engine/token_prefix.hpp"

namespace pensieve::engine {
namespace {

constexpr std::array<char, 8> kMagic = {'P', 'N', 'S', 'V', 'P', 'K', 'V', '1'};
constexpr std::uint32_t kVersion = 1;
constexpr std::uint32_t kMaxIdentityBytes = 4096;
constexpr std::uint64_t kMaxTokens = 1u << 24;
constexpr const char* kExtension = ".pkv";

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

Error io_error(const std::filesystem::path& path, const std::string& what) {
  return make_error(ErrorCode::kIo, what + " " + path.string() + ": " + std::strerror(errno));
}

template <typename T>
bool read_value(std::FILE* f, T& value) {
  return std::fread(&value, sizeof value, 1, f) == 1;
}

template <typename T>
bool write_value(std::FILE* f, const T& value) {
  return std::fwrite(&value, sizeof value, 1, f) == 1;
}

std::uint64_t tokens_hash(std::span<const std::int32_t> tokens) {
  return core::hash64(std::span(reinterpret_cast<const std::uint8_t*>(tokens.data()), tokens.size_bytes()));
}

}  // namespace

PromptStore::PromptStore(Backend& backend, PromptStoreOptions options, std::filesystem::path folder)
    : backend_(backend),
      options_(std::move(options)),
      folder_(std::move(folder)),
      identity_(backend.cache_identity()) {}

Result<std::unique_ptr<PromptStore>> PromptStore::open(Backend& backend, PromptStoreOptions options) {
  if (backend.prefix_granularity() == 0 || backend.cache_identity().empty()) {
    return make_error(ErrorCode::kUnsupported, "this backend cannot keep its cache on disk");
  }
  std::filesystem::path folder = options.cache_dir / backend.cache_identity();
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  // Conversations are private: only their owner reads the folder.
  if (!ec) std::filesystem::permissions(folder, std::filesystem::perms::owner_all, ec);
  if (ec) {
    return make_error(ErrorCode::kIo,
                      "cannot create the prompt cache folder " + folder.string() + ": " + ec.message());
  }
  std::unique_ptr<PromptStore> store(new PromptStore(backend, std::move(options), std::move(folder)));
  store->scan();
  return store;
}

void PromptStore::warn(const std::string& message) const {
  if (options_.warn) options_.warn(message);
}

void PromptStore::scan() {
  std::error_code ec;
  std::vector<std::pair<std::filesystem::file_time_type, Entry>> found;
  for (const auto& item : std::filesystem::directory_iterator(folder_, ec)) {
    const std::filesystem::path& path = item.path();
    if (path.extension() == ".tmp") {  // a save that did not finish
      std::filesystem::remove(path, ec);
      continue;
    }
    if (path.extension() != kExtension) continue;
    auto entry = read_entry(path);
    if (!entry) {
      warn("prompt cache: ignoring and deleting " + path.string() + ": " + entry.error().message);
      std::filesystem::remove(path, ec);
      continue;
    }
    found.emplace_back(std::filesystem::last_write_time(path, ec), std::move(*entry));
  }
  // Least recently used first, so that the order of use survives restarts.
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [time, entry] : found) {
    entry.last_used = ++uses_;
    entries_.push_back(std::move(entry));
  }
  keep_within_budget();
}

Result<PromptStore::Entry> PromptStore::read_entry(const std::filesystem::path& path) const {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) return io_error(path, "cannot open");
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return make_error(ErrorCode::kIo, "cannot read the size of " + path.string());

  std::array<char, 8> magic{};
  std::uint32_t version = 0, identity_bytes = 0;
  if (std::fread(magic.data(), 1, magic.size(), f.get()) != magic.size() || magic != kMagic) {
    return make_error(ErrorCode::kInvalidFormat, "not a pensieve prompt cache file");
  }
  if (!read_value(f.get(), version) || version != kVersion) {
    return make_error(ErrorCode::kInvalidFormat,
                      "format version " + std::to_string(version) + ", expected " + std::to_string(kVersion));
  }
  if (!read_value(f.get(), identity_bytes) || identity_bytes > kMaxIdentityBytes) {
    return make_error(ErrorCode::kInvalidFormat, "truncated or malformed header");
  }
  std::string identity(identity_bytes, '\0');
  if (std::fread(identity.data(), 1, identity.size(), f.get()) != identity.size()) {
    return make_error(ErrorCode::kInvalidFormat, "truncated header");
  }
  if (identity != identity_) {
    return make_error(ErrorCode::kInvalidFormat, "made for another model or cache format (" + identity + ")");
  }
  std::uint64_t n_tokens = 0, kv_bytes = 0, expected_tokens_hash = 0;
  Entry entry;
  entry.path = path;
  if (!read_value(f.get(), n_tokens) || !read_value(f.get(), kv_bytes) ||
      !read_value(f.get(), expected_tokens_hash) || !read_value(f.get(), entry.kv_hash)) {
    return make_error(ErrorCode::kInvalidFormat, "truncated header");
  }
  const std::size_t granularity = backend_.prefix_granularity();
  if (n_tokens == 0 || n_tokens > kMaxTokens || n_tokens % granularity != 0 ||
      kv_bytes != backend_.prefix_bytes(n_tokens)) {
    return make_error(ErrorCode::kInvalidFormat, "inconsistent header (" + std::to_string(n_tokens) +
                                                     " tokens, " + std::to_string(kv_bytes) +
                                                     " cache bytes)");
  }
  const std::uint64_t header_bytes = kMagic.size() + 2 * sizeof(std::uint32_t) + identity_bytes + 4 * 8;
  entry.kv_offset = header_bytes + n_tokens * sizeof(std::int32_t);
  entry.file_bytes = entry.kv_offset + kv_bytes;
  if (size != entry.file_bytes) {
    return make_error(ErrorCode::kInvalidFormat, "the file holds " + std::to_string(size) +
                                                     " bytes where its header says " +
                                                     std::to_string(entry.file_bytes) + " (truncated?)");
  }
  entry.tokens.resize(n_tokens);
  if (std::fread(entry.tokens.data(), sizeof(std::int32_t), n_tokens, f.get()) != n_tokens) {
    return make_error(ErrorCode::kInvalidFormat, "truncated tokens");
  }
  if (tokens_hash(entry.tokens) != expected_tokens_hash) {
    return make_error(ErrorCode::kInvalidFormat, "the tokens' checksum does not match");
  }
  return entry;
}

std::optional<PromptStore::Match> PromptStore::best_match(std::span<const std::int32_t> prompt) const {
  if (prompt.empty()) return std::nullopt;
  const std::size_t granularity = backend_.prefix_granularity();
  std::optional<Match> best;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const std::size_t common = std::min(common_prefix(entries_[i].tokens, prompt), prompt.size() - 1);
    const std::size_t usable = common / granularity * granularity;
    if (usable > 0 && (!best || usable > best->tokens)) best = Match{i, usable};
  }
  return best;
}

void PromptStore::drop(std::size_t entry, const std::string& why) {
  if (!why.empty()) warn("prompt cache: deleting " + entries_[entry].path.string() + ": " + why);
  std::error_code ec;
  std::filesystem::remove(entries_[entry].path, ec);
  entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(entry));
}

Status PromptStore::load(const Match& match, Sequence& sequence) {
  Entry& entry = entries_.at(match.entry);
  const std::size_t stored = entry.tokens.size(), wanted = match.tokens;
  auto fail = [&](Error error) -> Status {
    sequence.clear();
    // Only a malformed file is dropped: a full KV pool or a failed open says nothing about it.
    if (error.code == ErrorCode::kInvalidFormat) drop(match.entry, error.message);
    return error;
  };
  File f(std::fopen(entry.path.c_str(), "rb"));
  if (!f || std::fseek(f.get(), static_cast<long>(entry.kv_offset), SEEK_SET) != 0) {
    return fail(io_error(entry.path, "cannot read"));
  }
  // Every byte is read and checked, those of the positions past `wanted` too.
  core::Hash64 hash;
  std::vector<std::uint8_t> skipped(1 << 16);
  auto read = [&](std::span<std::uint8_t> piece) -> Status {
    if (std::fread(piece.data(), 1, piece.size(), f.get()) != piece.size()) {
      return make_error(ErrorCode::kInvalidFormat, "the cache bytes end early");
    }
    hash.update(piece);
    return {};
  };
  auto skip = [&](std::size_t bytes) -> Status {
    while (bytes > 0) {
      const std::size_t n = std::min(bytes, skipped.size());
      if (std::fread(skipped.data(), 1, n, f.get()) != n) {
        return make_error(ErrorCode::kInvalidFormat, "the cache bytes end early");
      }
      hash.update(std::span(skipped.data(), n));
      bytes -= n;
    }
    return {};
  };
  if (auto loaded = backend_.load_prefix(sequence, wanted, stored, read, skip); !loaded) {
    return fail(loaded.error());
  }
  if (hash.digest() != entry.kv_hash) {
    return fail(make_error(ErrorCode::kInvalidFormat, "the cache bytes' checksum does not match"));
  }
  entry.last_used = ++uses_;
  std::error_code ec;
  std::filesystem::last_write_time(entry.path, std::filesystem::file_time_type::clock::now(), ec);
  return {};
}

Status PromptStore::save(std::span<const std::int32_t> tokens, Sequence& sequence) {
  Status saved = save_unreported(tokens, sequence);
  if (!saved) warn("prompt cache: cannot save a prefix: " + saved.error().message);
  return saved;
}

Status PromptStore::save_unreported(std::span<const std::int32_t> tokens, Sequence& sequence) {
  const std::size_t granularity = backend_.prefix_granularity();
  const std::size_t n = std::min(tokens.size(), sequence.size()) / granularity * granularity;
  if (n == 0 || n < options_.min_tokens) return {};
  const auto prefix = tokens.first(n);
  for (Entry& e : entries_) {
    if (e.tokens.size() >= n && common_prefix(e.tokens, prefix) == n) {  // already saved
      e.last_used = ++uses_;
      return {};
    }
  }
  const std::uint64_t kv_bytes = backend_.prefix_bytes(n);
  char name[32];
  std::snprintf(name, sizeof name, "%016llx", static_cast<unsigned long long>(tokens_hash(prefix)));
  const std::filesystem::path path = folder_ / (std::string(name) + kExtension);
  const std::filesystem::path temporary = folder_ / (std::string(name) + ".tmp");
  std::error_code ec;
  auto fail = [&](Error error) -> Status {
    std::filesystem::remove(temporary, ec);
    return error;
  };
  {
    // Conversations are private: the file is its owner's alone (the folder too, see open()).
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    File f(fd >= 0 ? ::fdopen(fd, "wb") : nullptr);
    if (fd >= 0 && !f) ::close(fd);
    if (!f) return fail(io_error(temporary, "cannot create"));
    const auto identity_bytes = static_cast<std::uint32_t>(identity_.size());
    const std::uint64_t n_tokens = n, hash_of_tokens = tokens_hash(prefix), kv_hash_placeholder = 0;
    bool ok = std::fwrite(kMagic.data(), 1, kMagic.size(), f.get()) == kMagic.size() &&
              write_value(f.get(), kVersion) && write_value(f.get(), identity_bytes) &&
              std::fwrite(identity_.data(), 1, identity_.size(), f.get()) == identity_.size() &&
              write_value(f.get(), n_tokens) && write_value(f.get(), kv_bytes) &&
              write_value(f.get(), hash_of_tokens);
    const long kv_hash_at = std::ftell(f.get());
    ok = ok && write_value(f.get(), kv_hash_placeholder) &&
         std::fwrite(prefix.data(), sizeof(std::int32_t), n, f.get()) == n;
    if (!ok) return fail(io_error(temporary, "cannot write"));
    core::Hash64 hash;
    auto write = [&](std::span<const std::uint8_t> region) -> Status {
      hash.update(region);
      if (std::fwrite(region.data(), 1, region.size(), f.get()) != region.size()) {
        return io_error(temporary, "cannot write");
      }
      return {};
    };
    if (auto saved = backend_.save_prefix(sequence, n, write); !saved) return fail(saved.error());
    const std::uint64_t kv_hash = hash.digest();
    if (std::fseek(f.get(), kv_hash_at, SEEK_SET) != 0 || !write_value(f.get(), kv_hash) ||
        std::fflush(f.get()) != 0) {
      return fail(io_error(temporary, "cannot write"));
    }
    if (std::fclose(f.release()) != 0) return fail(io_error(temporary, "cannot write"));
  }
  std::filesystem::rename(temporary, path, ec);
  if (ec)
    return fail(make_error(ErrorCode::kIo, "cannot rename " + temporary.string() + ": " + ec.message()));

  // The new file holds every saved prefix of its tokens.
  for (std::size_t i = entries_.size(); i-- > 0;) {
    if (entries_[i].path != path && common_prefix(entries_[i].tokens, prefix) == entries_[i].tokens.size()) {
      drop(i, "");
    }
  }
  std::erase_if(entries_, [&](const Entry& e) { return e.path == path; });
  auto entry = read_entry(path);  // what a restart would see, checked the same way
  if (!entry) return entry.error();
  entry->last_used = ++uses_;
  entries_.push_back(std::move(*entry));
  keep_within_budget();
  return {};
}

std::uint64_t PromptStore::bytes() const {
  std::uint64_t total = 0;
  for (const Entry& e : entries_) total += e.file_bytes;
  return total;
}

void PromptStore::keep_within_budget() {
  while (!entries_.empty() && bytes() > options_.max_bytes) {
    const auto oldest =
        std::min_element(entries_.begin(), entries_.end(),
                         [](const Entry& a, const Entry& b) { return a.last_used < b.last_used; });
    drop(static_cast<std::size_t>(oldest - entries_.begin()),
         entries_.size() == 1
             ? "larger than the prompt cache's budget of " + std::to_string(options_.max_bytes) + " bytes"
             : "");
  }
}

}  // namespace pensieve::engine
