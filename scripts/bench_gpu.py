"""GPU benchmark: swarm's CUDA kernels against its CPU engine and the NumPy reference.

Workloads: 2-D Rastrigin + Adam (lr 0.05, β 0.9/0.999) + gradient noise σ = 0.5 (workload W of
``docs/benchmark.md``, as in ``scripts/bench.py``) and the same at 20-D; float32 and float64.
Prints million trajectory-steps per second for the GPU kernel (its own kernel time) and, as
baselines in the same run, the same kernel as built before issue 24's kernel items (64-bit
indices, no launch bounds, IEEE float32 division and square root) and the generic kernel
(every family and optimizer in one kernel, the dimension read at run time); the whole engine
on the GPU, over the device's time (kernels and copies of the outcomes) and over the run's wall
time (which adds the host's work not hidden behind the next chunk's kernels: aggregation above
all), the latter also with
aggregates only (``keep_outcomes=False``, as large studies run: aggregated on the device); the
host's own time per chunk in both (the wall time less the time it waited for the device:
aggregation, merging, instance generation, launches); the CPU engine and the NumPy
reference (both on far fewer trajectories: they are rates); and the fraction of the GPU's
arithmetic limit reached, counting the floating-point operations of one
trajectory-step (``FLOPS_PER_STEP``; a sin/cos pair counts as its polynomial's ~25 operations,
Philox's integer work is not counted) against the card's peak (``PEAK_TFLOPS``, H100 SXM
non-tensor figures unless given).

Without a GPU it says so and measures nothing. Usage::

    python scripts/bench_gpu.py [--n 100000000] [--steps 100] [--peak-f32 67 --peak-f64 34]
                                [--no-baseline]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

import swarm
from swarm import landscapes, optimizers

ADAM = dict(lr=0.05, b1=0.9, b2=0.999, eps=1e-8)
SIGMA = 0.5
PEAK_TFLOPS = {"float32": 67.0, "float64": 34.0}


def flops_per_step(dim):
    """Per coordinate: Rastrigin value and gradient with sincos2pi (≈ 8 + 25), Box–Muller per
    pair of coordinates (log ≈ 20, sincos ≈ 25, sqrt and scaling ≈ 10: ≈ 28 per coordinate),
    Adam (≈ 14 incl. a divide and a square root), tracking (≈ 4)."""
    return dim * (8 + 25 + 28 + 14 + 4)


def kernel_rate(dim, n, steps, dtype, repeats=3, seed=0, generic=False, before=False):
    """The CUDA kernel alone on ``n`` trajectories (one launch, inputs already on the device),
    timed with CUDA events; returns (trajectory-steps/s, fraction of trajectories that hit the
    global target, fraction diverged) — the last two say the kernel did the work.
    ``generic``: the baseline, one kernel for every family and optimizer with the dimension
    read at run time (how swarm's kernels were built before 2026-11-26), instead of the kernel
    built for Rastrigin and this dimension that swarm launches. ``before``: that kernel as
    built before issue 24's kernel items (64-bit indices, no launch bounds, IEEE float32
    division and square root: ``kcuda.kernel(fast=False, bounds=False, wide=True)``)."""
    from numba import cuda

    from swarm import starts
    from swarm.engine import Inputs, default_tol_x
    from swarm.kernels import cuda as kcuda
    from swarm.kernels import philox
    from swarm.optimizers import hyper_row
    F = np.dtype(dtype).type
    fam, opt = landscapes.rastrigin(dim=dim), optimizers.adam(**ADAM)
    pk = Inputs(fam, seed, 0, 1, starts.uniform(), F)
    hp = hyper_row(opt.kind, next(iter(opt.configs())), SIGMA)[None].astype(F)
    k0, k1 = philox.split_seed(seed)
    out = kcuda.outputs(n, F)
    run, grid, threads, args = kcuda.prepare(
        pk.fid, opt.kind_id, kcuda.inputs(pk.lp, pk.sp, pk.box, pk.gmin, pk.tab, pk.ctype, pk.gk),
        cuda.to_device(hp), pk.skind, k0, k1, steps, default_tol_x(fam), -np.inf, 1, 0, n, 0, n, F,
        out)
    if generic:
        run = kcuda.build(F, kcuda.bucket(dim))
    elif before:
        run = kcuda.kernel(F, dim, pk.fid, fast=False, bounds=False, wide=True)
    run[grid, threads](*args)                       # compiles, and warms the card up
    cuda.synchronize()
    times = []
    for _ in range(repeats):
        e0, e1 = cuda.event(), cuda.event()
        t0 = time.perf_counter()
        e0.record()
        run[grid, threads](*args)
        e1.record()
        e1.synchronize()
        ms = e0.elapsed_time(e1)
        # Numba's CUDA simulator has no event clock (it reports 0 or less): wall time there
        times.append(ms / 1e3 if ms > 0 else time.perf_counter() - t0)
    hit = out[2].copy_to_host()
    div = out[5].copy_to_host()
    return n * steps / statistics.median(times), float((hit >= 0).mean()), float(div.mean())


def gpu_rate(dim, n, steps, dtype, repeats=3, seed=0, keep=None):
    """The whole engine, ``swarm.run(backend="cuda", keep_outcomes=keep)``: returns (rate over
    the run's ``kernel_s``: the device's time, its kernels (CUDA events) and the outcomes'
    copies to the host; rate over its ``total_s``: the wall time, in which the host aggregates
    each chunk while the next chunk's kernels run; the last result)."""
    fam, opt = landscapes.rastrigin(dim=dim), optimizers.adam(**ADAM)
    study = dict(instances=1, starts=n, steps=steps, noise=SIGMA, seed=seed, dtype=dtype,
                 backend="cuda", keep_outcomes=keep)
    swarm.run(fam, opt, **{**study, "starts": min(n, 4096), "steps": min(steps, 4)})
    times, walls = [], []
    for _ in range(repeats):
        res = swarm.run(fam, opt, **study)
        times.append(res.provenance["timings"]["kernel_s"])
        walls.append(res.provenance["timings"]["total_s"])
    return n * steps / statistics.median(times), n * steps / statistics.median(walls), res


def cpu_rate(dim, n, steps, dtype, seed=0):
    fam, opt = landscapes.rastrigin(dim=dim), optimizers.adam(**ADAM)
    study = dict(instances=1, starts=n, steps=steps, noise=SIGMA, seed=seed, dtype=dtype)
    swarm.run(fam, opt, **{**study, "starts": 64, "steps": 2})
    res = swarm.run(fam, opt, **study)
    return n * steps / res.provenance["timings"]["kernel_s"]


def numpy_rate(n, steps, dtype, seed=0):
    try:
        from scripts import bench
    except ImportError:             # run as `python scripts/bench_gpu.py`: scripts/ is on the path
        import bench
    inst = bench.instance(seed)
    x0 = np.random.default_rng(seed).uniform(inst.domain[0], inst.domain[1],
                                             (n, 2)).astype(dtype)
    t0 = time.perf_counter()
    bench.numpy_adam_rastrigin(x0, bench.shift(inst), steps, SIGMA, dtype,
                               np.random.default_rng(seed))
    return n * steps / (time.perf_counter() - t0)


def host_ms(res):
    """Milliseconds of the host's own work per chunk of a CUDA run (its ``host_s``: the
    chunks' wall time less the time it waited for the device — aggregation, merging,
    instance generation, launches — over its ``chunks``)."""
    t = res.provenance["timings"]
    return 1e3 * t["host_s"] / max(1, t["chunks"])


def run(n=100_000_000, steps=100, dims=(2, 20), dtypes=("float32", "float64"), *,
        cpu_n=200_000, peak=None, repeats=3, engine_n=None, engine_steps=None, baseline=True):
    """One row per (dim, dtype): the GPU kernel's rate (``n // dim`` trajectories, one
    launch), the whole engine's rate on the GPU (``engine_n // dim`` trajectories of
    ``engine_steps``, default 2²⁴ and ``steps``: a study as long as the kernel's run, where
    the host's share shows; over the device's time and over the wall time),
    the CPU engine's and NumPy's rates
    (trajectory-steps/s) and the fraction of the GPU's peak reached by the kernel; with
    ``baseline``, also the generic kernel's rate (``kernel_rate(generic=True)``) and the rate of
    the kernel as built before issue 24's kernel items (``kernel_rate(before=True)``). Returns []
    when no CUDA GPU is available."""
    from numba import cuda
    if not cuda.is_available():
        return []
    peak = peak or PEAK_TFLOPS
    engine_n = engine_n or 2 ** 24
    engine_steps = engine_steps or steps
    dev = cuda.get_current_device()
    name = getattr(dev, "name", b"CUDA simulator")
    name = name.decode() if isinstance(name, bytes) else str(name)
    rows = []
    for dim in dims:
        for dtype in dtypes:
            nk = max(1, n // dim)
            gpu, hit, div = kernel_rate(dim, nk, steps, dtype, repeats)
            base = kernel_rate(dim, nk, steps, dtype, repeats, generic=True)[0] \
                if baseline else float("nan")
            pre = kernel_rate(dim, nk, steps, dtype, repeats, before=True)[0] \
                if baseline else float("nan")
            eng, wall, kept = gpu_rate(dim, max(1, engine_n // dim), engine_steps, dtype, 1)
            _, wall_agg, agg = gpu_rate(dim, max(1, engine_n // dim), engine_steps, dtype, 1,
                                        keep=False)
            cpu = cpu_rate(dim, cpu_n, steps, dtype)
            nump = numpy_rate(cpu_n, steps, dtype) if dim == 2 else float("nan")
            frac = gpu * flops_per_step(dim) / (peak[dtype] * 1e12)
            rows.append({"dim": dim, "dtype": dtype, "gpu": gpu, "generic": base,
                         "before_items": pre,
                         "engine": eng, "engine_wall": wall, "engine_wall_agg": wall_agg,
                         "cpu": cpu,
                         "numpy": nump, "gpu_over_cpu": gpu / cpu, "peak_fraction": frac,
                         "device": name, "n": nk, "steps": steps, "hit": hit,
                         "diverged": div, "engine_n": max(1, engine_n // dim),
                         "engine_steps": engine_steps,
                         "host_ms_per_chunk": host_ms(kept), "host_ms_per_chunk_agg":
                         host_ms(agg), "chunk": agg.provenance["chunk_size"]})
    return rows


def table(rows):
    lines = [f"device: {rows[0]['device']}" if rows else "no CUDA GPU available",
             f"{'workload':<28} {'dtype':<8} {'kernel M/s':>12} {'pre-#24 M/s':>12} "
             f"{'generic M/s':>12} "
             f"{'engine M/s':>11} {'wall M/s':>9} {'agg-only':>9} "
             f"{'CPU M/s':>9} {'NumPy M/s':>10} {'kernel/CPU':>10} {'of peak':>8} "
             f"{'hit':>6} {'diverged':>8} {'host ms/chunk':>13} {'agg-only':>8}"]
    for r in rows:
        lines.append(f"{'rastrigin-' + str(r['dim']) + 'd adam σ=0.5':<28} {r['dtype']:<8} "
                     f"{r['gpu'] / 1e6:>12.0f} {r['before_items'] / 1e6:>12.0f} "
                     f"{r['generic'] / 1e6:>12.0f} "
                     f"{r['engine'] / 1e6:>11.0f} {r['engine_wall'] / 1e6:>9.0f} "
                     f"{r['engine_wall_agg'] / 1e6:>9.0f} "
                     f"{r['cpu'] / 1e6:>9.1f} {r['numpy'] / 1e6:>10.1f} "
                     f"{r['gpu_over_cpu']:>10.0f} {r['peak_fraction']:>8.1%} "
                     f"{r['hit']:>6.1%} {r['diverged']:>8.2%} "
                     f"{r['host_ms_per_chunk']:>13.1f} {r['host_ms_per_chunk_agg']:>8.1f}")
    if rows:
        r = rows[0]
        lines.append(f"kernel: {r['n']:,} trajectories (÷ dim) × {r['steps']} steps, one launch, "
                     f"CUDA events; pre-#24: the same kernel as built before issue 24's kernel "
                     f"items (64-bit indices, no launch bounds, IEEE float32 division); "
                     f"generic: the same launch with the kernel built for any "
                     f"family, optimizer and dimension (the baseline); engine: "
                     f"swarm.run(backend='cuda'), {r['engine_n']:,} trajectories (÷ dim) × "
                     f"{r['engine_steps']} steps, over the device's time (kernels and copies to "
                     f"the host); wall: the same run over its wall time (the host aggregates "
                     f"each chunk while the next one's kernels run); agg-only: the wall rate "
                     f"with keep_outcomes=False (aggregates only, as in large studies: "
                     f"aggregated on the device); host ms/chunk: the host's own time per "
                     f"chunk of {r['chunk']:,} trajectories (wall less the time waiting for "
                     f"the device), in the engine run (outcomes kept up to 10⁷ trajectories) "
                     f"and the agg-only run")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000_000, help="trajectories per 2-D run")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--engine-n", type=int, default=2 ** 24,
                    help="trajectories per 2-D run of the whole engine")
    ap.add_argument("--engine-steps", type=int, default=None,
                    help="steps per run of the whole engine (default --steps; the H200 figures "
                         "of 2026-11-26 06:50 UTC used 10 × --steps)")
    ap.add_argument("--cpu-n", type=int, default=200_000)
    ap.add_argument("--dims", default="2,20")
    ap.add_argument("--json", default=None, help="also write the rows to this JSON file")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip the generic and pre-#24 kernels (saves their compilations)")
    ap.add_argument("--peak-f32", type=float, default=PEAK_TFLOPS["float32"])
    ap.add_argument("--peak-f64", type=float, default=PEAK_TFLOPS["float64"])
    args = ap.parse_args(argv)
    rows = run(args.n, args.steps, tuple(int(d) for d in args.dims.split(",")),
               cpu_n=args.cpu_n, peak={"float32": args.peak_f32, "float64": args.peak_f64},
               engine_n=args.engine_n, engine_steps=args.engine_steps,
               baseline=not args.no_baseline)
    if args.json:
        import json
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    if not rows:
        print("no CUDA GPU available (numba.cuda.is_available() is False): nothing measured")
        return 0
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
