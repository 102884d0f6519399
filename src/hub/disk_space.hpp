// hub/disk_space: whether a download fits before it starts, and what to tell the user when not.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "core/result.hpp"

namespace pensieve::hub {

// Bytes an unprivileged process may still write on the filesystem holding `dir` (statvfs's
// f_bavail), or kIo when it cannot be read.
Result<std::uint64_t> free_bytes(const std::filesystem::path& dir);

// kResourceExhausted, saying how much `what` needs and how much is free, when `needed` bytes do
// not fit; fine when they do or when the free space cannot be read (the write then tells).
Status check_free_space(const std::filesystem::path& dir, std::uint64_t needed, std::string_view what);

}  // namespace pensieve::hub
