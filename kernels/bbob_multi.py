"""COCO's multimodal BBOB functions f13–f24 over a block of lanes: value (f_opt and every
penalty included) and closed-form gradient.

Each function is ``fn(p, x, g, z, gz, u, v, f, t, dim)``: ``p`` the instance's row
(:func:`.layout.bbob`, packed by ``instances.bbob_row``), ``x`` the points ``(dim, L)``; it writes
f(x) into ``f`` ``(L,)`` and ∇f(x) into ``g`` ``(dim, L)``; ``z, gz, u, v`` are ``(dim, L)``
scratch, ``t`` ``(4, L)`` lane scratch. Formulas and their order of operations are COCO's
(``tests/naive_bbob.py`` is the reference; ``docs/bbob.md``):

- f13 sharp ridge     z = M(x − x*): z₁² + 100 √(Σ_{i>1} zᵢ²)
- f14 diff. powers    z = R(x − x*): √(Σ |zᵢ|^(2 + 4(i−1)/(n−1)))
- f15 Rastrigin       z = M T_asy^0.2(T_osz(R(x − x*))): 10(n − Σ cos 2πzᵢ) + Σ zᵢ²
- f16 Weierstrass     z = M T_osz(R(x − x*)): 10(Σᵢ Σₖ ½ᵏ cos 2π3ᵏ(zᵢ + ½)/n − f₀)³ + 10/n f_pen
- f17, f18 Schaffers  z = M T_asy^0.5(R(x − x*)), sᵢ = zᵢ² + zᵢ₊₁²:
                      (Σ √[4]{sᵢ}(1 + sin²(50 sᵢ^0.1))/(n−1))² + 10 f_pen
- f19 Griewank-Rosenbrock  z = M x + ½, tᵢ = 100(zᵢ² − zᵢ₊₁)² + (1 − zᵢ)²:
                      10 + 10 Σ(tᵢ/4000 − cos tᵢ)/(n−1)
- f20 Schwefel        COCO's x̂ / ẑ chain: 0.01(Σ max(0, |zᵢ| − 500)² + 418.98… − Σ zᵢ sin √|zᵢ|/n)
- f21, f22 Gallagher  y = R x: T_osz(10 − maxₖ hₖ exp(−qₖ/(2n)))² + f_pen,
                      qₖ = Σⱼ scₖⱼ (yⱼ − ỹₖⱼ)²; the active peak found in the log domain
                      (log hₖ − qₖ/(2n)), as ``families.active_peak`` does, with its
                      distance loop (:func:`gallagher`, also the basin label rule's)
- f23 Katsuura        z = M(x − x*): 10/n² (Πᵢ (1 + i Σⱼ |2ʲzᵢ − round(2ʲzᵢ)|/2ʲ)^(10/n^1.2) − 1)
                      + f_pen (the product as exp(10/n^1.2 Σ log(…)))
- f24 Lunacek         x̂ = 2 sign(x*) x, z = R Λ Q(x̂ − μ₀):
                      min(Σ(x̂ − μ₀)², dn + sΣ(x̂ − μ₁)²) + 10(n − Σ cos 2πzᵢ) + 10⁴ f_pen

f_pen = Σ max(0, |xᵢ| − 5)². Gradients almost everywhere (the non-differentiable sets are
listed in ``tests/naive_bbob.py``); where T_osz meets 0 its slope (unbounded) is taken as 0, so
that ∇f(x*) = 0. Maths: :mod:`.kmath`'s exp, log and sincos2pi with :mod:`.fma` (T_osz, T_asy
and the penalty from :mod:`.bbob_common`). An angle in radians is reduced to turns in two parts
(a·(1/2π)_hi, its rounding error by an fma, and a·(1/2π)_lo), so that large arguments lose no
accuracy: f19's tᵢ reach 10⁶, f16's angles 2π(zᵢ + ½)·3ᵏ 6·10⁶ (computed and rounded as COCO
computes them: one ulp of such an angle is 1e-9 rad, and the reference is COCO's). Where an
ulp of zᵢ is so magnified (f16, f19, f23) z is summed as COCO sums it (no fma); elsewhere
:mod:`.linalg`'s products. Lanes innermost everywhere, so that the CPU compiler vectorises
across trajectories; the CUDA kernels build the same code with L = 1.
"""
import math
from types import SimpleNamespace

import numpy as np

from . import bbob_common, ids, kmath, peaks
from . import layout as _layout


def make(jit, F, L, cold, fma, linalg, lanes):
    """``{n: fn}`` for n = 13 … 24, working dtype F, L lanes (``jit``: inlined helpers,
    ``cold``: the block-level functions, ``linalg``: ``(matvec, matvec_t)`` of
    :func:`.linalg.make`, ``lanes``: ``ids.lane_count(jit, L)``)."""
    matvec, matvec_t = linalg
    c = bbob_common.make(jit, F, L, cold, fma, lanes)
    at, tosz, tasy, tasy_k, rastrigin = c.at, c.tosz, c.tasy, c.tasy_k, c.rastrigin
    sub, clear, penalty, scale, rint = c.sub, c.clear, c.penalty, c.scale, c.rint
    sincos2pi, exp, log = c.sincos2pi, c.exp, c.log
    best_peak = gallagher(jit, F, L, cold, fma, lanes).best_peak
    active_grad = peaks.make(jit, F, L, cold, fma).grad
    is64 = np.dtype(F).itemsize == 8
    zero, one, two, half, ten = F(0.0), F(1.0), F(2.0), F(0.5), F(10.0)
    hundred, quarter = F(100.0), F(0.25)
    tenth = F(0.1)
    tiny = F(np.finfo(F).tiny)
    inf = F(np.inf)
    two_pi = F(2.0 * math.pi)
    # 1/2π as hi + lo, lo the rest to 1e-33 (float32: 1e-16); 1/(2·math.pi) itself is 1e-17
    # (relative) off 1/2π, which moves cos tᵢ by 1e-11 at f19's tᵢ ~ 10⁶
    inv2pi_hi = F(0.15915494309189535 if is64 else 0.15915494)
    inv2pi_lo = F(-9.839338337591243e-18 if is64 else 6.4206382e-09)
    fstar = ids.LP_FSTAR

    @jit
    def sincos(a):
        """(sin a, cos a), a in radians, for large a (f16's 6·10⁶, f19's 10⁶): a/2π = h + lo,
        h = a·(1/2π)_hi rounded, lo its rounding error (an fma) plus a·(1/2π)_lo; h reduced
        exactly before lo is added."""
        h = a * inv2pi_hi
        lo = fma(a, inv2pi_hi, -h) + a * inv2pi_lo
        return sincos2pi((h - rint(h)) + lo)

    @jit
    def matvec_seq(p, o, x, y, dim):
        """y = M x as COCO sums it (Σⱼ in order, each product rounded, no fma), for the
        functions that magnify an ulp of zᵢ: f16 (3¹¹·2π(zᵢ + ½)), f19 (cos tᵢ at tᵢ ~ 10⁶),
        f23 (2³²zᵢ; with COCO's zᵢ its kinks are COCO's too)."""
        L = lanes(x)
        for i in range(dim):
            for k in range(L):
                y[i, k] = zero
            for j in range(dim):
                m = p[o + i * dim + j]
                for k in range(L):
                    y[i, k] += m * x[j, k]

    @jit
    def penalize(p, lay, x, g, f, pen, dim, fo):
        """f = (f + c·f_pen(x)) + fo and g += c·∇f_pen, c = c[1] (pen: lane scratch). COCO
        adds f_opt before the penalty in f16, f17, f18, f23 (fo = 0: f has it already) and
        after it in f21, f22, f24."""
        c1 = p[lay.c + 1]
        penalty(c1, x, g, pen, dim)
        for k in range(lanes(f)):
            f[k] = (f[k] + c1 * pen[k]) + fo

    # ---- f13 sharp ridge

    @cold
    def f13(p, x, g, z, gz, u, v, f, t, dim):
        L = lanes(f)
        lay = at(dim, 0)
        sub(p, lay.xopt, x, u, dim)
        matvec(p, lay.a, u, z, dim)
        acc = t[0]
        clear(acc)
        for i in range(1, dim):
            for k in range(L):
                acc[k] += z[i, k] * z[i, k]
        fo = p[fstar]
        for k in range(L):
            r = math.sqrt(acc[k])
            f[k] = (z[0, k] * z[0, k] + hundred * r) + fo
            acc[k] = hundred / r if r > zero else zero
            gz[0, k] = two * z[0, k]
        for i in range(1, dim):
            for k in range(L):
                gz[i, k] = acc[k] * z[i, k]
        matvec_t(p, lay.a, gz, g, dim)

    # ---- f14 different powers

    @cold
    def f14(p, x, g, z, gz, u, v, f, t, dim):
        L = lanes(f)
        lay = at(dim, 0)
        sub(p, lay.xopt, x, u, dim)
        matvec(p, lay.a, u, z, dim)
        acc = t[0]
        clear(acc)
        for i in range(dim):
            e = p[lay.u + i]
            for k in range(L):
                az = abs(z[i, k])
                nz = az >= tiny
                pw = exp(e * log(az if nz else one))
                pw = pw if nz else zero
                acc[k] += pw
                gz[i, k] = pw
        fo = p[fstar]
        for k in range(L):
            r = math.sqrt(acc[k])
            f[k] = r + fo
            acc[k] = half / r if r > zero else zero
        for i in range(dim):
            e = p[lay.u + i]
            for k in range(L):
                zi = z[i, k]
                # d/dz |z|^e = e |z|^e / z
                gz[i, k] = acc[k] * e * gz[i, k] / zi if zi != zero else zero
        matvec_t(p, lay.a, gz, g, dim)

    # ---- T_osz / T_asy over a block, and the way back through them

    @jit
    def osz(z, u, v, dim):
        """u = T_osz(z), v = T_osz'(z)."""
        L = lanes(z)
        for i in range(dim):
            for k in range(L):
                y, dy = tosz(z[i, k])
                u[i, k] = y
                v[i, k] = dy

    @jit
    def asy_inplace(beta, u, v, dim, first):
        """u = T_asy(u); v = v·T_asy' (first: v = T_asy')."""
        L = lanes(u)
        for i in range(dim):
            kk = tasy_k(beta, i, dim)
            for k in range(L):
                y, dy = tasy(u[i, k], kk)
                u[i, k] = y
                v[i, k] = dy if first else v[i, k] * dy

    @jit
    def back(p, lay, gz, g, u, v, dim):
        """g = Rᵀ(v ⊙ Mᵀ gz) (M in B, R in A); u is scratch."""
        matvec_t(p, lay.b, gz, u, dim)
        scale(u, v, dim)
        matvec_t(p, lay.a, u, g, dim)

    # ---- f15 rotated Rastrigin

    @cold
    def f15(p, x, g, z, gz, u, v, f, t, dim):
        L = lanes(f)
        lay = at(dim, 0)
        sub(p, lay.xopt, x, u, dim)
        matvec(p, lay.a, u, z, dim)
        osz(z, u, v, dim)
        asy_inplace(p[lay.c], u, v, dim, False)
        matvec(p, lay.b, u, z, dim)
        sc = t[0]
        sq = t[1]
        clear(sc)
        clear(sq)
        for i in range(dim):
            for k in range(L):
                cs, zz, dz = rastrigin(z[i, k])
                sc[k] += cs
                sq[k] += zz
                gz[i, k] = dz
        n = F(dim)
        fo = p[fstar]
        for k in range(L):
            f[k] = (ten * (n - sc[k]) + sq[k]) + fo
        back(p, lay, gz, g, u, v, dim)

    # ---- f16 Weierstrass

    @cold
    def f16(p, x, g, z, gz, u, v, f, t, dim):
        L = lanes(f)
        lay = at(dim, 0)
        sub(p, lay.xopt, x, u, dim)
        matvec_seq(p, lay.a, u, z, dim)             # COCO's sums (see matvec_seq)
        osz(z, u, v, dim)
        matvec_seq(p, lay.b, u, z, dim)
        s = t[0]
        clear(s)
        three = F(3.0)
        for i in range(dim):
            for k in range(L):
                gz[i, k] = zero
                z[i, k] = two_pi * (z[i, k] + half)
            a = one
            b = one
            for j in range(12):                     # aₖ = ½ᵏ, bₖ = 3ᵏ (exact)
                ab = a * b
                for k in range(L):
                    # COCO's angle (2π(zᵢ + ½))·bₖ, rounded as COCO rounds it (up to 6e6
                    # rad), then reduced to turns without further loss
                    sn, cs = sincos(z[i, k] * b)
                    s[k] += cs * a
                    gz[i, k] = fma(ab, sn, gz[i, k])
                a *= half
                b *= three
        n = F(dim)
        fo = p[fstar]
        f0 = p[lay.c + 4]
        gc = F(-30.0) * two_pi / n
        for k in range(L):
            tt = s[k] / n - f0
            f[k] = ten * (tt * tt * tt) + fo
            s[k] = gc * tt * tt
        for i in range(dim):
            for k in range(L):
                gz[i, k] *= s[k]
        back(p, lay, gz, g, u, v, dim)
        penalize(p, lay, x, g, f, t[1], dim, zero)

    # ---- f17 / f18 Schaffers F7

    @cold
    def f17(p, x, g, z, gz, u, v, f, t, dim):
        L = lanes(f)
        lay = at(dim, 0)
        sub(p, lay.xopt, x, u, dim)
        matvec(p, lay.a, u, z, dim)
        for i in range(dim):
            for k in range(L):
                u[i, k] = z[i, k]
        asy_inplace(p[lay.c], u, v, dim, True)
        matvec(p, lay.b, u, z, dim)
        acc = t[0]
        prev = t[1]
        clear(acc)
        fifty = F(50.0)
        for i in range(dim - 1):
            for k in range(L):
                a = z[i, k]
                b = z[i + 1, k]
                s = a * a + b * b
                nz = s >= tiny
                ls = log(s if nz else one)
                q = exp(tenth * ls)                 # s^0.1
                r4 = exp(quarter * ls)              # s^0.25
                sn, cs = sincos(fifty * q)
                term = r4 * (one + sn * sn)
                acc[k] += term if nz else zero
                # d term / d s = s^0.25 / s (0.25 (1 + sin²) + 10 q sin cos)
                dt = r4 / s * fma(quarter, one + sn * sn, ten * q * sn * cs)
                gz[i, k] = dt if nz else zero
        n1 = F(dim - 1)
        fo = p[fstar]
        for k in range(L):
            tt = acc[k] / n1
            f[k] = tt * tt + fo
            acc[k] = F(4.0) * tt / n1              # d f / d s = 2t/(n−1) dterm; ·2z below
            prev[k] = zero
        for i in range(dim):
            for k in range(L):
                d = gz[i, k] if i < dim - 1 else zero
                gz[i, k] = acc[k] * (d + prev[k]) * z[i, k]
                prev[k] = d
        back(p, lay, gz, g, u, v, dim)
        penalize(p, lay, x, g, f, t[1], dim, zero)

    # ---- f19 composite Griewank-Rosenbrock

    @cold
    def f19(p, x, g, z, gz, u, v, f, t, dim):
        L = lanes(f)
        lay = at(dim, 0)
        matvec_seq(p, lay.b, x, z, dim)
        sh = p[lay.c + 3]
        ft = p[lay.c + 4]
        for i in range(dim):
            for k in range(L):
                z[i, k] += sh
        acc = t[0]
        clear(acc)
        n1 = F(dim - 1)
        c4000 = F(4000.0)
        dtc = ft / n1
        for k in range(L):
            gz[0, k] = zero
        for i in range(dim - 1):
            for k in range(L):
                zi = z[i, k]
                a = zi * zi - z[i + 1, k]
                b = one - zi
                tt = hundred * a * a + b * b
                sn, cs = sincos(tt)
                acc[k] += tt / c4000 - cs
                dt = dtc * (one / c4000 + sn)
                gz[i, k] += dt * (F(400.0) * a * zi - two * b)
                gz[i + 1, k] = dt * (F(-200.0) * a)
        fo = p[fstar]
        for k in range(L):
            f[k] = (ft + ft * acc[k] / n1) + fo
        matvec_t(p, lay.b, gz, g, dim)

    # ---- f20 Schwefel

    @cold
    def f20(p, x, g, z, gz, u, v, f, t, dim):
        L = lanes(f)
        lay = at(dim, 0)
        pen = t[0]
        s = t[1]
        clear(pen)
        clear(s)
        n = F(dim)
        c500 = F(500.0)
        c001 = F(0.01)
        for i in range(dim):
            sh = p[lay.u + i]
            sg = one if sh > zero else -one
            xo2 = two * abs(sh)
            lam = p[lay.v + i]
            if i > 0:
                shp = p[lay.u + i - 1]
                sgp = one if shp > zero else -one
                xo2p = two * abs(shp)
            else:
                sgp = one
                xo2p = zero
            for k in range(L):
                y = two * (sg * x[i, k])
                if i > 0:
                    y = y + quarter * (two * (sgp * x[i - 1, k]) - xo2p)
                zi = hundred * (lam * (y - xo2) + xo2)
                az = abs(zi)
                d = max(az - c500, zero)
                pen[k] += d * d
                sq = math.sqrt(az)
                sn, cs = sincos(sq)
                s[k] += zi * sn
                gd = two * d
                gz[i, k] = c001 * ((gd if zi > zero else -gd) - fma(half * sq, cs, sn) / n) \
                    * hundred * lam
        c = F(418.9828872724339)
        fo = p[fstar]
        for k in range(L):
            f[k] = c001 * (pen[k] + c - s[k] / n) + fo
        for i in range(dim):
            sg = two if p[lay.u + i] > zero else -two
            for k in range(L):
                nxt = gz[i + 1, k] if i < dim - 1 else zero
                g[i, k] = fma(quarter, nxt, gz[i, k]) * sg

    # ---- f21 / f22 Gallagher's Gaussian peaks

    @cold
    def f21(p, x, g, z, gz, u, v, f, t, dim):
        """On the CPU, u and v keep each lane's active centre and scales from one call to the
        next, keyed by the lane's active peak in t[2], gathered again only when some lane's
        active peak changed (:mod:`.peaks`' grad, as Gaussian peaks' value and gradient): the
        caller sets t[2] to −1 (or NaN) before the first call, as the step loop does."""
        L = lanes(f)
        lay = at(dim, 0)
        npk = int(p[lay.count])
        sco = lay.y + npk * dim
        matvec(p, lay.a, x, z, dim)                 # y = R x
        best = t[0]
        kb = t[1]
        best_peak(p, z, best, kb, t[3], dim)
        nn = F(dim)
        for k in range(L):
            vmax = exp(best[k])
            o, do = tosz(ten - vmax)
            f[k] = o * o
            best[k] = two * o * do * vmax / nn       # ∂f/∂y = coef · scₖ ⊙ (y − ỹₖ)
        active_grad(p, lay.y, sco, dim, best, kb, t[2], z, gz, u, v, dim)
        matvec_t(p, lay.a, gz, g, dim)
        penalize(p, lay, x, g, f, t[3], dim, p[fstar])

    # ---- f23 Katsuura

    @cold
    def f23(p, x, g, z, gz, u, v, f, t, dim):
        L = lanes(f)
        lay = at(dim, 0)
        sub(p, lay.xopt, x, u, dim)
        matvec_seq(p, lay.a, u, z, dim)             # COCO's bits: 2³²zᵢ magnifies an ulp
        lsum = t[0]
        sj = t[1]
        clear(lsum)
        for i in range(dim):
            fi = F(i + 1)
            clear(sj)
            for k in range(L):
                gz[i, k] = zero                     # Σⱼ sign(rⱼ), d sᵢ / d zᵢ
            p2 = one
            for j in range(32):
                p2 *= two
                ip2 = one / p2                      # exact
                for k in range(L):
                    w = p2 * z[i, k]
                    r = w - rint(w)
                    sj[k] += abs(r) * ip2
                    gz[i, k] += one if r > zero else (-one if r < zero else zero)
            for k in range(L):
                tmp = one + fi * sj[k]
                lsum[k] += log(tmp)
                gz[i, k] = fi * gz[i, k] / tmp
        n = F(dim)
        ex = ten / exp(F(1.2) * log(n))
        cn = ten / n / n
        fo = p[fstar]
        for k in range(L):
            prod = exp(ex * lsum[k])
            f[k] = cn * (prod - one) + fo
            lsum[k] = cn * prod * ex
        for i in range(dim):
            for k in range(L):
                gz[i, k] *= lsum[k]
        matvec_t(p, lay.a, gz, g, dim)
        penalize(p, lay, x, g, f, t[1], dim, zero)

    # ---- f24 Lunacek bi-Rastrigin

    @cold
    def f24(p, x, g, z, gz, u, v, f, t, dim):
        L = lanes(f)
        lay = at(dim, 0)
        mu0 = p[lay.c + 5]
        mu1 = p[lay.c + 6]
        sv = p[lay.c + 7]
        dd = p[lay.c + 3]
        s1 = t[0]
        s2 = t[1]
        clear(s1)
        clear(s2)
        for i in range(dim):
            sg = two if p[lay.xopt + i] >= zero else -two
            for k in range(L):
                xh = sg * x[i, k]
                a = xh - mu0
                b = xh - mu1
                u[i, k] = a
                s1[k] += a * a
                s2[k] += b * b
        matvec(p, lay.b, u, v, dim)                 # Q (x̂ − μ₀)
        for i in range(dim):
            lam = p[lay.u + i]
            for k in range(L):
                v[i, k] *= lam
        matvec(p, lay.a, v, z, dim)                 # z = R Λ Q (x̂ − μ₀)
        sc = t[2]
        clear(sc)
        tpi = ten * two_pi
        for i in range(dim):
            for k in range(L):
                sn, cs = sincos2pi(z[i, k])
                sc[k] += cs
                gz[i, k] = tpi * sn
        n = F(dim)
        for k in range(L):
            s2[k] = dd * n + sv * s2[k]
            t[3, k] = one if s1[k] <= s2[k] else zero      # the first branch is the min
            f[k] = min(s1[k], s2[k]) + ten * (n - sc[k])
        matvec_t(p, lay.a, gz, v, dim)
        for i in range(dim):
            lam = p[lay.u + i]
            for k in range(L):
                v[i, k] *= lam
        matvec_t(p, lay.b, v, u, dim)               # Qᵀ Λ Rᵀ ∇z
        two_s = two * sv
        for i in range(dim):
            sg = two if p[lay.xopt + i] >= zero else -two
            for k in range(L):
                xh = sg * x[i, k]
                first = t[3, k] != zero
                gb = two * (xh - mu0) if first else two_s * (xh - mu1)
                g[i, k] = (gb + u[i, k]) * sg
        penalize(p, lay, x, g, f, s1, dim, p[fstar])

    return {13: f13, 14: f14, 15: f15, 16: f16, 17: f17, 18: f17, 19: f19, 20: f20,
            21: f21, 22: f21, 23: f23, 24: f24}


def gallagher(jit, F, L, cold, fma, lanes, skip=True):
    """Gallagher's peaks (f21, f22), for their value and their basin label rule ``bbob_peak``
    (:mod:`.labels`), as a namespace: ``best_peak(p, y, best, kbest, q, dim)``, per lane the
    largest log hₖ − qₖ/(2n) (best) and its peak (kbest: a float or an integer row), qₖ by
    :mod:`.peaks`' sqdist (shared with Gaussian peaks), q scratch; ``gather_peak(p, kbest,
    kprev, cc, lam, dim)``, each lane's active centre ỹₖ and scales scₖ into cc, lam when some
    lane's active peak differs from kprev (:mod:`.peaks`' gather); ``polish(p, y, gy, cc, lam,
    y0, aux, v, t, kbest, idx, dim)``, the label rule's polish (most of its scans skipped
    where a bound proves their outcome), then each lane's active peak into kbest; it returns
    the number of lane scans done (``skip=False``: every lane scans in every step, the plain
    rule that the tests compare it with)."""
    pk_ = peaks.make(jit, F, L, cold, fma)
    sqdist, gather = pk_.sqdist, pk_.gather
    log = kmath.make(jit, F, fma)[2]
    at = jit(_layout.bbob)
    zero, one, two, half, inf = F(0.0), F(1.0), F(2.0), F(0.5), F(np.inf)
    nan = F(np.nan)
    unit = F(np.finfo(F).eps) * half        # the unit roundoff u
    compact = L > 1                          # a make-time constant: Numba prunes the other branch

    def scanner(two_best):
        @cold
        def scan(p, y, best, kbest, second, q, dim):
            L = lanes(best)
            lay = at(dim, 0)
            npk = int(p[lay.count])
            sco = lay.y + npk * dim
            hto = sco + npk * dim
            hn = half / F(dim)
            for k in range(L):
                best[k] = -inf
                kbest[k] = zero
                if two_best:
                    second[k] = -inf
            for pk in range(npk):
                sqdist(p, lay.y + pk * dim, sco + pk * dim, y, q, dim)
                lw = log(p[hto + pk])
                fk = F(pk)
                for k in range(L):
                    lv = fma(-hn, q[k], lw)
                    better = lv > best[k]
                    if two_best:
                        # the runner-up: the largest score of the other peaks (a tie with
                        # the best makes it equal to the best); NaN leaves it as it was
                        second[k] = best[k] if better else (lv if lv > second[k]
                                                            else second[k])
                    best[k] = lv if better else best[k]
                    kbest[k] = fk if better else kbest[k]
        return scan

    best_peak_ = scanner(False)
    best_two = scanner(True)

    @jit
    def best_peak(p, y, best, kbest, q, dim):
        best_peak_(p, y, best, kbest, q, q, dim)

    @jit
    def gather_peak(p, kbest, kprev, cc, lam, dim):
        lay = at(dim, 0)
        gather(p, lay.y, lay.y + int(p[lay.count]) * dim, dim, kbest, kprev, cc, lam, dim)

    @jit
    def active(p, y, gy, cc, lam, y0, aux, v, t, kbest, idx, rs, lmax, lab, eps, dim):
        """Each lane's active peak into kbest (the scan's, bit for bit), scanning only the
        lanes whose skip test fails (see ``polish``); per lane state: y0, v (the q budget
        Qb), t[0] (a2); t[1], t[3], aux[0], aux[1], gy: scratch."""
        L = lanes(v)
        lay = at(dim, 0)
        npk = int(p[lay.count])
        hto = lay.y + 2 * npk * dim
        qs = t[1]
        d2 = t[3]
        a2 = t[0]
        grow = one + F(8.0) * eps
        for k in range(L):
            qs[k] = zero
            d2[k] = zero
        for i in range(dim):
            for k in range(L):
                d = y[i, k] - cc[i, k]
                qs[k] = fma(lam[i, k] * d, d, qs[k])
                e = y[i, k] - y0[i, k]
                d2[k] = fma(e, e, d2[k])
        for k in range(L):
            # skip only where the comparison holds (NaN anywhere: scan)
            if skip:
                d2[k] = zero if qs[k] * grow + a2[k] * (rs * math.sqrt(d2[k])) < v[k] else one
            else:
                d2[k] = one
        n = 0
        for k in range(L):
            idx[n] = k
            n += 1 if d2[k] != zero else 0
        if n == 0:
            return 0
        if compact:
            # the lanes to scan, packed into the first n columns of gy (free until the step):
            # the scan's lane count is its rows' (n), its points' columns beyond n unread
            for i in range(dim):
                for m in range(n):
                    gy[i, m] = y[i, idx[m]]
            kc = aux[1][:n]
            sc = t[3][:n]
            best_two(p, gy, aux[0][:n], kc, sc, t[1][:n], dim)
        else:                                   # one lane (GPU): n = 1, idx[0] = 0
            kc = aux[1]
            sc = t[3]
            best_two(p, y, aux[0], kc, sc, t[1], dim)
        twon = two * F(dim)
        for m in range(n):
            k = idx[m]
            kb = int(kc[m])
            kbest[k] = kb
            for i in range(dim):
                y0[i, k] = y[i, k]
            w = sc[m]                           # the runner-up's computed score
            err = eps * (two * lab + abs(w))
            whi = w + err                       # ≥ the runner-up's exact score
            ls = log(p[hto + kb])
            v[k] = twon * (ls - whi) - twon * eps * (F(8.0) * lab + F(4.0) * abs(whi)
                                                     + F(4.0) * abs(ls))
            a2[k] = two * math.sqrt(twon * ((lmax + eps * lab) - (w - err))) * grow
        return n

    @cold
    def polish(p, y, gy, cc, lam, y0, aux, v, t, kbest, idx, dim):
        """The label rule's polish in y (:mod:`.labels`' ``peak_polisher`` with best_peak and
        gather_peak: the same steps, bit for bit), then each lane's active peak at the end
        into kbest, with the scan of all peaks skipped in the lanes where a bound proves it
        would pick the lane's active peak again. ``cc``, ``lam``: the active centres and scales
        (gather_peak's cache, keyed by t[2]); ``y0`` ``(dim, L)``, ``v`` ``(L,)``, ``t[0]``:
        each lane's state since its last scan; ``aux`` ``(dim ≥ 2, L)``, t[1], t[3], ``idx``
        (integers): scratch.

        The bound. A scan at y₀ gives the active peak k* and the runner-up v₂ = maxₖ≠ₖ* vₖ(y₀),
        vₖ = log hₖ − qₖ/(2n), qₖ = ‖√scₖ ⊙ (y − ỹₖ)‖². √qₖ moves by at most δ = √max sc·‖y − y₀‖
        (the triangle inequality), so for k ≠ k* vₖ(y) ≤ v₂ + δ·√(2n(l_max − v₂))/n, l_max =
        max log hₖ (the worst case over the peaks' heights). k* is the scan's unique maximum,
        hence its pick (ties: the runner-up equals the best and no lane skips), when
        q_k*(y) + 2δ√(2n(l_max − v₂)) < 2n(log h_k* − v₂). Rounding: every computed score,
        distance and log is within (n + 4)u relative of its exact value (sums of n
        non-negative terms with fused multiply-adds; u the unit roundoff), and the test uses
        eps = 8(n + 8)u in every term (upper bounds for v₂ and q_k*, a lower one for the
        budget, the factor 1 + 8 eps on q_k* and δ): in 20-D 2.5e-14 relative in float64,
        1.3e-5 in float32, far below the gaps that decide a skip. q_k*(y) comes from cc, lam (one peak
        per lane), ‖y − y₀‖ from y₀: 3n operations per lane against the scan's 3n per peak."""
        L = lanes(gy)
        lay = at(dim, 0)
        npk = int(p[lay.count])
        sco = lay.y + npk * dim
        hto = sco + npk * dim
        h = p[ids.LP_POLISH_H]
        kprev = t[2]
        nrm = t[3]
        scmax = zero
        for i in range(npk * dim):
            scmax = max(scmax, p[sco + i])
        hmax = zero
        hmin = inf
        for pk in range(npk):
            hmax = max(hmax, p[hto + pk])
            hmin = min(hmin, p[hto + pk])
        lmax = log(hmax)
        lab = max(abs(lmax), abs(log(hmin)))
        rs = math.sqrt(scmax)
        eps = F(8 * (dim + 8)) * unit
        for k in range(L):
            kprev[k] = -one
            kbest[k] = 0
            v[k] = nan                          # no scan yet: every lane scans
            t[0, k] = zero
        scans = 0
        for _ in range(int(p[ids.LP_POLISH_STEPS])):
            scans += active(p, y, gy, cc, lam, y0, aux, v, t, kbest, idx, rs, lmax, lab, eps,
                            dim)
            gather_peak(p, kbest, kprev, cc, lam, dim)
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
        return scans + active(p, y, gy, cc, lam, y0, aux, v, t, kbest, idx, rs, lmax, lab, eps,
                              dim)

    return SimpleNamespace(best_peak=best_peak, gather_peak=gather_peak, polish=polish)
