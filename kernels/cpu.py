"""The CPU kernels: ``prange`` over blocks of ``lanes`` trajectories, nothing else.

The trajectory ``t`` of a launch is ``(config c, instance i, start s)`` in row-major order over
``(n_cfg, n_inst, n_start)``. A row ``(c, i)`` is cut into ``nsb = ceil(n_start / lanes)``
blocks of consecutive starts; block ``b`` of the launch is row ``b // nsb``, starts from
``(b % nsb)·lanes``. The instance arrays (``lp``, ``sp``, ``box``, ``gmin``) hold instances
``i0, i0 + 1, …`` only (a chunk's), so instance ``i`` reads row ``i − i0``; its noise and
starts stay keyed by ``i``. The lane count is the study's (:func:`lanes_for`): no outcome depends on
it (noise and starts are keyed by the start index), only speed. A chunk runs blocks
``b0 … b0 + nb − 1``, whose trajectories are contiguous.
Within a block the lanes are innermost, so LLVM vectorises the maths across trajectories.
One kernel per working dtype (Numba caches only module-level functions, so the two differ only
in the dtype and the block function they call), cached on disk; the maths is built by
:func:`kernels.trajectory.make`.

Two kernel sets: the main one (``B64``, ``B32``, …) serves ``ids.NATIVE_FAMILIES`` and never
compiles COCO's BBOB functions; :func:`bbob_kernels` builds the same kernels (the same source
functions, rebound to BBOB block functions, cached in their own subdirectory) for
``ids.BBOB_FAMILIES``, on first use only. ``KERNELS``, ``PATHS``, :func:`evaluate` and
:func:`label` pick the set by the family id.
"""
import types

import numpy as np
from numba import njit, prange

from . import cache, ids, trajectory

LANES = 512           # most lanes per block
BASE_LANES = 128      # lanes per block when the block's arrays are large (wide landscapes)
MIN_LANES = 16
BLOCK_BYTES = 256 * 1024   # a block's work array w is kept below this where possible


def lanes_for(n_start, dim=2, itemsize=8):
    """Lanes per block for ``n_start`` starts per instance of a ``dim``-dimensional study in a
    working dtype of ``itemsize`` bytes. Blocks never span two instances, so few starts get a
    small block (less padding). Many starts get as many lanes as keep the block's work array
    within ``BLOCK_BYTES`` (it is read many times per step, so it should stay in the core's
    L2 cache), between ``BASE_LANES`` and ``LANES``: per-block costs (calls, loop set-up,
    overlap checks) spread over more trajectories. On a Zen 5 (1 MB L2 per core), one process
    alternating the lane counts: 2-D Rastrigin + Adam 512 lanes against 128 +10–13 %
    (float32 494 → 559, float64 298 → 329 M traj-steps/s), no gain above 512; 20-D Gaussian
    peaks float32 256 lanes +12 %, float64 128 ≈ 256, and 512 lanes −32 % (a 800 kB block).
    A power of two below ``MIN_LANES`` starts gets exactly that many lanes (no padding lanes):
    one start per instance, the design of studies over many instances, ran 1.35–1.55× faster
    with 1 lane than with 16 (2-D Rastrigin, 20-D Gaussian peaks), 8 starts 0–20 % with 8;
    other small counts keep ``MIN_LANES`` (3 starts: 4 lanes were no faster)."""
    n = max(int(n_start), 1)
    if n < MIN_LANES and n & (n - 1) == 0:
        return n
    fit = BLOCK_BYTES // (ids.NSCRATCH * max(int(dim), 1) * int(itemsize))
    cap = min(LANES, max(BASE_LANES, 1 << (max(fit, 1).bit_length() - 1)))
    return min(cap, max(MIN_LANES, 1 << (n - 1).bit_length()))


# scalar helpers (kmath, Philox) are inlined into the lane loops so that they vectorise; the
# block-level functions are ordinary calls (each covers LANES trajectories, so a call costs
# nothing per trajectory-step), which keeps compile time bounded. No NRT in the maths: array
# views passed between functions would otherwise pay atomic reference counts in the step loop.
_hot = njit(inline="always", error_model="numpy")
_cold = njit(error_model="numpy", _nrt=False)
B64, VG64, LABEL64 = trajectory.make(_hot, np.float64, LANES, _cold,
                                     only=ids.NATIVE_FAMILIES)[:3]
B32 = trajectory.make(_hot, np.float32, LANES, _cold, only=ids.NATIVE_FAMILIES)[0]

_kernel = cache.cached_njit(parallel=True, error_model="numpy")
_single = cache.cached_njit(error_model="numpy")


@njit(inline="always")
def _locate(b, n_inst, n_start, lanes):
    nsb = (n_start + lanes - 1) // lanes
    row = b // nsb
    s0 = (b % nsb) * lanes
    return row // n_inst, row % n_inst, s0, min(lanes, n_start - s0), row * n_start + s0


@njit(inline="always")
def _empty64(n, dtype):
    """An uninitialised 1-D array of n elements that starts on a 64-byte boundary. Numba aligns
    arrays to 32 bytes only; with AVX-512 a block's lane rows (a multiple of 64 bytes each)
    starting 32 bytes into a cache line made every vector load and store of the block split
    across two lines, and the kernel ran up to a third slower, by the luck of the allocation."""
    buf = np.empty(n + 16, dtype)               # 16 elements: at least 64 bytes
    off = (-buf.ctypes.data % 64) // buf.itemsize
    return buf[off:off + n]


@njit(inline="always")
def _block_arrays(dim, lanes, dtype, nt):
    """A block's work arrays w, t (working dtype) and li (int64; with its rows for ``nt``
    precision targets), each 64-byte aligned."""
    w = _empty64(ids.NSCRATCH * dim * lanes, dtype).reshape((ids.NSCRATCH, dim, lanes))
    t = _empty64(ids.NLS * lanes, dtype).reshape((ids.NLS, lanes))
    nli = ids.LI_TARGETS + nt
    li = _empty64(nli * lanes, np.int64).reshape((nli, lanes))
    return w, t, li


@njit(inline="always")
def _load_sb(li, o, n_act, sb):
    """A block's known start basins (``known_sb``) from the launch's ``sb`` at offset o; padding
    lanes get 0 (they are never reported)."""
    for k in range(li.shape[1]):
        li[ids.LI_SB, k] = sb[o + k] if k < n_act else 0


@njit(inline="always")
def _store(li, t, o, n_act, sb, eb, hit, best, final, div, nt, th):
    """Copy a block's lanes 0 … n_act−1 to the launch's outcome arrays from offset o (and,
    with ``nt`` targets, their first-hit steps to the rows of ``th``, (trajectories, nt))."""
    for k in range(n_act):
        sb[o + k] = li[ids.LI_SB, k]
        eb[o + k] = li[ids.LI_EB, k]
        hit[o + k] = li[ids.LI_HIT, k]
        best[o + k] = t[ids.LS_BEST, k]
        final[o + k] = t[ids.LS_FINAL, k]
        div[o + k] = t[ids.LS_ALIVE, k] == 0
        for j in range(nt):
            th[o + k, j] = li[ids.LI_TARGETS + j, k]


@_kernel
def run64(fid, kind, lp, skind, sp, box, gmin, hp, tab, ctype, gk, k0, k1, steps, tol_x, tol_f,
          nt, targets, n_inst, i0, n_start, lanes, b0, nb, known_sb, rec, sb, eb, hit, best,
          final, div, th):
    dim = sp.shape[2]
    first = _locate(b0, n_inst, n_start, lanes)[4]
    for r in prange(nb):
        c, i, s0, n_act, t0 = _locate(b0 + r, n_inst, n_start, lanes)
        w, t, li = _block_arrays(dim, lanes, np.float64, nt)
        if known_sb:
            _load_sb(li, t0 - first, n_act, sb)
        j = i - i0
        B64(fid, kind, lp[j], skind, sp[j], box[j], gmin[j], hp[c], tab, ctype, gk, k0, k1,
            steps, tol_x, tol_f, nt, targets, i, s0, n_act, known_sb, w, t, li, rec, dim)
        _store(li, t, t0 - first, n_act, sb, eb, hit, best, final, div, nt, th)


@_kernel
def run32(fid, kind, lp, skind, sp, box, gmin, hp, tab, ctype, gk, k0, k1, steps, tol_x, tol_f,
          nt, targets, n_inst, i0, n_start, lanes, b0, nb, known_sb, rec, sb, eb, hit, best,
          final, div, th):
    dim = sp.shape[2]
    first = _locate(b0, n_inst, n_start, lanes)[4]
    for r in prange(nb):
        c, i, s0, n_act, t0 = _locate(b0 + r, n_inst, n_start, lanes)
        w, t, li = _block_arrays(dim, lanes, np.float32, nt)
        if known_sb:
            _load_sb(li, t0 - first, n_act, sb)
        j = i - i0
        B32(fid, kind, lp[j], skind, sp[j], box[j], gmin[j], hp[c], tab, ctype, gk, k0, k1,
            steps, tol_x, tol_f, nt, targets, i, s0, n_act, known_sb, w, t, li, rec, dim)
        _store(li, t, t0 - first, n_act, sb, eb, hit, best, final, div, nt, th)


@_single
def path64(fid, kind, p, skind, sp, box, gmin, hp, tab, ctype, gk, k0, k1, steps, tol_x, tol_f,
           inst, start, rec):
    """One trajectory (lane 0 of a block) with its positions recorded into rec (steps+1, dim)."""
    dim = sp.shape[1]
    w = np.empty((ids.NSCRATCH, dim, MIN_LANES), dtype=np.float64)
    t = np.empty((ids.NLS, MIN_LANES), dtype=np.float64)
    li = np.empty((ids.LI_TARGETS, MIN_LANES), dtype=np.int64)
    B64(fid, kind, p, skind, sp, box, gmin, hp, tab, ctype, gk, k0, k1, steps, tol_x, tol_f,
        0, np.empty(1, np.float64), inst, start, 1, 0, w, t, li, rec, dim)
    return li[ids.LI_EB, 0], t[ids.LS_FINAL, 0]


@_single
def path32(fid, kind, p, skind, sp, box, gmin, hp, tab, ctype, gk, k0, k1, steps, tol_x, tol_f,
           inst, start, rec):
    dim = sp.shape[1]
    w = np.empty((ids.NSCRATCH, dim, MIN_LANES), dtype=np.float32)
    t = np.empty((ids.NLS, MIN_LANES), dtype=np.float32)
    li = np.empty((ids.LI_TARGETS, MIN_LANES), dtype=np.int64)
    B32(fid, kind, p, skind, sp, box, gmin, hp, tab, ctype, gk, k0, k1, steps, tol_x, tol_f,
        0, np.empty(1, np.float32), inst, start, 1, 0, w, t, li, rec, dim)
    return li[ids.LI_EB, 0], t[ids.LS_FINAL, 0]


@_kernel
def evaluate64(fid, p, X, fout, gout):
    """f and ∇f (float64) at the rows of X, with the kernels' own landscape code."""
    n, dim = X.shape
    for b in prange((n + BASE_LANES - 1) // BASE_LANES):
        w = np.zeros((6, dim, BASE_LANES))
        t = np.empty((ids.NLS, BASE_LANES))
        t[3] = -1.0                      # value_grad's cache (w[4], w[5]) is empty
        ki = np.empty(BASE_LANES, dtype=np.int64)
        m = min(BASE_LANES, n - b * BASE_LANES)
        for k in range(m):
            for j in range(dim):
                w[0, j, k] = X[b * BASE_LANES + k, j]
        VG64(fid, p, w[0], w[1], w[2], w[3], t[0], t[1:], ki, w[4], w[5], dim)
        for k in range(m):
            fout[b * BASE_LANES + k] = t[0, k]
            for j in range(dim):
                gout[b * BASE_LANES + k, j] = w[1, j, k]


@_kernel
def label64(fid, p, tab, ctype, gk, X, out):
    """Basin labels of the rows of X, with the kernels' own labeller."""
    n, dim = X.shape
    for b in prange((n + BASE_LANES - 1) // BASE_LANES):
        w = np.zeros((6, dim, BASE_LANES))
        t = np.empty((ids.NLS, BASE_LANES))
        ki = np.empty(BASE_LANES, dtype=np.int64)
        lab = np.empty(BASE_LANES, dtype=np.int64)
        m = min(BASE_LANES, n - b * BASE_LANES)
        for k in range(m):
            for j in range(dim):
                w[0, j, k] = X[b * BASE_LANES + k, j]
        LABEL64(fid, p, tab, ctype, gk, w[0], w[1], w[2], w[3], w[4], w[5], t[0], t[1:], ki, lab,
                dim)
        for k in range(m):
            out[b * BASE_LANES + k] = lab[k]


_KERNEL_NAMES = ("run64", "run32", "path64", "path32", "evaluate64", "label64")
MAIN = types.SimpleNamespace(**{k: globals()[k] for k in _KERNEL_NAMES})
_BBOB = []


def _own_names(jit, tag):
    """``jit`` applied to a copy of each function whose qualified name ends in ``.tag``.

    Numba names a function's machine code after its module, qualified name, argument types and
    a per-process counter. The BBOB set's helpers are built by the same source (the same
    qualified names) as the main set's, but with other code (their dispatch chains serve other
    families); compiled in two processes whose counters happened to agree and then loaded from
    both disk caches into one process, calls resolved to the other set's helpers (the main
    ``evaluate64`` ran BBOB's f1 on a Rastrigin row, or the BBOB one NaN). Own names make every
    symbol of the BBOB set distinct, whatever the counters. Copies, so that module-level
    functions (``layout.bbob``, shared with the main set and the CUDA kernels) keep theirs."""
    def wrap(fn):
        own = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__,
                                 fn.__closure__)
        own.__kwdefaults__ = fn.__kwdefaults__
        own.__doc__ = fn.__doc__
        own.__qualname__ = f"{fn.__qualname__}.{tag}"
        return jit(own)
    return wrap


def bbob_kernels():
    """The kernel set of the BBOB functions (a namespace like :data:`MAIN`), built on first
    use: the main set's kernel functions rebound to block functions that serve only
    ``ids.BBOB_FAMILIES``, so that the main kernels never compile them and a study of the other
    families never waits for them."""
    if not _BBOB:
        only = ids.BBOB_FAMILIES
        hot, cold = _own_names(_hot, "bbob"), _own_names(_cold, "bbob")
        scope = dict(globals())
        scope["B64"], scope["VG64"], scope["LABEL64"] = trajectory.make(
            hot, np.float64, LANES, cold, only=only)[:3]
        scope["B32"] = trajectory.make(hot, np.float32, LANES, cold, only=only)[0]
        made = {}
        for name in _KERNEL_NAMES:
            py = globals()[name].py_func
            # a name of its own: Numba names a function's machine code after its qualified name
            # and a per-process counter, so two kernels of one name, loaded from their disk
            # caches into one process, could resolve to one another's code (a study of a
            # native family and then of a BBOB function ran the first kernel for both)
            own = f"{name}_bbob"
            code = py.__code__.replace(co_name=own, co_qualname=own)
            fn = types.FunctionType(code, scope, own, py.__defaults__)
            opts = dict(error_model="numpy", **({"parallel": True}
                                                  if name.startswith(("run", "eval", "label"))
                                                  else {}))
            made[name] = cache.cached_njit(sub="bbob", **opts)(fn)
        _BBOB.append(types.SimpleNamespace(**made))
    return _BBOB[0]


def kernels_for(fid):
    """The kernel set that serves family ``fid`` (:data:`MAIN` or :func:`bbob_kernels`)."""
    return bbob_kernels() if int(fid) in ids.BBOB_FAMILIES else MAIN


def _routed(name):
    def run(fid, *args):
        return getattr(kernels_for(fid), name)(fid, *args)
    run.__name__ = run.__qualname__ = name
    run.__doc__ = f"``{name}`` of the kernel set serving the family id (:func:`kernels_for`)."
    return run


evaluate = _routed("evaluate64")
label = _routed("label64")
PATHS = {np.dtype(np.float64): _routed("path64"), np.dtype(np.float32): _routed("path32")}
KERNELS = {np.dtype(np.float64): _routed("run64"), np.dtype(np.float32): _routed("run32")}
