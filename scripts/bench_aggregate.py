"""The host's share of a chunk: how long swarm takes to aggregate one chunk of outcomes, part
by part, at several thread counts.

On a GPU the engine's wall time for short studies is this aggregation (docs/performance.md:
about 70 ms per chunk of 2²² trajectories on an H200 machine's 16-core host, while its kernels
take 8 ms). This script needs no GPU and compiles no trajectory kernel: it builds the outcomes
of a 2-D Rastrigin chunk (121 start and end basins, 1 % hits, as the standard workload gives)
or, with ``--distinct``, one where nearly every trajectory has its own basins (the 20-D case),
and times each part of ``Aggregate.from_outcomes``, the merge into the study's aggregate, and
``Aggregate.from_device`` (what is left to the host when the GPU aggregates the chunk), best of
``--repeats``. Prints milliseconds per chunk and nanoseconds per trajectory.

    python scripts/bench_aggregate.py [--n 4194304] [--threads 1,2,4,...] [--distinct]
"""
from __future__ import annotations

import argparse
import sys
import time

import numba
import numpy as np

from swarm import aggregate as A

STEPS = 100


def outcomes(n, distinct=False, seed=0):
    """Outcome arrays ``(1, n)`` shaped like one arm's chunk of the standard workload."""
    rng = np.random.default_rng(seed)
    if distinct:
        sb = rng.integers(0, 1 << 40, n)
        eb = rng.integers(0, 1 << 40, n)
    else:
        codes = np.sort(rng.choice(528_905, 121, replace=False))
        sb, eb = codes[rng.integers(0, 121, n)], codes[rng.integers(0, 121, n)]
        eb[rng.random(n) < 0.01] = 0                # the global basin
    hit = np.where(rng.random(n) < 0.01, rng.integers(1, STEPS + 1, n), -1)
    best = rng.random(n).astype(np.float32) * 40
    o = {"start_basin": sb, "end_basin": eb, "hit_step": hit.astype(np.int64),
         "best_f": best, "final_f": best + 1, "diverged": np.zeros(n, np.bool_)}
    return {k: v[None, :] for k, v in o.items()}


def best_ms(f, repeats):
    f()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return min(ts) * 1e3


def parts(o, repeats=5):
    """{part: best milliseconds} for one chunk's aggregation at the current thread count."""
    n = o["end_basin"].shape[1]
    inst = np.zeros(n, np.int64)
    ng = np.ones(1, np.int64)
    e = A.Aggregate.empty(1, 1, STEPS)
    whole = A.Aggregate.from_outcomes(o, inst, ng, 1, STEPS)
    study = A.Aggregate.from_outcomes({k: v[:, : n // 2] for k, v in o.items()}, inst[: n // 2],
                                      ng, 1, STEPS)
    sb, eb = o["start_basin"][0], o["end_basin"][0]
    th = numba.get_num_threads()
    dev = device_parts(o, whole)
    return {
        "instance index": best_ms(lambda: (0 + np.arange(n)) // n, repeats),
        "tally": best_ms(lambda: A._tally(o["end_basin"], o["start_basin"], o["diverged"],
                                          o["hit_step"], inst, 1, e.grid, e.counts.copy(), 0,
                                          True, np.zeros((1, len(A.COUNTS)), np.int64),
                                          np.zeros((1, len(A.MOMENTS), len(A.MOMENTS)),
                                                   np.int64),
                                          e.hits.copy(), e.pairs.copy(), th), repeats),
        "exact sums (2)": best_ms(lambda: (A.exact_sum(o["best_f"][0], o["diverged"][0]),
                                           A.exact_sum(o["final_f"][0], o["diverged"][0])),
                                  repeats),
        "label codes (3)": best_ms(lambda: (A._codes(inst), A._codes(sb), A._codes(eb)),
                                   repeats),
        "basin table": best_ms(lambda: A.basin_rows(0, inst, sb, eb), repeats),
        "from_outcomes": best_ms(lambda: A.Aggregate.from_outcomes(o, inst, ng, 1, STEPS),
                                 repeats),
        "merge": best_ms(lambda: study.merge(whole), repeats),
        "from_device": best_ms(lambda: A.Aggregate.from_device(*dev, 0, 1, STEPS), repeats),
    }


def device_parts(o, agg):
    """What a GPU-aggregated chunk hands the host (kernels/cuda_aggregate.py: counts, hit
    histogram, exponent bins of the two sums, pairs, distinct basin rows in no order), made
    here from the CPU's aggregate ``agg`` of the same outcomes."""
    bins = np.zeros((1, 2, 2046, 2), np.int64)
    for f, k in enumerate(A.SUMS):
        hi, lo = np.zeros(2046, np.int64), np.zeros(2046, np.int64)
        A._exact_bins(o[k][0], o["diverged"][0], hi, lo)
        bins[0, f, :, 0], bins[0, f, :, 1] = hi, lo
    rows = agg.basins[np.random.default_rng(0).permutation(agg.basins.shape[0])]
    return agg.counts, agg.hits, bins, agg.pairs, rows


def run(n=1 << 22, threads=None, distinct=False, repeats=5):
    """Rows ``{"threads": t, part: ms, ...}`` for each thread count."""
    o = outcomes(n, distinct)
    top = numba.config.NUMBA_NUM_THREADS
    threads = threads or sorted({1, 2, 4, 8, 16, top} & set(range(1, top + 1)))
    rows = []
    for t in threads:
        numba.set_num_threads(t)
        rows.append({"threads": t, **parts(o, repeats)})
    numba.set_num_threads(top)
    return rows


def table(rows, n):
    names = [k for k in rows[0] if k != "threads"]
    lines = [f"{'part':<18}" + "".join(f"{str(r['threads']) + ' thr ms':>12}" for r in rows)
             + f"{'ns/traj':>10}"]
    for k in names:
        lines.append(f"{k:<18}" + "".join(f"{r[k]:>12.2f}" for r in rows)
                     + f"{rows[-1][k] * 1e6 / n:>10.2f}")
    lines.append(f"one chunk of {n:,} trajectories, one arm; ns/traj at {rows[-1]['threads']} "
                 f"threads; from_outcomes includes the tally, sums and basin table, not the "
                 f"instance index; from_device: the host's share of a chunk aggregated on a "
                 f"GPU (its parts made here)")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1 << 22, help="trajectories in the chunk")
    ap.add_argument("--threads", default=None, help="comma-separated thread counts")
    ap.add_argument("--distinct", action="store_true",
                    help="nearly every trajectory with its own basins (20-D-like)")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",")] if args.threads else None
    rows = run(args.n, threads, args.distinct, args.repeats)
    print(f"host: {numba.config.NUMBA_NUM_THREADS} Numba threads available")
    print(table(rows, args.n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
