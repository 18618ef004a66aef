"""Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11, "Parallel random numbers:
as easy as 1, 2, 3") and Box–Muller normals.

Box–Muller uses the branch-free ``log`` and ``sincos2pi`` of :mod:`.kmath`, so a lane loop of
normals vectorises. A normal is a pure function of (seed, counter): the counter is (coordinate block, step, start
index, instance index), the key is the 64-bit seed. Results therefore do not depend on thread
count, chunking or backend. Each 32-bit word is held in a uint64 so that the 32×32-bit products
are exact on every target; all constants are ``np.uint64`` because in njit ``u64 + 1`` silently
becomes int64 (and later shifts sign-extend).
"""
import math

import numpy as np

from . import kmath

M0 = np.uint64(0xD2511F53)
M1 = np.uint64(0xCD9E8D57)
W0 = np.uint64(0x9E3779B9)
W1 = np.uint64(0xBB67AE85)
MASK32 = np.uint64(0xFFFFFFFF)
S32 = np.uint64(32)
S5 = np.uint64(5)
S6 = np.uint64(6)
S8 = np.uint64(8)
S26 = np.uint64(26)
MAGIC52 = np.uint64(0x4330000000000000)     # the bits of 2^52
TWO52 = np.float64(2.0 ** 52)


def make(jit, F, fma=None):
    """Compile the generator for one target (``jit``, its fused multiply-add ``fma``) and
    working float type ``F``."""
    sincos2pi, _, log = kmath.make(jit, F, fma)
    half = F(0.5)
    m2 = F(-2.0)
    is64 = np.dtype(F).itemsize == 8
    inv53 = F(2.0 ** -53)
    inv24 = F(2.0 ** -24)
    two26 = F(2.0 ** 26)

    @jit
    def philox4x32(c0, c1, c2, c3, k0, k1):
        """Ten Philox rounds on a 4-word counter with a 2-word key (uint64 holding uint32)."""
        for _ in range(10):
            p0 = M0 * c0
            p1 = M1 * c2
            c0, c1, c2, c3 = (p1 >> S32) ^ c1 ^ k0, p1 & MASK32, (p0 >> S32) ^ c3 ^ k1, p0 & MASK32
            k0 = (k0 + W0) & MASK32
            k1 = (k1 + W1) & MASK32
        return c0, c1, c2, c3

    @jit
    def as_float(k):
        """An integer k < 2^52 (held in a uint64) as float64, exactly, without an int→float
        conversion (AVX2 has none for 64-bit lanes): k in the mantissa of 2^52, minus 2^52."""
        return np.float64(np.int64(k | MAGIC52).view(np.float64)) - TWO52

    if is64:
        @jit
        def uniforms(r0, r1, r2, r3):
            """Two uniforms in (0, 1) with 53 random bits each (27 + 26 from two words)."""
            u1 = (as_float(r0 >> S5) * two26 + as_float(r1 >> S6) + half) * inv53
            u2 = (as_float(r2 >> S5) * two26 + as_float(r3 >> S6) + half) * inv53
            return u1, u2
    else:
        @jit
        def uniforms(r0, r1, r2, r3):
            """Two uniforms in (0, 1) with 24 random bits each."""
            u1 = (F(as_float(r0 >> S8)) + half) * inv24
            u2 = (F(as_float(r2 >> S8)) + half) * inv24
            return u1, u2

    @jit
    def uniform2(k0, k1, block, step, start, instance):
        """Two independent uniforms in (0, 1) for counter (block, step, start, instance)."""
        r0, r1, r2, r3 = philox4x32(np.uint64(block), np.uint64(step), np.uint64(start),
                                    np.uint64(instance), k0, k1)
        return uniforms(r0, r1, r2, r3)

    @jit
    def box_muller(u1, u2):
        """Two independent standard normals from two uniforms in (0, 1)."""
        rad = math.sqrt(m2 * log(u1))
        sn, cs = sincos2pi(u2)
        return rad * cs, rad * sn

    @jit
    def normal2(k0, k1, block, step, start, instance):
        """Two independent standard normals for counter (block, step, start, instance):
        ``box_muller(*uniform2(...))``. A lane loop over many lanes runs faster as two loops
        (uniforms into a scratch row, then Box–Muller: less register pressure per loop)."""
        u1, u2 = uniform2(k0, k1, block, step, start, instance)
        return box_muller(u1, u2)

    return philox4x32, normal2, uniform2, box_muller


def split_seed(seed):
    """The 64-bit seed as the two 32-bit key words (uint64 each)."""
    seed = int(seed)
    return np.uint64(seed & 0xFFFFFFFF), np.uint64((seed >> 32) & 0xFFFFFFFF)
