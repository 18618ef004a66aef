"""The cost of the optimizer features on workload W (:func:`run_features`): W as it is (Adam,
constant lr) and W with AdamW, a cosine schedule over the run and gradient clipping by norm, in
the same run, alternating, the best kernel rate of ``repeats`` each. Everything else (landscape,
noise, starts, lr) is W's, so the ratio is what decoupled weight decay, a per-step schedule and
a per-trajectory clip cost."""
from __future__ import annotations

from swarm import landscapes, optimizers, schedules

from .measure import time_swarm
from .workloads import ADAM, SIGMA

FEATURES = "adamw + cosine(T_max=steps) + clip_norm=1"


def feature_optimizer(steps):
    return optimizers.adamw(**ADAM, schedule=schedules.cosine(T_max=steps), clip_norm=1.0)


def run_features(n=1_000_000, steps=100, dtypes=("float64", "float32"), repeats=3, *, seed=0,
                 threads=None, log=None) -> list[dict]:
    """One row per dtype: ``w_mtsps`` (Adam) and ``features_mtsps`` (:data:`FEATURES`), million
    trajectory-steps/s of kernel time, the best of ``repeats`` alternating runs of each."""
    log = log or (lambda msg: None)
    fam = landscapes.rastrigin(dim=2)
    arms = {"w": optimizers.adam(**ADAM), "features": feature_optimizer(steps)}
    rows = []
    for dtype in dtypes:
        study = dict(instances=1, starts=n, steps=steps, noise=SIGMA, seed=seed, dtype=dtype,
                     threads=threads)
        log(f"[{dtype}] W against {FEATURES}: N={n:,}, {steps} steps, {repeats} repeats each")
        best = {k: 0.0 for k in arms}
        for _ in range(repeats):
            for k, opt in arms.items():
                t = time_swarm(fam, opt, study, 1, warm_starts=1000, warm_steps=10)
                best[k] = max(best[k], n * steps / t["swarm_kernel_s"] / 1e6)
        rows.append({"dtype": dtype, "n": n, "steps": steps, "repeats": repeats,
                     "w_mtsps": best["w"], "features_mtsps": best["features"],
                     "features_ratio": best["features"] / best["w"]})
    return rows


def report_features(rows) -> list[str]:
    out = ["", f"Optimizer features on W ({FEATURES} against Adam, constant lr; same run, "
           f"alternating, best kernel rate of {rows[0]['repeats']}):",
           "| dtype | N | W Adam M traj-steps/s | features M traj-steps/s | features / W |",
           "|---|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['dtype']} | {r['n']:,} | {r['w_mtsps']:.1f} | "
                   f"{r['features_mtsps']:.1f} | {r['features_ratio']:.3f} |")
    return out
