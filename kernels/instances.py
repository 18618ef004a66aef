"""Landscape instances in bulk: the parameters of instances ``lo … hi−1`` in one compiled loop.

Every random number of instance ``index`` comes from Philox4x32-10 (:mod:`.philox`) under the
key ``split_seed(seed)`` at the counter ``(pair, 0xFFFFFFFF, family id, index)``: one counter
(a *pair*) gives two uniforms in (0, 1) (53 bits each), or two standard normals by Box–Muller.
The trajectory kernels' counters are (coordinate block, step ≤ 2³²−2, start, instance), so
their second word never is 0xFFFFFFFF: instance draws never meet trajectory noise.

Each quantity of an instance starts at a fresh pair, in a fixed order (``swarm.landscapes``
documents it per family); value ``m`` of a quantity is component ``m % 2`` of its pair
``first + m // 2``. Nothing here depends on how many instances a call makes: every instance is
assembled on its own, in loops with a fixed order of summation (no BLAS, no NumPy SIMD
transcendentals), and rotations come from a Householder QR written out here, so an instance
has the same bits whatever range it is generated in, on every x86 machine. Values that are the
same for all instances (headers, conditioning powers, log heights) are computed once on the
host and passed in.

Rotations are Haar on O(d): ``Q·diag(sign(diag R))`` of the QR of a d×d standard normal matrix
(Mezzadri 2007); for d = 1 a uniformly random ±1.
"""
import math

import numpy as np
from numba import njit

from . import cache, layout, philox

_philox4x32, _normal2, uniform2, box_muller = philox.make(njit, np.float64)
C1 = np.uint64(0xFFFFFFFF)      # the counter word no trajectory kernel uses
SMALL_SORT = 32                 # key rows up to this length: insertion sort (no allocation)

_kernel = cache.cached_njit(error_model="numpy", nogil=True)   # other host threads run on


@njit
def pairs(n):
    """Pairs (Philox counters) that n values take."""
    return (n + 1) // 2


@njit
def uniforms(k0, k1, fid, index, first, n, out):
    """n uniforms in (0, 1) of instance ``index`` from pairs ``first …`` into out[:n]."""
    for p in range((n + 1) // 2):
        u1, u2 = uniform2(k0, k1, np.uint64(first + p), C1, np.uint64(fid), np.uint64(index))
        out[2 * p] = u1
        if 2 * p + 1 < n:
            out[2 * p + 1] = u2


@njit
def normals(k0, k1, fid, index, first, n, out):
    """n standard normals of instance ``index`` from pairs ``first …`` into out[:n]."""
    for p in range((n + 1) // 2):
        u1, u2 = uniform2(k0, k1, np.uint64(first + p), C1, np.uint64(fid), np.uint64(index))
        z1, z2 = box_muller(u1, u2)
        out[2 * p] = z1
        if 2 * p + 1 < n:
            out[2 * p + 1] = z2


@njit
def stable_argsort(keys, out):
    """out[:n] = the stable ascending order of keys[:n] (n = len(out)): insertion sort for
    short rows, NumPy's merge sort (also stable, so the same order) beyond."""
    n = len(out)
    if n > SMALL_SORT:
        out[:] = np.argsort(keys[:n], kind="mergesort")
        return
    for i in range(n):
        k = keys[i]
        j = i
        while j > 0 and keys[out[j - 1]] > k:
            out[j] = out[j - 1]
            j -= 1
        out[j] = i


@njit
def reflect(V, k, t, X, j, d):
    """X[j, k:] ← H_k X[j, k:] with H_k = I − t·v vᵀ, v = V[k, k:] (a column held as a row)."""
    dot = 0.0
    for i in range(k, d):
        dot += V[k, i] * X[j, i]
    dot *= t
    for i in range(k, d):
        X[j, i] -= dot * V[k, i]


@njit
def haar(A, Q, V, tau, diag, d):
    """Q Haar on O(d) from a d×d standard normal matrix G: Householder QR of G, then
    Q·diag(sign(diag R)). Both are held by columns: A[j] is column j of G (overwritten), Q[j]
    receives column j of Q, so that every loop runs along contiguous memory. V, tau, diag are
    scratch (d×d, d, d)."""
    for k in range(d - 1):
        sig = 0.0
        for i in range(k + 1, d):
            sig += A[k, i] * A[k, i]
        x0 = A[k, k]
        if sig == 0.0:
            tau[k] = 0.0
            diag[k] = x0
            continue
        nrm = math.sqrt(x0 * x0 + sig)
        alpha = -nrm if x0 >= 0.0 else nrm
        v0 = x0 - alpha
        V[k, k] = v0
        for i in range(k + 1, d):
            V[k, i] = A[k, i]
        t = 2.0 / (v0 * v0 + sig)
        tau[k] = t
        diag[k] = alpha
        for j in range(k + 1, d):
            reflect(V, k, t, A, j, d)
    tau[d - 1] = 0.0
    diag[d - 1] = A[d - 1, d - 1]
    for j in range(d):
        for i in range(d):
            Q[j, i] = 0.0
        Q[j, j] = 1.0
    # Q = H₀ H₁ … H_{d−2}, applied from the last; H_k touches only Q[k:, k:]
    for k in range(d - 2, -1, -1):
        t = tau[k]
        if t == 0.0:
            continue
        for j in range(k, d):
            reflect(V, k, t, Q, j, d)
    for j in range(d):
        if diag[j] < 0.0:
            for i in range(d):
                Q[j, i] = -Q[j, i]


@njit
def rotation_scratch(d):
    """R = I (d×d, what an unrotated instance stores) and the scratch of :func:`rotation`."""
    R = np.zeros((d, d))
    for i in range(d):
        R[i, i] = 1.0
    return R, (np.empty((d, d)), np.empty((d, d)), np.empty((d, d)), np.empty(d), np.empty(d),
               np.empty(d * d + 1))


@njit
def rotation(k0, k1, fid, index, first, d, R, scratch):
    """R (d×d): the Haar rotation of instance ``index`` from the d² normals of G (row-major:
    G[i, j] is normal i·d + j) at pairs ``first …``."""
    A, Q, V, tau, diag, buf = scratch
    normals(k0, k1, fid, index, first, d * d, buf)
    for i in range(d):
        for j in range(d):
            A[j, i] = buf[i * d + j]
    haar(A, Q, V, tau, diag, d)
    for i in range(d):
        for j in range(d):
            R[i, j] = Q[j, i]


shifted_layout = njit(layout.shifted)
peaks_layout = njit(layout.peaks)


@_kernel
def shifted(k0, k1, fid, lo, d, lo_x, span_x, rotate, zstar, gz, head, tail, lp, gmin):
    """Rows ``lp`` (n, ``layout.shifted(d, len(tail) // d).size``) and global minima ``gmin``
    of the shifted instances lo … lo+n−1: ``[head, s, R, tail]`` with ``s = x* − Rᵀz*``.

    Draws: x* (d uniforms, ``x*ᵢ = lo_x + span_x·u``) from pair 0; with ``rotate``, R from the
    d² normals at pairs ceil(d/2) …. ``gz`` (n_global, d): the global minima in z, mapped to
    ``s + Rᵀz`` (Himmelblau); with none (0 rows) the global minimum is x* itself."""
    n = lp.shape[0]
    nh = len(head)
    R, scratch = rotation_scratch(d)
    x = np.empty(d + 1)
    ng = gz.shape[0]
    lay = shifted_layout(d)
    for r in range(n):
        index = lo + r
        uniforms(k0, k1, fid, index, 0, d, x)
        for i in range(d):
            x[i] = lo_x + span_x * x[i]
        if rotate:
            rotation(k0, k1, fid, index, pairs(d), d, R, scratch)
        row = lp[r]
        for c in range(nh):
            row[c] = head[c]
        for i in range(d):                  # s = x* − Rᵀ z*
            acc = 0.0
            for j in range(d):
                acc += R[j, i] * zstar[j]
            row[lay.shift + i] = x[i] - acc
        put(row, lay.rot, R, d)
        o = lay.minima
        for c in range(len(tail)):
            row[o + c] = tail[c]
        if ng == 0:
            for i in range(d):
                gmin[r, 0, i] = x[i]
        for m in range(ng):
            to_x(row, gz, m, d, gmin[r, m])


@njit
def put(row, o, M, d):
    """row[o:o + d²] = M (d×d), row-major."""
    for i in range(d):
        for j in range(d):
            row[o + i * d + j] = M[i, j]


@njit
def to_x(row, mz, m, d, out):
    """out = s + Rᵀ z for z = mz[m] (s and R from a shifted row)."""
    lay = shifted_layout(d)
    o = lay.rot
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc += mz[m, j] * row[o + j * d + i]
        out[i] = row[lay.shift + i] + acc


@njit
def inside(row, mz, m, hw, d, x):
    """x = s + Rᵀ mz[m] for candidate m of a shifted instance; whether it lies in
    [−hw, hw]^d."""
    to_x(row, mz, m, d, x)
    for i in range(d):
        if not (-hw <= x[i] <= hw):
            return False
    return True


@_kernel
def shifted_minima(row, xs, mz, hw, d):
    """All listed minima of one shifted instance: x* first, then the candidates mz[1:] (z*'s
    candidate is mz[0]; the others sorted by distance to it on the host) that lie inside the
    domain, in that order."""
    M = mz.shape[0]
    out = np.empty((M, d))
    out[0] = xs
    c = 1
    for m in range(1, M):
        if inside(row, mz, m, hw, d, out[c]):
            c += 1
    return out[:c].copy()


@_kernel
def shifted_minimum(lp, mz, hw, d, k, out):
    """out[r] = listed minimum k ≥ 1 of every shifted instance (the order of
    :func:`shifted_minima`); returns the first r that lists fewer than k + 1 minima, or −1."""
    x = np.empty(d)
    for r in range(lp.shape[0]):
        c = 0
        for m in range(1, mz.shape[0]):
            if inside(lp[r], mz, m, hw, d, x):
                c += 1
                if c == k:
                    break
        if c < k:
            return r
        for i in range(d):
            out[r, i] = x[i]
    return -1


@njit
def peak_centres(k0, k1, fid, index, P, d, lo_c, span_c, lo_0, span_0, c):
    """c (P, d): the peak centres of instance ``index`` (P·d uniforms, row-major, from pair 0):
    ``lo_0 + span_0·u`` for the global centre (row 0), ``lo_c + span_c·u`` for the others."""
    uniforms(k0, k1, fid, index, 0, P * d, c.reshape(P * d))
    for i in range(d):
        c[0, i] = lo_0 + span_0 * c[0, i]
    for k in range(1, P):
        for i in range(d):
            c[k, i] = lo_c + span_c * c[k, i]


@_kernel
def peaks(k0, k1, fid, lo, d, P, lo_c, span_c, lo_0, span_0, rotate, head, logw, lamtab,
          lp, gmin):
    """Rows ``lp`` (n, ``layout.peaks(d, P).size``) and global minima ``gmin`` (n, 1, d) of the
    Gaussian-peaks instances lo … lo+n−1: ``[head, P, R, P × (log wₖ, R cₖ, λₖ)]``.

    Draws, each from a fresh pair: the centres (P·d uniforms, :func:`peak_centres`); P − 1
    keys whose stable order permutes the conditioning grid among peaks 1 … P−1; P·d keys (d
    per peak) whose stable orders permute each peak's Λ entries; with ``rotate``, R from d²
    normals. ``lamtab`` (P, d): row 0 the global peak's λ entries (α = cond), row 1 + j those of
    the grid's α_j, each already divided by α^¼·D."""
    n = lp.shape[0]
    nh = len(head)
    R, scratch = rotation_scratch(d)
    keys = np.empty(P * d + 1)
    c = np.empty((P, d))
    akey = np.empty(P)
    aord = np.empty(max(P - 1, 0), np.int64)
    lord = np.empty(d, np.int64)
    p_keys = pairs(P * d)
    p_lam = p_keys + pairs(P - 1)
    p_rot = p_lam + pairs(P * d)
    lay = peaks_layout(d)
    stride = lay.stride
    for r in range(n):
        index = lo + r
        peak_centres(k0, k1, fid, index, P, d, lo_c, span_c, lo_0, span_0, c)
        uniforms(k0, k1, fid, index, p_keys, P - 1, akey)
        stable_argsort(akey, aord)
        uniforms(k0, k1, fid, index, p_lam, P * d, keys)
        if rotate:
            rotation(k0, k1, fid, index, p_rot, d, R, scratch)
        row = lp[r]
        for q in range(nh):
            row[q] = head[q]
        row[lay.count] = P
        put(row, lay.rot, R, d)
        o = lay.first
        for k in range(P):
            b = o + k * stride
            row[b + lay.logw] = logw[k]
            for i in range(d):
                if rotate:
                    acc = 0.0
                    for j in range(d):
                        acc += R[i, j] * c[k, j]
                    row[b + lay.centre + i] = acc
                else:
                    row[b + lay.centre + i] = c[k, i]
            a = 0 if k == 0 else 1 + aord[k - 1]
            stable_argsort(keys[k * d:(k + 1) * d], lord)
            for i in range(d):
                row[b + lay.lam + i] = lamtab[a, lord[i]]
        for i in range(d):
            gmin[r, 0, i] = c[0, i]


@njit
def _undominated(row, d, P, keep):
    """keep[k]: no other peak is as high as peak k at its centre (log domain: for every j ≠ k,
    log w_j − ½ Σᵢ λ_jᵢ (ỹ_kᵢ − ỹ_jᵢ)² < log w_k); returns how many are kept."""
    lay = peaks_layout(d)
    o = lay.first
    stride = lay.stride
    nk = 0
    for k in range(P):
        bk = o + k * stride
        ok = True
        for j in range(P):
            if j == k:
                continue
            bj = o + j * stride
            q = 0.0
            for i in range(d):
                t = row[bk + lay.centre + i] - row[bj + lay.centre + i]
                q += row[bj + lay.lam + i] * (t * t)
            if not (row[bj + lay.logw] - 0.5 * q < row[bk + lay.logw]):
                ok = False
                break
        keep[k] = ok
        if ok:
            nk += 1
    return nk


@_kernel
def peaks_minima(k0, k1, fid, index, row, d, P, lo_c, span_c, lo_0, span_0):
    """The listed minima of one Gaussian-peaks instance: its undominated centres, in peak
    order (the global one first)."""
    c = np.empty((P, d))
    peak_centres(k0, k1, fid, index, P, d, lo_c, span_c, lo_0, span_0, c)
    keep = np.empty(P, np.bool_)
    nk = _undominated(row, d, P, keep)
    out = np.empty((nk, d))
    q = 0
    for k in range(P):
        if keep[k]:
            out[q] = c[k]
            q += 1
    return out


@_kernel
def peaks_minimum(k0, k1, fid, lo, lp, d, P, lo_c, span_c, lo_0, span_0, k, out):
    """out[r] = listed minimum k of every Gaussian-peaks instance lo + r (the k-th undominated
    centre); returns the first r that lists fewer than k + 1, or −1."""
    c = np.empty((P, d))
    keep = np.empty(P, np.bool_)
    for r in range(lp.shape[0]):
        nk = _undominated(lp[r], d, P, keep)
        if nk <= k:
            return r
        peak_centres(k0, k1, fid, lo + r, P, d, lo_c, span_c, lo_0, span_0, c)
        q = 0
        for j in range(P):
            if keep[j]:
                if q == k:
                    for i in range(d):
                        out[r, i] = c[j, i]
                    break
                q += 1
    return -1


# ---- COCO's BBOB functions: the row of one (function, dim, instance), packed on the host

# what each function stores (keys of swarm.bbob.instance_data): (A, B, u, v, scalars); the
# scalars go to c[BBOB_SLOT[key]]. Everything not listed stays 0 (docs/bbob.md)
BBOB_PACK = {
    1: (None, None, None, None, ()),
    2: (None, None, "weights", None, ()),
    3: (None, None, "lam", None, ("beta",)),
    4: (None, None, "scales", None, ("penalty",)),
    5: (None, None, "slopes", None, ()),
    6: ("M", None, None, None, ()),
    7: ("R", "Q", "c1", "weights", ("penalty",)),
    8: (None, None, None, None, ("factor",)),
    9: ("M", None, None, None, ("factor", "b")),
    10: ("R", None, "weights", None, ()),
    11: ("R", None, None, None, ()),
    12: ("R", None, None, None, ("beta",)),
    13: ("M", None, None, None, ()),
    14: ("R", None, "exponents", None, ()),
    15: ("R", "M", None, None, ("beta",)),
    16: ("R", "M", None, None, ("penalty", "f0")),
    17: ("R", "M", None, None, ("beta", "penalty")),
    18: ("R", "M", None, None, ("beta", "penalty")),
    19: ("R", "M", None, None, ("scales", "b", "facftrue")),
    20: (None, None, "shift", "lam", ()),
    21: ("R", None, None, None, ("penalty",)),
    22: ("R", None, None, None, ("penalty",)),
    23: ("M", None, None, None, ("penalty",)),
    24: ("R", "Q", "lam", None, ("penalty", "d", "mu0", "mu1", "s")),
}
BBOB_SLOT = {"beta": 0, "penalty": 1, "factor": 2, "scales": 2, "b": 3, "d": 3, "f0": 4,
             "facftrue": 4, "mu0": 5, "mu1": 6, "s": 7}


def bbob_pack(data):
    """The kernel row (float64, header included: ``LP_FSTAR`` = f_opt, ``LP_NGLOBAL`` = 1) of
    the BBOB instance whose ``swarm.bbob.instance_data`` is ``data``, laid out by
    :func:`.layout.bbob`. The polish and lattice entries of the header are left 0 (the
    family's registry row sets them)."""
    from . import ids
    f, d = int(data["function"]), int(data["dim"])
    P = int(data.get("peaks", 0)) if f in (21, 22) else 0
    lay = layout.bbob(d, P)
    row = np.zeros(lay.size)
    row[ids.LP_FSTAR] = data["fopt"]
    row[ids.LP_NGLOBAL] = 1.0
    row[lay.xopt:lay.xopt + d] = data["xopt"]
    a, b, u, v, scalars = BBOB_PACK[f]
    if a:
        row[lay.a:lay.a + d * d] = np.asarray(data[a], dtype=np.float64).ravel()
    if b:
        row[lay.b:lay.b + d * d] = np.asarray(data[b], dtype=np.float64).ravel()
    if u:
        row[lay.u:lay.u + d] = data[u]
    if v:
        row[lay.v:lay.v + d] = data[v]
    for key in scalars:
        row[lay.c + BBOB_SLOT[key]] = data[key]
    if P:
        row[lay.count] = P
        row[lay.y:lay.y + P * d] = np.asarray(data["y"]).T.ravel()       # peak k at y + k·d
        row[lay.sc:lay.sc + P * d] = np.asarray(data["scales"]).ravel()
        row[lay.ht:lay.ht + P] = data["heights"]
    return row


def bbob_row(function, dim, instance):
    """:func:`bbob_pack` of COCO's ``function`` (1–24) in ``dim`` dimensions, instance
    ``instance``. The one place the kernels reach into ``swarm``: the instance data is
    ``swarm.bbob``'s (pure Python and NumPy, host only), imported here when called."""
    from swarm import bbob
    return bbob_pack(bbob.instance_data(function, dim, instance))
