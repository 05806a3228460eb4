#!/usr/bin/env bash
# Build the pip wheel of the infer-bench binary into dist/ (or $OUT) with
# maturin, installed on first use into its own virtual environment.
#
#   scripts/build-wheel.sh                # release build: what users install
#   PROFILE=dev scripts/build-wheel.sh    # a quick debug build (the wheel test's)
#
# The wheel is tagged for this machine's glibc; `pip install dist/*.whl`.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${MATURIN_VENV:-$HOME/.cache/infer-bench/maturin}
if [ ! -x "$venv/bin/maturin" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "maturin>=1.5,<2"
fi
"$venv/bin/maturin" build --profile "${PROFILE:-release}" --locked --out "${OUT:-dist}" "$@"
