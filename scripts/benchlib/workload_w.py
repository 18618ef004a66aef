"""Workload W: swarm's CPU engine against the NumPy references, one row per dtype (:func:`run`).

For each dtype, in the same run:

- swarm: ``swarm.run(..., dtype=...)``, million trajectory-steps/s from the engine's own kernel
  timing (``res.provenance["timings"]["kernel_s"]``) and the wall time of the call; median of
  ``repeats`` after a warm-up call;
- NumPy: arrays of shape (N, 2), a Python loop over steps (gradient of the same instance, Adam,
  noise from ``numpy.random.default_rng`` in the same dtype); one thread, median of ``repeats``;
  timed three ways (:func:`.measure.time_numpy`): the trajectories alone on whole arrays
  (:func:`.references.numpy_adam_rastrigin`, ``ratio``), the same in blocks of ``W_BLOCK`` rows
  that stay in cache (``ratio_blocked``), and computing the same per-trajectory outcomes as
  swarm's study, in blocks (:func:`.references.numpy_rastrigin_study`, ``ratio_study``), whose
  P(global), P(escape) and mean best f are printed next to swarm's;
- correctness: without noise, a few fixed start points through ``swarm.path`` and through the
  NumPy reference must end at the same positions (float64: ~1e-9 after 100 steps);
- optionally (``compile_check``) the first-call time in a fresh process with an empty
  ``SWARM_CACHE_DIR`` and the start time of a second process with that cache warm.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import swarm
from swarm import landscapes, optimizers

from .measure import _ratios, _study_rates, time_numpy, time_swarm
from .references import W_BLOCK, numpy_adam_rastrigin, numpy_rastrigin_study, rastrigin_f
from .workloads import ADAM, SIGMA, WORKLOAD, instance, shift


WARM_START_LIMIT_S = 2.0


def correctness(dtype="float64", steps=100, n_starts=8, seed=0):
    """Max |x_swarm − x_numpy| over a few fixed starts after ``steps`` noiseless steps."""
    inst = instance(seed)
    opt = optimizers.adam(**ADAM)
    x0 = np.random.default_rng(12345).uniform(inst.domain[0], inst.domain[1],
                                              (n_starts, inst.dim))
    ours = np.stack([swarm.path(inst, opt, x, steps, dtype=dtype)[-1] for x in x0])
    ref = numpy_adam_rastrigin(x0.astype(dtype), shift(inst), steps, 0.0, dtype)
    dev = np.abs(ours - ref.astype(np.float64))
    return float(np.max(dev)) if np.all(np.isfinite(dev)) else float("inf")


def bench_swarm(n, steps, dtype, repeats, seed=0, threads=None):
    study = dict(instances=1, starts=n, steps=steps, noise=SIGMA, seed=seed, dtype=dtype,
                 threads=threads)
    fam, opt = landscapes.rastrigin(dim=2), optimizers.adam(**ADAM)
    return time_swarm(fam, opt, study, repeats, warm_starts=1000, warm_steps=10)


def bench_numpy(n, steps, dtype, repeats, seed=0, log=None):
    """W's NumPy references (:func:`time_numpy`): :func:`numpy_adam_rastrigin` and
    :func:`numpy_rastrigin_study`, blocks of ``W_BLOCK`` rows."""
    inst = instance(seed)
    x0 = np.random.default_rng(seed).uniform(inst.domain[0], inst.domain[1],
                                             (n, inst.dim)).astype(dtype)
    t = time_numpy(x0, lambda x, i, *a: numpy_adam_rastrigin(x, shift(i), *a),
                   numpy_rastrigin_study, inst, W_BLOCK, steps, SIGMA, dtype, repeats, seed, log)
    f = rastrigin_f(t.pop("x"), shift(inst))
    rates = _study_rates(t.pop("outcomes"), "numpy")
    return {**t, "numpy_mean_final_f": float(np.mean(f)),
            "numpy_sem_final_f": float(np.std(f) / math.sqrt(f.size)), **rates}


_TINY = """
import json, time
t0 = time.perf_counter()
import swarm
from swarm import landscapes, optimizers
t1 = time.perf_counter()
swarm.run(landscapes.rastrigin(dim=2), optimizers.adam(lr=0.05), instances=1, starts=100,
          steps=10, dtype={dtype!r})
t2 = time.perf_counter()
print("BENCH" + json.dumps({{"import_s": t1 - t0, "first_run_s": t2 - t1}}))
"""


def _tiny_process(dtype, cache_dir):
    env = {**os.environ, "SWARM_CACHE_DIR": cache_dir}
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _TINY.format(dtype=dtype)], env=env,
                         capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("BENCH")][-1]
    return {"process_s": wall, **json.loads(line[5:])}


def startup(dtype):
    """Fresh process, empty cache (compiles), then a second process with that cache warm."""
    with tempfile.TemporaryDirectory(prefix="swarm-bench-cache-") as d:
        cold = _tiny_process(dtype, d)
        warm = _tiny_process(dtype, d)
    return {"cold_process_s": cold["process_s"], "cold_first_run_s": cold["first_run_s"],
            "warm_process_s": warm["process_s"], "warm_import_s": warm["import_s"],
            "warm_first_run_s": warm["first_run_s"],
            "warm_start_ok": warm["process_s"] < WARM_START_LIMIT_S}


def run(n=1_000_000, steps=100, dtypes=("float64", "float32"), repeats=3, *,
        compile_check=True, check_steps=100, check_starts=8, seed=0, threads=None,
        log=None) -> list[dict]:
    """Run the benchmark; one row (dict) per dtype. Throughputs in million trajectory-steps
    per second (``*_mtsps``); ``ratio`` = swarm / NumPy (the trajectories alone, whole
    arrays), ``ratio_blocked`` = the same in blocks of rows, ``ratio_study`` = swarm / NumPy
    computing the same outcomes as swarm's study (:func:`numpy_rastrigin_study`, in blocks);
    ``check_max_dev``: max |Δx| between swarm.path and the NumPy reference after
    ``check_steps`` noiseless steps."""
    log = log or (lambda msg: None)
    rows = []
    for dtype in dtypes:
        row = {"workload": WORKLOAD, "dtype": dtype, "n": n, "steps": steps, "repeats": repeats}
        log(f"[{dtype}] correctness check ({check_starts} starts, {check_steps} steps)")
        row["check_steps"] = check_steps
        row["check_max_dev"] = correctness(dtype, check_steps, check_starts, seed)
        log(f"[{dtype}] swarm: N={n:,}, {steps} steps, {repeats} repeats")
        row.update(bench_swarm(n, steps, dtype, repeats, seed, threads))
        row.update(bench_numpy(n, steps, dtype, repeats, seed, log))
        _ratios(row)
        if compile_check:
            log(f"[{dtype}] compile time in a fresh process (empty cache), then warm start")
            row.update(startup(dtype))
        rows.append(row)
    return rows
