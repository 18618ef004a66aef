"""A study's report: ``report.md``, a self-contained ``report.html`` and ``figures/*.png``.

>>> swarm.report.write(result, "out/")          # doctest: +SKIP

Every number in the tables is a value of :mod:`swarm.analysis`, formatted with fixed decimals
(:func:`fmt_prob` and friends); the figures draw the same values. Figures (matplotlib, Agg,
no pyplot state touched):

1. ``p_global.png``      P(global) per arm with the family-level (cluster-robust t over
                         instances) and the pooled Wilson intervals
2. ``p_vs_lr.png``       P(global) against the learning rate, one curve per optimizer (when a
                         label has several lr); ``p_vs_noise.png`` against σ (several σ)
3. ``heatmap_<label>.png`` P(global) over two hyperparameters of one optimizer that form a grid
4. ``ecdf.png``          fraction of trajectories at the global target by each step (log x)
5. ``basin_maps.png``    2-D only, extra run: end basin of every cell of a grid of starts on
                         instance 0, σ = 0, one panel per optimizer configuration (≤ 6)
6. ``trajectories.png``  2-D only, extra run: paths (:func:`swarm.path`, σ = 0) of every
                         configuration from a few starts where their outcomes differ (first, if
                         there is one, a start where momentum reaches the global basin and SGD
                         stops in a local minimum; "rolls through" only when momentum's path
                         passes SGD's end point)

The headline is the per-arm table of :func:`swarm.analysis.overall` — the same rows as
``summary.csv`` / ``summary.txt`` (``tables/overall.csv`` is written by the same
:meth:`~swarm.result.Result.to_csv`, so the two files are identical); its columns are listed in
``docs/columns.md``. ``tables/*.csv`` hold the full tables (the report shows at most 60 pairs of
the paired table).

The report depends only on the result: regenerating it (``swarm report DIR``) gives the same
bytes (no generation time or timing of the report itself is written; the study's provenance,
from its manifest, is).
"""
from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import re
import traceback
import warnings
from pathlib import Path

import numpy as np

from swarm import analysis

DPI = 120
MAX_MAP_CONFIGS = 6
MAX_PAIRS_SHOWN = 60
BASIN_GRID = 60
MIN_GRID = 15
# below this many instances, instance-level intervals are flagged as rough
FEW_INSTANCES = 10
# extra runs (basin maps) are sized to at most this many trajectory-steps
EXTRA_BUDGET = 3e8
GLOBAL_COLOURS = ["#b2182b", "#2166ac", "#1b7837", "#762a83"]
DIVERGED_COLOUR = "#4d4d4d"
FAILED = object()            # what a figure step returns when it raised


class _Skip(Exception):
    """A figure that is not drawn for a stated reason (not a failure)."""
LOCAL_COLOURS = ["#8dd3c7", "#ffffb3", "#bebada", "#80b1d3", "#fdb462", "#b3de69",
                 "#fccde5", "#ccebc5", "#ffed6f", "#d9d9f3", "#a6cee3", "#cab2d6",
                 "#e5d8bd", "#b2df8a"]


# ---------------------------------------------------------------------------- formatting

def fmt_prob(x) -> str:
    """A probability with 4 decimals; ``–`` for nan."""
    return "–" if x is None or not np.isfinite(x) else f"{x:.4f}"


def fmt_ci(low, high) -> str:
    if low is None or high is None or not (np.isfinite(low) and np.isfinite(high)):
        return "–"
    return f"[{low:.4f}, {high:.4f}]"


def fmt_pvalue(p) -> str:
    """4 decimals, or 3 significant digits in scientific notation below 1e-4."""
    if p is None or not np.isfinite(p):
        return "–"
    return f"{p:.4f}" if p >= 1e-4 or p == 0 else f"{p:.2e}"


def fmt_steps(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if np.isinf(x):
        return "∞"
    return f"{x:.0f}"


def fmt_signed(x) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:+.4f}"


def fmt_signed_ci(low, high) -> str:
    if low is None or not (np.isfinite(low) and np.isfinite(high)):
        return "–"
    return f"[{low:+.4f}, {high:+.4f}]"


# ---------------------------------------------------------------------------- document

class _Doc:
    """Blocks rendered both to Markdown and to self-contained HTML."""

    def __init__(self):
        self.blocks = []

    def h(self, level, text):
        self.blocks.append(("h", level, text))

    def p(self, text):
        self.blocks.append(("p", text))

    def items(self, lines):
        self.blocks.append(("ul", list(lines)))

    def pre(self, text):
        self.blocks.append(("pre", text))

    def table(self, headers, rows, note=None):
        self.blocks.append(("table", list(headers), [list(r) for r in rows], note))

    def figure(self, fname, caption):
        self.blocks.append(("fig", fname, caption))

    def markdown(self):
        out = []
        t = _md_text
        for b in self.blocks:
            if b[0] == "h":
                out += ["#" * b[1] + " " + t(b[2]), ""]
            elif b[0] == "p":
                out += [t(b[1]), ""]
            elif b[0] == "ul":
                out += [f"- {t(x)}" for x in b[1]] + [""]
            elif b[0] == "pre":     # a fence longer than any run of backticks inside
                runs = [len(r) for r in re.findall("`+", b[1])]
                fence = "`" * max([3] + [r + 1 for r in runs])
                out += [fence, b[1], fence, ""]
            elif b[0] == "table":
                _, headers, rows, note = b
                out.append("| " + " | ".join(t(h) for h in headers) + " |")
                out.append("|" + "|".join("---" for _ in headers) + "|")
                for r in rows:
                    out.append("| " + " | ".join(t(str(c)).replace("|", "\\|") for c in r)
                               + " |")
                out.append("")
                if note:
                    out += [t(note), ""]
            elif b[0] == "fig":
                alt = t(b[2]).replace("[", "\\[").replace("]", "\\]")
                out += [f"![{alt}](figures/{b[1]})", "", f"*{t(b[2])}*", ""]
        return "\n".join(out)

    def html(self, figdir, title):
        e = html.escape
        body = []
        for b in self.blocks:
            if b[0] == "h":
                body.append(f"<h{b[1]}>{e(b[2])}</h{b[1]}>")
            elif b[0] == "p":
                body.append(f"<p>{_inline(b[1])}</p>")
            elif b[0] == "ul":
                body.append("<ul>" + "".join(f"<li>{_inline(x)}</li>" for x in b[1]) + "</ul>")
            elif b[0] == "pre":
                body.append(f"<pre>{e(b[1])}</pre>")
            elif b[0] == "table":
                _, headers, rows, note = b
                t = ["<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in headers)
                     + "</tr></thead><tbody>"]
                for r in rows:
                    t.append("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>")
                t.append("</tbody></table>")
                body.append("".join(t))
                if note:
                    body.append(f"<p class='note'>{_inline(note)}</p>")
            elif b[0] == "fig":
                data = base64.b64encode((figdir / b[1]).read_bytes()).decode("ascii")
                body.append(f"<figure><img alt='{e(b[2], quote=True)}' "
                            f"src='data:image/png;base64,{data}'/>"
                            f"<figcaption>{e(b[2])}</figcaption></figure>")
        css = ("body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1200px;"
               "margin:2em auto;padding:0 1em;color:#222;line-height:1.45}"
               "table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}"
               "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}"
               "th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}"
               "pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:.85em}"
               "figure{margin:1em 0}img{max-width:100%;height:auto}"
               "figcaption{font-style:italic;color:#444;margin-top:.3em}"
               "code{background:#f0f0f0;padding:0 .2em}.note{color:#555;font-size:.9em}")
        return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
                f"<title>{e(title)}</title><style>{css}</style></head><body>\n"
                + "\n".join(body) + "\n</body></html>\n")


_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


def _md_text(text):
    """Markdown text with raw HTML neutralised: outside `code` spans (inside them Markdown
    shows characters as they are) a ``<`` that could open a tag, comment, declaration or
    autolink becomes ``&lt;`` (``2 < 10`` stays), and control characters are escaped — so
    that a label cannot inject markup into report.md."""
    from swarm.result import printable
    parts = printable(text).split("`")
    for i in range(0, len(parts), 2):
        parts[i] = _TAG_START.sub("&lt;", parts[i])
    return "`".join(parts)


def _inline(text):
    """Escape, then render `code` spans."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


# ---------------------------------------------------------------------------- colours

def _shade(colour, t):
    """Mix ``colour`` with white by ``t`` in [0, 1)."""
    from matplotlib.colors import to_rgb
    r, g, b = to_rgb(colour)
    return (r + (1 - r) * t, g + (1 - g) * t, b + (1 - b) * t)


def arm_colours(result) -> list:
    """One colour per arm: a base colour per optimizer label (tab10 in study order), lighter
    shades for further configurations of the same label; the same in every figure."""
    from matplotlib import colormaps
    labs = analysis.labels(result)
    cmap = colormaps["tab10" if len(labs) <= 10 else "tab20"]
    base = {lab: cmap(i % cmap.N) for i, lab in enumerate(labs)}
    cfg_names = analysis.arm_names(result, with_noise=False)
    out = []
    for a, meta in enumerate(result.arms):
        same = []
        for b, m in enumerate(result.arms):
            if m["label"] == meta["label"] and cfg_names[b] not in same:
                same.append(cfg_names[b])
        i = same.index(cfg_names[a])
        out.append(_shade(base[meta["label"]], 0.55 * i / max(len(same), 1)))
    return out


_LINESTYLES = ["-", "--", "-.", ":"]


def _linestyles(result):
    """Line style per arm: cycles over the configurations of a label."""
    seen = {}
    out = []
    for meta in result.arms:
        i = seen.get(meta["label"], 0)
        seen[meta["label"]] = i + 1
        out.append(_LINESTYLES[i % len(_LINESTYLES)])
    return out


# ---------------------------------------------------------------------------- helpers

def _study_desc(result, short=False):
    s = result.spec
    lan = s["landscape"]
    sig = ", ".join(f"{x:g}" for x in s["noise"])
    inst = "instance" if s["instances"] == 1 else "instances"
    d = (f"{lan['name']} ({lan['dim']}-D): {s['instances']} {inst} × {s['starts']} starts, "
         f"{s['steps']} steps, σ = {sig}")
    return d if short else d + f", seed {s['seed']}, {s.get('dtype', 'float64')}"


def _new_fig(w, h, layout="constrained"):
    from matplotlib.figure import Figure
    return Figure(figsize=(w, h), dpi=DPI, layout=layout)


def _save(fig, path):
    """Save a figure atomically, never through a symbolic link."""
    from swarm.checkpoint import atomic_write
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white", bbox_inches="tight",
                pad_inches=0.12)
    atomic_write(path, buf.getvalue())


def _family(result):
    from swarm import landscapes
    return landscapes.from_dict(result.spec["landscape"])


def _optimizer(meta):
    from swarm import optimizers
    params = {k: v for k, v in meta.items() if k not in analysis.META_KEYS}
    return optimizers.from_dict({"kind": meta["kind"], "label": meta["label"],
                                 "params": params})


def _configs(result, limit=MAX_MAP_CONFIGS):
    """Distinct optimizer configurations (arms ignoring σ), round-robin over labels so every
    optimizer appears, at most ``limit``: list of (first arm index, name)."""
    names = analysis.arm_names(result, with_noise=False)
    per_label = {}
    for a, meta in enumerate(result.arms):
        lst = per_label.setdefault(meta["label"], [])
        if names[a] not in [names[b] for b in lst]:
            lst.append(a)
    chosen = []
    depth = 0
    while len(chosen) < limit and any(depth < len(v) for v in per_label.values()):
        for lab in analysis.labels(result):
            if depth < len(per_label[lab]) and len(chosen) < limit:
                chosen.append(per_label[lab][depth])
        depth += 1
    chosen.sort()
    total = sum(len(v) for v in per_label.values())
    return [(a, names[a]) for a in chosen], total


def _contour_levels(F, n=14):
    F = F[np.isfinite(F)]
    if F.size == 0:
        return None
    lv = np.unique(np.quantile(F, np.linspace(0.03, 0.97, n)))
    return lv if lv.size >= 2 else None


def _fgrid(inst, lo, hi, m=180):
    xs = np.linspace(lo[0], hi[0], m)
    ys = np.linspace(lo[1], hi[1], m)
    X, Y = np.meshgrid(xs, ys)
    F = inst.f(np.column_stack([X.ravel(), Y.ravel()])).reshape(X.shape)
    return X, Y, F


# ---------------------------------------------------------------------------- figures 1–4

def fig_p_global(result, rows, colours, path, confidence):
    n = len(rows)
    fig = _new_fig(8.5, 1.9 + 0.42 * n)
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
    ax.set_title(f"P(global) per optimizer\n{_study_desc(result, short=True)}", fontsize=11)
    fig.legend(loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    _save(fig, path)


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
    fig = _new_fig(min(4.8 * len(sigmas), 15) + 1.0, 4.6)
    axes = fig.subplots(1, len(sigmas), squeeze=False, sharey=True)[0]
    styles = _LINESTYLES + ["-"] * 10
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
                 f"{_study_desc(result, short=True)}", fontsize=11)
    _save(fig, path)
    return labs


def fig_p_vs_noise(result, rows, colours, path, confidence):
    sigmas = sorted({r["noise"] for r in rows})
    if len(sigmas) < 2:
        return None
    names = analysis.arm_names(result, with_noise=False)
    fig = _new_fig(8.5, 4.8)
    ax = fig.add_subplot()
    groups = {}
    for r in rows:
        groups.setdefault(names[r["arm"]], []).append(r)
    styles = _linestyles(result)
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
    ax.set_title(f"P(global) against gradient noise σ\n{_study_desc(result, short=True)}",
                 fontsize=11)
    _save(fig, path)
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
    fig = _new_fig(max(6.5, 2.9 + 0.9 * len(xs)), 2.0 + 0.55 * len(ys))
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
                 f"{_study_desc(result, short=True)}",
                 fontsize=10)
    _save(fig, path)


def fig_ecdf(result, ecdf_rows, colours, path):
    fig = _new_fig(10, 4.8)
    ax = fig.add_subplot()
    styles = _linestyles(result)
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
                 f"{_study_desc(result, short=True)}", fontsize=11)
    _save(fig, path)


# ---------------------------------------------------------------------------- figures 5–6

def basin_grid_run(result, n=BASIN_GRID, limit=MAX_MAP_CONFIGS):
    """The extra run behind the 2-D maps: every configuration (≤ ``limit``, σ = 0) from the
    centres of an n×n grid on instance 0 (the study's seed, steps, dtype and tolerances).
    Returns (grid result, [(study arm, name)], total configurations, n)."""
    import swarm
    from swarm import starts
    configs, total = _configs(result, limit)
    steps = int(result.spec["steps"])
    afford = math.sqrt(EXTRA_BUDGET / (len(configs) * steps))
    if afford < MIN_GRID:
        raise _Skip(f"basin maps and trajectories: {steps} steps × {len(configs)} "
                    f"configurations exceed the extra-run budget ({EXTRA_BUDGET:.0e} "
                    f"trajectory-steps for a {MIN_GRID}×{MIN_GRID} grid)")
    n = int(min(n, afford))
    spec = result.spec
    opts = [_optimizer(result.arms[a]) for a, _ in configs]
    res = swarm.run(_family(result), opts, instances=1, starts=n * n, steps=steps, noise=0.0,
                    seed=int(spec["seed"]), start=starts.grid(n), dtype=spec.get("dtype",
                                                                                "float64"),
                    tol_x=spec.get("tol_x"), tol_f=spec.get("tol_f"), backend="cpu")
    return res, configs, total, n


def fig_basin_maps(result, grid, configs, n, path):
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch
    fam = _family(result)
    inst = fam.instance(int(result.spec["seed"]), 0)
    lo, hi = inst.domain
    ng = inst.n_global
    start_b = grid.arm(0)["start_basin"][0].reshape(n, n)
    ends = [grid.arm(i)["end_basin"][0].reshape(n, n) for i in range(len(configs))]
    labs = np.unique(np.concatenate([start_b.ravel()] + [e.ravel() for e in ends]))
    local = [int(x) for x in labs if x >= ng]
    # colour index: 0 diverged, 1…ng global, then the local labels cycling over the palette
    colours = [DIVERGED_COLOUR] + GLOBAL_COLOURS[:ng] + \
        [GLOBAL_COLOURS[-1]] * max(0, ng - len(GLOBAL_COLOURS))
    index = {}
    for i, lab in enumerate(local):
        index[lab] = len(colours) + (i % len(LOCAL_COLOURS))
    colours = colours + LOCAL_COLOURS
    cmap = ListedColormap(colours)

    def to_index(B):
        out = np.zeros(B.shape, dtype=int)
        out[(B >= 0) & (B < ng)] = 1 + B[(B >= 0) & (B < ng)]
        for lab, k in index.items():
            out[B == lab] = k
        return out

    X, Y, F = _fgrid(inst, lo, hi)
    levels = _contour_levels(F, 24)
    panels = [("f on instance 0", None),
              ("instance 0: basins of attraction\n(each start's own basin)", start_b)] + \
             [(name, e) for (_, name), e in zip(configs, ends)]
    ncol = min(4, len(panels))
    nrow = -(-len(panels) // ncol)
    fig = _new_fig(3.4 * ncol, 3.75 * nrow + 0.9, layout="compressed")
    axes = fig.subplots(nrow, ncol, squeeze=False, sharex=True, sharey=True)
    gm = inst.global_minima
    mins = inst.minima if inst.minima is not None else np.zeros((0, 2))
    for k, ax in enumerate(axes.ravel()):
        if k >= len(panels):
            ax.set_axis_off()
            continue
        title, B = panels[k]
        if B is None:                       # the landscape itself: filled contours of f
            if levels is not None:
                ax.contourf(X, Y, F, levels=levels, cmap="viridis", extend="both")
                ax.contour(X, Y, F, levels=levels[::3], colors="white", linewidths=0.3,
                           linestyles="solid", alpha=0.6)
            ax.plot(mins[:, 0], mins[:, 1], "o", ms=3, mfc="white", mec="black", mew=0.5,
                    ls="none")
            ax.set_title(f"{title}: dark = low, yellow = high\n(○ local minima; f* = "
                         f"{inst.f_star:.4g})", fontsize=9)
        else:
            ax.imshow(to_index(B), origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]),
                      cmap=cmap, vmin=-0.5, vmax=len(colours) - 0.5, interpolation="nearest",
                      aspect="equal")
            ax.plot(mins[:, 0], mins[:, 1], ".", ms=2.5, color="black", ls="none")
            frac = float(((B >= 0) & (B < ng)).mean())
            if k == 1:
                ax.set_title(f"{title}\nglobal basin{'s' if ng > 1 else ''}: {frac:.1%} "
                             f"of the area", fontsize=9)
            else:
                div = float((B < 0).mean())
                ax.set_title(f"{title}\nends in a global basin from {frac:.1%} of starts"
                             + (f"\ndiverged from {div:.1%}" if div else ""), fontsize=9)
        ax.plot(gm[:, 0], gm[:, 1], "*", ms=15, color="gold", mec="black", mew=1.0)
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_aspect("equal")
        if k % ncol == 0:
            ax.set_ylabel("x₂")
        if k // ncol == nrow - 1 or k + ncol >= len(panels):
            ax.set_xlabel("x₁")
    handles = [Patch(color=GLOBAL_COLOURS[0], label="global basin (★ = x*)" if ng == 1 else
                     "global basins (one dark colour each, ★ = global minima)"),
               Patch(color=LOCAL_COLOURS[0], label="local basins (one colour each, "
                                                   "• = its minimum)"),
               Patch(color=DIVERGED_COLOUR, label="diverged")]
    if not local:
        del handles[1]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=9)
    fig.suptitle(f"Where each of {n}×{n} grid starts ends — {fam.name} instance 0, "
                 f"{result.spec['steps']} steps, σ = 0", fontsize=11)
    _save(fig, path)


_MOMENTUM_KINDS = ("momentum", "nesterov")
# "rolls through": momentum's path passes SGD's end point closer than this fraction of the
# distance from there to the nearest other minimum (of the domain width without minima)
ROLL_FRACTION = 0.15
ROLL_FRACTION_OF_WIDTH = 0.02


def _end_point(p):
    q = p[np.all(np.isfinite(p), axis=1)]
    return q[-1]


def rolls_through(result, inst, configs, i_mom, i_sgd, x0):
    """Whether momentum-type configuration ``i_mom`` rolls through the local minimum where SGD
    configuration ``i_sgd`` stops, from ``x0`` (σ = 0, the study's steps and dtype): its path
    passes within ``r`` of SGD's end point, ``r`` 15 % of the distance from that point to the
    nearest other listed minimum (2 % of the domain width when the family lists none).
    Returns (passes, closest distance, r)."""
    import swarm
    steps = int(result.spec["steps"])
    dtype = result.spec.get("dtype", "float64")
    p_sgd = swarm.path(inst, _optimizer(result.arms[configs[i_sgd][0]]), x0, steps=steps,
                       noise=0.0, dtype=dtype)
    p_mom = swarm.path(inst, _optimizer(result.arms[configs[i_mom][0]]), x0, steps=steps,
                       noise=0.0, dtype=dtype)
    end = _end_point(p_sgd)
    lo, hi = inst.domain
    r = ROLL_FRACTION_OF_WIDTH * float(np.max(hi - lo))
    if inst.minima is not None and len(inst.minima) > 1:
        dm = np.linalg.norm(inst.minima - end, axis=1)
        r = ROLL_FRACTION * float(np.sort(dm)[1])
    q = p_mom[np.all(np.isfinite(p_mom), axis=1)]
    d = float(np.min(np.linalg.norm(q - end, axis=1)))
    return d <= r, d, r


def story_starts(result, grid, configs, n, count=3, max_checked=40):
    """Grid cells to draw paths from: (cell index, start point, story?, rolls through?).

    First a *story* start: outside the global basin, a momentum-type optimizer reaches the
    global target and every SGD configuration ends in a local basin (not diverged) —
    preferring one where the momentum path *rolls through* SGD's local minimum
    (:func:`rolls_through`, checked on the ``max_checked`` story cells closest to the minimum
    of their start basin), else the closest to that minimum (momentum then takes another
    route, and the report says so). Then further starts where some configuration reaches the
    global target and another does not, in other basins where possible, then starts where the
    end basins merely differ."""
    inst = _family(result).instance(int(result.spec["seed"]), 0)
    ng = inst.n_global
    sb = grid.arm(0)["start_basin"][0]
    E = np.stack([grid.arm(i)["end_basin"][0] for i in range(len(configs))])
    S = (E >= 0) & (E < ng)
    # reached the global target (not merely labelled global at a ridge it stalled on)
    H = np.stack([grid.arm(i)["hit_step"][0] >= 0 for i in range(len(configs))]) & S
    nonglobal = ~((sb >= 0) & (sb < ng))
    mixed = nonglobal & H.any(0) & ~S.all(0)
    differ = nonglobal & (E != E[:1]).any(0)
    kinds = [result.arms[a]["kind"] for a, _ in configs]
    mom = [i for i, k in enumerate(kinds) if k in _MOMENTUM_KINDS]
    sgd = [i for i, k in enumerate(kinds) if k == "sgd"]
    story = np.zeros(sb.size, bool)
    if mom and sgd:
        story = nonglobal & H[mom].any(0) & (E[sgd] >= ng).all(0)
    # centres of the grid cells (first coordinate fastest)
    lo, hi = inst.domain
    c = (np.arange(n) + 0.5) / n
    xs = np.column_stack([np.tile(lo[0] + (hi[0] - lo[0]) * c, n),
                          np.repeat(lo[1] + (hi[1] - lo[1]) * c, n)])
    width = float(np.max(hi - lo))
    dist = np.full(sb.size, 1.0)
    if inst.minima is not None and len(inst.minima):
        mlab = inst.basin(inst.minima)
        pos = {int(lab): m for lab, m in zip(mlab, inst.minima)}
        for i in np.nonzero(differ)[0]:
            m = pos.get(int(sb[i]))
            if m is not None:
                dist[i] = np.linalg.norm(xs[i] - m) / width
    rolls = np.zeros(sb.size, bool)
    checked = set()

    def check(i):
        if i not in checked:
            checked.add(i)
            rolls[i] = any(rolls_through(result, inst, configs, j, sgd[0], xs[i])[0]
                           for j in mom if H[j, i])

    cand = np.nonzero(story)[0]
    for i in cand[np.argsort(dist[cand], kind="stable")][:max_checked]:
        check(int(i))
    chosen = []
    for pool in (rolls, story, mixed, differ):
        cand = [int(i) for i in np.nonzero(pool)[0] if i not in chosen]
        while cand and len(chosen) < count:
            # apart from the starts already chosen, in another basin where possible
            ok = [i for i in cand
                  if all(np.linalg.norm(xs[i] - xs[j]) >= 0.15 * width for j in chosen)]
            used = {int(sb[j]) for j in chosen}
            fresh = [i for i in ok if int(sb[i]) not in used] or ok
            if not fresh:
                break
            best = fresh[int(np.argmin(dist[fresh]))]
            chosen.append(best)
            cand.remove(best)
        if len(chosen) >= count:
            break
    if not chosen:                        # nothing differs: three spread-out starts
        for fx, fy in ((0.3, 0.3), (0.7, 0.6), (0.45, 0.8))[:count]:
            chosen.append(int(fx * n) + n * int(fy * n))
    for i in chosen:                      # every story panel's claim is checked
        if story[i]:
            check(i)
    return [(int(i), xs[i], bool(story[i]), bool(rolls[i])) for i in chosen]


def fig_trajectories(result, grid, configs, n, colours, path):
    import swarm
    from matplotlib.lines import Line2D
    fam = _family(result)
    inst = fam.instance(int(result.spec["seed"]), 0)
    ng = inst.n_global
    steps = int(result.spec["steps"])
    starts = story_starts(result, grid, configs, n)
    lo, hi = inst.domain
    width = float(np.max(hi - lo))
    opts = [_optimizer(result.arms[a]) for a, _ in configs]
    styles = _linestyles(result)
    leg_h = 0.2 + 0.16 * len(configs)
    fig = _new_fig(max(4.6 * len(starts), 7.0), 4.9 + leg_h)
    grid_axes = fig.subplots(2, len(starts), squeeze=False,
                             gridspec_kw={"height_ratios": [4.4, leg_h]})
    axes, leg_axes = grid_axes[0], grid_axes[1]
    picked = []
    for ax, lax, (cell, x0, is_story, rolls) in zip(axes, leg_axes, starts):
        paths = [swarm.path(inst, o, x0, steps=steps, noise=0.0,
                            dtype=result.spec.get("dtype", "float64")) for o in opts]
        pts = np.concatenate([p[np.all(np.isfinite(p), axis=1)] for p in paths])
        a, b = pts.min(0), pts.max(0)
        xs = inst.x_star
        if np.all(np.abs(np.clip(xs, a, b) - xs) < 0.6 * np.max(b - a) + 0.05 * width):
            a, b = np.minimum(a, xs), np.maximum(b, xs)
        half = max(float(np.max(b - a)) / 2 * 1.15, 0.06 * width)
        mid = (a + b) / 2
        zlo = np.maximum(mid - half, lo - 0.02 * width)
        zhi = np.minimum(mid + half, hi + 0.02 * width)
        X, Y, F = _fgrid(inst, zlo, zhi, 160)
        lv = _contour_levels(F, 16)
        if lv is not None:
            ax.contourf(X, Y, F, levels=lv, cmap="Greys_r", alpha=0.35, extend="both")
            ax.contour(X, Y, F, levels=lv, colors="grey", linewidths=0.5, linestyles="solid")
        if inst.minima is not None:
            ax.plot(inst.minima[:, 0], inst.minima[:, 1], "o", ms=6, mfc="white", mec="black",
                    ls="none")
        gm = inst.global_minima
        ax.plot(gm[:, 0], gm[:, 1], "*", ms=22, color="gold", mec="black", zorder=3)
        ax.plot(*x0, "s", ms=9, color="black", mfc="none", mew=1.5, zorder=5)
        handles = []
        outcomes = []
        for i, (p, (arm, name)) in enumerate(zip(paths, configs)):
            end = grid.arm(i)["end_basin"][0][cell]
            outcome = "diverged" if end < 0 else ("global" if end < ng else "local")
            q = p[np.all(np.isfinite(p), axis=1)]
            ax.plot(q[:, 0], q[:, 1], color=colours[arm], ls=styles[arm], lw=1.7, alpha=0.9)
            ax.plot(q[-1, 0], q[-1, 1], "X", color=colours[arm], mec="black", ms=8, zorder=6)
            handles.append(Line2D([], [], color=colours[arm], ls=styles[arm], lw=1.7,
                                  label=f"{name} → {outcome}"))
            outcomes.append(outcome)
        ax.set_xlim(zlo[0], zhi[0])
        ax.set_ylim(zlo[1], zhi[1])
        ax.set_aspect("equal")
        ax.set_xlabel("x₁")
        ax.set_ylabel("x₂")
        told = ""
        if rolls:
            told = "\nmomentum rolls through SGD's local minimum\nto the global basin"
        elif is_story:
            told = ("\nmomentum reaches the global basin (another route);"
                    "\nSGD stops in a local minimum")
        ax.set_title(f"start ({x0[0]:.2f}, {x0[1]:.2f})" + told, fontsize=9)
        lax.set_axis_off()
        lax.legend(handles=handles, fontsize=7.5, loc="upper center", frameon=False,
                   title="optimizer → where it ended", title_fontsize=7.5)
        picked.append((x0, is_story, rolls, outcomes))
    marks = [Line2D([], [], marker="*", ms=13, color="gold", mec="black", ls="none",
                    label="global minimum x*"),
             Line2D([], [], marker="o", ms=6, mfc="white", mec="black", ls="none",
                    label="local minima"),
             Line2D([], [], marker="s", ms=8, mfc="none", mec="black", ls="none",
                    label="start"),
             Line2D([], [], marker="X", ms=8, color="grey", mec="black", ls="none",
                    label="end point (after the last step)")]
    fig.legend(handles=marks, loc="outside lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle(f"Trajectories on {fam.name} instance 0 ({steps} steps, σ = 0, contours "
                 f"of f, darker = lower)", fontsize=11)
    _save(fig, path)
    return picked


# ---------------------------------------------------------------------------- tables

def _few_instances_note(instances):
    if instances == 1:
        return ("One landscape instance: the family-level interval (P(global) for a landscape "
                "drawn from the family) is undefined, so only the pooled intervals are shown; "
                "they are about this landscape only, and nothing is said about the family.")
    if instances < FEW_INSTANCES:
        return (f"Only {instances} landscape instances (fewer than {FEW_INSTANCES}): the "
                f"family-level intervals rest on {instances - 1} degree"
                f"{'s' if instances > 2 else ''} of freedom and are "
                f"rough; the cluster bootstrap under-covers badly at this size.")
    return None


def _questions_note(confidence, instances):
    """Which question each kind of interval answers (the headline's footnote)."""
    pct = f"{confidence:.0%}"
    pooled = (f"pooled (Wilson, Clopper–Pearson) {pct}: P(global) on these particular "
              f"instances — every trajectory independent.")
    if instances < 2:
        return "Pooled " + pooled[len("pooled "):]
    return (f"Family-level {pct} (the headline): P(global) for a landscape drawn from the "
            f"family — cluster-robust t over the {instances} instances, the uncertainty from "
            f"the finite number of instances. The " + pooled)


def _overall_table(rows, confidence, instances, per_inst=True):
    """The headline table: P(global) with its family-level interval (omitted with one
    instance, where it is undefined) and the pooled ones beside it; the cluster bootstrap and
    per-instance range only where the aggregate has per-instance counts."""
    pct = f"{confidence:.0%}"
    family = instances >= 2
    headers = (["optimizer", "n", "P(global)"] + ([f"family-level {pct}"] if family else [])
               + [f"Wilson {pct}", f"Clopper–Pearson {pct}"]
               + ([f"cluster bootstrap {pct}", "per-instance range"] if per_inst else [])
               + ["diverged"])
    out = []
    for r in rows:
        out.append([r["name"], r["n"], fmt_prob(r["p_global"])]
                   + ([fmt_ci(r["p_global_low"], r["p_global_high"])] if family else [])
                   + [fmt_ci(r["p_global_wilson_low"], r["p_global_wilson_high"]),
                      fmt_ci(r["p_global_cp_low"], r["p_global_cp_high"])]
                   + ([fmt_ci(r["p_global_boot_low"], r["p_global_boot_high"]),
                       fmt_ci(r["p_instance_min"], r["p_instance_max"])] if per_inst else [])
                   + [r["diverged"]])
    return headers, out


def _ci_cells(r, key):
    return [fmt_prob(r[key]), fmt_ci(r[f"{key}_low"], r[f"{key}_high"]),
            fmt_ci(r[f"{key}_wilson_low"], r[f"{key}_wilson_high"]),
            fmt_ci(r[f"{key}_cp_low"], r[f"{key}_cp_high"])]


def _escape_cells(r):
    return _ci_cells(r, "p_escape") + _ci_cells(r, "p_escape_to_global")


def _escape_headers(pct):
    return ["P(escape)", f"P(escape) family {pct}", f"P(escape) Wilson {pct}",
            f"P(escape) C–P {pct}", "P(esc→global)", f"P(esc→global) family {pct}",
            f"P(esc→global) Wilson {pct}", f"P(esc→global) C–P {pct}"]


def _escape_table(rows, confidence):
    pct = f"{confidence:.0%}"
    headers = ["optimizer", "non-global starts"] + _escape_headers(pct) + [
        "P(hit)", "median hit step [CI]", "aRT (steps)"]
    out = []
    for r in rows:
        med = fmt_steps(r["median_hit_step"])
        if np.isfinite(r["median_hit_step"]):
            med += (f" [{fmt_steps(r['median_hit_step_low'])}, "
                    f"{fmt_steps(r['median_hit_step_high'])}]")
        art = "∞" if np.isinf(r["art"]) else f"{r['art']:.1f}"
        out.append([r["name"], r["nonglobal_starts"]] + _escape_cells(r)
                   + [fmt_prob(r["p_hit"]), med, art])
    return headers, out


def _basin_table(rows, confidence):
    pct = f"{confidence:.0%}"
    headers = ["optimizer", "start basin", "n", "P(global)", f"family-level {pct}",
               f"Wilson {pct}", f"Clopper–Pearson {pct}",
               f"cluster bootstrap {pct}"] + _escape_headers(pct)
    out = [[r["name"], r["start"], r["n"], fmt_prob(r["p_global"]),
            fmt_ci(r["p_global_low"], r["p_global_high"]),
            fmt_ci(r["p_global_wilson_low"], r["p_global_wilson_high"]) if r["n"] else "–",
            fmt_ci(r["p_global_cp_low"], r["p_global_cp_high"]) if r["n"] else "–",
            fmt_ci(r["p_global_boot_low"], r["p_global_boot_high"])] + _escape_cells(r)
           for r in rows]
    return headers, out


def _paired_table(rows, confidence):
    headers = ["A", "B", "A only", "B only", "P(A) − P(B)",
               f"cluster bootstrap {confidence:.0%}", "McNemar p", "Holm p"]
    shown = rows
    note = None
    if len(rows) > MAX_PAIRS_SHOWN:
        shown = sorted(rows, key=lambda r: (r["p_holm"], r["pvalue"]))[:MAX_PAIRS_SHOWN]
        note = (f"The {MAX_PAIRS_SHOWN} pairs with the smallest Holm-adjusted p-values of "
                f"{len(rows)}; all pairs are in `tables/paired.csv`.")
    out = [[r["name_a"], r["name_b"], r["n10"], r["n01"], fmt_signed(r["difference"]),
            fmt_signed_ci(r["diff_low"], r["diff_high"]), fmt_pvalue(r["pvalue"]),
            fmt_pvalue(r["p_holm"])] for r in shown]
    return headers, out, note


def _write_csv(path, rows, drop=()):
    """A CSV of ``rows``, written atomically (never through a link), text cells that a
    spreadsheet would run neutralised (:func:`swarm.result._csv_cell`)."""
    from swarm.checkpoint import atomic_write
    from swarm.result import _csv_cell
    if not rows:
        atomic_write(path, b"")
        return
    keys = []
    for r in rows:
        for k in r:
            if k not in keys and k not in drop:
                keys.append(k)
    fh = io.StringIO(newline="")
    w = csv.DictWriter(fh, fieldnames=keys, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: _csv_cell(r.get(k, "")) for k in keys})
    atomic_write(path, fh.getvalue().encode("utf-8"))


# ---------------------------------------------------------------------------- write

def write(result, directory, *, extra_runs=True, confidence=0.95,
          basin_grid=BASIN_GRID) -> Path:
    """Write ``report.md``, ``report.html`` (self-contained: figures as base64 PNG) and
    ``figures/*.png`` (plus ``tables/*.csv``) for ``result`` into ``directory``; returns the
    directory as a :class:`~pathlib.Path`.

    ``extra_runs``: on 2-D landscapes, run every optimizer configuration (at most six, σ = 0)
    from a ``basin_grid``×``basin_grid`` grid of starts on instance 0 for the basin maps, and
    :func:`swarm.path` for the trajectory figure; ``False`` skips both (the report then uses
    the stored outcomes only). A figure that cannot be drawn is named in the report with the
    reason, and the rest of the report is still written.

    The directory's lock is held while writing (a second writer is refused); symbolic links
    among the report's entries are refused, nothing is written through one, and the ``.png``
    files of ``figures/`` and ``.csv`` files of ``tables/`` of an earlier report are removed
    first, so that no stale figure is left beside the new ones.
    """
    from swarm.checkpoint import lock
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    with lock(d):
        return _write(result, d, extra_runs, confidence, basin_grid)


def _prepare(d):
    """figures/ and tables/ of ``d``, emptied of an earlier report's files; links refused."""
    from swarm.checkpoint import no_link
    for name in ("report.md", "report.html", "figures", "tables"):
        no_link(d / name)
    out = []
    for name, suffix in (("figures", ".png"), ("tables", ".csv")):
        sub = d / name
        sub.mkdir(parents=True, exist_ok=True)
        for f in list(sub.iterdir()):
            if f.suffix == suffix:
                no_link(f)
                if f.is_file():
                    f.unlink(missing_ok=True)
        out.append(sub)
    return out


def _write(result, d, extra_runs, confidence, basin_grid):
    figdir, tabdir = _prepare(d)
    spec = result.spec
    dim = int(spec["landscape"]["dim"])

    rows = analysis.overall(result, confidence)
    basin_rows = analysis.per_start_basin(result, confidence)
    pair_rows = analysis.paired(result, confidence)
    ecdf_rows = analysis.ecdf(result)
    inst_rows = analysis.by_instance(result)
    result.to_csv(tabdir / "overall.csv", confidence, rows=rows)    # = summary.csv
    _write_csv(tabdir / "per_start_basin.csv", basin_rows)
    _write_csv(tabdir / "paired.csv", pair_rows)
    _write_csv(tabdir / "by_instance.csv", inst_rows)

    colours = arm_colours(result)
    figures = []          # (file, caption)
    skipped = []          # reasons

    def attempt(what, fn):
        """fn() or FAILED (the reason goes into the report and a RuntimeWarning)."""
        try:
            return fn()
        except _Skip as e:
            skipped.append(str(e))
            return FAILED
        except Exception as e:          # a figure must not cost the whole report
            warnings.warn(f"swarm.report: {what} failed: {e!r}\n{traceback.format_exc()}",
                          RuntimeWarning, stacklevel=2)
            skipped.append(f"{what}: failed ({type(e).__name__}: {e})")
            return FAILED

    pct = f"{confidence:.0%}"
    if attempt("P(global) per arm", lambda: fig_p_global(
            result, rows, colours, figdir / "p_global.png", confidence)) is not FAILED:
        figures.append(("p_global.png",
                        f"Figure 1. P(global) per optimizer configuration: dot = estimate, "
                        f"thin bar with caps = family-level {pct} interval (cluster-robust t "
                        f"over the {spec['instances']} landscape instances: P(global) for a "
                        f"landscape drawn from the family; none with one instance), thick bar "
                        f"= pooled Wilson {pct} interval (P(global) on these particular "
                        f"instances, every trajectory independent)."))
    labs = attempt("P(global) vs lr", lambda: fig_p_vs_lr(result, rows, colours,
                                                          figdir / "p_vs_lr.png", confidence))
    if labs and labs is not FAILED:
        figures.append(("p_vs_lr.png",
                        f"Figure 2. P(global) against the learning rate for "
                        f"{', '.join(labs)}; bars: {pct} intervals (family-level: "
                        f"cluster-robust t over instances where there are several, pooled "
                        f"Wilson otherwise)."))
    elif labs is None:
        skipped.append("P(global) vs learning rate: no optimizer has more than one lr")
    if attempt("P(global) vs σ", lambda: fig_p_vs_noise(
            result, rows, colours, figdir / "p_vs_noise.png", confidence)) is True:
        figures.append(("p_vs_noise.png", "Figure 2b. P(global) against the gradient-noise "
                        f"σ, one curve per optimizer configuration; bars: {pct} intervals."))
    elif len(spec["noise"]) < 2:
        skipped.append("P(global) vs σ: the study has one noise level")
    hm = heatmap_groups(result)
    used = set()
    for lab, keys in hm.items():
        fname = _unique(f"heatmap_{_safe(lab)}", used) + ".png"
        if attempt(f"heatmap {lab}", lambda: fig_heatmap(result, rows, lab, keys,
                                                         figdir / fname)) is not FAILED:
            figures.append((fname, f"Figure 3. {lab}: P(global) over the {keys[0]} × {keys[1]} "
                            f"grid (cell text: the estimate)."))
    if not hm:
        skipped.append("heatmap: no optimizer varies exactly two hyperparameters")
    if attempt("ECDF", lambda: fig_ecdf(result, ecdf_rows, colours,
                                        figdir / "ecdf.png")) is not FAILED:
        figures.append(("ecdf.png", "Figure 4. Fraction of all trajectories that have reached "
                        "the global target by step t (first-hit ECDF; plateau = P(hit)); hits "
                        "at step 0 are drawn at step 1 on the log axis."))
    story = None
    if dim != 2:
        skipped.append(f"basin maps and trajectories: 2-D landscapes only (this one is "
                       f"{dim}-D)")
    elif not extra_runs:
        skipped.append("basin maps and trajectories: extra runs switched off "
                       "(extra_runs=False)")
    else:
        g = attempt("basin-map grid run", lambda: basin_grid_run(result, basin_grid))
        if g is not FAILED:
            grid, configs, total, n = g
            more = (f" (the first {len(configs)} of {total} configurations, every optimizer "
                    f"represented)" if total > len(configs) else "")
            if attempt("basin maps", lambda: fig_basin_maps(
                    result, grid, configs, n, figdir / "basin_maps.png")) is not FAILED:
                figures.append(("basin_maps.png",
                                f"Figure 5. Basin-of-attraction maps on instance 0: each of "
                                f"{n}×{n} grid starts coloured by the basin its trajectory "
                                f"ended in{more}, σ = 0, {spec['steps']} steps; the first "
                                f"panel shows f, the second colours each start by its own "
                                f"basin. Red: the global basin (★ = global minimum); dark "
                                f"grey: diverged; the same basin has the same colour in every "
                                f"panel."))
            story = attempt("trajectories", lambda: fig_trajectories(
                result, grid, configs, n, colours, figdir / "trajectories.png"))
            if story is not FAILED:
                figures.append(("trajectories.png", _trajectory_caption(result, configs,
                                                                        story)))

    # ---- document
    doc = _Doc()
    lan = spec["landscape"]
    doc.h(1, f"swarm study: {lan['name']} ({lan['dim']}-D)")
    doc.p(f"{_study_desc(result)}. Start rule: `{_start_desc(spec.get('start'))}`. "
          f"Optimizers: " + ", ".join(f"`{n}`" for n in analysis.arm_names(result)) + ".")
    doc.h(2, "Findings")
    doc.items(_findings(rows, pair_rows, confidence, int(spec["instances"])))
    doc.h(2, "Definitions")
    tf = spec.get("tol_f")
    doc.items([
        "**P(global)**: fraction of trajectories whose end point lies in a global basin "
        "(diverged trajectories never count).",
        f"**Intervals** answer two questions. The **family-level** interval (the headline) "
        f"answers \"P(global) for a landscape drawn from the family\": the instances are the "
        f"random unit, so its uncertainty comes from the finite number of instances "
        f"({spec['instances']} here). It is the cluster-robust t interval (sandwich standard "
        f"error of the pooled rate from per-instance sums and second moments, t quantile on "
        f"instances − 1 degrees of freedom), close to nominal coverage from 3 instances on; "
        f"undefined with one instance. The **pooled** Wilson and Clopper–Pearson intervals "
        f"answer \"P(global) on these particular instances\": they treat all "
        f"{spec['instances']} × {spec['starts']} trajectories of an arm as independent. The "
        f"**cluster bootstrap** (percentile, instances resampled) is shown as a second opinion "
        f"only, where the study kept per-instance counts: with few instances it is too narrow "
        f"(about 75 % / 90 % / 92 % coverage at 3 / 10 / 20 instances for a nominal 95 % in a "
        f"simulation with instance-level P ~ Beta(2, 6)).",
        "**P(escape)**: ended in a basin other than the start basin (diverged trajectories "
        "never count); **P(esc→global)**: among trajectories that did not start in a global "
        "basin, the fraction that ended in one. Both with family-level, pooled Wilson and "
        "Clopper–Pearson intervals.",
        f"**Hit**: first step with ‖x − x*‖ ≤ {spec.get('tol_x', float('nan')):g}"
        + (f" or f − f* ≤ {tf:g}" if tf is not None else "")
        + "; median over all trajectories (never-hit = ∞), "
        + ("bootstrap interval" if result.outcomes is not None else
           "from the first-hit histogram of the study's aggregates (it kept no per-trajectory "
           "outcomes): the grid point where the ECDF reaches ½, with an order-statistic "
           "interval widened to whole grid cells")
        + "; **aRT** = total steps spent / number of hits (COCO).",
        "**Paired tests**: every optimizer saw the same starts and noise on each (instance, "
        "start) key, so arms are compared pair by pair with the exact McNemar test; "
        "p-values Holm-adjusted over all pairs.",
    ])
    doc.h(2, "P(global) per optimizer")
    n_inst = int(spec["instances"])
    per_inst = analysis.per_instance(result)
    h_, r_ = _overall_table(rows, confidence, n_inst, per_inst)
    notes = [_questions_note(confidence, n_inst), _few_instances_note(n_inst)]
    if not per_inst:
        notes.append("The study kept no per-instance counts (too many instances): no cluster "
                     "bootstrap, per-instance range or per-instance table "
                     "(`tables/by_instance.csv` is empty).")
    doc.table(h_, r_, note=" ".join(n for n in notes if n))
    doc.h(2, "Escapes and first hits per optimizer")
    h_, r_ = _escape_table(rows, confidence)
    doc.table(h_, r_)
    doc.h(2, "P(global) and escapes by start basin")
    h_, r_ = _basin_table(basin_rows, confidence)
    doc.table(h_, r_, note="P(esc→global) is among the group's starts outside a global basin "
                           "(– for global starts). All columns of every table are in "
                           "`tables/*.csv`.")
    doc.h(2, "Paired comparisons (same instance, same start, same noise)")
    if pair_rows:
        h_, r_, note = _paired_table(pair_rows, confidence)
        doc.table(h_, r_, note=(note + " " if note else "")
                  + "A only / B only: keys where only A / only B found the global basin.")
    else:
        doc.p("One arm only: nothing to compare.")
    doc.h(2, "Figures")
    for fname, cap in figures:
        doc.figure(fname, cap)
    if skipped:
        doc.p("Not drawn:")
        doc.items(skipped)
    doc.h(2, "Provenance")
    doc.items(_provenance_lines(result))
    doc.pre(json.dumps(spec, indent=2, default=_jsonable))

    from swarm.checkpoint import atomic_write
    atomic_write(d / "report.md", doc.markdown().encode("utf-8"))
    atomic_write(d / "report.html",
                 doc.html(figdir, f"swarm study: {lan['name']}").encode("utf-8"))
    return d


def _safe(s):
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in str(s))


def _unique(stem, used):
    """``stem``, or ``stem-2``, ``stem-3`` … when taken (labels "m 1" and "m_1" both make
    ``m_1``: two figures must not share a file); records the name in ``used``."""
    name, k = stem, 1
    while name.lower() in used:
        k += 1
        name = f"{stem}-{k}"
    used.add(name.lower())
    return name


def _jsonable(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _start_desc(s):
    if not s:
        return "uniform()"
    kind = s.get("kind")
    if kind == "uniform":
        return "uniform(" + (f"{s['a']}, {s['b']}" if s.get("a") is not None else "") + ")"
    if kind == "grid":
        return f"grid({s.get('k')})"
    if kind == "minimum":
        return f"at_minimum({s.get('k')}, sd={s.get('b')})"
    if kind == "point":
        return f"point({s.get('a')})"
    return f"gaussian({s.get('a')}, {s.get('b')})"


def _findings(rows, pair_rows, confidence, instances):
    out = []
    best = max(rows, key=lambda r: r["p_global"])
    pooled = fmt_ci(best["p_global_wilson_low"], best["p_global_wilson_high"])
    if np.isfinite(best["p_global_low"]):
        ci = (f"family-level {fmt_ci(best['p_global_low'], best['p_global_high'])} for a "
              f"landscape drawn from the family; pooled Wilson {pooled} on these instances")
    else:
        ci = (f"pooled Wilson {pooled} on this instance; one instance, so no family-level "
              f"interval")
    out.append(f"Highest P(global): `{best['name']}` with {fmt_prob(best['p_global'])} "
               f"({ci}).")
    worst = min(rows, key=lambda r: r["p_global"])
    if worst is not best:
        out.append(f"Lowest P(global): `{worst['name']}` with {fmt_prob(worst['p_global'])}.")
    alpha = 1 - confidence
    if pair_rows:
        sig = [r for r in pair_rows if r["p_holm"] <= alpha]
        out.append(f"{len(sig)} of {len(pair_rows)} pairs differ at family-wise level "
                   f"{alpha:g} (exact McNemar, Holm-adjusted).")
        mine = [r for r in pair_rows if best["arm"] in (r["a"], r["b"])]
        if mine:
            nxt = min(mine, key=lambda r: abs(r["difference"]))
            other = nxt["name_b"] if nxt["a"] == best["arm"] else nxt["name_a"]
            out.append(f"Closest to the best: `{other}`, difference "
                       f"{fmt_signed(abs(nxt['difference']))}, Holm p = "
                       f"{fmt_pvalue(nxt['p_holm'])}.")
    div = sum(r["diverged"] for r in rows)
    if div:
        out.append(f"{div} trajectories diverged in total (never counted as successes).")
    if instances < FEW_INSTANCES:
        out.append(f"**Few instances ({instances} < {FEW_INSTANCES})**: the study says little "
                   f"about the landscape family; "
                   + ("with one instance there is no family-level interval at all."
                      if instances == 1 else
                      "family-level intervals are rough and the cluster bootstrap "
                      "under-covers. Run more instances for claims about the family."))
    return out


def _trajectory_caption(result, configs, picked):
    """Figure 6's caption: says "rolls through" only for a start where the momentum path
    passes SGD's end point (:func:`rolls_through`)."""
    cap = ("Figure 6. Paths of each configuration (swarm.path, σ = 0) on instance 0 from "
           "starts outside the global basin where their outcomes differ")
    story = [k for k, (_, is_story, _, _) in enumerate(picked) if is_story]
    if story:
        i = story[0]
        which = ["first", "second", "third"][i] if i < 3 else f"#{i + 1}"
        if picked[i][2]:
            cap += (f". In the {which} panel a momentum optimizer rolls through the local "
                    f"minimum where SGD stops (its path passes close to SGD's end point) and "
                    f"reaches the global basin")
        else:
            cap += (f". In the {which} panel a momentum optimizer reaches the global basin "
                    f"from a start where SGD stops in a local minimum; it does so by another "
                    f"route (its path does not pass through SGD's minimum)")
    else:
        kinds = {result.arms[a]["kind"] for a, _ in configs}
        if "sgd" in kinds and kinds & set(_MOMENTUM_KINDS):
            cap += (". No start of the grid has a momentum optimizer (of the configurations "
                    "drawn) reach the global basin where SGD stops in a local minimum")
    return cap + "; X marks the end point, ★ the global minimum."


def _provenance_lines(result):
    """The study's provenance, as recorded in its manifest; nothing about when or how fast the
    report itself was made, so that regenerating it gives the same bytes."""
    p = result.provenance or {}
    spec = result.spec
    tm = p.get("timings", {}) or {}
    v = p.get("versions", {}) or {}
    import matplotlib
    lines = [
        f"outcome hash (SHA-256): `{result.hash}`",
        f"seed: {spec.get('seed')}, dtype: {spec.get('dtype')}",
        f"backend: {p.get('backend', '?')} — device: {p.get('device', '?')}, threads: "
        f"{p.get('threads', '?')} of {p.get('cpu_count', '?')} CPUs, chunk size "
        f"{p.get('chunk_size', '?')}",
        f"git commit: {p.get('git_commit')}",
        "versions: " + ", ".join(f"{k} {val}" for k, val in v.items())
        + f"; report made with matplotlib {matplotlib.__version__}",
        f"platform: {p.get('platform', '?')}; study created {p.get('created', '?')}",
    ]
    if isinstance(p.get("wall_s"), (int, float)):
        lines.append(f"study wall time: {p['wall_s']:.3g} s")
    if tm:
        parts = [f"{k} = {val:.3g}" if isinstance(val, (int, float)) else f"{k} = {val}"
                 for k, val in tm.items()]
        lines.append("study timings: " + ", ".join(parts))
    return lines
