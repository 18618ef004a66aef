"""What every benchmark shares: the machine's description, the progress log, median timing of
swarm (:func:`time_swarm`) and of the NumPy references (:func:`time_numpy`), throughputs and
ratios, and a study's rates."""
from __future__ import annotations

import math
import os
import platform
import statistics
import sys
import time

import numpy as np

import swarm

from .references import in_blocks


def _log(msg):
    print(msg, file=sys.stderr, flush=True)


def machine() -> dict:
    """CPU model, cores, SIMD flags and library versions."""
    import numba
    info = {"cpu": platform.processor() or platform.machine(), "cpu_family": None,
            "cpu_model": None, "flags": []}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, val = line.partition(":")
                key, val = key.strip(), val.strip()
                if key == "model name" and info["cpu"] in ("", platform.machine(),
                                                           platform.processor()):
                    info["cpu"] = val
                elif key == "cpu family" and info["cpu_family"] is None:
                    info["cpu_family"] = val
                elif key == "model" and info["cpu_model"] is None:
                    info["cpu_model"] = val
                elif key == "flags" and not info["flags"]:
                    have = set(val.split())
                    info["flags"] = [f for f in ("avx2", "fma", "avx512f") if f in have]
    except OSError:
        pass
    try:
        info["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        info["loadavg"] = None
    info.update(cores=os.cpu_count(), numba_threads=numba.get_num_threads(),
                numba=numba.__version__, numpy=np.__version__,
                python=platform.python_version(), platform=platform.platform())
    try:
        from swarm.kernels import cache
        info["kernel_source_hash"] = cache.source_hash()
    except Exception:   # noqa: BLE001 - provenance only
        info["kernel_source_hash"] = None
    return info


def _median_time(call, repeats, seed):
    """Median wall time of ``call(rng)`` over ``repeats`` calls, the r-th with
    ``default_rng([seed, r])``, and the last call's result."""
    times, out = [], None
    for r in range(repeats):
        rng = np.random.default_rng([seed, r])
        t0 = time.perf_counter()
        out = call(rng)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def time_swarm(fam, opt, study, repeats, warm_starts, warm_steps) -> dict:
    """``swarm.run(fam, opt, **study)`` ``repeats`` times after a warm-up call of at most
    ``warm_starts`` starts and ``warm_steps`` steps: the median kernel time (the engine's own
    timing) and wall time, the threads used, and the last call's mean final f (with its standard
    error) and study rates, under ``swarm_*`` names."""
    swarm.run(fam, opt, **{**study, "starts": min(study["starts"], warm_starts),
                           "steps": min(study["steps"], warm_steps)})            # warm-up
    kernel, wall, res = [], [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = swarm.run(fam, opt, **study)
        wall.append(time.perf_counter() - t0)
        kernel.append(res.provenance["timings"]["kernel_s"])
    f = res.outcomes["final_f"].astype(np.float64)
    return {"swarm_kernel_s": statistics.median(kernel), "swarm_wall_s": statistics.median(wall),
            "swarm_mean_final_f": float(np.mean(f)),
            "swarm_sem_final_f": float(np.std(f) / math.sqrt(f.size)),
            "swarm_threads": res.provenance["threads"], **_study_rates(res.outcomes, "swarm")}


def time_numpy(x0, traj, study, arg, block, steps, sigma, dtype, repeats, seed=0, log=None):
    """A workload's NumPy references on the same starts x0, median of ``repeats`` each:
    ``numpy_s``, the trajectories alone on whole arrays (``traj(x0, arg, steps, sigma, dtype,
    rng)``, the plain vectorised loop); ``numpy_blocked_s``, the same in blocks of ``block``
    rows; ``numpy_study_s``, the same outcomes as swarm's study (``study``) in blocks.
    Also the plain run's final positions (``x``) and the study's outcomes (``outcomes``)."""
    log = log or (lambda msg: None)
    out = {}
    for name, ref, blk in (("numpy", traj, None), ("numpy_blocked", traj, block),
                           ("numpy_study", study, block)):
        def call(x, k, rng=None):
            if blk is None:
                return ref(x, arg, k, sigma, dtype, rng)
            return in_blocks(ref, x, blk, arg, k, sigma, dtype, rng)
        log(f"[{dtype}] {name}: N={x0.shape[0]:,}, {steps} steps, {repeats} repeats")
        call(x0[:min(len(x0), 2 * block)], min(steps, 5))                 # warm-up
        out[f"{name}_s"], res = _median_time(lambda rng: call(x0, steps, rng), repeats, seed)
        if name != "numpy_blocked":
            out["outcomes" if ref is study else "x"] = res
    return out


def _ratios(row):
    """M traj-steps/s of swarm and of each NumPy variant timed, and swarm / each."""
    work = row["n"] * row["steps"] / 1e6
    row["swarm_mtsps"] = work / row["swarm_kernel_s"]
    row["swarm_wall_mtsps"] = work / row["swarm_wall_s"]
    for name, tag in (("numpy", ""), ("numpy_blocked", "_blocked"), ("numpy_study", "_study")):
        row[f"{name}_mtsps"] = work / row[f"{name}_s"]
        row[f"ratio{tag}"] = row["swarm_mtsps"] / row[f"{name}_mtsps"]


def _rate(x):
    """(proportion, its standard error) of a boolean array."""
    p = float(np.mean(x))
    return p, math.sqrt(max(p * (1 - p), 1e-12) / x.size)


def _study_rates(o, prefix) -> dict:
    """P(end in the global basin), P(escape) and mean best f of a study's outcomes, each with
    its standard error, under ``prefix``."""
    eb, sb = o["end_basin"], o["start_basin"]
    best = o["best_f"].astype(np.float64)
    return {f"{prefix}_p_global": _rate(eb == 0), f"{prefix}_p_escape": _rate(eb != sb),
            f"{prefix}_best_f": (float(np.mean(best)), float(np.std(best) / math.sqrt(best.size)))}
