// tools/gguf_corpus/hostile_gguf: the catalogue of broken and hostile GGUF files that the reader
// must reject cleanly (and a few odd but valid ones it must accept). The unit tests check each
// entry's exact verdict, in memory and as a file; make_gguf_corpus writes it out as the fuzzer's
// seed corpus.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pensieve::gguf::hostile {

struct HostileFile {
  std::string name;                // file name stem, e.g. "bad-duplicate-key"; "ok-" stems must parse
  std::vector<std::uint8_t> bytes;
  std::string expect;              // for bad files: a phrase the error message must contain
};

std::vector<HostileFile> hostile_gguf_files();

}  // namespace pensieve::gguf::hostile
