"""Landscape value-and-gradient and basin labels, dispatched on the family id.

Shifted families evaluate ``h(z)`` at ``z = R (x − s)`` (``R`` only when the instance is rotated)
and return ``∇f(x) = Rᵀ ∇h(z)``. Formulas (``../shared/reference/landscapes.md``):

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

Basin labels: the separable families (Rastrigin, Styblinski–Tang, Levy, double well) have exact
per-coordinate basins bounded by the 1-D local maxima, tabulated on the host (``tab`` rows,
``ctype`` picks a row per coordinate, ``gk`` the global cell of each row): gradient flow in z is
separable and a rotation does not change it. The others are polished by normalised gradient steps
(Euler steps along the gradient-flow path) and then labelled by their lattice (Ackley, Griewank),
the nearest of the four minima (Himmelblau) or the active peak (Gaussian peaks).
"""
import math

import numpy as np

from . import ids

CODE_BASE = np.uint64(64)
CODE_OFF = 32


def make(jit, F, cold=None):
    """``jit`` compiles the hot path (inlined on the CPU), ``cold`` the labeller."""
    cold = cold or jit
    zero = F(0.0)
    one = F(1.0)
    half = F(0.5)
    two = F(2.0)
    ten = F(10.0)
    pi = F(math.pi)
    two_pi = F(2.0 * math.pi)
    e = F(math.e)

    @jit
    def to_z(p, rotated, x, z, dim):
        s = ids.LP_HEAD
        if rotated:
            r = ids.LP_HEAD + dim
            for i in range(dim):
                acc = zero
                for j in range(dim):
                    acc += p[r + i * dim + j] * (x[j] - p[s + j])
                z[i] = acc
        else:
            for i in range(dim):
                z[i] = x[i] - p[s + i]

    @jit
    def from_z(p, rotated, gz, g, dim):
        if rotated:
            r = ids.LP_HEAD + dim
            for j in range(dim):
                acc = zero
                for i in range(dim):
                    acc += p[r + i * dim + j] * gz[i]
                g[j] = acc
        else:
            for j in range(dim):
                g[j] = gz[j]

    @jit
    def h_grad(fid, z, gz, dim):
        """h(z) and ∇h(z) (into gz) for the shifted families."""
        if fid == ids.RASTRIGIN:
            f = ten * F(dim)
            for i in range(dim):
                a = two_pi * z[i]
                f += z[i] * z[i] - ten * math.cos(a)
                gz[i] = two * z[i] + F(20.0) * pi * math.sin(a)
            return f
        if fid == ids.ACKLEY:
            s1 = zero
            s2 = zero
            for i in range(dim):
                s1 += z[i] * z[i]
                s2 += math.cos(two_pi * z[i])
            r = math.sqrt(s1 / F(dim))
            e1 = math.exp(F(-0.2) * r)
            e2 = math.exp(s2 / F(dim))
            c1 = F(4.0) * e1 / (F(dim) * r) if r > zero else zero
            c2 = two_pi / F(dim) * e2
            for i in range(dim):
                gz[i] = c1 * z[i] + c2 * math.sin(two_pi * z[i])
            return F(-20.0) * e1 - e2 + F(20.0) + e
        if fid == ids.GRIEWANK:
            prod = one
            s = zero
            for i in range(dim):
                gz[i] = prod                       # Π_{j<i} cos(z_j/√j), completed below
                prod *= math.cos(z[i] / math.sqrt(F(i + 1)))
                s += z[i] * z[i]
            suffix = one
            for i in range(dim - 1, -1, -1):
                q = math.sqrt(F(i + 1))
                a = z[i] / q
                gz[i] = z[i] / F(2000.0) + math.sin(a) / q * gz[i] * suffix
                suffix *= math.cos(a)
            return one + s / F(4000.0) - prod
        if fid == ids.LEVY:
            q = F(0.25)
            f = zero
            for i in range(dim):
                w = one + z[i] * q
                d = zero
                if i == 0:
                    sn = math.sin(pi * w)
                    f += sn * sn
                    d += pi * math.sin(two_pi * w)
                if i < dim - 1:
                    sn = math.sin(pi * w + one)
                    f += (w - one) * (w - one) * (one + ten * sn * sn)
                    d += two * (w - one) * (one + ten * sn * sn) \
                        + (w - one) * (w - one) * ten * pi * math.sin(two * (pi * w + one))
                if i == dim - 1:
                    sn = math.sin(two_pi * w)
                    f += (w - one) * (w - one) * (one + sn * sn)
                    d += two * (w - one) * (one + sn * sn) \
                        + (w - one) * (w - one) * two_pi * math.sin(F(4.0) * pi * w)
                gz[i] = d * q
            return f
        if fid == ids.STYBLINSKI_TANG:
            f = zero
            for i in range(dim):
                z2 = z[i] * z[i]
                f += half * (z2 * z2 - F(16.0) * z2 + F(5.0) * z[i])
                gz[i] = two * z2 * z[i] - F(16.0) * z[i] + F(2.5)
            return f
        # HIMMELBLAU
        a = z[0] * z[0] + z[1] - F(11.0)
        b = z[0] + z[1] * z[1] - F(7.0)
        gz[0] = F(4.0) * z[0] * a + two * b
        gz[1] = two * a + F(4.0) * z[1] * b
        return a * a + b * b

    @jit
    def active_peak(p, y, dim):
        """Index of the active peak at y = R x and its log-height log wₖ − qₖ/2."""
        npk = int(p[ids.LP_HEAD])
        base = ids.LP_HEAD + 1 + dim * dim
        stride = 1 + 2 * dim
        best = -np.inf
        kbest = 0
        for k in range(npk):
            o = base + k * stride
            q = zero
            for j in range(dim):
                d = y[j] - p[o + 1 + j]
                q += p[o + 1 + dim + j] * d * d
            lv = p[o] - half * q
            if lv > best:
                best = lv
                kbest = k
        return kbest, best

    @jit
    def peaks_grad(p, x, g, y, gy, dim):
        r = ids.LP_HEAD + 1
        for i in range(dim):
            acc = zero
            for j in range(dim):
                acc += p[r + i * dim + j] * x[j]
            y[i] = acc
        k, lv = active_peak(p, y, dim)
        val = math.exp(lv)
        o = ids.LP_HEAD + 1 + dim * dim + k * (1 + 2 * dim)
        for i in range(dim):
            gy[i] = val * p[o + 1 + dim + i] * (y[i] - p[o + 1 + i])
        for j in range(dim):
            acc = zero
            for i in range(dim):
                acc += p[r + i * dim + j] * gy[i]
            g[j] = acc
        return -val

    @jit
    def value_grad(fid, p, x, g, z, gz, dim):
        """f(x); writes ∇f(x) into g. z, gz are scratch rows."""
        if fid == ids.DOUBLE_WELL:
            c = p[ids.LP_HEAD]
            x0 = x[0]
            x2 = x0 * x0
            f = F(0.25) * x2 * x2 - half * x2 + c * x0
            g[0] = x0 * x0 * x0 - x0 + c
            for i in range(1, dim):
                f += half * x[i] * x[i]
                g[i] = x[i]
            return f
        if fid == ids.GAUSSIAN_PEAKS:
            return peaks_grad(p, x, g, z, gz, dim)
        rotated = p[ids.LP_ROTATED] != zero
        to_z(p, rotated, x, z, dim)
        f = h_grad(fid, z, gz, dim)
        from_z(p, rotated, gz, g, dim)
        return f

    @cold
    def polish(fid, p, x, g, z, gz, dim):
        """Normalised gradient steps of length h: Euler steps along the gradient-flow path."""
        h = p[ids.LP_POLISH_H]
        for _ in range(int(p[ids.LP_POLISH_STEPS])):
            value_grad(fid, p, x, g, z, gz, dim)
            n = zero
            for j in range(dim):
                n += g[j] * g[j]
            n = math.sqrt(n)
            if not n > zero:       # flat (or non-finite): nothing to follow
                return
            for j in range(dim):
                x[j] -= h * g[j] / n

    @cold
    def code_add(code, k):
        return code * CODE_BASE + np.uint64(k + CODE_OFF)

    @cold
    def lattice_label(code, gcode):
        return np.int64(code - gcode)

    @cold
    def label(fid, p, tab, ctype, gk, x, g, z, gz, dim):
        """Basin label of the point x (x is overwritten by the polish). 0 … n_global−1: global."""
        if fid == ids.GAUSSIAN_PEAKS:
            polish(fid, p, x, g, z, gz, dim)
            r = ids.LP_HEAD + 1
            for i in range(dim):
                acc = zero
                for j in range(dim):
                    acc += p[r + i * dim + j] * x[j]
                z[i] = acc
            k, _ = active_peak(p, z, dim)
            return np.int64(k)
        code = np.uint64(0)
        gcode = np.uint64(0)
        if fid == ids.RASTRIGIN or fid == ids.STYBLINSKI_TANG or fid == ids.LEVY \
                or fid == ids.DOUBLE_WELL:
            if fid == ids.DOUBLE_WELL:
                for i in range(dim):
                    z[i] = x[i]
            else:
                to_z(p, p[ids.LP_ROTATED] != zero, x, z, dim)
            nb = tab.shape[1]
            for i in range(dim):
                row = ctype[i]
                lo = 0
                hi = nb
                while lo < hi:          # number of boundaries below z[i]
                    mid = (lo + hi) // 2
                    if tab[row, mid] < z[i]:
                        lo = mid + 1
                    else:
                        hi = mid
                code = code_add(code, lo - gk[row])
                gcode = code_add(gcode, 0)
            return lattice_label(code, gcode)
        polish(fid, p, x, g, z, gz, dim)
        to_z(p, p[ids.LP_ROTATED] != zero, x, z, dim)
        if fid == ids.HIMMELBLAU:
            best = np.inf
            kbest = 0
            for k in range(4):
                o = ids.LP_HEAD + 2 + 4 + k * 2   # standard minima stored after s (2)
                d0 = z[0] - p[o]
                d1 = z[1] - p[o + 1]
                dd = d0 * d0 + d1 * d1
                if dd < best:
                    best = dd
                    kbest = k
            return np.int64(kbest)
        q = p[ids.LP_QUANT]
        for i in range(dim):
            s = q * math.sqrt(F(i + 1)) if fid == ids.GRIEWANK else q
            code = code_add(code, int(math.floor(z[i] / s + half)))
            gcode = code_add(gcode, 0)
        return lattice_label(code, gcode)

    return value_grad, label
