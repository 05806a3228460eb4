#!/usr/bin/env bash
# Everything the test suite needs beyond the Rust toolchain:
#  - a real llama.cpp server and small models in .llama/ (setup-llama-server.sh);
#  - headless Chromium (Debian's `chromium` package) for the HTML report's
#    browser test.
# Each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-llama-server.sh

if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    echo "chromium: $(command -v chromium || command -v chromium-browser)"
elif command -v apt-get >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    start=$(date +%s)
    # The lists may be stale on a fresh machine: update once if the install fails.
    $sudo apt-get install -y -q chromium >/dev/null 2>&1 \
        || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q chromium >/dev/null; }
    echo "chromium: installed in $(( $(date +%s) - start ))s"
else
    echo "chromium: not found and no apt-get; the browser test will be skipped" >&2
fi
