"""The CUDA kernels: one thread per trajectory, nothing else.

The maths is :func:`kernels.trajectory.make` built with ``numba.cuda.jit(device=True)`` and a
block of ``L = 1`` lane: the same functions as the CPU kernel, never a second copy. Per-thread
state lives in local arrays (registers or local memory); the inputs a thread reads are its
instance's and configuration's rows (shared by its neighbours, so reads are broadcast), and
each output is written once, at consecutive addresses across a warp (coalesced).

Each launch is one landscape family, so the kernel is built for it: the family id reaches the
shared code as a compile-time constant, and the integer dispatch (``if fid == ids.RASTRIGIN:
…``) folds away, leaving one landscape in the kernel. Up to ``EXACT_DIM`` dimensions the
dimension is a constant too: the coordinate loops unroll and the per-thread arrays, indexed by
constants only, live in registers instead of local memory (none is left at 2-D). Above,
``cuda.local.array`` is sized by a *dimension bucket* (the smallest of ``DIM_BUCKETS`` that
holds the dimension) and the dimension is read at run time. The optimizer kind stays a run-time
argument: every thread of a launch takes the same branch, and one kernel serves all of a
study's optimizers (one compilation, not one per optimizer; sm_90, float32, 2-D Rastrigin: 95
registers with all 15 optimizers' rules, schedules and clipping, ptxas -v, 2026-12-08;
``scripts/kernel_stats.py`` prints the figures). Kernels are built on first use and kept for
the process.

Thread ``r`` of a launch runs trajectory ``first + r`` of the launch's ``(config, instance,
start)`` row-major order, like the CPU kernel's blocks.

The thread index, the step counter, the dimension and the global minima's loop are 32-bit
(``trajectory.make(index=np.int32)``; Numba's default is 64-bit, which costs the GPU a second
instruction for every addition and comparison): a launch whose counts do not fit (:func:`wide`:
more than 2³¹ − 3 steps or threads) gets the kernel built with 64-bit ones. Kernels declare
launch bounds of ``THREADS`` threads per block (every launch uses that many) above
``EXACT_DIM`` dimensions (:func:`bounded`).

**Fast maths in float32 only.** float32 kernels are compiled with numba-cuda's
``fastmath=True``: division and square root are the approximate ``div.full.f32`` /
``sqrt.approx.f32`` (≤ 2 ulp; no ``FCHK`` test and slow-path call per division), subnormal
float32 values are flushed to zero, and the kernel function's own arithmetic (its index work,
not the shared maths, which keeps its own flags) may be reassociated. So float32 results on a
GPU differ from the CPU's in the last bits, as they already did through libdevice; they agree
statistically (``tests/test_cuda.py``). float64 kernels keep IEEE division and square root
and no flushing, so that their results follow the CPU's rounding rules; the simulator, which
ignores fastmath, stays bit-identical to the CPU in both dtypes.
"""
import numpy as np
from numba import config, cuda, from_dtype, int64

from . import fma as _fma
from . import ids, trajectory

DIM_BUCKETS = (2, 8, 32, 128, 1024)
EXACT_DIM = 8
THREADS = 128
_KERNELS = {}


def bucket(dim):
    for b in DIM_BUCKETS:
        if dim <= b:
            return b
    raise ValueError(f"dim must be at most {DIM_BUCKETS[-1]} on the CUDA backend, got {dim}")


def bounded(dim):
    """Whether the kernel for ``dim`` dimensions declares launch bounds: only the bucketed ones
    (above ``EXACT_DIM``). There ptxas then keeps a thread within 72 registers in float32
    (95–141 without) for a few spilled words; at 2-D it saves no register and adds about 100
    instructions to the step loop (ptxas 13.0, sm_80/sm_90, docs/performance.md)."""
    return dim > EXACT_DIM


def jit_options(F, fast=True, bounds=True):
    """The ``cuda.jit`` options of the kernels for working dtype F (also for ``compile_ptx``,
    so that static figures are of the kernel that runs). ``bounds``: launch bounds of
    ``THREADS`` threads per block (ptxas then budgets registers for blocks of that size;
    every launch uses ``THREADS``). ``fast``: float32 kernels are compiled with fast maths
    (see the module docstring); float64 kernels never are. The simulator knows neither."""
    opts = {}
    if fast and np.dtype(F) == np.float32:
        opts["fastmath"] = True
    if bounds and not config.ENABLE_CUDASIM:
        opts["launch_bounds"] = THREADS
    return opts


INT32_MAX = int(np.iinfo(np.int32).max)


def wide(steps, n):
    """Whether a launch of ``n`` trajectories of ``steps`` steps needs the kernel with 64-bit
    indices: its step counter runs to ``steps + 1`` and its thread index to ``n`` rounded up to
    whole blocks, which the 32-bit kernel holds only below 2³¹ (the engine's steps may reach
    2³² − 2 and its chunks are not bounded, so such launches get the wide kernel)."""
    return int(steps) + 2 > INT32_MAX or int(n) + THREADS > INT32_MAX


def build(F, maxd, fid=None, dim=None, targets=False, fast=True, bounds=None, wide=False):
    """The CUDA kernel for working dtype F and dimensions up to ``maxd`` (not cached).
    ``fid``, ``dim`` given: built for that family (the launch's own ``fid`` argument is then
    ignored) and that exact dimension; ``None``: read at run time (both ``None``: one kernel
    for every family, the benchmark's baseline). ``targets``: with the rows of up to
    ``ids.MAX_TARGETS`` precision targets in each thread's ``li`` (the launch's ``nt`` of
    them used); without, ``li`` is as small as it always was and ``nt`` must be 0.
    ``fast``, ``bounds``: :func:`jit_options` (``bounds`` None: :func:`bounded`, with
    ``dim`` None counting as above ``EXACT_DIM``); ``wide``: 64-bit thread index, step
    counter and dimension, as Numba types them by default; otherwise 32-bit, valid while
    :func:`wide` is False for the launch (``fast=False, bounds=False, wide=True``: the kernel
    as built before issue 24's kernel items, for the static before/after figures)."""
    # BBOB ids get the BBOB functions; every other kernel (and the any-family one) only the
    # main families, as on the CPU
    only = ids.BBOB_FAMILIES if fid is not None and int(fid) in ids.BBOB_FAMILIES \
        else ids.NATIVE_FAMILIES
    I = np.int64 if wide else np.int32
    block = trajectory.make(cuda.jit(device=True), F, 1, fma=_fma.cuda_device(), only=only,
                            index=I)[0]
    FID = -1 if fid is None else int(fid)          # closure constants: Numba folds the select
    DIM = -1 if dim is None else int(dim)
    if DIM > maxd:
        raise ValueError(f"dim {dim} does not fit local arrays of {maxd}")
    nt = from_dtype(np.dtype(F))
    ns, nls = ids.NSCRATCH, ids.NLS                   # literal sizes for local arrays
    nli = ids.LI_TARGETS + ids.MAX_TARGETS if targets else ids.NLI
    TG = bool(targets)

    if bounds is None:
        bounds = dim is None or bounded(dim)

    @cuda.jit(**jit_options(F, fast, bounds))
    def run(fid, kind, lp, skind, sp, box, gmin, hp, tab, ctype, gk, k0, k1, steps, tol_x,
            tol_f, n_t, tv, n_inst, i0, n_start, first, n, known_sb, sb, eb, hit, best, final,
            div, th):
        r = I(cuda.grid(1))      # 32-bit: LLVM narrows the grid's 64-bit products
        if r >= n:
            return
        tr = first + np.int64(r)     # (the simulator's NumPy would keep int32 and overflow)
        c = tr // (n_inst * n_start)
        i = (tr // n_start) % n_inst
        s = tr % n_start
        w = cuda.local.array((ns, maxd, 1), nt)
        t = cuda.local.array((nls, 1), nt)
        li = cuda.local.array((nli, 1), int64)
        # paths are recorded on the CPU only; a global `rec` array here, even with no rows,
        # is a store that may alias the inputs, so that LLVM reloads them every step (a
        # one-row local array instead: 9 fewer global loads and 49 fewer instructions in the
        # 2-D Rastrigin + Adam step loop, sm_90)
        norec = cuda.local.array((1, maxd), nt)
        if known_sb:
            li[ids.LI_SB, 0] = sb[r]
        j = i - i0               # the arrays hold the chunk's instances, from i0
        block(fid if FID < 0 else FID, kind, lp[j], skind, sp[j],
              box[j], gmin[j], hp[c], tab, ctype, gk, k0, k1, steps, tol_x, tol_f,
              n_t if TG else 0, tv, i, s, 1, known_sb, w, t, li, norec,
              I(sp.shape[2]) if DIM < 0 else I(DIM))
        sb[r] = li[ids.LI_SB, 0]
        eb[r] = li[ids.LI_EB, 0]
        hit[r] = li[ids.LI_HIT, 0]
        best[r] = t[ids.LS_BEST, 0]
        final[r] = t[ids.LS_FINAL, 0]
        div[r] = t[ids.LS_ALIVE, 0] == 0
        if TG:
            for q in range(n_t):
                th[r, q] = li[ids.LI_TARGETS + q, 0]

    return run


def kernel(F, dim, fid=None, targets=False, fast=True, bounds=None, wide=False):
    """The kernel for dtype F, dimension ``dim`` and family ``fid`` (``None``: any), for every
    optimizer, built on first use. Up to ``EXACT_DIM`` dimensions one per dimension.
    ``targets``: the kernel that records precision targets; ``fast``, ``bounds``, ``wide``:
    as :func:`build` (the engine asks for ``wide`` only where :func:`wide` says so)."""
    exact = dim <= EXACT_DIM
    maxd = dim if exact else bucket(dim)
    bounds = bounded(dim) if bounds is None else bool(bounds)
    key = (np.dtype(F), maxd, exact, fid, bool(targets), bool(fast), bounds, bool(wide))
    if key not in _KERNELS:
        _KERNELS[key] = build(F, maxd, fid, dim if exact else None, bool(targets), fast, bounds,
                              wide)
    return _KERNELS[key]


NAMES = ("start_basin", "end_basin", "hit_step", "best_f", "final_f", "diverged")
TARGET_HIT = "target_hit"      # (n, n_targets) int64, after NAMES' arrays when targets are on


def names(nt=0):
    """The outcome arrays' names: :data:`NAMES`, and ``target_hit`` with ``nt > 0`` targets."""
    return NAMES + ((TARGET_HIT,) if nt else ())


def inputs(lp, sp, box, gmin, tab, ctype, gk, stream=0):
    """A chunk's arrays on the current device (queued on ``stream``), for all its launches."""
    return tuple(cuda.to_device(a, stream=stream) for a in (lp, sp, box, gmin, tab, ctype, gk))


def dtypes(F):
    """The outcomes' dtypes in :data:`NAMES`' order (float ones in the working dtype F)."""
    return (np.int64,) * 3 + (F,) * 2 + (np.bool_,)


def outputs(n, F, nt=0):
    """Device arrays for the outcomes of up to n trajectories, in :func:`names` order (with
    ``nt`` targets, ``target_hit`` (n, nt) last)."""
    out = [cuda.device_array(n, dt) for dt in dtypes(F)]
    if nt:
        out.append(cuda.device_array((n, nt), np.int64))
    return out


def prepare(fid, kind, dev, hp, skind, k0, k1, steps, tol_x, tol_f, n_inst, i0, n_start, first,
            n, F, out, known_sb=False, targets=None):
    """``(kernel, grid, threads, args)`` for trajectories ``first … first+n−1``: ``dev`` the
    study's device arrays (:func:`inputs`), ``hp`` the configuration rows on the device,
    ``i0`` the first instance ``dev``'s instance arrays hold, ``out`` device outcome arrays at
    least n long (:func:`outputs`), of which
    ``kernel[grid, threads](*args)`` fills the first n. ``known_sb``: ``out``'s start basins
    hold these trajectories' already (another arm's), so the kernel does not label them.
    ``targets``: the precision targets on the device (working dtype, decreasing; ``out``'s
    last array is then ``target_hit``), or None."""
    lp, sp, box, gmin, tab, ctype, gk = dev
    dim = sp.shape[2]
    # Numba's CUDA simulator runs the threads of a block as Python threads that contend for
    # the GIL and for its per-call module-swap locks (a 2-D Griewank parity test took 18 min
    # with 128-thread blocks); it runs blocks one after another, so there it gets 1 thread each
    threads = 1 if config.ENABLE_CUDASIM else THREADS
    grid = (n + threads - 1) // threads
    nt = 0 if targets is None else int(targets.shape[0])
    if nt > ids.MAX_TARGETS:
        raise ValueError(f"at most {ids.MAX_TARGETS} targets, got {nt}")
    if nt:
        tv, th = targets, out[len(NAMES)][:n]
    else:                # unused: one element each (the kernel without targets never reads)
        tv, th = _dummy(F)
    args = launch_args(fid, kind, dev, hp, skind, k0, k1, steps, tol_x, tol_f, n_inst, i0,
                       n_start, first, n, F, out, known_sb, nt, tv, th)
    return kernel(F, dim, fid, nt > 0, wide=wide(steps, n)), grid, threads, args


def launch_args(fid, kind, dev, hp, skind, k0, k1, steps, tol_x, tol_f, n_inst, i0, n_start,
                first, n, F, out, known_sb, nt, tv, th):
    """The kernel's arguments in order (:func:`prepare`; also host arrays, for the types of
    ``compile_ptx``)."""
    lp, sp, box, gmin, tab, ctype, gk = dev
    return (fid, kind, lp, skind, sp, box, gmin, hp, tab, ctype, gk, k0, k1, steps, F(tol_x),
            F(tol_f), nt, tv, n_inst, i0, n_start, first, n, int(known_sb),
            *(o[:n] for o in out[:len(NAMES)]), th)


_DUMMY = {}


def _dummy(F):
    """A one-element targets array and a (1, 1) target_hit array on the device, for launches
    without targets (made once per dtype and device context)."""
    key = (np.dtype(F), id(cuda.current_context()))
    if key not in _DUMMY:
        _DUMMY[key] = (cuda.to_device(np.zeros(1, F)), cuda.device_array((1, 1), np.int64))
    return _DUMMY[key]


def start(*args, known_sb=False, stream=0, targets=None):
    """Queue the kernel (arguments as :func:`prepare`) on ``stream`` and return at once: the
    host may work while the device computes."""
    run, grid, threads, kargs = prepare(*args, known_sb=known_sb, targets=targets)
    run[grid, threads, stream](*kargs)


def staging(arms, n, F, nt=0):
    """Page-locked host arrays ``(arms, n)`` by name (:data:`NAMES`; with ``nt`` targets also
    ``target_hit``, ``(arms, n, nt)``) for the outcomes of up to n trajectories of each arm.
    The device copies into page-locked memory at the bus's rate and without the host's help,
    so the copies can be queued behind the kernels; into ordinary (pageable) memory they ran
    at about 3.3 GB/s on an H200 machine."""
    out = {k: cuda.pinned_array((arms, n), dt) for k, dt in zip(NAMES, dtypes(F))}
    if nt:
        out[TARGET_HIT] = cuda.pinned_array((arms, n, nt), np.int64)
    return out


def copy_out(out, n, host, stream, skip=()):
    """Queue on ``stream`` copies of the first n outcomes of the device arrays ``out`` (but
    not those named in ``skip``) into ``host``'s arrays (contiguous, at least n long, by
    name; page-locked for the copies to run while the host works)."""
    for k, v in zip(names(len(out) > len(NAMES)), out):
        if k not in skip:
            v[:n].copy_to_host(host[k][:n], stream=stream)
