"""The fused multiply-add of every target is the same IEEE operation: a·b + c rounded once."""
import math
from fractions import Fraction

import numba
import numpy as np
import pytest

from swarm.kernels import fma as kfma

_cpu = kfma.cpu(numba.njit(inline="always"))


@numba.njit
def _cpu_many(a, b, c, out):
    for i in range(a.size):
        out[i] = _cpu(a[i], b[i], c[i])


def _nearest(exact, F):
    """The float of type F nearest to the rational ``exact`` (ties to even), by bracketing."""
    g = F(float(exact))               # within one rounding of the answer
    cands = [g, np.nextafter(g, F(np.inf)), np.nextafter(g, F(-np.inf))]
    best = min(cands, key=lambda v: (abs(Fraction(float(v)) - exact),
                                     int(np.array(v).view(np.int64 if F is np.float64
                                                          else np.int32)) & 1))
    return best


def _cases(F, n, seed):
    rng = np.random.default_rng(seed)
    lo, hi = (-60, 60) if F is np.float64 else (-20, 20)
    a = (rng.uniform(-2, 2, n) * 2.0 ** rng.integers(lo, hi, n)).astype(F)
    b = (rng.uniform(-2, 2, n) * 2.0 ** rng.integers(lo, hi, n)).astype(F)
    c = (rng.uniform(-2, 2, n) * 2.0 ** rng.integers(lo, hi, n)).astype(F)
    near = rng.random(n) < 0.5            # c ≈ −a·b: the cancellations where fusing matters
    c[near] = (-(a[near].astype(np.float64) * b[near])).astype(F)
    return a, b, c


@pytest.mark.parametrize("F", [np.float64, np.float32])
def test_exact_is_correctly_rounded(F):
    a, b, c = _cases(F, 3000, 1)
    for x, y, z in zip(a, b, c):
        want = Fraction(float(x)) * Fraction(float(y)) + Fraction(float(z))
        got = kfma.exact(x, y, z)
        assert type(got) is F
        if want == 0:
            assert got == 0
        else:
            assert got == _nearest(want, F), (x, y, z)


@pytest.mark.parametrize("F", [np.float64, np.float32])
def test_cpu_intrinsic_matches_exact_bit_for_bit(F):
    a, b, c = _cases(F, 20000, 2)
    out = np.empty_like(a)
    _cpu_many(a, b, c, out)
    want = np.array([kfma.exact(x, y, z) for x, y, z in zip(a, b, c)], dtype=F)
    assert np.array_equal(out.view(np.uint8), want.view(np.uint8))
    # and fusing is visible: for c = −round(a·b) the unfused result is 0, the fused one the
    # rounding error of a·b
    assert np.any((out != 0) & (a * b + c == 0))


def test_exact_edge_cases():
    f = np.float64
    assert kfma.exact(f(5e-324), f(0.5), f(0.0)) == 0.0                 # tie to even: 0
    assert kfma.exact(f(5e-324), f(1.5), f(0.0)) == 1e-323              # subnormal, tie: even
    assert kfma.exact(f(1e308), f(10.0), f(-1e308)) == math.inf         # overflow
    # a·b overflows, a·b + c does not: the fused result is finite
    assert kfma.exact(f(1e308), f(2.0), f(-1.5e308)) == float(
        Fraction(1e308) * 2 - Fraction(1.5e308))
    assert math.isnan(kfma.exact(f(math.inf), f(0.0), f(1.0)))
    assert math.copysign(1.0, kfma.exact(f(-0.0), f(1.0), f(-0.0))) == -1.0
    assert math.copysign(1.0, kfma.exact(f(1.0), f(1.0), f(-1.0))) == 1.0
    assert kfma.exact(np.float32(3e38), np.float32(2.0), np.float32(-3e38)) == np.float32(3e38)
    assert kfma.exact(np.float32(3e38), np.float32(3.0), np.float32(0.0)) == np.inf
