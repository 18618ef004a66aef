"""Results: per-trajectory outcomes plus how they were made, with save/load and a summary.

Outcome arrays (one entry per trajectory, ordered arm-major, then instance, then start):
``start_basin``, ``end_basin`` (``-1``: diverged), ``hit_step`` (first step at the global
target, ``-1``: never), ``best_f``, ``final_f``, ``diverged``. An *arm* is one optimizer
configuration at one noise level. Derived, per trajectory: ``success`` (ended in a global
basin), ``escaped`` (ended in a basin other than its start basin), ``escaped_to_global``
(started outside the global basin and ended in it).
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from swarm import stats

OUTCOME_BYTES = 8 * 5 + 1
FIELDS = ("start_basin", "end_basin", "hit_step", "best_f", "final_f", "diverged")
FORMAT = 2          # 2: instances drawn in bulk (0.2.0), n_global stored once, aggregate ranges


def empty_outcomes(shape, F):
    """Uninitialised outcome arrays of ``shape``, one per field of :data:`FIELDS`; the float
    fields in the working dtype ``F``."""
    return {k: np.empty(shape, dt) for k, dt in zip(FIELDS, (
        np.int64, np.int64, np.int64, F, F, np.bool_))}


def _git_commit():
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def provenance(backend, timings, threads, chunk_size):
    import numba
    import scipy
    from swarm import __version__
    device = platform.processor() or platform.machine()
    if backend == "cuda":
        from numba import cuda
        dev = cuda.get_current_device()
        name = getattr(dev, "name", "CUDA simulator")
        name = name.decode() if isinstance(name, bytes) else name
        device = f"{name} (device {getattr(dev, 'id', 0)}, compute capability " \
                 f"{dev.compute_capability})"
    return {"backend": backend, "device": device,
            "cpu_count": os.cpu_count(), "threads": threads or numba.get_num_threads(),
            "chunk_size": chunk_size, "timings": timings,
            "versions": {"swarm": __version__, "numba": numba.__version__,
                         "numpy": np.__version__, "scipy": scipy.__version__,
                         "python": sys.version.split()[0]},
            "git_commit": _git_commit(), "platform": platform.platform(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def outcome_hash(outcomes) -> str:
    """SHA-256 over the outcome arrays (names, dtypes, bytes): equal hash ⇔ equal outcomes."""
    h = hashlib.sha256()
    for k in FIELDS:
        a = np.ascontiguousarray(outcomes[k])
        h.update(k.encode())
        h.update(str(a.dtype).encode())
        h.update(a.tobytes())
    return h.hexdigest()


@dataclass
class Result:
    """A study's outcomes. ``aggregate`` (exact counts, histograms, sums; see
    :mod:`swarm.aggregate`) is always there; ``outcomes`` (per trajectory) only when the
    study kept them (``None`` otherwise)."""
    spec: dict
    arms: list
    outcomes: dict | None
    n_global: np.ndarray
    provenance: dict = field(default_factory=dict)
    study: dict | None = None        # the spec file a study came from (swarm.spec), if any
    aggregate: object = None

    def __post_init__(self):
        if self.aggregate is None:
            if self.outcomes is None:
                raise ValueError("a Result needs outcomes or an aggregate")
            self.aggregate = aggregate_of(self)

    # ---- shape of the outcome arrays
    @property
    def instances(self):
        return self.spec["instances"]

    @property
    def starts(self):
        return self.spec["starts"]

    def arm_slice(self, a):
        n = self.instances * self.starts
        return slice(a * n, (a + 1) * n)

    def arm(self, a) -> dict:
        """Outcomes of arm ``a`` reshaped to (instances, starts), plus derived flags."""
        if self.outcomes is None:
            raise ValueError(
                f"this study kept aggregates only ({self.aggregate.count('n').sum():,} "
                f"trajectories, more than its keep_limit): per-trajectory outcomes are not "
                f"available; use result.aggregate, or rerun with keep_outcomes=True")
        s = self.arm_slice(a)
        shape = (self.instances, self.starts)
        o = {k: v[s].reshape(shape) for k, v in self.outcomes.items()}
        ng = self.n_global[:, None]
        o["success"] = (o["end_basin"] >= 0) & (o["end_basin"] < ng)
        start_global = (o["start_basin"] >= 0) & (o["start_basin"] < ng)
        o["escaped"] = ~o["diverged"] & (o["start_basin"] != o["end_basin"])
        o["escaped_to_global"] = ~start_global & o["success"]
        o["started_global"] = start_global
        return o

    @property
    def hash(self):
        """SHA-256 of the per-trajectory outcomes when kept, else of the aggregate."""
        return outcome_hash(self.outcomes) if self.outcomes is not None else \
            "aggregate:" + self.aggregate.hash

    # ---- summaries
    def table(self, confidence=0.95) -> list[dict]:
        """One row per arm: P(global) with its Wilson (``p_global_low/high``) and
        Clopper–Pearson (``p_global_cp_low/high``) intervals, P(escape), P(escape → global),
        P(hit), first-hit medians and divergence counts.

        ``median_hit_step`` is the ECDF median over *all* trajectories (a miss counts as never
        hitting: nan when fewer than half hit); ``median_hit_step_of_hits`` is the median among
        the trajectories that hit (nan when none did). Both are exact when the study kept its
        outcomes; from aggregates only they are the grid point where the hit ECDF reaches the
        half (within one cell of :func:`swarm.aggregate.hit_grid`)."""
        from swarm import analysis
        rows = []
        agg = self.aggregate
        for a, meta in enumerate(self.arms):
            c = {k: int(agg.count(k)[a].sum()) for k in ("n", "successes", "started_global",
                                                         "escaped_to_global", "escapes",
                                                         "diverged", "hits")}
            n = c["n"]
            p = stats.proportion(c["successes"], n, confidence)
            cp = stats.proportion(c["successes"], n, confidence, "clopper-pearson")
            nonglobal = n - c["started_global"]
            esc_g = stats.proportion(c["escaped_to_global"], nonglobal, confidence)
            hits = analysis.hit_summary(self, a, confidence, n_resamples=200)
            rows.append({**meta, "n": n, "p_global": p.estimate, "p_global_low": p.low,
                         "p_global_high": p.high, "p_global_cp_low": cp.low,
                         "p_global_cp_high": cp.high,
                         "p_escape": c["escapes"] / n,
                         "p_escape_to_global": esc_g.estimate,
                         "p_hit": c["hits"] / n, "median_hit_step": hits.median,
                         "median_hit_step_of_hits": self._median_of_hits(a, hits),
                         "diverged": c["diverged"]})
        return rows

    def _median_of_hits(self, a, hits) -> float:
        """Lower median of the first-hit steps of arm ``a``'s trajectories that hit (the
        ⌈h/2⌉-th smallest of the h hit steps; nan without hits): exact from the kept outcomes
        (``hits.hit_steps``, sorted), else the grid point of the aggregate's hit histogram
        where that rank is reached."""
        h = int(hits.hits)
        if h == 0:
            return math.nan
        rank = (h + 1) // 2
        if len(hits.hit_steps) == h:
            return float(hits.hit_steps[rank - 1])
        from swarm import analysis
        return analysis.hist_rank_bound(np.cumsum(self.aggregate.hits[a]), self.aggregate.grid,
                                        rank)

    def summary(self, confidence=0.95) -> str:
        """A plain-text table, one line per arm."""
        rows = self.table(confidence)
        keys = list(dict.fromkeys(k for r in rows for k in r))   # every arm's columns
        hyper = [k for k in keys if k not in ("label", "kind", "n", "noise") and
                 not k.startswith(("p_", "median", "diverged"))]
        varying = [k for k in hyper if len({str(r.get(k)) for r in rows}) > 1
                   or any(r["kind"] != rows[0]["kind"] for r in rows)]
        lines = []
        spec = self.spec
        lines.append(f"{spec['landscape']['name']} (dim {spec['landscape']['dim']}): "
                     f"{spec['instances']} instances × {spec['starts']} starts, {spec['steps']} "
                     f"steps, noise σ = {', '.join(f'{s:g}' for s in spec['noise'])}, seed "
                     f"{spec['seed']}, {spec['dtype']}")
        names = []
        for r in rows:
            params = ", ".join(f"{k}={r[k]:g}" if isinstance(r[k], float) else f"{k}={r[k]}"
                               for k in ("lr", "momentum", "alpha", "b1", "b2")
                               if k in r and k in varying + ["lr"])
            if len(spec["noise"]) > 1:
                params += f", σ={r['noise']:g}"
            names.append(f"{r['label']}({params})")
        w = max([34] + [len(n) for n in names])          # long grid labels widen the column
        head = (f"{'optimizer':<{w}} {'P(global) [' + f'{confidence:.0%}' + ' CI]':>27} "
                f"{'P(escape)':>9} {'esc→global':>10} {'P(hit)':>7} {'med hit (all)':>13} "
                f"{'med hit (hits)':>14} {'diverged':>8}")
        lines.append(head)
        lines.append("-" * len(head))

        def step(v):
            return "-" if not np.isfinite(v) else f"{v:.0f}"
        for r, name in zip(rows, names):
            ci = f"{r['p_global']:.4f} [{r['p_global_low']:.4f}, {r['p_global_high']:.4f}]"
            lines.append(f"{name:<{w}} {ci:>27} {r['p_escape']:>9.4f} "
                         f"{r['p_escape_to_global']:>10.4f} {r['p_hit']:>7.4f} "
                         f"{step(r['median_hit_step']):>13} "
                         f"{step(r['median_hit_step_of_hits']):>14} {r['diverged']:>8d}")
        lines.append("med hit (all): median first-hit step over all trajectories, '-' when "
                     "fewer than half hit; med hit (hits): median among those that hit")
        return "\n".join(lines)

    # ---- persistence
    def save(self, directory) -> Path:
        """Write ``outcomes.npz`` and ``manifest.json`` (spec, arms, provenance, outcome hash)."""
        from swarm.checkpoint import atomic_write, npz_bytes
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        if self.outcomes is not None:
            buf = io.BytesIO()
            np.savez_compressed(buf, n_global=self._n_global_stored(), **self.outcomes)
            atomic_write(d / "outcomes.npz", buf.getvalue())
            (d / "aggregate.npz").unlink(missing_ok=True)
        else:
            atomic_write(d / "aggregate.npz", npz_bytes({"n_global": self._n_global_stored(),
                                                          **self.aggregate.arrays()}))
            (d / "outcomes.npz").unlink(missing_ok=True)
        manifest = {"format": FORMAT, "spec": self.spec, "arms": self.arms,
                    "provenance": self.provenance, "outcome_hash": self.hash,
                    "kept_outcomes": self.outcomes is not None}
        if self.study is not None:
            manifest["study"] = self.study
        atomic_write(d / "manifest.json",
                     json.dumps(manifest, indent=2, default=_jsonable).encode())
        return d

    def _n_global_stored(self):
        """The number of global minima, the same for every instance of a family: stored once."""
        from swarm.aggregate import scalar_n_global
        return np.array([scalar_n_global(self.n_global)], np.int64)

    def to_csv(self, path, confidence=0.95, rows=None) -> Path:
        """Write :meth:`table` as a tidy CSV, one row per arm: the arm's columns (label, kind,
        hyperparameters, noise; empty where a kind lacks a hyperparameter), then the
        statistics. Floats are written with ``repr`` precision, so they read back exactly.
        ``rows``: an already computed ``table(confidence)``."""
        import csv
        rows = self.table(confidence) if rows is None else rows
        cols = []
        for r in list(self.arms) + list(rows):
            cols += [k for k in r if k not in cols]
        if "noise" in cols:                # label, kind, hyperparameters, noise, statistics
            cols.remove("noise")
            arm_cols = [k for k in cols if any(k in a for a in self.arms)]
            cols.insert(len(arm_cols), "noise")
        path = Path(path)
        with path.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=cols, restval="")
            w.writeheader()
            for r in rows:
                w.writerow({k: _csv_value(v) for k, v in r.items()})
        return path


def _csv_value(v):
    if isinstance(v, np.generic):
        v = v.item()
    return "" if v is None else v


def _jsonable(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {o!r}")


def aggregate_of(res):
    """The exact aggregate of a result's per-trajectory outcomes."""
    from swarm.aggregate import Aggregate
    A, n_inst, n_start = len(res.arms), res.instances, res.starts
    o = {k: np.asarray(res.outcomes[k]).reshape(A, n_inst * n_start) for k in FIELDS}
    inst = np.repeat(np.arange(n_inst), n_start)
    return Aggregate.from_outcomes(o, inst, res.n_global, n_inst, res.spec["steps"])


class _Format(Exception):
    """A result directory written in another format."""


def load(directory) -> Result:
    """Read a result written by :meth:`Result.save`; refuses files whose hash does not match
    (a truncated or modified file is reported, never half-loaded)."""
    from swarm.aggregate import Aggregate
    from swarm.checkpoint import read_npz
    d = Path(directory)
    try:
        manifest = json.loads((d / "manifest.json").read_text())
        if manifest.get("format") != FORMAT:
            raise _Format(f"{d}: result format {manifest.get('format')!r}, expected {FORMAT} "
                          f"(written by another version of swarm: run its spec again)")
        kept = manifest.get("kept_outcomes", True)
        if kept:
            z = read_npz(d / "outcomes.npz", "outcomes file")
            outcomes = {k: z[k] for k in FIELDS}
            agg = None
        else:
            z = read_npz(d / "aggregate.npz", "aggregate file")
            outcomes, agg = None, Aggregate.from_arrays(z)
        spec, arms = manifest["spec"], manifest["arms"]
        n_global = np.asarray(z["n_global"], np.int64)
        if n_global.shape != (1,) or n_global[0] < 1:
            raise ValueError(f"n_global must hold one positive number, got shape "
                             f"{n_global.shape}")
        n_global = np.broadcast_to(n_global[0], (int(spec["instances"]),))
        expected = manifest["outcome_hash"]
    except _Format as e:
        raise ValueError(str(e)) from None
    except FileNotFoundError as e:
        raise ValueError(f"{d} is not a swarm result directory: {e.filename} is missing") from e
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError, OSError, ValueError) as e:
        raise ValueError(f"{d}: damaged result files ({e})") from e
    if kept:
        got = outcome_hash(outcomes)
        if got != expected:
            raise ValueError(f"{d}: outcomes.npz does not match the outcome hash in "
                             f"manifest.json (truncated or modified)")
    elif "aggregate:" + agg.hash != expected:
        raise ValueError(f"{d}: aggregate.npz does not match the outcome hash in manifest.json "
                         f"(truncated or modified)")
    try:
        return Result(spec, arms, outcomes, n_global, manifest["provenance"],
                      manifest.get("study"), aggregate=agg)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise ValueError(f"{d}: result files inconsistent with their manifest ({e})") from e
