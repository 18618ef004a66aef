"""Fused multiply-add ``fma(a, b, c) = a·b + c`` rounded once, for every target.

The kernels' arithmetic is written once and must give the same bits on the CPU and in the CUDA
simulator, so nothing is contracted implicitly (no ``fastmath``); where a multiply-add is
fused, the source says so with :func:`fma`, and every target implements that one operation
exactly (IEEE 754 ``fusedMultiplyAdd``, round to nearest even):

- CPU (``cpu``): LLVM's ``llvm.fma`` intrinsic; the lane loops vectorise it to ``vfmadd``;
- CUDA hardware (``cuda.fma``): the ``fma.rn`` instruction;
- CUDA simulator (:func:`exact`): the exact rational ``a·b + c`` rounded once in Python.

Fusing is both faster (one instruction for two, half the rounding) and more accurate.
"""
import math

import numpy as np
from numba.core import types
from numba.extending import intrinsic


@intrinsic
def _llvm_fma(typingctx, a, b, c):
    if not all(isinstance(x, types.Float) for x in (a, b, c)):
        return None
    res = max((a, b, c), key=lambda x: x.bitwidth)

    def codegen(context, builder, sig, args):
        xs = [context.cast(builder, v, t, res) for v, t in zip(args, sig.args)]
        return builder.fma(*xs)
    return res(a, b, c), codegen


def cpu(jit):
    """``fma`` for Numba's CPU target, compiled with the kernels' ``jit`` (inlined)."""
    @jit
    def fma(a, b, c):
        return _llvm_fma(a, b, c)
    return fma


def cuda_device():
    """``fma`` for CUDA device code: ``fma.rn`` on hardware; in the simulator, whose
    ``cuda.fma`` is a·b + c rounded twice, :func:`exact`, which keeps float64 results
    bit-identical to the CPU's."""
    from numba import config, cuda
    if config.ENABLE_CUDASIM:
        return exact

    @cuda.jit(device=True)
    def fma(a, b, c):               # a stub like cuda.fma cannot be a closure variable
        return cuda.fma(a, b, c)
    return fma


# (significand bits, smallest exponent of the last bit, largest finite) per format
_FORMATS = {8: (53, -1074, float(np.finfo(np.float64).max)),
            4: (24, -149, float(np.finfo(np.float32).max))}


def _divide(num, den, s):
    """(q, r, d): ``num = q·d + r`` with ``d`` the divisor of ``num / (den·2^s)`` scaled to
    integers."""
    if s >= 0:
        d = den << s
        return num // d, num % d, d
    n = num << -s
    return n // den, n % den, den


def _round(num, den, bits, emin):
    """The rational ``num / den`` (``num ≠ 0``, ``den > 0``) rounded to nearest even with
    ``bits`` significand bits and no bit below ``2^emin`` (subnormals), as a float."""
    neg = num < 0
    num = abs(num)
    # num/den lies in (2^(L−1), 2^(L+1)): the quotient by 2^s has bits or bits + 1 bits
    s = max(num.bit_length() - den.bit_length() - bits, emin)
    q, r, d = _divide(num, den, s)
    if q >> bits:
        s += 1
        q, r, d = _divide(num, den, s)
    if 2 * r > d or (2 * r == d and q & 1):
        q += 1
    try:
        v = math.ldexp(q, s)        # exact: q has at most bits + 1 bits
    except OverflowError:
        v = math.inf
    return -v if neg else v


def exact(a, b, c):
    """``a·b + c`` rounded once, in the working type of the arguments (float32 when all are
    float32, else float64): the CUDA simulator's ``fma``."""
    f32 = all(isinstance(x, np.float32) for x in (a, b, c))
    a, b, c = float(a), float(b), float(c)
    if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(c)):
        v = a * b + c               # inf and nan: the same as the fused result
    else:
        na, da = a.as_integer_ratio()
        nb, db = b.as_integer_ratio()
        nc, dc = c.as_integer_ratio()
        num, den = na * nb, da * db  # every denominator is a power of two
        if den >= dc:
            num, den = num + nc * (den // dc), den
        else:
            num, den = num * (dc // den) + nc, dc
        if num == 0:
            v = a * b + c           # an exact zero: its sign as IEEE's (−0 only for −0 + −0)
        else:
            bits, emin, fmax = _FORMATS[4 if f32 else 8]
            v = _round(num, den, bits, emin)
            if abs(v) > fmax:
                v = math.copysign(math.inf, v)
    return np.float32(v) if f32 else np.float64(v)
