"""The seed article's claims, measured: does momentum escape local minima more often than SGD,
and is Adam the best of the six?

For two random landscape families (2-D Gaussian peaks, 2-D Rastrigin), noise-free and with
gradient noise, the six optimizers run from the same starts with the same noise (common random
numbers). Momentum is compared with SGD twice: at the same learning rate (the article's framing)
and at the same effective step ``lr/(1−μ)`` (the fair comparison: heavy-ball momentum at ``lr``
moves like SGD at ``lr/(1−μ)`` on smooth slopes, and runs at that temperature under noise).
Every comparison is a paired exact McNemar test on the same (instance, start) keys, with Holm's
correction over all comparisons of a table. P(global) comes with the pooled Wilson interval
(trajectories independent: these instances) and the cluster-robust t interval over instances
(``swarm.stats.cluster_t``: the family of random landscapes). Writes ``seed_claims.md`` and the
figure ``seed_claims.png``.

    python scripts/seed_claims.py [--instances 20] [--starts 5000] [--steps 2000] [--seed 0]
                                  [--out docs/studies]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import swarm
from swarm import landscapes, optimizers, stats

O = optimizers
SETUPS = {
    "gaussian_peaks": dict(
        family=lambda: landscapes.gaussian_peaks(dim=2, peaks=21), noise=(0.0, 1.0),
        arms=[O.sgd(lr=0.02), O.momentum(lr=0.02, momentum=0.9, label="momentum (same lr)"),
              O.momentum(lr=0.002, momentum=0.9, label="momentum (same lr/(1−μ))"),
              O.nesterov(lr=0.002, momentum=0.9), O.adagrad(lr=0.5), O.rmsprop(lr=0.02),
              O.adam(lr=0.05)]),
    "rastrigin": dict(
        family=lambda: landscapes.rastrigin(dim=2), noise=(0.0, 30.0),
        arms=[O.sgd(lr=0.002), O.momentum(lr=0.002, momentum=0.9, label="momentum (same lr)"),
              O.momentum(lr=0.0002, momentum=0.9, label="momentum (same lr/(1−μ))"),
              O.nesterov(lr=0.0002, momentum=0.9), O.adagrad(lr=0.2), O.rmsprop(lr=0.01),
              O.adam(lr=0.05)]),
}


def study(name, noise, instances, starts, steps, seed):
    s = SETUPS[name]
    t0 = time.perf_counter()
    res = swarm.run(s["family"](), s["arms"], instances=instances, starts=starts, steps=steps,
                    noise=noise, seed=seed)
    res.provenance["wall_s"] = time.perf_counter() - t0
    return res


def compare(res, a, b):
    """Paired comparison of arms a and b: P(global) of each, P(escaped to global), McNemar."""
    oa, ob = res.arm(a), res.arm(b)
    t = stats.mcnemar(oa["success"].ravel(), ob["success"].ravel())
    return {"a": res.arms[a]["label"], "b": res.arms[b]["label"],
            "p_a": float(oa["success"].mean()), "p_b": float(ob["success"].mean()),
            "esc_a": float(oa["escaped_to_global"].mean()),
            "esc_b": float(ob["escaped_to_global"].mean()),
            "n01": t.n01, "n10": t.n10, "pvalue": t.pvalue}


def run(instances=20, starts=5000, steps=2000, seed=0, names=tuple(SETUPS)):
    """For each landscape × noise level: the study's table rows and the paired comparisons
    (momentum vs SGD at the same lr and at the same lr/(1−μ); Adam vs each other optimizer),
    Holm-adjusted within the study."""
    out = []
    for name in names:
        for noise in SETUPS[name]["noise"]:
            res = study(name, noise, instances, starts, steps, seed)
            labels = [a["label"] for a in res.arms]
            sgd, same, matched = 0, 1, 2
            adam = labels.index("adam")
            comps = [compare(res, same, sgd), compare(res, matched, sgd)]
            comps += [compare(res, adam, i) for i in range(len(labels)) if i != adam]
            adj = stats.holm([c["pvalue"] for c in comps])
            for c, p in zip(comps, adj):
                c["p_holm"] = float(p)
            out.append({"landscape": name, "noise": noise, "table": res.table(),
                        "comparisons": comps, "result": res})
    return out


def _ci(low, high):
    return "–" if not (np.isfinite(low) and np.isfinite(high)) else f"[{low:.4f}, {high:.4f}]"


def markdown(studies, command, figure=None):
    lines = ["# The seed article's claims, measured", "", f"`{command}`", ""]
    if figure:
        lines += [f"![P(global) per optimizer]({figure})", "",
                  "Dot: P(global); thick bar: pooled Wilson 95 % interval (these instances); "
                  "thin bar: cluster-robust t 95 % interval over instances (a random landscape "
                  "of the family).", ""]
    for s in studies:
        r0 = s["result"].spec
        lines += [f"## {s['landscape']} (2-D), noise σ = {s['noise']:g}", "",
                  f"{r0['instances']} instances × {r0['starts']} starts, {r0['steps']} steps, "
                  f"seed {r0['seed']}.", "",
                  "| optimizer | lr | P(global) | 95% CI (pooled Wilson) | 95% CI over instances "
                  "(cluster-robust t) | P(escape → global) | diverged |",
                  "|---|---|---|---|---|---|---|"]
        for r in s["table"]:
            lines.append(f"| {r['label']} | {r['lr']:g} | {r['p_global']:.4f} | "
                         f"{_ci(r['p_global_wilson_low'], r['p_global_wilson_high'])} | "
                         f"{_ci(r['p_global_low'], r['p_global_high'])} | "
                         f"{r['p_escape_to_global']:.4f} | {r['diverged']} |")
        lines += ["", "| comparison | P(global) a | P(global) b | a only | b only | "
                  "p (McNemar) | p (Holm) |", "|---|---|---|---|---|---|---|"]
        for c in s["comparisons"]:
            lines.append(f"| {c['a']} vs {c['b']} | {c['p_a']:.4f} | {c['p_b']:.4f} | "
                         f"{c['n10']} | {c['n01']} | {c['pvalue']:.3g} | {c['p_holm']:.3g} |")
        lines.append("")
    return "\n".join(lines)


def figure(studies, path):
    """One panel per study: P(global) per optimizer with the pooled Wilson (thick) and the
    cluster-robust t over instances (thin, capped) 95 % intervals."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator
    ncol = min(2, len(studies))
    nrow = -(-len(studies) // ncol)
    fig = Figure(figsize=(6.2 * ncol, 3.4 * nrow), dpi=120, layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    for ax, s in zip(axes, studies):
        rows = s["table"]
        y = np.arange(len(rows))[::-1]
        for yi, r in zip(y, rows):
            ax.plot([r["p_global_wilson_low"], r["p_global_wilson_high"]], [yi + 0.12] * 2,
                    color="tab:blue", lw=5, solid_capstyle="butt", alpha=0.7)
            if np.isfinite(r["p_global_low"]):
                ax.errorbar(r["p_global"], yi - 0.12, xerr=[[r["p_global"] - r["p_global_low"]],
                                                            [r["p_global_high"] - r["p_global"]]],
                            fmt="none", ecolor="black", capsize=4, elinewidth=1.2)
            ax.plot(r["p_global"], yi, "o", color="tab:blue", mec="black", ms=6, zorder=3)
        ax.set_yticks(y, [r["label"] for r in rows], fontsize=8)
        ax.set_xlabel("P(global minimum found)")
        ax.xaxis.set_major_locator(MaxNLocator(6))
        ax.grid(axis="x", alpha=0.3)
        spec = s["result"].spec
        ax.set_title(f"{s['landscape']} (2-D), σ = {s['noise']:g}: {spec['instances']} "
                     f"instances × {spec['starts']} starts", fontsize=10)
    for ax in axes[len(studies):]:
        ax.set_axis_off()
    fig.suptitle("The seed article's claims: P(global) per optimizer (thick: pooled Wilson "
                 "95 %; thin: cluster-robust t 95 % over instances)", fontsize=10)
    fig.savefig(path, facecolor="white")
    return Path(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--instances", type=int, default=20)
    ap.add_argument("--starts", type=int, default=5000)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="docs/studies")
    args = ap.parse_args(argv)
    studies = run(args.instances, args.starts, args.steps, args.seed)
    cmd = (f"python scripts/seed_claims.py --instances {args.instances} --starts {args.starts}"
           f" --steps {args.steps} --seed {args.seed} --out {args.out}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    figure(studies, out / "seed_claims.png")
    text = markdown(studies, cmd, figure="seed_claims.png")
    (out / "seed_claims.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
