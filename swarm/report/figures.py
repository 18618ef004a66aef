"""Figures 1–4 of the report, drawn from the study's own outcomes (:mod:`swarm.analysis`
rows): P(global) per arm, P(global) against lr and σ, heatmaps, first-hit ECDF."""
from __future__ import annotations

import numpy as np

from swarm import analysis
from swarm.report.style import LINESTYLES, linestyles, new_fig, save_png, study_desc
from swarm.report.tables import fmt_prob


def fig_p_global(result, rows, colours, path, confidence):
    n = len(rows)
    fig = new_fig(8.5, 1.9 + 0.42 * n)
    ax = fig.add_subplot()
    y = np.arange(n)[::-1]
    pct = f"{confidence:.0%}"
    top = max([r["p_global_wilson_high"] for r in rows] + [
        r["p_global_high"] for r in rows if np.isfinite(r["p_global_high"])])
    xmax = 1.0 if top > 0.6 else min(1.0, top * 1.25 + 0.02)
    for i, r in enumerate(rows):
        c = colours[i]
        ax.plot([r["p_global_wilson_low"], r["p_global_wilson_high"]], [y[i] + 0.12] * 2,
                color=c, lw=5, solid_capstyle="butt", alpha=0.85,
                label=f"pooled Wilson {pct} (these instances)" if i == 0 else None)
        if np.isfinite(r["p_global_low"]):
            ax.errorbar(r["p_global"], y[i] - 0.12,
                        xerr=[[r["p_global"] - r["p_global_low"]],
                              [r["p_global_high"] - r["p_global"]]],
                        fmt="none", ecolor="black", elinewidth=1.2, capsize=4,
                        label=f"family-level {pct} (cluster-robust t over instances)" if i == 0
                        else None)
        ax.plot(r["p_global"], y[i], "o", color=c, mec="black", ms=8, zorder=3,
                label="estimate" if i == 0 else None)
        ax.annotate(fmt_prob(r["p_global"]), (max(r["p_global_wilson_high"], r["p_global_high"]
                                                  if np.isfinite(r["p_global_high"]) else 0),
                                              y[i]),
                    xytext=(6, -3), textcoords="offset points", fontsize=9)
    ax.set_yticks(y, [r["name"] for r in rows])
    ax.set_xlim(0, xmax * 1.08 if xmax < 1 else 1.08)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel("P(global minimum found)  [fraction of trajectories]")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"P(global) per optimizer\n{study_desc(result, short=True)}", fontsize=11)
    fig.legend(loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    save_png(fig, path)


def _interval(r):
    """The interval drawn for a row: the family-level one (cluster-robust t over instances)
    where there are several instances, pooled Wilson otherwise."""
    if np.isfinite(r["p_global_low"]):
        return r["p_global_low"], r["p_global_high"]
    return r["p_global_wilson_low"], r["p_global_wilson_high"]


def fig_p_vs_lr(result, rows, colours, path, confidence):
    """Curves of P(global) against lr; None when no optimizer label has two lr values."""
    labs = [lab for lab in analysis.labels(result)
            if len({r["lr"] for r in rows if r["label"] == lab and "lr" in r}) > 1]
    if not labs:
        return None
    sigmas = sorted({r["noise"] for r in rows})
    fig = new_fig(min(4.8 * len(sigmas), 15) + 1.0, 4.6)
    axes = fig.subplots(1, len(sigmas), squeeze=False, sharey=True)[0]
    styles = LINESTYLES + ["-"] * 10
    boot = any(np.isfinite(r["p_global_low"]) for r in rows)
    for ax, s in zip(axes, sigmas):
        for lab in labs:
            mine = [r for r in rows if r["label"] == lab and r["noise"] == s]
            other = [k for k in analysis.varying_keys(result, lab) if k not in ("lr", "noise")]
            groups = {}
            for r in mine:
                groups.setdefault(tuple(r.get(k) for k in other), []).append(r)
            for j, (key, grp) in enumerate(groups.items()):
                grp.sort(key=lambda r: r["lr"])
                lr = np.array([r["lr"] for r in grp])
                p = np.array([r["p_global"] for r in grp])
                lo, hi = np.array([_interval(r) for r in grp]).T
                extra = ", ".join(f"{k}={analysis.fmt_value(v)}" for k, v in zip(other, key))
                ax.errorbar(lr, p, yerr=[p - lo, hi - p], color=colours[grp[0]["arm"]],
                            ls=styles[j], marker="o", ms=5, capsize=3, lw=1.6,
                            label=lab + (f" ({extra})" if extra else ""))
        ax.set_xscale("log")
        ax.set_xlabel("learning rate lr (log scale)")
        ax.grid(alpha=0.3, which="both")
        if len(sigmas) > 1:
            ax.set_title(f"σ = {s:g}", fontsize=10)
    axes[0].set_ylabel("P(global minimum found)")
    axes[0].set_ylim(bottom=0)
    axes[-1].legend(fontsize=8, loc="best")
    kind = "family-level (cluster-robust t)" if boot else "pooled Wilson"
    fig.suptitle(f"P(global) against learning rate ({confidence:.0%} {kind} intervals)\n"
                 f"{study_desc(result, short=True)}", fontsize=11)
    save_png(fig, path)
    return labs


def fig_p_vs_noise(result, rows, colours, path, confidence):
    sigmas = sorted({r["noise"] for r in rows})
    if len(sigmas) < 2:
        return None
    names = analysis.arm_names(result, with_noise=False)
    fig = new_fig(8.5, 4.8)
    ax = fig.add_subplot()
    groups = {}
    for r in rows:
        groups.setdefault(names[r["arm"]], []).append(r)
    styles = linestyles(result)
    for name, grp in groups.items():
        grp.sort(key=lambda r: r["noise"])
        s = np.array([r["noise"] for r in grp])
        p = np.array([r["p_global"] for r in grp])
        lo, hi = np.array([_interval(r) for r in grp]).T
        ax.errorbar(s, p, yerr=[p - lo, hi - p], color=colours[grp[0]["arm"]],
                    ls=styles[grp[0]["arm"]], marker="o", ms=5, capsize=3, label=name)
    if min(sigmas) > 0 and max(sigmas) / min(sigmas) > 8:
        ax.set_xscale("log")
    ax.set_xlabel("gradient-noise standard deviation σ")
    ax.set_ylabel("P(global minimum found)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.set_title(f"P(global) against gradient noise σ\n{study_desc(result, short=True)}",
                 fontsize=11)
    save_png(fig, path)
    return True


def heatmap_groups(result):
    """Labels whose arms vary in exactly two keys (hyperparameters or σ): {label: (k1, k2)}."""
    out = {}
    for lab in analysis.labels(result):
        v = analysis.varying_keys(result, lab)
        if len(v) == 2:
            out[lab] = tuple(v)
    return out


def fig_heatmap(result, rows, label, keys, path):
    mine = [r for r in rows if r["label"] == label]
    kx, ky = keys
    xs = sorted({r[kx] for r in mine})
    ys = sorted({r[ky] for r in mine})
    M = np.full((len(ys), len(xs)), np.nan)
    for r in mine:
        M[ys.index(r[ky]), xs.index(r[kx])] = r["p_global"]
    fig = new_fig(max(6.5, 2.9 + 0.9 * len(xs)), 2.0 + 0.55 * len(ys))
    ax = fig.add_subplot()
    vmin, vmax = float(np.nanmin(M)), float(np.nanmax(M))
    if vmax - vmin < 1e-9:
        vmin, vmax = max(0.0, vmin - 0.01), min(1.0, vmax + 0.01)
    im = ax.imshow(M, origin="lower", cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto")
    for i in range(len(ys)):
        for j in range(len(xs)):
            if np.isfinite(M[i, j]):
                dark = (M[i, j] - vmin) < 0.6 * (vmax - vmin)
                ax.text(j, i, fmt_prob(M[i, j]), ha="center", va="center",
                        fontsize=8 if len(xs) < 8 else 6, color="white" if dark else "black")
    name = {"noise": "gradient noise σ", "lr": "learning rate lr"}
    ax.set_xticks(range(len(xs)), [analysis.fmt_value(x) for x in xs])
    ax.set_yticks(range(len(ys)), [analysis.fmt_value(y) for y in ys])
    ax.set_xlabel(name.get(kx, kx))
    ax.set_ylabel(name.get(ky, ky))
    fig.colorbar(im, ax=ax, label="P(global minimum found)")
    short = {"noise": "σ"}
    ax.set_title(f"{label}: P(global) over {short.get(kx, kx)} × {short.get(ky, ky)}\n"
                 f"{study_desc(result, short=True)}",
                 fontsize=10)
    save_png(fig, path)


def fig_ecdf(result, ecdf_rows, colours, path):
    fig = new_fig(10, 4.8)
    ax = fig.add_subplot()
    styles = linestyles(result)
    for r in ecdf_rows:
        t = np.maximum(r["steps"], 1)          # hits at step 0 are drawn at step 1
        ax.step(t, r["fraction"], where="post", color=colours[r["arm"]], ls=styles[r["arm"]],
                lw=1.8, label=r["name"])
    ax.set_xscale("log")
    ax.set_xlim(1, max(int(result.spec["steps"]), 2))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("step t (optimizer updates, log scale)")
    ax.set_ylabel("fraction of trajectories at the global\ntarget by step t")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    tol = result.spec.get("tol_x")
    tf = result.spec.get("tol_f")
    target = f"‖x − x*‖ ≤ {tol:g}" + (f" or f − f* ≤ {tf:g}" if tf is not None else "")
    ax.set_title(f"First hit of the global target ({target}): ECDF\n"
                 f"{study_desc(result, short=True)}", fontsize=11)
    save_png(fig, path)

