"""Heavy-tailed gradient-noise samplers on the project's Philox stream (issue 23, first part).

Each sampler is a pure function of (seed, counter), like :mod:`.philox`'s normals, so a noise
value depends only on its key (seed, instance, start, step, coordinate) — never on the thread,
the chunk or the backend — and every optimizer sees the same noise on the same key. The maths
uses :mod:`.kmath`'s ``exp``, ``log`` and ``sincos2pi`` (not libm or libdevice), so a float64
sample has the same bits on the CPU and in the CUDA simulator.

- ``stable(k0, k1, j, step, start, inst, alpha)``: standard symmetric α-stable (β = 0,
  0 < α ≤ 2) by Chambers, Mallows & Stuck (1976): with V uniform on (−π/2, π/2) and W
  exponential(1), ``X = sin(αV)/cos(V)^{1/α} · (cos((1−α)V)/W)^{(1−α)/α}`` (α = 1: tan V, the
  Cauchy). The convention is scipy's ``levy_stable(alpha, 0)`` (S1, equal to S0 at β = 0):
  α = 2 is a Gaussian of variance 2, so ``σ·X`` has variance 2σ². One Philox draw per sample,
  counter (coordinate j, step, start, instance). Computed as
  ``X = (sin αV / cos V) · (cos((1−α)V) / (W cos V))^{(1−α)/α}`` (the same expression: split
  ``cos V^{−1/α} = cos V^{−1} · cos V^{−(1−α)/α}``) with ``cos((1−α)V) = cos V cos αV +
  sin V sin αV``: two ``sincos2pi``, two ``log`` (W = −log u₂, and the power's base), one
  ``exp`` and two divisions per sample. At α = 1 the power is ``exp(0) = 1`` exactly, so X is
  ``sin V / cos V`` with no branch.
- ``student_t(k0, k1, j, step, start, inst, nu)``: Student-t with ν > 0 degrees of freedom,
  ``T = cos(2πu₁) · √(ν(u₂^{−2/ν} − 1))`` for two independent uniforms: Bailey's polar method
  (1994) without its rejection step. Bailey draws (U, V) uniform on the unit disk and returns
  ``U·√(ν(w^{−2/ν} − 1)/w)``, w = U² + V²; for a point uniform on the disk, w is uniform on
  (0, 1), its angle θ is uniform and independent of w, and U/√w = cos θ. Exact for every ν,
  one Philox draw per sample (counter as α-stable's), no rejection: a lane loop of samples
  vectorises whole.

A uniform of :func:`.philox.uniform2` lies in (0, 1]: its top value rounds to 1 (probability
2⁻⁵³, float32 2⁻²⁴). Student-t takes u₂ = 1 as T = 0 (its limit); α-stable clamps both
uniforms to the largest float below 1, so that V < π/2 and W > 0 (a sample is never NaN).

Both take the coordinate index itself as the counter's first word (Box–Muller normals take the
coordinate pair): a noise model is a property of an arm, so different models never need
independent streams, only the same model on the same key.
"""
import math

import numpy as np

from . import fma as _fma
from . import kmath, philox


def make(jit, F, fma=None):
    """``(stable, student_t, stable_from, student_t_from, stable_parts, stable_power, t_parts,
    t_finish)`` compiled with ``jit`` in working float type ``F``: the samplers, their maths on
    given uniforms, and the two halves of each (for lane loops that draw the uniforms first
    and run each half as its own loop)."""
    fma = fma or _fma.cpu(jit)
    sincos2pi, exp, log = kmath.make(jit, F, fma)
    uniform2 = philox.make(jit, F, fma)[2]
    half = F(0.5)
    one = F(1.0)
    m2 = F(-2.0)
    top = np.nextafter(F(1.0), F(0.0))            # the largest float below 1
    i6, i24, i120, i720 = F(1 / 6), F(1 / 24), F(1 / 120), F(1 / 720)
    cut = F(2.0 ** -10 if np.dtype(F).itemsize == 8 else 2.0 ** -4)

    # Each transform is two halves, so that a lane loop can run them as two loops (shorter
    # bodies, fewer registers: 20-25 % faster than one loop); the whole is their composition,
    # so every way of running it gives the same bits.
    @jit
    def stable_parts(u1, u2, alpha):
        """CMS's first half: (sin αV / cos V, cos((1 − α)V) / (W cos V)) of two uniforms."""
        # selects, not min() (which handles NaN: slower, and a uniform is never NaN)
        r = ((u1 if u1 < top else top) - half) * half     # V/(2π), V = π(u1 − ½) ∈ (−π/2, π/2)
        w = -log(u2 if u2 < top else top)                 # exponential(1), > 0
        sv, cv = sincos2pi(r)                             # cv > 0
        sa, ca = sincos2pi(alpha * r)
        cb = ca * cv + sa * sv                            # cos((1 − α)V) > 0
        return sa / cv, cb / (cv * w)

    @jit
    def stable_power(a, q, e):
        """CMS's second half: a · q^e, e = (1 − α)/α (e = 0 at α = 1: exactly a)."""
        return a * exp(e * log(q))

    @jit
    def stable_from(u1, u2, alpha):
        """The CMS transform of two uniforms (``stable`` is this of ``uniform2``'s pair)."""
        a, q = stable_parts(u1, u2, alpha)
        return stable_power(a, q, (one - alpha) / alpha)

    @jit
    def stable(k0, k1, j, step, start, inst, alpha):
        u1, u2 = uniform2(k0, k1, j, step, start, inst)
        return stable_from(u1, u2, alpha)

    @jit
    def t_parts(u1, u2, nu):
        """Student-t's first half: cos 2πu₁ and a = −(2/ν) log u₂ (u₂^{−2/ν} = e^a, a ≥ 0)."""
        return sincos2pi(u1)[1], log(u2) * (m2 / nu)

    @jit
    def t_finish(c, a, nu):
        """Student-t's second half: c·√(ν(e^a − 1)). e^a − 1 without cancellation: below the
        cut its Taylor series to a⁶ (truncation below 10⁻¹⁶ of it in float64, 10⁻¹¹ in
        float32), a select, so the loop vectorises."""
        p = a * fma(a, fma(a, fma(a, fma(a, fma(a, i720, i120), i24), i6), half), one)
        em1 = p if a < cut else exp(a) - one
        return c * math.sqrt(nu * em1)

    @jit
    def student_t_from(u1, u2, nu):
        """Bailey's polar Student-t without rejection on two uniforms (``student_t`` is this
        of ``uniform2``'s pair). u₂^{−2/ν} overflows only where u₂^{−1/ν} > 10¹⁵⁴ (float32:
        10¹⁹), possible for ν < 0.11 (float32: 0.39): the sample is then ±inf, a divergence
        like any jump out of the box."""
        c, a = t_parts(u1, u2, nu)
        return t_finish(c, a, nu)

    @jit
    def student_t(k0, k1, j, step, start, inst, nu):
        u1, u2 = uniform2(k0, k1, j, step, start, inst)
        return student_t_from(u1, u2, nu)

    return (stable, student_t, stable_from, student_t_from, stable_parts, stable_power, t_parts,
            t_finish)
