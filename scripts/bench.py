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
  timed three ways (:func:`time_numpy`): the trajectories alone on whole arrays
  (:func:`numpy_adam_rastrigin`, ``ratio``), the same in blocks of ``W_BLOCK`` rows that stay
  in cache (``ratio_blocked``), and computing the same per-trajectory outcomes as swarm's
  study, in blocks (:func:`numpy_rastrigin_study`, ``ratio_study``: start and end basins, f at
  every step for best f and global hits, divergence), whose P(global), P(escape) and mean
  best f are printed next to swarm's;
- correctness: without noise, a few fixed start points through ``swarm.path`` and through the
  NumPy reference must end at the same positions (float64: ~1e-9 after 100 steps);
- optionally (``compile_check``) the first-call time in a fresh process with an empty
  ``SWARM_CACHE_DIR`` and the start time of a second process with that cache warm.

Usage::

    python scripts/bench.py [--n 1000000] [--steps 100] [--repeats 3] [--no-compile-check]
                            [--peaks-n 20000] [--scale-n 262144] [--peer-n N] [--only-w]

Beyond W (skippable with ``--no-peaks`` / ``--no-scaling`` / ``--no-peers`` / ``--no-peak``):

- workload P: 20-D ``gaussian_peaks(dim=20, peaks=21)`` (instance 0 of seed 0, rotated), Nesterov
  (lr 0.01, μ 0.9), σ = 0.1, swarm against NumPy vectorised references of the same maths,
  timed the same three ways (blocks of ``P_BLOCK`` rows): the trajectories alone
  (:func:`numpy_nesterov_peaks`) and the same per-trajectory outcomes as swarm's study
  (:func:`numpy_peaks_study`: start and end basins by the kernels' polish, best f, global
  hits, divergence); noiseless checks against ``swarm.path`` (positions) and swarm's labeller
  (basins), and both studies' P(global), P(escape) and mean best f;
- dimension scaling: swarm on Rastrigin + Adam + σ = 0.5 at dims 2, 8, 32, 128 (M traj-steps/s
  and M coordinate-steps/s);
- peers on W, when installed (``pip install -e '.[bench]'``): JAX (``jit`` + ``lax.scan``,
  optax.adam, ``jax.random``), PyTorch ``Adam(fused=True)`` with a hand-written gradient and a
  ``torch.compile``d step; each in a fresh process (numba's and torch's OpenMP pools in one
  process slow torch ~10×), each checked against ``swarm.path`` without noise;
- the machine's floating-point peak from a numba FMA loop and swarm's fraction of it on W.
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
from swarm.engine import default_tol_x
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
                         b1=ADAM["b1"], b2=ADAM["b2"], eps=ADAM["eps"], observe=None):
    """NumPy vectorised reference: Adam on Rastrigin h(z) = 10d + Σ(zᵢ² − 10 cos 2πzᵢ),
    z = x − s, for every row of ``x0`` (shape (N, dim)); returns the final positions.

    Written the way a careful NumPy user would (preallocated buffers, in-place ufuncs, one
    thread) and in the same operation order as swarm's kernel, so that without noise the two
    agree to rounding: g = 2z + (20π)·sin(2πz); m ← β1·m + (1−β1)·g;
    v ← β2·v + ((1−β2)·g)·g;
    x ← x − lr·(m/(1−β1ᵗ)) / (√(v/(1−β2ᵗ)) + ε).

    ``observe(t, x, z)``, when given, is called before each update t = 1 … steps and once
    more at the final point (t = steps + 1), as swarm's kernel evaluates f."""
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
        if observe is not None:
            observe(t, x, z)
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
    if observe is not None:
        np.subtract(x, s, out=z)
        observe(steps + 1, x, z)
    return x


class _Outcomes:
    """Per-trajectory outcomes kept the way ``kernels/trajectory.py`` keeps them, for the NumPy
    study references: a row outside the instance's box, or whose f is not finite, is diverged
    (its best f, final f and hit step frozen, its basins ``ids.DIVERGED``); the first
    evaluation with ‖x − x*‖ ≤ tol_x or f − f* ≤ tol_f is the hit (``hit_step`` = the updates
    made before it). ``label(x)`` gives basin labels."""

    def __init__(self, inst, F, x, label, tol_x=None, tol_f=1e-8):
        tol_x = default_tol_x(inst.family) if tol_x is None else tol_x
        self.lo, self.hi = inst.box.astype(F)
        self.gmin = inst.global_minima.astype(F)
        self.fstar, self.tol2, self.tol_f = F(inst.f_star), F(tol_x) ** 2, F(tol_f)
        self.label = label
        self.alive = self._in_box(x)
        self.start_basin = np.where(self.alive, label(x), ids.DIVERGED)
        self.best = np.full(x.shape[0], np.inf, F)
        self.final = np.full(x.shape[0], np.nan, F)
        self.hit = np.full(x.shape[0], ids.NEVER, np.int64)

    def _in_box(self, x, alive=None):
        """Rows of x inside the box (NaN is not), and-ed into ``alive`` when given; a column
        at a time, without (N, dim) temporaries."""
        alive = np.ones(x.shape[0], bool) if alive is None else alive
        for j in range(x.shape[1]):
            alive &= x[:, j] >= self.lo[j]
            alive &= x[:, j] <= self.hi[j]
        return alive

    def observe(self, step, x, f):
        """Evaluation ``step`` (1, 2, …) at x with values f. In place, as a careful NumPy user
        would write it."""
        alive = self._in_box(x, self.alive)
        alive &= np.isfinite(f)
        np.copyto(self.final, f, where=alive)
        np.minimum(self.best, f, out=self.best, where=alive)
        on = f - self.fstar <= self.tol_f
        for c in self.gmin:
            on |= _row_sum((x - c) ** 2) <= self.tol2
        on &= alive
        on &= self.hit == ids.NEVER
        np.copyto(self.hit, step - 1, where=on)

    def result(self, x) -> dict:
        """The outcome arrays under swarm's names, labelling the end points x."""
        return {"start_basin": self.start_basin,
                "end_basin": np.where(self.alive, self.label(x), ids.DIVERGED),
                "hit_step": self.hit, "best_f": self.best, "final_f": self.final,
                "diverged": ~self.alive}


def _row_sum(a):
    """Σⱼ a[:, j], column by column: for a few columns, 20× faster than ``a.sum(axis=1)``."""
    out = a[:, 0].copy()
    for j in range(1, a.shape[1]):
        out += a[:, j]
    return out


def _concat(parts) -> dict:
    return {k: np.concatenate([o[k] for o in parts]) for k in parts[0]}


def rastrigin_labels(inst, F):
    """Basin labels of an unrotated separable instance as the kernels define them: per
    coordinate the number of tabulated 1-D maxima below zᵢ = xᵢ − sᵢ, relative to the global
    cell; 0 when every cell is the global one, else 1 + the cells as base-1024 digits
    (dim ≤ 6)."""
    tab, ctype, gk = inst.family.tables
    if inst.dim > 6:
        raise ValueError("rastrigin_labels: dim ≤ 6 only (the kernels hash the cells beyond)")
    s = shift(inst).astype(F)
    rows = [tab[r][np.isfinite(tab[r])].astype(F) for r in range(tab.shape[0])]

    def label(x):
        code = np.zeros(x.shape[0], np.int64)
        glob = np.ones(x.shape[0], bool)
        for i in range(inst.dim):
            r = ctype[i]
            cell = np.searchsorted(rows[r], x[:, i] - s[i], side="left") - gk[r]
            glob &= cell == 0
            code = code * 1024 + (cell + 512)
        return np.where(glob, 0, code + 1)
    return label


def numpy_rastrigin_study(x0, inst, steps, sigma=0.0, dtype="float64", rng=None, **adam) -> dict:
    """NumPy reference for workload W computing swarm's per-trajectory outcomes (start and
    end basins, best f, hits, divergence; :class:`_Outcomes`): :func:`numpy_adam_rastrigin`
    with f = 10d + Σ(zᵢ² − 10 cos 2πzᵢ) evaluated at each step."""
    F = np.dtype(dtype).type
    s = shift(inst)
    x0 = np.asarray(x0, dtype=F)
    out = _Outcomes(inst, F, x0, rastrigin_labels(inst, F))
    ten, two_pi, base = F(10.0), F(2.0 * math.pi), F(10.0 * inst.dim)
    c, zz = np.empty_like(x0), np.empty_like(x0)

    def observe(t, x, z):
        np.multiply(z, two_pi, out=c)
        np.cos(c, out=c)
        np.multiply(c, -ten, out=c)
        np.multiply(z, z, out=zz)
        np.add(c, zz, out=c)
        f = _row_sum(c)
        f += base
        out.observe(t, x, f)
    x = numpy_adam_rastrigin(x0, s, steps, sigma, dtype, rng, observe=observe, **adam)
    return out.result(x)


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
            "swarm_threads": res.provenance["threads"], **_study_rates(res.outcomes, "swarm")}


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


def in_blocks(ref, x0, block, *args, **kw):
    """``ref(rows, *args, **kw)`` on blocks of ``block`` rows of x0 in turn, results
    concatenated: each block's state stays in cache for all its steps (the noise stream, drawn
    block after block from one generator, differs from an unblocked call's)."""
    parts = [ref(x0[i:i + block], *args, **kw) for i in range(0, x0.shape[0], block)]
    return np.concatenate(parts) if isinstance(parts[0], np.ndarray) else _concat(parts)


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


# ----------------------------------------------------------------------------- workload P
PEAKS_WORKLOAD = "gaussian-peaks-20d nesterov σ=0.1"
PEAKS = dict(dim=20, peaks=21)
NESTEROV = dict(lr=0.01, momentum=0.9)
PEAKS_SIGMA = 0.1
# NumPy's blocked variants: rows per block, the fastest measured here (2-core Zen 5, N = 10⁶
# for W and 2·10⁴ for P, blocks of 1024 … 262144 rows): every block's state stays in L2
W_BLOCK = 16384
P_BLOCK = 4096


def peaks_instance(seed: int = 0):
    """The second workload's instance: the one swarm.run(..., instances=1, seed) uses."""
    return landscapes.gaussian_peaks(**PEAKS).instance(seed, 0)


def unpack_peaks(inst):
    """(R, log w, ỹ, λ) from the packed parameters of a GaussianPeaks instance:
    params = [header (LP_HEAD), P, R row-major (D·D), P rows of (log wₖ, ỹₖ = R cₖ (D), λₖ (D))]."""
    p, d = inst.params, inst.dim
    P = int(p[ids.LP_HEAD])
    o = ids.LP_HEAD + 1
    R = p[o:o + d * d].reshape(d, d)
    rows = p[o + d * d:o + d * d + P * (1 + 2 * d)].reshape(P, 1 + 2 * d)
    return R.copy(), rows[:, 0].copy(), rows[:, 1:1 + d].copy(), rows[:, 1 + d:].copy()


class _PeaksNumpy:
    """Workload P's instance as NumPy arrays in one dtype, for the vectorised references:
    log-heights of all peaks at once by BLAS products, using
    qₖ = Σⱼ λₖⱼ (yⱼ − ỹₖⱼ)² = (y²)·λₖᵀ − 2 y·(λₖ ỹₖ)ᵀ + Σⱼ λₖⱼ ỹₖⱼ²."""

    def __init__(self, inst, dtype):
        F = self.F = np.dtype(dtype).type
        self.R, self.logw, self.yc, self.lam = (a.astype(F) for a in unpack_peaks(inst))
        self.Rt = np.ascontiguousarray(self.R.T)
        self.lam_t = np.ascontiguousarray(self.lam.T)
        self.ly_t = np.ascontiguousarray((-2 * self.lam * self.yc).T)
        self.lyy = np.sum(self.lam * self.yc * self.yc, axis=1)
        self.half = F(0.5)

    def log_heights(self, y):
        """(n, P): log wₖ − qₖ/2 at the rows of y = x Rᵀ."""
        return self.logw - self.half * ((y * y) @ self.lam_t + y @ self.ly_t + self.lyy)

    def value_grad(self, x, rows):
        """f = −wₖ eₖ and ∇f = Rᵀ(wₖ eₖ Λₖ (y − ỹₖ)) for the active peak k (argmax of the
        log-heights), at the rows of x; ``rows`` = arange(len(x))."""
        y = x @ self.Rt
        lv = self.log_heights(y)
        k = np.argmax(lv, axis=1)
        e = np.exp(lv[rows, k])
        gy = (e[:, None] * self.lam[k]) * (y - self.yc[k])
        return -e, gy @ self.R

    def label(self, x, steps, h):
        """Basin labels as the kernels define them: ``steps`` normalised steps of length h
        along −∇f, done in y = R x (R is orthogonal, and the factor wₖ eₖ drops out of the
        direction), then the active peak."""
        y = x @ self.Rt
        for _ in range(steps):
            k = np.argmax(self.log_heights(y), axis=1)
            d = self.lam[k] * (y - self.yc[k])
            n = np.sqrt(np.einsum("ij,ij->i", d, d))
            y -= np.where(n > 0, self.F(h) / np.where(n > 0, n, 1), 0)[:, None] * d
        return np.argmax(self.log_heights(y), axis=1)


def _nesterov_update(x, b, g, lr, mu):
    """torch-form Nesterov in place: b ← μb + g, x ← x − lr·(g + μb) (g is overwritten)."""
    b *= mu
    b += g
    g += mu * b
    g *= lr
    x -= g


def numpy_nesterov_peaks(x0, inst, steps, sigma=0.0, dtype="float64", rng=None,
                         lr=NESTEROV["lr"], mu=NESTEROV["momentum"], observe=None):
    """NumPy vectorised reference for workload P's trajectories: Nesterov (torch form
    b ← μb + g, x ← x − lr·(g + μb)) on f(x) = −maxₖ wₖ exp(−½ Σⱼ λₖⱼ (yⱼ − ỹₖⱼ)²), y = R x,
    with ∇f = Rᵀ(w e λ (y − ỹ)) for the active peak (log-domain argmax of log wₖ − qₖ/2).
    Rows of ``x0`` (N, D) as whole arrays (:func:`in_blocks` for blocks); one thread
    except for the BLAS matrix products (y = x Rᵀ, g = gy R). Returns final positions.
    Only the positions: no outcomes (see :func:`numpy_peaks_study`). ``observe(t, x, f)``,
    when given, is called before each update t = 1 … steps and once more at the final point
    (t = steps + 1), as swarm's kernel evaluates f."""
    pk = _PeaksNumpy(inst, dtype)
    F = pk.F
    x = np.array(x0, dtype=F, copy=True)
    b = np.zeros_like(x)
    if sigma and rng is None:
        rng = np.random.default_rng(0)
    lr, mu, sig = F(lr), F(mu), F(sigma)
    rows = np.arange(x.shape[0])
    for t in range(1, steps + 1):
        f, g = pk.value_grad(x, rows)
        if observe is not None:
            observe(t, x, f)
        if sigma:
            g += sig * rng.standard_normal(g.shape, dtype=F)
        _nesterov_update(x, b, g, lr, mu)
    if observe is not None:
        observe(steps + 1, x, pk.value_grad(x, rows)[0])
    return x


def numpy_peaks_study(x0, inst, steps, sigma=0.0, dtype="float64", rng=None, **nesterov) -> dict:
    """NumPy vectorised reference for workload P computing what a swarm study computes for
    each trajectory (:class:`_Outcomes`, as ``kernels/trajectory.py``): start basin (polished
    label), box check, f, best f, final f and first global hit at each of the ``steps`` + 1
    evaluations of :func:`numpy_nesterov_peaks`, end basin; returns the outcome arrays under
    swarm's names."""
    pk = _PeaksNumpy(inst, dtype)
    p = inst.params
    npol, h = int(p[ids.LP_POLISH_STEPS]), p[ids.LP_POLISH_H]
    x0 = np.asarray(x0, dtype=pk.F)
    with np.errstate(all="ignore"):
        out = _Outcomes(inst, pk.F, x0, lambda y: pk.label(y, npol, h))
        x = numpy_nesterov_peaks(x0, inst, steps, sigma, dtype, rng, observe=out.observe,
                                 **nesterov)
        return out.result(x)


def peaks_correctness(dtype="float64", steps=100, n_starts=4, seed=0):
    """Noiseless check of both NumPy references against swarm on workload P, from
    ``n_starts`` fixed start points: (max |x_swarm − x_numpy| after ``steps`` steps, the
    fraction of start and end basins on which :func:`numpy_peaks_study` agrees with swarm's
    labeller at swarm's own start and end points)."""
    inst = peaks_instance(seed)
    opt = optimizers.nesterov(**NESTEROV)
    x0 = np.random.default_rng(12345).uniform(inst.domain[0], inst.domain[1],
                                              (n_starts, inst.dim))
    ours = np.stack([swarm.path(inst, opt, x, steps, dtype=dtype)[-1] for x in x0])
    ref = numpy_nesterov_peaks(x0.astype(dtype), inst, steps, 0.0, dtype)
    dev = np.abs(ours - ref.astype(np.float64))
    study = numpy_peaks_study(x0.astype(dtype), inst, steps, 0.0, dtype)
    agree = np.concatenate([study["start_basin"] == inst.basin(x0),
                            study["end_basin"] == inst.basin(ours)])
    return (float(np.max(dev)) if np.all(np.isfinite(dev)) else float("inf"),
            float(np.mean(agree)))


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


def run_peaks(n=20_000, steps=100, dtypes=("float64", "float32"), repeats=3, *, seed=0,
              threads=None, check_steps=100, check_starts=4, log=None) -> list[dict]:
    """Workload P (20-D Gaussian peaks, 21 peaks, Nesterov lr 0.01 μ 0.9, σ = 0.1): swarm
    (kernel timing) against the NumPy references, one row per dtype, as :func:`run`.

    NumPy three ways (:func:`time_numpy`): the trajectories only (:func:`numpy_nesterov_peaks`,
    whole arrays, ``ratio``; swarm does more work than this peer), the same in blocks of
    ``P_BLOCK`` rows (``ratio_blocked``), and the same outcomes as swarm's study in blocks
    (:func:`numpy_peaks_study`, ``ratio_study``: start and end basins, best f, hits,
    divergence). The row also holds both studies' P(global), P(escape) and mean best f (with
    standard errors; different random streams, so they agree statistically)."""
    log = log or (lambda msg: None)
    fam, opt = landscapes.gaussian_peaks(**PEAKS), optimizers.nesterov(**NESTEROV)
    inst = peaks_instance(seed)
    rows = []
    for dtype in dtypes:
        row = {"workload": PEAKS_WORKLOAD, "dtype": dtype, "n": n, "steps": steps,
               "repeats": repeats, "check_steps": check_steps, "check_starts": check_starts}
        log(f"[peaks {dtype}] correctness check ({check_starts} starts, {check_steps} steps)")
        row["check_max_dev"], row["check_label_agree"] = peaks_correctness(
            dtype, check_steps, check_starts, seed)
        study = dict(instances=1, starts=n, steps=steps, noise=PEAKS_SIGMA, seed=seed,
                     dtype=dtype, threads=threads)
        log(f"[peaks {dtype}] swarm: N={n:,}, {steps} steps, {repeats} repeats")
        swarm.run(fam, opt, **{**study, "starts": min(n, 256), "steps": min(steps, 5)})
        ks, ws, res = [], [], None
        for _ in range(repeats):
            t0 = time.perf_counter()
            res = swarm.run(fam, opt, **study)
            ws.append(time.perf_counter() - t0)
            ks.append(res.provenance["timings"]["kernel_s"])
        f = res.outcomes["final_f"].astype(np.float64)
        row.update(swarm_kernel_s=statistics.median(ks), swarm_wall_s=statistics.median(ws),
                   swarm_threads=res.provenance["threads"],
                   swarm_mean_final_f=float(np.mean(f)),
                   swarm_sem_final_f=float(np.std(f) / math.sqrt(f.size)),
                   **_study_rates(res.outcomes, "swarm"))
        x0 = np.random.default_rng(seed).uniform(inst.domain[0], inst.domain[1],
                                                 (n, inst.dim)).astype(dtype)
        t = time_numpy(x0, numpy_nesterov_peaks, numpy_peaks_study, inst, P_BLOCK, steps,
                       PEAKS_SIGMA, dtype, repeats, seed, log)
        f = inst.f(t.pop("x").astype(np.float64))
        rates = _study_rates(t.pop("outcomes"), "numpy")
        row.update(t, numpy_mean_final_f=float(np.mean(f)),
                   numpy_sem_final_f=float(np.std(f) / math.sqrt(f.size)), **rates)
        _ratios(row)
        rows.append(row)
    return rows



# ----------------------------------------------------------------------------- scaling, peak
SCALE_DIMS = (2, 8, 32, 128)


def run_scaling(n2=262_144, steps=100, dims=SCALE_DIMS, dtypes=("float64", "float32"),
                repeats=3, *, seed=0, threads=None, log=None) -> list[dict]:
    """swarm on Rastrigin + Adam + σ = 0.5 at several dimensions; N = n2·2/dim trajectories
    (the same number of coordinates per step at every dim). M trajectory-steps/s and M
    coordinate-steps/s from the engine's kernel timing, median of ``repeats``."""
    log = log or (lambda msg: None)
    out = []
    opt = optimizers.adam(**ADAM)
    for dtype in dtypes:
        for d in dims:
            n = max(64, n2 * 2 // d)
            fam = landscapes.rastrigin(dim=d)
            study = dict(instances=1, starts=n, steps=steps, noise=SIGMA, seed=seed, dtype=dtype,
                         threads=threads)
            log(f"[scaling {dtype}] dim {d}: N={n:,}, {steps} steps")
            swarm.run(fam, opt, **{**study, "starts": min(n, 256), "steps": min(steps, 5)})
            ks = []
            for _ in range(repeats):
                ks.append(swarm.run(fam, opt, **study).provenance["timings"]["kernel_s"])
            k = statistics.median(ks)
            out.append({"dtype": dtype, "dim": d, "n": n, "steps": steps, "kernel_s": k,
                        "mtsps": n * steps / 1e6 / k, "mcsps": n * steps * d / 1e6 / k})
    return out


_FMA_CACHE = {}

# flops per trajectory-step of W in swarm's kernel, counted in ../shared/reference/performance.md
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


# ----------------------------------------------------------------------------- peers (optional)
def _have(mod):
    import importlib.util
    return importlib.util.find_spec(mod) is not None


def jax_adam_rastrigin(x0, s, steps, sigma=0.0, dtype="float64", seed=0):
    """JAX peer on W: ``jit`` + ``lax.scan`` over steps, ``optax.adam``, ``jax.random`` noise.
    Returns a callable ``go(key_seed) -> final positions`` (compiled on first call)."""
    import jax
    import jax.numpy as jnp
    import optax
    jax.config.update("jax_enable_x64", True)     # float64 needs it; float32 stays float32
    F = jnp.dtype(dtype)
    s = jnp.asarray(s, F)
    x0 = jnp.asarray(x0, F)
    opt = optax.adam(ADAM["lr"], b1=ADAM["b1"], b2=ADAM["b2"], eps=ADAM["eps"])
    two_pi, c20pi = F.type(2.0 * math.pi), F.type(20.0) * F.type(math.pi)

    @jax.jit
    def simulate(x, key):
        def body(carry, _):
            x, st, key = carry
            key, sub = jax.random.split(key)
            z = x - s
            g = 2 * z + c20pi * jnp.sin(two_pi * z)
            if sigma:
                g = g + F.type(sigma) * jax.random.normal(sub, x.shape, F)
            upd, st = opt.update(g, st, x)
            return (optax.apply_updates(x, upd), st, key), None
        (x, _, _), _ = jax.lax.scan(body, (x, opt.init(x), key), None, length=steps)
        return x

    def go(r=0):
        return np.asarray(simulate(x0, jax.random.PRNGKey(seed * 1000 + r)).block_until_ready())
    return go


def torch_adam_rastrigin(x0, s, steps, sigma=0.0, dtype="float64", seed=0, compiled=False):
    """PyTorch peer on W, hand-written gradient. ``compiled=False``: ``torch.optim.Adam(fused=
    True)`` on an (N, 2) leaf tensor, ``x.grad`` set by hand each step; ``compiled=True``: one
    ``torch.compile``d step (gradient + Adam, bias corrections passed as 0-d tensors), noise drawn
    outside it. Returns ``go(r) -> final positions``."""
    import torch
    T = getattr(torch, dtype)
    s_t = torch.as_tensor(np.asarray(s), dtype=T)
    x0_t = torch.as_tensor(np.asarray(x0), dtype=T)
    lr, b1, b2, eps = ADAM["lr"], ADAM["b1"], ADAM["b2"], ADAM["eps"]
    two_pi, c20pi = 2.0 * math.pi, 20.0 * math.pi

    if not compiled:
        def go(r=0):
            gen = torch.Generator().manual_seed(seed * 1000 + r)
            x = x0_t.clone().requires_grad_(True)
            opt = torch.optim.Adam([x], lr=lr, betas=(b1, b2), eps=eps, fused=True)
            z, g, noise = torch.empty_like(x0_t), torch.empty_like(x0_t), torch.empty_like(x0_t)
            with torch.no_grad():
                for _ in range(steps):
                    torch.sub(x, s_t, out=z)
                    torch.mul(z, two_pi, out=g)
                    g.sin_().mul_(c20pi).add_(z, alpha=2.0)
                    if sigma:
                        torch.randn(x0_t.shape, generator=gen, dtype=T, out=noise)
                        g.add_(noise, alpha=sigma)
                    x.grad = g
                    opt.step()
            return x.detach().numpy().copy()
        return go

    @torch.compile(dynamic=False)
    def step(x, m, v, noise, bc1, bc2):
        z = x - s_t
        g = 2.0 * z + c20pi * torch.sin(two_pi * z) + sigma * noise
        m = b1 * m + (1.0 - b1) * g
        v = b2 * v + ((1.0 - b2) * g) * g
        x = x - lr * (m / bc1) / (torch.sqrt(v / bc2) + eps)
        return x, m, v

    def go(r=0):
        gen = torch.Generator().manual_seed(seed * 1000 + r)
        x, m, v = x0_t.clone(), torch.zeros_like(x0_t), torch.zeros_like(x0_t)
        noise = torch.zeros_like(x0_t)
        with torch.no_grad():
            for t in range(1, steps + 1):
                if sigma:
                    torch.randn(x0_t.shape, generator=gen, dtype=T, out=noise)
                bc1 = torch.tensor(1.0 - b1 ** t, dtype=T)
                bc2 = torch.tensor(1.0 - b2 ** t, dtype=T)
                x, m, v = step(x, m, v, noise, bc1, bc2)
        return x.numpy().copy()
    return go


PEERS = {"jax": ("JAX jit + lax.scan, optax.adam, jax.random", ("jax", "optax"),
                 jax_adam_rastrigin, {}),
         "torch": ("PyTorch Adam(fused=True), hand-written grad", ("torch",),
                   torch_adam_rastrigin, {}),
         "torch_compile": ("PyTorch torch.compile step, noise outside", ("torch",),
                           torch_adam_rastrigin, {"compiled": True})}


def available_peers(names=tuple(PEERS)):
    return [p for p in names if all(_have(m) for m in PEERS[p][1])]


def bench_peer(name, n, steps, dtype, repeats, seed=0, check_steps=100, check_starts=8):
    """Throughput of one peer on W (wall time of the whole loop after a warm-up / compile call)
    and its noiseless final positions from the correctness starts (``check_x``). Runs in the
    calling process: call it through :func:`bench_peer_subprocess` after swarm has run, since
    numba's and torch's OpenMP thread pools in one process slow torch down ~10×."""
    label, _, make, kw = PEERS[name]
    inst = instance(seed)
    s = shift(inst)
    row = {"peer": name, "label": label, "dtype": dtype, "n": n, "steps": steps}
    xc = np.random.default_rng(12345).uniform(inst.domain[0], inst.domain[1],
                                              (check_starts, inst.dim))
    t0 = time.perf_counter()
    row["check_x"] = make(xc, s, check_steps, 0.0, dtype, seed, **kw)().astype(float).tolist()
    row["check_first_call_s"] = time.perf_counter() - t0
    x0 = np.random.default_rng(seed).uniform(inst.domain[0], inst.domain[1], (n, inst.dim))
    go = make(x0, s, steps, SIGMA, dtype, seed, **kw)
    t0 = time.perf_counter()
    go(-1)                                         # warm-up (compiles)
    row["first_call_s"] = time.perf_counter() - t0
    times, x = [], None
    for r in range(repeats):
        t0 = time.perf_counter()
        x = go(r)
        times.append(time.perf_counter() - t0)
    f = rastrigin_f(x, s)
    row.update(seconds=statistics.median(times), mtsps=n * steps / 1e6 / statistics.median(times),
               mean_final_f=float(np.mean(f)), sem_final_f=float(np.std(f) / math.sqrt(f.size)))
    return row


def bench_peer_subprocess(name, n, steps, dtype, repeats, seed=0, check_steps=100,
                          check_starts=8, timeout=900):
    """:func:`bench_peer` in a fresh Python process; adds ``check_rel_dev`` = max |Δx| / max |x|
    between the peer's and swarm.path's noiseless final positions."""
    args = [name, n, steps, dtype, repeats, seed, check_steps, check_starts]
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--peer-worker",
                          json.dumps(args)], capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("PEER")]
    if out.returncode or not lines:
        err = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"peer process failed: {err[:300]}")
    row = json.loads(lines[-1][4:])
    inst = instance(seed)
    xc = np.random.default_rng(12345).uniform(inst.domain[0], inst.domain[1],
                                              (check_starts, inst.dim))
    opt = optimizers.adam(**ADAM)
    ours = np.stack([swarm.path(inst, opt, x, check_steps, dtype=dtype)[-1] for x in xc])
    dev = np.abs(ours - np.asarray(row.pop("check_x")))
    row["check_rel_dev"] = (float(np.max(dev) / np.max(np.abs(ours)))
                            if np.all(np.isfinite(dev)) else float("inf"))
    return row


def run_peers(n=1_000_000, steps=100, dtypes=("float64", "float32"), repeats=3, *, seed=0,
              peers=None, swarm_rows=None, check_steps=100, threads=None, log=None):
    """Optional peers on W (those installed, each in a fresh process); ``ratio`` = swarm /
    peer, swarm taken from ``swarm_rows`` (rows of :func:`run`) when they have the same n and
    steps, else measured here at this n."""
    log = log or (lambda msg: None)
    out = []
    sw = {r["dtype"]: r["swarm_mtsps"] for r in (swarm_rows or [])
          if r["n"] == n and r["steps"] == steps}
    for name in available_peers(peers or tuple(PEERS)):
        for dtype in dtypes:
            log(f"[peer {name} {dtype}] N={n:,}, {steps} steps, {repeats} repeats")
            try:
                row = bench_peer_subprocess(name, n, steps, dtype, repeats, seed, check_steps)
            except Exception as e:             # noqa: BLE001 - a peer that fails is reported
                row = {"peer": name, "label": PEERS[name][0], "dtype": dtype, "n": n,
                       "steps": steps,
                       "error": f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:300]}"}
            if "mtsps" in row:
                if dtype not in sw:
                    b = bench_swarm(n, steps, dtype, repeats, seed, threads)
                    sw[dtype] = n * steps / 1e6 / b["swarm_kernel_s"]
                row["swarm_mtsps"] = sw[dtype]
                row["ratio"] = sw[dtype] / row["mtsps"]
            out.append(row)
    return out


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


# ----------------------------------------------------------------------------- report
def _num(x) -> str:
    return f"{x:.1f}" if x >= 10 else f"{x:.3g}"


def table(rows) -> str:
    """Swarm against three NumPy references: the trajectories alone as one vectorised loop
    over whole arrays, the same in blocks of rows that stay in cache, and the same outcomes as
    swarm's study (start and end basins, best f, hits, divergence) in blocks."""
    lines = ["| workload | dtype | swarm M traj-steps/s (kernel) | swarm M/s (wall) | "
             "NumPy M/s | swarm / NumPy | NumPy M/s, blocks | swarm / NumPy, blocks | "
             "NumPy M/s, same outcomes | swarm / NumPy, same outcomes |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['workload']} | {r['dtype']} | {_num(r['swarm_mtsps'])} | "
                     f"{_num(r['swarm_wall_mtsps'])} | {_num(r['numpy_mtsps'])} | "
                     f"{r['ratio']:.2f} | {_num(r['numpy_blocked_mtsps'])} | "
                     f"{r['ratio_blocked']:.2f} | {_num(r['numpy_study_mtsps'])} | "
                     f"{r['ratio_study']:.2f} |")
    return "\n".join(lines)


def _rates_line(r, tag) -> str:
    pm = "{0[0]:.4f} ± {0[1]:.4f}".format
    return (f"[{tag}] P(global): swarm {pm(r['swarm_p_global'])}, NumPy "
            f"{pm(r['numpy_p_global'])}; P(escape): swarm {pm(r['swarm_p_escape'])}, NumPy "
            f"{pm(r['numpy_p_escape'])}; mean best f: swarm {pm(r['swarm_best_f'])}, NumPy "
            f"{pm(r['numpy_best_f'])}")


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
                   f"{r['numpy_s']:.3f} s, in blocks of {W_BLOCK} rows {r['numpy_blocked_s']:.3f} s,"
                   f" same outcomes {r['numpy_study_s']:.3f} s (1 thread)")
        out.append(f"[{r['dtype']}] mean final f: swarm {r['swarm_mean_final_f']:.4f} ± "
                   f"{r['swarm_sem_final_f']:.4f}, NumPy {r['numpy_mean_final_f']:.4f} ± "
                   f"{r['numpy_sem_final_f']:.4f}")
        out.append(_rates_line(r, r["dtype"]))
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


def report_extras(extra) -> str:
    out = []
    if extra.get("peaks"):
        rows = extra["peaks"]
        r0 = rows[0]
        out += ["", f"Workload P: N = {r0['n']:,} trajectories, {r0['steps']} steps, median of "
                f"{r0['repeats']} (NumPy: q for all peaks by BLAS products;"
                " same outcomes: basins by the kernels' polish)", table(rows), ""]
        for r in rows:
            out.append(f"[P {r['dtype']}] swarm kernel {r['swarm_kernel_s']:.3f} s "
                       f"({r['swarm_threads']} threads), NumPy {r['numpy_s']:.3f} s, in blocks of"
                       f" {P_BLOCK} rows {r['numpy_blocked_s']:.3f} s, same outcomes "
                       f"{r['numpy_study_s']:.3f} s; mean final f: swarm "
                       f"{r['swarm_mean_final_f']:.4f} ± {r['swarm_sem_final_f']:.4f}, NumPy "
                       f"{r['numpy_mean_final_f']:.4f} ± {r['numpy_sem_final_f']:.4f}")
            out.append(_rates_line(r, f"P {r['dtype']}"))
            out.append(f"[P {r['dtype']}] noiseless, {r['check_starts']} starts, "
                       f"{r['check_steps']} steps: max |Δx| {r['check_max_dev']:.3g}; start and "
                       f"end basins agree on {100 * r['check_label_agree']:.0f} %")
    if extra.get("scaling"):
        rows = extra["scaling"]
        out += ["", f"Dimension scaling, swarm, Rastrigin + Adam + σ = {SIGMA} "
                f"({rows[0]['steps']} steps, N = N₂·2/dim, kernel timing):",
                "| dtype | dim | N | M traj-steps/s | M coordinate-steps/s |",
                "|---|---:|---:|---:|---:|"]
        for r in rows:
            out.append(f"| {r['dtype']} | {r['dim']} | {r['n']:,} | {r['mtsps']:.2f} | "
                       f"{r['mcsps']:.1f} |")
    if "peers" in extra:
        rows = extra["peers"]
        out += ["", "Peers on W (each in a fresh process; wall time of the loop after a warm-up "
                "call; noiseless check vs swarm.path: max |Δx| / max |x|):"]
        if not rows:
            out.append("(none installed: pip install -e '.[bench]' for jax, optax, torch)")
        else:
            out += ["| peer | dtype | N | M traj-steps/s | swarm M/s | swarm / peer | "
                    "check rel. dev. | first call s |", "|---|---|---:|---:|---:|---:|---:|---:|"]
            for r in rows:
                if "error" in r:
                    out.append(f"| {r['label']} | {r['dtype']} | {r.get('n', 0):,} | failed: "
                               f"{r['error']} | | | | |")
                    continue
                out.append(f"| {r['label']} | {r['dtype']} | {r['n']:,} | {r['mtsps']:.1f} | "
                           f"{r['swarm_mtsps']:.1f} | {r['ratio']:.2f} | "
                           f"{r['check_rel_dev']:.2g} | {r['first_call_s']:.1f} |")
    if extra.get("peak"):
        out += ["", "Floating-point peak (numba FMA loop, all threads, best of 3) and swarm's share"
                " on W (flops per trajectory-step as counted in "
                "../shared/reference/performance.md; Philox integer ops not counted):",
                "| dtype | peak GFLOP/s | flops / traj-step | swarm GFLOP/s | fraction of peak |",
                "|---|---:|---:|---:|---:|"]
        for r in extra["peak"]:
            frac = (f"{r['swarm_gflops']:.1f} | {100 * r['fraction']:.1f} %" if "fraction" in r
                    else " | ")
            out.append(f"| {r['dtype']} | {r['peak_gflops']:.1f} | {r['flops_per_traj_step']:.0f}"
                       f" | {frac} |")
    return "\n".join(out)


def _peer_worker(spec):
    name, n, steps, dtype, repeats, seed, check_steps, check_starts = json.loads(spec)
    row = bench_peer(name, n, steps, dtype, repeats, seed, check_steps, check_starts)
    print("PEER" + json.dumps(row), flush=True)


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
    p.add_argument("--peaks-n", type=int, default=20_000,
                   help="trajectories for workload P, 20-D Gaussian peaks (default 20000)")
    p.add_argument("--scale-n", type=int, default=262_144,
                   help="trajectories at dim 2 for the dimension scaling (N·dim/2 kept)")
    p.add_argument("--peer-n", type=int, default=None,
                   help="trajectories for the JAX/PyTorch peers (default: --n)")
    p.add_argument("--peers", default=",".join(PEERS),
                   help=f"comma-separated peers among {','.join(PEERS)} (run when installed)")
    p.add_argument("--only-w", action="store_true",
                   help="only workload W against NumPy (skip P, scaling, peers, peak)")
    for part in ("peaks", "scaling", "peers", "peak"):
        p.add_argument(f"--no-{part}", action="store_true", help=f"skip the {part} part")
    p.add_argument("--peer-worker", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.peer_worker:
        return _peer_worker(a.peer_worker)
    info = machine()
    dtypes = tuple(a.dtypes.split(","))
    rows = run(a.n, a.steps, dtypes, a.repeats,
               compile_check=not a.no_compile_check, threads=a.threads, log=_log)
    extra = {}
    if not (a.only_w or a.no_peaks):
        extra["peaks"] = run_peaks(a.peaks_n, a.steps, dtypes, a.repeats, threads=a.threads,
                                   log=_log)
    if not (a.only_w or a.no_scaling):
        extra["scaling"] = run_scaling(a.scale_n, a.steps, SCALE_DIMS, dtypes, a.repeats,
                                       threads=a.threads, log=_log)
    if not (a.only_w or a.no_peers):
        extra["peers"] = run_peers(a.peer_n or a.n, a.steps, dtypes, a.repeats,
                                   peers=tuple(x for x in a.peers.split(",") if x),
                                   swarm_rows=rows, threads=a.threads, log=_log)
    if not (a.only_w or a.no_peak):
        _log("FMA peak")
        extra["peak"] = run_peak(dtypes, rows)
    print(report(rows, info))
    print(report_extras(extra))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"machine": info, "rows": rows, **extra}, fh, indent=2)
    return rows


if __name__ == "__main__":
    main()
