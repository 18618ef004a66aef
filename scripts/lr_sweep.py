"""Learning-rate sweep: P(global) against lr for the six optimizers, with the full report.

Every optimizer runs a grid of learning rates (one launch per optimizer: a grid never
recompiles) from the same starts with the same noise; momentum and Nesterov sweep the
effective step ``lr/(1−μ)`` so that their curves sit on the same axis as SGD's. The report
(``swarm.report``) draws P(global) against lr per optimizer, with intervals, plus the usual
tables, paired tests, basin maps and trajectories.

    python scripts/lr_sweep.py [--landscape gaussian_peaks] [--instances 10] [--starts 2000]
                               [--steps 1000] [--noise 0.5] [--lrs 1e-3,1e-2]
                               [--out docs/studies/lr_sweep]
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import swarm
from swarm import landscapes, optimizers

GRIDS = {  # lr grids per landscape: the effective step for momentum and Nesterov
    "gaussian_peaks": np.geomspace(1e-3, 0.3, 8),
    "rastrigin": np.geomspace(1e-4, 4e-3, 8),
}
MU = 0.9


def arms(lrs):
    lrs = [float(x) for x in lrs]
    matched = [x * (1 - MU) for x in lrs]
    return [optimizers.sgd(lr=lrs), optimizers.momentum(lr=matched, momentum=MU),
            optimizers.nesterov(lr=matched, momentum=MU), optimizers.adagrad(lr=lrs),
            optimizers.rmsprop(lr=lrs), optimizers.adam(lr=lrs)]


def family(name):
    return {"gaussian_peaks": lambda: landscapes.gaussian_peaks(dim=2, peaks=21),
            "rastrigin": lambda: landscapes.rastrigin(dim=2)}[name]()


def run(landscape="gaussian_peaks", instances=10, starts=2000, steps=1000, noise=0.5, seed=0,
        lrs=None):
    """The sweep's Result (arms: optimizer × lr; momentum/Nesterov at lr·(1−μ))."""
    lrs = GRIDS[landscape] if lrs is None else lrs
    t0 = time.perf_counter()
    res = swarm.run(family(landscape), arms(lrs), instances=instances, starts=starts,
                    steps=steps, noise=noise, seed=seed)
    res.provenance["wall_s"] = time.perf_counter() - t0
    return res


def best_lr(result):
    """Per optimizer: the arm with the highest P(global) (lr as run, and as lr/(1−μ))."""
    best = {}
    for r in result.table():
        eff = r["lr"] / (1 - r["momentum"]) if "momentum" in r else r["lr"]
        if r["label"] not in best or r["p_global"] > best[r["label"]]["p_global"]:
            best[r["label"]] = {**r, "lr_eff": eff}
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--landscape", default="gaussian_peaks", choices=sorted(GRIDS))
    ap.add_argument("--instances", type=int, default=10)
    ap.add_argument("--starts", type=int, default=2000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--noise", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lrs", default=None, metavar="LR,LR,...",
                    help="learning rates (SGD's; momentum/Nesterov at lr·(1−μ)), default the "
                         "landscape's log-spaced grid")
    ap.add_argument("--out", default="docs/studies/lr_sweep")
    args = ap.parse_args(argv)
    lrs = None if args.lrs is None else [float(x) for x in args.lrs.split(",")]
    res = run(args.landscape, args.instances, args.starts, args.steps, args.noise, args.seed,
              lrs)
    from swarm import extras, report
    res.save(args.out)
    extras.prepare(res, args.out)          # the extra runs behind the 2-D figures
    report.write(res, args.out)
    print(res.summary())
    print("\nbest effective lr per optimizer:")
    for label, r in best_lr(res).items():
        print(f"  {label:<10} lr/(1−μ) = {r['lr_eff']:.4g}: P(global) = {r['p_global']:.4f} "
              f"[{r['p_global_low']:.4f}, {r['p_global_high']:.4f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
