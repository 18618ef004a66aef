"""What the benchmark prints: W's table and lines (:func:`report`), then P, the dimension
scaling, the peers and the peak (:func:`report_extras`)."""
from __future__ import annotations

import os

from .bbob_speed import report_bbob
from .features import report_features
from .noise import report_noise
from .references import P_BLOCK, W_BLOCK
from .workloads import SIGMA


def _num(x) -> str:
    return f"{x:.1f}" if x >= 10 else f"{x:.3g}"


def table(rows) -> str:
    """Swarm against three NumPy references: the trajectories alone as one vectorised loop
    over whole arrays, the same in blocks of rows that stay in cache, and the same outcomes as
    swarm's study (start and end basins, best f, hits, divergence) in blocks."""
    lines = ["| workload | dtype | swarm M traj-steps/s (kernel) | swarm M/s (wall) | "
             "NumPy M/s | swarm / NumPy | NumPy M/s, blocks | swarm / NumPy, blocks | "
             "NumPy M/s, same outcomes | swarm / NumPy, same outcomes |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['workload']} | {r['dtype']} | {_num(r['swarm_mtsps'])} | "
                     f"{_num(r['swarm_wall_mtsps'])} | {_num(r['numpy_mtsps'])} | "
                     f"{r['ratio']:.2f} | {_num(r['numpy_blocked_mtsps'])} | "
                     f"{r['ratio_blocked']:.2f} | {_num(r['numpy_study_mtsps'])} | "
                     f"{r['ratio_study']:.2f} |")
    return "\n".join(lines)


def _rates_line(r, tag) -> str:
    pm = "{0[0]:.4f} ± {0[1]:.4f}".format
    return (f"[{tag}] P(global): swarm {pm(r['swarm_p_global'])}, NumPy "
            f"{pm(r['numpy_p_global'])}; P(escape): swarm {pm(r['swarm_p_escape'])}, NumPy "
            f"{pm(r['numpy_p_escape'])}; mean best f: swarm {pm(r['swarm_best_f'])}, NumPy "
            f"{pm(r['numpy_best_f'])}")


def report(rows, info) -> str:
    out = [f"machine: {info['cpu']} (family {info['cpu_family']}, model {info['cpu_model']}), "
           f"{info['cores']} cores, SIMD {'/'.join(info['flags']) or '?'}, numba "
           f"{info['numba']} ({info['numba_threads']} threads), numpy {info['numpy']}, "
           f"python {info['python']}; kernel sources {info.get('kernel_source_hash')}"]
    if info.get("loadavg") is not None:
        out.append(f"load average (1/5/15 min) before: {info['loadavg']}, after: "
                   f"{[round(x, 2) for x in os.getloadavg()]}  (other processes on the machine "
                   f"distort the numbers; run it on an idle machine)")
    out.append("")
    r0 = rows[0]
    out.append(f"N = {r0['n']:,} trajectories, {r0['steps']} steps, median of {r0['repeats']}")
    out.append(table(rows))
    out.append("")
    for r in rows:
        out.append(f"[{r['dtype']}] swarm kernel {r['swarm_kernel_s']:.3f} s, wall "
                   f"{r['swarm_wall_s']:.3f} s ({r['swarm_threads']} threads); NumPy "
                   f"{r['numpy_s']:.3f} s, in blocks of {W_BLOCK} rows {r['numpy_blocked_s']:.3f} s,"
                   f" same outcomes {r['numpy_study_s']:.3f} s (1 thread)")
        out.append(f"[{r['dtype']}] mean final f: swarm {r['swarm_mean_final_f']:.4f} ± "
                   f"{r['swarm_sem_final_f']:.4f}, NumPy {r['numpy_mean_final_f']:.4f} ± "
                   f"{r['numpy_sem_final_f']:.4f}")
        out.append(_rates_line(r, r["dtype"]))
        out.append(f"[{r['dtype']}] correctness (noise 0, {r['check_steps']} steps): max |x_swarm"
                   f" − x_numpy| = {r['check_max_dev']:.3g}")
        if "cold_process_s" in r:
            out.append(f"[{r['dtype']}] first call in a fresh process (empty cache): "
                       f"{r['cold_process_s']:.1f} s (of which first run "
                       f"{r['cold_first_run_s']:.1f} s); second process, cache warm: "
                       f"{r['warm_process_s']:.2f} s (import "
                       f"{r['warm_import_s']:.2f} s + first run {r['warm_first_run_s']:.2f} s) "
                       f"{'< 2 s: ok' if r['warm_start_ok'] else '≥ 2 s: NOT OK'}")
    return "\n".join(out)


def report_extras(extra) -> str:
    out = []
    if extra.get("features"):
        out += report_features(extra["features"])
    if extra.get("bbob"):
        out += report_bbob(extra["bbob"])
    if extra.get("noise"):
        out += report_noise(extra["noise"])
    if extra.get("peaks"):
        rows = extra["peaks"]
        r0 = rows[0]
        out += ["", f"Workload P: N = {r0['n']:,} trajectories, {r0['steps']} steps, median of "
                f"{r0['repeats']} (NumPy: q for all peaks by BLAS products;"
                " same outcomes: basins by the kernels' polish)", table(rows), ""]
        for r in rows:
            out.append(f"[P {r['dtype']}] swarm kernel {r['swarm_kernel_s']:.3f} s "
                       f"({r['swarm_threads']} threads), NumPy {r['numpy_s']:.3f} s, in blocks of"
                       f" {P_BLOCK} rows {r['numpy_blocked_s']:.3f} s, same outcomes "
                       f"{r['numpy_study_s']:.3f} s; mean final f: swarm "
                       f"{r['swarm_mean_final_f']:.4f} ± {r['swarm_sem_final_f']:.4f}, NumPy "
                       f"{r['numpy_mean_final_f']:.4f} ± {r['numpy_sem_final_f']:.4f}")
            out.append(_rates_line(r, f"P {r['dtype']}"))
            out.append(f"[P {r['dtype']}] noiseless, {r['check_starts']} starts, "
                       f"{r['check_steps']} steps: max |Δx| {r['check_max_dev']:.3g}; start and "
                       f"end basins agree on {100 * r['check_label_agree']:.0f} %")
    if extra.get("scaling"):
        rows = extra["scaling"]
        out += ["", f"Dimension scaling, swarm, Rastrigin + Adam + σ = {SIGMA} "
                f"({rows[0]['steps']} steps, N = N₂·2/dim, kernel timing):",
                "| dtype | dim | N | M traj-steps/s | M coordinate-steps/s |",
                "|---|---:|---:|---:|---:|"]
        for r in rows:
            out.append(f"| {r['dtype']} | {r['dim']} | {r['n']:,} | {r['mtsps']:.2f} | "
                       f"{r['mcsps']:.1f} |")
    if "peers" in extra:
        rows = extra["peers"]
        out += ["", "Peers on W (each in a fresh process; wall time of the loop after a warm-up "
                "call; noiseless check vs swarm.path: max |Δx| / max |x|):"]
        if not rows:
            out.append("(none installed: pip install -e '.[bench]' for jax, optax, torch)")
        else:
            out += ["| peer | dtype | N | M traj-steps/s | swarm M/s | swarm / peer | "
                    "check rel. dev. | first call s |", "|---|---|---:|---:|---:|---:|---:|---:|"]
            for r in rows:
                if "error" in r:
                    out.append(f"| {r['label']} | {r['dtype']} | {r.get('n', 0):,} | failed: "
                               f"{r['error']} | | | | |")
                    continue
                out.append(f"| {r['label']} | {r['dtype']} | {r['n']:,} | {r['mtsps']:.1f} | "
                           f"{r['swarm_mtsps']:.1f} | {r['ratio']:.2f} | "
                           f"{r['check_rel_dev']:.2g} | {r['first_call_s']:.1f} |")
    if extra.get("peak"):
        out += ["", "Floating-point peak (numba FMA loop, all threads, best of 3) and swarm's share"
                " on W (flops per trajectory-step as counted in "
                "docs/benchmark.md; Philox integer ops not counted):",
                "| dtype | peak GFLOP/s | flops / traj-step | swarm GFLOP/s | fraction of peak |",
                "|---|---:|---:|---:|---:|"]
        for r in extra["peak"]:
            frac = (f"{r['swarm_gflops']:.1f} | {100 * r['fraction']:.1f} %" if "fraction" in r
                    else " | ")
            out.append(f"| {r['dtype']} | {r['peak_gflops']:.1f} | {r['flops_per_traj_step']:.0f}"
                       f" | {frac} |")
    return "\n".join(out)
