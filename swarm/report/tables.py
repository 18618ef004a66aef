"""The report's tables: number formats (fixed decimals), the Markdown/HTML tables built from
:mod:`swarm.analysis` rows, their footnotes, and the full tables as ``tables/*.csv``."""
from __future__ import annotations

import csv
import io
import math

import numpy as np

from swarm.files import atomic_write

MAX_PAIRS_SHOWN = 60
# below this many instances, instance-level intervals are flagged as rough
FEW_INSTANCES = 10


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

# ---------------------------------------------------------------------------- tables

def few_instances_note(instances):
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


def questions_note(confidence, instances):
    """Which question each kind of interval answers (the headline's footnote)."""
    pct = f"{confidence:.0%}"
    pooled = (f"pooled (Wilson, Clopper–Pearson) {pct}: P(global) on these particular "
              f"instances — every trajectory independent.")
    if instances < 2:
        return "Pooled " + pooled[len("pooled "):]
    return (f"Family-level {pct} (the headline): P(global) for a landscape drawn from the "
            f"family — cluster-robust t over the {instances} instances, the uncertainty from "
            f"the finite number of instances. The " + pooled)


def overall_table(rows, confidence, instances, per_inst=True):
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


def escape_table(rows, confidence):
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


def target_table(result):
    """COCO's aRT (gradient evaluations, :func:`swarm.analysis.art`) per arm at the
    integer-exponent targets 10², 10¹, … among the study's (all of them when there are none
    such), with the note that says what it is; ``None`` without targets."""
    from swarm import analysis
    from swarm import targets as TG
    tv = result.targets
    if tv is None:
        return None
    cols = TG.integer_exponents(tv)
    if cols.size == 0:
        cols = np.arange(tv.size)
    ert = analysis.art(result)
    names = analysis.arm_names(result)
    headers = ["optimizer"] + [f"{tv[j]:.0e}".replace("e+0", "e").replace("e-0", "e-")
                               for j in cols]
    body = [[n] + ["∞" if np.isinf(ert[a, j]) else f"{ert[a, j]:.4g}" for j in cols]
            for a, n in enumerate(names)]
    note = ("aRT (COCO's average runtime) in gradient evaluations to reach f − f* ≤ the "
            "column's precision: (Σ over trajectories of the evaluations to the first hit, or "
            f"the budget of {int(result.spec['steps']) + 1} evaluations when it never hits — "
            "diverged trajectories count as never) / the number of hits; ∞: no hit. Every "
            "target: `tables/targets.csv`.")
    return headers, body, note


def basin_table(rows, confidence):
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


def paired_table(rows, confidence):
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


def write_csv(path, rows, drop=()):
    """A CSV of ``rows``, written atomically (never through a link), text cells that a
    spreadsheet would run neutralised (:func:`swarm.result.csv_cell`)."""
    from swarm.result import csv_cell
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
        w.writerow({k: csv_cell(r.get(k, "")) for k in keys})
    atomic_write(path, fh.getvalue().encode("utf-8"))

