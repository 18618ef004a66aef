"""Export a study's runs in COCO's data format (read by ``cocopp``) and IOHprofiler's (read by
IOHanalyzer and ``iohinspector``): ``swarm export DIR [DIR …] --format coco|ioh OUT``,
:func:`coco`, :func:`ioh`. ``docs/coco.md`` describes the files.

One *algorithm* per arm (optimizer configuration × noise level), named after the arm
(:func:`swarm.analysis.arm_names`, made safe as a directory name); one *run* per trajectory,
on COCO's instance number (BBOB families: the study's instance k is COCO's instance
``coco_instance + k``; its starts are several runs on that instance). Budgets and run lengths
are counted in **gradient evaluations**: the start point costs one, every update one more, so
a first hit at step h took h + 1 evaluations and a run's budget is steps + 1 (the basin
labels' polish is not part of the run). The files say so in their comment lines.

What is written per run. A study with precision targets (``targets="coco"``, kept outcomes)
knows, per trajectory, the first step at which f − f_opt ≤ target for each target, and its
best f − f_opt at the end — not f − f_opt at every evaluation. A run is written as the rows
(evaluations, value) of a best-so-far curve that reaches exactly the same targets at exactly
the same evaluations:

- one row at every evaluation count at which the run first reached new targets, with the
  value of the smallest target it had reached then, ``targets[j]``. The run's true best
  f − f_opt then lies in (``targets[j+1]``, ``targets[j]``]; ``targets[j]`` is the largest
  value in that interval, so a reader that counts ``value ≤ target`` (cocopp, iohinspector)
  counts target j reached there and target j + 1 not yet; any smaller value could claim a
  target (of a finer ladder than the study's) that the run had not reached.
- a first row at evaluation 1 (the start): ``targets[j]`` if the start already reached target
  j, else :data:`UNKNOWN` (1e300): f at the start is not stored and is only known to exceed
  ``targets[0]``. cocopp needs this row (it checks that every run begins at evaluation 1, and
  an ``inf`` there makes its reader loop forever) and iohinspector separates runs by it.
- a last row at the budget with the run's best f − f_opt (``best_f − f_opt``, exact; when it
  is not finite — a trajectory that diverged before any finite f — the last target value, or
  :data:`UNKNOWN`).

So at the study's own targets, readers recover exactly swarm's first-hit evaluations (hence
its aRT and runtime ECDF); at precisions between them, the evaluations they report are upper
bounds (the run reached them at the latest there).

Files are written with :func:`swarm.files.atomic_write`; an existing non-empty ``OUT`` is
refused unless ``force``, and nothing is written through a symbolic link inside ``OUT``.
The writers (:func:`write_coco`, :func:`write_ioh`) take plain per-run arrays
(:class:`Runs`); :func:`runs_of` makes them from a :class:`swarm.result.Result`.
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from swarm import targets as _targets

FORMATS = ("coco", "ioh")
UNKNOWN = 1e300            # f − f_opt at the start when the start reached no target
CLEAR = 1e-8              # a final value this close above a missed target is raised to it
COCO_PRECISION = 1e-8      # the .info files' Precision (COCO's final target of the bbob suite)
BUDGET_NOTE = ("evaluations are gradient evaluations (the start point counts one, each update "
               "one more; budget: steps + 1)")


@dataclass
class Runs:
    """The runs of one algorithm on one problem (function, dim), as the writers need them.

    ``hit_evals[r, j]``: the evaluation (1 … ``budget``) at which run r first had
    f − f_opt ≤ ``targets[j]``, −1 never; ``final[r]``: run r's best f − f_opt at the end
    (NaN: unknown); ``instances[r]``: its instance number (COCO's, for BBOB)."""
    algorithm: str            # a safe name: [A-Za-z0-9._+-], the directory and algId
    info: str                 # one line of free text (optimizer, hyperparameters, study)
    suite: str                # "bbob" for COCO's functions
    function: int             # COCO's function number (ioh: the function id)
    function_name: str
    dim: int
    instances: np.ndarray     # (m,) int
    targets: np.ndarray       # (T,) float, strictly decreasing, positive
    hit_evals: np.ndarray     # (m, T) int
    final: np.ndarray         # (m,) float
    budget: int               # evaluations per run

    def __post_init__(self):
        from swarm import _validate as V
        if not isinstance(self.algorithm, str) or not SAFE.fullmatch(self.algorithm):
            raise ValueError(f"algorithm must be a non-empty name of letters, digits and "
                             f"'._+-' (a directory name), got {str(self.algorithm)[:60]!r}")
        self.info = one_line(self.info)
        V.integer("function", self.function, low=1)
        V.integer("dim", self.dim, low=1)
        V.integer("budget", self.budget, low=1)
        self.instances = np.asarray(self.instances)
        if self.targets is None:
            raise ValueError(f"targets must be {_targets.ALLOWED}; got None")
        self.targets = _targets.canonical(np.asarray(self.targets, np.float64))
        self.hit_evals = np.asarray(self.hit_evals)
        self.final = np.asarray(self.final, np.float64)
        m, t = self.instances.shape[0], self.targets.shape[0]
        if self.instances.ndim != 1 or self.instances.dtype.kind not in "iu" or m == 0 \
                or self.instances.min() < 1:
            raise ValueError("instances must be a non-empty 1-D array of instance numbers ≥ 1")
        if self.hit_evals.shape != (m, t) or self.hit_evals.dtype.kind not in "iu":
            raise ValueError(f"hit_evals must be an integer array of shape (runs, targets) = "
                             f"{(m, t)}, got {self.hit_evals.dtype} {self.hit_evals.shape}")
        h = self.hit_evals
        if np.any((h != -1) & ((h < 1) | (h > self.budget))):
            raise ValueError(f"hit_evals must be −1 (never) or an evaluation in 1 … "
                             f"{self.budget} (the budget)")
        if t > 1 and np.any((h[:, 1:] >= 0) & ((h[:, :-1] < 0) | (h[:, 1:] < h[:, :-1]))):
            raise ValueError("hit_evals: a run reaches a target before a larger one")
        if self.final.shape != (m,):
            raise ValueError(f"final must have shape (runs,) = ({m},)")
        # the run's best must not reach a target that it never hit (inconsistent data; the
        # slack is rounding: a float32 study compares f − f* ≤ target in float32)
        reached = (h >= 0).sum(1)
        missed = self.targets[np.minimum(reached, t - 1)]
        bad = np.flatnonzero(np.isfinite(self.final) & (reached < t)
                             & (self.final <= missed * (1 - 1e-6)))
        if bad.size:
            r = int(bad[0])
            raise ValueError(
                f"run {r}: its best f − f_opt {self.final[r]!r} reaches target "
                f"{missed[r]!r}, which its first hits say it never reached (inconsistent or "
                f"crafted data)")


SAFE = re.compile(r"[A-Za-z0-9._+\-]{1,120}")


def one_line(s) -> str:
    """``s`` as one line of printable text (control characters, line breaks escaped)."""
    from swarm.result import printable
    return printable(" ".join(str(s).split()))


def safe_name(name) -> str:
    """A directory-safe algorithm name from an arm's name: ``adam(lr=0.05, σ=0.5)`` →
    ``adam_lr0.05_sigma0.5``."""
    s = str(name).replace("σ", "sigma").replace("=", "")
    s = re.sub(r"[^A-Za-z0-9.+\-]+", "_", s).strip("_.")
    return (s or "arm")[:120]


def rows(hit_evals, targets, final, budget) -> list[tuple[int, float]]:
    """The (evaluations, f − f_opt) rows of one run (module docstring): a row at evaluation 1,
    one per evaluation count at which new targets were first reached (the smallest target
    reached then) and one at the budget (the run's best, or the last value when that is not
    finite). Values are non-increasing, evaluations strictly increasing.

    The best at the budget is raised to ``(1 + CLEAR) ×`` the first target the run never
    reached when it lies within that of it (float32 rounding, or just above it): cocopp
    counts a value within 10⁻⁹ (relative) above a target as reaching it."""
    hit = hit_evals.tolist() if isinstance(hit_evals, np.ndarray) else list(hit_evals)
    tv = targets.tolist() if isinstance(targets, np.ndarray) else list(targets)
    out = [(1, UNKNOWN)]
    reached = 0
    for j, e in enumerate(hit):          # non-decreasing while ≥ 1, then −1 (Runs checks)
        if e < 0:
            break
        reached = j + 1
        if e == out[-1][0]:
            out[-1] = (e, tv[j])         # a smaller target reached at the same evaluation
        else:
            out.append((e, tv[j]))
    last = out[-1][1]
    end = float(final) if math.isfinite(final) and final <= last else last
    if reached < len(tv):
        end = min(max(end, tv[reached] * (1 + CLEAR)), last)
    if out[-1][0] == budget:
        out[-1] = (budget, end)
    else:
        out.append((int(budget), end))
    return out


# ------------------------------------------------------------------------ from a result

def runs_of(result, what="the result") -> list[Runs]:
    """One :class:`Runs` per arm of a result with kept outcomes and precision targets (a
    ValueError saying how to rerun otherwise)."""
    from swarm import analysis, landscapes
    from swarm.outcomes import TARGET_HIT
    spec = result.spec
    targets = getattr(result, "targets", None)
    if targets is None:
        raise ValueError(
            f"{what} has no precision targets: the export needs each run's first hit of every "
            f"target; rerun the study with targets = \"coco\" in its spec (swarm.run(..., "
            f"targets=\"coco\", keep_outcomes=True))")
    if result.outcomes is None or TARGET_HIT not in result.outcomes:
        raise ValueError(
            f"{what} kept aggregates only (per-arm tallies, not per-trajectory outcomes): the "
            f"export writes one run per trajectory; rerun with keep_outcomes=True (swarm run "
            f"--keep-limit above its number of trajectories)")
    fam = landscapes.from_dict(spec["landscape"])
    A, n_inst, n_start, steps = len(result.arms), result.instances, result.starts, \
        int(spec["steps"])
    m = n_inst * n_start
    th = np.asarray(result.outcomes[TARGET_HIT]).reshape(A, m, targets.size)
    best = np.asarray(result.outcomes["best_f"]).reshape(A, m)     # the working dtype
    if isinstance(fam, landscapes.Bbob):
        from swarm import bbob
        first = fam.coco_instance
        inst = np.arange(first, first + n_inst, dtype=np.int64)
        f_opt = np.array([bbob.fopt(fam.function, int(i)) for i in inst])
        suite, fid, fname = "bbob", fam.function, bbob.NAMES[fam.function]
    else:
        inst = np.arange(1, n_inst + 1, dtype=np.int64)
        f_opt = np.full(n_inst, float(landscapes.REGISTRY[fam.name].f_star(fam)))
        suite, fid, fname = "swarm", landscapes.REGISTRY[fam.name].fid, fam.name
    inst_r = np.repeat(inst, n_start)                  # instance-major: (instance, start)
    f_opt_r = np.repeat(f_opt, n_start)
    names = analysis.arm_names(result)
    algs = _unique([safe_name(n) for n in names])
    study = f"{fam.name} dim {fam.dim}, {n_inst} instances x {n_start} starts, {steps} steps, " \
            f"seed {spec.get('seed')}"
    out = []
    for a, meta in enumerate(result.arms):
        hyper = ", ".join(f"{k}={v}" for k, v in meta.items() if k != "label")
        hits = np.where(th[a] >= 0, th[a] + 1, -1)     # steps → evaluations
        with np.errstate(invalid="ignore", over="ignore"):    # f − f*, as the kernel has it
            final = (best[a] - f_opt_r.astype(best.dtype)).astype(np.float64)
        out.append(Runs(algs[a], f"swarm {names[a]}: {meta['label']} ({hyper}); {study}", suite, fid, fname, fam.dim, inst_r, targets, hits,
                        np.where(np.isfinite(final), final, np.nan), steps + 1))
    return out


def _unique(names):
    seen, out = {}, []
    for n in names:
        k = seen.get(n, 0)
        seen[n] = k + 1
        out.append(n if k == 0 else f"{n}_{k + 1}")
    return out


# ------------------------------------------------------------------------ output directory

class Output:
    """An export directory: created (refused when non-empty unless ``force``); files written
    atomically, never through a symbolic link inside it."""

    def __init__(self, out, force=False):
        self.root = Path(out)
        if os.path.lexists(self.root) and not self.root.is_dir():
            raise ValueError(f"{self.root}: exists and is not a directory")
        if self.root.is_dir() and any(self.root.iterdir()) and not force:
            raise ValueError(f"{self.root}: exists and is not empty; export into a new "
                             f"directory, or pass --force (force=True) to write over the "
                             f"files of the same names")
        self.root.mkdir(parents=True, exist_ok=True)

    def dir(self, *parts) -> Path:
        from swarm.files import no_link
        d = self.root
        for p in parts:
            if not SAFE.fullmatch(p) or p in (".", ".."):
                raise ValueError(f"unsafe directory name {p!r}")
            d = d / p
            no_link(d)
            d.mkdir(exist_ok=True)
            no_link(d)
        return d

    def write(self, path: Path, text: str):
        from swarm.files import atomic_write
        atomic_write(path, text.encode("utf-8"))


def _group(runs_list):
    """{(algorithm, function): {dim: Runs}}, refusing a problem given twice."""
    groups = {}
    for r in runs_list:
        g = groups.setdefault((r.algorithm, r.function), {})
        if r.dim in g:
            raise ValueError(f"two exports of algorithm {r.algorithm} on f{r.function} in "
                             f"dim {r.dim}: each (algorithm, function, dim) may come from one "
                             f"study only")
        g[r.dim] = r
    return groups


def _num(v) -> str:
    return f"{v:+.16e}"          # round-trips a float64 exactly


# ------------------------------------------------------------------------ COCO

def write_coco(runs_list, out, force=False) -> Path:
    """COCO's format (the ``bbob`` logger's ``bbob-new2`` data format, as cocoex 2.8 writes
    it): per algorithm ``OUT/<algorithm>/bbobexp_f<F>.info`` (per dimension: a header line, a
    comment line, the data line ``data_f<F>/bbobexp_f<F>_DIM<d>.dat, <instance>:<evaluations>
    |<final f − f_opt>, …``) and ``data_f<F>/bbobexp_f<F>_DIM<d>.dat`` and ``.tdat`` (one
    block per run, opened by a ``%`` line; columns: evaluations, constraint evaluations (0),
    best f − f_opt, measured f, best measured f — both f_opt + that value). The .dat and the
    .tdat hold the same rows (:func:`rows`): cocopp reads the first by target (``evals``) and
    the second by budget (``funvals``, last line = the budget)."""
    from swarm._version import __version__
    o = Output(out, force)
    for (alg, fid), dims in _group(runs_list).items():
        d = o.dir(alg)
        data = o.dir(alg, f"data_f{fid}")
        info = []
        for dim in sorted(dims):
            r = dims[dim]
            if r.suite != "bbob":
                raise ValueError(f"COCO's format needs a BBOB function; {alg} ran on "
                                 f"{r.function_name} (suite {r.suite})")
            name = f"bbobexp_f{fid}_DIM{dim}"
            head = (f"% f evaluations (swarm: {BUDGET_NOTE}) | g evaluations | best noise-free "
                    f"fitness - Fopt | measured fitness | best measured fitness\n")
            blocks, entries = [], []
            tv = r.targets.tolist()
            for inst, hit, fin in zip(r.instances.tolist(), r.hit_evals.tolist(),
                                      r.final.tolist()):
                rr = rows(hit, tv, fin, r.budget)
                blocks.append(head)
                for e, v in rr:
                    v = _num(v)
                    blocks.append(f"{e} 0 {v} {v} {v}\n")
                entries.append(f"{inst}:{r.budget}|{rr[-1][1]:.1e}")
            text = "".join(blocks)
            o.write(data / f"{name}.dat", text)
            o.write(data / f"{name}.tdat", text)
            info.append(f"suite = 'bbob', funcId = {fid}, DIM = {dim}, Precision = "
                        f"{COCO_PRECISION:.3e}, algId = '{alg}', coco_version = 'swarm "
                        f"{__version__} export', logger = 'bbob', data_format = 'bbob-new2'\n"
                        f"% {r.info}; {BUDGET_NOTE}; rows at the first hit of each target hold that target's "
                        f"value, the last row the run's best (docs/coco.md)\n"
                        f"data_f{fid}/{name}.dat, " + ", ".join(entries) + "\n")
        o.write(d / f"bbobexp_f{fid}.info", "".join(info))
    return o.root


# ------------------------------------------------------------------------ IOHprofiler

def write_ioh(runs_list, out, force=False) -> Path:
    """IOHprofiler's format (``ioh``'s Analyzer logger, version 0.3+): per algorithm and
    function ``OUT/<algorithm>/IOHprofiler_f<F>_<name>.json`` (algorithm name and info,
    function, one scenario per dimension with each run's instance, evaluations and best) and
    ``data_f<F>_<name>/IOHprofiler_f<F>_DIM<d>.dat`` (per run a header ``evaluations raw_y``,
    then rows :func:`rows`; raw_y is f − f_opt). Families other than BBOB: suite ``swarm``,
    function id the family's registry id, instances numbered 1, 2, … in study order."""
    o = Output(out, force)
    for (alg, fid), dims in _group(runs_list).items():
        first = next(iter(dims.values()))
        fname = re.sub(r"[^A-Za-z0-9_]+", "_", first.function_name)
        data_dir = f"data_f{fid}_{fname}"
        data = o.dir(alg, data_dir)
        scenarios = []
        for dim in sorted(dims):
            r = dims[dim]
            path = f"{data_dir}/IOHprofiler_f{fid}_DIM{dim}.dat"
            text, runs = [], []
            tv = r.targets.tolist()
            for inst, hit, fin in zip(r.instances.tolist(), r.hit_evals.tolist(),
                                      r.final.tolist()):
                rr = rows(hit, tv, fin, r.budget)
                text.append("evaluations raw_y\n" + "".join(f"{e} {v!r}\n" for e, v in rr))
                runs.append({"instance": inst, "evals": int(r.budget),
                             "best": {"evals": int(rr[-1][0]), "y": rr[-1][1], "x": []}})
            o.write(data / f"IOHprofiler_f{fid}_DIM{dim}.dat", "".join(text))
            scenarios.append({"dimension": int(dim), "path": path, "runs": runs})
        meta = {"version": "0.3.3", "suite": "BBOB" if first.suite == "bbob" else first.suite,
                "function_id": int(fid), "function_name": first.function_name,
                "maximization": False,
                "algorithm": {"name": alg, "info": f"{first.info}; {BUDGET_NOTE}"},
                "attributes": ["evaluations", "raw_y"],
                "experiment_attributes": [{"budget_unit": "gradient evaluations"}],
                "scenarios": scenarios}
        o.write(o.dir(alg) / f"IOHprofiler_f{fid}_{fname}.json", json.dumps(meta, indent=1))
    return o.root


# ------------------------------------------------------------------------ entry points

def _runs(results, fmt):
    """Every arm's :class:`Runs` of ``results`` (a Result, a list of them, or of (name,
    Result) pairs), each checked for what ``fmt`` needs."""
    from swarm import landscapes
    if not isinstance(results, (list, tuple)):
        results = [results]
    out = []
    for i, item in enumerate(results):
        what, res = item if isinstance(item, tuple) else (f"result {i}", item)
        name = res.spec["landscape"].get("name")
        if fmt == "coco" and not (isinstance(name, str) and name.startswith("bbob_f")):
            raise ValueError(
                f"{what}: --format coco needs one of COCO's BBOB families (bbob_f1 … bbob_f24, "
                f"landscapes.bbob); this study ran on the family {str(name)[:40]!r} "
                f"(--format ioh exports any family)")
        landscapes.from_dict(res.spec["landscape"])
        out += runs_of(res, what)
    return out


def coco(results, out, force=False) -> Path:
    """Write one or more results (:class:`swarm.result.Result`; BBOB families, kept outcomes,
    precision targets) in COCO's format into ``out``: :func:`write_coco`."""
    return write_coco(_runs(results, "coco"), out, force)


def ioh(results, out, force=False) -> Path:
    """Write one or more results (kept outcomes, precision targets; any family) in
    IOHprofiler's format into ``out``: :func:`write_ioh`."""
    return write_ioh(_runs(results, "ioh"), out, force)


def export(dirs, fmt, out, force=False) -> Path:
    """``swarm export``: load each results directory (:func:`swarm.result.load`, which checks
    every file) and write them all into ``out`` in format ``fmt`` (``coco`` or ``ioh``)."""
    from swarm import _validate as V
    from swarm.result import load
    V.choice("format", fmt, FORMATS)
    results = []
    for d in dirs:
        d = Path(d)
        if not d.is_dir():
            raise ValueError(f"{d}: no such results directory")
        results.append((str(d), load(d)))
    # everything is checked before OUT is touched
    runs = _runs(results, fmt)
    return (write_coco if fmt == "coco" else write_ioh)(runs, out, force)
