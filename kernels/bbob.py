"""COCO's BBOB functions f1–f12 (separable, moderate and ill-conditioned unimodal) over a block
of lanes: value (f_opt and every penalty included) and closed-form gradient.

Each function is ``fn(p, x, g, z, gz, u, v, f, t, dim)``: ``p`` the instance's row
(:func:`.layout.bbob`, packed by ``instances.bbob_row``), ``x`` the points ``(dim, L)``; it
writes f(x) into ``f`` ``(L,)`` and ∇f(x) into ``g`` ``(dim, L)``; ``z, gz, u, v`` are
``(dim, L)`` scratch (distinct from x, g and each other), ``t`` ``(4, L)`` lane scratch.
Formulas and their order of operations are COCO's (``tests/naive_bbob.py`` is the reference,
``docs/bbob.md``); d = x − x*, T_osz, T_asy as :mod:`.bbob_common`:

- f1 sphere              Σ dᵢ²
- f2 ellipsoid           Σ wᵢ T_osz(dᵢ)²,  wᵢ = 10^(6(i−1)/(n−1))
- f3 Rastrigin           z = Λ T_asy^0.2(T_osz(d)): 10(n − Σ cos 2πzᵢ) + Σ zᵢ²
- f4 Büche-Rastrigin     z = sᵢ T_osz(d) (sᵢ ×10 at odd i (1-based) where T_osz > 0): Rastrigin
                         + 100 f_pen
- f5 linear slope        Σ 5|sᵢ| − sᵢ xᵢ where xᵢ x*ᵢ < 25, else 5|sᵢ| − sᵢ x*ᵢ (flat)
- f6 attractive sector   z = M d: T_osz(Σ (10⁴ if zᵢ x*ᵢ > 0 else 1) zᵢ²)^0.9
- f7 step ellipsoid      ẑ = Λ Q d (c1 = Λ), z̃ = round(ẑ) (|ẑ| > ½) or round(10ẑ)/10, z = R z̃:
                         0.1 max(|ẑ₁|/10⁴, Σ wᵢ zᵢ²) + f_pen; ∇: only the floor's and the
                         penalty's (the rounded core is piecewise constant)
- f8 Rosenbrock          z = c d + 1 (c = max(1, √n/8)): Σ 100(zᵢ² − zᵢ₊₁)² + (zᵢ − 1)²
- f9 rotated Rosenbrock  z = M x + ½ (M = c R)
- f10 ellipsoid          Σ wᵢ T_osz(zᵢ)², z = R d
- f11 discus             10⁶ T_osz(z₁)² + Σ_{i>1} T_osz(zᵢ)², z = R d
- f12 bent cigar         z = R T_asy^0.5(R d): z₁² + 10⁶ Σ_{i>1} zᵢ²

Gradients hold almost everywhere (the non-differentiable sets are listed in
``tests/naive_bbob.py``). Lanes innermost, so that the CPU compiler vectorises across
trajectories; the CUDA kernels build the same code with L = 1.
"""
import math

from . import bbob_common, ids


def make(jit, F, L, cold, fma, linalg, lanes):
    """``{n: fn}`` for n = 1 … 12, working dtype F, L lanes (``jit``: inlined helpers,
    ``cold``: the block-level functions, ``linalg``: ``(matvec, matvec_t)`` of
    :func:`.linalg.make`, ``lanes``: ``ids.lane_count(jit, L)``)."""
    matvec, matvec_t = linalg
    c = bbob_common.make(jit, F, L, cold, fma, lanes)
    at, tosz, tasy, tasy_k, rastrigin = c.at, c.tosz, c.tasy, c.tasy_k, c.rastrigin
    sub, clear, penalty, exp, log = c.sub, c.clear, c.penalty, c.exp, c.log
    zero, one, two, half, five, ten = F(0.0), F(1.0), F(2.0), F(0.5), F(5.0), F(10.0)
    tenth, hundred, four_hundred = F(0.1), F(100.0), F(400.0)
    e4, e6, floor_c = F(1e4), F(1e6), F(1e-4)
    c09 = F(0.9)
    big = F(2.0 ** 51)
    fstar = ids.LP_FSTAR

    @jit
    def add_fopt(p, f):
        fo = p[fstar]
        for k in range(lanes(f)):
            f[k] += fo

    # ---- f1 sphere

    @cold
    def f1(p, x, g, z, gz, u, v, f, t, dim):
        n = lanes(f)
        lay = at(dim, 0)
        clear(f)
        for i in range(dim):
            xo = p[lay.xopt + i]
            for k in range(n):
                d = x[i, k] - xo
                f[k] += d * d
                g[i, k] = two * d
        add_fopt(p, f)

    # ---- f2 separable ellipsoid

    @cold
    def f2(p, x, g, z, gz, u, v, f, t, dim):
        n = lanes(f)
        lay = at(dim, 0)
        clear(f)
        for i in range(dim):
            xo = p[lay.xopt + i]
            w = p[lay.u + i]
            for k in range(n):
                y, dy = tosz(x[i, k] - xo)
                f[k] += w * y * y
                g[i, k] = two * w * y * dy
        add_fopt(p, f)

    # ---- f3 Rastrigin, f4 Büche-Rastrigin: 10(n − Σcos 2πzᵢ) + Σzᵢ²

    @jit
    def rastrigin_end(f, t, dim, fo):
        """f = 10(n − t[0]) + t[1] + f_opt."""
        for k in range(lanes(f)):
            f[k] = ten * (F(dim) - t[0, k]) + t[1, k] + fo

    @cold
    def f3(p, x, g, z, gz, u, v, f, t, dim):
        n = lanes(f)
        lay = at(dim, 0)
        beta = p[lay.c + 0]
        clear(t[0])
        clear(t[1])
        for i in range(dim):
            xo = p[lay.xopt + i]
            lam = p[lay.u + i]
            kk = tasy_k(beta, i, dim)
            for k in range(n):
                a, da = tosz(x[i, k] - xo)
                b, db = tasy(a, kk)
                cs, z2, dz = rastrigin(lam * b)
                t[0, k] += cs
                t[1, k] += z2
                g[i, k] = dz * lam * db * da
        rastrigin_end(f, t, dim, p[fstar])

    @cold
    def f4(p, x, g, z, gz, u, v, f, t, dim):
        n = lanes(f)
        lay = at(dim, 0)
        clear(t[0])
        clear(t[1])
        for i in range(dim):
            xo = p[lay.xopt + i]
            s = p[lay.u + i]
            even = i % 2 == 0
            for k in range(n):
                a, da = tosz(x[i, k] - xo)
                fac = s * ten if (even and a > zero) else s
                cs, z2, dz = rastrigin(fac * a)
                t[0, k] += cs
                t[1, k] += z2
                g[i, k] = dz * fac * da
        rastrigin_end(f, t, dim, p[fstar])
        coef = p[lay.c + 1]
        penalty(coef, x, g, t[2], dim)
        for k in range(n):
            f[k] += coef * t[2, k]

    # ---- f5 linear slope

    @cold
    def f5(p, x, g, z, gz, u, v, f, t, dim):
        n = lanes(f)
        lay = at(dim, 0)
        clear(f)
        for i in range(dim):
            xo = p[lay.xopt + i]
            s = p[lay.u + i]
            base = five * abs(s)
            flat = base - s * xo
            for k in range(n):
                xi = x[i, k]
                inside = xi * xo < F(25.0)
                f[k] += (base - s * xi) if inside else flat
                g[i, k] = -s if inside else zero
        add_fopt(p, f)

    # ---- f6 attractive sector

    @cold
    def f6(p, x, g, z, gz, u, v, f, t, dim):
        n = lanes(f)
        lay = at(dim, 0)
        sub(p, lay.xopt, x, u, dim)
        matvec(p, lay.a, u, z, dim)
        r = t[0]
        clear(r)
        for i in range(dim):
            xo = p[lay.xopt + i]
            for k in range(n):
                zi = z[i, k]
                w = e4 if xo * zi > zero else one
                r[k] += w * zi * zi
                gz[i, k] = two * w * zi
        fo = p[fstar]
        for k in range(n):
            o, do = tosz(r[k])
            pos = o > zero
            lo = log(o if pos else one)
            f[k] = (exp(c09 * lo) if pos else zero) + fo
            r[k] = c09 * exp(-tenth * lo) * do if pos else zero      # d f / d r
        for i in range(dim):
            for k in range(n):
                gz[i, k] *= r[k]
        matvec_t(p, lay.a, gz, g, dim)

    # ---- f7 step ellipsoid

    @cold
    def f7(p, x, g, z, gz, u, v, f, t, dim):
        n = lanes(f)
        lay = at(dim, 0)
        sub(p, lay.xopt, x, u, dim)
        for i in range(dim):
            ci = p[lay.u + i]
            o = lay.b + i * dim
            for k in range(n):
                z[i, k] = zero
            for j in range(dim):
                m = ci * p[o + j]            # (c1ᵢ Qᵢⱼ) dⱼ summed over j in order, as COCO
                for k in range(n):
                    z[i, k] += m * u[j, k]
        x1 = t[0]
        for k in range(n):
            x1[k] = z[0, k]
        for i in range(dim):
            for k in range(n):
                zi = z[i, k]
                gz[i, k] = roundf(zi) if abs(zi) > half else roundf(ten * zi) / ten
        matvec(p, lay.a, gz, v, dim)
        core = t[1]
        clear(core)
        for i in range(dim):
            w = p[lay.v + i]
            for k in range(n):
                core[k] += w * v[i, k] * v[i, k]
        for i in range(dim):
            for k in range(n):
                g[i, k] = zero
        coef = p[lay.c + 1]
        penalty(coef, x, g, t[2], dim)
        fo = p[fstar]
        c0 = tenth * floor_c * p[lay.u]
        for k in range(n):
            fl = abs(x1[k]) * floor_c
            wins = fl > core[k]
            f[k] = (tenth * max(fl, core[k]) + coef * t[2, k]) + fo
            # the floor's slope where it wins: 0.1·10⁻⁴·sign(ẑ₁)·c1₁·Q₁ⱼ
            x1[k] = (c0 if x1[k] > zero else -c0) if wins else zero
        for j in range(dim):
            q = p[lay.b + j]
            for k in range(n):
                g[j, k] += x1[k] * q

    @jit
    def roundf(a):
        """COCO's round: floor(a + ½) (NaN stays NaN)."""
        return F(math.floor(a + half)) if abs(a) < big else a

    # ---- f8, f9 Rosenbrock

    @jit
    def rosenbrock(z, gz, f, t, dim, fo):
        """f = 100 Σ(zᵢ² − zᵢ₊₁)² + Σ(zᵢ − 1)² + f_opt (two sums, as COCO), ∇ into gz."""
        n = lanes(f)
        clear(t[0])
        clear(t[1])
        for k in range(n):
            gz[0, k] = zero
        for i in range(dim - 1):
            for k in range(n):
                zi = z[i, k]
                a = zi * zi - z[i + 1, k]
                b = zi - one
                t[0, k] += a * a
                t[1, k] += b * b
                gz[i, k] += four_hundred * a * zi + two * b
                gz[i + 1, k] = -two * hundred * a
        for k in range(n):
            f[k] = hundred * t[0, k] + t[1, k] + fo

    @cold
    def f8(p, x, g, z, gz, u, v, f, t, dim):
        n = lanes(f)
        lay = at(dim, 0)
        fac = p[lay.c + 2]
        for i in range(dim):
            xo = p[lay.xopt + i]
            for k in range(n):
                z[i, k] = fac * (x[i, k] - xo) + one
        rosenbrock(z, g, f, t, dim, p[fstar])
        for i in range(dim):
            for k in range(n):
                g[i, k] *= fac

    @cold
    def f9(p, x, g, z, gz, u, v, f, t, dim):
        n = lanes(f)
        lay = at(dim, 0)
        bb = p[lay.c + 3]
        matvec(p, lay.a, x, z, dim)
        for i in range(dim):
            for k in range(n):
                z[i, k] += bb
        rosenbrock(z, gz, f, t, dim, p[fstar])
        matvec_t(p, lay.a, gz, g, dim)

    # ---- f10 ellipsoid, f11 discus: Σ wᵢ T_osz(zᵢ)², z = R d

    @jit
    def weighted_tosz(p, lay, x, g, z, gz, u, f, dim, w0, w1, weights):
        """f = Σ wᵢ T_osz(zᵢ)² + f_opt, z = R(x − x*), wᵢ = p[u + i] (``weights``) or w0 for
        i = 0, w1 beyond; ∇ into g."""
        n = lanes(f)
        sub(p, lay.xopt, x, u, dim)
        matvec(p, lay.a, u, z, dim)
        clear(f)
        for i in range(dim):
            w = p[lay.u + i] if weights else (w0 if i == 0 else w1)
            for k in range(n):
                y, dy = tosz(z[i, k])
                f[k] += w * y * y
                gz[i, k] = two * w * y * dy
        add_fopt(p, f)
        matvec_t(p, lay.a, gz, g, dim)

    @cold
    def f10(p, x, g, z, gz, u, v, f, t, dim):
        weighted_tosz(p, at(dim, 0), x, g, z, gz, u, f, dim, one, one, True)

    @cold
    def f11(p, x, g, z, gz, u, v, f, t, dim):
        weighted_tosz(p, at(dim, 0), x, g, z, gz, u, f, dim, e6, one, False)

    # ---- f12 bent cigar

    @cold
    def f12(p, x, g, z, gz, u, v, f, t, dim):
        n = lanes(f)
        lay = at(dim, 0)
        beta = p[lay.c + 0]
        sub(p, lay.xopt, x, u, dim)
        matvec(p, lay.a, u, z, dim)
        for i in range(dim):
            kk = tasy_k(beta, i, dim)
            for k in range(n):
                a, da = tasy(z[i, k], kk)
                u[i, k] = a
                v[i, k] = da
        matvec(p, lay.a, u, z, dim)
        clear(f)
        for i in range(dim):
            w = one if i == 0 else e6
            for k in range(n):
                zi = z[i, k]
                f[k] += w * zi * zi
                gz[i, k] = two * w * zi
        add_fopt(p, f)
        matvec_t(p, lay.a, gz, u, dim)
        for i in range(dim):
            for k in range(n):
                u[i, k] *= v[i, k]
        matvec_t(p, lay.a, u, g, dim)

    return {1: f1, 2: f2, 3: f3, 4: f4, 5: f5, 6: f6, 7: f7, 8: f8, 9: f9, 10: f10, 11: f11,
            12: f12}
