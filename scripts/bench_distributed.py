"""Benchmark: a study on a local Dask cluster of 1 and 2 worker processes, and the per-task
overhead of running chunks as Dask tasks.

Workload: 2-D Rastrigin (``landscapes.rastrigin(dim=2)``, 8 instances), Adam (lr 0.05),
gradient noise σ = 0.5, float64, ``--trajectories`` (default 8·10⁵) × ``--steps`` (default
1000), chunks of ``--chunk-size`` (default 2¹⁴) trajectories, every task on **one** Numba
thread (``threads=1``) so that the worker count is the only parallelism:

- in-process, 1 thread: ``swarm.run(..., threads=1)`` (no Dask), the reference;
- in-process, all threads: ``swarm.run(...)`` (what one process does on this machine);
- ``LocalCluster(n_workers=N, threads_per_worker=1)`` for each N of ``--workers`` (default
  1 and 2): ``swarm.run(..., cluster=client, threads=1)`` after a warm-up study that loads the
  kernels on every worker; the cluster's start-up is not timed. Each run's outcome hash must
  equal the in-process one.

Throughput is trajectory-steps per second of wall time of the ``swarm.run`` call; speed-up is
against the 1-worker cluster. Per-task overhead: a study of ``--tiny-tasks`` chunks of one key
block (LANES trajectories) and one step, in-process and on the 1-worker cluster; overhead =
(wall on the cluster − wall in-process) / chunks, i.e. what a chunk costs beyond its own work
(submission, scheduling, (de)serialisation, transfer of the result, merging in the client).

    python scripts/bench_distributed.py [--trajectories 8e5] [--steps 1000] [--workers 1 2]
                                        [--tiny-tasks 400] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import swarm  # noqa: E402
from swarm import landscapes as L  # noqa: E402
from swarm import optimizers as O  # noqa: E402
from swarm.kernels.cpu import LANES  # noqa: E402  (trajectories per key block)

INSTANCES = 8


def _log(msg):
    print(msg, file=sys.stderr, flush=True)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        mem = f", {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2 ** 30:.0f} GiB"
    except (ValueError, OSError, AttributeError):
        pass
    import dask
    import numba
    return (f"{cpu}, {os.cpu_count()} cores{mem}; Python {platform.python_version()}, numba "
            f"{numba.__version__}, dask {dask.__version__}")


def study(trajectories, steps, chunk_size, **kw):
    starts = max(1, int(trajectories) // INSTANCES)
    return swarm.run(L.rastrigin(dim=2), [O.adam(lr=0.05)], instances=INSTANCES, starts=starts,
                     steps=steps, noise=0.5, seed=0, chunk_size=chunk_size, keep_outcomes=False,
                     **kw)


def _timed(fn):
    t0 = time.perf_counter()
    res = fn()
    return res, time.perf_counter() - t0


def _row(label, workers, res, wall, traj_steps, chunks):
    return {"run": label, "workers": workers, "wall_s": wall, "chunks": chunks,
            "mtsps": traj_steps / wall / 1e6, "hash": res.hash,
            "kernel_s": res.provenance["timings"]["kernel_s"]}


def run(trajectories=800_000, steps=1000, chunk_size=1 << 14, workers=(1, 2), tiny_tasks=400):
    """Rows: in-process (1 thread, all threads), then one per cluster size; each row has
    wall_s, mtsps (M trajectory-steps/s), speedup (against the 1-worker cluster, or the first
    cluster size), hash_ok; plus a final "overhead" dict."""
    import distributed
    starts = max(1, int(trajectories) // INSTANCES)
    traj_steps = INSTANCES * starts * steps
    blocks = INSTANCES * -(-starts // LANES)                 # key blocks of LANES trajectories
    chunks = -(-blocks // max(1, chunk_size // LANES))
    study(64, 2, chunk_size, threads=1)                      # load the kernels here
    rows = []
    _log("in-process, 1 thread …")
    ref, wall = _timed(lambda: study(trajectories, steps, chunk_size, threads=1))
    rows.append(_row("in-process, 1 thread", 0, ref, wall, traj_steps, chunks))
    _log("in-process, all threads …")
    res, wall = _timed(lambda: study(trajectories, steps, chunk_size))
    rows.append(_row(f"in-process, {res.provenance['threads']} threads", 0, res, wall,
                     traj_steps, chunks))
    tiny = tiny_tasks * LANES
    tiny_ref, tiny_in = _timed(lambda: swarm.run(
        L.rastrigin(dim=2), [O.adam(lr=0.05)], instances=1, starts=tiny, steps=1, noise=0.5,
        chunk_size=LANES, keep_outcomes=False, threads=1))
    overhead = None
    for n in workers:
        _log(f"LocalCluster, {n} worker(s) …")
        cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                           dashboard_address=":0")
        client = distributed.Client(cluster, set_as_default=False)
        try:
            study(64 * n * LANES, 2, LANES, cluster=client, threads=1)    # warm every worker
            res, wall = _timed(lambda: study(trajectories, steps, chunk_size, cluster=client,
                                             threads=1))
            rows.append(_row(f"LocalCluster, {n} worker{'s' if n > 1 else ''}", n, res, wall,
                             traj_steps, chunks))
            if overhead is None:
                t_res, t_wall = _timed(lambda: swarm.run(
                    L.rastrigin(dim=2), [O.adam(lr=0.05)], instances=1, starts=tiny, steps=1,
                    noise=0.5, chunk_size=LANES, keep_outcomes=False, threads=1,
                    cluster=client))
                overhead = {"tasks": tiny_tasks, "workers": n, "cluster_wall_s": t_wall,
                            "inprocess_wall_s": tiny_in,
                            "per_task_ms": 1e3 * t_wall / tiny_tasks,
                            "per_task_inprocess_ms": 1e3 * tiny_in / tiny_tasks,
                            "overhead_ms": 1e3 * (t_wall - tiny_in) / tiny_tasks,
                            "hash_ok": t_res.hash == tiny_ref.hash}
        finally:
            client.close()
            cluster.close()
    base = next((r for r in rows if r["workers"] > 0), None)
    for r in rows:
        r["hash_ok"] = r["hash"] == ref.hash
        r["speedup"] = base["wall_s"] / r["wall_s"] if base else float("nan")
    return {"rows": rows, "overhead": overhead, "trajectories": INSTANCES * starts,
            "steps": steps, "chunk_size": chunk_size, "chunks": chunks, "machine": machine()}


def table(result) -> str:
    """Markdown: the throughput table, then the per-task overhead."""
    rows = result["rows"]
    lines = [f"{result['trajectories']:,} trajectories × {result['steps']} steps "
             f"(2-D Rastrigin, Adam, σ = 0.5, float64), {result['chunks']} chunks of "
             f"{result['chunk_size']:,}; every task on 1 Numba thread",
             "",
             "| run | wall s | M traj-steps/s | speed-up vs 1 worker | same hash |",
             "|---|---:|---:|---:|:---:|"]
    for r in rows:
        lines.append(f"| {r['run']} | {r['wall_s']:.2f} | {r['mtsps']:.1f} | "
                     f"{r['speedup']:.2f}× | {'yes' if r['hash_ok'] else 'NO'} |")
    o = result["overhead"]
    if o:
        lines += ["", f"Per-task overhead ({o['tasks']} chunks of {LANES} trajectories × 1 step, "
                      f"{o['workers']} worker): {o['per_task_ms']:.2f} ms per chunk on the "
                      f"cluster against {o['per_task_inprocess_ms']:.2f} ms in-process → "
                      f"**{o['overhead_ms']:.2f} ms per task** "
                      f"(same hash: {'yes' if o['hash_ok'] else 'NO'})"]
    lines += ["", f"machine: {result['machine']}"]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trajectories", type=float, default=8e5)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--chunk-size", type=int, default=1 << 14)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--tiny-tasks", type=int, default=400)
    ap.add_argument("--json", default=None, help="also write the numbers to this file")
    a = ap.parse_args(argv)
    result = run(int(a.trajectories), a.steps, a.chunk_size, tuple(a.workers), a.tiny_tasks)
    print(table(result))
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
