#!/usr/bin/env bash
# Installs dependencies, builds the pensieve binary and starts it on the bundled default model.
# Extra arguments go to `pensieve serve` (for example --port 8080 or --model PATH).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release
cmake --build --preset release --target pensieve -j "$(nproc)"

model="${PENSIEVE_MODEL:-$(cd .. && pwd)/shared/fixtures/models/qwen3-q8_0.gguf}"
exec build/release/src/cli/pensieve serve --model "$model" "$@"
