"""Figures 5–6 of the report (2-D landscapes): basin-of-attraction maps and example
trajectories, drawn from the study's figure data (:mod:`swarm.extras`, ``figures.npz``) —
nothing here runs an optimizer."""
from __future__ import annotations

import numpy as np

from swarm.extras import MOMENTUM_KINDS, family
from swarm.outcomes import is_global
from swarm.report.style import (DIVERGED_COLOUR, GLOBAL_COLOURS, LOCAL_COLOURS, contour_levels,
                                f_grid, linestyles, new_fig, save_png)


def fig_basin_maps(result, data, path):
    """Figure 5 from the figure data: f, each start's own basin, then where each
    configuration's trajectory from every grid start ended."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch
    fam = family(result)
    inst = fam.instance(int(result.spec["seed"]), 0)
    lo, hi = inst.domain
    ng = inst.n_global
    n, configs = data.n, data.configs
    start_b = data.start_basin.reshape(n, n)
    ends = [e.reshape(n, n) for e in data.end_basin]
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
        g = is_global(B, ng)
        out[g] = 1 + B[g]
        for lab, k in index.items():
            out[B == lab] = k
        return out

    X, Y, F = f_grid(inst, lo, hi)
    levels = contour_levels(F, 24)
    panels = [("f on instance 0", None),
              ("instance 0: basins of attraction\n(each start's own basin)", start_b)] + \
             [(name, e) for (_, name), e in zip(configs, ends)]
    ncol = min(4, len(panels))
    nrow = -(-len(panels) // ncol)
    fig = new_fig(3.4 * ncol, 3.75 * nrow + 0.9, layout="compressed")
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
            frac = float(is_global(B, ng).mean())
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
    save_png(fig, path)

def fig_trajectories(result, data, colours, path):
    """Figure 6 from the figure data: the saved paths of every configuration from each
    example start; returns [(start, story?, rolls through?, outcomes)] for the caption."""
    from matplotlib.lines import Line2D
    fam = family(result)
    inst = fam.instance(int(result.spec["seed"]), 0)
    ng = inst.n_global
    steps = int(result.spec["steps"])
    configs = data.configs
    starts = data.starts()
    lo, hi = inst.domain
    width = float(np.max(hi - lo))
    styles = linestyles(result)
    leg_h = 0.2 + 0.16 * len(configs)
    fig = new_fig(max(4.6 * len(starts), 7.0), 4.9 + leg_h)
    grid_axes = fig.subplots(2, len(starts), squeeze=False,
                             gridspec_kw={"height_ratios": [4.4, leg_h]})
    axes, leg_axes = grid_axes[0], grid_axes[1]
    picked = []
    for k, (ax, lax, (cell, x0, is_story, rolls)) in enumerate(zip(axes, leg_axes, starts)):
        paths = data.paths[k]
        pts = np.concatenate([p[np.all(np.isfinite(p), axis=1)] for p in paths])
        a, b = pts.min(0), pts.max(0)
        xs = inst.x_star
        if np.all(np.abs(np.clip(xs, a, b) - xs) < 0.6 * np.max(b - a) + 0.05 * width):
            a, b = np.minimum(a, xs), np.maximum(b, xs)
        half = max(float(np.max(b - a)) / 2 * 1.15, 0.06 * width)
        mid = (a + b) / 2
        zlo = np.maximum(mid - half, lo - 0.02 * width)
        zhi = np.minimum(mid + half, hi + 0.02 * width)
        X, Y, F = f_grid(inst, zlo, zhi, 160)
        lv = contour_levels(F, 16)
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
            end = data.end_basin[i][cell]
            outcome = "diverged" if end < 0 else ("global" if is_global(end, ng) else "local")
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
    save_png(fig, path)
    return picked


def basin_maps_caption(result, data):
    n, configs, total = data.n, data.configs, data.total
    more = (f" (the first {len(configs)} of {total} configurations, every optimizer "
            f"represented)" if total > len(configs) else "")
    return (f"Figure 5. Basin-of-attraction maps on instance 0: each of {n}×{n} grid starts "
            f"coloured by the basin its trajectory ended in{more}, σ = 0, "
            f"{result.spec['steps']} steps; the first panel shows f, the second colours each "
            f"start by its own basin. Red: the global basin (★ = global minimum); dark grey: "
            f"diverged; the same basin has the same colour in every panel.")


def trajectory_caption(result, configs, picked):
    """Figure 6's caption: says "rolls through" only for a start where the momentum path
    passes SGD's end point (:func:`swarm.extras.rolls_through`)."""
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
        if "sgd" in kinds and kinds & set(MOMENTUM_KINDS):
            cap += (". No start of the grid has a momentum optimizer (of the configurations "
                    "drawn) reach the global basin where SGD stops in a local minimum")
    return cap + "; X marks the end point, ★ the global minimum."

