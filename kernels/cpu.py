"""The CPU kernels: ``prange`` over trajectories, nothing else.

The trajectory ``t`` of a launch is ``(config c, instance i, start s)`` in row-major order over
``(n_cfg, n_inst, n_start)``; a chunk runs ``first … first + n − 1``. One kernel per working
dtype, each cached on disk; the maths they call is built once by :func:`kernels.trajectory.make`.
"""
import numpy as np
from numba import njit, prange

from . import cache, ids, trajectory

# the step loop's maths is inlined into the trajectory; the labeller (run twice per
# trajectory) is compiled once as a function, which keeps compile time bounded
_hot = njit(inline="always", error_model="numpy")
_cold = njit(error_model="numpy")
T64, VG64, LABEL64 = trajectory.make(_hot, np.float64, _cold)[:3]
T32 = trajectory.make(_hot, np.float32, _cold)[0]

_kernel = cache.cached_njit(parallel=True, error_model="numpy")
_single = cache.cached_njit(error_model="numpy")


@_kernel
def run64(fid, kind, lp, skind, sp, box, gmin, hp, tab, ctype, gk, k0, k1, steps, tol_x, tol_f,
          n_inst, n_start, first, rec, sb, eb, hit, best, final, div):
    dim = sp.shape[2]
    for r in prange(sb.shape[0]):
        t = first + r
        c = t // (n_inst * n_start)
        i = (t // n_start) % n_inst
        s = t % n_start
        w = np.empty((ids.NSCRATCH, dim), dtype=np.float64)
        sb[r], eb[r], hit[r], best[r], final[r], div[r] = T64(
            fid, kind, lp[i], skind, sp[i], box[i], gmin[i], hp[c], tab, ctype, gk, k0, k1,
            steps, tol_x, tol_f, i, s, w, rec[r % rec.shape[0]], dim)


@_kernel
def run32(fid, kind, lp, skind, sp, box, gmin, hp, tab, ctype, gk, k0, k1, steps, tol_x, tol_f,
          n_inst, n_start, first, rec, sb, eb, hit, best, final, div):
    dim = sp.shape[2]
    for r in prange(sb.shape[0]):
        t = first + r
        c = t // (n_inst * n_start)
        i = (t // n_start) % n_inst
        s = t % n_start
        w = np.empty((ids.NSCRATCH, dim), dtype=np.float32)
        sb[r], eb[r], hit[r], best[r], final[r], div[r] = T32(
            fid, kind, lp[i], skind, sp[i], box[i], gmin[i], hp[c], tab, ctype, gk, k0, k1,
            steps, tol_x, tol_f, i, s, w, rec[r % rec.shape[0]], dim)


@_kernel
def evaluate(fid, p, X, fout, gout):
    """f and ∇f (float64) at the rows of X, with the kernels' own landscape code."""
    n, dim = X.shape
    for r in prange(n):
        w = np.empty((2, dim))
        x = X[r].copy()
        fout[r] = VG64(fid, p, x, gout[r], w[0], w[1], dim)


@_kernel
def label(fid, p, tab, ctype, gk, X, out):
    """Basin labels (float64) of the rows of X, with the kernels' own labeller."""
    n, dim = X.shape
    for r in prange(n):
        w = np.empty((4, dim))
        w[0] = X[r]
        out[r] = LABEL64(fid, p, tab, ctype, gk, w[0], w[1], w[2], w[3], dim)


@_single
def path64(fid, kind, p, skind, sp, box, gmin, hp, tab, ctype, gk, k0, k1, steps, tol_x, tol_f,
           inst, start, rec):
    """One trajectory with its positions recorded into rec (steps+1, dim)."""
    dim = sp.shape[1]
    w = np.empty((ids.NSCRATCH, dim), dtype=np.float64)
    return T64(fid, kind, p, skind, sp, box, gmin, hp, tab, ctype, gk, k0, k1, steps, tol_x,
               tol_f, inst, start, w, rec, dim)


@_single
def path32(fid, kind, p, skind, sp, box, gmin, hp, tab, ctype, gk, k0, k1, steps, tol_x, tol_f,
           inst, start, rec):
    dim = sp.shape[1]
    w = np.empty((ids.NSCRATCH, dim), dtype=np.float32)
    return T32(fid, kind, p, skind, sp, box, gmin, hp, tab, ctype, gk, k0, k1, steps, tol_x,
               tol_f, inst, start, w, rec, dim)


PATHS = {np.dtype(np.float64): path64, np.dtype(np.float32): path32}
KERNELS = {np.dtype(np.float64): run64, np.dtype(np.float32): run32}
