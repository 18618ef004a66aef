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
                f"this study kept aggregates only ({int(self.aggregate.total('n').sum()):,} "
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
        """The per-arm table, one dict per arm: :func:`swarm.analysis.overall` (its docstring
        and ``docs/columns.md`` list the columns). The headline is P(global) with its
        family-level interval (``p_global_low/high``: cluster-robust t over instances,
        "P(global) for a landscape drawn from the family"; nan with one instance), the pooled
        Wilson and Clopper–Pearson intervals beside it (``p_global_wilson_low/high``,
        ``p_global_cp_low/high``: "P(global) on these particular instances"); then P(escape),
        P(escape → global), hits, first-hit medians, aRT, divergence and mean best/final f."""
        from swarm import analysis
        return analysis.overall(self, confidence)

    def _median_of_hits(self, a, hits) -> float:
        """Lower median of the first-hit steps of arm ``a``'s trajectories that hit:
        :func:`swarm.analysis.median_of_hits`."""
        from swarm import analysis
        return analysis.median_of_hits(self, a, hits)

    def summary(self, confidence=0.95, rows=None) -> str:
        """A plain-text table, one line per arm (``rows``: an already computed
        ``table(confidence)``): P(global) with its family-level interval (the headline) and the
        pooled one beside it, P(escape), P(escape → global), P(hit), first-hit medians and
        divergence; footer lines say which question each interval answers. With one instance
        the family-level interval is undefined: the pooled one is shown, and the footer says
        so."""
        from swarm import analysis
        rows = self.table(confidence) if rows is None else rows
        names = analysis.arm_names(self)
        spec = self.spec
        n_inst = int(spec["instances"])
        family = n_inst >= 2
        pct = f"{confidence:.0%}"

        def ci(lo, hi):
            return "–" if not (np.isfinite(lo) and np.isfinite(hi)) else \
                f"[{lo:.4f}, {hi:.4f}]"

        def step(v):
            return "-" if not np.isfinite(v) else f"{v:.0f}"
        lines = [f"{spec['landscape']['name']} (dim {spec['landscape']['dim']}): "
                 f"{spec['instances']} instances × {spec['starts']} starts, {spec['steps']} "
                 f"steps, noise σ = {', '.join(f'{s:g}' for s in spec['noise'])}, seed "
                 f"{spec['seed']}, {spec['dtype']}"]
        w = max([34] + [len(n) for n in names])          # long grid labels widen the column
        cis = ([f"family {pct} CI"] if family else []) + [f"pooled {pct} CI"]
        head = (f"{'optimizer':<{w}} {'P(global)':>9} "
                + " ".join(f"{c:>16}" for c in cis)
                + f" {'P(escape)':>9} {'esc→global':>10} {'P(hit)':>7} {'med hit (all)':>13} "
                  f"{'med hit (hits)':>14} {'diverged':>8}")
        lines.append(head)
        lines.append("-" * len(head))
        for r, name in zip(rows, names):
            cells = ([ci(r["p_global_low"], r["p_global_high"])] if family else []) + \
                [ci(r["p_global_wilson_low"], r["p_global_wilson_high"])]
            lines.append(f"{name:<{w}} {r['p_global']:>9.4f} "
                         + " ".join(f"{c:>16}" for c in cells)
                         + f" {r['p_escape']:>9.4f} {r['p_escape_to_global']:>10.4f} "
                           f"{r['p_hit']:>7.4f} {step(r['median_hit_step']):>13} "
                           f"{step(r['median_hit_step_of_hits']):>14} {r['diverged']:>8d}")
        if family:
            lines.append(f"family {pct} CI: P(global) for a landscape drawn from the family "
                         f"(cluster-robust t over the {n_inst} instances: the uncertainty "
                         f"comes from the finite number of instances)")
            lines.append(f"pooled {pct} CI: P(global) on these particular instances (Wilson, "
                         f"every trajectory independent)")
        else:
            lines.append(f"pooled {pct} CI: P(global) on this particular instance (Wilson, "
                         f"every trajectory independent); with one instance the family-level "
                         f"interval, P(global) for a landscape drawn from the family, is "
                         f"undefined")
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
