// make_gguf_corpus DIR: writes the hostile GGUF catalogue into DIR as <name>.gguf — the fuzzer's
// seed corpus (scripts/fuzz.sh runs it), generated rather than checked in.
#include <cstdio>
#include <string>

#include "tools/gguf_corpus/hostile_gguf.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  for (const auto& f : pensieve::gguf::hostile::hostile_gguf_files()) {
    const std::string path = std::string(argv[1]) + "/" + f.name + ".gguf";
    std::FILE* out = std::fopen(path.c_str(), "wb");
    if (out == nullptr || (!f.bytes.empty() && std::fwrite(f.bytes.data(), 1, f.bytes.size(), out) != f.bytes.size())) {
      std::fprintf(stderr, "cannot write %s\n", path.c_str());
      return 1;
    }
    std::fclose(out);
  }
  return 0;
}
