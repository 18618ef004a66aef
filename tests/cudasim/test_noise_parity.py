"""Every noise model (swarm.noise): the CPU kernel and the CUDA kernel in Numba's CUDA simulator
agree bit for bit in float64 (run by tests/test_cuda.py with NUMBA_ENABLE_CUDASIM=1). Tiny
sizes: the simulator runs Python per thread."""
import os

import numpy as np
import pytest

import swarm
from swarm import landscapes as L
from swarm import noise as N
from swarm import optimizers as O

assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"

MODELS = [N.student_t(0.4, 2.5), N.alpha_stable(0.3, 1.3), N.gaussian([0.2, 0.5, 0.1]),
          N.curvature(0.05)]


@pytest.mark.parametrize("fam", [L.rastrigin(dim=3, rotate=True),
                                 L.gaussian_peaks(dim=3, peaks=4)], ids=lambda f: f.name)
def test_float64_bit_identical_for_every_noise_model(fam):
    kw = dict(instances=1, starts=3, steps=5, noise=MODELS, seed=9, dtype="float64")
    cpu = swarm.run(fam, [O.adam(lr=0.05)], backend="cpu", **kw)
    sim = swarm.run(fam, [O.adam(lr=0.05)], backend="cuda", **kw)
    assert sim.provenance["backend"] == "cuda"
    for k in cpu.outcomes:
        np.testing.assert_array_equal(cpu.outcomes[k], sim.outcomes[k], err_msg=k)
    assert cpu.hash == sim.hash
    assert not cpu.outcomes["diverged"].all()
