"""The machine's floating-point peak from a numba FMA loop, and swarm's fraction of it on W
(``W_FLOPS`` flops per trajectory-step, counted in ``docs/benchmark.md``)."""
from __future__ import annotations

import time

import numpy as np


_FMA_CACHE = {}

# flops per trajectory-step of W in swarm's kernel, counted in docs/benchmark.md
# (gradient with polynomial sin, f each step with polynomial cos, Box-Muller noise with polynomial
# log/sin/cos, Adam with bias corrections, box check), Philox's ≈ 80 integer ops not counted
W_FLOPS = {"float32": 185.0, "float64": 230.0}


def _fma_kernel():
    """prange over threads; each runs a ← a·b + c sixteen times per load/store over a row of
    256 lanes: the lane loop vectorises and out-of-order execution overlaps the chains of
    different lanes, so the FMA pipes, not memory, bound it."""
    if "k" not in _FMA_CACHE:
        import numba

        @numba.njit(parallel=True, fastmath={"contract"}, error_model="numpy", cache=False)
        def fma(acc, reps, b, c):
            for t in numba.prange(acc.shape[0]):
                a = acc[t]
                for _ in range(reps):
                    for k in range(a.shape[0]):
                        v = a[k]
                        v = v * b + c; v = v * b + c; v = v * b + c; v = v * b + c  # noqa: E702
                        v = v * b + c; v = v * b + c; v = v * b + c; v = v * b + c  # noqa: E702
                        v = v * b + c; v = v * b + c; v = v * b + c; v = v * b + c  # noqa: E702
                        v = v * b + c; v = v * b + c; v = v * b + c; v = v * b + c  # noqa: E702
                        a[k] = v
        _FMA_CACHE["k"] = fma
    return _FMA_CACHE["k"]


def fma_peak(dtype="float64", seconds=0.5) -> float:
    """Measured floating-point peak of this machine (GFLOP/s, 2 flops per FMA) on all numba
    threads: a tiny vectorisable FMA loop, best of 3."""
    import numba
    F = np.dtype(dtype).type
    fma = _fma_kernel()
    th = numba.get_num_threads()
    acc = np.full((th, 256), 0.5, dtype=F)
    b, c = F(0.999999), F(1e-7)
    fma(acc, 10, b, c)
    reps = 100
    while True:                                    # calibrate to ~seconds/3 per call
        t0 = time.perf_counter()
        fma(acc, reps, b, c)
        dt = time.perf_counter() - t0
        if dt > seconds / 3 or reps > 1 << 30:
            break
        reps *= 4
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        fma(acc, reps, b, c)
        dt = time.perf_counter() - t0
        best = max(best, 2.0 * 16 * th * 256 * reps / dt / 1e9)
    return best


def run_peak(dtypes=("float64", "float32"), swarm_rows=(), seconds=0.5) -> list[dict]:
    """Measured FMA peak per dtype and swarm's fraction of it on W (``W_FLOPS`` flops per
    trajectory-step × swarm's trajectory-steps/s)."""
    out = []
    sw = {r["dtype"]: r["swarm_mtsps"] for r in swarm_rows}
    for dtype in dtypes:
        row = {"dtype": dtype, "peak_gflops": fma_peak(dtype, seconds),
               "flops_per_traj_step": W_FLOPS[dtype]}
        if dtype in sw:
            row["swarm_gflops"] = sw[dtype] * 1e6 * W_FLOPS[dtype] / 1e9
            row["fraction"] = row["swarm_gflops"] / row["peak_gflops"]
        out.append(row)
    return out
