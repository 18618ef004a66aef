"""Gradient optimizers on COCO's multimodal BBOB functions: how often does each reach COCO's
target precisions from uniform random starts?

Every optimizer of the registry (``swarm.optimizers.REGISTRY``) runs without gradient noise
(plain multistart local search: the only randomness is the start point, uniform in COCO's
domain [−5, 5]^d) on BBOB f15–f22 and f24 in 2, 5 and 10 dimensions, COCO instances 1–15, at
three learning rates: its default × 0.1, × 1 and × 10. f23 (Katsuura) is left out: its gradient
carries no information and swarm refuses gradient optimizers on it by default (``docs/bbob.md``).
A budget is ``steps`` gradient evaluations per start (one per update, COCO counts f-evaluations;
``docs/bbob.md``). Each trajectory's best f over the run gives, for COCO's 11 target precisions
Δf = 10², 10¹, …, 10⁻⁸, whether it reached f − f_opt ≤ Δf within the budget: the fraction of
(instance, start) runs that did is the value of COCO's runtime ECDF at the end of the budget.

The tables report each optimizer at one learning-rate multiplier, the one with the largest mean
fraction over all (function, dimension) problems and all targets (one choice per optimizer,
not per problem): means over the functions per dimension, and the best optimizer per problem;
the CSV has every arm.
Writes ``bbob.md``, ``bbob.csv`` and ``bbob.png``. Every run also records the first hit of
COCO's 51 target precisions (``targets="coco"``); with ``--coco DIR`` the whole study is
exported in COCO's format to ``DIR/export`` (``swarm.export``: one algorithm per arm), cocopp
post-processes each optimizer at its chosen lr factor into ``DIR/cocopp``, and its runtime
ECDFs per dimension (``pprldmany``) are copied next to ``bbob.md`` as ``bbob_cocopp_<d>D.svg``.

    python scripts/bbob_study.py [--quick] [--seed 0] [--out docs/studies] [--coco DIR]
"""
from __future__ import annotations

import argparse
import csv
import datetime
import os
import sys
import time
from pathlib import Path

import numpy as np

import swarm
from swarm import bbob, landscapes, optimizers

try:                                    # run as a script or imported from scripts
    from scripts.annealing import kept_findings
except ImportError:
    from annealing import kept_findings

FUNCTIONS = (15, 16, 17, 18, 19, 20, 21, 22, 24)
DIMS = (2, 5, 10)
LR_FACTORS = (0.1, 1.0, 10.0)
TARGETS = tuple(10.0 ** k for k in range(2, -9, -1))      # COCO's 10², 10¹, …, 10⁻⁸
TARGETS_IN_COCO = [5 * i for i in range(len(TARGETS))]    # 10^k among COCO's 51 targets
FULL = dict(instances=15, starts=20, steps=1000)
QUICK = dict(instances=2, starts=4, steps=20)


def arms():
    """Every registry optimizer at its default lr × ``LR_FACTORS``: (name, factor, optimizer)."""
    out = []
    for name, row in optimizers.REGISTRY.items():
        lr0 = row.hypers[0].default
        for fac in LR_FACTORS:
            out.append((name, fac, optimizers.FACTORIES[name](lr=lr0 * fac)))
    return out


def problem(function, dim, arm_list, instances, starts, steps, seed):
    """One (function, dim): per arm the fraction of runs reaching each target (rows of
    ``len(TARGETS)``), the run's wall time and its Result (with COCO's target hits)."""
    fam = landscapes.bbob(function, dim)
    t0 = time.perf_counter()
    res = swarm.run(fam, [o for _, _, o in arm_list], instances=instances, starts=starts,
                    steps=steps, noise=0.0, seed=seed, tol_f=TARGETS[-1], keep_outcomes=True,
                    targets="coco")
    wall = time.perf_counter() - t0
    fopt = np.array([bbob.fopt(function, 1 + i) for i in range(instances)])
    frac = np.empty((len(arm_list), len(TARGETS)))
    for a in range(len(arm_list)):
        prec = res.arm(a)["best_f"].astype(np.float64) - fopt[:, None]
        frac[a] = [np.mean(prec <= t) for t in TARGETS]     # NaN (diverged before any f): no
    return frac, wall, res


def run(quick=False, seed=0, functions=FUNCTIONS, dims=DIMS, keep_results=False):
    """The study; ``keep_results``: also keep every problem's Result (``out["results"]``,
    for the COCO export)."""
    size = QUICK if quick else FULL
    arm_list = arms()
    out = {"size": size, "seed": seed, "arms": [(n, f) for n, f, _ in arm_list],
           "problems": {}, "wall_s": 0.0, "results": {}}
    for dim in dims:
        for fn in functions:
            frac, wall, res = problem(fn, dim, arm_list, seed=seed, **size)
            out["problems"][(fn, dim)] = frac
            if keep_results:
                out["results"][(fn, dim)] = res
            out["wall_s"] += wall
            print(f"f{fn} {dim}-D: {wall:.1f} s", file=sys.stderr, flush=True)
    return out


def best_factor(study):
    """Per optimizer, the lr factor with the largest mean fraction over all problems and all
    targets (the area under the aggregated ECDF over targets, COCO's way of ranking over a
    set of targets; ties: the smaller factor)."""
    probs = list(study["problems"].values())
    best = {}
    for a, (name, fac) in enumerate(study["arms"]):
        m = float(np.mean([p[a] for p in probs]))
        if name not in best or m > best[name][1]:
            best[name] = (fac, m)
    return {k: v[0] for k, v in best.items()}


def write_csv(study, path):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["optimizer", "lr_factor", "function", "dim"] +
                   [f"frac_1e{int(np.log10(t))}" for t in TARGETS])
        for (fn, dim), frac in study["problems"].items():
            for a, (name, fac) in enumerate(study["arms"]):
                w.writerow([name, fac, fn, dim] + [f"{v:.6g}" for v in frac[a]])


def figure(study, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    best = best_factor(study)
    idx = {name: study["arms"].index((name, fac)) for name, fac in best.items()}
    dims = sorted({d for _, d in study["problems"]})
    fig, axes = plt.subplots(1, len(dims), figsize=(4.2 * len(dims), 4.2), sharey=True)
    axes = np.atleast_1d(axes)
    x = -np.log10(TARGETS)
    for ax, dim in zip(axes, dims):
        probs = [p for (fn, d), p in study["problems"].items() if d == dim]
        colours = plt.cm.tab20(np.linspace(0, 1, 20))
        for n, (name, a) in enumerate(sorted(idx.items())):
            ecdf = np.mean([p[a] for p in probs], axis=0)
            ax.plot(x, ecdf, marker=".", color=colours[n % 20], ls=("-", "--", ":")[n % 3],
                    label=f"{name} (lr ×{best[name]:g})")
        fns = sorted({fn for fn, _ in study["problems"]})
        ax.set_title(f"{dim}-D: " + ", ".join(f"f{f}" for f in fns), fontsize=9)
        ax.set_xlabel("target precision −log₁₀ Δf")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("fraction of (function, instance, start) runs reaching Δf")
    axes[-1].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _t(t):
    return f"1e{int(round(np.log10(t)))}"


def markdown(study, command, *, version, date, figure_name=None, findings=None, coco=None):
    """The study's page; ``coco``: (export seconds, cocopp seconds, figure files) of
    :func:`coco_report`, shown as a section."""
    size = study["size"]
    best = best_factor(study)
    problems = sorted(study["problems"], key=lambda k: (k[1], k[0]))
    lines = ["# Gradient optimizers on BBOB's multimodal functions", "", f"`{command}`", "",
             f"swarm {version}, {date}; {study['wall_s']:.0f} s of study wall time on the "
             f"2-core machine of `docs/studies/README.md` (CPU backend, float64).", "",
             f"{len(study['arms']) // len(LR_FACTORS)} optimizers × {len(LR_FACTORS)} learning "
             f"rates (default × {', '.join(f'{f:g}' for f in LR_FACTORS)}), no gradient noise, "
             f"uniform starts in [−5, 5]^d; COCO instances 1–{size['instances']}, "
             f"{size['starts']} starts each, {size['steps']} steps (gradient evaluations) per "
             f"start; seed {study['seed']}.", ""]
    if findings:
        lines += ["## Findings", "", findings.strip(), ""]
    if figure_name:
        lines += [f"![ECDF over targets]({figure_name})", "",
                  "Fraction of runs reaching each of COCO's 11 target precisions within the "
                  "budget, over all functions of a dimension, each optimizer at its best lr "
                  "factor (legend).", ""]
    dims = sorted({d for _, d in problems})
    show = (1e1, 1e-2, 1e-8)
    cols = [(d, t) for d in dims for t in show]
    lines += ["## Per optimizer: mean over the functions", "",
              "Fraction of (function, instance, start) runs reaching f − f_opt ≤ Δf within the "
              "budget, each optimizer at its lr factor (the one with the best mean over all "
              "problems and targets).", "",
              "| optimizer | lr × | " + " | ".join(f"{d}-D Δf={_t(t)}" for d, t in cols) + " |",
              "|---|---:|" + "---:|" * len(cols)]
    for name, fac in sorted(best.items(), key=lambda kv: kv[0]):
        a = study["arms"].index((name, fac))
        vals = [np.mean([study["problems"][(f, d)][a, TARGETS.index(t)] for f, dd in problems
                         if dd == d]) for d, t in cols]
        lines.append(f"| {name} | {fac:g} | " + " | ".join(f"{v:.3f}" for v in vals) + " |")
    lines += ["", "## Per function: the best optimizer", "",
              "At each optimizer's lr factor above; the mean is over the "
              f"{len(best)} optimizers.", "",
              "| function | dim | best at 10⁻² | fraction | best at 10⁻⁸ | fraction | "
              "mean at 10⁻² |", "|---|---:|---|---:|---|---:|---:|"]
    idx = {name: study["arms"].index((name, fac)) for name, fac in best.items()}
    for f, d in problems:
        frac = study["problems"][(f, d)]
        cells = []
        for t in (1e-2, 1e-8):
            j = TARGETS.index(t)
            name = max(sorted(idx), key=lambda n: frac[idx[n], j])
            v = frac[idx[name], j]
            cells += [name if v > 0 else "–", f"{v:.3f}"]
        mean = np.mean([frac[a, TARGETS.index(1e-2)] for a in idx.values()])
        lines.append(f"| f{f} {bbob.NAMES[f]} | {d} | " + " | ".join(cells) + f" | {mean:.3f} |")
    lines += ["", "Every arm and target: `bbob.csv`.", ""]
    if coco is not None:
        t_export, t_pp, figs = coco
        n_runs = sum(len(study["arms"]) * size["instances"] * size["starts"]
                     for _ in study["problems"])
        lines += ["## COCO's post-processing (cocopp)", "",
                  f"The study exported in COCO's format (`swarm.export.coco`, docs/coco.md: "
                  f"{len(study['arms'])} algorithms, one per arm, {n_runs:,} runs, budgets in "
                  f"gradient evaluations) in {t_export:.0f} s, then `python -m cocopp` on the "
                  f"{len(best_factor(study))} optimizers at their lr factor ({t_pp:.0f} s). "
                  f"COCO's data archive is online only, so the report shows swarm's runs alone. "
                  f"Its runtime ECDFs over all functions and COCO's 51 targets, per dimension "
                  f"(x: gradient evaluations / dimension, log scale; \"best 2009\" is the reference that "
                  f"cocopp ships, the best algorithm of BBOB 2009, whose x counts function "
                  f"evaluations):", ""]
        lines += [f"![cocopp runtime ECDF]({f})" for f in figs] + [""]
    return "\n".join(lines)


def shrink_svg(text):
    """A matplotlib SVG with the coordinates of its paths and markers rounded to 0.1 pt (an
    ECDF of 300 runs × 51 targets × 27 problems has tens of thousands of points): about 30 %
    smaller, the same picture."""
    import re
    one = re.compile(r"(\d+\.\d)\d+")
    text = re.sub(r'd="([^"]*)"', lambda m: 'd="' + one.sub(r"\1", m.group(1)) + '"', text)
    return re.sub(r'(x|y)="(-?\d+\.\d)\d+"', r'\1="\2"', text)


def coco_report(study, directory, figures_to=None):
    """Export every problem's runs in COCO's format to ``directory/export`` and run cocopp on
    each optimizer at its chosen lr factor into ``directory/cocopp`` (40 min for the full study
    on the 2-core machine: cocopp's bootstraps); copy its runtime ECDFs per dimension to
    ``figures_to`` (``bbob_cocopp_<d>D.svg``, :func:`shrink_svg`). Returns (export seconds,
    cocopp seconds, the copied figures)."""
    import subprocess

    from swarm import analysis, export
    d = Path(directory)
    results = list(study["results"].values())
    t0 = time.perf_counter()
    export.coco(results, d / "export", force=True)
    t_export = time.perf_counter() - t0
    names = [export.safe_name(n) for n in analysis.arm_names(results[0])]
    best = best_factor(study)
    algs = [names[study["arms"].index((name, fac))] for name, fac in sorted(best.items())]
    t0 = time.perf_counter()
    try:
        subprocess.run([sys.executable, "-m", "cocopp", "-o",
                        str(d / "cocopp"), *[str(d / "export" / a) for a in algs]],
                       check=True, capture_output=True, text=True,
                       env={**os.environ, "MPLBACKEND": "Agg"})
    except subprocess.CalledProcessError as e:
        raise RuntimeError(f"cocopp failed: {e.stderr[-2000:]}") from None
    t_pp = time.perf_counter() - t0
    copied = []
    if figures_to is not None:
        for dim in sorted({dd for _, dd in study["problems"]}):
            found = sorted((d / "cocopp").rglob(f"pprldmany_{dim:02d}D_noiselessall.svg"))
            if found:
                dest = Path(figures_to) / f"bbob_cocopp_{dim}D.svg"
                dest.write_text(shrink_svg(found[0].read_text()))
                copied.append(dest.name)
    return t_export, t_pp, copied


def main(argv=None, findings=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="docs/studies")
    p.add_argument("--coco", metavar="DIR", default=None,
                   help="also export the study in COCO's format to DIR/export and run cocopp "
                        "(pip install 'swarm[coco]') into DIR/cocopp")
    a = p.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    study = run(quick=a.quick, seed=a.seed, keep_results=a.coco is not None)
    write_csv(study, out / "bbob.csv")
    figure(study, out / "bbob.png")
    cmd = "python scripts/bbob_study.py " + " ".join(
        (["--quick"] if a.quick else []) + [f"--seed {a.seed}", f"--out {a.out}"]
        + ([f"--coco {a.coco}"] if a.coco else []))
    coco = None if a.coco is None else coco_report(study, a.coco, figures_to=out)
    if findings is None:
        findings = kept_findings(out / "bbob.md")
    text = markdown(study, cmd, version=swarm.__version__,
                    date=datetime.date.today().isoformat(), figure_name="bbob.png",
                    findings=findings, coco=coco)
    (out / "bbob.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    main()
