"""Helpers shared by COCO's BBOB functions (:mod:`.bbob` f1–f12, :mod:`.bbob_multi` f13–f24):
the oscillation T_osz and the asymmetry T_asy with their derivatives, the boundary penalty
f_pen = Σ max(0, |xᵢ| − 5)² with its gradient, sines of angles in radians, the Rastrigin term,
and small lane loops. Scalar helpers are ``jit`` (inlined into the lane loops), the rest are
lane loops over ``(dim, L)`` arrays (lanes innermost).

Conventions (``tests/naive_bbob.py`` is the reference, ``docs/bbob.md`` the prose):

- ``tosz(x) → (T_osz(x), T_osz'(x))``: COCO's ``pow(exp(x̂/0.1 + 0.49(sin c₁x̂/0.1 +
  sin c₂x̂/0.1)), 0.1)``, x̂ = log|x|, as one ``exp(0.1·(…))``. T_osz(x)/x stays within
  e^{±0.098} but its slope oscillates without a limit at 0: there it is taken as 0, so that
  ∇f(x*) = 0 where x* maps to 0.
- ``tasy(x, k) → (T_asy(x), T_asy'(x))``: x^(1 + k√x) for x > 0 (k = β(i−1)/(n−1)), x
  otherwise.
- ``sincos(a)``: (sin a, cos a) for a in radians, from :mod:`.kmath`'s ``sincos2pi`` after
  reducing a/2π in two parts (the product's rounding error recovered by an fma), so that large
  arguments keep their accuracy.
"""
import math
from types import SimpleNamespace

import numpy as np

from . import kmath
from . import layout as _layout

# 1/(2π) as a float64 pair hi + lo (lo = 1/(2π) − hi to 53 more bits; from 50-digit mpmath,
# checked in tests/test_bbob_kernels.py): float64 arithmetic cannot form lo, 1/(2π) − hi is 0
INV2PI_HI = 0.15915494309189535
INV2PI_LO = -9.839338337591243e-18          # -0x1.6b01ec5417056p-57


def make(jit, F, L, cold, fma, lanes):
    """The helpers for working dtype F and L lanes, as a namespace (``lanes``:
    ``ids.lane_count(jit, L)``)."""
    sincos2pi, exp, log = kmath.make(jit, F, fma)
    is64 = np.dtype(F).itemsize == 8
    zero, one, two, five = F(0.0), F(1.0), F(2.0), F(5.0)
    ten, tenth = F(10.0), F(0.1)
    tiny = F(np.finfo(F).tiny)
    inv2pi_hi = F(INV2PI_HI)
    inv2pi_lo = F(INV2PI_LO if is64 else INV2PI_HI - float(inv2pi_hi))
    big = F(2.0 ** 51 if is64 else 2.0 ** 22)
    magic = F(1.5 * 2.0 ** 52 if is64 else 1.5 * 2.0 ** 23)
    c049, c055, c079, c031 = F(0.49), F(0.55), F(0.79), F(0.31)
    twenty_pi = F(20.0 * math.pi)

    @jit
    def rint(x):
        """Round to nearest even: add and remove 1.5·2^52 (2^23 in float32)."""
        return (x + magic) - magic if abs(x) < big else x

    @jit
    def sincos(a):
        """(sin a, cos a), a in radians: a/2π = h + lo, h = a·(1/2π)_hi rounded, lo its
        rounding error (an fma) plus a·(1/2π)_lo; h is reduced exactly before lo is added."""
        h = a * inv2pi_hi
        lo = fma(a, inv2pi_hi, -h) + a * inv2pi_lo
        return sincos2pi((h - rint(h)) + lo)

    @jit
    def tosz(x):
        """T_osz(x) and its derivative (taken as 0 at x = 0)."""
        ax = abs(x)
        nz = ax >= tiny
        pos = x > zero
        tmp = log(ax if nz else one) / tenth
        a = one if pos else c055
        b = c079 if pos else c031
        s1, k1 = sincos(a * tmp)
        s2, k2 = sincos(b * tmp)
        y = exp(tenth * fma(c049, s1 + s2, tmp))
        dy = y / (ax if nz else one) * fma(c049, fma(a, k1, b * k2), one)
        return (y if pos else -y) if nz else x, dy if nz else zero

    @jit
    def tasy_k(beta, i, dim):
        """T_asy's coefficient of coordinate i (0-based): β·i/(n − 1), in COCO's order."""
        return beta * F(i) / (F(dim) - one)

    @jit
    def tasy(x, kk):
        """T_asy(x) = x^(1 + kk √x) for x > 0, x otherwise; and its derivative."""
        pos = x >= tiny
        xp = x if pos else one
        s = math.sqrt(xp)
        lx = log(xp)
        ex = one + kk * s
        y = exp(ex * lx)
        dy = y * (ex / xp + kk * lx / (two * s))
        return (y if pos else x), (dy if pos else one)

    @jit
    def rastrigin(zz):
        """One coordinate of Rastrigin 10(n − Σ cos 2πzᵢ) + Σ zᵢ²: (cos 2πz, z², d/dz)."""
        sn, cs = sincos2pi(zz)
        return cs, zz * zz, fma(twenty_pi, sn, two * zz)

    @jit
    def sub(p, o, x, u, dim):
        """u = x − p[o:o+dim] (x − x*)."""
        n = lanes(x)
        for i in range(dim):
            c = p[o + i]
            for k in range(n):
                u[i, k] = x[i, k] - c

    @jit
    def clear(a):
        for k in range(lanes(a)):
            a[k] = zero

    @jit
    def penalty(coef, x, g, acc, dim):
        """acc = f_pen(x) = Σ max(0, |xᵢ| − 5)² (in order); g += coef·∇f_pen."""
        n = lanes(acc)
        clear(acc)
        for i in range(dim):
            for k in range(n):
                xi = x[i, k]
                d = max(abs(xi) - five, zero)
                acc[k] += d * d
                gd = two * d * coef
                g[i, k] += gd if xi > zero else -gd

    @jit
    def scale(a, b, dim):
        """a *= b elementwise."""
        n = lanes(a)
        for i in range(dim):
            for k in range(n):
                a[i, k] *= b[i, k]

    return SimpleNamespace(sincos2pi=sincos2pi, exp=exp, log=log, rint=rint, sincos=sincos,
                           tosz=tosz, tasy_k=tasy_k, tasy=tasy, rastrigin=rastrigin, sub=sub,
                           clear=clear, penalty=penalty, scale=scale, at=jit(_layout.bbob),
                           ten=ten)
