// core/printable: bytes from an untrusted file (a GGUF key, a tensor or architecture name) made
// safe to put in an error message or a log line: control characters and bytes that are not UTF-8
// become \xNN, so a hostile file cannot move the cursor, recolour a terminal or forge log lines.
#pragma once

#include <string>
#include <string_view>

namespace pensieve::core {

std::string printable(std::string_view bytes);

}  // namespace pensieve::core
