#!/usr/bin/env bash
# Every GPU check of lightviz in one sitting of about 8 minutes, for a session lent a machine
# with an NVIDIA GPU (issue 19, item 6), run from the repository root:
#   1. benchmarks/cuda_check.py: the lab's CUDA paths (eager / CUDA graph, fp32 / fp16, batch 1
#      and 64), per-layer CUDA events, a Timer cross-check, a kernel calibration's per-op passes
#      summed beside the whole network, the out-of-memory path;
#   2. benchmarks/predict_accuracy.py --device cuda (30 s calibrations, 12 + 12 + 6 held-out
#      points, one pass): the kernel latency model calibrated and scored for eager and CUDA
#      graph, fp32 and fp16, each setup reported and written to JSON as it finishes.
# Needs a python3 with torch (CUDA) and numpy, nothing else (no install: the benchmarks put the
# repository on sys.path). Logs and JSON go to $OUT (default /tmp/lightviz-gpu).
set -u -o pipefail
OUT=${OUT:-/tmp/lightviz-gpu}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 LIGHTVIZ_LOCK_DIR="$OUT/lock" LIGHTVIZ_CACHE_DIR="$OUT/cache"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv 2>&1 | tee "$OUT/gpu.txt"
rc=0
timeout 150 "$PY" benchmarks/cuda_check.py --budget 0.5 --json "$OUT/cuda_check.json" 2>&1 \
    | tee "$OUT/cuda_check.log" || rc=1
timeout 400 "$PY" benchmarks/predict_accuracy.py --device cuda --budget 30 --configs 12 --plugin 6 \
    --point-budget 0.3 --passes 1 --json "$OUT/predict_cuda.json" 2>&1 | tee "$OUT/predict_cuda.log" || rc=1
exit $rc
