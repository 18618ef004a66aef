"""Escape under heavy-tailed and curvature-shaped gradient noise (issue 23's study).

Four parts, written to ``noise.md`` (Markdown tables) in ``--out``:

A. **Width against depth** — SGD on the 1-D well U(x) = h·(x/w)², started at its minimum, with
   the kernels' own samplers (keyed as in a study) until |x| ≥ w: mean exit steps for Gaussian,
   Student-t (ν = 3) and α-stable (α = 1.5) noise of the same σ, on wells of equal width and
   different depth and of equal depth and different width.
B. **The α-stable exit exponent** — the slope of log(mean exit steps) on log(lr·σ) over a decade,
   against α (theory: −α, Imkeller & Pavlyukevich).
C. **A study on the tilted double well** (``swarm.run``, 1-D, tilt −0.1, SGD, started in the
   local well): P(reaching the global well within the steps), divergence and the mean passage
   time for each noise model at one σ.
D. **SGD against Adam under curvature-shaped noise** (``swarm.run`` on 2-D Gaussian peaks):
   P(escape) and P(global) under isotropic Gaussian noise and under curvature(σ) noise.

    python scripts/noise_study.py [--walkers 4000] [--out docs/studies]
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numba
import numpy as np

import swarm
from swarm import landscapes, noise, optimizers, starts, theory
from swarm.kernels import noise as knoise
from swarm.kernels import philox

SEED = 2026
K0, K1 = philox.split_seed(SEED)
_STABLE, _T = knoise.make(numba.njit(inline="always"), np.float64)[:2]
_NORMAL = philox.make(numba.njit(inline="always"), np.float64)[1]
GAUSS, STUDENT, STABLE = 0, 1, 2


@numba.njit
def _exits(kind, par, depth, width, lr, sigma, n, cap, out):
    k = 2.0 * depth / width ** 2
    for s in range(n):
        x = 0.0
        t = 0
        while abs(x) < width and t < cap:
            t += 1
            if kind == STABLE:
                xi = _STABLE(K0, K1, 0, t, s, 0, par)
            elif kind == STUDENT:
                xi = _T(K0, K1, 0, t, s, 0, par)
            else:
                xi = _NORMAL(K0, K1, 0, t, s, 0)[0]
            x = x - lr * (k * x + sigma * xi)
        out[s] = t
    return out


def mean_exit(kind, par, depth, width, lr, sigma, n, cap=10 ** 7):
    """(mean exit steps, its standard error, fraction censored at ``cap``)."""
    out = _exits(kind, par, depth, width, lr, sigma, n, cap, np.empty(n))
    return out.mean(), out.std() / math.sqrt(n), float((out >= cap).mean())


MODELS_A = (("Gaussian", GAUSS, 0.0), ("Student-t ν=3", STUDENT, 3.0),
            ("α-stable α=1.5", STABLE, 1.5))
WELLS = ((2.5, 1.0), (5.0, 1.0), (2.5, 2.0))       # (depth, width)


def part_a(walkers, lr=0.1, sigma=2.5):
    rows = []
    for name, kind, par in MODELS_A:
        row = {"model": name}
        for depth, width in WELLS:
            m, se, cens = mean_exit(kind, par, depth, width, lr, sigma, walkers)
            row[(depth, width)] = (m, se, cens)
        rows.append(row)
    return rows


def part_b(walkers, alphas=(1.1, 1.3, 1.5, 1.7, 1.9), lr=0.1, depth=2.5):
    eps = np.geomspace(0.01, 0.1, 5)
    rows = []
    for a in alphas:
        m = [mean_exit(STABLE, a, depth, 1.0, lr, e / lr, walkers)[0] for e in eps]
        rows.append({"alpha": a, "slope": float(np.polyfit(np.log(eps), np.log(m), 1)[0]),
                     "steps_small": m[0], "steps_large": m[-1]})
    return rows


def part_c(walkers, steps=4000, lr=0.02, sigma=1.0):
    fam = landscapes.double_well(dim=1, tilt=-0.1)
    models = [sigma, noise.student_t(sigma, 3.0), noise.alpha_stable(sigma / math.sqrt(2), 1.5),
              noise.alpha_stable(sigma / math.sqrt(2), 2.0), noise.curvature(sigma)]
    res = swarm.run(fam, [optimizers.sgd(lr=lr)], instances=1, starts=walkers, steps=steps,
                    noise=models, seed=SEED, start=starts.at_minimum(1), tol_x=0.25, tol_f=None)
    rows = []
    for a, meta in enumerate(res.arms):
        o = res.arm(a)
        tau, rel = theory.rate_estimate(o["hit_step"].ravel(), steps, lr)
        rows.append({"model": meta.get("noise_model", f"gaussian(sigma={meta['noise']})"),
                     "arrived": float((o["hit_step"] >= 0).mean()),
                     "diverged": float(o["diverged"].mean()), "tau": tau, "se": tau * rel})
    return rows, steps, lr


def part_d(walkers, steps=300, sigma=0.3):
    fam = landscapes.gaussian_peaks(dim=2, peaks=8)
    opts = [optimizers.sgd(lr=0.05), optimizers.adam(lr=0.02)]
    res = swarm.run(fam, opts, instances=10, starts=walkers // 10, steps=steps,
                    noise=[sigma, noise.curvature(sigma)], seed=SEED)
    rows = []
    for r, meta in zip(res.table(), res.arms):
        rows.append({"optimizer": meta["label"],
                     "noise": meta.get("noise_model", f"gaussian(sigma={meta['noise']})"),
                     "p_escape": r["p_escape"], "p_global": r["p_global"],
                     "diverged": r["diverged"]})
    return rows


def markdown(a, b, c, d, walkers, args):
    (c_rows, c_steps, c_lr) = c
    out = ["# Escape under heavy-tailed and curvature-shaped noise", "",
           f"Made by `python scripts/noise_study.py {' '.join(args)}` ({walkers} walkers per "
           f"cell). Noise models and conventions: [../noise.md](../noise.md).", "",
           "## A. Width against depth (1-D well U = h·(x/w)², SGD lr 0.1, σ = 2.5)", "",
           "Mean exit steps (± standard error) from |x| < w, started at the minimum.", "",
           "| noise | h=2.5, w=1 | h=5, w=1 | h=2.5, w=2 | deeper/shallower (w=1) |",
           "|---|---|---|---|---|"]
    for r in a:
        cells = [f"{r[k][0]:.4g} ± {r[k][1]:.2g}" + (" (censored)" if r[k][2] else "")
                 for k in WELLS]
        ratio = r[WELLS[1]][0] / r[WELLS[0]][0]
        out.append(f"| {r['model']} | {' | '.join(cells)} | {ratio:.3g} |")
    out += ["", "## B. The α-stable exit exponent", "",
            "Slope of log(mean exit steps) on log(lr·σ), lr·σ from 0.01 to 0.1 (width 1, "
            "depth 2.5, lr 0.1); theory −α.", "",
            "| α | fitted slope | −α | steps at lr·σ=0.01 | steps at lr·σ=0.1 |",
            "|---|---|---|---|---|"]
    for r in b:
        out.append(f"| {r['alpha']:g} | {r['slope']:.3f} | {-r['alpha']:g} | "
                   f"{r['steps_small']:.4g} | {r['steps_large']:.4g} |")
    out += ["", f"## C. Tilted double well (1-D, tilt −0.1), SGD lr {c_lr}, {c_steps} steps, "
            "from the local minimum", "",
            "α-stable σ is σ/√2 so that α = 2 is the Gaussian of the same variance. τ: "
            "censored maximum-likelihood mean passage time (time units lr·steps).", "",
            "| noise | P(arrived) | P(diverged) | τ ± se |", "|---|---|---|---|"]
    for r in c_rows:
        out.append(f"| `{r['model']}` | {r['arrived']:.3f} | {r['diverged']:.3f} | "
                   f"{r['tau']:.4g} ± {r['se']:.2g} |")
    out += ["", "## D. SGD against Adam under curvature-shaped noise (2-D Gaussian peaks, 8 "
            "peaks, 10 instances)", "",
            "| optimizer | noise | P(escape) | P(global) | diverged |", "|---|---|---|---|---|"]
    for r in d:
        out.append(f"| {r['optimizer']} | `{r['noise']}` | {r['p_escape']:.3f} | "
                   f"{r['p_global']:.3f} | {r['diverged']} |")
    return "\n".join(out) + "\n" + READING


# what the committed run (--walkers 2000) shows; rerunning at that size reproduces its numbers
READING = """
## Reading

- A: under Gaussian noise the exit time is Arrhenius: doubling the depth multiplies it by 8.4,
  doubling the width (same depth, so a flatter well) by 7.4. Under α-stable noise doubling the
  depth changes it by 8 % and doubling the width multiplies it by 2.4 ≈ 2^1.5 = 2.8 (a single
  jump must cover the width: rate ∝ (lr·σ/w)^α); Student-t with ν = 3 (tail index 3) sits
  between, 15 % for depth and 3.5 for width (≈ 2^3 = 8 only for much rarer exits).
- B: the fitted exponents are −α within 0.05 for every α from 1.1 to 1.9 (Imkeller &
  Pavlyukevich's law; `tests/test_noise.py` checks ±0.1 at 1.2, 1.5, 1.8).
- C: at a temperature where Gaussian noise never leaves the local well in 4000 steps, α-stable
  noise of the same scale reaches the global well 85 % of the time — and 12 % of trajectories
  jump out of the box (diverged, never a success). α = 2 with σ/√2 is the Gaussian of the same
  variance, and like it never escapes.
- D: on 2-D Gaussian peaks curvature-shaped noise of the same σ changes P(escape) and P(global)
  by about a standard error only (SGD 0.127 → 0.139, Adam 0.034 → 0.032; 2000 trajectories per
  arm): at σ = 0.3 the noise is small next to these peaks' basins. Adam escapes less than SGD
  under either noise (its steps are normalised, so the noise's shape matters less). A study
  at several σ and sharper peaks is the next step.
"""


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--walkers", type=int, default=4000)
    p.add_argument("--out", default="docs/studies")
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    parts = (part_a(a.walkers), part_b(a.walkers), part_c(a.walkers), part_d(a.walkers))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    args = sys.argv[1:] if argv is None else list(argv)
    (out / "noise.md").write_text(markdown(*parts, a.walkers, args), encoding="utf-8")
    print(f"wrote {out / 'noise.md'} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
