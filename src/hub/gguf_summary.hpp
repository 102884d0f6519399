// hub/gguf_summary: the few header facts `pensieve list` shows, read with our GGUF reader.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/result.hpp"

namespace pensieve::hub {

struct GgufSummary {
  std::string architecture;          // general.architecture
  std::string name;                  // general.name
  std::uint64_t context_length = 0;  // <arch>.context_length, 0 when absent
  std::string file_type;             // general.file_type by llama.cpp's names ("Q4_K_M"), or ""
};

Result<GgufSummary> read_gguf_summary(const std::string& path);

// llama.cpp's name for a general.file_type value (its llama_ftype), or "" when unknown.
std::string file_type_name(std::uint64_t file_type);

}  // namespace pensieve::hub
