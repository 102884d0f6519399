// memory/text_file: reads small kernel text files (procfs, cgroupfs) into a reused buffer.
// These files report size 0, so they are read until EOF rather than by their stat size.
#pragma once

#include <string>

#include "core/result.hpp"

namespace pensieve::memory {

// Replaces `out` with the file's contents. ErrorCode::kNotFound when the file does not exist
// (callers treat some missing files as "no limit here"), kUnsupported when the kernel refuses
// the read (PSI booted off), kIo for any other failure.
Status read_text_file(const std::string& path, std::string& out);

// A kernel file read again and again: the descriptor stays open and each read starts over at
// offset 0, which makes procfs and cgroupfs regenerate the contents. That skips the path walk
// of open(), most of the cost of a sample. If a read fails (the cgroup went away, say) it
// reopens once. Only files on procfs, sysfs and cgroupfs are kept open; any other file (a
// `file:` memory source someone edits, which editors replace by rename; a test's fake tree)
// is opened afresh at every read so that edits, replacements and removals are seen.
class KernelFile {
 public:
  KernelFile() = default;
  explicit KernelFile(std::string path) : path_(std::move(path)) {}
  KernelFile(KernelFile&& other) noexcept;
  KernelFile& operator=(KernelFile&& other) noexcept;
  KernelFile(const KernelFile&) = delete;
  KernelFile& operator=(const KernelFile&) = delete;
  ~KernelFile();

  Status read(std::string& out);
  const std::string& path() const { return path_; }

 private:
  Status open_now();
  void close_now();

  std::string path_;
  int fd_ = -1;
};

}  // namespace pensieve::memory
