"""The branch-free elementary functions against NumPy over their whole range, with the
maximum errors stated (and enforced) here."""
import math

import numba
import numpy as np
import pytest

from swarm.kernels import kmath

def compiled(F):
    sc, ex, lg = kmath.make(numba.njit, F)

    @numba.njit
    def run(x, s, c, e, lo):
        for i in range(x.size):
            s[i], c[i] = sc(x[i])
            e[i] = ex(x[i])
            lo[i] = lg(abs(x[i])) if x[i] != 0 else 0.0
    return run


@pytest.mark.parametrize("F", [np.float64, np.float32])
def test_sincos2pi(F):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-1, 1, 200_000), rng.uniform(-1e4, 1e4, 200_000),
                        np.arange(-8, 8.01, 0.125)]).astype(F)
    s, c, e, lo = (np.empty_like(x) for _ in range(4))
    compiled(F)(x, s, c, e, lo)
    # reference: sin(2πx) with the argument reduced exactly first (x − round(x) is exact)
    r = x.astype(np.float64) - np.round(x.astype(np.float64))
    ref_s, ref_c = np.sin(2 * np.pi * r), np.cos(2 * np.pi * r)
    bound = 2e-16 * 8 if F is np.float64 else 6e-7
    assert np.max(np.abs(s - ref_s)) < bound
    assert np.max(np.abs(c - ref_c)) < bound
    quarter = np.arange(-8, 8.01, 0.25).astype(F)
    qs, qc, _, _ = (np.empty_like(quarter) for _ in range(4))
    compiled(F)(quarter, qs, qc, np.empty_like(quarter), np.empty_like(quarter))
    np.testing.assert_array_equal(qs, np.round(np.sin(2 * np.pi * quarter.astype(float))))


@pytest.mark.parametrize("F", [np.float64, np.float32])
def test_log_over_the_normal_range(F):
    info = np.finfo(F)
    rng = np.random.default_rng(1)
    lo_e, hi_e = math.log(info.tiny), math.log(info.max)
    x = np.exp(rng.uniform(lo_e, hi_e, 400_000)).astype(F)
    x = np.concatenate([x, np.array([1.0, 2.0, 0.5, info.tiny, info.max], dtype=F)])
    x = x[(x >= info.tiny) & np.isfinite(x)]
    out = np.empty_like(x)
    sc, ex, lg = kmath.make(numba.njit, F)

    @numba.njit
    def run(x, o):
        for i in range(x.size):
            o[i] = lg(x[i])
    run(x, out)
    ref = np.log(x.astype(np.float64))
    err = np.abs(out - ref) / np.maximum(np.abs(ref), 1.0)
    assert err.max() < (4e-16 if F is np.float64 else 3e-7), err.max()
    assert out[np.flatnonzero(x == 1.0)[0]] == 0.0


@pytest.mark.parametrize("F", [np.float64, np.float32])
def test_exp_over_its_range_with_overflow_and_underflow(F):
    info = np.finfo(F)
    hi = math.log(float(info.max))
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.uniform(-hi - 60, hi + 5, 400_000),
                        [0.0, 1.0, -1.0, hi, -hi, np.inf, -np.inf, np.nan]]).astype(F)
    out = np.empty_like(x)
    sc, ex, lg = kmath.make(numba.njit, F)

    @numba.njit
    def run(x, o):
        for i in range(x.size):
            o[i] = ex(x[i])
    run(x, out)
    with np.errstate(over="ignore", invalid="ignore"):
        ref = np.exp(x.astype(np.float64))
    normal = (ref >= float(info.tiny)) & (ref <= float(info.max))
    rel = np.abs(out[normal] - ref[normal]) / ref[normal]
    assert rel.max() < (5e-16 if F is np.float64 else 2e-7), rel.max()
    assert np.all(np.isinf(out[ref > float(info.max)]))
    assert np.all(out[ref < 0.45 * float(info.smallest_subnormal)] == 0)
    assert np.isnan(out[-1]) and out[-2] == 0 and np.isinf(out[-3])
