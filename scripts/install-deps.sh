#!/usr/bin/env bash
# Installs everything pensieve needs to build, test and serve on Debian 12.
# Idempotent: packages already present are left as they are.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  clang libclang-rt-14-dev            # libFuzzer harness and sanitizers
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libboost1.81-dev libcpp-httplib-dev libcli11-dev libspdlog-dev libfmt-dev
  libicu-dev
  libedit-dev                         # pensieve chat: line editing and history
  libcurl4-openssl-dev libssl-dev     # pull: downloads from the Hugging Face hub, SHA-256 checks
  procps util-linux                   # ps/free, and cgroup tooling for memory tests
  tmux                                # drives pensieve chat through a real terminal in tests
)

# Node runs the e2e tests with the official Anthropic SDK; a machine that already has a
# Node (with its own npm) keeps it, since Debian's npm conflicts with those builds.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
