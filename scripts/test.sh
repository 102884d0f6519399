#!/usr/bin/env bash
# Builds and runs the whole test suite: the release build's unit, integration and e2e tests,
# then a second build under ASan+UBSan running the unit tests, then a short fuzz run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
# The end-to-end tests' npm packages (official Anthropic SDK, Claude Code), pinned by the lock file.
(cd tests/e2e/anthropic && npm ci --no-audit --no-fund --loglevel=error)
(cd tests/e2e/openai && npm ci --no-audit --no-fund --loglevel=error)
# The reference tokenizers (real tokenizer.json files and transformers.js), pinned the same way.
(cd tests/integration/tokenizer_reference && npm ci --no-audit --no-fund --loglevel=error)
jobs=$(nproc)

cmake --preset release
cmake --build --preset release -j "$jobs"
ctest --preset release -j "$jobs"

cmake --preset asan
cmake --build --preset asan -j "$jobs"
ctest --preset asan -j "$jobs"

if [ -x scripts/fuzz.sh ]; then
  scripts/fuzz.sh --seconds "${PENSIEVE_FUZZ_SECONDS:-60}"
fi
