"""Learning-rate annealing at the same initial temperature: does a cosine or step-decay
schedule raise P(global) over a constant learning rate?

The gradient noise is additive (σ), so noisy SGD at step lr runs at temperature
T = lr·σ²/2 (heavy-ball momentum at lr/(1−μ)·σ²/2) and a decaying schedule cools the run with
it: an annealed run ends cold, in the basin it is in, while a constant run keeps hopping to the
last step. For each landscape (2-D Rastrigin; 2-D Gaussian peaks, many random instances) and
two noise levels, every optimizer runs three schedules from the same base lr — ``constant()``,
``cosine(T_max=steps)`` (to η_min = 0) and ``step(step_size=steps//4, gamma=0.5)`` (ends at
lr/8) — so each annealed arm starts at its constant arm's temperature. Optimizers: SGD at lr,
heavy-ball momentum (μ = 0.9) at lr·(1−μ) (the same T₀ as SGD), Adam and NAdam at lr·σ (their
steps are normalised by √v ≈ σ, so that T₀ ≈ lr_adam·σ/2 is again about SGD's). All arms of a
run share the starts and the noise (common random numbers): each annealed arm is compared with
its constant arm on the same (instance, start) keys — the paired difference with the
cluster-robust t 95 % interval over instances (the family-level question) and the exact
McNemar test, Holm-adjusted over all the study's annealed-vs-constant comparisons. Writes
``annealing.md``, ``annealing.csv`` (the per-arm table) and the figure ``annealing.png``.

    python scripts/annealing.py [--quick] [--seed 0] [--out docs/studies]
"""
from __future__ import annotations

import argparse
import csv
import datetime
import math
import sys
import time
from pathlib import Path

import numpy as np

import swarm
from swarm import landscapes, optimizers, schedules, stats

MU = 0.9
OPTIMIZERS = ("sgd", "momentum", "adam", "nadam")
SCHEDULES = ("constant", "cosine", "step")
# per landscape: the family, SGD's base lr, the noise levels (one run each), the study's size
SETUPS = {
    "rastrigin": dict(family=lambda: landscapes.rastrigin(dim=2), lr=0.002, noise=(60.0, 80.0),
                      instances=10, starts=1500, steps=8000),
    "gaussian_peaks": dict(family=lambda: landscapes.gaussian_peaks(dim=2, peaks=21), lr=0.03,
                           noise=(4.0, 8.0), instances=100, starts=200, steps=2000),
}
QUICK = dict(instances=3, starts=20, steps=40)


def schedule_set(steps):
    """The three schedules of a run of ``steps`` updates, by name."""
    return {"constant": schedules.constant(), "cosine": schedules.cosine(T_max=steps),
            "step": schedules.step(step_size=max(1, steps // 4), gamma=0.5)}


def base_lrs(lr, sigma):
    """Each optimizer's base lr: SGD's, momentum's at lr·(1−μ) (same T₀), Adam's at lr·σ."""
    return {"sgd": lr, "momentum": lr * (1 - MU), "adam": lr * sigma, "nadam": lr * sigma}


def temperature(name, lr, sigma):
    """Initial temperature: lr·σ²/2 (SGD), lr·σ²/(2(1−μ)) (momentum), ≈ lr·σ/2 (Adam-family,
    steps normalised by √v ≈ σ)."""
    if name == "sgd":
        return lr * sigma ** 2 / 2
    if name == "momentum":
        return lr * sigma ** 2 / (2 * (1 - MU))
    return lr * sigma / 2


def arms(lr, sigma, steps):
    sch = tuple(schedule_set(steps).values())
    lrs = base_lrs(lr, sigma)
    O = optimizers
    return [O.sgd(lr=lrs["sgd"], schedule=sch),
            O.momentum(lr=lrs["momentum"], momentum=MU, schedule=sch),
            O.adam(lr=lrs["adam"], schedule=sch), O.nadam(lr=lrs["nadam"], schedule=sch)]


def arm_keys(result, steps):
    """(optimizer label, schedule name) of every arm, in ``result.arms`` order."""
    names = {str(s): k for k, s in schedule_set(steps).items()}
    return [(m["label"], names[m.get("schedule", str(schedules.constant()))])
            for m in result.arms]


def paired_difference(result, a, b, confidence=0.95):
    """Arm ``b`` against arm ``a`` on the same (instance, start) keys: P(b) − P(a) with the
    cluster-robust t interval over instances (the CR1 sandwich of the ratio estimator, t on
    instances − 1 df, as for the family-level P(global) interval) and the exact McNemar
    test."""
    from scipy import stats as sps
    agg = result.aggregate
    k, n = agg.count("successes"), agg.count("n")
    d_i, n_i = (k[b] - k[a]).astype(float), n[a].astype(float)
    C = d_i.size
    D = d_i.sum() / n_i.sum()
    lo = hi = math.nan
    if C >= 2:
        resid = d_i - D * n_i
        se = math.sqrt(C / (C - 1) * float(np.sum(resid ** 2))) / n_i.sum()
        q = sps.t.ppf(0.5 + confidence / 2, C - 1)
        lo, hi = D - q * se, D + q * se
    # pairs[x, y]: keys where arm x succeeded and y failed; n01 = a fails, b succeeds
    m = stats.mcnemar_counts(int(agg.pairs[b, a]), int(agg.pairs[a, b]), int(n_i.sum()))
    return {"difference": D, "diff_low": lo, "diff_high": hi, "b_only": m.n01,
            "a_only": m.n10, "pvalue": m.pvalue}


def study(name, sigma, instances, starts, steps, seed):
    s = SETUPS[name]
    t0 = time.perf_counter()
    res = swarm.run(s["family"](), arms(s["lr"], sigma, steps), instances=instances,
                    starts=starts, steps=steps, noise=sigma, seed=seed)
    res.provenance["wall_s"] = time.perf_counter() - t0
    return res


def run(quick=False, seed=0, names=tuple(SETUPS)):
    """One entry per landscape × σ: its Result, the per-arm table (with optimizer, schedule,
    base lr and T₀ added), and the annealed-vs-constant comparisons (Holm over all of them)."""
    out = []
    for name in names:
        s = SETUPS[name]
        size = QUICK if quick else {k: s[k] for k in QUICK}
        for sigma in s["noise"]:
            res = study(name, sigma, seed=seed, **size)
            keys = arm_keys(res, size["steps"])
            table = res.table()
            for row, (opt, sch) in zip(table, keys):
                row.update(optimizer=opt, schedule_name=sch,
                           T0=temperature(opt, row["lr"], sigma))
            index = {k: i for i, k in enumerate(keys)}
            comps = []
            for opt in OPTIMIZERS:
                a = index[(opt, "constant")]
                for sch in SCHEDULES[1:]:
                    b = index[(opt, sch)]
                    comps.append({"optimizer": opt, "schedule": sch,
                                  "p_constant": table[a]["p_global"],
                                  "p_annealed": table[b]["p_global"],
                                  **paired_difference(res, a, b)})
            out.append({"landscape": name, "noise": sigma, "table": table,
                        "comparisons": comps, "result": res})
    adj = stats.holm([c["pvalue"] for s in out for c in s["comparisons"]])
    for c, p in zip((c for s in out for c in s["comparisons"]), adj):
        c["p_holm"] = float(p)
    return out


def _ci(low, high, fmt=".4f"):
    if not (np.isfinite(low) and np.isfinite(high)):
        return "–"
    return f"[{low:{fmt}}, {high:{fmt}}]"


def _p(p):
    return f"{p:.2g}" if p >= 1e-300 else "< 1e-300"


def markdown(studies, command, *, version, date, wall_s, figure=None, findings=None):
    lines = ["# Annealing the learning rate at the same initial temperature", "",
             f"`{command}`", "",
             f"swarm {version}, {date}; {wall_s:.0f} s wall on the 2-core machine of "
             f"`docs/studies/README.md` (CPU backend, float64).", ""]
    if findings:
        lines += ["## Findings", "", findings.strip(), ""]
    if figure:
        lines += [f"![P(global) per optimizer and schedule]({figure})", "",
                  "Dot: P(global); bar: family-level 95 % interval (cluster-robust t over "
                  "instances, a landscape drawn from the family). Right: the learning-rate "
                  "sequences (`Schedule.lrs`) relative to the base lr.", ""]
    lines += ["## Set-up", "",
              "Schedules, each from the optimizer's base lr over the run's `steps` updates: "
              "`constant()`, `cosine(T_max=steps)` (to 0), `step(step_size=steps//4, "
              "gamma=0.5)` (lr, lr/2, lr/4, lr/8). Base lr: SGD lr, momentum lr·(1−μ) with "
              f"μ = {MU} (same T₀ = lr·σ²/2 as SGD), Adam and NAdam lr·σ (T₀ ≈ lr·σ/2 with "
              "their steps normalised by √v ≈ σ: about SGD's). T₀ below is that formula.", ""]
    for s in studies:
        spec = s["result"].spec
        lines += [f"## {s['landscape']} (2-D), noise σ = {s['noise']:g}", "",
                  f"{spec['instances']} instances × {spec['starts']} starts, {spec['steps']} "
                  f"steps, seed {spec['seed']}; {s['result'].provenance['wall_s']:.0f} s.", "",
                  "| optimizer | schedule | base lr | T₀ | P(global) | family-level 95 % | "
                  "pooled Wilson 95 % | P(escape) | diverged |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in s["table"]:
            lines.append(f"| {r['optimizer']} | {r['schedule_name']} | {r['lr']:g} | "
                         f"{r['T0']:.3g} | {r['p_global']:.4f} | "
                         f"{_ci(r['p_global_low'], r['p_global_high'])} | "
                         f"{_ci(r['p_global_wilson_low'], r['p_global_wilson_high'])} | "
                         f"{r['p_escape']:.4f} | {r['diverged']} |")
        lines += ["", "| optimizer | annealed vs constant | P(global) constant → annealed | "
                  "difference | 95 % over instances | annealed only | constant only | "
                  "p (McNemar) | p (Holm) |", "|---|---|---|---|---|---|---|---|---|"]
        for c in s["comparisons"]:
            lines.append(f"| {c['optimizer']} | {c['schedule']} | {c['p_constant']:.4f} → "
                         f"{c['p_annealed']:.4f} | {c['difference']:+.4f} | "
                         f"{_ci(c['diff_low'], c['diff_high'], '+.4f')} | {c['b_only']} | "
                         f"{c['a_only']} | {_p(c['pvalue'])} | {_p(c['p_holm'])} |")
        lines.append("")
    return "\n".join(lines)


COLORS = {"constant": "tab:grey", "cosine": "tab:blue", "step": "tab:orange"}


def figure(studies, path):
    """One panel per landscape × σ: P(global) per optimizer × schedule with the family-level
    interval; a side panel with the lr sequences relative to the base lr."""
    from matplotlib.figure import Figure
    names = list(dict.fromkeys(s["landscape"] for s in studies))
    ncol = max(len([s for s in studies if s["landscape"] == n]) for n in names)
    fig = Figure(figsize=(4.3 * ncol + 3.4, 3.4 * len(names)), dpi=120, layout="constrained")
    gs = fig.add_gridspec(len(names), ncol + 1, width_ratios=[1] * ncol + [0.75])
    for s in studies:
        i = names.index(s["landscape"])
        j = [t for t in studies if t["landscape"] == s["landscape"]].index(s)
        ax = fig.add_subplot(gs[i, j])
        for r in s["table"]:
            x = OPTIMIZERS.index(r["optimizer"]) + 0.22 * (SCHEDULES.index(r["schedule_name"])
                                                           - 1)
            lo, hi = r["p_global_low"], r["p_global_high"]
            if np.isfinite(lo):
                ax.errorbar(x, r["p_global"], yerr=[[r["p_global"] - lo], [hi - r["p_global"]]],
                            fmt="none", ecolor=COLORS[r["schedule_name"]], capsize=3, lw=1.4)
            ax.plot(x, r["p_global"], "o", color=COLORS[r["schedule_name"]], mec="black",
                    ms=5, zorder=3)
        ax.set_xticks(range(len(OPTIMIZERS)), OPTIMIZERS, fontsize=9)
        ax.set_ylim(bottom=0)
        ax.set_ylabel("P(global)")
        ax.grid(axis="y", alpha=0.3)
        spec = s["result"].spec
        ax.set_title(f"{s['landscape']}, σ = {s['noise']:g} (SGD T₀ = "
                     f"{temperature('sgd', SETUPS[s['landscape']]['lr'], s['noise']):.3g}): "
                     f"{spec['instances']} × {spec['starts']}", fontsize=9)
    ax = fig.add_subplot(gs[0, ncol])
    steps = int(studies[0]["result"].spec["steps"])
    t = np.arange(1, steps + 1)
    for name, sch in schedule_set(steps).items():
        ax.plot(t / steps, sch.lrs(1.0, steps), color=COLORS[name], lw=1.6,
                label=f"{name}: {sch}")
    ax.set_xlabel("step / steps")
    ax.set_ylabel("lr / base lr  (= T / T₀)")
    ax.set_title("schedules (Schedule.lrs)", fontsize=9)
    ax.legend(fontsize=6.5, loc="upper right")
    ax.grid(alpha=0.3)
    if len(names) > 1:
        lg = fig.add_subplot(gs[1:, ncol])
        lg.set_axis_off()
        lg.text(0, 0.95, "dot: P(global)\nbar: family-level 95 %\n(cluster-robust t over\n"
                "instances)\n\nmomentum at lr·(1−μ),\nAdam/NAdam at lr·σ:\nsame T₀ as SGD",
                va="top", fontsize=8)
    fig.suptitle("Annealed vs constant learning rate at the same initial temperature",
                 fontsize=10)
    fig.savefig(path, facecolor="white")
    return Path(path)


CSV_COLUMNS = ("landscape", "noise", "optimizer", "schedule_name", "lr", "T0", "n",
               "successes", "p_global", "p_global_low", "p_global_high", "p_global_wilson_low",
               "p_global_wilson_high", "p_escape", "diverged")


def write_csv(studies, path):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for s in studies:
            for r in s["table"]:
                row = {**r, "landscape": s["landscape"], "noise": s["noise"]}
                w.writerow([f"{row[c]:.6g}" if isinstance(row[c], float) else row[c]
                            for c in CSV_COLUMNS])
    return Path(path)


def kept_findings(path):
    """The hand-written ``## Findings`` section of an earlier ``annealing.md`` (kept when the
    study is regenerated; its numbers are checked by hand against the new tables), or None."""
    path = Path(path)
    if not path.is_file():
        return None
    text = path.read_text()
    head = "\n## Findings\n"
    if head not in text:
        return None
    body = text.split(head, 1)[1]
    end = min((i for i in (body.find("\n## "), body.find("\n![")) if i >= 0),
              default=len(body))
    return body[:end].strip() or None


def main(argv=None, findings=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help=f"tiny run ({QUICK['instances']} instances × {QUICK['starts']} starts "
                         f"× {QUICK['steps']} steps), for the test")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="docs/studies")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    studies = run(args.quick, args.seed)
    wall = time.perf_counter() - t0
    cmd = "python scripts/annealing.py " + " ".join(
        (["--quick"] if args.quick else []) + [f"--seed {args.seed}", f"--out {args.out}"])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    figure(studies, out / "annealing.png")
    write_csv(studies, out / "annealing.csv")
    if findings is None:
        findings = kept_findings(out / "annealing.md")
    text = markdown(studies, cmd, version=swarm.__version__,
                    date=datetime.date.today().isoformat(), wall_s=wall,
                    figure="annealing.png", findings=findings)
    (out / "annealing.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
