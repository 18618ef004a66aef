"""Studies over many landscape instances: how fast instances are generated, and the wall time
and peak memory of studies over 10⁵ … 10⁷ instances with few starts each.

Each study runs in a fresh Python process (its peak RSS is that process's ``ru_maxrss``, the
kernels loaded from the on-disk cache, so compilation is not timed; a warm-up process fills the
cache first). Rows:

* ``generate``: ``family.bank(seed, 0, n)`` — instances per second, best of ``--repeats``, for
  2-D Rastrigin and 20-D rotated Gaussian peaks with 21 peaks;
* ``study``: ``swarm.run`` of SGD (lr 0.01) on 2-D Rastrigin, aggregates only, with the
  instances × starts × steps given: wall seconds (generation included) and peak RSS.

    python scripts/bench_instances.py [--quick] [--json FILE]

The default sizes are those of ``docs/performance.md``: 10⁶ × 8 starts × 20 steps, and 10⁵ and
10⁷ instances × 1 start × 100 steps (peak memory must not grow with the instances).
``--quick`` runs tiny sizes (what the test suite runs). ``--case INSTANCES STARTS STEPS``
times one study in this process (it runs on older versions of swarm as well: the before/after
table of docs/performance.md).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

GENERATE = [("rastrigin-2d", "landscapes.rastrigin(dim=2)", 1_000_000),
            ("gaussian_peaks-20d-21", "landscapes.gaussian_peaks(dim=20, peaks=21)", 20_000)]
STUDIES = [(1_000_000, 8, 20), (100_000, 1, 100), (10_000_000, 1, 100)]
QUICK_GENERATE = [(name, fam, n // 1000) for name, fam, n in GENERATE]
QUICK_STUDIES = [(2_000, 8, 5), (1_000, 1, 10), (5_000, 1, 10)]

_STUDY = """
import resource, sys, time
t0 = time.perf_counter()
import swarm
from swarm import landscapes, optimizers
t1 = time.perf_counter()
r = swarm.run(landscapes.rastrigin(dim=2), [optimizers.sgd(lr=0.01)], instances={instances},
              starts={starts}, steps={steps}, seed=0, keep_outcomes=False)
t2 = time.perf_counter()
assert int(r.aggregate.total("n")[0]) == {instances} * {starts}
try:      # this process's own peak: ru_maxrss also holds its parent's RSS at the fork (Linux)
    rss = next(int(x.split()[1]) * 1024 for x in open("/proc/self/status")
               if x.startswith("VmHWM:"))
except (OSError, StopIteration):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(t2 - t1, r.provenance["timings"]["kernel_s"], t1 - t0, rss,
      float(r.aggregate.total("successes")[0]) / ({instances} * {starts}))
"""

_GENERATE = """
import time
from swarm import landscapes
fam = {family}
fam.bank(0, 0, 10)                       # compiles the generator (cached afterwards)
best = float("inf")
for _ in range({repeats}):
    t0 = time.perf_counter()
    b = fam.bank(0, 0, {n})
    best = min(best, time.perf_counter() - t0)
print(best, b.lp.nbytes + b.gmin.nbytes)
"""


def _python(code, timeout=3600):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip()
                           else f"exit {out.returncode}")
    return out.stdout.split()


def generate(name, family, n, repeats=3) -> dict:
    seconds, nbytes = _python(_GENERATE.format(family=family, n=n, repeats=repeats))
    return {"row": "generate", "family": name, "instances": n, "seconds": float(seconds),
            "instances_per_s": n / float(seconds), "bank_bytes": int(nbytes)}


def study(instances, starts, steps) -> dict:
    wall, kernel, imports, rss, p = _python(_STUDY.format(instances=instances, starts=starts,
                                                          steps=steps))
    return {"row": "study", "instances": instances, "starts": starts, "steps": steps,
            "wall_s": float(wall), "kernel_s": float(kernel), "import_s": float(imports),
            "peak_rss_gib": int(rss) / 2 ** 30, "p_global": float(p)}


def case(instances, starts, steps) -> str:
    """One study in this process (2-D Rastrigin, SGD, aggregates only) after a warm-up: wall
    time, the engine's own timings and the peak RSS, as a line."""
    import resource

    import swarm
    from swarm import landscapes, optimizers
    fam, opt = landscapes.rastrigin(dim=2), [optimizers.sgd(lr=0.01)]
    swarm.run(fam, opt, instances=10, starts=starts, steps=2)
    t = time.perf_counter()
    r = swarm.run(fam, opt, instances=instances, starts=starts, steps=steps,
                  keep_outcomes=False)
    wall = time.perf_counter() - t
    tm = r.provenance["timings"]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    return (f"{instances:,} × {starts} × {steps}: wall {wall:.2f} s, before the first chunk "
            f"{tm['pack_s']:.2f} s, kernels {tm['kernel_s']:.2f} s, peak RSS {rss:.2f} GiB")


def run(quick=False, repeats=3, log=None) -> list[dict]:
    log = log or (lambda msg: None)
    for args in (QUICK_STUDIES if quick else [(20_000, 8, 2), (2_000, 1, 2)]):
        study(*args)          # warm-up: the disk cache gets every kernel the studies load
    rows = []
    for name, fam, n in (QUICK_GENERATE if quick else GENERATE):
        log(f"generate {name}: {n:,} instances")
        rows.append(generate(name, fam, n, repeats))
    for args in (QUICK_STUDIES if quick else STUDIES):
        log(f"study: {args[0]:,} instances × {args[1]} starts × {args[2]} steps")
        rows.append(study(*args))
    return rows


def table(rows) -> str:
    lines = [f"{'instance generation':<26}{'instances':>12}{'seconds':>10}{'instances/s':>14}"]
    for r in rows:
        if r["row"] == "generate":
            lines.append(f"{r['family']:<26}{r['instances']:>12,}{r['seconds']:>10.3f}"
                         f"{r['instances_per_s']:>14,.0f}")
    lines.append("")
    lines.append(f"{'study (2-D Rastrigin, SGD)':<30}{'wall s':>9}{'kernel s':>10}"
                 f"{'peak RSS GiB':>14}{'P(global)':>11}")
    for r in rows:
        if r["row"] == "study":
            what = f"{r['instances']:,} × {r['starts']} × {r['steps']}"
            lines.append(f"{what:<30}{r['wall_s']:>9.2f}{r['kernel_s']:>10.2f}"
                         f"{r['peak_rss_gib']:>14.3f}{r['p_global']:>11.4f}")
    lines.append("instances × starts × steps; wall: swarm.run in a fresh process (kernels from "
                 "the disk cache), instance generation included, imports not")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes (the test suite's)")
    ap.add_argument("--repeats", type=int, default=3, help="generation repeats (best of)")
    ap.add_argument("--json", default=None, help="also write the rows as JSON")
    ap.add_argument("--case", nargs=3, type=int, metavar=("INSTANCES", "STARTS", "STEPS"),
                    help="only this study, in this process after a small warm-up study "
                         "(works with older versions of swarm too, for before/after tables)")
    args = ap.parse_args(argv)
    if args.case:
        print(case(*args.case))
        return 0
    t0 = time.perf_counter()
    rows = run(args.quick, args.repeats, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(table(rows))
    print(f"({time.perf_counter() - t0:.0f} s in all)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
