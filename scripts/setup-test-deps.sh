#!/usr/bin/env bash
# Everything the test suite needs beyond the Rust toolchain:
#  - a real llama.cpp server and small models in .llama/ (setup-llama-server.sh);
#  - headless Chromium (Debian's `chromium` package) for the HTML report's
#    browser test;
#  - Slurm and MUNGE (Debian's `slurm-wlm` and `munge`) for the sharding test,
#    which starts its own one-node cluster (as root).
# Each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-llama-server.sh

# apt_install NAME COMMAND PACKAGE...: install the packages unless COMMAND exists.
apt_install() {
    local name=$1 probe=$2
    shift 2
    if command -v "$probe" >/dev/null 2>&1; then
        echo "$name: $(command -v "$probe")"
    elif command -v apt-get >/dev/null 2>&1; then
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        local start
        start=$(date +%s)
        # The lists may be stale on a fresh machine: update once if the install fails.
        $sudo apt-get install -y -q "$@" >/dev/null 2>&1 \
            || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q "$@" >/dev/null; }
        echo "$name: installed in $(( $(date +%s) - start ))s"
    else
        echo "$name: not found and no apt-get; its tests will be skipped" >&2
    fi
}

apt_install chromium chromium chromium
apt_install slurm sbatch slurm-wlm munge
apt_install munge munged munge
