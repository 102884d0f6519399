#include "hub/disk_space.hpp"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "memory/byte_size.hpp"

namespace pensieve::hub {

Result<std::uint64_t> free_bytes(const std::filesystem::path& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) {
    return make_error(ErrorCode::kIo,
                      "cannot read the free space of " + dir.string() + ": " + std::strerror(errno));
  }
  return static_cast<std::uint64_t>(st.f_bavail) * static_cast<std::uint64_t>(st.f_frsize);
}

Status check_free_space(const std::filesystem::path& dir, std::uint64_t needed, std::string_view what) {
  auto free = free_bytes(dir);
  if (!free || *free >= needed) return {};
  return make_error(ErrorCode::kResourceExhausted,
                    "not enough disk space: " + std::string(what) + " needs " + memory::format_bytes(needed) +
                        " but " + dir.string() + " has " + memory::format_bytes(*free) + " free; free " +
                        memory::format_bytes(needed - *free) +
                        " or more, or point HF_HOME (or HF_HUB_CACHE) at a disk with room");
}

}  // namespace pensieve::hub
