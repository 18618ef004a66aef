"""COCO's BBOB functions: the CPU kernel and the CUDA kernel in Numba's CUDA simulator give
bit-identical float64 outcomes (run by tests/test_cuda.py in a subprocess with
NUMBA_ENABLE_CUDASIM=1). Tiny studies (the simulator runs every thread in Python): 2-D and 3-D,
one instance, two starts, a few noisy steps, and a short polish (the registry rows' 200
steps, cut to 6 here: the same code, fewer repetitions)."""
import dataclasses
import importlib.util
import os

import numpy as np
import pytest

import swarm
from swarm import landscapes as L
from swarm import optimizers as O
from swarm.kernels import ids

assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"

WRITTEN = list(range(1, 13)) + (list(range(13, 25)) if importlib.util.find_spec(
    "swarm.kernels.bbob_multi") is not None else [])


@pytest.mark.parametrize("function", WRITTEN)
def test_bbob_float64_bit_identical(function, monkeypatch):
    name = f"bbob_f{function}"
    monkeypatch.setitem(L.REGISTRY, name, dataclasses.replace(L.REGISTRY[name], polish=(6, 0.01)))
    fam = L.bbob(function, 2 + function % 2, allow_uninformative_gradient=True)
    kw = dict(instances=1, starts=2, steps=4, noise=0.3, seed=3, dtype="float64")
    cpu = swarm.run(fam, [O.adam(lr=0.05)], backend="cpu", **kw)
    sim = swarm.run(fam, [O.adam(lr=0.05)], backend="cuda", **kw)
    assert sim.provenance["backend"] == "cuda"
    for k in cpu.outcomes:
        np.testing.assert_array_equal(cpu.outcomes[k], sim.outcomes[k], err_msg=k)
    assert cpu.hash == sim.hash
    assert np.all(np.isfinite(cpu.outcomes["final_f"])), "a NaN function proves nothing"
    assert fam.fid in ids.BBOB_FAMILIES


@pytest.mark.parametrize("function,dim", [(21, 5), (22, 4)])
def test_gallagher_skipped_scans_float64_bit_identical(function, dim, monkeypatch):
    """f21/f22's label polish skips most scans of all peaks (kernels/bbob_multi.py's
    ``gallagher``): on the CPU by packing the lanes that scan, on the GPU (one lane) by a
    branch; the same labels and outcomes. A polish long enough for skips (40 steps of 0.08,
    most of them skipped in 5-D: tests/test_bbob_multi.py), four starts."""
    name = f"bbob_f{function}"
    monkeypatch.setitem(L.REGISTRY, name, dataclasses.replace(L.REGISTRY[name], polish=(40, 0.08)))
    fam = L.bbob(function, dim)
    kw = dict(instances=1, starts=4, steps=5, noise=0.1, seed=4, dtype="float64")
    cpu = swarm.run(fam, [O.nesterov(lr=0.01, momentum=0.9)], backend="cpu", **kw)
    sim = swarm.run(fam, [O.nesterov(lr=0.01, momentum=0.9)], backend="cuda", **kw)
    for k in cpu.outcomes:
        np.testing.assert_array_equal(cpu.outcomes[k], sim.outcomes[k], err_msg=k)
    assert cpu.hash == sim.hash
    assert len(set(cpu.outcomes["start_basin"].ravel().tolist())) >= 2   # several peaks
