"""Dimension scaling: swarm on Rastrigin + Adam + σ = 0.5 at dims 2, 8, 32, 128 (M traj-steps/s
and M coordinate-steps/s, the same number of coordinates per step at every dim)."""
from __future__ import annotations

import statistics

import swarm
from swarm import landscapes, optimizers

from .workloads import ADAM, SIGMA


SCALE_DIMS = (2, 8, 32, 128)


def run_scaling(n2=262_144, steps=100, dims=SCALE_DIMS, dtypes=("float64", "float32"),
                repeats=3, *, seed=0, threads=None, log=None) -> list[dict]:
    """swarm on Rastrigin + Adam + σ = 0.5 at several dimensions; N = n2·2/dim trajectories
    (the same number of coordinates per step at every dim). M trajectory-steps/s and M
    coordinate-steps/s from the engine's kernel timing, median of ``repeats``."""
    log = log or (lambda msg: None)
    out = []
    opt = optimizers.adam(**ADAM)
    for dtype in dtypes:
        for d in dims:
            n = max(64, n2 * 2 // d)
            fam = landscapes.rastrigin(dim=d)
            study = dict(instances=1, starts=n, steps=steps, noise=SIGMA, seed=seed, dtype=dtype,
                         threads=threads)
            log(f"[scaling {dtype}] dim {d}: N={n:,}, {steps} steps")
            swarm.run(fam, opt, **{**study, "starts": min(n, 256), "steps": min(steps, 5)})
            ks = []
            for _ in range(repeats):
                ks.append(swarm.run(fam, opt, **study).provenance["timings"]["kernel_s"])
            k = statistics.median(ks)
            out.append({"dtype": dtype, "dim": d, "n": n, "steps": steps, "kernel_s": k,
                        "mtsps": n * steps / 1e6 / k, "mcsps": n * steps * d / 1e6 / k})
    return out
