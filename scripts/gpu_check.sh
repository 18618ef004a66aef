#!/usr/bin/env bash
# The whole GPU check in one command, within ten minutes (BUDGET, default 590 s) on one
# H100/H200 with 16 cores: first the figures (scripts/bench_gpu.py; beside it the kernels'
# static table, scripts/kernel_stats.py: ptxas -v registers, local memory and spills, and SASS
# counts where cuobjdump/nvdisasm are found; then scripts/bench_aggregate.py), then the test
# suite on the GPU with the time left (its real-GPU tests included; the CUDA-simulator suite,
# CPU work that CI runs, left out), every figure into $OUT (default ./gpu-check).
#
# Needs: an NVIDIA GPU, and swarm installed with its test extra and the CUDA extra matching the
# driver (pip install -e '.[test,cuda12]' or '.[test,cuda13]'); pytest-xdist, when installed,
# runs the suite in parallel. On a machine without package access, carry the wheels (numpy
# below 2.5 for numba-cuda 0.30, dask, coco-experiment) and put them on PYTHONPATH first.
#
# Usage: bash scripts/gpu_check.sh [bench_gpu.py arguments, default --n 100000000 --steps 100]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-check}
PY=${PYTHON:-python3}              # the interpreter that has swarm installed
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
{ nvidia-smi -L || echo "nvidia-smi: not found"; "$PY" -c "import sys, numba, numpy; print(sys.version.split()[0], 'numba',
numba.__version__, 'numpy', numpy.__version__)"; git rev-parse --short HEAD 2>/dev/null || true
} 2>&1 | tee "$OUT/machine.txt"
"$PY" -c "from numba import cuda; assert cuda.is_available(), 'no CUDA device is visible'"
# Within ten minutes: the figures first (they need the GPU), then the suite with the time left.
# kernel_stats.py (static ptxas/SASS table, CPU compilations, about a minute) runs beside
# bench_gpu.py, which keeps the GPU and one host core busy.
BUDGET=${BUDGET:-590}                  # seconds for the whole check
timeout 150 "$PY" scripts/kernel_stats.py --json "$OUT/kernel_stats.json" \
    >"$OUT/kernel_stats.txt" 2>/dev/null &
stats=$!
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--n 100000000 --steps 100)
timeout 240 "$PY" scripts/bench_gpu.py "${args[@]}" --json "$OUT/bench_gpu.json" 2>&1 \
    | tee "$OUT/bench_gpu.txt" || true
wait "$stats" || true
cat "$OUT/kernel_stats.txt"
# the host's share of a chunk, part by part (host aggregation vs what is left after the GPU's)
timeout 60 "$PY" scripts/bench_aggregate.py --threads 1,2,16 2>&1 | tee "$OUT/bench_aggregate.txt" \
    || true
# the suite on the GPU (its real-GPU tests included; the CUDA-simulator suite is CPU work that
# CI runs, so it is left out here), in parallel when pytest-xdist is installed
par=()
if "$PY" -c "import xdist" 2>/dev/null; then
    par=(-n "$("$PY" -c 'import os; print(max(1, min(16, os.cpu_count() // 2)))')")
fi
left=$(( BUDGET - SECONDS ))
[ "$left" -lt 120 ] && left=120
set +e
NUMBA_NUM_THREADS=2 timeout "$left" "$PY" -m pytest -q -rfEs "${par[@]}" \
    -k "not simulator_parity_suite" 2>&1 | tee "$OUT/pytest.txt"
suite=${PIPESTATUS[0]}
set -e
echo "suite exit status $suite; figures in $OUT/"
exit "$suite"
