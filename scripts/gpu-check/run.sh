#!/usr/bin/env bash
# The GPU memory check, for a machine with an NVIDIA driver and PyTorch:
# runs experiment.yaml with a release build and checks that NVML saw the
# held memory on the device and, where the driver lists processes, in the
# server's own share. Writes what it found to ${OUT:-/tmp/gpu-check}.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$here/../../target/release/infer-bench
out=${OUT:-/tmp/gpu-check}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total --format=csv | tee "$out/nvidia-smi.txt"
rm -rf /tmp/gpu-check-runs
# The driver's own view of who holds memory, to compare with the attribution.
nvidia-smi --query-compute-apps=timestamp,pid,process_name,used_memory --format=csv -l 1 >"$out/compute-apps.csv" &
watcher=$!
"$bin" run "$here/experiment.yaml" --out /tmp/gpu-check-runs 2>&1 | tee "$out/run.log"
kill $watcher || true
run=$(ls -d /tmp/gpu-check-runs/gpu-check/*/ | head -1)
cp "$run/manifest.json" "$run/summary.csv" "$run/monitor.jsonl" "$out/"
python3 - "$run" <<'PY' | tee "$out/verdict.txt"
import json, sys, collections
run = sys.argv[1]
manifest = json.load(open(f"{run}/manifest.json"))
print("manifest gpu:", manifest.get("gpu"))
plan = {}
for line in open(f"{run}/plan.jsonl"):
    t = json.loads(line)
    plan[t["trial"]["index"]] = t["configuration"]
peak = collections.defaultdict(lambda: collections.defaultdict(float))
for line in open(f"{run}/monitor.jsonl"):
    s = json.loads(line)
    if s["source"] == "gpu":
        p = peak[s["trial"]]
        p[s["name"]] = max(p[s["name"]], s["value"])
ok = bool(peak) and "×" in (manifest.get("gpu") or "")
by_gib = collections.defaultdict(list)
for trial, p in sorted(peak.items()):
    gib = plan[trial]["values"]["gpu_gib"]
    by_gib[gib].append(p)
    print(f"trial {trial} gpu_gib={gib}: device {p.get('gpu_memory_used_mb')} MB, server {p.get('gpu_server_memory_mb')} MB")
for gib in (1, 3):
    for p in by_gib[gib]:
        # The held tensor alone is gib GiB; the CUDA context adds a few hundred MB.
        ok &= p.get("gpu_memory_used_mb", 0) >= gib * 1073.7
        server = p.get("gpu_server_memory_mb")
        if server is not None:
            ok &= gib * 1073.7 <= server <= gib * 1073.7 + 2000
print("attributed to the server:", any("gpu_server_memory_mb" in p for p in peak.values()))
print("GPU CHECK", "PASSED" if ok else "FAILED")
sys.exit(0 if ok else 1)
PY
"$bin" report "$run" | tail -20
