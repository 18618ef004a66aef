"""The diagonal of the Hessian ∇²f(x) of every landscape family over a block of lanes, in closed
form, dispatched on the family id (issue 23: curvature-shaped noise needs diag ∇²f).

``hess_diag(fid, p, x, h, z, gz, cc, t, dim)`` writes ``diag ∇²f`` at the points ``x``
(``(dim, L)``) into ``h`` (``(dim, L)``). ``z``, ``gz``, ``cc`` are ``(dim, L)`` scratch arrays,
distinct from ``x`` and ``h`` and from each other; ``t`` holds lane scratch rows, of which only
rows 0 … 3 are used (``t[0]``, ``t[1]``, ``t[2]``, ``t[3]``, each ``(L,)``). ``x`` is not
written. On the CPU, ``value_grad`` keeps Gaussian peaks' active centres and curvatures in its
``cc``, ``lam`` keyed by its ``t[2]``: a caller passing those arrays or that row here as scratch
marks the cache empty afterwards (``t[2] = −1``). An id outside ``ids.LANDSCAPE_FAMILIES``
writes NaN (the dispatch, :func:`.dispatch.chain`, is written from the table ``HESS``; an id
without an entry fails at import).

Shifted families, ``f(x) = h(z)`` with ``z = R(x − s)`` (``R`` only when the instance is
rotated; it is orthogonal): ``∇²f = Rᵀ ∇²h(z) R``, so ``diag_i = Σⱼₖ Rⱼᵢ Rₖᵢ (∇²h)ⱼₖ``, the
second derivative of h along column i of R. Every ∇²h below is a diagonal plus a few rank-one
terms (or, for Griewank, a product handled by a three-term recurrence), so a lane costs O(dim²)
at most:

- separable h (Rastrigin, Styblinski–Tang, Levy — each of Levy's terms has one wᵢ):
  ``diag_i = Σⱼ Rⱼᵢ² h''(zⱼ)``, with
  Rastrigin ``h'' = 2 + 40π² cos 2πz``; Styblinski–Tang ``h'' = 6z² − 16``;
  Levy (``w = 1 + z/4``, ``h''_z = g''(w)/16``, the terms a coordinate has summed):
  first ``2π² cos 2πw``; middle (i < d) ``2(1 + 10 sin²a) + 80π(w−1) sin a cos a +
  20π²(w−1)²(1 − 2 sin²a)``, ``a = πw + 1``; last ``2(1 + sin²2πw) + 8π(w−1) sin 4πw +
  8π²(w−1)² cos 4πw``.
- Ackley, ``r = √(Σzⱼ²/d)``, ``e₁ = e^{−0.2r}``, ``e₂ = e^{Σ cos 2πzⱼ/d}``, ``v = sin 2πz``:
  ``∇²h = (4e₁/(d r)) I − (e₁/(d² r²))(0.8 + 4/r) z zᵀ + (4π²/d) e₂ diag(cos 2πz)
  − (4π²/d²) e₂ v vᵀ``. Rotated: the radial part is rotation invariant (``RᵀR = I``,
  ``Rᵀz = x − s``), so ``diag_i = 4e₁/(d r) − (e₁/(d² r²))(0.8 + 4/r)(xᵢ − sᵢ)² +
  (4π²/d) e₂ Σⱼ Rⱼᵢ² cos 2πzⱼ − (4π²/d²) e₂ (Rᵀv)ᵢ²``. At ``z = 0`` the radial part has a
  kink (a cone for d ≥ 2, whose Hessian grows like 1/r as r → 0; in 1-D, |z|); there, as the
  gradient takes 0 for its radial part, the radial terms are 0 and only the cosine part's
  Hessian is returned (``4π²e/d`` on the diagonal).
- Griewank, ``cⱼ = cos(zⱼ/√j)``, ``sⱼ = sin(zⱼ/√j)``: ``(∇²h)ᵢᵢ = 1/2000 + (cᵢ/i) Π_{j≠i} cⱼ``,
  ``(∇²h)ᵢₖ = −(sᵢ sₖ/√(ik)) Π_{j≠i,k} cⱼ``. Unrotated: the diagonal by prefix and suffix
  products. Rotated, along ``r = R[:, i]``: ``h(z + εr) = 1 + |z + εr|²/4000 −
  Πⱼ (cⱼ − ε rⱼ sⱼ/√j − ε² rⱼ² cⱼ/(2j) + O(ε³))``, and the ε² coefficient of the product,
  ``e₂``, comes from the recurrence ``(e₀, e₁, e₂) ← (e₀a₀, e₁a₀ + e₀a₁, e₂a₀ + e₁a₁ + e₀a₂)``
  over the factors: ``diag_i = |r|²/2000 − 2e₂`` (no division, so exact where a cⱼ is 0).
- Himmelblau, ``a = z₁² + z₂ − 11``, ``b = z₁ + z₂² − 7``: ``(∇²h)₁₁ = 4a + 8z₁² + 2``,
  ``(∇²h)₂₂ = 4b + 8z₂² + 2``, ``(∇²h)₁₂ = 4(z₁ + z₂)``; rotated
  ``diag_i = R₁ᵢ²h₁₁ + 2R₁ᵢR₂ᵢh₁₂ + R₂ᵢ²h₂₂``.

Double well (not shifted): ``diag = (3x₁² − 1, 1, …, 1)``.

Gaussian peaks, for the active peak k (the arg-max of ``log wₖ − qₖ/2``, found by the same
``active_peak`` as the value and gradient), ``y = R x``, ``a = Λₖ(y − ỹₖ)``,
``E = wₖ e^{−qₖ/2} = −f``: ``∇_y f = E a`` and ``∇²_y f = E (Λₖ − a aᵀ)``, so
``diag_i = E (Σⱼ Rⱼᵢ² λₖⱼ − (Rᵀa)ᵢ²)``. f is not twice differentiable where two peaks tie for
the maximum; there, as for the gradient, the Hessian of the active peak (the lowest index among
the tied ones) is returned. Where E underflows it is 0.

Every function works on a block of L lanes (lanes innermost; the CUDA kernel builds the same
code with L = 1); elementary functions come from :mod:`.kmath`, so the CPU and the CUDA simulator
agree bit for bit.
"""
import math

import numpy as np

from . import dispatch, ids, kmath

# the separable shifted families: diag ∇²f = Σⱼ Rⱼᵢ² h''(zⱼ)
SEPARABLE = (ids.RASTRIGIN, ids.LEVY, ids.STYBLINSKI_TANG)


def make(jit, F, L, cold, fma, fam, only=None):
    """``hess_diag(fid, p, x, h, z, gz, cc, t, dim)`` for working dtype F and L lanes (``jit``:
    inlined scalar helpers, ``cold``: block-level calls, ``fam``: :func:`.families.make`'s
    namespace, whose ``to_z``, ``active_peak``, products and layouts it reuses; ``only``: the
    family ids served, default all — the BBOB ids, which have no diagonal Hessian here, and
    ids not served get NaN)."""
    lanes = fam.lanes
    to_z, active_peak, matvec, matvec_t = fam.to_z, fam.active_peak, fam.matvec, fam.matvec_t
    shifted_at, peaks_at = fam.shifted_at, fam.peaks_at
    sincos2pi, exp, _ = kmath.make(jit, F, fma)
    zero = F(0.0)
    one = F(1.0)
    two = F(2.0)
    four = F(4.0)
    eight = F(8.0)
    ten = F(10.0)
    pi = F(math.pi)
    two_pi = F(2.0 * math.pi)
    pi2 = F(math.pi ** 2)
    four_pi2 = F(4.0 * math.pi ** 2)
    forty_pi2 = F(40.0 * math.pi ** 2)
    nan = F(np.nan)
    sixteenth = F(1.0 / 16.0)
    quarter = F(0.25)
    select_rows = L > 1        # as in families.py: pick an array at run time on the CPU only

    @cold
    def sq_t(p, r, d, h, dim, add):
        """h_i (+)= Σⱼ Rⱼᵢ² dⱼ in every lane, R the dim × dim row-major matrix at p[r:]; ``add``:
        add to h, else overwrite it. Summed in order j = 0, 1, …, four columns per pass (one
        load and store of h per four products, as in linalg's rowdot2)."""
        L = lanes(h)
        for i in range(dim):
            if not add:
                for k in range(L):
                    h[i, k] = zero
            j = 0
            while j + 4 <= dim:
                m0 = p[r + j * dim + i]
                m1 = p[r + (j + 1) * dim + i]
                m2 = p[r + (j + 2) * dim + i]
                m3 = p[r + (j + 3) * dim + i]
                a0 = m0 * m0
                a1 = m1 * m1
                a2 = m2 * m2
                a3 = m3 * m3
                for k in range(L):
                    h[i, k] = fma(a3, d[j + 3, k], fma(a2, d[j + 2, k],
                                                       fma(a1, d[j + 1, k],
                                                           fma(a0, d[j, k], h[i, k]))))
                j += 4
            while j < dim:
                m0 = p[r + j * dim + i]
                a0 = m0 * m0
                for k in range(L):
                    h[i, k] = fma(a0, d[j, k], h[i, k])
                j += 1

    # ---- separable shifted families: h''(zⱼ) into d

    @jit
    def rastrigin2(z, d, dim):
        for i in range(dim):
            for k in range(lanes(d)):
                d[i, k] = fma(forty_pi2, sincos2pi(z[i, k])[1], two)

    @jit
    def styblinski_tang2(z, d, dim):
        for i in range(dim):
            for k in range(lanes(d)):
                zz = z[i, k]
                d[i, k] = fma(F(6.0) * zz, zz, F(-16.0))

    @jit
    def levy2(z, d, dim):
        for i in range(dim):
            for k in range(lanes(d)):
                w = one + z[i, k] * quarter
                wm = w - one
                dd = zero
                if i == 0:                       # sin²(πw): 2π² cos 2πw
                    dd += two * pi2 * sincos2pi(w)[1]
                if i < dim - 1:                  # (w−1)²(1 + 10 sin²a), a = πw + 1
                    sn, cs = sincos2pi((pi * w + one) / two_pi)
                    s2 = sn * sn
                    dd += two * (one + ten * s2) + F(80.0) * pi * wm * sn * cs \
                        + F(20.0) * pi2 * wm * wm * (one - two * s2)
                if i == dim - 1:                 # (w−1)²(1 + sin² 2πw)
                    sn, cs = sincos2pi(w)
                    s2 = sn * sn
                    dd += two * (one + s2) + eight * pi * wm * (two * sn * cs) \
                        + eight * pi2 * wm * wm * (one - two * s2)
                d[i, k] = dd * sixteenth

    @jit
    def h2_unknown(fid, z, d, dim):
        for i in range(dim):
            for k in range(lanes(d)):
                d[i, k] = nan

    H2 = {ids.RASTRIGIN: rastrigin2, ids.LEVY: levy2, ids.STYBLINSKI_TANG: styblinski_tang2}
    dispatch.check("kernels.hessians.H2", "separable family", SEPARABLE, H2)
    h2 = dispatch.chain(jit, "h2", "fid", "z, d, dim", H2, h2_unknown)

    @jit
    def separable(fid, p, x, h, z, gz, cc, t, dim):
        rotated = p[ids.LP_ROTATED] != zero
        to_z(p, rotated, x, z, gz, dim)
        if select_rows:
            h2(fid, z, gz if rotated else h, dim)
        elif rotated:
            h2(fid, z, gz, dim)
        else:
            h2(fid, z, h, dim)
        if rotated:
            sq_t(p, shifted_at(dim).rot, gz, h, dim, False)

    # ---- the non-separable shifted families

    @jit
    def ackley(fid, p, x, h, z, gz, cc, t, dim):
        L = lanes(h)
        rot = shifted_at(dim).rot
        rotated = p[ids.LP_ROTATED] != zero
        to_z(p, rotated, x, z, gz, dim)          # rotated: gz = x − s = Rᵀz
        c0 = t[0]                                # Σz², then the coefficient of I
        c2 = t[1]                                # Σcos, then (4π²/d) e₂
        al = t[2]                                # coefficient of z zᵀ
        be = t[3]                                # coefficient of v vᵀ
        for k in range(L):
            c0[k] = zero
            c2[k] = zero
        for i in range(dim):
            for k in range(L):
                c0[k] += z[i, k] * z[i, k]
                c2[k] += sincos2pi(z[i, k])[1]
        fd = F(dim)
        for k in range(L):
            r = math.sqrt(c0[k] / fd)
            e1 = exp(F(-0.2) * r)
            e2 = exp(c2[k] / fd)
            c0[k] = four * e1 / (fd * r) if r > zero else zero
            al[k] = -e1 / (fd * fd * r * r) * (F(0.8) + four / r) if r > zero else zero
            c2[k] = four_pi2 / fd * e2
            be[k] = -c2[k] / fd
        if rotated:
            for i in range(dim):
                for k in range(L):
                    u = gz[i, k]
                    h[i, k] = fma(al[k] * u, u, c0[k])
            for i in range(dim):
                for k in range(L):
                    sn, cs = sincos2pi(z[i, k])
                    gz[i, k] = c2[k] * cs
                    z[i, k] = sn
            sq_t(p, rot, gz, h, dim, True)
            matvec_t(p, rot, z, cc, dim)         # Rᵀv
            for i in range(dim):
                for k in range(L):
                    h[i, k] = fma(be[k] * cc[i, k], cc[i, k], h[i, k])
        else:
            for i in range(dim):
                for k in range(L):
                    u = z[i, k]
                    sn, cs = sincos2pi(u)
                    h[i, k] = fma(be[k] * sn, sn, fma(c2[k], cs, fma(al[k] * u, u, c0[k])))

    @jit
    def griewank(fid, p, x, h, z, gz, cc, t, dim):
        L = lanes(h)
        rot = shifted_at(dim).rot
        rotated = p[ids.LP_ROTATED] != zero
        to_z(p, rotated, x, z, gz, dim)
        inv2000 = F(1.0 / 2000.0)
        if rotated:
            for m in range(dim):                 # the factors' coefficients, per unit rₘ
                q = math.sqrt(F(m + 1))
                sc = one / (two_pi * q)
                for k in range(L):
                    sn, cs = sincos2pi(z[m, k] * sc)
                    cc[m, k] = cs                # a₀
                    gz[m, k] = sn / q            # −a₁/rₘ
                    z[m, k] = cs / (two * F(m + 1))   # −a₂/rₘ²
            e0 = t[0]
            e1 = t[1]
            e2 = t[2]
            for i in range(dim):
                for k in range(L):
                    e0[k] = one
                    e1[k] = zero
                    e2[k] = zero
                rr = zero
                for m in range(dim):
                    rm = p[rot + m * dim + i]    # R[m, i]: column i of R
                    rr += rm * rm
                    for k in range(L):
                        a0 = cc[m, k]
                        a1 = -rm * gz[m, k]
                        a2 = -(rm * rm) * z[m, k]
                        e2[k] = e2[k] * a0 + e1[k] * a1 + e0[k] * a2
                        e1[k] = e1[k] * a0 + e0[k] * a1
                        e0[k] = e0[k] * a0
                for k in range(L):
                    h[i, k] = rr * inv2000 - two * e2[k]
        else:
            prod = t[0]
            for k in range(L):
                prod[k] = one
            for i in range(dim):
                sc = one / (two_pi * math.sqrt(F(i + 1)))
                for k in range(L):
                    cs = sincos2pi(z[i, k] * sc)[1]
                    cc[i, k] = cs
                    h[i, k] = prod[k]            # Π_{j<i} cⱼ, completed below
                    prod[k] *= cs
            for k in range(L):
                prod[k] = one                    # now the suffix product Π_{j>i} cⱼ
            for i in range(dim - 1, -1, -1):
                inv_i = one / F(i + 1)
                for k in range(L):
                    h[i, k] = inv2000 + cc[i, k] * inv_i * h[i, k] * prod[k]
                    prod[k] *= cc[i, k]

    @jit
    def himmelblau(fid, p, x, h, z, gz, cc, t, dim):
        rot = shifted_at(dim).rot
        rotated = p[ids.LP_ROTATED] != zero
        to_z(p, rotated, x, z, gz, dim)
        # R[j, i] = p[rot + 2j + i]; the identity when not rotated
        r00 = p[rot] if rotated else one
        r01 = p[rot + 1] if rotated else zero
        r10 = p[rot + 2] if rotated else zero
        r11 = p[rot + 3] if rotated else one
        for k in range(lanes(h)):
            z0 = z[0, k]
            z1 = z[1, k]
            a = z0 * z0 + z1 - F(11.0)
            b = z0 + z1 * z1 - F(7.0)
            h00 = four * a + eight * z0 * z0 + two
            h11 = four * b + eight * z1 * z1 + two
            h01 = four * (z0 + z1)
            h[0, k] = r00 * r00 * h00 + two * r00 * r10 * h01 + r10 * r10 * h11
            h[1, k] = r01 * r01 * h00 + two * r01 * r11 * h01 + r11 * r11 * h11

    # ---- the others

    @jit
    def double_well(fid, p, x, h, z, gz, cc, t, dim):
        L = lanes(h)
        for k in range(L):
            x0 = x[0, k]
            h[0, k] = F(3.0) * x0 * x0 - one
        for i in range(1, dim):
            for k in range(L):
                h[i, k] = one

    @jit
    def gaussian_peaks(fid, p, x, h, z, gz, cc, t, dim):
        L = lanes(h)
        lay = peaks_at(dim)
        matvec(p, lay.rot, x, z, dim)            # y = R x
        big = t[0]
        kb = t[2]                                # the active peak's index, as a float
        active_peak(p, z, big, kb, t[1], dim)
        for k in range(L):
            big[k] = exp(big[k])                 # E = wₖ e^{−qₖ/2}
        base = lay.first
        stride = lay.stride
        for i in range(dim):
            for k in range(L):
                o = base + int(kb[k]) * stride
                lam = p[o + lay.lam + i]
                cc[i, k] = lam
                gz[i, k] = lam * (z[i, k] - p[o + lay.centre + i])   # a = Λ(y − ỹ)
        sq_t(p, lay.rot, cc, h, dim, False)      # Σⱼ Rⱼᵢ² λⱼ
        matvec_t(p, lay.rot, gz, cc, dim)        # Rᵀa
        for i in range(dim):
            for k in range(L):
                h[i, k] = big[k] * (h[i, k] - cc[i, k] * cc[i, k])

    @jit
    def unknown(fid, p, x, h, z, gz, cc, t, dim):
        for i in range(dim):             # never another family's: the trajectory diverges
            for k in range(lanes(h)):
                h[i, k] = nan

    # one line per family: hess_diag's chain is written from this table
    HESS = {i: separable for i in SEPARABLE}
    HESS.update({ids.ACKLEY: ackley, ids.GRIEWANK: griewank, ids.HIMMELBLAU: himmelblau,
                 ids.DOUBLE_WELL: double_well, ids.GAUSSIAN_PEAKS: gaussian_peaks})
    # COCO's BBOB functions have no diagonal Hessian here: NaN (the host refuses curvature
    # noise on them, swarm.noise); their ids are listed so that the completeness check holds
    HESS.update({i: unknown for i in ids.BBOB_FAMILIES})
    dispatch.check("kernels.hessians.HESS", "landscape family", ids.LANDSCAPE_FAMILIES, HESS)
    served = {k: v for k, v in HESS.items() if v is not unknown and (only is None or k in only)}
    return dispatch.chain(cold, "hess_diag", "fid", "p, x, h, z, gz, cc, t, dim", served, unknown,
                          keyed=True)
