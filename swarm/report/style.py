"""Colours, line styles and the figure helpers every figure of the report shares."""
from __future__ import annotations

import io

import numpy as np

from swarm import analysis
from swarm import noise as N
from swarm.files import atomic_write

DPI = 120
# basin maps: the global basins in dark colours, local basins in light ones, diverged in grey
GLOBAL_COLOURS = ["#b2182b", "#2166ac", "#1b7837", "#762a83"]
LOCAL_COLOURS = ["#8dd3c7", "#ffffb3", "#bebada", "#80b1d3", "#fdb462", "#b3de69",
                 "#fccde5", "#ccebc5", "#ffed6f", "#d9d9f3", "#a6cee3", "#cab2d6",
                 "#e5d8bd", "#b2df8a"]
DIVERGED_COLOUR = "#4d4d4d"

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


LINESTYLES = ["-", "--", "-.", ":"]


def linestyles(result):
    """Line style per arm: cycles over the configurations of a label."""
    seen = {}
    out = []
    for meta in result.arms:
        i = seen.get(meta["label"], 0)
        seen[meta["label"]] = i + 1
        out.append(LINESTYLES[i % len(LINESTYLES)])
    return out


# ---------------------------------------------------------------------------- helpers

def study_desc(result, short=False):
    s = result.spec
    lan = s["landscape"]
    sig = ", ".join(N.text(x) for x in s["noise"])
    inst = "instance" if s["instances"] == 1 else "instances"
    d = (f"{lan['name']} ({lan['dim']}-D): {s['instances']} {inst} × {s['starts']} starts, "
         f"{s['steps']} steps, σ = {sig}")
    return d if short else d + f", seed {s['seed']}, {s.get('dtype', 'float64')}"


def new_fig(w, h, layout="constrained"):
    from matplotlib.figure import Figure
    return Figure(figsize=(w, h), dpi=DPI, layout=layout)


def save_png(fig, path):
    """Save a figure atomically, never through a symbolic link."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white", bbox_inches="tight",
                pad_inches=0.12)
    atomic_write(path, buf.getvalue())

def contour_levels(F, n=14):
    F = F[np.isfinite(F)]
    if F.size == 0:
        return None
    lv = np.unique(np.quantile(F, np.linspace(0.03, 0.97, n)))
    return lv if lv.size >= 2 else None


def f_grid(inst, lo, hi, m=180):
    xs = np.linspace(lo[0], hi[0], m)
    ys = np.linspace(lo[1], hi[1], m)
    X, Y = np.meshgrid(xs, ys)
    F = inst.f(np.column_stack([X.ravel(), Y.ravel()])).reshape(X.shape)
    return X, Y, F

