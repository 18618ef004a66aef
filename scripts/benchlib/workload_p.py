"""Workload P: 20-D ``gaussian_peaks(dim=20, peaks=21)`` (instance 0 of seed 0, rotated),
Nesterov (lr 0.01, μ 0.9), σ = 0.1, swarm against the NumPy references of the same maths, timed
the same three ways as W (blocks of ``P_BLOCK`` rows): the trajectories alone
(:func:`.references.numpy_nesterov_peaks`) and the same per-trajectory outcomes as swarm's study
(:func:`.references.numpy_peaks_study`: start and end basins by the kernels' polish, best f,
global hits, divergence); noiseless checks against ``swarm.path`` (positions) and swarm's
labeller (basins), and both studies' P(global), P(escape) and mean best f (:func:`run_peaks`).
"""
from __future__ import annotations

import math

import numpy as np

import swarm
from swarm import landscapes, optimizers

from .measure import _ratios, _study_rates, time_numpy, time_swarm
from .references import P_BLOCK, numpy_nesterov_peaks, numpy_peaks_study
from .workloads import NESTEROV, PEAKS, PEAKS_SIGMA, PEAKS_WORKLOAD, peaks_instance


def peaks_correctness(dtype="float64", steps=100, n_starts=4, seed=0):
    """Noiseless check of both NumPy references against swarm on workload P, from
    ``n_starts`` fixed start points: (max |x_swarm − x_numpy| after ``steps`` steps, the
    fraction of start and end basins on which :func:`numpy_peaks_study` agrees with swarm's
    labeller at swarm's own start and end points)."""
    inst = peaks_instance(seed)
    opt = optimizers.nesterov(**NESTEROV)
    x0 = np.random.default_rng(12345).uniform(inst.domain[0], inst.domain[1],
                                              (n_starts, inst.dim))
    ours = np.stack([swarm.path(inst, opt, x, steps, dtype=dtype)[-1] for x in x0])
    ref = numpy_nesterov_peaks(x0.astype(dtype), inst, steps, 0.0, dtype)
    dev = np.abs(ours - ref.astype(np.float64))
    study = numpy_peaks_study(x0.astype(dtype), inst, steps, 0.0, dtype)
    agree = np.concatenate([study["start_basin"] == inst.basin(x0),
                            study["end_basin"] == inst.basin(ours)])
    return (float(np.max(dev)) if np.all(np.isfinite(dev)) else float("inf"),
            float(np.mean(agree)))


def run_peaks(n=20_000, steps=100, dtypes=("float64", "float32"), repeats=3, *, seed=0,
              threads=None, check_steps=100, check_starts=4, log=None) -> list[dict]:
    """Workload P (20-D Gaussian peaks, 21 peaks, Nesterov lr 0.01 μ 0.9, σ = 0.1): swarm
    (kernel timing) against the NumPy references, one row per dtype, as :func:`run`.

    NumPy three ways (:func:`time_numpy`): the trajectories only (:func:`numpy_nesterov_peaks`,
    whole arrays, ``ratio``; swarm does more work than this peer), the same in blocks of
    ``P_BLOCK`` rows (``ratio_blocked``), and the same outcomes as swarm's study in blocks
    (:func:`numpy_peaks_study`, ``ratio_study``: start and end basins, best f, hits,
    divergence). The row also holds both studies' P(global), P(escape) and mean best f (with
    standard errors; different random streams, so they agree statistically)."""
    log = log or (lambda msg: None)
    fam, opt = landscapes.gaussian_peaks(**PEAKS), optimizers.nesterov(**NESTEROV)
    inst = peaks_instance(seed)
    rows = []
    for dtype in dtypes:
        row = {"workload": PEAKS_WORKLOAD, "dtype": dtype, "n": n, "steps": steps,
               "repeats": repeats, "check_steps": check_steps, "check_starts": check_starts}
        log(f"[peaks {dtype}] correctness check ({check_starts} starts, {check_steps} steps)")
        row["check_max_dev"], row["check_label_agree"] = peaks_correctness(
            dtype, check_steps, check_starts, seed)
        study = dict(instances=1, starts=n, steps=steps, noise=PEAKS_SIGMA, seed=seed,
                     dtype=dtype, threads=threads)
        log(f"[peaks {dtype}] swarm: N={n:,}, {steps} steps, {repeats} repeats")
        row.update(time_swarm(fam, opt, study, repeats, warm_starts=256, warm_steps=5))
        x0 = np.random.default_rng(seed).uniform(inst.domain[0], inst.domain[1],
                                                 (n, inst.dim)).astype(dtype)
        t = time_numpy(x0, numpy_nesterov_peaks, numpy_peaks_study, inst, P_BLOCK, steps,
                       PEAKS_SIGMA, dtype, repeats, seed, log)
        f = inst.f(t.pop("x").astype(np.float64))
        rates = _study_rates(t.pop("outcomes"), "numpy")
        row.update(t, numpy_mean_final_f=float(np.mean(f)),
                   numpy_sem_final_f=float(np.std(f) / math.sqrt(f.size)), **rates)
        _ratios(row)
        rows.append(row)
    return rows
