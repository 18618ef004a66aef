"""Landscape value-and-gradient and basin labels, dispatched on the family id.

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

Every function works on a block of L lanes: points are ``(dim, L)`` arrays, per-lane scalars
``(L,)`` rows, lanes innermost, so that the CPU compiler vectorises across trajectories; the
CUDA kernel builds the same code with L = 1. Elementary functions come from :mod:`.kmath`
(branch-free, vectorisable, identical on every target).

Basin labels: the separable families (Rastrigin, Styblinski–Tang, Levy, double well) have exact
per-coordinate basins bounded by the 1-D local maxima, tabulated on the host (``tab`` rows,
``ctype`` picks a row per coordinate, ``gk`` the global cell of each row): gradient flow in z is
separable and a rotation does not change it. The others are polished by normalised gradient steps
(Euler steps along the gradient-flow path) and then labelled by their lattice (Ackley, Griewank),
the nearest of the four minima (Himmelblau) or the active peak (Gaussian peaks). A lattice label
is 0 for the global cell and ≥ 1 otherwise: the cells in base 1024 (exact up to 6 coordinates)
or a 62-bit polynomial hash of them (beyond).
"""
import math

import numpy as np

from . import fma as _fma
from . import ids, kmath

CODE_BASE = 1024
CODE_OFF = 512
HASH_MUL = 1000003                # odd: a wrapping product keeps every digit's influence
CODE_MASK = (1 << 62) - 1
LINEAR_MAX = 128                  # basin tables with at most this many boundaries: scanned


def make(jit, F, L, cold=None, fma=None):
    """``jit`` compiles the scalar helpers that run inside lane loops (inlined on the CPU, so
    the loops vectorise); ``cold`` the block-level functions (real calls: one call covers L
    lanes, and keeping them apart keeps compile time bounded)."""
    cold = cold or jit
    lanes = ids.lane_count(jit, L)
    fma = fma or _fma.cpu(jit)
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
    # Which of two arrays a lane block writes may be chosen at run time on the CPU (one copy of
    # the inlined code); on a GPU (L = 1) that choice would keep the thread's arrays in local
    # memory (a pointer select defeats their promotion to registers), so there it is a branch
    # around two calls. A make-time constant: Numba prunes the other branch before inlining.
    select_rows = L > 1

    @jit
    def rowdot2(p, o, o2, st, x, y, i, i2, dim):
        """y[i] = Σⱼ p[o + j·st] x[j] and y[i2] = Σⱼ p[o2 + j·st] x[j] in every lane, summed in
        order j = 0, 1, …, in one pass over x: each load of x serves both rows (P +4–7 %
        against one row at a time). Columns go in fours: one load and store of y per four
        products (2.5–3× faster than one at a time at 64 lanes), and the first four start
        the sums (no loop to clear them); the same bits throughout. i2 = i, o2 = o computes
        one row."""
        L = lanes(x)
        if dim < 4:
            for k in range(L):
                y[i, k] = zero
                y[i2, k] = zero
        j = 0
        while j + 4 <= dim:
            m0 = p[o + j * st]
            m1 = p[o + (j + 1) * st]
            m2 = p[o + (j + 2) * st]
            m3 = p[o + (j + 3) * st]
            n0 = p[o2 + j * st]
            n1 = p[o2 + (j + 1) * st]
            n2 = p[o2 + (j + 2) * st]
            n3 = p[o2 + (j + 3) * st]
            if j == 0:
                for k in range(L):
                    x0 = x[0, k]
                    x1 = x[1, k]
                    x2 = x[2, k]
                    x3 = x[3, k]
                    u = fma(m3, x3, fma(m2, x2, fma(m1, x1, fma(m0, x0, zero))))
                    v = fma(n3, x3, fma(n2, x2, fma(n1, x1, fma(n0, x0, zero))))
                    y[i, k] = u
                    y[i2, k] = v
            else:
                for k in range(L):
                    x0 = x[j, k]
                    x1 = x[j + 1, k]
                    x2 = x[j + 2, k]
                    x3 = x[j + 3, k]
                    u = fma(m3, x3, fma(m2, x2, fma(m1, x1, fma(m0, x0, y[i, k]))))
                    v = fma(n3, x3, fma(n2, x2, fma(n1, x1, fma(n0, x0, y[i2, k]))))
                    y[i, k] = u
                    y[i2, k] = v
            j += 4
        while j < dim:
            m0 = p[o + j * st]
            n0 = p[o2 + j * st]
            for k in range(L):
                x0 = x[j, k]
                u = fma(m0, x0, y[i, k])
                v = fma(n0, x0, y[i2, k])
                y[i, k] = u
                y[i2, k] = v
            j += 1

    @jit
    def pairs(dim, i):
        """The two rows of pass i of a product: 0 and 1, 2 and 3, …; with an odd dim the last
        pass redoes row dim − 2 beside dim − 1 (distinct rows keep the loop vectorised), and
        a 1 × 1 product is one row."""
        a = 2 * i
        b = a + 1
        if b >= dim:
            a = max(dim - 2, 0)
            b = dim - 1
        return a, b

    @cold
    def matvec(p, r, x, y, dim):
        """y = M x in every lane, M the dim × dim row-major matrix at p[r:]."""
        for i in range((dim + 1) // 2):
            a, b = pairs(dim, i)
            rowdot2(p, r + a * dim, r + b * dim, 1, x, y, a, b, dim)

    @cold
    def matvec_t(p, r, x, y, dim):
        """y = Mᵀ x in every lane."""
        for i in range((dim + 1) // 2):
            a, b = pairs(dim, i)
            rowdot2(p, r + a, r + b, dim, x, y, a, b, dim)

    @jit
    def to_z(p, rotated, x, z, tmp, dim):
        """z = R (x − s) (or x − s); tmp is scratch."""
        L = lanes(x)
        s = ids.LP_HEAD
        if rotated:
            for i in range(dim):
                si = p[s + i]
                for k in range(L):
                    tmp[i, k] = x[i, k] - si
            matvec(p, ids.LP_HEAD + dim, tmp, z, dim)
        else:
            for i in range(dim):
                si = p[s + i]
                for k in range(L):
                    z[i, k] = x[i, k] - si

    @jit
    def h_grad(fid, z, gz, f, t, dim):
        """h(z) into f and ∇h(z) into gz for the shifted families; t: lane scratch rows."""
        L = lanes(f)
        if fid == ids.RASTRIGIN:
            for k in range(L):
                f[k] = ten * F(dim)
            for i in range(dim):
                for k in range(L):
                    sn, cs = sincos2pi(z[i, k])
                    f[k] += fma(z[i, k], z[i, k], -ten * cs)
                    gz[i, k] = fma(twenty_pi, sn, two * z[i, k])
        elif fid == ids.ACKLEY:
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
        elif fid == ids.GRIEWANK:
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
        elif fid == ids.LEVY:
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
        elif fid == ids.STYBLINSKI_TANG:
            for k in range(L):
                f[k] = zero
            for i in range(dim):
                for k in range(L):
                    zz = z[i, k]
                    z2 = zz * zz
                    f[k] += half * (z2 * z2 - F(16.0) * z2 + F(5.0) * zz)
                    gz[i, k] = two * z2 * zz - F(16.0) * zz + F(2.5)
        else:  # HIMMELBLAU
            for k in range(L):
                a = z[0, k] * z[0, k] + z[1, k] - F(11.0)
                b = z[0, k] + z[1, k] * z[1, k] - F(7.0)
                gz[0, k] = F(4.0) * z[0, k] * a + two * b
                gz[1, k] = two * a + F(4.0) * z[1, k] * b
                f[k] = a * a + b * b

    @cold
    def active_peak(p, y, best, kbest, q, dim):
        """Per lane: the active peak (kbest) and its log-height log wₖ − qₖ/2 (best); q is
        scratch. Lanes innermost, the choice a select, so that the loops vectorise."""
        L = lanes(best)
        npk = int(p[ids.LP_HEAD])
        base = ids.LP_HEAD + 1 + dim * dim
        stride = 1 + 2 * dim
        for k in range(L):
            best[k] = -inf
            kbest[k] = 0
        for pk in range(npk):
            o = base + pk * stride
            c = o + 1                       # centre ỹₖ
            a = o + 1 + dim                 # λₖ
            if dim < 4:
                for k in range(L):
                    q[k] = zero
            j = 0
            while j + 4 <= dim:             # coordinates in fours, as in rowdot2 (1.5–1.8×)
                c0 = p[c + j]
                c1 = p[c + j + 1]
                c2 = p[c + j + 2]
                c3 = p[c + j + 3]
                a0 = p[a + j]
                a1 = p[a + j + 1]
                a2 = p[a + j + 2]
                a3 = p[a + j + 3]
                if j == 0:
                    # the first four start q: no loop to clear it first (a seventh of the
                    # loops per peak; P +1–5 %). Same bits: fma(a·d, d, 0) = (a·d)·d, the
                    # product being ≥ +0 since a > 0
                    for k in range(L):
                        d0 = y[0, k] - c0
                        d1 = y[1, k] - c1
                        d2 = y[2, k] - c2
                        d3 = y[3, k] - c3
                        q[k] = fma(a3 * d3, d3, fma(a2 * d2, d2, fma(a1 * d1, d1,
                                                                     (a0 * d0) * d0)))
                else:
                    for k in range(L):
                        d0 = y[j, k] - c0
                        d1 = y[j + 1, k] - c1
                        d2 = y[j + 2, k] - c2
                        d3 = y[j + 3, k] - c3
                        q[k] = fma(a3 * d3, d3, fma(a2 * d2, d2, fma(a1 * d1, d1,
                                                                     fma(a0 * d0, d0, q[k]))))
                j += 4
            while j < dim:
                c0 = p[c + j]
                a0 = p[a + j]
                for k in range(L):
                    d0 = y[j, k] - c0
                    q[k] = fma(a0 * d0, d0, q[k])
                j += 1
            lw = p[o]
            for k in range(L):
                lv = lw - half * q[k]
                better = lv > best[k]
                best[k] = lv if better else best[k]
                kbest[k] = pk if better else kbest[k]

    @cold
    def gather_active(p, kbest, kprev, cc, lam, dim):
        """Each lane's active centre and curvatures (peak kbest) into cc, lam (``(dim, L)``),
        but only when some lane's active peak differs from kprev (then kprev ← kbest): the
        gathers were a fifth of the landscape's value and gradient, and the active peaks
        seldom change from one step to the next."""
        L = lanes(kprev)
        changed = 0
        for k in range(L):
            changed += 1 if F(kbest[k]) != kprev[k] else 0
        if changed:
            base = ids.LP_HEAD + 1 + dim * dim
            stride = 1 + 2 * dim
            for i in range(dim):
                for k in range(L):
                    o = base + kbest[k] * stride
                    cc[i, k] = p[o + 1 + i]
                    lam[i, k] = p[o + 1 + dim + i]
            for k in range(L):
                kprev[k] = F(kbest[k])

    @jit
    def peaks_grad(p, x, g, y, gy, f, t, kbest, cc, lam, dim):
        L = lanes(f)
        matvec(p, ids.LP_HEAD + 1, x, y, dim)           # y = R x
        lv = t[0]
        active_peak(p, y, lv, kbest, t[1], dim)
        for k in range(L):
            lv[k] = exp(lv[k])
            f[k] = -lv[k]
        if select_rows:
            gather_active(p, kbest, t[2], cc, lam, dim)
            for i in range(dim):
                for k in range(L):
                    gy[i, k] = lv[k] * lam[i, k] * (y[i, k] - cc[i, k])
        else:
            base = ids.LP_HEAD + 1 + dim * dim
            stride = 1 + 2 * dim
            for i in range(dim):
                for k in range(L):
                    o = base + kbest[k] * stride
                    gy[i, k] = lv[k] * p[o + 1 + dim + i] * (y[i, k] - p[o + 1 + i])
        matvec_t(p, ids.LP_HEAD + 1, gy, g, dim)        # ∇f = Rᵀ ∇_y

    @cold
    def value_grad(fid, p, x, g, z, gz, f, t, ki, cc, lam, dim):
        """f(x) into f and ∇f(x) into g for every lane. z, gz, t, ki are scratch. On the CPU,
        Gaussian peaks keep each lane's active centre and curvatures in cc, lam from one call
        to the next, keyed by the lane's active peak in t[2]: the caller sets t[2] to −1
        before the first call (and cc, lam are scratch for the other families)."""
        L = lanes(f)
        if fid == ids.DOUBLE_WELL:
            c = p[ids.LP_HEAD]
            for k in range(L):
                x0 = x[0, k]
                x2 = x0 * x0
                f[k] = F(0.25) * x2 * x2 - half * x2 + c * x0
                g[0, k] = x2 * x0 - x0 + c
            for i in range(1, dim):
                for k in range(L):
                    f[k] += half * x[i, k] * x[i, k]
                    g[i, k] = x[i, k]
        elif fid == ids.GAUSSIAN_PEAKS:
            peaks_grad(p, x, g, z, gz, f, t, ki, cc, lam, dim)
        else:
            rotated = p[ids.LP_ROTATED] != zero
            to_z(p, rotated, x, z, gz, dim)
            if select_rows:
                h_grad(fid, z, gz if rotated else g, f, t, dim)  # unrotated: ∇f = ∇h, no copy
            elif rotated:
                h_grad(fid, z, gz, f, t, dim)
            else:
                h_grad(fid, z, g, f, t, dim)
            if rotated:
                matvec_t(p, ids.LP_HEAD + dim, gz, g, dim)      # ∇f = Rᵀ ∇h

    @cold
    def polish(fid, p, x, g, z, gz, f, t, ki, dim):
        """Normalised gradient steps of length h: Euler steps along the gradient-flow path
        (a lane whose gradient is zero or not finite stays where it is)."""
        L = lanes(f)
        h = p[ids.LP_POLISH_H]
        nrm = t[3]
        for _ in range(int(p[ids.LP_POLISH_STEPS])):
            value_grad(fid, p, x, g, z, gz, f, t, ki, z, gz, dim)   # not Gaussian peaks
            for k in range(L):
                nrm[k] = zero
            for j in range(dim):
                for k in range(L):
                    nrm[k] += g[j, k] * g[j, k]
            for k in range(L):
                n = math.sqrt(nrm[k])
                nrm[k] = h / n if n > zero else zero
            for j in range(dim):
                for k in range(L):
                    x[j, k] -= nrm[k] * g[j, k]

    @cold
    def polish_peaks(p, y, gy, cc, lam, t, kbest, dim):
        """:func:`polish` for Gaussian peaks, done in the rotated coordinates y = R x: R is
        orthogonal, so a normalised step along −∇f in x is the same step along −∇_y f in y,
        and the common factor exp(log-height) of ∇f drops out of the normalised direction
        (so points where it underflows still move). Two matrix-vector products and an exp
        fewer per step than polishing in x. ``cc``, ``lam`` (``(dim, L)`` scratch) hold each
        lane's active centre and curvatures, gathered again only in steps where some lane's
        active peak changed (after the first few steps, rarely: the gathers were a third of a
        polish step)."""
        L = lanes(gy)
        h = p[ids.LP_POLISH_H]
        kprev = t[2]
        nrm = t[3]
        for k in range(L):
            kprev[k] = -one
        for _ in range(int(p[ids.LP_POLISH_STEPS])):
            active_peak(p, y, t[0], kbest, t[1], dim)
            gather_active(p, kbest, kprev, cc, lam, dim)
            for k in range(L):
                nrm[k] = zero
            for i in range(dim):
                for k in range(L):
                    d = lam[i, k] * (y[i, k] - cc[i, k])
                    gy[i, k] = d
                    nrm[k] += d * d
            for k in range(L):
                n = math.sqrt(nrm[k])
                nrm[k] = h / n if n > zero else zero
            for i in range(dim):
                for k in range(L):
                    y[i, k] -= nrm[k] * gy[i, k]

    @cold
    def label(fid, p, tab, ctype, gk, x, g, z, gz, f, t, ki, out, dim):
        """Basin labels of the lanes of x into out (x is overwritten by the polish).
        0 … n_global−1: global basins."""
        L = lanes(f)
        if fid == ids.GAUSSIAN_PEAKS:
            matvec(p, ids.LP_HEAD + 1, x, z, dim)
            polish_peaks(p, z, gz, x, g, t, ki, dim)        # x, g: free scratch now
            active_peak(p, z, f, out, t[1], dim)
            return
        separable = fid == ids.RASTRIGIN or fid == ids.STYBLINSKI_TANG or fid == ids.LEVY \
            or fid == ids.DOUBLE_WELL
        if not separable:
            polish(fid, p, x, g, z, gz, f, t, ki, dim)
        if fid == ids.DOUBLE_WELL:
            for i in range(dim):
                for k in range(L):
                    z[i, k] = x[i, k]
        else:
            to_z(p, p[ids.LP_ROTATED] != zero, x, z, gz, dim)
        if fid == ids.HIMMELBLAU:
            for k in range(L):
                best = inf
                kb = 0
                for m in range(4):
                    o = ids.LP_HEAD + 2 + 4 + m * 2   # standard minima stored after s and R
                    d0 = z[0, k] - p[o]
                    d1 = z[1, k] - p[o + 1]
                    dd = d0 * d0 + d1 * d1
                    if dd < best:
                        best = dd
                        kb = m
                out[k] = kb
            return
        # lattice label: the cells (relative to the global cell) as base-1024 digits, exact up
        # to 6 coordinates, a wrapping polynomial hash beyond; 0 only for the global cell,
        # everything else ≥ 1 (−1 is reserved for "diverged")
        exact = dim <= 6
        glob = f                            # per lane: 1 while every cell is the global one
        for k in range(L):
            out[k] = 0
            glob[k] = one
        nb = tab.shape[1]
        mul = CODE_BASE if exact else HASH_MUL
        cell = ki                           # per lane: the cell of coordinate i
        for i in range(dim):
            row = ctype[i]
            if separable:
                # the number of boundaries below z (the row is sorted, padded with +inf). On
                # the CPU, with few boundaries, one vectorised compare per boundary: bisection's
                # data-dependent branches mispredict on random points (≈ 40 ns per trajectory
                # on Rastrigin 2-D, 62 boundaries). Bisection for long tables and on a GPU
                # (one lane: no SIMD to gain, log₂ nb steps instead of nb).
                g0 = gk[row]
                if L > 1 and nb <= LINEAR_MAX:
                    for k in range(L):
                        cell[k] = -g0
                    for m in range(nb):
                        b = tab[row, m]
                        for k in range(L):
                            cell[k] += 1 if b < z[i, k] else 0
                else:
                    for k in range(L):
                        lo = 0
                        hi = nb
                        while lo < hi:
                            mid = (lo + hi) // 2
                            if tab[row, mid] < z[i, k]:
                                lo = mid + 1
                            else:
                                hi = mid
                        cell[k] = lo - g0
            else:
                sc = p[ids.LP_QUANT] * (math.sqrt(F(i + 1)) if fid == ids.GRIEWANK else one)
                for k in range(L):
                    v = z[i, k] / sc + half
                    cell[k] = int(math.floor(v)) if abs(v) < F(1e9) else 0   # dead lanes: NaN
            for k in range(L):
                c = cell[k]
                glob[k] = zero if c != 0 else glob[k]
                out[k] = out[k] * mul + (c + CODE_OFF)
        for k in range(L):
            out[k] = 0 if glob[k] != zero else (out[k] & CODE_MASK) + 1

    return value_grad, label
