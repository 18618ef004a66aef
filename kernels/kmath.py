"""Branch-free elementary functions, written once for every target.

libm's ``sin``/``cos`` are opaque scalar calls that LLVM cannot vectorise (and on a GPU they
are libdevice calls); the functions here are short polynomials after an exact range reduction,
so they inline, vectorise and give the same bits on the CPU and in the CUDA simulator.
Polynomials are evaluated with explicit fused multiply-adds (:mod:`.fma`: one rounding,
identical on every target), never with implicit contraction.

- ``log(x)`` for positive normal x: exponent and mantissa from the bits, then fdlibm's
  ``e_log.c`` polynomial; ``exp(x)``: ``x = k·ln2 + r`` (Cody–Waite), a degree-13 Taylor
  polynomial for ``e^r``, and ``2^k`` built in the exponent bits (two factors, so that subnormal
  results are right); 0 below −745.2, inf above log(max float).
- ``sincos2pi(x) -> (sin 2πx, cos 2πx)``: reduce ``x`` exactly to ``y ∈ [−1/8, 1/8]`` and a
  quadrant (``r = x − round(x)``, ``q = round(4r)``, ``y = r − q/4``; every step is exact in
  binary floating point), then polynomials in ``θ = 2πy ∈ [−π/4, π/4]`` (fdlibm's minimax
  kernels in float64, degree 13/14; Taylor to degree 11/10 in float32), then an exact quadrant
  rotation by arithmetic.

Maximum errors against NumPy, enforced by ``tests/test_kmath.py`` over the whole range:
sincos2pi 1.6e-15 absolute (float64) / 6e-7 (float32); log 4e-16 / 3e-7 (absolute, relative
where |log x| > 1); exp 5e-16 / 2e-7 relative over the normal range, exact 0 and inf beyond. Taking ``x`` rather than
  ``2πx`` keeps large arguments accurate: ``math.sin(2*math.pi*x)`` loses the bits of ``2πx``'s
  rounding, this does not.
"""
import math

import numpy as np

from . import fma as _fma

# fdlibm e_log.c: log(1+f) = f − hfsq + s·(hfsq + R(s²)), s = f/(2+f)
_LG = (6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
       2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
       1.479819860511658591e-01)
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10


# fdlibm's __kernel_sin / __kernel_cos minimax coefficients on [−π/4, π/4] (float64)
_S64 = (-1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04,
        2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10)
_C64 = (4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05,
        -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11)
# Taylor coefficients suffice in float32 (truncation < 2e-9 at π/4)
_S32 = (-1.0 / 6, 1.0 / 120, -1.0 / 5040, 1.0 / 362880, -1.0 / 39916800, 0.0)
_C32 = (1.0 / 24, -1.0 / 720, 1.0 / 40320, -1.0 / 3628800, 1.0 / 479001600, 0.0)


def make(jit, F, fma=None):
    """``fma``: the target's fused multiply-add (:mod:`.fma`; default the CPU's)."""
    fma = fma or _fma.cpu(jit)
    is64 = np.dtype(F).itemsize == 8
    s1, s2, s3, s4, s5, s6 = (F(c) for c in (_S64 if is64 else _S32))
    c1, c2, c3, c4, c5, c6 = (F(c) for c in (_C64 if is64 else _C32))
    two_pi = F(2.0 * math.pi)
    quarter = F(0.25)
    four = F(4.0)
    half = F(0.5)
    one = F(1.0)
    two = F(2.0)
    zero = F(0.0)

    @jit
    def _poly(t):
        """sin t and cos t for |t| ≤ π/4; the powers are split (Estrin) to shorten the
        dependency chain, which is what bounds a scalar step loop."""
        t2 = t * t
        t4 = t2 * t2
        t8 = t4 * t4
        ps = fma(t8, fma(t2, s6, s5), fma(t4, fma(t2, s4, s3), fma(t2, s2, s1)))
        pc = fma(t8, fma(t2, c6, c5), fma(t4, fma(t2, c4, c3), fma(t2, c2, c1)))
        return fma(t * t2, ps, t), fma(t4, pc, fma(-half, t2, one))

    big = F(2.0 ** 51 if is64 else 2.0 ** 22)
    magic = F(1.5 * 2.0 ** 52 if is64 else 1.5 * 2.0 ** 23)

    @jit
    def rint(x):
        """Round to nearest (ties to even) by adding and removing 1.5·2^52 (2^23 in float32):
        pure floating-point arithmetic, so it vectorises without int conversions (which AVX2
        lacks for 64-bit lanes). Beyond 2^51 every float is an integer; NaN and inf pass
        through."""
        return (x + magic) - magic if abs(x) < big else x

    @jit
    def sincos2pi(x):
        r = x - rint(x)                 # exact, r ∈ [−½, ½]
        q = rint(four * r)              # quadrant −2 … 2
        s, c = _poly(two_pi * (r - quarter * q))
        # rotate by q·π/2 with a = cos(qπ/2), b = sin(qπ/2) ∈ {−1, 0, 1}: exact, no branch
        aq = abs(q)
        a = one - aq
        b = q * (two - aq)
        return fma(s, a, c * b), fma(c, a, -(s * b))

    if is64:
        itype, mbits, bias, emask = np.int64, np.int64(52), np.int64(1023), np.int64(0x7FF)
        mmask = np.int64((1 << 52) - 1)
        lg = tuple(F(c) for c in _LG)
        exp_terms = 13
    else:
        itype, mbits, bias, emask = np.int32, np.int32(23), np.int32(127), np.int32(0xFF)
        mmask = np.int32((1 << 23) - 1)
        lg = tuple(F(c) for c in _LG[:4]) + (F(0.0),) * 3
        exp_terms = 7
    lg1, lg2, lg3, lg4, lg5, lg6, lg7 = lg
    # Cody–Waite split of ln 2: the high part has enough trailing zeros that k·ln2_hi is exact
    ln2_hi = F(_LN2_HI if is64 else 0.693145751953125)
    ln2_lo = F(_LN2_LO if is64 else 1.428606765330187045e-06)
    ln2 = F(math.log(2.0))
    inv_ln2 = F(1.0 / math.log(2.0))
    sqrt2 = F(math.sqrt(2.0))
    fbias = itype(bias)
    emagic = itype((bias + mbits) << mbits)          # the bits of 2^mbits
    ebias = F(2.0 ** int(mbits) + int(bias))
    ec = tuple(F(1.0 / math.factorial(k)) for k in range(exp_terms + 1))[::-1]
    lo_lim = F(-745.2 if is64 else -103.98)
    hi_lim = F(709.782712893384 if is64 else 88.7228390520683)
    kmin = F(-1074 if is64 else -149)

    @jit
    def log(x):
        bits = F(x).view(itype)
        # the biased exponent as a float without an int→float conversion: put it in the
        # mantissa of 2^52 (2^23) and subtract
        e = itype(((bits >> mbits) & emask) | emagic).view(F) - ebias
        m = itype((bits & mmask) | (fbias << mbits)).view(F)        # m ∈ [1, 2)
        big = m > sqrt2
        m = m * half if big else m
        e = e + one if big else e
        f = m - one
        hfsq = half * f * f
        s = f / (two + f)
        z = s * s
        w = z * z
        t1 = w * fma(w, fma(w, lg6, lg4), lg2)
        t2 = z * fma(w, fma(w, fma(w, lg7, lg5), lg3), lg1)
        r = t2 + t1
        k = e
        return k * ln2_hi - ((hfsq - fma(s, hfsq + r, k * ln2_lo)) - f)

    @jit
    def _pow2(k):
        """2^k for an integral float k in the normal exponent range."""
        return itype((itype(k) + fbias) << mbits).view(F)

    @jit
    def exp(x):
        xc = min(max(x, lo_lim), hi_lim)
        if xc != xc:
            xc = zero
        k = rint(xc * inv_ln2)
        k = max(k, kmin)
        r = fma(-k, ln2_lo, xc - k * ln2_hi)         # k·ln2_hi is exact
        p = ec[0]
        for c in ec[1:]:
            p = fma(p, r, c)
        k1 = math.floor(k * half)
        y = p * _pow2(k1) * _pow2(k - k1)
        if x < lo_lim:
            y = zero
        if x > hi_lim:
            y = F(np.inf)
        if x != x:
            y = x
        return y

    return sincos2pi, exp, log
