#!/usr/bin/env bash
# Builds the fuzz preset (clang++, libFuzzer + ASan + UBSan) and runs the GGUF reader harness for
# N seconds (default 60), seeded with the hostile-GGUF catalogue (make_gguf_corpus writes it to
# build/fuzz/seed/gguf). New interesting inputs go to build/fuzz/corpus; a crash leaves its input
# in build/fuzz/artifacts and fails the script. Add such an input to the catalogue
# (tools/gguf_corpus/hostile_gguf.cpp, as a bad-fuzz-* entry) once the reader handles it.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --seconds=*) seconds="${1#*=}"; shift ;;
    *) echo "usage: $0 [--seconds N]" >&2; exit 2 ;;
  esac
done

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target gguf_reader_fuzz make_gguf_corpus

work=build/fuzz/corpus/gguf
seed=build/fuzz/seed/gguf
artifacts=build/fuzz/artifacts
mkdir -p "$work" "$seed" "$artifacts"
build/fuzz/tools/gguf_corpus/make_gguf_corpus "$seed"
build/fuzz/fuzz/gguf_reader_fuzz \
  -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
  -dict=fuzz/gguf.dict -artifact_prefix="$artifacts/" -print_final_stats=1 \
  "$work" "$seed"
