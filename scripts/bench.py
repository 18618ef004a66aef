"""Benchmark: swarm's CPU engine against a NumPy vectorised reference on the standard workload.

Workload W (defined in ``docs/benchmark.md``): 2-D Rastrigin (``landscapes.rastrigin(dim=2)``,
one instance, no rotation), Adam (lr 0.05, β 0.9/0.999, ε 1e-8, bias-corrected), Gaussian
gradient noise σ = 0.5, starts uniform in the domain [−5.12, 5.12]², N = 10⁶ trajectories.
For each dtype, in the same run: swarm's kernel and wall rates, the NumPy references timed
three ways (whole arrays, in blocks, the same outcomes as swarm's study), a noiseless
correctness check against ``swarm.path`` and, optionally, the compile and warm-start times of
fresh processes (:mod:`benchlib.workload_w`).

Usage::

    python scripts/bench.py [--n 1000000] [--steps 100] [--repeats 3] [--no-compile-check]
                            [--peaks-n 20000] [--scale-n 262144] [--peer-n N] [--only-w]

Beyond W (skippable with ``--no-features`` / ``--no-noise`` / ``--no-peaks`` / ``--no-bbob`` /
``--no-scaling`` / ``--no-peers`` / ``--no-peak``): W with AdamW, a cosine schedule and gradient
clipping, the optimizer features' cost (:mod:`benchlib.features`); W under Student-t and
α-stable noise, the samplers' cost (:mod:`benchlib.noise`); workload P, 20-D Gaussian peaks +
Nesterov (:mod:`benchlib.workload_p`); BBOB's Gallagher f21/f22 in 20-D against P
(:mod:`benchlib.bbob_speed`); dimension scaling
(:mod:`benchlib.scaling`); JAX and PyTorch peers on W, when installed (:mod:`benchlib.peers`);
the machine's floating-point peak and swarm's fraction of it (:mod:`benchlib.peak`).

This file is the command line; the pieces live in ``scripts/benchlib/`` (the NumPy references
in :mod:`benchlib.references`, the printed tables in :mod:`benchlib.report`) and are
re-exported here, so ``from scripts import bench`` gives them all.
"""
from __future__ import annotations

import argparse
import json

if __package__:                     # from scripts import bench
    from . import benchlib as lib
    from .benchlib import *         # noqa: F403 - the pieces, re-exported (benchlib.__all__)
else:                               # python scripts/bench.py: scripts/ is on the path
    import benchlib as lib
    from benchlib import *          # noqa: F403

__all__ = [*lib.__all__, "main"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1_000_000, help="trajectories (default 10^6)")
    p.add_argument("--steps", type=int, default=100, help="steps per trajectory (default 100)")
    p.add_argument("--repeats", type=int, default=3, help="timed repeats, median (default 3)")
    p.add_argument("--dtypes", default="float64,float32", help="comma-separated dtypes")
    p.add_argument("--threads", type=int, default=None, help="swarm threads (default: all)")
    p.add_argument("--no-compile-check", action="store_true",
                   help="skip the fresh-process compile / warm-start timing")
    p.add_argument("--json", metavar="FILE", help="also write the rows and machine as JSON")
    p.add_argument("--peaks-n", type=int, default=20_000,
                   help="trajectories for workload P, 20-D Gaussian peaks (default 20000)")
    p.add_argument("--scale-n", type=int, default=262_144,
                   help="trajectories at dim 2 for the dimension scaling (N·dim/2 kept)")
    p.add_argument("--peer-n", type=int, default=None,
                   help="trajectories for the JAX/PyTorch peers (default: --n)")
    p.add_argument("--peers", default=",".join(lib.PEERS),
                   help=f"comma-separated peers among {','.join(lib.PEERS)} (run when installed)")
    p.add_argument("--only-w", action="store_true",
                   help="only workload W against NumPy (skip P, scaling, peers, peak)")
    for part in ("features", "noise", "peaks", "bbob", "scaling", "peers", "peak"):
        p.add_argument(f"--no-{part}", action="store_true", help=f"skip the {part} part")
    p.add_argument("--peer-worker", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.peer_worker:
        return lib.peers._peer_worker(a.peer_worker)
    log = lib.measure._log
    info = lib.machine()
    dtypes = tuple(a.dtypes.split(","))
    rows = lib.run(a.n, a.steps, dtypes, a.repeats,
                   compile_check=not a.no_compile_check, threads=a.threads, log=log)
    extra = {}
    if not (a.only_w or a.no_features):
        extra["features"] = lib.run_features(a.n, a.steps, dtypes, a.repeats,
                                             threads=a.threads, log=log)
    if not (a.only_w or a.no_noise):
        extra["noise"] = lib.run_noise(a.n, a.steps, dtypes, a.repeats, threads=a.threads,
                                       log=log)
    if not (a.only_w or a.no_peaks):
        extra["peaks"] = lib.run_peaks(a.peaks_n, a.steps, dtypes, a.repeats,
                                       threads=a.threads, log=log)
    if not (a.only_w or a.no_bbob):
        extra["bbob"] = lib.run_bbob(a.peaks_n, a.steps, dtypes, a.repeats,
                                     threads=a.threads, log=log)
    if not (a.only_w or a.no_scaling):
        extra["scaling"] = lib.run_scaling(a.scale_n, a.steps, lib.SCALE_DIMS, dtypes,
                                           a.repeats, threads=a.threads, log=log)
    if not (a.only_w or a.no_peers):
        extra["peers"] = lib.run_peers(a.peer_n or a.n, a.steps, dtypes, a.repeats,
                                       peers=tuple(x for x in a.peers.split(",") if x),
                                       swarm_rows=rows, threads=a.threads, log=log)
    if not (a.only_w or a.no_peak):
        log("FMA peak")
        extra["peak"] = lib.run_peak(dtypes, rows)
    print(lib.report(rows, info))
    print(lib.report_extras(extra))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"machine": info, "rows": rows, **extra}, fh, indent=2)
    return rows


if __name__ == "__main__":
    main()
