"""Noise-temperature sweep on the tilted double well, against the exact first-passage time.

Noisy SGD with step lr and gradient noise σ runs at temperature T = lr·σ²/2. Starting in the
local well of ``double_well(dim=1, tilt)`` (tilt < 0: the global well is on the right), the
mean time to reach the global well (within ``tol`` of its minimum) is given exactly by the
first-passage integral (``swarm.theory``). For each barrier-to-temperature ratio ΔU/T this
runs ``walkers`` trajectories for ≈ 10 mean times and compares the censored maximum-likelihood
estimate with the exact value (and with Kramers' formula, which is not accurate at these
barriers). Writes a Markdown table and a figure.

    python scripts/temperature.py [--walkers 4000] [--ratios 2,3,4,5] [--out docs/studies]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import swarm
from swarm import landscapes, optimizers, starts, theory

TILT = -0.1
LR = 0.02
TOL = 0.25
RATIOS = (2.0, 3.0, 4.0, 5.0)


def run(walkers=4000, ratios=RATIOS, lr=LR, tilt=TILT, seed=0, span=10.0):
    """One row per ΔU/T: T, σ, exact τ, simulated τ with its standard error, Kramers' τ."""
    fam = landscapes.double_well(dim=1, tilt=tilt)
    left, saddle, right = fam.roots
    dU = fam.potential(saddle) - fam.potential(left)
    u2_min, u2_saddle = 3 * left ** 2 - 1, 3 * saddle ** 2 - 1
    rows = []
    for ratio in ratios:
        T = dU / ratio
        sigma = theory.sigma_for(lr, T)
        exact = theory.mean_first_passage_time(fam.potential, left, right - TOL, T)
        steps = int(span * exact / lr) + 1
        t0 = time.perf_counter()
        res = swarm.run(fam, [optimizers.sgd(lr=lr)], instances=1, starts=walkers, steps=steps,
                        noise=sigma, seed=seed, start=starts.at_minimum(1), tol_x=TOL,
                        tol_f=None)
        res.provenance["wall_s"] = time.perf_counter() - t0
        tau, rel_se = theory.rate_estimate(res.arm(0)["hit_step"].ravel(), steps, lr)
        rows.append({"dU_over_T": ratio, "T": T, "sigma": sigma, "exact": exact,
                     "simulated": tau, "se": tau * rel_se, "ratio": tau / exact,
                     "kramers": theory.kramers_time(u2_min, u2_saddle, dU, T),
                     "steps": steps, "walkers": walkers,
                     "arrived": float((res.arm(0)["hit_step"] >= 0).mean()),
                     "wall_s": res.provenance["wall_s"]})
    return rows


def markdown(rows):
    lines = ["| ΔU/T | T | σ | exact τ | simulated τ | sim/exact | Kramers τ | arrived |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['dU_over_T']:g} | {r['T']:.5f} | {r['sigma']:.3f} | "
                     f"{r['exact']:.2f} | {r['simulated']:.2f} ± {r['se']:.2f} | "
                     f"{r['ratio']:.3f} | {r['kramers']:.2f} | {r['arrived']:.4f} |")
    return "\n".join(lines)


def figure(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    x = np.array([r["dU_over_T"] for r in rows])
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    ax.semilogy(x, [r["exact"] for r in rows], "-", color="black", label="exact integral")
    ax.semilogy(x, [r["kramers"] for r in rows], "--", color="grey", label="Kramers")
    ax.errorbar(x, [r["simulated"] for r in rows], yerr=[2 * r["se"] for r in rows], fmt="o",
                color="tab:blue", label="swarm, noisy SGD (±2 s.e.)")
    ax.set_xlabel("barrier / temperature  ΔU/T")
    ax.set_ylabel("mean first-passage time (lr × steps)")
    ax.set_title(f"Tilted double well (c = {TILT}), lr = {LR}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--walkers", type=int, default=4000)
    ap.add_argument("--ratios", default=",".join(f"{r:g}" for r in RATIOS), metavar="R,R,...",
                    help="barrier-to-temperature ratios ΔU/T")
    ap.add_argument("--out", default="docs/studies")
    args = ap.parse_args(argv)
    ratios = tuple(float(x) for x in args.ratios.split(","))
    rows = run(args.walkers, ratios)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    figure(rows, out / "temperature.png")
    table = markdown(rows)
    extra = "" if ratios == RATIOS else f" --ratios {args.ratios}"
    (out / "temperature.md").write_text(
        "# Noise temperature vs the exact first-passage time\n\n"
        f"`python scripts/temperature.py --walkers {args.walkers}{extra} --out {args.out}`\n\n"
        + table + "\n\n![temperature](temperature.png)\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
