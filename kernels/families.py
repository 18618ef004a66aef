"""The landscape families' value and gradient over a block of lanes, dispatched on the family id.

Shifted families evaluate ``h(z)`` at ``z = R (x − s)`` (``R`` only when the instance is rotated)
and return ``∇f(x) = Rᵀ ∇h(z)``. Formulas (``docs/landscapes.md``):

- Rastrigin        h = 10d + Σ(zᵢ² − 10 cos 2πzᵢ)
- Ackley           h = −20 exp(−0.2 √(Σzᵢ²/d)) − exp(Σ cos 2πzᵢ / d) + 20 + e   (∇ := 0 at z = 0)
- Griewank         h = 1 + Σzᵢ²/4000 − Π cos(zᵢ/√i)
- Levy             standard form at u = z + 1 (so that its minimum is at z = 0):
                   w = 1 + z/4,  h = sin²(πw₁) + Σ_{i<d}(wᵢ−1)²(1 + 10 sin²(πwᵢ+1)) + (w_d−1)²(1 + sin²(2πw_d))
- Styblinski–Tang  h = ½ Σ(zᵢ⁴ − 16zᵢ² + 5zᵢ)
- Himmelblau       h = (z₁² + z₂ − 11)² + (z₁ + z₂² − 7)²
- double well      U = x₁⁴/4 − x₁²/2 + c·x₁ + ½ Σ_{i≥2} xᵢ²                     (no shift)
- Gaussian peaks   f = −maxₖ wₖ exp(−½ Σⱼ λₖⱼ (yⱼ − ỹₖⱼ)²),  y = R x, ỹₖ = R cₖ   (Gallagher &
                   Yuan 2006); ∇f = wₖ eₖ Rᵀ Λₖ (y − ỹₖ) for the active peak k, which is found in
                   the log domain (log wₖ − qₖ/2) so that it never underflows.

Two tables, from which the dispatch is written (:func:`.dispatch.chain`): ``H`` maps each
shifted family's id to its ``h`` and ``∇h``, ``VALUE_GRAD`` every family's id to its value and
gradient (the shifted ones share one entry: shift, rotate, ``h`` by ``H``, rotate back). An id of
``ids.LANDSCAPE_FAMILIES`` (``ids.SHIFTED_FAMILIES``) without an entry fails at import; the
(unreachable) end of either chain writes NaN, never another family. Parameter-row offsets come
from :mod:`.layout`.

Every function works on a block of L lanes: points are ``(dim, L)`` arrays, per-lane scalars
``(L,)`` rows, lanes innermost, so that the CPU compiler vectorises across trajectories; the
CUDA kernel builds the same code with L = 1. Elementary functions come from :mod:`.kmath`
(branch-free, vectorisable, identical on every target).
"""
import importlib
import math
from types import SimpleNamespace

import numpy as np

from . import dispatch, ids, kmath
from . import layout as _layout
from . import peaks as _peaks


def make(jit, F, L, cold, fma, linalg, only=None):
    """The families' functions for working dtype F and L lanes (``jit``: inlined scalar
    helpers, ``cold``: block-level calls, ``linalg``: :func:`.linalg.make`'s products), as a
    namespace: ``value_grad`` and what the basin labels and the diagonal Hessians reuse
    (``to_z``, ``active_peak``, ``gather_active``, ``matvec``, ``matvec_t``, ``shifted_at``,
    ``peaks_at``; ``gallagher``: BBOB f21/f22's peaks, :func:`.bbob_multi.gallagher`, None
    where the BBOB ids are not served). ``only``: the family ids the dispatch serves (default all; the others get
    the NaN end, and are never compiled)."""
    lanes = ids.lane_count(jit, L)
    matvec, matvec_t = linalg
    pk_ = _peaks.make(jit, F, L, cold, fma)
    sqdist, gather, active_grad = pk_.sqdist, pk_.gather, pk_.grad
    shifted_at = jit(_layout.shifted)
    peaks_at = jit(_layout.peaks)
    double_well_at = jit(_layout.double_well)
    sincos2pi, exp, _ = kmath.make(jit, F, fma)
    zero = F(0.0)
    one = F(1.0)
    half = F(0.5)
    two = F(2.0)
    ten = F(10.0)
    pi = F(math.pi)
    two_pi = F(2.0 * math.pi)
    twenty_pi = F(20.0) * pi
    e = F(math.e)
    inf = F(np.inf)
    nan = F(np.nan)
    # Which of two arrays a lane block writes may be chosen at run time on the CPU (one copy of
    # the inlined code); on a GPU (L = 1) that choice would keep the thread's arrays in local
    # memory (a pointer select defeats their promotion to registers), so there it is a branch
    # around two calls. A make-time constant: Numba prunes the other branch before inlining.
    select_rows = L > 1

    @jit
    def to_z(p, rotated, x, z, tmp, dim):
        """z = R (x − s) (or x − s); tmp is scratch."""
        L = lanes(x)
        lay = shifted_at(dim)
        s = lay.shift
        if rotated:
            for i in range(dim):
                si = p[s + i]
                for k in range(L):
                    tmp[i, k] = x[i, k] - si
            matvec(p, lay.rot, tmp, z, dim)
        else:
            for i in range(dim):
                si = p[s + i]
                for k in range(L):
                    z[i, k] = x[i, k] - si

    # ---- h(z) and ∇h(z) of the shifted families, h(z) into f, ∇h into gz; t: lane scratch rows

    @jit
    def rastrigin(z, gz, f, t, dim):
        L = lanes(f)
        for k in range(L):
            f[k] = ten * F(dim)
        for i in range(dim):
            for k in range(L):
                sn, cs = sincos2pi(z[i, k])
                f[k] += fma(z[i, k], z[i, k], -ten * cs)
                gz[i, k] = fma(twenty_pi, sn, two * z[i, k])

    @jit
    def ackley(z, gz, f, t, dim):
        L = lanes(f)
        s1 = t[0]
        s2 = t[1]
        for k in range(L):
            s1[k] = zero
            s2[k] = zero
        for i in range(dim):
            for k in range(L):
                s1[k] += z[i, k] * z[i, k]
                s2[k] += sincos2pi(z[i, k])[1]
        for k in range(L):
            r = math.sqrt(s1[k] / F(dim))
            e1 = exp(F(-0.2) * r)
            e2 = exp(s2[k] / F(dim))
            f[k] = F(-20.0) * e1 - e2 + F(20.0) + e
            s1[k] = F(4.0) * e1 / (F(dim) * r) if r > zero else zero
            s2[k] = two_pi / F(dim) * e2
        for i in range(dim):
            for k in range(L):
                gz[i, k] = s1[k] * z[i, k] + s2[k] * sincos2pi(z[i, k])[0]

    @jit
    def griewank(z, gz, f, t, dim):
        L = lanes(f)
        prod = t[0]
        ssq = t[1]
        suffix = t[2]
        for k in range(L):
            prod[k] = one
            ssq[k] = zero
            suffix[k] = one
        for i in range(dim):
            sc = one / (two_pi * math.sqrt(F(i + 1)))
            for k in range(L):
                gz[i, k] = prod[k]             # Π_{j<i} cos(z_j/√j), completed below
                prod[k] *= sincos2pi(z[i, k] * sc)[1]
                ssq[k] += z[i, k] * z[i, k]
        for k in range(L):
            f[k] = one + ssq[k] / F(4000.0) - prod[k]
        for i in range(dim - 1, -1, -1):
            q = math.sqrt(F(i + 1))
            sc = one / (two_pi * q)
            for k in range(L):
                sn, cs = sincos2pi(z[i, k] * sc)
                gz[i, k] = z[i, k] / F(2000.0) + sn / q * gz[i, k] * suffix[k]
                suffix[k] *= cs

    @jit
    def levy(z, gz, f, t, dim):
        L = lanes(f)
        q = F(0.25)
        for k in range(L):
            f[k] = zero
        for i in range(dim):
            for k in range(L):
                w = one + z[i, k] * q
                d = zero
                # sin/cos of πw, πw + 1 and 2πw, via sin 2θ = 2 sin θ cos θ
                if i == 0:
                    sn, cs = sincos2pi(half * w)
                    f[k] += sn * sn
                    d += two * pi * sn * cs
                if i < dim - 1:
                    sn, cs = sincos2pi((pi * w + one) / two_pi)
                    f[k] += (w - one) * (w - one) * (one + ten * sn * sn)
                    d += two * (w - one) * (one + ten * sn * sn) \
                        + (w - one) * (w - one) * F(20.0) * pi * sn * cs
                if i == dim - 1:
                    sn, cs = sincos2pi(w)
                    f[k] += (w - one) * (w - one) * (one + sn * sn)
                    d += two * (w - one) * (one + sn * sn) \
                        + (w - one) * (w - one) * F(4.0) * pi * sn * cs
                gz[i, k] = d * q

    @jit
    def styblinski_tang(z, gz, f, t, dim):
        L = lanes(f)
        for k in range(L):
            f[k] = zero
        for i in range(dim):
            for k in range(L):
                zz = z[i, k]
                z2 = zz * zz
                f[k] += half * (z2 * z2 - F(16.0) * z2 + F(5.0) * zz)
                gz[i, k] = two * z2 * zz - F(16.0) * zz + F(2.5)

    @jit
    def himmelblau(z, gz, f, t, dim):
        L = lanes(f)
        for k in range(L):
            a = z[0, k] * z[0, k] + z[1, k] - F(11.0)
            b = z[0, k] + z[1, k] * z[1, k] - F(7.0)
            gz[0, k] = F(4.0) * z[0, k] * a + two * b
            gz[1, k] = two * a + F(4.0) * z[1, k] * b
            f[k] = a * a + b * b

    @jit
    def h_unknown(fid, z, gz, f, t, dim):
        for k in range(lanes(f)):          # never another family: the trajectory diverges
            f[k] = nan
        for i in range(dim):
            for k in range(lanes(f)):
                gz[i, k] = nan

    # one line per shifted family: h_grad's chain is written from this table
    H = {ids.RASTRIGIN: rastrigin, ids.ACKLEY: ackley, ids.GRIEWANK: griewank, ids.LEVY: levy,
         ids.STYBLINSKI_TANG: styblinski_tang, ids.HIMMELBLAU: himmelblau}
    dispatch.check("kernels.families.H", "shifted family", ids.SHIFTED_FAMILIES, H)
    h_grad = dispatch.chain(jit, "h_grad", "fid", "z, gz, f, t, dim", H, h_unknown)

    # ---- Gaussian peaks

    @cold
    def active_peak(p, y, best, kbest, q, dim):
        """Per lane: the active peak (kbest) and its log-height log wₖ − qₖ/2 (best); q is
        scratch. Lanes innermost, the choice a select, so that the loops vectorise (qₖ:
        :mod:`.peaks`' sqdist, shared with BBOB's Gallagher f21/f22)."""
        L = lanes(best)
        lay = peaks_at(dim)
        npk = int(p[lay.count])
        base = lay.first
        stride = lay.stride
        for k in range(L):
            best[k] = -inf
            kbest[k] = 0
        for pk in range(npk):
            o = base + pk * stride
            sqdist(p, o + lay.centre, o + lay.lam, y, q, dim)     # qₖ: centre ỹₖ, λₖ
            lw = p[o + lay.logw]
            for k in range(L):
                lv = lw - half * q[k]
                better = lv > best[k]
                best[k] = lv if better else best[k]
                kbest[k] = pk if better else kbest[k]

    @jit
    def gather_active(p, kbest, kprev, cc, lam, dim):
        """Each lane's active centre and curvatures (peak kbest) into cc, lam (``(dim, L)``),
        only when some lane's active peak differs from kprev (:mod:`.peaks`' gather)."""
        lay = peaks_at(dim)
        gather(p, lay.first + lay.centre, lay.first + lay.lam, lay.stride, kbest, kprev, cc,
               lam, dim)

    @jit
    def gaussian_peaks(fid, p, x, g, y, gy, f, t, kbest, cc, lam, dim):
        L = lanes(f)
        lay = peaks_at(dim)
        matvec(p, lay.rot, x, y, dim)                   # y = R x
        lv = t[0]
        active_peak(p, y, lv, kbest, t[1], dim)
        for k in range(L):
            lv[k] = exp(lv[k])
            f[k] = -lv[k]
        active_grad(p, lay.first + lay.centre, lay.first + lay.lam, lay.stride, lv, kbest, t[2],
                    y, gy, cc, lam, dim)                # ∇_y = wₖ eₖ Λₖ (y − ỹₖ)
        matvec_t(p, lay.rot, gy, g, dim)                # ∇f = Rᵀ ∇_y

    # ---- value and gradient of every family

    @jit
    def double_well(fid, p, x, g, z, gz, f, t, ki, cc, lam, dim):
        L = lanes(f)
        c = p[double_well_at(dim).tilt]
        for k in range(L):
            x0 = x[0, k]
            x2 = x0 * x0
            f[k] = F(0.25) * x2 * x2 - half * x2 + c * x0
            g[0, k] = x2 * x0 - x0 + c
        for i in range(1, dim):
            for k in range(L):
                f[k] += half * x[i, k] * x[i, k]
                g[i, k] = x[i, k]

    @jit
    def shifted(fid, p, x, g, z, gz, f, t, ki, cc, lam, dim):
        """f(x) = h(R (x − s)), ∇f = Rᵀ ∇h; h by H."""
        rotated = p[ids.LP_ROTATED] != zero
        to_z(p, rotated, x, z, gz, dim)
        if select_rows:
            h_grad(fid, z, gz if rotated else g, f, t, dim)  # unrotated: ∇f = ∇h, no copy
        elif rotated:
            h_grad(fid, z, gz, f, t, dim)
        else:
            h_grad(fid, z, g, f, t, dim)
        if rotated:
            matvec_t(p, shifted_at(dim).rot, gz, g, dim)    # ∇f = Rᵀ ∇h

    @jit
    def unknown(fid, p, x, g, z, gz, f, t, ki, cc, lam, dim):
        for k in range(lanes(f)):          # never another family: the trajectory diverges
            f[k] = nan
        for i in range(dim):
            for k in range(lanes(f)):
                g[i, k] = nan

    # one line per family: value_grad's chain is written from this table (ids sharing the
    # shifted entry share one branch, so it is compiled once)
    VALUE_GRAD = {i: shifted for i in ids.SHIFTED_FAMILIES}
    VALUE_GRAD.update({ids.DOUBLE_WELL: double_well, ids.GAUSSIAN_PEAKS: gaussian_peaks})
    # the BBOB functions are built only for a dispatch that serves them (the main kernels' never
    # does: there the BBOB ids end in NaN like an unknown id, cpu.kernels_for routes them away)
    if only is None or any(k in ids.BBOB_FAMILIES for k in only):
        VALUE_GRAD.update(bbob_entries(jit, F, L, cold, fma, linalg, lanes, unknown))
        gallagher = importlib.import_module(f"{__package__}.bbob_multi").gallagher(
            jit, F, L, cold, fma, lanes)
    else:
        VALUE_GRAD.update({fid: unknown for fid in ids.BBOB_FAMILIES})
        gallagher = None
    dispatch.check("kernels.families.VALUE_GRAD", "landscape family", ids.LANDSCAPE_FAMILIES,
                   VALUE_GRAD)
    # value_grad(fid, p, x, g, z, gz, f, t, ki, cc, lam, dim): f(x) into f and ∇f(x) into g for
    # every lane. z, gz, t, ki are scratch. On the CPU, Gaussian peaks keep each lane's active
    # centre and curvatures in cc, lam from one call to the next, keyed by the lane's active
    # peak in t[2]: the caller sets t[2] to −1 before the first call (and cc, lam are scratch
    # for the other families).
    served = VALUE_GRAD if only is None else {k: VALUE_GRAD[k] for k in only}
    value_grad = dispatch.chain(cold, "value_grad", "fid",
                                "p, x, g, z, gz, f, t, ki, cc, lam, dim", served, unknown,
                                keyed=True)
    return SimpleNamespace(value_grad=value_grad, to_z=to_z, active_peak=active_peak,
                           gather_active=gather_active, matvec=matvec, matvec_t=matvec_t,
                           shifted_at=shifted_at, peaks_at=peaks_at, lanes=lanes,
                           gallagher=gallagher)


def bbob_entries(jit, F, L, cold, fma, linalg, lanes, unknown):
    """``VALUE_GRAD``'s entries for the BBOB ids: each function of :mod:`.bbob` (f1–f12) and
    :mod:`.bbob_multi` (f13–f24, when that module exists) behind an adapter to the families'
    signature (its scratch u, v are the families' cc, lam: distinct arrays); a function not
    written yet gets ``unknown`` (NaN)."""
    fns = {}
    for name in ("bbob", "bbob_multi"):
        try:
            mod = importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"{__package__}.{name}":
                raise
            continue
        fns.update(mod.make(jit, F, L, cold, fma, linalg, lanes))

    def adapter(fn):
        @jit
        def entry(fid, p, x, g, z, gz, f, t, ki, cc, lam, dim):
            fn(p, x, g, z, gz, cc, lam, f, t, dim)
        return entry

    return {fid: adapter(fns[fid - ids.BBOB_F1 + 1]) if fid - ids.BBOB_F1 + 1 in fns
            else unknown for fid in ids.BBOB_FAMILIES}
