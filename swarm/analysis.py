"""Tidy tables from a :class:`~swarm.result.Result`: one dict per row, the statistics done by
:mod:`swarm.stats` (SciPy underneath).

overall(result, confidence=0.95)        one row per arm: P(global) with Wilson, Clopper–Pearson,
                                        cluster-robust t and cluster-bootstrap intervals,
                                        P(escape) and P(escape → global) with Wilson and
                                        Clopper–Pearson, divergence, first-hit statistics
per_start_basin(result, confidence)     the same probabilities per arm, split by start basin
                                        (global or not, and per start-basin label when there
                                        are few)
paired(result)                          every pair of arms: exact McNemar on the shared
                                        (instance, start) keys, Holm-adjusted over all pairs
ecdf(result, grid=None)                 fraction of trajectories at the global target by each
                                        step, per arm

Arms are the optimizer configurations × noise levels of a study, in ``result.arms`` order; a
row carries ``arm`` (the index), ``name`` (a short readable name, unique in the study, see
:func:`arm_names`), ``label``, ``kind``, ``noise`` and the arm's hyperparameters as flat keys
(:func:`hyper_keys`).

Two kinds of interval for P(global): the *pooled* binomial intervals (Wilson, Clopper–Pearson)
treat every trajectory as independent; the *instance-level* intervals treat landscape
instances as the random unit (they are random too), so they also carry the instance-to-instance
variation (pooling understates the error when instances differ). Of those, the cluster-robust
t interval (``clu_low/high``, :func:`swarm.stats.cluster_t`: sandwich standard error of the
pooled ratio, t quantile on instances − 1 degrees of freedom) is the honest one: it keeps
near-nominal coverage from three instances on, where the percentile cluster bootstrap
(``boot_low/high``, kept as a second opinion) covers only about 0.75 at 3 instances and 0.90
at 10 for a nominal 0.95. With one instance only the pooled intervals exist (the instance-level
bounds are ``nan``); below about ten instances any instance-level interval is rough.
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
    """Cluster bootstrap and cluster-robust t intervals over the instances with at least one
    trajectory: (boot_low, boot_high, clu_low, clu_high); nan bounds when fewer than two such
    instances."""
    keep = n_per_inst > 0
    if keep.sum() < 2:
        return math.nan, math.nan, math.nan, math.nan
    s, n = succ_per_inst[keep], n_per_inst[keep]
    c = stats.cluster_bootstrap(s, n, confidence, n_resamples=n_resamples, seed=seed)
    t = stats.cluster_t(s, n, confidence)
    return c.low, c.high, t.low, t.high


def _prop(k, n, confidence, prefix):
    """``{prefix}wilson_low/high`` and ``{prefix}cp_low/high`` of k in n (nan when n == 0 or
    the counts are unknown, k None)."""
    if k is None or n == 0:
        return {f"{prefix}wilson_low": math.nan, f"{prefix}wilson_high": math.nan,
                f"{prefix}cp_low": math.nan, f"{prefix}cp_high": math.nan}
    w = stats.proportion(int(k), int(n), confidence, "wilson")
    cp = stats.proportion(int(k), int(n), confidence, "clopper-pearson")
    return {f"{prefix}wilson_low": w.low, f"{prefix}wilson_high": w.high,
            f"{prefix}cp_low": cp.low, f"{prefix}cp_high": cp.high}


def _escape_cols(escapes, n, k_etg, n_ng, confidence):
    """The escape columns of a row: P(escape) of ``n`` trajectories and P(escaped to global)
    of the ``n_ng`` that started outside a global basin, each with Wilson and Clopper–Pearson
    intervals (nan where a count is unknown, None, or the denominator is 0)."""
    esc = _prop(escapes, n, confidence, "escape_")
    etg = _prop(k_etg, n_ng, confidence, "etg_")
    return {"escapes": escapes, "p_escape": escapes / n if escapes is not None and n
            else math.nan, **esc,
            "nonglobal_starts": n_ng, "escaped_to_global": k_etg,
            "p_escaped_to_global": k_etg / n_ng if k_etg is not None and n_ng else math.nan,
            "etg_low": etg["etg_wilson_low"], "etg_high": etg["etg_wilson_high"],
            "etg_cp_low": etg["etg_cp_low"], "etg_cp_high": etg["etg_cp_high"]}


# ---------------------------------------------------------------------------- hit times

def hist_rank_bound(cum, grid, r, lower=False):
    """Bound of the r-th smallest first-hit step (1-based) from the cumulative hit histogram
    ``cum`` on ``grid``: the grid point where the rank is reached (upper bound), or one past
    the previous grid point (``lower``); 0 for r < 1, inf beyond the hits."""
    if r < 1:
        return 0.0
    if r > int(cum[-1]):
        return math.inf
    j = int(np.searchsorted(cum, r, side="left"))
    if lower:
        return float(grid[j - 1] + 1) if j > 0 else 0.0
    return float(grid[j])


def _hist_hit_summary(hist, grid, n, steps, hit_sum, confidence):
    """First-hit statistics from a hit histogram on ``grid`` (studies that kept aggregates
    only). The median is the grid point at which the ECDF first reaches one half (an upper
    bound of the ECDF median, within one grid cell: ≤ 3.5 % of the step above 60 steps; exact
    when every hit step is a grid point); its interval is the distribution-free order-statistic
    interval (binomial ranks), widened to whole grid cells; aRT is exact."""
    from scipy import stats as sps
    cum = np.cumsum(hist)
    hits = int(cum[-1])

    def rank_value(r, lower):
        return hist_rank_bound(cum, grid, r, lower)

    need = -(-n // 2)
    median = rank_value(need, False) if need <= hits else math.nan
    alpha = 1.0 - confidence
    r_lo = int(sps.binom.ppf(alpha / 2, n, 0.5))
    r_hi = int(sps.binom.isf(alpha / 2, n, 0.5)) + 1
    art = (hit_sum + (n - hits) * steps) / hits if hits else math.inf
    return stats.HitTimes(n=n, hits=hits, median=median, median_low=rank_value(r_lo, True),
                          median_high=rank_value(r_hi, False), ert=art,
                          success_rate=hits / n if n else math.nan, max_steps=int(steps),
                          confidence=confidence, hit_steps=np.empty(0, np.int64))


def hit_summary(result, a, confidence=0.95, *, n_resamples=DEFAULT_RESAMPLES, seed=0):
    """:class:`swarm.stats.HitTimes` of arm ``a``: exact (bootstrap median interval) when the
    study kept per-trajectory outcomes, from the aggregate's hit histogram otherwise."""
    steps = int(result.spec["steps"])
    if result.outcomes is not None:
        hs = result.arm(a)["hit_step"].ravel()
        reps = int(max(100, min(n_resamples, _HIT_BOOT_ELEMENTS // max(hs.size, 1))))
        return stats.hit_time_summary(hs, steps, confidence=confidence, n_resamples=reps,
                                      seed=seed)
    agg = result.aggregate
    return _hist_hit_summary(agg.hits[a], agg.grid, int(agg.count("n")[a].sum()), steps,
                             int(agg.count("hit_step_sum")[a].sum()), confidence)


# ---------------------------------------------------------------------------- tables

def overall(result, confidence=0.95, *, n_resamples=DEFAULT_RESAMPLES, seed=0) -> list[dict]:
    """One row per arm.

    Keys (besides the arm metadata): ``n`` trajectories, ``instances``, ``successes``,
    ``p_global`` with ``wilson_low/high``, ``cp_low/high`` (Clopper–Pearson, pooled),
    ``clu_low/high`` (cluster-robust t over instances) and ``boot_low/high`` (cluster
    bootstrap over instances, ``n_resamples`` replicates, ``seed``); ``p_instance_min/max``
    (the spread of P(global) over instances); ``escapes``, ``p_escape`` (end basin ≠ start
    basin, not diverged) with ``escape_wilson_low/high`` and ``escape_cp_low/high``;
    ``nonglobal_starts``, ``escaped_to_global``, ``p_escaped_to_global`` with ``etg_low/high``
    (Wilson) and ``etg_cp_low/high`` (among trajectories that did not start in a global basin;
    nan when there are none); ``diverged``; ``mean_best_f``, ``mean_final_f`` (over trajectories
    that did not diverge; exact sums); ``hits``, ``p_hit`` (fraction that reached the global
    target within the budget), ``median_hit`` (ECDF median over all trajectories, nan when
    fewer than half hit) with ``median_hit_low/high`` (bootstrap over trajectories when the
    study kept them, order-statistic interval from the hit histogram otherwise; may be inf),
    ``art`` (total steps / hits, COCO's aRT; inf without hits).

    Everything but the hit-time median comes from the study's exact aggregate, so a study that
    kept only aggregates gives the same numbers as one that kept every trajectory.
    """
    names = arm_names(result)
    agg = result.aggregate
    rows = []
    for a in range(len(result.arms)):
        n_inst = agg.count("n")[a]
        per_inst = agg.count("successes")[a]
        n = int(n_inst.sum())
        k = int(per_inst.sum())
        w = stats.proportion(k, n, confidence, "wilson")
        cp = stats.proportion(k, n, confidence, "clopper-pearson")
        b_low, b_high, c_low, c_high = _cluster(per_inst, n_inst, confidence, n_resamples,
                                                seed)
        n_ng = n - int(agg.count("started_global")[a].sum())
        k_etg = int(agg.count("escaped_to_global")[a].sum())
        h = hit_summary(result, a, confidence, n_resamples=n_resamples, seed=seed)
        p_inst = per_inst[n_inst > 0] / n_inst[n_inst > 0]
        escapes = int(agg.count("escapes")[a].sum())
        rows.append({
            **_base_row(result, a, names),
            "n": n, "instances": int(agg.counts.shape[1]), "successes": k,
            "p_global": w.estimate, "wilson_low": w.low, "wilson_high": w.high,
            "cp_low": cp.low, "cp_high": cp.high, "clu_low": c_low, "clu_high": c_high,
            "boot_low": b_low, "boot_high": b_high,
            "p_instance_min": float(p_inst.min()), "p_instance_max": float(p_inst.max()),
            **_escape_cols(escapes, n, k_etg, n_ng, confidence),
            "diverged": int(agg.count("diverged")[a].sum()),
            "mean_best_f": agg.mean("best_f", a), "mean_final_f": agg.mean("final_f", a),
            "hits": h.hits, "p_hit": h.success_rate, "median_hit": h.median,
            "median_hit_low": h.median_low, "median_hit_high": h.median_high, "art": h.ert,
        })
    return rows


def _basin_counts(result):
    """Per arm, per-row arrays (instance, start label, count, success, escape, started
    global, escaped to global) from the aggregate's basin table (rows (arm, instance, start
    basin, end basin, count)), or built from the outcomes when the table was dropped; None
    when neither exists. Escape: end basin ≠ start basin and end ≥ 0 (not diverged)."""
    from swarm.aggregate import _basin_rows
    agg = result.aggregate
    if agg.basins is not None:
        rows = agg.basins
    elif result.outcomes is not None:
        parts = []
        for a in range(len(result.arms)):
            o = result.arm(a)
            inst = np.repeat(np.arange(o["start_basin"].shape[0], dtype=np.int64),
                             o["start_basin"].shape[1])
            parts.append(_basin_rows(a, inst, o["start_basin"].ravel().astype(np.int64),
                                     o["end_basin"].ravel().astype(np.int64)))
        rows = np.concatenate(parts) if parts else np.zeros((0, 5), np.int64)
    else:
        return None
    ng = np.asarray(result.n_global)
    out = {}
    for a in range(len(result.arms)):
        r = rows[rows[:, 0] == a]
        g = ng[r[:, 1]]
        sb, eb = r[:, 2], r[:, 3]
        succ = (eb >= 0) & (eb < g)
        sg = (sb >= 0) & (sb < g)
        out[a] = {"instance": r[:, 1], "start": sb, "count": r[:, 4], "success": succ,
                  "escape": (eb != sb) & (eb >= 0), "started_global": sg,
                  "etg": ~sg & succ}
    return out


def _group(d, mask, I):
    """(n per instance, successes per instance, escapes, non-global starts, escaped to
    global) of the basin rows ``d`` selected by ``mask``."""
    inst, cnt = d["instance"], d["count"]

    def per_inst(m):
        return np.bincount(inst[m], weights=cnt[m], minlength=I).astype(np.int64)

    return (per_inst(mask), per_inst(mask & d["success"]),
            int(cnt[mask & d["escape"]].sum()), int(cnt[mask & ~d["started_global"]].sum()),
            int(cnt[mask & d["etg"]].sum()))


def per_start_basin(result, confidence=0.95, *, by_label="auto", max_labels=8,
                    n_resamples=DEFAULT_RESAMPLES, seed=0) -> list[dict]:
    """P(global), P(escape) and P(escaped to global) per arm, split by where the trajectories
    started.

    Rows with ``start`` = ``"global"`` / ``"non-global"`` (start basin global or not), and —
    when ``by_label`` is True, or ``"auto"`` and the study has at most ``max_labels``
    distinct start-basin labels — one row per start-basin label (``start`` = ``"basin <k>"``,
    ``start_label`` = k; the label's meaning is per instance: on shifted families it is the
    minimum's position relative to the global one). Keys: ``n``, ``successes``, ``p_global``
    (nan when ``n == 0``), ``wilson_low/high``, ``cp_low/high``, ``clu_low/high``
    (cluster-robust t over the instances that have such starts) and ``boot_low/high``
    (cluster bootstrap over them; both nan with fewer than two); ``escapes``, ``p_escape``
    (end basin ≠ start basin, not diverged) with ``escape_wilson_low/high`` and
    ``escape_cp_low/high``; ``nonglobal_starts``, ``escaped_to_global``,
    ``p_escaped_to_global`` (among the group's starts outside a global basin: nan for the
    global group) with ``etg_low/high`` (Wilson) and ``etg_cp_low/high``. The escape columns
    and the per-label rows need the aggregate's basin table or the per-trajectory outcomes;
    a study with neither (more distinct basins than ``max_basin_rows`` and aggregates only)
    gets the two global/non-global rows only, with P(global) and (non-global)
    P(escaped to global) from the aggregate's counts and nan escape columns.
    """
    names = arm_names(result)
    agg = result.aggregate
    I = agg.counts.shape[1]
    bc = _basin_counts(result)
    labels_ = None
    if bc is not None and by_label:
        labels_ = np.unique(bc[0]["start"]) if len(result.arms) else np.zeros(0, np.int64)
        if by_label == "auto" and len(labels_) > max_labels:
            labels_ = None
    rows = []
    for a in range(len(result.arms)):
        if bc is not None:
            d = bc[a]
            sg = d["started_global"]
            groups = [("global", None, _group(d, sg, I)), ("non-global", None,
                                                          _group(d, ~sg, I))]
            if labels_ is not None:
                groups += [(f"basin {int(lab)}", int(lab), _group(d, d["start"] == lab, I))
                           for lab in labels_]
        else:
            n_all, k_all = agg.count("n")[a], agg.count("successes")[a]
            n_g, k_g = agg.count("started_global")[a], agg.count("successes_from_global")[a]
            k_etg = int(agg.count("escaped_to_global")[a].sum())
            groups = [("global", None, (n_g, k_g, None, 0, 0)),
                      ("non-global", None, (n_all - n_g, k_all - k_g, None,
                                            int((n_all - n_g).sum()), k_etg))]
        for name, lab, (n_i, k_i, esc, n_ng, k_etg) in groups:
            n, k = int(n_i.sum()), int(k_i.sum())
            w = stats.proportion(k, n, confidence, "wilson")
            cp = stats.proportion(k, n, confidence, "clopper-pearson")
            b_low, b_high, c_low, c_high = _cluster(k_i, n_i, confidence, n_resamples, seed)
            rows.append({**_base_row(result, a, names), "start": name, "start_label": lab,
                         "n": n, "successes": k, "p_global": w.estimate,
                         "wilson_low": w.low, "wilson_high": w.high, "cp_low": cp.low,
                         "cp_high": cp.high, "clu_low": c_low, "clu_high": c_high,
                         "boot_low": b_low, "boot_high": b_high,
                         **_escape_cols(esc, n, k_etg, n_ng, confidence)})
    return rows


def paired(result, confidence=0.95, *, n_resamples=DEFAULT_RESAMPLES, seed=0) -> list[dict]:
    """Every pair of arms (a < b) compared on the same (instance, start) keys.

    Keys: ``a``, ``b`` (arm indices), ``name_a``, ``name_b``, ``n`` pairs, ``n01`` (a fails, b
    succeeds), ``n10`` (a succeeds, b fails), ``p_a``, ``p_b``, ``difference`` = ``p_a − p_b``
    with ``diff_low/high`` (cluster bootstrap over instances of the paired difference; nan
    with one instance), ``pvalue`` (exact McNemar, :func:`swarm.stats.mcnemar_counts`) and
    ``p_holm`` (Holm-adjusted over all pairs of the study). Empty with a single arm.
    """
    names = arm_names(result)
    agg = result.aggregate
    succ = agg.count("successes")
    n_per = agg.count("n")
    rows = []
    alpha = 1.0 - confidence
    I = succ.shape[1]
    for a, b in itertools.combinations(range(len(result.arms)), 2):
        n = int(n_per[a].sum())
        m = stats.mcnemar_counts(int(agg.pairs[b, a]), int(agg.pairs[a, b]), n)
        d_inst = succ[a] - succ[b]
        lo = hi = math.nan
        if I >= 2:
            rng = np.random.default_rng(seed)
            idx = rng.integers(0, I, size=(n_resamples, I))
            reps = d_inst[idx].sum(axis=1) / n_per[a][idx].sum(axis=1)
            lo, hi = (float(x) for x in np.quantile(reps, [alpha / 2, 1 - alpha / 2]))
        rows.append({"a": a, "b": b, "name_a": names[a], "name_b": names[b], "n": m.n,
                     "n01": m.n01, "n10": m.n10, "p_a": int(succ[a].sum()) / n,
                     "p_b": int(succ[b].sum()) / n, "difference": m.difference,
                     "diff_low": lo, "diff_high": hi, "pvalue": m.pvalue})
    if rows:
        adj = stats.holm([r["pvalue"] for r in rows])
        for r, p in zip(rows, adj):
            r["p_holm"] = float(p)
    return rows


def default_grid(steps, points=200) -> np.ndarray:
    """Step grid for ECDFs: 0, then about ``points`` log-spaced integer steps up to ``steps``
    (the grid of the aggregates' hit histograms, :func:`swarm.aggregate.hit_grid`)."""
    from swarm.aggregate import hit_grid
    return hit_grid(steps, points)


def ecdf(result, grid=None) -> list[dict]:
    """Per arm: the fraction of *all* its trajectories whose first hit of the global target
    came at or before each step of ``grid`` (default :func:`default_grid`). Rows: arm
    metadata plus ``steps`` (the grid, int array) and ``fraction`` (float array, same
    length); the curve plateaus at P(hit). Exact on the default grid; a study that kept
    aggregates only needs the default grid."""
    names = arm_names(result)
    agg = result.aggregate
    grid = agg.grid if grid is None else np.asarray(grid)
    if grid.ndim != 1 or np.isnan(grid.astype(float)).any():
        raise ValueError(f"grid must be a 1-D array of steps, got shape {grid.shape}")
    from_hist = np.array_equal(grid, agg.grid)
    if not from_hist and result.outcomes is None:
        raise ValueError("grid: a study that kept aggregates only has its ECDF on the "
                         "default grid (analysis.default_grid(steps)); pass grid=None")
    rows = []
    for a in range(len(result.arms)):
        n = int(agg.count("n")[a].sum())
        if from_hist:
            frac = np.cumsum(agg.hits[a]) / n
        else:
            hs = result.arm(a)["hit_step"].ravel()
            hit = np.sort(hs[hs >= 0])
            frac = np.searchsorted(hit, grid, side="right") / hs.size
        rows.append({**_base_row(result, a, names), "steps": grid.copy(), "fraction": frac})
    return rows


def by_instance(result) -> list[dict]:
    """P(global) of every arm on every instance (rows: arm metadata, ``instance``, ``n``,
    ``successes``, ``p_global``)."""
    names = arm_names(result)
    agg = result.aggregate
    rows = []
    for a in range(len(result.arms)):
        n, k = agg.count("n")[a], agg.count("successes")[a]
        for i in range(n.shape[0]):
            rows.append({**_base_row(result, a, names), "instance": i, "n": int(n[i]),
                         "successes": int(k[i]),
                         "p_global": float(k[i] / n[i]) if n[i] else math.nan})
    return rows
