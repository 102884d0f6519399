#!/usr/bin/env bash
# Installs dependencies, builds the pensieve binary and serves a model on 127.0.0.1:7777:
# PENSIEVE_MODEL if set (a GGUF path or an ORG/REPO[:QUANT] reference), else the default model,
# fetched into the Hugging Face cache on the first run (`pensieve pull`). When the hub cannot be
# reached it serves the bundled random-weight test model and says so.
# Extra arguments go to `pensieve serve` (for example --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release
cmake --build --preset release --target pensieve -j "$(nproc)"

pensieve=build/release/src/cli/pensieve
fixture="$(cd .. && pwd)/shared/fixtures/models/qwen3-q8_0.gguf"
if [[ -n "${PENSIEVE_MODEL:-}" ]]; then
  model="$PENSIEVE_MODEL"
elif model="$("$pensieve" pull | head -n 1)" && [[ -n "$model" ]]; then
  :
else
  {
    echo "serve.sh: the default model could not be fetched (see above): is the Hugging Face hub reachable?"
    echo "serve.sh: serving the bundled RANDOM-WEIGHT TEST MODEL instead: it runs the whole engine, but"
    echo "serve.sh: its answers are gibberish. For a real model, once online: scripts/serve.sh again,"
    echo "serve.sh: or PENSIEVE_MODEL=ORG/REPO:QUANT scripts/serve.sh (with --pull), or a GGUF file path."
  } >&2
  model="$fixture"
fi
exec "$pensieve" serve --model "$model" "$@"
