"""Memory benchmark: 10⁹ trajectory outcomes through the streaming path, peak RSS reported.

A study whose per-trajectory outcomes would need ~41 GB (41 bytes each) runs chunk by chunk
on the CPU, keeping only exact aggregates (``swarm.aggregate``), so its memory must not depend
on the number of trajectories. The default is the full 10⁹ (2-D Rastrigin, SGD, 2 steps,
1000 instances × 10⁶ starts); ``--trajectories`` makes it smaller.

    python scripts/bench_memory.py                      # 10⁹ outcomes, a few minutes
    python scripts/bench_memory.py --trajectories 1e7   # quick look

Prints the peak resident set size of the process during the study (Linux: the high-water mark
``VmHWM`` reset just before the study, so compiling kernels beforehand does not count; it
includes everything already resident — interpreter, NumPy, SciPy, Numba, the kernels), the RSS
before the study, the time, and the rate.
"""
from __future__ import annotations

import argparse
import platform
import resource
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


import swarm  # noqa: E402
from swarm import landscapes as L  # noqa: E402
from swarm import optimizers as O  # noqa: E402

LIMIT_GIB = 1.0


def rss_now_mib():
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        import os
        return pages * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
    except OSError:
        return float("nan")


def reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark of this process's RSS (Linux: ``clear_refs`` 5), so
    that the peak measured after the study is the study's, not that of imports or of compiling
    kernels before it. False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mib():
    """Peak RSS: ``VmHWM`` (since the last reset) where /proc has it, else ``getrusage``."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 2 ** 20


def run(trajectories=10 ** 9, instances=1000, steps=2, chunk_size=1 << 20, threads=None):
    starts = max(1, int(trajectories) // instances)
    fam = L.rastrigin(dim=2)
    # warm the kernels (compile or load from the cache) before measuring the study
    swarm.run(fam, [O.sgd(lr=0.01)], instances=1, starts=16, steps=1, keep_outcomes=False)
    reset = reset_peak_rss()
    before = rss_now_mib()
    t0 = time.perf_counter()
    res = swarm.run(fam, [O.sgd(lr=0.01)], instances=instances, starts=starts, steps=steps,
                    noise=0.5, chunk_size=chunk_size, keep_outcomes=False, threads=threads)
    wall = time.perf_counter() - t0
    n = int(res.aggregate.count("n").sum())
    assert res.outcomes is None and n == instances * starts
    return {"trajectories": n, "steps": steps, "wall_s": wall,
            "kernel_s": res.provenance["timings"]["kernel_s"],
            "outcomes_per_s": n / wall, "rss_before_mib": before, "peak_rss_mib": peak_rss_mib(),
            "peak_since": "the study's start" if reset else "process start",
            "kept_bytes_would_be": n * 41, "p_global": float(
                res.aggregate.count("successes").sum() / n),
            "machine": f"{platform.processor() or platform.machine()}, "
                       f"{swarm.engine.numba.get_num_threads()} threads"}


def table(r) -> str:
    ok = r["peak_rss_mib"] < LIMIT_GIB * 1024
    return "\n".join([
        f"trajectory outcomes   {r['trajectories']:,} ({r['steps']} steps each)",
        f"wall time             {r['wall_s']:.1f} s ({r['outcomes_per_s'] / 1e6:.1f} M "
        f"outcomes/s; kernels {r['kernel_s']:.1f} s)",
        f"RSS before the study  {r['rss_before_mib']:.0f} MiB",
        f"peak RSS              {r['peak_rss_mib']:.0f} MiB since {r['peak_since']} "
        f"({'under' if ok else 'OVER'} the {LIMIT_GIB:g} GiB limit; kept outcomes would need "
        f"{r['kept_bytes_would_be'] / 2 ** 30:.1f} GiB)",
        f"P(global)             {r['p_global']:.6f}",
        f"machine               {r['machine']}"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trajectories", type=float, default=1e9)
    ap.add_argument("--instances", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--chunk-size", type=int, default=1 << 20)
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args(argv)
    r = run(int(a.trajectories), a.instances, a.steps, a.chunk_size, a.threads)
    print(table(r))
    return 0 if r["peak_rss_mib"] < LIMIT_GIB * 1024 else 1


if __name__ == "__main__":
    sys.exit(main())
