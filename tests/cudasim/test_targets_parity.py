"""Precision targets on the CUDA kernel in Numba's CUDA simulator: float64 first-hit steps of
every target bit-identical to the CPU kernel's, and the same aggregate whether the outcomes
are kept or only aggregated (a study with targets is aggregated on the host: the device
aggregation has no target tallies). Run by tests/test_cuda.py with NUMBA_ENABLE_CUDASIM=1."""
import os

import numpy as np
import pytest

import swarm
from swarm import landscapes as L
from swarm import optimizers as O

assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"

OPTS = [O.sgd(lr=0.05), O.adam(lr=0.05)]


@pytest.mark.parametrize("fam,targets", [(L.gaussian_peaks(dim=2, peaks=4), "coco"),
                                         (L.rastrigin(dim=2), [10.0, 1.0, 0.1, 1e-3])],
                         ids=["peaks-coco", "rastrigin-custom"])
def test_float64_target_hits_bit_identical(fam, targets):
    kw = dict(instances=2, starts=3, steps=25, noise=0.3, seed=4, targets=targets)
    cpu = swarm.run(fam, OPTS, backend="cpu", **kw)
    sim = swarm.run(fam, OPTS, backend="cuda", **kw)
    assert sim.provenance["backend"] == "cuda" and set(cpu.outcomes) == set(sim.outcomes)
    for k in cpu.outcomes:
        np.testing.assert_array_equal(cpu.outcomes[k], sim.outcomes[k], err_msg=k)
    assert cpu.hash == sim.hash and cpu.aggregate == sim.aggregate
    assert (cpu.outcomes["target_hit"] >= 0).any()
    agg = swarm.run(fam, OPTS, backend="cuda", keep_outcomes=False, chunk_size=4, **kw)
    assert agg.outcomes is None and agg.aggregate == cpu.aggregate
