"""Figure data: the extra runs behind the report's 2-D figures, run once as a step of the study
and saved with its results as ``figures.npz``.

On a 2-D landscape two of the report's figures need runs the study itself does not make:

- **basin maps**: every optimizer configuration (arms ignoring σ, at most
  :data:`MAX_MAP_CONFIGS`, every optimizer represented) from the centres of an n×n grid of
  starts on instance 0, σ = 0, with the study's seed, steps, dtype and tolerances
  (:func:`swarm.run`, CPU); n ≤ :data:`BASIN_GRID`, smaller when the study's steps make the
  grid cost more than :data:`EXTRA_BUDGET` trajectory-steps;
- **example trajectories**: :func:`swarm.path` (σ = 0) of every such configuration from a few
  grid starts where their outcomes differ (:func:`story_starts`).

:func:`prepare` runs both and writes ``figures.npz`` into a results directory; ``swarm run``
and ``swarm demo`` call it, ``swarm extras DIR`` (or ``swarm.extras.prepare(result, DIR)``)
adds it to a directory saved without it. The report (:mod:`swarm.report`) only reads the file
(:func:`read`): it never runs anything.

>>> res = swarm.run(...); res.save("out/")          # doctest: +SKIP
>>> swarm.extras.prepare(res, "out/")               # doctest: +SKIP
>>> swarm.report.write(res, "out/")                 # doctest: +SKIP

The file is reproducible (the same study gives the same bytes: fixed member order and zip
timestamps), names the study it belongs to (:func:`study_key`: a SHA-256 of the spec, the
arms and the outcome hash), carries a SHA-256 of its arrays, and is checked on read (shapes,
dtypes, ranges; a ValueError names the file and the field).
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from swarm import analysis
from swarm.files import atomic_write, digest, lock, no_link, read_npz
from swarm.outcomes import hit, is_global

FILE = "figures.npz"
FORMAT = 1
BASIN_GRID = 60
MIN_GRID = 15
MAX_GRID = 1024
MAX_MAP_CONFIGS = 6
# the extra runs (basin maps) are sized to at most this many trajectory-steps
EXTRA_BUDGET = 3e8
MOMENTUM_KINDS = ("momentum", "nesterov")
# "rolls through": momentum's path passes SGD's end point closer than this fraction of the
# distance from there to the nearest other minimum (of the domain width without minima)
ROLL_FRACTION = 0.15
ROLL_FRACTION_OF_WIDTH = 0.02
STORY_STARTS = 3


@dataclass
class FigureData:
    """The outcomes of the extra runs of one study (``C`` configurations, ``n``×``n`` grid
    cells, first coordinate fastest; ``K`` example starts).

    ``configs``: [(study arm, name)] of the configurations run; ``total``: the study's number
    of configurations; ``start_basin`` (n²,), ``end_basin`` and ``hit_step`` (C, n²): the
    grid run's outcomes on instance 0; ``cells`` (K,), ``x0`` (K, 2), ``story`` and ``rolls``
    (K,): the example starts (:func:`story_starts`); ``paths`` (K, C, steps+1, 2): their
    trajectories (NaN after a divergence); ``key``: :func:`study_key` of the study."""
    n: int
    configs: list
    total: int
    start_basin: np.ndarray
    end_basin: np.ndarray
    hit_step: np.ndarray
    cells: np.ndarray
    x0: np.ndarray
    story: np.ndarray
    rolls: np.ndarray
    paths: np.ndarray
    key: str

    def arrays(self) -> dict:
        return {"format": np.array([FORMAT], np.int64), "key": np.array([self.key]),
                "grid": np.array([self.n], np.int64),
                "total": np.array([self.total], np.int64),
                "arms": np.array([a for a, _ in self.configs], np.int64),
                "start_basin": self.start_basin, "end_basin": self.end_basin,
                "hit_step": self.hit_step, "cells": self.cells, "x0": self.x0,
                "story": self.story, "rolls": self.rolls, "paths": self.paths}

    def starts(self):
        """The example starts as (cell, start point, story?, rolls through?)."""
        return [(int(c), x, bool(s), bool(r))
                for c, x, s, r in zip(self.cells, self.x0, self.story, self.rolls)]


class Stale(ValueError):
    """``figures.npz`` belongs to another study (an earlier one in the same directory)."""


# ---------------------------------------------------------------- what the runs are

def family(result):
    from swarm import landscapes
    return landscapes.from_dict(result.spec["landscape"])


def optimizer(meta):
    """The optimizer of one study arm (its label, kind and hyperparameters)."""
    from swarm import optimizers
    params = {k: v for k, v in meta.items() if k not in analysis.META_KEYS}
    return optimizers.from_dict({"kind": meta["kind"], "label": meta["label"],
                                 "params": params})


def configs(result, limit=MAX_MAP_CONFIGS):
    """Distinct optimizer configurations (arms ignoring σ), round-robin over labels so every
    optimizer appears, at most ``limit``: ([(first arm index, name)], total configurations)."""
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


def reason_none(result, n=BASIN_GRID, limit=MAX_MAP_CONFIGS):
    """Why a study has no figure data (not 2-D, or its steps make even a
    :data:`MIN_GRID`² grid exceed :data:`EXTRA_BUDGET`), or None when it has."""
    dim = int(result.spec["landscape"]["dim"])
    if dim != 2:
        return f"basin maps and trajectories: 2-D landscapes only (this one is {dim}-D)"
    cfg, _ = configs(result, limit)
    steps = int(result.spec["steps"])
    if math.sqrt(EXTRA_BUDGET / (len(cfg) * steps)) < MIN_GRID:
        return (f"basin maps and trajectories: {steps} steps × {len(cfg)} configurations "
                f"exceed the extra-run budget ({EXTRA_BUDGET:.0e} trajectory-steps for a "
                f"{MIN_GRID}×{MIN_GRID} grid)")
    return None


def grid_size(result, n=BASIN_GRID, limit=MAX_MAP_CONFIGS):
    cfg, _ = configs(result, limit)
    afford = math.sqrt(EXTRA_BUDGET / (len(cfg) * int(result.spec["steps"])))
    return int(min(n, afford))


def study_key(result) -> str:
    """SHA-256 of what the extra runs depend on: the spec, the arms and the outcome hash."""
    from swarm.result import jsonable
    body = json.loads(json.dumps({"spec": result.spec, "arms": result.arms,
                                  "outcome_hash": result.hash}, default=jsonable))
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()


# ---------------------------------------------------------------- the runs

def basin_grid_run(result, n=BASIN_GRID, limit=MAX_MAP_CONFIGS):
    """The run behind the basin maps: every configuration (≤ ``limit``, σ = 0) from the
    centres of an n×n grid on instance 0 (the study's seed, steps, dtype and tolerances).
    Returns (grid result, [(study arm, name)], total configurations, n)."""
    import swarm
    from swarm import starts
    why = reason_none(result, n, limit)
    if why is not None:
        raise ValueError(why)
    cfg, total = configs(result, limit)
    n = grid_size(result, n, limit)
    spec = result.spec
    res = swarm.run(family(result), [optimizer(result.arms[a]) for a, _ in cfg], instances=1,
                    starts=n * n, steps=int(spec["steps"]), noise=0.0, seed=int(spec["seed"]),
                    start=starts.grid(n), dtype=spec.get("dtype", "float64"),
                    tol_x=spec.get("tol_x"), tol_f=spec.get("tol_f"), backend="cpu")
    return res, cfg, total, n


def _path(result, inst, meta, x0):
    import swarm
    return swarm.path(inst, optimizer(meta), x0, steps=int(result.spec["steps"]), noise=0.0,
                      dtype=result.spec.get("dtype", "float64"))


def _end_point(p):
    q = p[np.all(np.isfinite(p), axis=1)]
    return q[-1]


def rolls_through(result, inst, configs, i_mom, i_sgd, x0):
    """Whether momentum-type configuration ``i_mom`` rolls through the local minimum where SGD
    configuration ``i_sgd`` stops, from ``x0`` (σ = 0, the study's steps and dtype): its path
    passes within ``r`` of SGD's end point, ``r`` 15 % of the distance from that point to the
    nearest other listed minimum (2 % of the domain width when the family lists none).
    Returns (passes, closest distance, r)."""
    p_sgd = _path(result, inst, result.arms[configs[i_sgd][0]], x0)
    p_mom = _path(result, inst, result.arms[configs[i_mom][0]], x0)
    end = _end_point(p_sgd)
    lo, hi = inst.domain
    r = ROLL_FRACTION_OF_WIDTH * float(np.max(hi - lo))
    if inst.minima is not None and len(inst.minima) > 1:
        dm = np.linalg.norm(inst.minima - end, axis=1)
        r = ROLL_FRACTION * float(np.sort(dm)[1])
    q = p_mom[np.all(np.isfinite(p_mom), axis=1)]
    d = float(np.min(np.linalg.norm(q - end, axis=1)))
    return d <= r, d, r


def story_starts(result, grid, configs, n, count=STORY_STARTS, max_checked=40):
    """Grid cells to draw paths from: (cell index, start point, story?, rolls through?).

    First a *story* start: outside the global basin, a momentum-type optimizer reaches the
    global target and every SGD configuration ends in a local basin (not diverged) —
    preferring one where the momentum path *rolls through* SGD's local minimum
    (:func:`rolls_through`, checked on the ``max_checked`` story cells closest to the minimum
    of their start basin), else the closest to that minimum (momentum then takes another
    route, and the report says so). Then further starts where some configuration reaches the
    global target and another does not, in other basins where possible, then starts where the
    end basins merely differ."""
    inst = family(result).instance(int(result.spec["seed"]), 0)
    ng = inst.n_global
    sb = grid.arm(0)["start_basin"][0]
    E = np.stack([grid.arm(i)["end_basin"][0] for i in range(len(configs))])
    S = is_global(E, ng)
    # reached the global target (not merely labelled global at a ridge it stalled on)
    H = np.stack([hit(grid.arm(i)["hit_step"][0]) for i in range(len(configs))]) & S
    nonglobal = ~is_global(sb, ng)
    mixed = nonglobal & H.any(0) & ~S.all(0)
    differ = nonglobal & (E != E[:1]).any(0)
    kinds = [result.arms[a]["kind"] for a, _ in configs]
    mom = [i for i, k in enumerate(kinds) if k in MOMENTUM_KINDS]
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


def compute(result, n=BASIN_GRID, limit=MAX_MAP_CONFIGS) -> FigureData:
    """Run the extra runs of ``result`` (:func:`basin_grid_run`, :func:`story_starts` and the
    paths from those starts); ValueError (:func:`reason_none`) for a study that has none."""
    grid, cfg, total, n = basin_grid_run(result, n, limit)
    picked = story_starts(result, grid, cfg, n)
    inst = family(result).instance(int(result.spec["seed"]), 0)
    paths = np.stack([np.stack([_path(result, inst, result.arms[a], x0) for a, _ in cfg])
                      for _, x0, _, _ in picked]).astype(np.float64)
    C = len(cfg)
    return FigureData(
        n=n, configs=cfg, total=total,
        start_basin=np.ascontiguousarray(grid.arm(0)["start_basin"][0], np.int64),
        end_basin=np.stack([grid.arm(i)["end_basin"][0] for i in range(C)]).astype(np.int64),
        hit_step=np.stack([grid.arm(i)["hit_step"][0] for i in range(C)]).astype(np.int64),
        cells=np.array([c for c, _, _, _ in picked], np.int64),
        x0=np.array([x for _, x, _, _ in picked], np.float64).reshape(len(picked), 2),
        story=np.array([s for _, _, s, _ in picked], bool),
        rolls=np.array([r for _, _, _, r in picked], bool),
        paths=paths, key=study_key(result))


# ---------------------------------------------------------------- the file

def npz_bytes(arrays) -> bytes:
    """An ``.npz`` whose bytes depend only on the arrays: members in name order, fixed zip
    timestamps (``np.savez`` stamps the current time), deflated."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arrays[name]),
                                      allow_pickle=False)
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def to_bytes(data: FigureData) -> bytes:
    arrays = data.arrays()
    return npz_bytes({**arrays, "digest": np.array([digest(arrays)])})


def prepare(result, directory, n=BASIN_GRID, limit=MAX_MAP_CONFIGS) -> Path | None:
    """Run the extra runs of ``result`` and write them to ``directory/figures.npz``
    (atomically, never through a link, holding the directory's lock); returns its path, or
    None for a study that has none (:func:`reason_none`; a ``figures.npz`` of another study
    is then removed)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    with lock(d):
        path = d / FILE
        no_link(path)
        if reason_none(result, n, limit) is not None:
            if path.is_file():
                path.unlink(missing_ok=True)
            return None
        atomic_write(path, to_bytes(compute(result, n, limit)))
    return path


def read(directory, result) -> FigureData | None:
    """The figure data of ``result`` in ``directory``, or None when there is no
    ``figures.npz``. A file of another study raises :class:`Stale`; a damaged or modified one
    a ValueError naming the file and the field. Links are refused."""
    path = Path(directory) / FILE
    no_link(path)
    if not path.exists():
        return None
    A, steps = len(result.arms), int(result.spec["steps"])
    F, I, B = np.float64, np.int64, np.bool_
    expect = {"format": ((1,), I), "key": ((1,), "U"), "digest": ((1,), "U"),
              "grid": ((1,), I), "total": ((1,), I), "arms": ((None,), I),
              "start_basin": ((None,), I), "end_basin": ((None, None), I),
              "hit_step": ((None, None), I), "cells": ((None,), I), "x0": ((None, 2), F),
              "story": ((None,), B), "rolls": ((None,), B),
              "paths": ((None, None, None, 2), F)}
    z = read_npz(path, "figure data", expect)

    def bad(field, msg):
        return ValueError(f"{path}: field {field!r} {msg}; rerun `swarm extras DIR`")
    if int(z["format"][0]) != FORMAT:
        raise bad("format", f"is {int(z['format'][0])}, expected {FORMAT} (written by another "
                            f"version of swarm)")
    if str(z["digest"][0]) != digest({k: v for k, v in z.items() if k != "digest"}):
        raise ValueError(f"{path}: does not match its digest (truncated or modified)")
    if str(z["key"][0]) != study_key(result):
        raise Stale(f"{path}: figure data of another study (not this directory's results)")
    n, C, K = int(z["grid"][0]), len(z["arms"]), len(z["cells"])
    arms = z["arms"]
    if not 1 <= n <= MAX_GRID:
        raise bad("grid", f"is {n}, expected 1 … {MAX_GRID}")
    if not C or np.any(arms < 0) or np.any(arms >= A) or np.any(np.diff(arms) <= 0):
        raise bad("arms", f"must be increasing arm indices in 0 … {A - 1}")
    if not C <= int(z["total"][0]) <= A:
        raise bad("total", f"is {int(z['total'][0])}, expected {C} … {A}")
    for k, shape in (("start_basin", (n * n,)), ("end_basin", (C, n * n)),
                     ("hit_step", (C, n * n)), ("x0", (K, 2)), ("story", (K,)),
                     ("rolls", (K,)), ("paths", (K, C, steps + 1, 2))):
        if z[k].shape != shape:
            raise bad(k, f"has shape {z[k].shape}, expected {shape}")
    if not K or np.any(z["cells"] < 0) or np.any(z["cells"] >= n * n):
        raise bad("cells", f"must be grid cells in 0 … {n * n - 1}")
    for k in ("start_basin", "end_basin"):
        if z[k].min() < -1:
            raise bad(k, "holds basin labels below −1")
    if z["hit_step"].min() < -1 or z["hit_step"].max() > steps:
        raise bad("hit_step", f"holds values outside −1 … {steps}")
    if np.any(z["rolls"] & ~z["story"]):
        raise bad("rolls", "is set for a start that is not a story start")
    if not np.all(np.isfinite(z["x0"])) or not np.all(np.isfinite(z["paths"][:, :, 0])):
        raise bad("x0" if not np.all(np.isfinite(z["x0"])) else "paths",
                  "holds a start that is not finite")
    names = analysis.arm_names(result, with_noise=False)
    return FigureData(n=n, configs=[(int(a), names[a]) for a in arms],
                      total=int(z["total"][0]), start_basin=z["start_basin"],
                      end_basin=z["end_basin"], hit_step=z["hit_step"], cells=z["cells"],
                      x0=z["x0"], story=z["story"], rolls=z["rolls"], paths=z["paths"],
                      key=str(z["key"][0]))
