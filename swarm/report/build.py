"""Writing a report: the tables, the figures (each one attempted on its own) and the
document, into a results directory, holding its lock."""
from __future__ import annotations

import json
import traceback
import warnings
from pathlib import Path

import numpy as np

from swarm import analysis, extras
from swarm.files import atomic_write, lock, no_link
from swarm.report.document import Doc
from swarm.report.figures import (fig_ecdf, fig_heatmap, fig_p_global, fig_p_vs_lr,
                                  fig_p_vs_noise, heatmap_groups)
from swarm.report.maps import (basin_maps_caption, fig_basin_maps, fig_trajectories,
                               trajectory_caption)
from swarm.report.style import arm_colours, study_desc
from swarm.report.tables import (basin_table, escape_table, few_instances_note, overall_table,
                                 paired_table, questions_note, target_table, write_csv)
from swarm.report.text import definitions, findings, provenance_lines, start_desc

FAILED = object()            # what a figure step returns when it raised


def write(result, directory, *, extra_runs=True, confidence=0.95) -> Path:
    """Write ``report.md``, ``report.html`` (self-contained: figures as base64 PNG) and
    ``figures/*.png`` (plus ``tables/*.csv``) for ``result`` into ``directory``; returns the
    directory as a :class:`~pathlib.Path`.

    The report only reads: on 2-D landscapes the basin maps and trajectories are drawn from
    the study's figure data, ``directory/figures.npz`` (:mod:`swarm.extras`, written by
    ``swarm run``, ``swarm demo``, ``swarm extras DIR`` or :func:`swarm.extras.prepare`);
    without it (or with one of another study) the report says so and how to add it, and draws
    the other figures. A damaged ``figures.npz`` is refused (ValueError naming the file and
    the field), as the other result files are. ``extra_runs=False`` leaves the two figures
    out. A figure that cannot be drawn is named in the report with the reason, and the rest
    of the report is still written.

    The directory's lock is held while writing (a second writer is refused); symbolic links
    among the report's entries are refused, nothing is written through one, and the ``.png``
    files of ``figures/`` and ``.csv`` files of ``tables/`` of an earlier report are removed
    first, so that no stale figure is left beside the new ones.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    with lock(d):
        return _write(result, d, extra_runs, confidence)


def _prepare(d):
    """figures/ and tables/ of ``d``, emptied of an earlier report's files; links refused."""
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


def _write(result, d, extra_runs, confidence):
    # the figure data first: a damaged figures.npz is refused before anything is removed
    data, why = (_figure_data(result, d) if extra_runs else
                 (None, "basin maps and trajectories: left out (extra_runs=False)"))
    figdir, tabdir = _prepare(d)
    spec = result.spec

    rows = analysis.overall(result, confidence)
    basin_rows = analysis.per_start_basin(result, confidence)
    pair_rows = analysis.paired(result, confidence)
    ecdf_rows = analysis.ecdf(result)
    inst_rows = analysis.by_instance(result)
    result.to_csv(tabdir / "overall.csv", confidence, rows=rows)    # = summary.csv
    write_csv(tabdir / "per_start_basin.csv", basin_rows)
    write_csv(tabdir / "paired.csv", pair_rows)
    write_csv(tabdir / "by_instance.csv", inst_rows)
    if result.targets is not None:
        write_csv(tabdir / "targets.csv", analysis.target_rows(result))

    colours = arm_colours(result)
    figures = []          # (file, caption)
    skipped = []          # reasons

    def attempt(what, fn):
        """fn() or FAILED (the reason goes into the report and a RuntimeWarning)."""
        try:
            return fn()
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
    if data is None:
        skipped.append(why)
    else:
        if attempt("basin maps", lambda: fig_basin_maps(
                result, data, figdir / "basin_maps.png")) is not FAILED:
            figures.append(("basin_maps.png", basin_maps_caption(result, data)))
        story = attempt("trajectories", lambda: fig_trajectories(
            result, data, colours, figdir / "trajectories.png"))
        if story is not FAILED:
            figures.append(("trajectories.png", trajectory_caption(result, data.configs,
                                                                    story)))

    # ---- document
    doc = Doc()
    lan = spec["landscape"]
    doc.h(1, f"swarm study: {lan['name']} ({lan['dim']}-D)")
    doc.p(f"{study_desc(result)}. Start rule: `{start_desc(spec.get('start'))}`. "
          f"Optimizers: " + ", ".join(f"`{n}`" for n in analysis.arm_names(result)) + ".")
    doc.h(2, "Findings")
    doc.items(findings(rows, pair_rows, confidence, int(spec["instances"])))
    doc.h(2, "Definitions")
    doc.items(definitions(result))
    doc.h(2, "P(global) per optimizer")
    n_inst = int(spec["instances"])
    per_inst = analysis.per_instance(result)
    h_, r_ = overall_table(rows, confidence, n_inst, per_inst)
    notes = [questions_note(confidence, n_inst), few_instances_note(n_inst)]
    if not per_inst:
        notes.append("The study kept no per-instance counts (too many instances): no cluster "
                     "bootstrap, per-instance range or per-instance table "
                     "(`tables/by_instance.csv` is empty).")
    doc.table(h_, r_, note=" ".join(n for n in notes if n))
    doc.h(2, "Escapes and first hits per optimizer")
    h_, r_ = escape_table(rows, confidence)
    doc.table(h_, r_)
    tt = target_table(result)
    if tt is not None:
        doc.h(2, "COCO targets: aRT per optimizer")
        doc.table(tt[0], tt[1], note=tt[2])
    doc.h(2, "P(global) and escapes by start basin")
    h_, r_ = basin_table(basin_rows, confidence)
    doc.table(h_, r_, note="P(esc→global) is among the group's starts outside a global basin "
                           "(– for global starts). All columns of every table are in "
                           "`tables/*.csv`.")
    doc.h(2, "Paired comparisons (same instance, same start, same noise)")
    if pair_rows:
        h_, r_, note = paired_table(pair_rows, confidence)
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
    doc.items(provenance_lines(result))
    doc.pre(json.dumps(spec, indent=2, default=_jsonable))

    atomic_write(d / "report.md", doc.markdown().encode("utf-8"))
    atomic_write(d / "report.html",
                 doc.html(figdir, f"swarm study: {lan['name']}").encode("utf-8"))
    return d


def _figure_data(result, d):
    """(figure data, None) of ``result`` in ``d``, or (None, why there is none)."""
    why = extras.reason_none(result)
    if why is not None:
        return None, why
    try:
        data = extras.read(d, result)
    except extras.Stale:
        data, why = None, (f"{extras.FILE} holds the figure data of another study (not of "
                           f"this directory's results)")
    if data is None:
        why = why or f"this results directory has no figure data ({extras.FILE})"
        return None, (f"basin maps and trajectories: {why}; add it with `swarm extras DIR` "
                      f"(in Python: `swarm.extras.prepare(result, DIR)`), then rewrite the "
                      f"report with `swarm report DIR`")
    return data, None


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

