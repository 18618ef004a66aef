"""Philox4x32-10 against the Random123 known-answer vectors; normals and uniforms."""
import numba
import numpy as np
import pytest
from scipy import stats as sps

from swarm.kernels import philox

KAT = [
    ("00000000 00000000 00000000 00000000", "00000000 00000000",
     "6627e8d5 e169c58d bc57ac4c 9b00dbd8"),
    ("ffffffff ffffffff ffffffff ffffffff", "ffffffff ffffffff",
     "408f276d 41c83b0e a20bc7c6 6d5451fd"),
    ("243f6a88 85a308d3 13198a2e 03707344", "a4093822 299f31d0",
     "d16cfe09 94fdcceb 5001e420 24126ea1"),
]
GEN64 = philox.make(numba.njit, np.float64)
GEN32 = philox.make(numba.njit, np.float32)


def words(s):
    return [np.uint64(int(w, 16)) for w in s.split()]


@pytest.mark.parametrize("ctr,key,out", KAT)
@pytest.mark.parametrize("compiled", [True, False])
def test_known_answers(ctr, key, out, compiled):
    fn = GEN64[0] if compiled else GEN64[0].py_func
    assert [int(v) for v in fn(*words(ctr), *words(key))] == [int(w, 16) for w in out.split()]


@numba.njit
def _many(normal2, k0, k1, n):
    out = np.empty(2 * n)
    for i in range(n):
        a, b = normal2(k0, k1, i % 7, i // 7, 3, 1)
        out[2 * i] = a
        out[2 * i + 1] = b
    return out


@pytest.mark.parametrize("gen", [GEN64, GEN32], ids=["float64", "float32"])
def test_normals_are_standard_normal(gen):
    k0, k1 = philox.split_seed(2024)
    z = _many(gen[1], k0, k1, 50_000)
    assert abs(z.mean()) < 4 / np.sqrt(z.size)
    assert abs(z.var() - 1) < 4 * np.sqrt(2 / z.size)
    assert sps.kstest(z, "norm").pvalue > 1e-3
    assert np.corrcoef(z[0::2], z[1::2])[0, 1] < 4 / np.sqrt(z.size / 2)


def test_uniforms_in_open_unit_interval_and_seed_matters():
    k0, k1 = philox.split_seed(5)
    u = np.array([GEN64[2](k0, k1, 0, 0, s, 0) for s in range(5000)])
    assert (u > 0).all() and (u < 1).all()
    assert sps.kstest(u.ravel(), "uniform").pvalue > 1e-3
    j0, j1 = philox.split_seed(5 + 2 ** 32)       # the high key word is used too
    assert GEN64[2](j0, j1, 0, 0, 0, 0) != GEN64[2](k0, k1, 0, 0, 0, 0)


def test_split_seed():
    assert philox.split_seed(0x0123456789ABCDEF) == (np.uint64(0x89ABCDEF),
                                                     np.uint64(0x01234567))
