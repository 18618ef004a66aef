"""Tidy tables from a :class:`~swarm.result.Result`: one dict per row, the statistics done by
:mod:`swarm.stats` (SciPy underneath).

overall(result, confidence=0.95)        one row per arm: P(global) with Wilson, Clopper–Pearson
                                        and cluster-bootstrap intervals, P(escape), P(escape →
                                        global), divergence, first-hit statistics
per_start_basin(result, confidence)     P(global) per arm, split by start basin (global or
                                        not, and per start-basin label when there are few)
paired(result)                          every pair of arms: exact McNemar on the shared
                                        (instance, start) keys, Holm-adjusted over all pairs
ecdf(result, grid=None)                 fraction of trajectories at the global target by each
                                        step, per arm

Arms are the optimizer configurations × noise levels of a study, in ``result.arms`` order; a
row carries ``arm`` (the index), ``name`` (a short readable name, unique in the study, see
:func:`arm_names`), ``label``, ``kind``, ``noise`` and the arm's hyperparameters as flat keys
(:func:`hyper_keys`).

Two kinds of interval for P(global): the *pooled* binomial intervals (Wilson, Clopper–Pearson)
treat every trajectory as independent; the *cluster bootstrap* resamples landscape instances,
which are random too, so it also carries the instance-to-instance variation (pooling
understates the error when instances differ). Both are reported; with one instance only the
pooled intervals exist (the bootstrap bounds are ``nan``).
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from swarm import stats

META_KEYS = ("label", "kind", "noise")
DEFAULT_RESAMPLES = 2000
# the hit-time median bootstrap resamples trajectories: bound its work (elements drawn)
_HIT_BOOT_ELEMENTS = 2e8


# ---------------------------------------------------------------------------- arm metadata

def hyper_keys(result) -> list[str]:
    """Hyperparameter names present in any arm, in first-seen order."""
    keys = []
    for meta in result.arms:
        for k in meta:
            if k not in META_KEYS and k not in keys:
                keys.append(k)
    return keys


def varying_keys(result, label=None) -> list[str]:
    """Hyperparameters (and ``"noise"``) that take more than one value among the arms of
    ``label`` (all arms when ``label`` is None)."""
    arms = [m for m in result.arms if label is None or m["label"] == label]
    out = []
    for k in hyper_keys(result) + ["noise"]:
        if len({_key(m.get(k)) for m in arms}) > 1:
            out.append(k)
    return out


def _key(v):
    return repr(v)


def fmt_value(v):
    """A hyperparameter value for names and labels (``%g`` for numbers)."""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, float, np.floating, np.integer)):
        return f"{float(v):g}"
    return str(v)


def arm_names(result, with_noise=True) -> list[str]:
    """Short readable names, unique within the study: ``label(lr=…, <the hyperparameters
    that vary among the arms of that label>, σ=… when the study has several noise levels)``.
    ``with_noise=False`` leaves σ out (names of optimizer configurations; then arms that
    differ only in σ share a name)."""
    several_sigma = with_noise and len(result.spec.get("noise", [])) > 1
    vary = {lab: varying_keys(result, lab) for lab in {m["label"] for m in result.arms}}
    names = []
    for meta in result.arms:
        parts = []
        for k in hyper_keys(result):
            if k not in meta:
                continue
            if k == "lr" or (k in vary[meta["label"]] and k != "noise"):
                parts.append(f"{k}={fmt_value(meta[k])}")
        if several_sigma:
            parts.append(f"σ={fmt_value(meta['noise'])}")
        names.append(f"{meta['label']}({', '.join(parts)})" if parts else meta["label"])
    seen = {}
    for i, n in enumerate(names):
        if with_noise and names.count(n) > 1:
            seen[n] = seen.get(n, 0) + 1
            names[i] = f"{n} #{seen[n]}"
    return names


def labels(result) -> list[str]:
    """Optimizer labels in study order (one per optimizer spec, duplicates removed)."""
    out = []
    for m in result.arms:
        if m["label"] not in out:
            out.append(m["label"])
    return out


def _base_row(result, a, names):
    meta = result.arms[a]
    row = {"arm": a, "name": names[a], "label": meta["label"], "kind": meta["kind"],
           "noise": meta["noise"]}
    for k in hyper_keys(result):
        if k in meta:
            row[k] = meta[k]
    return row


def _cluster(succ_per_inst, n_per_inst, confidence, n_resamples, seed):
    """Cluster bootstrap over instances with at least one trajectory; nan bounds when fewer
    than two such instances."""
    keep = n_per_inst > 0
    if keep.sum() < 2:
        return math.nan, math.nan
    c = stats.cluster_bootstrap(succ_per_inst[keep], n_per_inst[keep], confidence,
                                n_resamples=n_resamples, seed=seed)
    return c.low, c.high


# ---------------------------------------------------------------------------- tables

def overall(result, confidence=0.95, *, n_resamples=DEFAULT_RESAMPLES, seed=0) -> list[dict]:
    """One row per arm.

    Keys (besides the arm metadata): ``n`` trajectories, ``instances``, ``successes``,
    ``p_global`` with ``wilson_low/high``, ``cp_low/high`` (Clopper–Pearson, pooled) and
    ``boot_low/high`` (cluster bootstrap over instances, ``n_resamples`` replicates, ``seed``);
    ``p_instance_min/max`` (the spread of P(global) over instances); ``escapes``,
    ``p_escape``; ``nonglobal_starts``, ``escaped_to_global``, ``p_escaped_to_global`` with
    ``etg_low/high`` (Wilson; among trajectories that did not start in a global basin; nan
    when there are none); ``diverged``; ``hits``, ``p_hit`` (fraction that reached the
    global target within the budget), ``median_hit`` (ECDF median over all trajectories, nan
    when fewer than half hit) with ``median_hit_low/high`` (bootstrap over trajectories; may
    be inf), ``art`` (total steps / hits, COCO's aRT; inf without hits).
    """
    names = arm_names(result)
    steps = int(result.spec["steps"])
    rows = []
    for a in range(len(result.arms)):
        o = result.arm(a)
        succ = o["success"]
        n = int(succ.size)
        k = int(succ.sum())
        w = stats.proportion(k, n, confidence, "wilson")
        cp = stats.proportion(k, n, confidence, "clopper-pearson")
        per_inst = succ.sum(axis=1)
        n_inst = np.full(succ.shape[0], succ.shape[1])
        b_low, b_high = _cluster(per_inst, n_inst, confidence, n_resamples, seed)
        ng = ~o["started_global"]
        n_ng = int(ng.sum())
        k_etg = int(o["escaped_to_global"].sum())
        etg = stats.proportion(k_etg, n_ng, confidence)
        hit_resamples = int(max(100, min(n_resamples, _HIT_BOOT_ELEMENTS // max(n, 1))))
        h = stats.hit_time_summary(o["hit_step"].ravel(), steps, confidence=confidence,
                                   n_resamples=hit_resamples, seed=seed)
        p_inst = per_inst / succ.shape[1]
        rows.append({
            **_base_row(result, a, names),
            "n": n, "instances": int(succ.shape[0]), "successes": k,
            "p_global": w.estimate, "wilson_low": w.low, "wilson_high": w.high,
            "cp_low": cp.low, "cp_high": cp.high, "boot_low": b_low, "boot_high": b_high,
            "p_instance_min": float(p_inst.min()), "p_instance_max": float(p_inst.max()),
            "escapes": int(o["escaped"].sum()), "p_escape": float(o["escaped"].mean()),
            "nonglobal_starts": n_ng, "escaped_to_global": k_etg,
            "p_escaped_to_global": etg.estimate, "etg_low": etg.low if n_ng else math.nan,
            "etg_high": etg.high if n_ng else math.nan,
            "diverged": int(o["diverged"].sum()),
            "hits": h.hits, "p_hit": h.success_rate, "median_hit": h.median,
            "median_hit_low": h.median_low, "median_hit_high": h.median_high, "art": h.ert,
        })
    return rows


def per_start_basin(result, confidence=0.95, *, by_label="auto", max_labels=8,
                    n_resamples=DEFAULT_RESAMPLES, seed=0) -> list[dict]:
    """P(global) per arm, split by where the trajectories started.

    Rows with ``start`` = ``"global"`` / ``"non-global"`` (start basin global or not), and —
    when ``by_label`` is True, or ``"auto"`` and the study has at most ``max_labels``
    distinct start-basin labels — one row per start-basin label (``start`` = ``"basin <k>"``,
    ``start_label`` = k; the label's meaning is per instance: on shifted families it is the
    minimum's position relative to the global one). Keys: ``n``, ``successes``, ``p_global``
    (nan when ``n == 0``), ``wilson_low/high``, ``cp_low/high``, ``boot_low/high`` (cluster
    bootstrap over the instances that have such starts; nan with fewer than two).
    """
    names = arm_names(result)
    sb0 = result.arm(0)["start_basin"]
    distinct = np.unique(sb0)
    if by_label == "auto":
        by_label = len(distinct) <= max_labels
    rows = []
    for a in range(len(result.arms)):
        o = result.arm(a)
        groups = [("global", None, o["started_global"]),
                  ("non-global", None, ~o["started_global"])]
        if by_label:
            groups += [(f"basin {int(lab)}", int(lab), o["start_basin"] == lab)
                       for lab in distinct]
        for name, lab, mask in groups:
            n = int(mask.sum())
            k = int((o["success"] & mask).sum())
            w = stats.proportion(k, n, confidence, "wilson")
            cp = stats.proportion(k, n, confidence, "clopper-pearson")
            b_low, b_high = _cluster((o["success"] & mask).sum(axis=1), mask.sum(axis=1),
                                     confidence, n_resamples, seed)
            rows.append({**_base_row(result, a, names), "start": name, "start_label": lab,
                         "n": n, "successes": k, "p_global": w.estimate,
                         "wilson_low": w.low, "wilson_high": w.high, "cp_low": cp.low,
                         "cp_high": cp.high, "boot_low": b_low, "boot_high": b_high})
    return rows


def paired(result, confidence=0.95, *, n_resamples=DEFAULT_RESAMPLES, seed=0) -> list[dict]:
    """Every pair of arms (a < b) compared on the same (instance, start) keys.

    Keys: ``a``, ``b`` (arm indices), ``name_a``, ``name_b``, ``n`` pairs, ``n01`` (a fails, b
    succeeds), ``n10`` (a succeeds, b fails), ``p_a``, ``p_b``, ``difference`` = ``p_a − p_b``
    with ``diff_low/high`` (cluster bootstrap over instances of the paired difference; nan
    with one instance), ``pvalue`` (exact McNemar, :func:`swarm.stats.mcnemar`) and
    ``p_holm`` (Holm-adjusted over all pairs of the study). Empty with a single arm.
    """
    names = arm_names(result)
    succ = [result.arm(a)["success"] for a in range(len(result.arms))]
    rows = []
    alpha = 1.0 - confidence
    for a, b in itertools.combinations(range(len(result.arms)), 2):
        sa, sb = succ[a], succ[b]
        m = stats.mcnemar(sa.ravel(), sb.ravel())
        d_inst = sa.sum(axis=1).astype(np.int64) - sb.sum(axis=1)
        n_inst = sa.shape[1]
        lo = hi = math.nan
        if sa.shape[0] >= 2:
            rng = np.random.default_rng(seed)
            idx = rng.integers(0, sa.shape[0], size=(n_resamples, sa.shape[0]))
            reps = d_inst[idx].sum(axis=1) / (n_inst * sa.shape[0])
            lo, hi = (float(x) for x in np.quantile(reps, [alpha / 2, 1 - alpha / 2]))
        rows.append({"a": a, "b": b, "name_a": names[a], "name_b": names[b], "n": m.n,
                     "n01": m.n01, "n10": m.n10, "p_a": float(sa.mean()),
                     "p_b": float(sb.mean()), "difference": m.difference,
                     "diff_low": lo, "diff_high": hi, "pvalue": m.pvalue})
    if rows:
        adj = stats.holm([r["pvalue"] for r in rows])
        for r, p in zip(rows, adj):
            r["p_holm"] = float(p)
    return rows


def default_grid(steps, points=200) -> np.ndarray:
    """Step grid for ECDFs: 0, then about ``points`` log-spaced integer steps up to ``steps``."""
    steps = int(steps)
    g = np.unique(np.round(np.logspace(0, math.log10(max(steps, 1)), points)).astype(np.int64))
    return np.concatenate([[0], g[(g >= 1) & (g <= steps)]])


def ecdf(result, grid=None) -> list[dict]:
    """Per arm: the fraction of *all* its trajectories whose first hit of the global target
    came at or before each step of ``grid`` (default :func:`default_grid`). Rows: arm
    metadata plus ``steps`` (the grid, int array) and ``fraction`` (float array, same
    length); the curve plateaus at P(hit)."""
    names = arm_names(result)
    grid = default_grid(result.spec["steps"]) if grid is None else np.asarray(grid)
    if grid.ndim != 1 or np.isnan(grid.astype(float)).any():
        raise ValueError(f"grid must be a 1-D array of steps, got shape {grid.shape}")
    rows = []
    for a in range(len(result.arms)):
        hs = result.arm(a)["hit_step"].ravel()
        hit = np.sort(hs[hs >= 0])
        frac = np.searchsorted(hit, grid, side="right") / hs.size
        rows.append({**_base_row(result, a, names), "steps": grid.copy(), "fraction": frac})
    return rows


def by_instance(result) -> list[dict]:
    """P(global) of every arm on every instance (rows: arm metadata, ``instance``, ``n``,
    ``successes``, ``p_global``)."""
    names = arm_names(result)
    rows = []
    for a in range(len(result.arms)):
        s = result.arm(a)["success"]
        for i in range(s.shape[0]):
            rows.append({**_base_row(result, a, names), "instance": i, "n": int(s.shape[1]),
                         "successes": int(s[i].sum()), "p_global": float(s[i].mean())})
    return rows
