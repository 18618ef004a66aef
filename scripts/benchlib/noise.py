"""The cost of the heavy-tailed noise models on workload W (:func:`run_noise`): W as it is
(Gaussian noise σ = 0.5, today's inline path) against W with Student-t (ν = 3) and α-stable
(α = 1.5) noise of the same σ, in the same run, alternating, the best kernel rate of
``repeats`` each. Everything else (landscape, Adam, starts, lr) is W's, so the ratios are what
the samplers cost (issue 23: each within 2× of Gaussian's throughput)."""
from __future__ import annotations

from swarm import landscapes, noise, optimizers

from .measure import time_swarm
from .workloads import ADAM, SIGMA

MODELS = {"gaussian": SIGMA, "student_t": noise.student_t(SIGMA, 3.0),
          "alpha_stable": noise.alpha_stable(SIGMA, 1.5)}


def run_noise(n=1_000_000, steps=100, dtypes=("float64", "float32"), repeats=3, *, seed=0,
              threads=None, log=None) -> list[dict]:
    """One row per dtype: ``<model>_mtsps`` (million trajectory-steps/s of kernel time, best
    of ``repeats`` alternating runs) for each of :data:`MODELS`, and ``<model>_ratio``
    against Gaussian."""
    log = log or (lambda msg: None)
    fam = landscapes.rastrigin(dim=2)
    opt = optimizers.adam(**ADAM)
    rows = []
    for dtype in dtypes:
        log(f"[{dtype}] W under {', '.join(MODELS)} noise: N={n:,}, {steps} steps, "
            f"{repeats} repeats each")
        best = {k: 0.0 for k in MODELS}
        for _ in range(repeats):
            for k, model in MODELS.items():
                study = dict(instances=1, starts=n, steps=steps, noise=model, seed=seed,
                             dtype=dtype, threads=threads)
                t = time_swarm(fam, opt, study, 1, warm_starts=1000, warm_steps=10)
                best[k] = max(best[k], n * steps / t["swarm_kernel_s"] / 1e6)
        row = {"dtype": dtype, "n": n, "steps": steps, "repeats": repeats}
        for k in MODELS:
            row[f"{k}_mtsps"] = best[k]
            row[f"{k}_ratio"] = best[k] / best["gaussian"]
        rows.append(row)
    return rows


def report_noise(rows) -> list[str]:
    out = ["", f"Noise models on W (Adam, σ = {SIGMA}; Student-t ν = 3, α-stable α = 1.5; same "
           f"run, alternating, best kernel rate of {rows[0]['repeats']}):",
           "| dtype | N | Gaussian M traj-steps/s | Student-t | α-stable | t / Gaussian | "
           "stable / Gaussian |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['dtype']} | {r['n']:,} | {r['gaussian_mtsps']:.1f} | "
                   f"{r['student_t_mtsps']:.1f} | {r['alpha_stable_mtsps']:.1f} | "
                   f"{r['student_t_ratio']:.3f} | {r['alpha_stable_ratio']:.3f} |")
    return out
