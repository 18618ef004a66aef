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
  counter (coordinate j, step, start, instance).
- ``student_t(k0, k1, j, step, start, inst, nu)``: Student-t with ν > 0 degrees of freedom by
  Bailey's polar method (1994): with U, V uniform on (−1, 1) and w = U² + V² ≤ 1 (rejection:
  accepted with probability π/4), ``T = U·√(ν(w^{−2/ν} − 1)/w)``. Exact for every ν, no gamma
  sampler. Attempt a uses counter (j + a·2²⁰, step, start, instance): coordinates below 2²⁰,
  at most 2¹² attempts (the chance of needing more is (1 − π/4)^4096 < 10⁻²⁷⁰⁰; after them the
  sample is NaN, which the engine counts as a divergence, never a silent value).

Both take the coordinate index itself as the counter's first word (Box–Muller normals take the
coordinate pair): a noise model is a property of an arm, so different models never need
independent streams, only the same model on the same key.
"""
import math

from . import kmath, philox

T_STRIDE = 1 << 20          # counter stride between Student-t attempts
T_ATTEMPTS = 1 << 12


def make(jit, F, fma=None):
    """``(stable, student_t, stable_from, t_attempt)`` compiled with ``jit`` in working float
    type ``F`` (the last two: the samplers' maths on given uniforms, for lane loops that draw
    the uniforms first)."""
    sincos2pi, exp, log = kmath.make(jit, F, fma)
    uniform2 = philox.make(jit, F, fma)[2]
    zero = F(0.0)
    half = F(0.5)
    one = F(1.0)
    two = F(2.0)
    nan = F(math.nan)

    @jit
    def powf(a, b):
        """a^b for a > 0, from kmath's exp and log (the same bits on every target)."""
        return exp(b * log(a))

    @jit
    def stable_from(u1, u2, alpha):
        """The CMS transform of two uniforms (``stable`` is this of ``uniform2``'s pair; a lane
        loop runs faster as two loops, uniforms first, like Box–Muller)."""
        r = (u1 - half) * half            # V/(2π), V = π(u1 − ½) ∈ (−π/2, π/2)
        w = -log(u2)                      # exponential(1), > 0 since u2 < 1
        sv, cv = sincos2pi(r)
        if alpha == one:
            return sv / cv
        sa = sincos2pi(alpha * r)[0]                  # sin(αV)
        cb = sincos2pi((one - alpha) * r)[1]          # cos((1 − α)V)
        return sa / powf(cv, one / alpha) * powf(cb / w, (one - alpha) / alpha)

    @jit
    def stable(k0, k1, j, step, start, inst, alpha):
        u1, u2 = uniform2(k0, k1, j, step, start, inst)
        return stable_from(u1, u2, alpha)

    @jit
    def t_attempt(u1, u2, nu):
        """One polar attempt on two uniforms: T, or NaN when rejected (w > 1). Branch-free, so
        that a lane loop of first attempts vectorises (``student_t`` is the first accepted
        attempt; w^(−2/ν) − 1 rounded below 0 for w within an ulp of 1 counts as 0)."""
        u = two * u1 - one
        v = two * u2 - one
        w = u * u + v * v
        s = nu * (powf(w, -two / nu) - one) / w
        t = u * math.sqrt(max(s, zero))
        return t if (w <= one and w > zero) else nan

    @jit
    def student_t(k0, k1, j, step, start, inst, nu):
        for a in range(T_ATTEMPTS):
            u1, u2 = uniform2(k0, k1, j + a * T_STRIDE, step, start, inst)
            t = t_attempt(u1, u2, nu)
            if t == t:
                return t
        return nan

    return stable, student_t, stable_from, t_attempt
