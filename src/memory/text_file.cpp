#include "memory/text_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pensieve::memory {

Status read_text_file(const std::string& path, std::string& out) {
  out.clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return make_error(err == ENOENT || err == ENOTDIR ? ErrorCode::kNotFound : ErrorCode::kIo,
                      "cannot open " + path + ": " + std::strerror(err));
  }
  // Kernel text files are small; 8 KiB covers meminfo and vmstat in one or two reads.
  if (out.capacity() < 8192) out.reserve(8192);
  char chunk[4096];
  while (true) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      // PSI files exist but refuse reads when the kernel booted with psi=0.
      return make_error(err == EOPNOTSUPP ? ErrorCode::kUnsupported : ErrorCode::kIo,
                        "cannot read " + path + ": " + std::strerror(err));
    }
    out.append(chunk, static_cast<std::size_t>(n));
    if (out.size() > (1u << 20)) {
      ::close(fd);
      return make_error(ErrorCode::kIo, path + " is larger than 1 MiB; not a kernel text file");
    }
  }
  ::close(fd);
  return {};
}

}  // namespace pensieve::memory
