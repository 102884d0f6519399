// memory/text_file: reads small kernel text files (procfs, cgroupfs) into a reused buffer.
// These files report size 0, so they are read in a loop until EOF rather than by stat size.
#pragma once

#include <string>

#include "core/result.hpp"

namespace pensieve::memory {

// Replaces `out` with the file's contents. ErrorCode::kNotFound when the file does not exist
// (callers treat some missing files as "no limit here"), kIo for any other failure.
Status read_text_file(const std::string& path, std::string& out);

}  // namespace pensieve::memory
