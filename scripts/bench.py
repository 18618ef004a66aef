"""Benchmark: swarm's CPU engine against a NumPy vectorised reference on the standard workload.

Workload W (``../shared/reference/performance.md``): 2-D Rastrigin (``landscapes.rastrigin(dim=2)``,
one instance, no rotation), Adam (lr 0.05, β 0.9/0.999, ε 1e-8, bias-corrected), Gaussian
gradient noise σ = 0.5, starts uniform in the domain [−5.12, 5.12]², N = 10⁶ trajectories.

For each dtype, in the same run:

- swarm: ``swarm.run(..., dtype=...)``, million trajectory-steps/s from the engine's own kernel
  timing (``res.provenance["timings"]["kernel_s"]``) and the wall time of the call; median of
  ``repeats`` after a warm-up call;
- NumPy: arrays of shape (N, 2), a Python loop over steps (gradient of the same instance, Adam,
  noise from ``numpy.random.default_rng`` in the same dtype); one thread, median of ``repeats``;
- correctness: without noise, a few fixed start points through ``swarm.path`` and through the
  NumPy reference must end at the same positions (float64: ~1e-9 after 100 steps);
- optionally (``compile_check``) the first-call time in a fresh process with an empty
  ``SWARM_CACHE_DIR`` and the start time of a second process with that cache warm.

Usage::

    python scripts/bench.py [--n 1000000] [--steps 100] [--repeats 3] [--no-compile-check]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import swarm
from swarm import landscapes, optimizers
from swarm.kernels import ids

WORKLOAD = "rastrigin-2d adam σ=0.5"
ADAM = dict(lr=0.05, b1=0.9, b2=0.999, eps=1e-8)
SIGMA = 0.5
WARM_START_LIMIT_S = 2.0


def _log(msg):
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- machine
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


# ----------------------------------------------------------------------------- workload
def instance(seed: int = 0):
    """The benchmark's landscape instance: the one swarm.run(..., instances=1, seed) uses."""
    return landscapes.rastrigin(dim=2).instance(seed, 0)


def shift(inst) -> np.ndarray:
    """s of an unrotated shifted instance: f(x) = h(x − s)."""
    if inst.params[ids.LP_ROTATED] != 0:
        raise ValueError("the NumPy reference handles unrotated instances only")
    return inst.params[ids.LP_HEAD:ids.LP_HEAD + inst.dim].copy()


def numpy_adam_rastrigin(x0, s, steps, sigma=0.0, dtype="float64", rng=None, lr=ADAM["lr"],
                         b1=ADAM["b1"], b2=ADAM["b2"], eps=ADAM["eps"]):
    """NumPy vectorised reference: Adam on Rastrigin h(z) = 10d + Σ(zᵢ² − 10 cos 2πzᵢ),
    z = x − s, for every row of ``x0`` (shape (N, dim)); returns the final positions.

    Written the way a careful NumPy user would (preallocated buffers, in-place ufuncs, one
    thread) and in the same operation order as swarm's kernel, so that without noise the two
    agree to rounding: g = 2z + (20π)·sin(2πz); m ← β1·m + (1−β1)·g;
    v ← β2·v + ((1−β2)·g)·g;
    x ← x − lr·(m/(1−β1ᵗ)) / (√(v/(1−β2ᵗ)) + ε)."""
    F = np.dtype(dtype).type
    x = np.array(x0, dtype=F, copy=True)
    s = np.asarray(s, dtype=F)
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    z = np.empty_like(x)
    a = np.empty_like(x)
    g = np.empty_like(x)
    tmp = np.empty_like(x)
    noise = np.empty_like(x) if sigma else None
    if sigma and rng is None:
        rng = np.random.default_rng(0)
    one, two = F(1.0), F(2.0)
    two_pi = F(2.0 * math.pi)
    c20pi = F(20.0) * F(math.pi)
    lr, b1, b2, eps, sig = F(lr), F(b1), F(b2), F(eps), F(sigma)
    c1, c2 = one - b1, one - b2
    for t in range(1, steps + 1):
        np.subtract(x, s, out=z)
        np.multiply(z, two_pi, out=a)
        np.sin(a, out=a)
        np.multiply(a, c20pi, out=a)
        np.multiply(z, two, out=g)
        np.add(g, a, out=g)
        if sigma:
            rng.standard_normal(out=noise, dtype=F)
            np.multiply(noise, sig, out=noise)
            np.add(g, noise, out=g)
        bc1 = one - b1 ** F(t)
        bc2 = one - b2 ** F(t)
        np.multiply(m, b1, out=m)
        np.multiply(g, c1, out=tmp)
        np.add(m, tmp, out=m)
        np.multiply(v, b2, out=v)
        np.multiply(g, c2, out=tmp)
        np.multiply(tmp, g, out=tmp)
        np.add(v, tmp, out=v)
        np.divide(v, bc2, out=tmp)
        np.sqrt(tmp, out=tmp)
        np.add(tmp, eps, out=tmp)
        np.divide(m, bc1, out=a)
        np.multiply(a, lr, out=a)
        np.divide(a, tmp, out=a)
        np.subtract(x, a, out=x)
    return x


def rastrigin_f(x, s):
    z = np.asarray(x, dtype=np.float64) - s
    return 10.0 * z.shape[1] + np.sum(z * z - 10.0 * np.cos(2.0 * math.pi * z), axis=1)


# ----------------------------------------------------------------------------- measurements
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
    swarm.run(fam, opt, **{**study, "starts": min(n, 1000), "steps": min(steps, 10)})  # warm-up
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
            "swarm_threads": res.provenance["threads"]}


def bench_numpy(n, steps, dtype, repeats, seed=0):
    inst = instance(seed)
    s = shift(inst)
    x0 = np.random.default_rng(seed).uniform(inst.domain[0], inst.domain[1],
                                             (n, inst.dim)).astype(dtype)
    numpy_adam_rastrigin(x0[:1000], s, min(steps, 10), SIGMA, dtype)  # warm-up
    times, x = [], None
    for r in range(repeats):
        rng = np.random.default_rng([seed, r])
        t0 = time.perf_counter()
        x = numpy_adam_rastrigin(x0, s, steps, SIGMA, dtype, rng)
        times.append(time.perf_counter() - t0)
    f = rastrigin_f(x, s)
    return {"numpy_s": statistics.median(times), "numpy_mean_final_f": float(np.mean(f)),
            "numpy_sem_final_f": float(np.std(f) / math.sqrt(f.size))}


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
    per second (``*_mtsps``); ``ratio`` = swarm / NumPy; ``check_max_dev``: max |Δx| between
    swarm.path and the NumPy reference after ``check_steps`` noiseless steps."""
    log = log or (lambda msg: None)
    rows = []
    for dtype in dtypes:
        row = {"workload": WORKLOAD, "dtype": dtype, "n": n, "steps": steps, "repeats": repeats}
        log(f"[{dtype}] correctness check ({check_starts} starts, {check_steps} steps)")
        row["check_steps"] = check_steps
        row["check_max_dev"] = correctness(dtype, check_steps, check_starts, seed)
        log(f"[{dtype}] swarm: N={n:,}, {steps} steps, {repeats} repeats")
        row.update(bench_swarm(n, steps, dtype, repeats, seed, threads))
        log(f"[{dtype}] numpy: N={n:,}, {steps} steps, {repeats} repeats")
        row.update(bench_numpy(n, steps, dtype, repeats, seed))
        work = n * steps / 1e6
        row["swarm_mtsps"] = work / row["swarm_kernel_s"]
        row["swarm_wall_mtsps"] = work / row["swarm_wall_s"]
        row["numpy_mtsps"] = work / row["numpy_s"]
        row["ratio"] = row["swarm_mtsps"] / row["numpy_mtsps"]
        if compile_check:
            log(f"[{dtype}] compile time in a fresh process (empty cache), then warm start")
            row.update(startup(dtype))
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------- report
def table(rows) -> str:
    head = ("| workload | dtype | swarm M traj-steps/s (kernel) | swarm M/s (wall) | "
            "NumPy M traj-steps/s | ratio swarm/NumPy |")
    lines = [head, "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['workload']} | {r['dtype']} | {r['swarm_mtsps']:.1f} | "
                     f"{r['swarm_wall_mtsps']:.1f} | {r['numpy_mtsps']:.1f} | {r['ratio']:.2f} |")
    return "\n".join(lines)


def report(rows, info) -> str:
    out = [f"machine: {info['cpu']} (family {info['cpu_family']}, model {info['cpu_model']}), "
           f"{info['cores']} cores, SIMD {'/'.join(info['flags']) or '?'}, numba "
           f"{info['numba']} ({info['numba_threads']} threads), numpy {info['numpy']}, "
           f"python {info['python']}; kernel sources {info.get('kernel_source_hash')}"]
    if info.get("loadavg") is not None:
        out.append(f"load average (1/5/15 min) before: {info['loadavg']}, after: "
                   f"{[round(x, 2) for x in os.getloadavg()]}  (other processes on the machine "
                   f"distort the numbers; run it on an idle machine)")
    out.append("")
    r0 = rows[0]
    out.append(f"N = {r0['n']:,} trajectories, {r0['steps']} steps, median of {r0['repeats']}")
    out.append(table(rows))
    out.append("")
    for r in rows:
        out.append(f"[{r['dtype']}] swarm kernel {r['swarm_kernel_s']:.3f} s, wall "
                   f"{r['swarm_wall_s']:.3f} s ({r['swarm_threads']} threads); NumPy "
                   f"{r['numpy_s']:.3f} s (1 thread)")
        out.append(f"[{r['dtype']}] mean final f: swarm {r['swarm_mean_final_f']:.4f} ± "
                   f"{r['swarm_sem_final_f']:.4f}, NumPy {r['numpy_mean_final_f']:.4f} ± "
                   f"{r['numpy_sem_final_f']:.4f}")
        out.append(f"[{r['dtype']}] correctness (noise 0, {r['check_steps']} steps): max |x_swarm"
                   f" − x_numpy| = {r['check_max_dev']:.3g}")
        if "cold_process_s" in r:
            out.append(f"[{r['dtype']}] first call in a fresh process (empty cache): "
                       f"{r['cold_process_s']:.1f} s (of which first run "
                       f"{r['cold_first_run_s']:.1f} s); second process, cache warm: "
                       f"{r['warm_process_s']:.2f} s (import "
                       f"{r['warm_import_s']:.2f} s + first run {r['warm_first_run_s']:.2f} s) "
                       f"{'< 2 s: ok' if r['warm_start_ok'] else '≥ 2 s: NOT OK'}")
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1_000_000, help="trajectories (default 10^6)")
    p.add_argument("--steps", type=int, default=100, help="steps per trajectory (default 100)")
    p.add_argument("--repeats", type=int, default=3, help="timed repeats, median (default 3)")
    p.add_argument("--dtypes", default="float64,float32", help="comma-separated dtypes")
    p.add_argument("--threads", type=int, default=None, help="swarm threads (default: all)")
    p.add_argument("--no-compile-check", action="store_true",
                   help="skip the fresh-process compile / warm-start timing")
    p.add_argument("--json", metavar="FILE", help="also write the rows and machine as JSON")
    a = p.parse_args(argv)
    info = machine()
    rows = run(a.n, a.steps, tuple(a.dtypes.split(",")), a.repeats,
               compile_check=not a.no_compile_check, threads=a.threads, log=_log)
    print(report(rows, info))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"machine": info, "rows": rows}, fh, indent=2)
    return rows


if __name__ == "__main__":
    main()
