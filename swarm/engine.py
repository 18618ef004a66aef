"""Orchestration: validate a study, pack it into arrays, launch kernels chunk by chunk.

A study is one landscape family × a list of optimizers (each possibly a hyperparameter grid)
× ``instances`` random landscapes × ``starts`` start points per landscape. Trajectory keys are
(instance, start): every optimizer and configuration sees the same start point and the same
gradient noise on the same key (common random numbers).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time

import numba
import numpy as np

from swarm import _validate as V
from swarm import checkpoint as _checkpoint
from swarm import noise as _noise
from swarm import starts as _starts
from swarm._version import __version__
from swarm.aggregate import MAX_BASIN_ROWS, Aggregate
from swarm.collect import Collector, Interrupted, deferred_sigint  # noqa: F401 (Interrupted: cli)
from swarm.kernels import philox
from swarm.landscapes import Family
from swarm.optimizers import Optimizer, arm_params, check_cast, hyper_row
from swarm import targets as _targets
from swarm.outcomes import COUNTS, DTYPES, FIELDS, empty_outcomes, outcome_bytes
from swarm.result import Result, provenance

BACKENDS = ("cpu", "cuda", "auto")
DEFAULT_CHUNK = 1 << 20
DEFAULT_CHUNK_GPU = 1 << 22
DEFAULT_KEEP_LIMIT = 10_000_000
MAX_COUNTER = 2 ** 32 - 1
MAX_INSTANCE_ROWS = 1 << 20    # above this many instances the aggregate keeps moments, not rows


def _memory_budget():
    try:
        return int(0.5 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def _study_bytes(landscape, instances, starts, n_arms, keep, keys_per_chunk, per_instance,
                 n_targets=0):
    """Estimated peak bytes of a study, sized from the family alone (no instance is built):
    per instance, its rows of the aggregate's counts (the study's, unless it keeps moments
    only) and, when kept, its outcomes; per chunk, its instances' kernel arrays (parameter
    rows, start parameters, box, global minima: the bank and its cast copy, and a margin for
    the generator's temporaries), its outcome arrays counted twice (a margin for the
    aggregation's temporaries) and its aggregate's rows; besides, the (A, A) pair counts."""
    n_par, n_glob, _ = landscape.size_hint()
    d = landscape.dim
    keys = min(keys_per_chunk, instances * starts)
    chunk_instances = min(instances, keys // starts + 2)
    row = n_par + 3 * d + 2 * d + n_glob * d
    rows = 8 * n_arms * len(COUNTS)
    ob = outcome_bytes(n_targets)
    chunk = chunk_instances * (3 * 8 * row + rows) + 2 * n_arms * keys * ob
    per_instance_bytes = (rows if per_instance else 0) + \
        (starts * n_arms * ob if keep else 0)
    return instances * per_instance_bytes + chunk + 3 * 8 * n_arms * n_arms, per_instance_bytes


CHUNK_INSTANCE_BYTES = 64 << 20


def chunk_instances(landscape):
    """The most instances a chunk generates at once: their arrays (the bank, its cast copy and
    the generator's temporaries) within ``CHUNK_INSTANCE_BYTES``, so that wide landscapes
    (many peaks in many dimensions) get chunks of fewer trajectories rather than big banks."""
    n_par, n_glob, _ = landscape.size_hint()
    row_bytes = 3 * 8 * (n_par + 5 * landscape.dim + n_glob * landscape.dim)
    return max(1, CHUNK_INSTANCE_BYTES // row_bytes)


def _check_memory(landscape, instances, starts, n_arms, keep, keys_per_chunk, per_instance,
                  budget, n_targets=0):
    """Refuse, before anything is built, a study whose chunk arrays, aggregates and kept
    outcomes would not fit in ``budget`` bytes; the message names the most instances that
    fit."""
    def need(n):
        return _study_bytes(landscape, n, starts, n_arms, keep, keys_per_chunk,
                            per_instance, n_targets)[0]
    total, per_inst = _study_bytes(landscape, instances, starts, n_arms, keep, keys_per_chunk,
                                   per_instance, n_targets)
    if total <= budget:
        return
    lo, hi = 0, instances                     # need() grows with n: bisect the largest fit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if need(mid) <= budget else (lo, mid - 1)
    gib = 2 ** 30
    raise ValueError(
        f"study too large for memory: instances={instances:,} of {landscape.name} "
        f"(dim {landscape.dim}) with {n_arms} arm{'s' if n_arms != 1 else ''} need about "
        f"{total / gib:.1f} GiB ({per_inst:,} bytes per instance for its aggregate counts"
        f"{' and kept outcomes' if keep else ''}, and its chunks' arrays), "
        f"more than the "
        f"{budget / gib:.1f} GiB allowed (half the available memory); instances must be at "
        f"most {lo:,} here: reduce instances (or the arms"
        + (", or keep aggregates only: keep_outcomes=False" if keep else "") + ")")


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
    _check_numba_cuda_numpy()
    n = len(cuda.gpus)
    V.integer("device", device, low=0, high=n - 1)
    cuda.select_device(device)
    return "cuda"


def _check_numba_cuda_numpy():
    """numba-cuda ≤ 0.30.4 registers ``np.row_stack``, which NumPy 2.5 removed: its first
    kernel compilation then fails with an AttributeError deep in numba-cuda (seen on an H200
    image with numpy 2.5.2). Say so before a study starts."""
    from importlib import metadata
    try:
        nc = tuple(int(p) for p in metadata.version("numba-cuda").split(".")[:3])
    except (metadata.PackageNotFoundError, ValueError):
        return
    if nc <= (0, 30, 4) and not hasattr(np, "row_stack"):
        raise ValueError(f"backend='cuda': numba-cuda {'.'.join(map(str, nc))} does not work "
                         f"with numpy {np.__version__} (it needs np.row_stack, removed in "
                         f"numpy 2.5); install numpy<2.5 (pip install 'numpy<2.5') or a newer "
                         f"numba-cuda. Allowed: backend='cpu'")


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


class Inputs:
    """The kernel arrays of instances ``lo … hi−1`` of a study (a chunk's), in the working
    dtype ``F``: landscape rows ``lp``, start parameters ``sp``, divergence boxes ``box``,
    global minima ``gmin`` — made from :meth:`Family.bank <swarm.landscapes.Family.bank>`
    and cast once, for every arm — and the family's basin tables ``tab`` (cast), ``ctype``,
    ``gk``."""

    def __init__(self, family, seed, lo, hi, start, F):
        bank = family.bank(seed, lo, hi)
        self.skind, sp = start.pack_bank(bank)
        self._set(family, lo, bank.lp, sp, bank.gmin, F)

    @classmethod
    def one(cls, instance, start, F):
        """The arrays of one instance (``lo`` is its index)."""
        self = cls.__new__(cls)
        self.skind, sp = start.pack(instance)
        self._set(instance.family, instance.index, instance.params[None], sp[None],
                  instance.global_minima[None], F)
        return self

    def _set(self, family, lo, lp, sp, gmin, F):
        n = len(lp)
        self.fid, self.lo, self.hi = family.fid, lo, lo + n
        self.lp = np.ascontiguousarray(lp, dtype=F)
        self.sp = np.ascontiguousarray(sp, dtype=F)
        self.box = np.ascontiguousarray(np.broadcast_to(family.box, (n, 2, family.dim)),
                                        dtype=F)
        self.gmin = np.ascontiguousarray(gmin, dtype=F)
        tab, self.ctype, self.gk = family.tables
        self.tab = tab.astype(F)


def default_tol_x(family):
    return 0.01 * float(getattr(family, "half_width", 1.0))


TOL_F = 1e-8            # the floor of the default tol_f
MAX_ARMS = 10_000       # optimizer configurations × noise levels of one study


def probe(landscape, seed, dtype):
    """Instance 0 of the study as a one-instance bank, checked before anything runs: finite
    parameters and minima (a family whose parameters overflow is refused, naming them), and
    a divergence box whose squared extent is finite in the working dtype (else distances and
    f overflow, and every point looks alike)."""
    params = ", ".join(f"{k}={v!r}" for k, v in landscape.to_dict().items() if k != "name")
    try:
        bank = landscape.bank(seed, 0, 1)
    except (OverflowError, FloatingPointError, ZeroDivisionError) as e:
        raise ValueError(f"{landscape.name}({params}): its parameters overflow ({e}); choose "
                         f"smaller values") from None
    if not (np.all(np.isfinite(bank.lp)) and np.all(np.isfinite(bank.gmin))):
        raise ValueError(f"{landscape.name}({params}): its instances have non-finite "
                         f"parameters; choose smaller values")
    F = DTYPES[dtype]
    ext = float(np.max(np.abs(landscape.box)))
    if not 4.0 * ext * ext * landscape.dim < float(np.finfo(F).max):
        raise ValueError(f"{landscape.name}({params}): its box (±{ext:g}) is too wide for "
                         f"{dtype}: squared distances would overflow; choose a smaller "
                         f"half_width or bound")
    return bank


def f_resolution(landscape, seed, dtype, bank=None) -> tuple[float, float]:
    """``(f*, r)``: the family's f* (instance 0's under ``seed``: every family's f* is one
    constant) and the smallest ``tol_f`` the working dtype resolves there,
    ``r = 4·√dim·eps(dtype)·|f*|``. The kernels test ``f − f* ≤ tol_f`` in the working dtype,
    where f is a sum over the dim coordinates whose rounding errors add up: on
    Styblinski–Tang in float32 the computed minimum lies 0.8, 2.6, 7.8, 18 and 41 eps·|f*|
    from f* at dim = 2, 30, 100, 300 and 1000, so a tolerance below ``r`` would make the f
    criterion fire early, late or never."""
    from swarm.kernels import ids
    bank = landscape.bank(seed, 0, 1) if bank is None else bank
    fs = float(bank.lp[0, ids.LP_FSTAR])
    eps = float(np.finfo(DTYPES[dtype]).eps)
    return fs, 4.0 * (landscape.dim ** 0.5) * eps * abs(fs)


def resolve_tol_f(tol_f, landscape, seed, dtype, bank=None):
    """The f target of a study: ``None`` → ``-inf`` (the x criterion only); ``"auto"`` (the
    default) → ``max(1e-8, r)`` with ``r`` of :func:`f_resolution`; a number ≥ 0 → itself,
    refused below ``r`` (the dtype cannot tell ``f − f*`` apart from rounding there)."""
    if tol_f is None:
        return -np.inf
    F = DTYPES[dtype]
    fs, r = f_resolution(landscape, seed, dtype, bank)
    if isinstance(tol_f, str) and tol_f == "auto":
        return max(TOL_F, r)
    tol_f = V.real("tol_f", tol_f, low=0.0)
    if tol_f < r:
        raise ValueError(
            f"tol_f = {tol_f:g} is below what {dtype} resolves at f* = {fs:.10g} of "
            f"{landscape.name} (dim {landscape.dim}): the f − f* ≤ tol_f test would be decided "
            f"by rounding. The smallest allowed is 4·√dim·eps({dtype})·|f*| = {r:.3g}; use "
            f"tol_f ≥ {r:.3g}, dtype='float64', or tol_f=None (the x criterion only)")
    if tol_f > float(np.finfo(F).max):
        raise ValueError(f"tol_f = {tol_f:g} is beyond the range of {dtype}")
    return tol_f


_NO_TARGET_HIT = np.empty((0, 0), np.int64)


def launch(inputs, kind_id, hp, seed, steps, tol_x, tol_f, n_inst, n_starts, F, lanes, b0, nb,
           n, out=None, known_sb=False, targets=None):
    """Run blocks ``b0 … b0+nb−1`` of ``lanes`` starts (``n`` trajectories, of the instances
    that ``inputs`` holds) of one optimizer kind; returns the outcome arrays (written into
    ``out``'s when given: contiguous, length ``n``). ``known_sb``: ``out``'s start basins hold
    these starts' labels already (another arm's), so they are not labelled again.
    ``targets``: the precision targets (float64, decreasing) or None; with them ``out`` has
    ``target_hit`` (n, len(targets))."""
    from swarm.kernels import cpu
    k0, k1 = philox.split_seed(seed)
    rec = np.empty((0, inputs.sp.shape[2]), dtype=F)
    nt = 0 if targets is None else len(targets)
    if out is None:
        out = empty_outcomes(n, F, nt)
    tv = np.asarray(targets, F) if nt else np.zeros(1, F)
    th = out["target_hit"] if nt else _NO_TARGET_HIT
    cpu.KERNELS[np.dtype(F)](
        inputs.fid, kind_id, inputs.lp, inputs.skind, inputs.sp, inputs.box, inputs.gmin,
        hp.astype(F), inputs.tab, inputs.ctype, inputs.gk, k0, k1, steps, F(tol_x), F(tol_f),
        nt, tv, n_inst, inputs.lo, n_starts, lanes, b0, nb, int(known_sb), rec,
        out["start_basin"], out["end_basin"], out["hit_step"], out["best_f"], out["final_f"],
        out["diverged"], th)
    return out


class _Slot:
    """One chunk's buffers on a GPU: each arm's device outcome arrays, page-locked host arrays
    ``(arms, n)`` for their copies (made on first use), and the chunk in them (``j``, ``m``
    keys; ``None``: free)."""

    def __init__(self, kcuda, n_arms, n, F, nt=0):
        self.out = [kcuda.outputs(n, F, nt) for _ in range(n_arms)]
        self.eb = None            # (arms, n) end basins on the device, for the pairs kernel
        self.agg = None           # the device aggregate's buffers (made on first use)
        self.host = self.dev = None
        self.j = self.m = self.events = None
        self.staged = self.aggregated = False
        self.copied = None        # events around the copies of kept outcomes (start, done)
        self.t_start = 0.0


class _Gpu:
    """A plan's chunks on the current GPU. The study's arrays and each arm's configuration row
    go to the device once, each chunk's instances (:class:`Inputs`) with its kernels. Up to
    ``SLOTS`` chunks are in flight, each in its own buffers (:class:`_Slot`, allocated once per
    study, sized for the largest chunk: an allocation per launch would wait for a running
    kernel). ``start(j, aggregate=True)`` queues chunk j's kernels and its aggregation on the
    device (:mod:`swarm.kernels.cuda_aggregate`), whose parts — O(arms × instances + basin
    rows) bytes — are copied into page-locked memory, on one stream, and returns at once;
    ``fetch_aggregate(j)`` waits for them and finishes the chunk's
    :class:`~swarm.aggregate.Aggregate` on the host. So while the host merges chunk j, the
    device computes chunk j+1, and the host queues chunk j+2 when it is done with j. Kept
    outcomes (``dest``: the study's arrays, page-locked when the driver allows) are copied
    there on a second stream, beside the aggregation and the next chunk's kernels. ``start``
    with ``stage`` (and :meth:`fetch`) instead copies every outcome out into the slot's
    page-locked arrays (or, without, into ``fetch``'s ``out``) and leaves the aggregation to
    the host. ``lock`` serialises callers that share the plan (a Dask worker's task
    threads)."""
    SLOTS = 2

    def __init__(self, plan):
        from numba import cuda

        from swarm.kernels import cuda as kcuda
        self.plan, self.cuda, self.kcuda = plan, cuda, kcuda
        self.F = F = DTYPES[plan.dtype]
        self.hp = [cuda.to_device(h.astype(F)) for h in plan.hp]
        self.nt = plan.n_targets
        self.targets = cuda.to_device(plan.targets.astype(F)) if self.nt else None
        self.n = min(plan.keys_per_chunk, plan.instances * plan.starts)
        self.slots = []
        self.stream, self.copies = cuda.stream(), cuda.stream()
        self.k0, self.k1 = philox.split_seed(plan.seed)
        self.lock = threading.Lock()
        self.wait_s = 0.0           # the host's time blocked waiting for the device

    def start(self, j, stage=True, aggregate=False, basins=True, dest=None):
        """Queue chunk j in a free slot (at most ``SLOTS`` chunks started and not fetched), and
        with ``stage`` the copies of its outcomes into the slot's page-locked arrays; with
        ``aggregate`` instead, its aggregate computed on the device (and ``basins``: its basin
        table), for :meth:`fetch_aggregate`, and its outcomes copied into ``dest`` (arrays
        ``(A, m)`` by name, each row contiguous, page-locked for the copies to run beside the
        next chunk's kernels) when given, on the second stream."""
        plan, cuda, st = self.plan, self.cuda, self.stream
        free = [x for x in self.slots if x.j is None]
        if not free:
            if len(self.slots) == self.SLOTS:
                raise RuntimeError(f"chunk {j}: every slot holds a chunk not fetched yet "
                                   f"({[x.j for x in self.slots]})")
            free = [_Slot(self.kcuda, len(plan.arms), self.n, self.F, self.nt)]
            self.slots.append(free[0])
        slot = free[0]
        if aggregate and slot.eb is None:         # the end basins in one (arms, n) array
            slot.eb = cuda.device_array((len(plan.arms), self.n), np.int64)
            for a, o in enumerate(slot.out):
                o[1] = slot.eb[a]
        _, _, first, m = plan.keys(j)
        t0 = time.perf_counter()
        pk = plan.inputs(j)                 # the chunk's instances, made here and copied over
        slot.events = (cuda.event(), cuda.event())
        slot.events[0].record(stream=st)
        slot.dev = self.kcuda.inputs(pk.lp, pk.sp, pk.box, pk.gmin, pk.tab, pk.ctype, pk.gk,
                                     stream=st)
        for a, arm in enumerate(plan.arms):
            if a:                 # the first arm's start basins, copied on the device
                slot.out[a][0][:m].copy_to_device(slot.out[0][0][:m], stream=st)
            self.kcuda.start(pk.fid, arm["optimizer"].kind_id, slot.dev, self.hp[a],
                             pk.skind, self.k0, self.k1, plan.steps, plan.tol_x, plan.tol_f,
                             plan.instances, pk.lo, plan.starts, first, m, self.F, slot.out[a],
                             known_sb=a > 0, stream=st, targets=self.targets)
        slot.aggregated, slot.copied = aggregate, None
        if aggregate and self.nt:
            raise ValueError("a study with targets is aggregated on the host (the device "
                             "aggregation has no target tallies): start it with stage")
        if aggregate:
            stage = False
            if dest is not None:          # the copies wait for the kernels, not for the rest
                slot.copied = (cuda.event(), cuda.event())
                slot.copied[0].record(stream=st)
                slot.copied[0].wait(self.copies)
                for a, dev in enumerate(slot.out):
                    self.kcuda.copy_out(dev, m, {k: v[a] for k, v in dest.items()},
                                        self.copies)
                slot.copied[1].record(stream=self.copies)
            self._aggregate(slot, first, m, pk.lo, basins and plan.per_instance)
        if stage and slot.host is None:
            slot.host = self.kcuda.staging(len(plan.arms), self.n, self.F, self.nt)
        for a, dev in enumerate(slot.out if stage else ()):
            # the later arms' start basins are the first arm's: copied on the host in fetch
            self.kcuda.copy_out(dev, m, {k: v[a] for k, v in slot.host.items()}, st,
                                skip=("start_basin",) if a else ())
        slot.events[1].record(stream=st)
        slot.staged = stage
        slot.t_start = time.perf_counter() - t0
        slot.j, slot.m = j, m

    def _aggregate(self, slot, first, m, i0, basins):
        """Queue the device aggregation of the slot's chunk (keys first … first+m−1)."""
        from swarm.aggregate import hit_grid
        from swarm.kernels import cuda_aggregate as kagg
        plan, A = self.plan, len(self.plan.arms)
        if slot.agg is None:
            R = min(plan.instances, self.n // plan.starts + 2)
            slot.agg = kagg.Chunk(A, R, len(hit_grid(plan.steps)),
                                  min(A * self.n, kagg.ROWS))
        if getattr(self, "grid", None) is None:
            self.grid = self.cuda.to_device(hit_grid(plan.steps))
        threads = 4 if numba.config.ENABLE_CUDASIM else kagg.THREADS
        slot.agg.launch(slot.out, slot.eb, m, first, plan.starts, i0,
                        plan.n_global, self.grid, basins, self.stream, threads)

    PIN_LIMIT = 4 << 30       # bytes of kept outcomes page-locked at most (pinning locks RAM)

    def pinned(self, like):
        """Page-locked arrays shaped as ``like``'s (a study's kept outcomes), or ``like`` when
        they are more than ``PIN_LIMIT`` bytes or the driver refuses that much page-locked
        memory (the copies into them then wait for the host)."""
        if sum(v.nbytes for v in like.values()) > self.PIN_LIMIT:
            return like
        try:
            return {k: self.cuda.pinned_array(v.shape, v.dtype) for k, v in like.items()}
        except Exception:               # noqa: BLE001 (CudaAPIError, MemoryError: keep pageable)
            return like

    def fetch_aggregate(self, j, basins=True):
        """Wait for chunk j, started with ``aggregate``; returns ``(Aggregate, seconds)`` (the
        seconds as :meth:`fetch`'s; the outcomes, when copied to ``dest``, are there). When the
        device kept too few of its basin rows, or found nearly one per trajectory, the host
        copies the chunk's labels and counts them (:func:`swarm.aggregate.basin_rows`)."""
        from swarm.aggregate import Aggregate, basin_rows
        slot = self._slot(j)
        if not slot.aggregated:
            raise ValueError(f"chunk {j} was started without aggregate: use fetch")
        t1 = self._wait(slot)
        plan, m, i0 = self.plan, slot.m, slot.agg.i0
        if slot.copied is not None:
            slot.copied[1].synchronize()
            t = time.perf_counter()
            self.wait_s += t - t1
            t1 = t
        # a table of nearly one row per trajectory (distinct basins, 20-D) sorts slower on the
        # host than the labels' dense codes (docs/performance.md): count those from the labels
        counts, hits, bins, pairs, rows = slot.agg.result(
            max(1 << 16, len(plan.arms) * m // 8))
        basins = basins and plan.per_instance
        if basins and rows is None:
            sb = slot.out[0][0][:m].copy_to_host()
            eb = [slot.eb[a, :m].copy_to_host() for a in range(len(plan.arms))]  # contiguous
            inst = (plan.keys(j)[2] + np.arange(m)) // plan.starts - i0
            rows = np.concatenate([basin_rows(a, inst, sb, eb[a]) for a in range(len(eb))])
        part = Aggregate.from_device(counts, hits, bins, pairs, rows, i0, plan.instances,
                                     plan.steps, plan.max_basin_rows, basins,
                                     plan.per_instance)
        return part, self._done(slot, t1)

    def _slot(self, j):
        slot = next((x for x in self.slots if x.j == j), None)
        if slot is None:
            raise RuntimeError(f"chunk {j} was not started (in flight: "
                               f"{[x.j for x in self.slots if x.j is not None]})")
        return slot

    def _wait(self, slot):
        """Block until the slot's chunk is done; returns the time then."""
        t0 = time.perf_counter()
        slot.events[1].synchronize()
        t1 = time.perf_counter()
        self.wait_s += t1 - t0
        return t1

    def _done(self, slot, t1):
        """Free the slot; the device's seconds on its chunk and the host's since ``t1``."""
        slot.j = slot.dev = None
        ms = slot.events[0].elapsed_time(slot.events[1])
        return (ms / 1e3 if ms > 0 else slot.t_start) + time.perf_counter() - t1

    def fetch(self, j, out=None):
        """Wait for chunk j; returns ``(outcomes, seconds)``. The outcomes ``{field: (A, m)}``
        are, for a chunk started with ``stage``, views of the page-locked arrays, valid until
        the next ``start``; otherwise ``out`` (arrays of that shape by name, each row
        contiguous), into which they are copied from the device. The seconds are the device's
        on the chunk: its kernels and copies (CUDA events; in Numba's CUDA simulator, which
        runs them inside ``start`` and has no event clock, the host's time in ``start``), and
        the copy into ``out``."""
        slot = self._slot(j)
        if slot.aggregated:
            raise ValueError(f"chunk {j} was started with aggregate: use fetch_aggregate")
        t1 = self._wait(slot)
        if slot.staged:
            res = {k: v[:, :slot.m] for k, v in slot.host.items()}
        else:
            if out is None:
                raise ValueError(f"chunk {j} was started without stage: fetch needs out")
            for a, dev in enumerate(slot.out):
                self.kcuda.copy_out(dev, slot.m, {k: v[a] for k, v in out.items()},
                                    self.copies, skip=("start_basin",) if a else ())
            self.copies.synchronize()
            res = out
        res["start_basin"][1:] = res["start_basin"][0]
        return res, self._done(slot, t1)


class Plan:
    """A validated study cut into chunks. ``chunk(j)`` is a pure function of the plan and
    ``j``: every arm on the same contiguous range of trajectory keys (instance-major (instance,
    start) pairs, whole blocks of ``lanes`` starts), returning the outcomes ``(A, m)`` and
    their :class:`~swarm.aggregate.Aggregate`. A chunk generates the instances it runs
    (:meth:`inputs`) and nothing else, so no memory grows with the study's instances but the
    aggregate's per-instance counts — and not those either above ``max_instance_rows``
    instances, where chunks hold whole instances and the aggregate keeps their moments.
    Picklable, so chunks can run in other processes."""

    def __init__(self, landscape, optimizers, arms, instances, starts, steps, seed, start,
                 dtype, backend, tol_x, tol_f, keys_per_chunk, max_basin_rows,
                 max_instance_rows=None, targets=None):
        from swarm.kernels.cpu import lanes_for
        # precision targets (float64, decreasing; swarm.targets) or None
        self.targets = None if targets is None else np.asarray(targets, np.float64)
        self.n_targets = 0 if targets is None else len(self.targets)
        self.landscape, self.optimizers, self.arms = landscape, optimizers, arms
        self.instances, self.starts, self.steps, self.seed = instances, starts, steps, seed
        self.start, self.dtype, self.backend = start, dtype, backend
        self.tol_x, self.tol_f, self.max_basin_rows = tol_x, tol_f, max_basin_rows
        # starts per key block (the CPU's lanes; on a GPU only the unit of chunking)
        self.lanes = lanes = lanes_for(starts, landscape.dim, np.dtype(DTYPES[dtype]).itemsize)
        self.nsb = -(-starts // lanes)              # key blocks per instance
        self.blocks_per_chunk = max(1, keys_per_chunk // lanes)
        self.max_instance_rows = MAX_INSTANCE_ROWS if max_instance_rows is None \
            else max_instance_rows
        self.per_instance = instances <= self.max_instance_rows
        if not self.per_instance:     # whole instances per chunk: their moments are complete
            self.blocks_per_chunk = max(1, self.blocks_per_chunk // self.nsb) * self.nsb
        self.n_global = landscape.n_global
        self.n_chunks = -(-(instances * self.nsb) // self.blocks_per_chunk)
        self.hp = [hyper_row(a["optimizer"].kind, a["config"], a["noise"], landscape.dim)
                   [None, :] for a in arms]
        self._gpu = None

    def __getstate__(self):
        d = dict(self.__dict__)
        d["_gpu"] = None
        return d

    def inputs(self, j):
        """Chunk j's instances as kernel arrays (:class:`Inputs`), generated now."""
        _, _, first, m = self.keys(j)
        lo, hi = first // self.starts, (first + m - 1) // self.starts + 1
        return Inputs(self.landscape, self.seed, lo, hi, self.start, DTYPES[self.dtype])

    @property
    def keys_per_chunk(self):
        return self.blocks_per_chunk * self.lanes

    def keys(self, j):
        """(first key block, blocks, first key, keys) of chunk j."""
        kb0 = j * self.blocks_per_chunk
        kb1 = min(kb0 + self.blocks_per_chunk, self.instances * self.nsb)

        def key(kb):
            return (kb // self.nsb) * self.starts + (kb % self.nsb) * self.lanes
        first = key(kb0)
        return kb0, kb1 - kb0, first, key(kb1) - first

    @property
    def gpu(self):
        """The plan's :class:`_Gpu` (CUDA backend), made on first use."""
        if self._gpu is None:
            self._gpu = _Gpu(self)
        return self._gpu

    def chunk(self, j, timings=None, out=None, basins=True, outcomes=True):
        """Outcomes ``{field: (A, m)}`` and aggregate of chunk j; the kernels write into
        ``out``'s arrays when given (each row contiguous), else into new ones. ``outcomes``
        False: ``(None, aggregate)``, on a GPU aggregated there (no outcome leaves it)."""
        F = DTYPES[self.dtype]
        kb0, nb, first, m = self.keys(j)
        t1 = time.perf_counter()
        if self.backend == "cuda" and not outcomes and not self.n_targets:
            gpu = self.gpu
            with gpu.lock:
                gpu.start(j, stage=False, aggregate=True, basins=basins)
                part, seconds = gpu.fetch_aggregate(j, basins)
            if timings is not None:
                timings["kernel_s"] += seconds
            return None, part
        outcomes = out if out is not None else empty_outcomes((len(self.arms), m), F,
                                                              self.n_targets)
        if self.backend == "cuda":
            gpu = self.gpu
            with gpu.lock:
                gpu.start(j, stage=False)
                outcomes, seconds = gpu.fetch(j, outcomes)
        else:
            sb = outcomes["start_basin"]
            inputs = self.inputs(j)
            for a, arm in enumerate(self.arms):
                if a:             # start basins do not depend on the arm: label them once
                    sb[a] = sb[0]
                launch(inputs, arm["optimizer"].kind_id, self.hp[a], self.seed, self.steps,
                       self.tol_x, self.tol_f, self.instances, self.starts, F, self.lanes, kb0,
                       nb, m,
                       {k: v[a] for k, v in outcomes.items()}, known_sb=a > 0,
                       targets=self.targets)
            seconds = time.perf_counter() - t1
        if timings is not None:
            timings["kernel_s"] += seconds
        return outcomes, self.aggregate(j, outcomes, basins)

    def aggregate(self, j, outcomes, basins=True):
        """The :class:`~swarm.aggregate.Aggregate` of chunk j's outcomes (``basins=False``:
        without its basin table, see :meth:`~swarm.aggregate.Aggregate.from_outcomes`)."""
        _, _, first, m = self.keys(j)
        instance = (first + np.arange(m)) // self.starts
        # above max_instance_rows nothing per instance is kept: no (instance, basin) table
        return Aggregate.from_outcomes(outcomes, instance, self.n_global, self.instances,
                                       self.steps, self.max_basin_rows,
                                       basins and self.per_instance, self.per_instance,
                                       self.targets)

    def fingerprint(self, spec):
        from swarm.kernels import cache
        text = json.dumps({"spec": spec, "backend": self.backend, "swarm": __version__,
                           "kernels": cache.source_hash(),
                           "max_basin_rows": self.max_basin_rows,
                           "max_instance_rows": self.max_instance_rows}, sort_keys=True,
                          default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def _execute(plan, keep, store, progress, timings):
    """Run (or load from the checkpoint) every chunk of the plan, in order, and merge. On a
    GPU two chunks are queued ahead: the host aggregates chunk j while the device computes
    chunk j+1, and queues chunk j+2 once it is done with chunk j's buffers."""
    col = Collector(plan, keep, progress)
    done = set(store.done()) if store is not None else set()
    todo = [j for j in range(plan.n_chunks) if j not in done]
    # the device aggregation has no target tallies: a study with targets copies its outcomes
    # out and aggregates them on the host (Plan.chunk)
    gpu = plan.gpu if plan.backend == "cuda" and todo and not plan.n_targets else None
    ahead = {}                    # the chunk to queue once each chunk is merged
    if gpu is not None:
        if keep:          # page-locked: copied there by the device, beside the next kernels
            col.outcomes = gpu.pinned(col.outcomes)
        ahead = dict(zip(todo, todo[gpu.SLOTS:]))
        for j in todo[:gpu.SLOTS]:
            gpu.start(j, stage=False, aggregate=True, dest=col.view(j) if keep else None)
    spare = None          # aggregate-only: one buffer for every chunk (fresh pages are slow)
    t_loop, w_loop = time.perf_counter(), gpu.wait_s if gpu is not None else 0.0
    with deferred_sigint(store is not None) as interrupted:
        for j in range(plan.n_chunks):
            in_place = False
            if j in done:
                out, part = store.load(j)
            else:
                # once the study's basin table is over its cap it stays dropped: skip the chunk's
                # own basin rows too (they would only be thrown away when merged)
                basins = col.agg.basins is not None
                if gpu is not None:       # aggregated on the device; kept: copied in place
                    part, seconds = gpu.fetch_aggregate(j, basins)
                    out, in_place = (col.view(j), True) if keep else (None, False)
                    timings["kernel_s"] += seconds
                else:
                    if keep:              # straight into the study's arrays: no copy
                        buf, in_place = col.view(j), True
                    else:
                        m = plan.keys(j)[3]
                        if spare is None or spare[FIELDS[0]].shape[1] < m:
                            spare = empty_outcomes((len(plan.arms), m), DTYPES[plan.dtype],
                                                   plan.n_targets)
                        buf = {k: v[:, :m] for k, v in spare.items()}
                    out, part = plan.chunk(j, timings, buf, basins)
                if store is not None:
                    store.save(j, out if keep else None, part)
            col.add(j, out, part, in_place)
            if j in ahead:                # chunk j's buffers are free again
                gpu.start(ahead[j], stage=False, aggregate=True,
                          basins=col.agg.basins is not None,
                          dest=col.view(ahead[j]) if keep else None)
            if interrupted() and j + 1 < plan.n_chunks:
                raise Interrupted(len(set(store.done())), plan.n_chunks, store.dir)
    if gpu is not None:   # the host's own time over the chunks: all but waiting for the device
        timings["host_s"] = time.perf_counter() - t_loop - (gpu.wait_s - w_loop)
        timings["chunks"] = len(todo)
    return col.result()


def _checked_study(landscape, optimizers, *, instances, starts, steps, noise, seed, start,
                   dtype, backend, tol_x, tol_f, chunk_size, threads, device, progress,
                   keep_outcomes, keep_limit, checkpoint, resume, max_basin_rows,
                   max_instance_rows, cluster, targets=None):
    """:func:`run`'s arguments checked, each with a ValueError naming it, and resolved:
    (landscape, optimizers as a list, instances, starts, steps, seed, noise levels, start,
    dtype, backend, tol_x, tol_f, chunk_size, arms, trajectories, keep, memory budget,
    max_basin_rows, max_instance_rows, cluster, targets). Refuses a study too large for memory
    before anything is allocated."""
    if not isinstance(landscape, Family):
        raise ValueError(f"landscape must be a family from swarm.landscapes (e.g. "
                         f"landscapes.rastrigin(dim=2)), got {landscape!r}")
    if isinstance(optimizers, Optimizer):
        optimizers = [optimizers]
    if not isinstance(optimizers, (list, tuple)) or not optimizers or \
            not all(isinstance(o, Optimizer) for o in optimizers):
        raise ValueError("optimizers must be a non-empty list of specs from swarm.optimizers "
                         f"(e.g. optimizers.adam(lr=0.01)), got {optimizers!r}")
    landscape.check_optimizers(optimizers)
    instances = V.integer("instances", instances, low=1, high=MAX_COUNTER)
    starts = V.integer("starts", starts, low=1, high=MAX_COUNTER)
    steps = V.integer("steps", steps, low=1, high=MAX_COUNTER - 1)
    seed = V.integer("seed", seed, low=0, high=2 ** 64 - 1)
    if isinstance(noise, np.ndarray) and noise.ndim <= 1:
        noise = noise.tolist()
    sigmas = tuple(noise) if isinstance(noise, (list, tuple)) else (noise,)
    if not sigmas:
        raise ValueError("noise must be a real number ≥ 0, a noise model (swarm.noise) or a "
                         "non-empty list of them, got []")
    sigmas = tuple(_noise_level(s, landscape) for s in sigmas)
    if progress is not None and not callable(progress):
        raise ValueError(f"progress must be a callable (called with the number of "
                         f"trajectories finished per chunk) or None, got {progress!r}")
    V.integer("device", device, low=0)
    V.choice("dtype", dtype, DTYPES)
    backend = _backend(backend, device)
    tol_x = default_tol_x(landscape) if tol_x is None else V.real("tol_x", tol_x, low=0.0)
    if tol_x > float(np.finfo(DTYPES[dtype]).max):
        raise ValueError(f"tol_x = {tol_x:g} is beyond the range of {dtype}")
    bank0 = probe(landscape, seed, dtype)
    tol_f = resolve_tol_f(tol_f, landscape, seed, dtype, bank0)
    targets = _targets.canonical(targets)
    _check_target_resolution(targets, landscape, seed, dtype, bank0)
    nt = 0 if targets is None else len(targets)
    if chunk_size is not None:
        chunk_size = V.integer("chunk_size", chunk_size, low=1)
    if threads is not None:
        V.integer("threads", threads, low=1, high=numba.config.NUMBA_NUM_THREADS)
    keep_limit = V.integer("keep_limit", keep_limit, low=0)
    max_basin_rows = V.integer("max_basin_rows", max_basin_rows, low=0)
    max_instance_rows = V.integer("max_instance_rows", max_instance_rows, low=0)
    if keep_outcomes is not None and not isinstance(keep_outcomes, bool):
        raise ValueError(f"keep_outcomes must be True, False or None (keep when at most "
                         f"keep_limit trajectories), got {keep_outcomes!r}")
    if not isinstance(resume, bool):
        raise ValueError(f"resume must be True or False, got {resume!r}")
    if resume and checkpoint is None:
        raise ValueError("resume=True needs checkpoint=DIR (the directory the study was "
                         "checkpointed to)")
    if checkpoint is not None and (not isinstance(checkpoint, (str, os.PathLike))
                                   or not str(os.fspath(checkpoint))):
        raise ValueError(f"checkpoint must be a directory path (a str or os.PathLike), got "
                         f"{checkpoint!r}")
    if cluster is not None:
        from swarm import distributed
        cluster = distributed.check(cluster)
    start = _starts.uniform() if start is None else start
    if not isinstance(start, _starts.Start):
        raise ValueError(f"start must come from swarm.starts (uniform(), gaussian(mu, sd), "
                         f"point(x), at_minimum(k)), got {start!r}")
    need_starts = start.count(landscape.dim)
    if need_starts is not None and need_starts != starts:
        raise ValueError(f"starts must be n**dim = {need_starts} for start=starts.grid({start.k}) "
                         f"on a {landscape.dim}-D landscape, got {starts}")
    n_arms = sum(o.n_configs for o in optimizers) * len(sigmas)
    if n_arms > MAX_ARMS:
        raise ValueError(f"a study of {n_arms:,} arms (optimizer configurations × noise "
                         f"levels) is more than the {MAX_ARMS:,} allowed; sweep fewer values")
    arms = []
    for o in optimizers:
        for cfg in o.configs():
            check_cast(o.kind, cfg, DTYPES[dtype])
            for s in sigmas:
                arms.append({"optimizer": o, "config": cfg, "noise": s})
    total = instances * starts * len(arms)
    if chunk_size is None:
        chunk_size = DEFAULT_CHUNK if backend == "cpu" else DEFAULT_CHUNK_GPU
        if cluster is not None:             # enough chunks to share out among the workers
            chunk_size = min(chunk_size, max(chunk_size >> 4, -(-total // 256)))
    chunk_size = min(chunk_size, len(arms) * starts * chunk_instances(landscape))
    keep = total <= keep_limit if keep_outcomes is None else keep_outcomes
    need = total * outcome_bytes(nt)
    budget = _memory_budget()
    if keep and need > budget:
        raise ValueError(
            f"study too large for memory with keep_outcomes: {total:,} trajectories (instances "
            f"× starts × configurations = {instances} × {starts} × {len(arms)}) need "
            f"{need / 2 ** 30:.1f} GiB of outcomes, more than the {budget / 2 ** 30:.1f} GiB "
            f"allowed (half the available memory); keep aggregates only (keep_outcomes=None "
            f"or False) or reduce the study")
    _check_memory(landscape, instances, starts, len(arms), keep,
                  min(max(1, chunk_size // len(arms)), instances * starts),
                  instances <= max_instance_rows, budget, nt)

    return (landscape, optimizers, instances, starts, steps, seed, sigmas, start, dtype, backend,
            tol_x, tol_f, chunk_size, arms, total, keep, budget, max_basin_rows,
            max_instance_rows, cluster, targets)


def _check_target_resolution(targets, landscape, seed, dtype, bank=None):
    """Refuse targets below what the working dtype resolves at the family's f*
    (:func:`f_resolution`, the floor of ``tol_f``) and targets that the cast to
    the dtype makes zero or equal: ``f − f* ≤ target`` would be decided by rounding."""
    if targets is None:
        return
    F = DTYPES[dtype]
    fs, r = f_resolution(landscape, seed, dtype, bank)
    small = float(targets[-1])
    if small < r:
        ok = targets[targets >= r]
        raise ValueError(
            f"targets: the smallest precision {small:g} is below what {dtype} resolves at f* = "
            f"{fs:.10g} of {landscape.name} (dim {landscape.dim}): f − f* ≤ target would be "
            f"decided by rounding. The smallest allowed is 4·√dim·eps({dtype})·|f*| = {r:.3g}"
            + (f" (of these targets, {ok.size} are allowed, down to {ok[-1]:.3g})" if ok.size
               else "")
            + "; use dtype='float64' or targets ≥ that")
    cast = targets.astype(F)
    if np.any(cast <= 0) or np.any(~np.isfinite(cast)) or np.any(np.diff(cast) >= 0):
        raise ValueError(f"targets: in {dtype} some of them are zero, infinite or equal to "
                         f"their neighbour; use dtype='float64' or other targets")


def run(landscape: Family, optimizers, *, instances: int = 10, starts: int = 1000,
        steps: int = 1000, noise: float = 0.0, seed: int = 0, start=None,
        dtype: str = "float64", backend: str = "cpu", tol_x: float | None = None,
        tol_f: float | str | None = "auto", chunk_size: int | None = None, threads: int | None = None,
        device: int = 0, progress=None, keep_outcomes: bool | None = None,
        keep_limit: int = DEFAULT_KEEP_LIMIT, checkpoint: str | os.PathLike | None = None,
        resume: bool = False, max_basin_rows: int = MAX_BASIN_ROWS,
        max_instance_rows: int = MAX_INSTANCE_ROWS, cluster=None, targets=None) -> Result:
    """Run a study: every optimizer (configuration) from ``starts`` start points on each of
    ``instances`` random instances of ``landscape``, for ``steps`` steps.

    ``noise`` is the std σ of additive Gaussian gradient noise, or a noise model from
    :mod:`swarm.noise` (``student_t``, ``alpha_stable``, ``curvature``, ``gaussian`` with
    per-coordinate σ; also their text or dict); a sequence of them is a grid (more arms).
    Returns a :class:`~swarm.result.Result` with exact aggregates (always) and per-trajectory
    outcomes (when kept), and provenance. Same arguments and seed → bit-identical outcomes and
    aggregates, whatever ``threads`` and ``chunk_size`` (and, in float64, whether the CPU or
    the CUDA simulator ran them).

    ``backend``: ``"cpu"``, ``"cuda"`` (GPU ``device``), or ``"auto"`` (CUDA when
    ``numba.cuda.is_available()``, else CPU). The study runs in chunks of about
    ``chunk_size`` trajectories (default 2²⁰ on the CPU, 2²² on a GPU), all arms on the same
    keys, which bounds memory.

    A trajectory *hits* the global target at its first evaluation with ``‖x − x*‖ ≤ tol_x``
    (default 1 % of the family's half-width) or ``f − f* ≤ tol_f``, tested in the working
    ``dtype``. ``tol_f`` defaults to ``"auto"``: the larger of 1e-8 and
    ``4·√dim·eps(dtype)·|f*|`` (:func:`f_resolution`; f* of instance 0 — one constant per
    family), which the manifest records as the spec's ``tol_f``. An explicit ``tol_f`` below
    that resolution is refused (use float64, or ``tol_f=None``: the x criterion only).
    Hyperparameters are checked again after their cast to ``dtype`` (Adam's ``b2 =
    0.99999999`` is 1.0 in float32: refused).

    Per-trajectory outcomes are kept when ``keep_outcomes`` is True, or when it is None (the
    default) and the study has at most ``keep_limit`` trajectories; otherwise only the
    aggregates are kept and memory does not grow with the number of trajectories.

    Instances are generated chunk by chunk (:meth:`Family.bank
    <swarm.landscapes.Family.bank>`), never all at once. The aggregate keeps per-instance
    counts up to ``max_instance_rows`` instances (default 2²⁰); above, only their sums and
    second moments — all that the family-level intervals need — so that memory does not grow
    with the number of instances either.

    ``checkpoint``: a directory; each finished chunk is written there atomically, and with
    ``resume=True`` the chunks already there are loaded — each checked against the study
    first — instead of recomputed (a directory holding another study's checkpoint is
    refused). The run holds the directory's lock: a second process writing to it is refused
    (:class:`swarm.files.DirectoryBusy`). With a checkpoint, Ctrl-C stops at the next
    chunk boundary by raising :class:`Interrupted`.

    ``cluster``: run the chunks as Dask tasks (:mod:`swarm.distributed`, needs
    ``pip install 'swarm[distributed]'``) — ``"local"`` (a ``LocalCluster`` on this machine;
    with ``backend="cuda"`` and dask-cuda, one worker per GPU), a number of local worker
    processes, a scheduler address (``"tcp://host:8786"``), or a ``distributed.Client`` or Dask
    cluster object. The result is identical to the single-process run (same outcome hash);
    ``threads`` is then the Numba threads of each task (default: each host's cores shared
    among the tasks running on it), and the default ``chunk_size`` is smaller, so that there
    are enough chunks to share out. A chunk that keeps failing on the workers raises
    :class:`swarm.distributed.ChunkFailed`. Without ``cluster`` Dask is never imported.

    ``targets``: precision targets besides ``tol_f`` (:mod:`swarm.targets`) — ``"coco"``
    (COCO's 51 precisions 10², 10^1.8, …, 10⁻⁸) or a strictly decreasing sequence of at most
    64 positive finite precisions. Each trajectory then records the first-hit step of every
    ``f − f* ≤ target`` (outcome field ``target_hit``, shape ``(trajectories, targets)``),
    and the aggregate keeps per arm and target the hits, the exact sum of their steps and
    their histogram on the hit grid (:func:`swarm.analysis.art`,
    :func:`swarm.analysis.runtime_ecdf`). Targets below the dtype's resolution at f* (the
    floor of ``tol_f``) are refused. On CUDA a study with targets is aggregated on the host.
    """
    (landscape, optimizers, instances, starts, steps, seed, sigmas, start, dtype, backend,
     tol_x, tol_f, chunk_size, arms, total, keep, budget, max_basin_rows, max_instance_rows,
     cluster, targets) = _checked_study(
        landscape, optimizers, instances=instances, starts=starts, steps=steps, noise=noise,
        seed=seed, start=start, dtype=dtype, backend=backend, tol_x=tol_x, tol_f=tol_f,
        chunk_size=chunk_size, threads=threads, device=device, progress=progress,
        keep_outcomes=keep_outcomes, keep_limit=keep_limit, checkpoint=checkpoint,
        resume=resume, max_basin_rows=max_basin_rows, max_instance_rows=max_instance_rows,
        cluster=cluster, targets=targets)

    spec = {"landscape": landscape.to_dict(), "optimizers": [o.to_dict() for o in optimizers],
            "instances": instances, "starts": starts, "steps": steps,
            "noise": [_noise.record(s) for s in sigmas],
            "seed": seed, "start": start.to_dict(), "dtype": dtype, "tol_x": tol_x,
            "tol_f": None if tol_f == -np.inf else tol_f}
    if targets is not None:             # only then: specs without targets stay as they were
        spec["targets"] = _targets.record(targets)
    t0 = time.perf_counter()
    plan = Plan(landscape, optimizers, arms, instances, starts, steps, seed, start, dtype,
                backend, tol_x, tol_f, max(1, chunk_size // len(arms)), max_basin_rows,
                max_instance_rows, targets)
    if start.kind == "minimum":         # an instance that lists too few minima: refuse now
        plan.inputs(0)
    store = None
    if checkpoint is not None:
        layout = {"n_chunks": plan.n_chunks, "keys_per_chunk": plan.keys_per_chunk,
                  "keep": bool(keep)}
        describe = (f"{landscape.name} dim {landscape.dim}, {len(arms)} arms, {instances} "
                    f"instances × {starts} starts, {steps} steps, seed {seed}")
        store = _checkpoint.Store(checkpoint, plan.fingerprint(spec), layout, resume, describe)
        try:
            if store.layout != layout:              # resume in the checkpoint's own chunking
                keep = store.layout["keep"]
                plan = Plan(landscape, optimizers, arms, instances, starts, steps, seed, start,
                            dtype, backend, tol_x, tol_f, store.layout["keys_per_chunk"],
                            max_basin_rows, max_instance_rows, targets)
                if plan.n_chunks != store.layout["n_chunks"] or \
                        plan.keys_per_chunk != store.layout["keys_per_chunk"]:
                    raise ValueError(f"{store.dir / _checkpoint.STATE}: damaged checkpoint "
                                     f"(its layout {store.layout} is not a chunking of this "
                                     f"study); delete it and {store.chunks}/ to start over")
            if keep and total * outcome_bytes(plan.n_targets) > budget:
                raise ValueError(f"{store.dir / _checkpoint.STATE}: the checkpoint keeps "
                                 f"outcomes, {total:,} trajectories, more than memory allows")
            store.plan = plan                       # chunks are checked against the plan
        except BaseException:
            store.close()
            raise
    timings = {"pack_s": time.perf_counter() - t0, "kernel_s": 0.0}
    cluster_info = None
    try:
        if cluster is None:
            with _threads(threads):
                outcomes, agg = _execute(plan, keep, store, progress, timings)
        else:       # kernel_s: summed over the workers; the rate is per second of the run
            from swarm import distributed
            outcomes, agg, cluster_info = distributed.execute(plan, keep, store, progress,
                                                              timings, cluster, threads, backend)
    finally:
        if store is not None:
            store.close()                           # the directory's lock
    timings["total_s"] = time.perf_counter() - t0
    timings["trajectory_steps_per_s"] = total * steps / max(
        timings["execute_s"] if cluster is not None else timings["kernel_s"], 1e-12)
    arm_rows = [{"label": str(a["optimizer"].label), "kind": a["optimizer"].kind,
                 **arm_params(a["optimizer"].kind, a["config"]), **_noise_fields(a["noise"])}
                for a in arms]
    prov = provenance(backend, timings, threads, chunk_size)
    if cluster_info is not None:
        prov["cluster"] = cluster_info
    if targets is not None:             # how target hits were computed (host tallies on CUDA)
        prov["targets"] = {"n": len(targets), "spec": spec["targets"],
                           "aggregation": "host" if backend == "cuda" else "cpu"}
    n_global = np.broadcast_to(np.int64(plan.n_global), (instances,))    # a view: no memory
    return Result(spec=spec, arms=arm_rows, outcomes=outcomes, n_global=n_global,
                  provenance=prov, aggregate=agg)


def _noise_level(n, family):
    """One noise level checked (:func:`swarm.noise.canonical`: a float σ or a model), its
    per-coordinate σ against the landscape's dim, and curvature noise against the family's
    diagonal Hessian (the registry's ``hessian_diag``: COCO's BBOB functions have none)."""
    from swarm.landscapes import REGISTRY
    n = _noise.canonical(n)
    dim = family.dim
    if not isinstance(n, float) and n.per_coordinate and len(n.sigma) != dim:
        raise ValueError(f"noise sigma has {len(n.sigma)} values, one per coordinate, but the "
                         f"landscape has dim = {dim}: {n}")
    if not isinstance(n, float) and n.kind == "curvature":
        row = REGISTRY.get(family.name)
        if row is None or not row.hessian_diag:
            able = sorted(k for k, r in REGISTRY.items() if r.hessian_diag)
            raise ValueError(f"noise {n} needs the landscape's diagonal Hessian, which "
                             f"{family.name} does not have; curvature noise runs on "
                             f"{', '.join(able)}")
    return n


def _noise_fields(n) -> dict:
    """An arm's noise as its record says it: ``noise`` the number σ (today's form; for a
    model, its σ, or the root mean square of per-coordinate σ) and, for a model other than
    plain Gaussian, ``noise_model`` its text (``student_t(sigma=0.5, nu=3.0)``)."""
    if isinstance(n, float):
        return {"noise": n}
    return {"noise": n.scale, "noise_model": str(n)}


def path(instance, optimizer: Optimizer, x0, steps: int = 500, *, noise: float = 0.0,
         seed: int = 0, start_index: int = 0, dtype: str = "float64") -> np.ndarray:
    """Positions ``(steps+1, dim)`` of one trajectory from ``x0`` on ``instance`` — the same
    kernel code as a study, so ``path`` with a study's seed and (instance, start) key shows its
    noise exactly. Rows after a divergence are NaN."""
    from swarm.landscapes import Instance
    if not isinstance(instance, Instance):
        raise ValueError(f"instance must be a landscape instance (e.g. "
                         f"landscapes.rastrigin(dim=2).instance(seed, 0)), got {instance!r}")
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be a spec from swarm.optimizers, got {optimizer!r}")
    if optimizer.n_configs != 1:
        raise ValueError(f"path needs one configuration, got a grid of {optimizer.n_configs}")
    instance.family.check_optimizers([optimizer])
    cfgs = optimizer.configs()
    steps = V.integer("steps", steps, low=1, high=MAX_COUNTER - 1)
    noise = _noise_level(noise, instance.family)
    seed = V.integer("seed", seed, low=0, high=2 ** 64 - 1)
    V.choice("dtype", dtype, DTYPES)
    F = DTYPES[dtype]
    check_cast(optimizer.kind, cfgs[0], F)
    need = (steps + 1) * instance.dim * (np.dtype(F).itemsize + 8)
    budget = _memory_budget()
    if need > budget:
        raise ValueError(f"path of {steps:,} steps in {instance.dim} dimensions needs "
                         f"{need / 2 ** 30:.1f} GiB, more than the {budget / 2 ** 30:.1f} GiB "
                         f"allowed (half the available memory); ask for fewer steps")
    x0 = V.vector("x0", x0, instance.dim)
    inputs = Inputs.one(instance, _starts.point(x0), F)
    hp = hyper_row(optimizer.kind, cfgs[0], noise, instance.dim)[None, :]
    rec = np.full((1, steps + 1, instance.dim), np.nan, dtype=F)
    # the start index keys the noise; the instance index is that of the instance
    launch_idx = V.integer("start_index", start_index, low=0, high=MAX_COUNTER)
    _path_launch(inputs, optimizer.kind_id, hp, seed, steps, F, launch_idx, rec)
    return rec[0].astype(np.float64)


def _path_launch(inputs, kind_id, hp, seed, steps, F, start_index, rec):
    from swarm.kernels import cpu
    k0, k1 = philox.split_seed(seed)
    return cpu.PATHS[np.dtype(F)](inputs.fid, kind_id, inputs.lp[0], inputs.skind, inputs.sp[0],
                                  inputs.box[0], inputs.gmin[0], hp[0].astype(F), inputs.tab,
                                  inputs.ctype, inputs.gk, k0, k1, steps, F(0), F(-np.inf),
                                  inputs.lo, start_index, rec[0])
