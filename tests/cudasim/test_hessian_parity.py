"""The diagonal Hessians (``kernels/hessians.py``) in Numba's CUDA simulator against the CPU
build, bit for bit in float64: every family, rotated where it can be. Run by tests/test_cuda.py
in a subprocess with NUMBA_ENABLE_CUDASIM=1 (the kernels are built as in tests/test_hessians.py:
L = 1, the family id and dim constants)."""
import os
import sys

import numpy as np
import pytest

from swarm import landscapes

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from test_hessians import _cuda_kernel, _instance_and_points, hess  # noqa: E402

assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"

CASES = [("rastrigin", {"dim": 3, "rotate": True}), ("ackley", {"dim": 3, "rotate": True}),
         ("ackley", {"dim": 2, "rotate": False}), ("griewank", {"dim": 3, "rotate": True}),
         ("griewank", {"dim": 3, "rotate": False}), ("levy", {"dim": 3, "rotate": True}),
         ("styblinski_tang", {"dim": 2, "rotate": False}), ("himmelblau", {"rotate": True}),
         ("double_well", {"dim": 2, "tilt": 0.1}), ("gaussian_peaks", {"dim": 3, "peaks": 6})]


@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_float64_bit_identical(name, kw):
    inst, X = _instance_and_points(name, kw)
    X = X[:12]
    cpu = hess()(inst.fid, inst.params, X)[0]
    run = _cuda_kernel(np.float64, inst.fid, inst.dim)
    sim = np.empty_like(X)
    run[1, len(X)](inst.params, np.ascontiguousarray(X), sim)
    np.testing.assert_array_equal(sim, cpu)
    assert landscapes.REGISTRY[name].fid == inst.fid
