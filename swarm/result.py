"""Results: per-trajectory outcomes plus how they were made, with save/load and a summary.

Outcome arrays (one entry per trajectory, ordered arm-major, then instance, then start):
``start_basin``, ``end_basin`` (``-1``: diverged), ``hit_step`` (first step at the global
target, ``-1``: never), ``best_f``, ``final_f``, ``diverged``; with precision targets
(``spec["targets"]``, :mod:`swarm.targets`) also ``target_hit``, (trajectories, targets). An *arm* is one optimizer
configuration at one noise level. Derived, per trajectory: ``success`` (ended in a global
basin), ``escaped`` (ended in a basin other than its start basin), ``escaped_to_global``
(started outside the global basin and ended in it).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from swarm import noise as N
from swarm import outcomes as OC
from swarm.outcomes import FIELDS, OUTCOME_BYTES, empty_outcomes  # noqa: F401 (also read from here)

FORMAT = 3          # 3: hashes cover n_global and the study's sizes, manifest_hash
#                     2: instances drawn in bulk (0.2.0), n_global stored once, aggregate ranges
# what swarm writes beside a result (the CLI and swarm.report): removed when a directory that
# held another result is reused, so that nothing stale is left beside the new one
PRODUCTS = ("summary.csv", "summary.txt", "spec.toml", "report.md", "report.html", "figures.npz")
PRODUCT_DIRS = ("figures", "tables")
PRODUCT_SUFFIXES = (".png", ".csv")
MANIFEST_BYTES = 64 << 20


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
    from swarm._version import __version__
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


def outcome_hash(outcomes, study=None) -> str:
    """SHA-256 over the outcome arrays (names, dtypes, bytes) and, given ``study`` (a dict of
    numbers: :meth:`Result.hashed`), over it too: equal hash ⇔ equal outcomes of equal
    studies. A result's hash covers everything its statistics read — the outcomes, the number
    of global minima and the study's instances, starts, steps and number of arms — so that
    none of them can be edited in a results directory without the hash check noticing; the
    arms' names and hyperparameters are descriptions, not covered."""
    h = hashlib.sha256()
    for k in FIELDS + ((OC.TARGET_HIT,) if OC.TARGET_HIT in outcomes else ()):
        a = np.ascontiguousarray(outcomes[k])
        h.update(k.encode())
        h.update(str(a.dtype).encode())
        if k == OC.TARGET_HIT:             # its shape says how many targets (absent: none)
            h.update(str(a.shape).encode())
        h.update(a.tobytes())
    if study is not None:
        h.update(json.dumps(study, sort_keys=True).encode())
    return h.hexdigest()


def printable(s) -> str:
    """``s`` with control and other non-printable characters escaped (``\\x1b``), so that a
    label cannot drive a terminal."""
    s = str(s)
    return s if s.isprintable() else "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in s)


def csv_cell(v):
    """A CSV cell that a spreadsheet will not run: text beginning with ``= + - @`` (or a tab
    or carriage return) gets a leading ``'``; numbers are left alone."""
    if isinstance(v, str) and v and v[0] in "=+-@\t\r":
        return "'" + v
    return v


def _one_n_global(n_global) -> int:
    """The number of global minima of a (possibly broadcast) per-instance array, without
    materialising a broadcast view."""
    from swarm.aggregate import scalar_n_global
    g = np.asarray(n_global)
    if g.ndim == 1 and g.size and g.strides == (0,):
        g = g[:1]
    return scalar_n_global(g)


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

    @property
    def targets(self) -> np.ndarray | None:
        """The study's precision targets (float64, decreasing; :mod:`swarm.targets`), or None."""
        from swarm import targets as TG
        return TG.canonical(self.spec.get("targets"))

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
        o = {k: v[s].reshape(shape + v.shape[1:]) for k, v in self.outcomes.items()}
        ng = self.n_global[:, None]
        o["success"] = OC.is_global(o["end_basin"], ng)
        start_global = OC.is_global(o["start_basin"], ng)
        o["escaped"] = OC.escaped(o["start_basin"], o["end_basin"], o["diverged"])
        o["escaped_to_global"] = ~start_global & o["success"]
        o["started_global"] = start_global
        return o

    def hashed(self) -> dict:
        """What the hash covers besides the outcomes or the aggregate: the numbers the
        statistics read (number of global minima, instances, starts, steps, arms)."""
        return {"n_global": _one_n_global(self.n_global), "instances": int(self.instances),
                "starts": int(self.starts), "steps": int(self.spec["steps"]),
                "arms": len(self.arms)}

    @property
    def hash(self):
        """SHA-256 of the per-trajectory outcomes when kept, else of the aggregate, and of
        :meth:`hashed` (the number of global minima and the study's sizes)."""
        if self.outcomes is not None:
            return outcome_hash(self.outcomes, self.hashed())
        h = hashlib.sha256((self.aggregate.hash + json.dumps(self.hashed(), sort_keys=True))
                           .encode())
        return "aggregate:" + h.hexdigest()

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

    def aRT(self) -> np.ndarray:
        """COCO's aRT per arm and precision target, in gradient evaluations
        (:func:`swarm.analysis.art`); the study must have run with ``targets``."""
        from swarm import analysis
        return analysis.art(self)

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
        names = [printable(n) for n in analysis.arm_names(self)]
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
                 f"steps, noise σ = {', '.join(N.text(s) for s in spec['noise'])}, seed "
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
        """Write ``outcomes.npz`` (or ``aggregate.npz``) and ``manifest.json`` (spec, arms,
        provenance, hash), holding the directory's lock (a second writer is refused).

        A directory that held *another* result (its manifest differs) loses that result's
        products — ``summary.csv``, ``summary.txt``, ``spec.toml``, ``report.md``,
        ``report.html`` and the ``.png``/``.csv`` files of ``figures/`` and ``tables/`` — so
        that nothing stale is left beside the new result. Symbolic links among these entries
        are refused; nothing else is touched."""
        from swarm.files import atomic_write, lock, no_link, npz_bytes
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        manifest = {"format": FORMAT, "spec": self.spec, "arms": self.arms,
                    "provenance": self.provenance, "outcome_hash": self.hash,
                    "kept_outcomes": self.outcomes is not None}
        if self.study is not None:
            manifest["study"] = self.study
        manifest["manifest_hash"] = manifest_hash(json.loads(json.dumps(manifest,
                                                                        default=jsonable)))
        text = json.dumps(manifest, indent=2, default=jsonable)
        with lock(d):
            for name in ("outcomes.npz", "aggregate.npz", "manifest.json") + PRODUCTS \
                    + PRODUCT_DIRS:
                no_link(d / name)
            if _held_another(d, json.loads(text)):
                remove_products(d)
            if self.outcomes is not None:
                buf = io.BytesIO()
                np.savez_compressed(buf, n_global=self._n_global_stored(), **self.outcomes)
                atomic_write(d / "outcomes.npz", buf.getvalue())
                _remove_file(d / "aggregate.npz")
            else:
                atomic_write(d / "aggregate.npz", npz_bytes(
                    {"n_global": self._n_global_stored(), **self.aggregate.arrays()}))
                _remove_file(d / "outcomes.npz")
            atomic_write(d / "manifest.json", text.encode())
        return d

    def _n_global_stored(self):
        """The number of global minima, the same for every instance of a family: stored once."""
        return np.array([_one_n_global(self.n_global)], np.int64)

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
        from swarm.files import atomic_write
        path = Path(path)
        f = io.StringIO(newline="")
        w = csv.DictWriter(f, fieldnames=[csv_cell(c) for c in cols], restval="")
        w.writeheader()
        for r in rows:
            w.writerow({csv_cell(k): csv_cell(_csv_value(v)) for k, v in r.items()})
        atomic_write(path, f.getvalue().encode("utf-8"))      # never through a link
        return path


def _csv_value(v):
    if isinstance(v, np.generic):
        v = v.item()
    return "" if v is None else v


def jsonable(o):
    """``json.dumps``'s ``default``: NumPy scalars and arrays as Python numbers and lists."""
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {o!r}")


def aggregate_of(res):
    """The exact aggregate of a result's per-trajectory outcomes."""
    from swarm.aggregate import Aggregate
    A, n_inst, n_start = len(res.arms), res.instances, res.starts
    o = {k: np.asarray(v).reshape((A, n_inst * n_start) + np.shape(v)[1:])
         for k, v in res.outcomes.items() if k in OC.fields(1)}
    inst = np.repeat(np.arange(n_inst), n_start)
    return Aggregate.from_outcomes(o, inst, res.n_global, n_inst, res.spec["steps"],
                                   targets=res.targets)


def manifest_hash(manifest) -> str:
    """SHA-256 of a manifest's canonical JSON (sorted keys, no spaces), ``manifest_hash``
    itself left out: every field — spec, arms, provenance, study — is covered, so that an
    accidental change anywhere in ``manifest.json`` is reported."""
    body = {k: v for k, v in manifest.items() if k != "manifest_hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()


def _remove_file(p):
    """Remove a regular file swarm wrote (never a link, which is refused, nor a folder)."""
    from swarm.files import no_link
    no_link(p)
    if p.is_file():
        p.unlink(missing_ok=True)


def _held_another(d, manifest) -> bool:
    """Whether ``d`` holds the manifest of a result other than ``manifest`` (then the
    products beside it describe that other result). Unreadable or foreign manifests count as
    another result only when they are swarm's (have a format and an outcome hash)."""
    p = d / "manifest.json"
    if not p.is_file() or p.is_symlink():
        return False
    try:
        from swarm.files import read_json
        old = read_json(p, "manifest")
    except (OSError, ValueError):
        return False
    if "outcome_hash" not in old or "format" not in old:
        return False                       # not swarm's: leave what is beside it alone
    keys = ("format", "outcome_hash", "spec", "arms", "kept_outcomes", "study")
    return any(old.get(k) != manifest.get(k) for k in keys)


def remove_products(d):
    """Remove the products of an earlier result from ``d`` (:data:`PRODUCTS`, the
    ``.png``/``.csv`` files of :data:`PRODUCT_DIRS` and those folders when empty). Links are
    refused; files of other names are left alone."""
    from swarm.files import no_link
    d = Path(d)
    for name in PRODUCTS:
        _remove_file(d / name)
    for name in PRODUCT_DIRS:
        sub = d / name
        no_link(sub)
        if not sub.is_dir():
            continue
        for f in list(sub.iterdir()):
            if f.suffix in PRODUCT_SUFFIXES and f.is_file() and not f.is_symlink():
                f.unlink(missing_ok=True)
        try:
            sub.rmdir()
        except OSError:
            pass                           # other files are there: not ours to delete


def check_outcomes(o, steps, where):
    """Refuse (ValueError naming ``where`` and the field) outcome arrays whose values the
    aggregation could not use safely: hit steps outside −1 … ``steps`` (they index the
    first-hit histogram), basin labels below −1, and diverged trajectories with an end
    basin. Shapes and dtypes are checked when the file is read."""
    hs = o["hit_step"]
    if hs.size and (hs.min() < -1 or hs.max() > steps):
        raise ValueError(f"{where}: field 'hit_step' holds values outside −1 … {steps} "
                         f"(the study's steps): damaged or crafted")
    for k in ("start_basin", "end_basin"):
        if o[k].size and o[k].min() < -1:
            raise ValueError(f"{where}: field {k!r} holds basin labels below −1: damaged or "
                             f"crafted")
    if np.any(o["end_basin"][o["diverged"]] != -1):
        raise ValueError(f"{where}: field 'end_basin' holds a basin for a diverged trajectory: "
                         f"damaged or crafted")
    th = o.get(OC.TARGET_HIT)
    if th is not None and th.size:
        if th.min() < -1 or th.max() > steps:
            raise ValueError(f"{where}: field 'target_hit' holds values outside −1 … {steps} "
                             f"(the study's steps): damaged or crafted")
        # targets are reached in order: each at or after the one before it, never if that
        # one was never reached (columns compared pairwise: no (…, T) temporaries)
        for j in range(1, th.shape[-1]):
            a, b = th[..., j - 1], th[..., j]
            if np.any((b >= 0) & ((a < 0) | (b < a))):
                raise ValueError(f"{where}: field 'target_hit' holds a target reached before "
                                 f"a larger one (column {j}): damaged or crafted")


def _manifest_fields(d, manifest):
    """(spec, arms, kept, expected hash, n_global of the family, dtype) of a manifest, every
    field the loader uses checked (ValueError naming the file and the field)."""
    from swarm import _validate as V
    from swarm import landscapes
    where = d / "manifest.json"

    def bad(field, msg):
        return ValueError(f"{where}: field {field!r} {msg}")
    spec, arms = manifest.get("spec"), manifest.get("arms")
    if not isinstance(spec, dict):
        raise bad("spec", "must be an object")
    for k, (lo, hi) in (("instances", (1, 2 ** 32 - 1)), ("starts", (1, 2 ** 32 - 1)),
                        ("steps", (1, 2 ** 32 - 2)), ("seed", (0, 2 ** 64 - 1))):
        try:
            V.integer(k, spec.get(k), low=lo, high=hi)
        except ValueError as e:
            raise bad(f"spec.{k}", f"is damaged ({e})") from None
    if spec.get("dtype") not in ("float64", "float32"):
        raise bad("spec.dtype", f"must be float64 or float32, got {str(spec.get('dtype'))[:40]}")
    noise = spec.get("noise")
    if not isinstance(noise, list) or not noise or not all(
            (isinstance(x, (int, float)) and not isinstance(x, bool)) or isinstance(x, dict)
            for x in noise):
        raise bad("spec.noise", "must be a list of numbers or noise models")
    try:
        for x in noise:
            N.parse(x)
    except ValueError as e:
        raise bad("spec.noise", f"is damaged ({e})") from None
    land = spec.get("landscape")
    if not isinstance(land, dict):
        raise bad("spec.landscape", "must be an object")
    try:
        fam = landscapes.from_dict(land)
    except (ValueError, TypeError, KeyError) as e:
        raise bad("spec.landscape", f"is not a landscape family ({e})") from None
    if not isinstance(arms, list) or not arms or not all(
            isinstance(a, dict) and isinstance(a.get("label"), str)
            and isinstance(a.get("kind"), str) for a in arms):
        raise bad("arms", "must be a non-empty list of arms with a label and a kind")
    kept = manifest.get("kept_outcomes", True)
    if not isinstance(kept, bool):
        raise bad("kept_outcomes", "must be true or false")
    expected = manifest.get("outcome_hash")
    if not isinstance(expected, str):
        raise bad("outcome_hash", "must be a string")
    if not isinstance(manifest.get("provenance", {}), dict):
        raise bad("provenance", "must be an object")
    if "study" in manifest and not isinstance(manifest["study"], (dict, type(None))):
        raise bad("study", "must be an object")
    if "targets" in spec:
        from swarm import targets as TG
        try:
            if spec["targets"] is None or TG.record(spec["targets"]) != spec["targets"]:
                raise ValueError("not as swarm records them")
        except ValueError as e:
            raise bad("spec.targets", f"is damaged ({e})") from None
    return spec, arms, kept, expected, fam.n_global, spec["dtype"]


def load(directory) -> Result:
    """Read a result written by :meth:`Result.save`; refuses files whose hash does not match
    (a truncated or modified file is reported, never half-loaded).

    Everything is checked before it is used, with a ValueError naming the file and the field:
    the manifest's size and fields; each array's declared size and dtype before it is read
    (so a zip bomb or a header declaring 10¹¹ elements allocates nothing); the number of
    global minima against the landscape family; then the hash (over the outcomes or the
    aggregate, the number of global minima and the study's sizes); then every value that
    compiled code indexes with (hit steps, basins, the aggregate's counts and rows). Symbolic
    links inside the directory are refused."""
    from swarm.aggregate import Aggregate
    from swarm.files import memory_budget, read_json, read_npz
    d = Path(directory)
    try:
        manifest = read_json(d / "manifest.json", "manifest")
        if manifest.get("format") != FORMAT:
            raise ValueError(f"{d}: result format {str(manifest.get('format'))[:40]!r}, "
                             f"expected {FORMAT} (written by another version of swarm: run its "
                             f"spec again)")
        if manifest.get("manifest_hash") != manifest_hash(manifest):
            raise ValueError(f"{d / 'manifest.json'}: does not match its manifest_hash "
                             f"(truncated or modified)")
        spec, arms, kept, expected, n_glob, dtype = _manifest_fields(d, manifest)
        A, n_inst, n_start, steps = len(arms), spec["instances"], spec["starts"], spec["steps"]
        n = A * n_inst * n_start
        from swarm import targets as TG
        targets = TG.canonical(spec.get("targets"))
        nt = 0 if targets is None else targets.size
        budget = memory_budget()
        if kept:
            if n * OC.outcome_bytes(nt) * 2 > budget:
                raise ValueError(f"{d / 'manifest.json'}: declares {n:,} kept outcomes, more "
                                 f"than this machine's memory allows to load")
            F = np.float64 if dtype == "float64" else np.float32
            expect = {k: ((n,), dt) for k, dt in OC.field_dtypes(F).items()}
            if nt:
                expect[OC.TARGET_HIT] = ((n, nt), np.int64)
            expect["n_global"] = ((1,), np.int64)
            where = d / "outcomes.npz"
            z = read_npz(where, "outcomes file", expect, max_bytes=budget)
            outcomes = {k: z[k] for k in OC.fields(nt)}
        else:
            expect = {**Aggregate.expected_arrays(A, n_targets=nt),
                      "n_global": ((1,), np.int64)}
            where = d / "aggregate.npz"
            z = read_npz(where, "aggregate file", expect, max_bytes=budget)
            outcomes = None
        ng = int(z["n_global"][0])
        study = {"n_global": ng, "instances": n_inst, "starts": n_start, "steps": steps,
                 "arms": A}
        if kept:
            if outcome_hash(outcomes, study) != expected:
                raise ValueError(f"{d}: outcomes.npz does not match the outcome hash in "
                                 f"manifest.json (truncated or modified)")
        else:
            from swarm.aggregate import arrays_hash
            stored = arrays_hash({k: v for k, v in z.items() if k != "n_global"})
            h = hashlib.sha256((stored + json.dumps(study, sort_keys=True)).encode())
            if "aggregate:" + h.hexdigest() != expected:
                raise ValueError(f"{d}: aggregate.npz does not match the outcome hash in "
                                 f"manifest.json (truncated or modified)")
        # the hash matches: now what a crafted directory (with recomputed hashes) could hold
        if ng != n_glob:
            raise ValueError(f"{where}: field 'n_global' is {ng}, but every instance of "
                             f"{spec['landscape'].get('name')} has {n_glob} global minima "
                             f"(modified)")
        if kept:
            check_outcomes(outcomes, steps, where)
            agg = None
        else:
            agg = Aggregate.from_arrays(z, where=where, arms=A, n_instances=n_inst,
                                        steps=steps, keys=(0, n_inst * n_start, n_start),
                                        targets=targets)
        n_global = np.broadcast_to(np.int64(ng), (n_inst,))
    except FileNotFoundError as e:
        raise ValueError(f"{d} is not a swarm result directory: {e.filename} is missing") from e
    except (KeyError, TypeError, AttributeError, OSError, OverflowError) as e:
        raise ValueError(f"{d}: damaged result files ({type(e).__name__}: {e})") from e
    try:
        return Result(spec, arms, outcomes, n_global, manifest.get("provenance", {}),
                      manifest.get("study"), aggregate=agg)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise ValueError(f"{d}: result files inconsistent with their manifest ({e})") from e
