"""Orchestration: validate a study, pack it into arrays, launch kernels chunk by chunk.

A study is one landscape family × a list of optimizers (each possibly a hyperparameter grid)
× ``instances`` random landscapes × ``starts`` start points per landscape. Trajectory keys are
(instance, start): every optimizer and configuration sees the same start point and the same
gradient noise on the same key (common random numbers).
"""
from __future__ import annotations

import contextlib
import os
import time

import numba
import numpy as np

from swarm import _validate as V
from swarm import starts as _starts
from swarm.kernels import ids, philox
from swarm.landscapes import Family
from swarm.optimizers import Optimizer, hyper_row
from swarm.result import OUTCOME_BYTES, Result, provenance

DTYPES = {"float64": np.float64, "float32": np.float32}
BACKENDS = ("cpu", "cuda", "auto")
DEFAULT_CHUNK = 1 << 18
DEFAULT_CHUNK_GPU = 1 << 22
MAX_COUNTER = 2 ** 32 - 1


def _memory_budget():
    try:
        return int(0.5 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def _backend(name, device):
    V.choice("backend", name, set(BACKENDS))
    if name == "cpu":
        return name
    from numba import cuda
    if not cuda.is_available():
        if name == "auto":
            return "cpu"
        raise ValueError("backend='cuda' needs an NVIDIA GPU with a working driver and "
                         "numba-cuda (pip install 'swarm[cuda12]' or 'swarm[cuda13]'); none is "
                         "available here. Allowed: backend='cpu', or 'auto' (CUDA when "
                         "available, else CPU)")
    n = len(cuda.gpus)
    V.integer("device", device, low=0, high=n - 1)
    cuda.select_device(device)
    return "cuda"


@contextlib.contextmanager
def _threads(n):
    if n is None:
        yield
        return
    V.integer("threads", n, low=1, high=numba.config.NUMBA_NUM_THREADS)
    old = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(old)


class Packed:
    """A study's instances and start rule as kernel arrays (float64; cast per dtype)."""

    def __init__(self, family, n_instances, seed, start):
        self.instances = family.instances(seed, n_instances)
        self.lp = np.stack([inst.params for inst in self.instances])
        packs = [start.pack(inst) for inst in self.instances]
        self.skind = packs[0][0]
        self.sp = np.stack([p[1] for p in packs])
        self.box = np.stack([inst.box for inst in self.instances])
        g = max(inst.n_global for inst in self.instances)
        self.gmin = np.zeros((len(self.instances), g, family.dim))
        for k, inst in enumerate(self.instances):
            self.gmin[k, :inst.n_global] = inst.global_minima
        self.n_global = np.array([inst.n_global for inst in self.instances])
        self.tab, self.ctype, self.gk = family.tables

    def arrays(self, F):
        return (self.lp.astype(F), self.sp.astype(F), self.box.astype(F), self.gmin.astype(F),
                self.tab.astype(F))


def default_tol_x(family):
    return 0.01 * float(getattr(family, "half_width", 1.0))


def launch(packed, kind_id, hp, seed, steps, tol_x, tol_f, n_starts, F, b0, nb, n):
    """Run blocks ``b0 … b0+nb−1`` (``n`` trajectories) of one optimizer kind; returns the
    outcome arrays."""
    from swarm.kernels import cpu
    lp, sp, box, gmin, tab = packed.arrays(F)
    k0, k1 = philox.split_seed(seed)
    rec = np.empty((0, sp.shape[2]), dtype=F)
    out = dict(start_basin=np.empty(n, np.int64), end_basin=np.empty(n, np.int64),
               hit_step=np.empty(n, np.int64), best_f=np.empty(n, F), final_f=np.empty(n, F),
               diverged=np.empty(n, np.bool_))
    cpu.KERNELS[np.dtype(F)](
        packed.instances[0].fid, kind_id, lp, packed.skind, sp, box, gmin, hp.astype(F), tab,
        packed.ctype, packed.gk, k0, k1, steps, F(tol_x), F(tol_f), len(packed.instances),
        n_starts, b0, nb, rec, out["start_basin"], out["end_basin"], out["hit_step"],
        out["best_f"], out["final_f"], out["diverged"])
    return out


def _block_chunks(rows, starts, chunk_size, lanes):
    """CPU chunks: whole blocks of `lanes` consecutive starts of one (config, instance) row.
    Yields the launch's (first block, blocks, trajectories) and the trajectory count."""
    nsb = -(-starts // lanes)
    bpc = max(1, chunk_size // lanes)
    for b0 in range(0, rows * nsb, bpc):
        b1 = min(b0 + bpc, rows * nsb)
        first = (b0 // nsb) * starts + (b0 % nsb) * lanes
        last = (b1 // nsb) * starts + (b1 % nsb) * lanes
        yield (b0, b1 - b0, last - first), last - first


def _thread_chunks(rows, starts, chunk_size):
    """GPU chunks: ranges of trajectories (one thread each). Yields (first, count) twice."""
    n = rows * starts
    for first in range(0, n, chunk_size):
        m = min(chunk_size, n - first)
        yield (first, m), m


def launch_cuda(packed, kind_id, hp, seed, steps, tol_x, tol_f, n_starts, F, first, n):
    """Run trajectories ``first … first+n−1`` of one optimizer kind on the current GPU."""
    from swarm.kernels import cuda as kcuda
    lp, sp, box, gmin, tab = packed.arrays(F)
    k0, k1 = philox.split_seed(seed)
    return kcuda.launch(packed.instances[0].fid, kind_id, lp, packed.skind, sp, box, gmin,
                        hp.astype(F), tab, packed.ctype, packed.gk, k0, k1, steps, tol_x, tol_f,
                        len(packed.instances), n_starts, first, n, F)


def run(landscape: Family, optimizers, *, instances: int = 10, starts: int = 1000,
        steps: int = 1000, noise: float = 0.0, seed: int = 0, start=None,
        dtype: str = "float64", backend: str = "cpu", tol_x: float | None = None,
        tol_f: float = 1e-8, chunk_size: int | None = None, threads: int | None = None,
        device: int = 0, progress=None) -> Result:
    """Run a study: every optimizer (configuration) from ``starts`` start points on each of
    ``instances`` random instances of ``landscape``, for ``steps`` steps.

    ``noise`` is the std σ of additive Gaussian gradient noise (a sequence adds a σ grid).
    Returns a :class:`~swarm.result.Result` with per-trajectory outcomes and provenance.
    Same arguments and seed → bit-identical outcomes, whatever ``threads`` and ``chunk_size``
    (and, in float64, whether the CPU or the CUDA simulator ran them).

    ``backend``: ``"cpu"``, ``"cuda"`` (GPU ``device``), or ``"auto"`` (CUDA when
    ``numba.cuda.is_available()``, else CPU). ``chunk_size`` trajectories run per launch
    (default 2¹⁸ on the CPU, 2²² on a GPU), which bounds memory.
    """
    if not isinstance(landscape, Family):
        raise ValueError(f"landscape must be a family from swarm.landscapes (e.g. "
                         f"landscapes.rastrigin(dim=2)), got {landscape!r}")
    if isinstance(optimizers, Optimizer):
        optimizers = [optimizers]
    optimizers = list(optimizers)
    if not optimizers or not all(isinstance(o, Optimizer) for o in optimizers):
        raise ValueError("optimizers must be a non-empty list of specs from swarm.optimizers "
                         f"(e.g. optimizers.adam(lr=0.01)), got {optimizers!r}")
    instances = V.integer("instances", instances, low=1, high=MAX_COUNTER)
    starts = V.integer("starts", starts, low=1, high=MAX_COUNTER)
    steps = V.integer("steps", steps, low=1, high=MAX_COUNTER - 1)
    seed = V.integer("seed", seed, low=0, high=2 ** 64 - 1)
    sigmas = tuple(np.atleast_1d(np.asarray(noise, dtype=float)).tolist()) \
        if not isinstance(noise, (int, float)) else (noise,)
    sigmas = tuple(V.real("noise", s, low=0.0) for s in sigmas)
    V.choice("dtype", dtype, DTYPES)
    F = DTYPES[dtype]
    backend = _backend(backend, device)
    tol_x = default_tol_x(landscape) if tol_x is None else V.real("tol_x", tol_x, low=0.0)
    tol_f = V.real("tol_f", tol_f, low=0.0) if tol_f is not None else -np.inf
    if chunk_size is None:
        chunk_size = DEFAULT_CHUNK if backend == "cpu" else DEFAULT_CHUNK_GPU
    chunk_size = V.integer("chunk_size", chunk_size, low=1)
    start = _starts.uniform() if start is None else start
    if not isinstance(start, _starts.Start):
        raise ValueError(f"start must come from swarm.starts (uniform(), gaussian(mu, sd), "
                         f"point(x), at_minimum(k)), got {start!r}")

    need_starts = start.count(landscape.dim)
    if need_starts is not None and need_starts != starts:
        raise ValueError(f"starts must be n**dim = {need_starts} for start=starts.grid({start.k}) "
                         f"on a {landscape.dim}-D landscape, got {starts}")
    arms = []
    for o in optimizers:
        for cfg in o.configs():
            for s in sigmas:
                arms.append({"optimizer": o, "config": cfg, "noise": s})
    per_arm = instances * starts
    total = per_arm * len(arms)
    need = total * OUTCOME_BYTES
    budget = _memory_budget()
    if need > budget:
        raise ValueError(
            f"study too large for memory: {total:,} trajectories (instances × starts × "
            f"configurations = {instances} × {starts} × {len(arms)}) need "
            f"{need / 2 ** 30:.1f} GiB of outcomes, more than the {budget / 2 ** 30:.1f} GiB "
            f"allowed (half the available memory); reduce instances, starts or the grid")

    t0 = time.perf_counter()
    packed = Packed(landscape, instances, seed, start)
    t_pack = time.perf_counter() - t0
    outcomes = {k: [] for k in ("start_basin", "end_basin", "hit_step", "best_f", "final_f",
                                "diverged")}
    timings = {"pack_s": t_pack, "kernel_s": 0.0}
    from swarm.kernels.cpu import LANES as lanes
    with _threads(threads):
        # one launch per optimizer: its configurations × noise levels are hp rows
        for o in optimizers:
            mine = [a for a in arms if a["optimizer"] is o]
            hp = np.stack([hyper_row(o.kind, a["config"], a["noise"]) for a in mine])
            rows = len(mine) * instances
            if backend == "cuda":
                run_chunk, chunks = launch_cuda, _thread_chunks(rows, starts, chunk_size)
            else:
                run_chunk, chunks = launch, _block_chunks(rows, starts, chunk_size, lanes)
            t1 = time.perf_counter()
            for args, m in chunks:
                out = run_chunk(packed, o.kind_id, hp, seed, steps, tol_x, tol_f, starts, F,
                                *args)
                for k, v in out.items():
                    outcomes[k].append(v)
                if progress is not None:
                    progress(m)
            timings["kernel_s"] += time.perf_counter() - t1
    outcomes = {k: np.concatenate(v) for k, v in outcomes.items()}
    timings["total_s"] = time.perf_counter() - t0
    timings["trajectory_steps_per_s"] = total * steps / max(timings["kernel_s"], 1e-12)
    spec = {"landscape": landscape.to_dict(), "optimizers": [o.to_dict() for o in optimizers],
            "instances": instances, "starts": starts, "steps": steps, "noise": list(sigmas),
            "seed": seed, "start": start.to_dict(), "dtype": dtype, "tol_x": tol_x,
            "tol_f": None if tol_f == -np.inf else tol_f}
    arm_rows = [{"label": str(a["optimizer"].label), "kind": a["optimizer"].kind,
                 **{k: v for k, v in a["config"].items()}, "noise": a["noise"]} for a in arms]
    return Result(spec=spec, arms=arm_rows, outcomes=outcomes, n_global=packed.n_global,
                  provenance=provenance(backend, timings, threads, chunk_size))


def path(instance, optimizer: Optimizer, x0, steps: int = 500, *, noise: float = 0.0,
         seed: int = 0, start_index: int = 0, dtype: str = "float64") -> np.ndarray:
    """Positions ``(steps+1, dim)`` of one trajectory from ``x0`` on ``instance`` — the same
    kernel code as a study, so ``path`` with a study's seed and (instance, start) key shows its
    noise exactly. Rows after a divergence are NaN."""
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be a spec from swarm.optimizers, got {optimizer!r}")
    cfgs = optimizer.configs()
    if len(cfgs) != 1:
        raise ValueError(f"path needs one configuration, got a grid of {len(cfgs)}")
    steps = V.integer("steps", steps, low=1, high=MAX_COUNTER - 1)
    noise = V.real("noise", noise, low=0.0)
    V.choice("dtype", dtype, DTYPES)
    F = DTYPES[dtype]
    x0 = V.vector("x0", x0, instance.dim)
    packed = Packed.__new__(Packed)
    packed.instances = [instance]
    packed.lp = instance.params[None, :]
    packed.skind, sp = _starts.point(x0).pack(instance)
    packed.sp = sp[None]
    packed.box = instance.box[None]
    packed.gmin = instance.global_minima[None]
    packed.n_global = np.array([instance.n_global])
    packed.tab, packed.ctype, packed.gk = instance.family.tables
    hp = hyper_row(optimizer.kind, cfgs[0], noise)[None, :]
    rec = np.full((1, steps + 1, instance.dim), np.nan, dtype=F)
    # the start index keys the noise; the instance index is that of the instance
    launch_idx = V.integer("start_index", start_index, low=0, high=MAX_COUNTER)
    _path_launch(packed, optimizer.kind_id, hp, seed, steps, F, launch_idx, instance.index, rec)
    return rec[0].astype(np.float64)


def _path_launch(packed, kind_id, hp, seed, steps, F, start_index, inst_index, rec):
    from swarm.kernels import cpu
    lp, sp, box, gmin, tab = packed.arrays(F)
    k0, k1 = philox.split_seed(seed)
    return cpu.PATHS[np.dtype(F)](packed.instances[0].fid, kind_id, lp[0], packed.skind, sp[0], box[0],
                          gmin[0], hp[0], tab, packed.ctype, packed.gk, k0, k1, steps, F(0),
                          F(-np.inf), inst_index, start_index, rec[0])
