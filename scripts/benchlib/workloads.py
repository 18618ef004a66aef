"""Workloads W and P of the CPU benchmark (defined, with their flop count and the reference
machine, in ``docs/benchmark.md``).

- W: 2-D Rastrigin (``landscapes.rastrigin(dim=2)``, one instance, no rotation), Adam (lr 0.05,
  β 0.9/0.999, ε 1e-8, bias-corrected), Gaussian gradient noise σ = 0.5, starts uniform in the
  domain [−5.12, 5.12]²; N = 10⁶ trajectories of 100 steps by default.
- P: 20-D ``gaussian_peaks(dim=20, peaks=21)`` (instance 0 of seed 0, rotated), Nesterov
  (lr 0.01, μ 0.9), σ = 0.1; N = 2·10⁴ by default.
"""
from __future__ import annotations

import numpy as np

from swarm import landscapes
from swarm.kernels import ids


WORKLOAD = "rastrigin-2d adam σ=0.5"
ADAM = dict(lr=0.05, b1=0.9, b2=0.999, eps=1e-8)
SIGMA = 0.5
PEAKS_WORKLOAD = "gaussian-peaks-20d nesterov σ=0.1"
PEAKS = dict(dim=20, peaks=21)
NESTEROV = dict(lr=0.01, momentum=0.9)
PEAKS_SIGMA = 0.1


def instance(seed: int = 0):
    """The benchmark's landscape instance: the one swarm.run(..., instances=1, seed) uses."""
    return landscapes.rastrigin(dim=2).instance(seed, 0)


def shift(inst) -> np.ndarray:
    """s of an unrotated shifted instance: f(x) = h(x − s)."""
    if inst.params[ids.LP_ROTATED] != 0:
        raise ValueError("the NumPy reference handles unrotated instances only")
    s = inst.family.layout.shift
    return inst.params[s:s + inst.dim].copy()


def peaks_instance(seed: int = 0):
    """The second workload's instance: the one swarm.run(..., instances=1, seed) uses."""
    return landscapes.gaussian_peaks(**PEAKS).instance(seed, 0)
