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


# ---------------------------------------------------------------------------- hit times

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
        """Bounds of the r-th smallest first-hit time (1-based; inf beyond the hits)."""
        if r < 1:
            return 0.0
        if r > hits:
            return math.inf
        j = int(np.searchsorted(cum, r, side="left"))
        if lower:
            return float(grid[j - 1] + 1) if j > 0 else 0.0
        return float(grid[j])

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
    ``p_global`` with ``wilson_low/high``, ``cp_low/high`` (Clopper–Pearson, pooled) and
    ``boot_low/high`` (cluster bootstrap over instances, ``n_resamples`` replicates, ``seed``);
    ``p_instance_min/max`` (the spread of P(global) over instances); ``escapes``,
    ``p_escape``; ``nonglobal_starts``, ``escaped_to_global``, ``p_escaped_to_global`` with
    ``etg_low/high`` (Wilson; among trajectories that did not start in a global basin; nan
    when there are none); ``diverged``; ``mean_best_f``, ``mean_final_f`` (over trajectories
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
        b_low, b_high = _cluster(per_inst, n_inst, confidence, n_resamples, seed)
        n_ng = n - int(agg.count("started_global")[a].sum())
        k_etg = int(agg.count("escaped_to_global")[a].sum())
        etg = stats.proportion(k_etg, n_ng, confidence)
        h = hit_summary(result, a, confidence, n_resamples=n_resamples, seed=seed)
        p_inst = per_inst[n_inst > 0] / n_inst[n_inst > 0]
        escapes = int(agg.count("escapes")[a].sum())
        rows.append({
            **_base_row(result, a, names),
            "n": n, "instances": int(agg.counts.shape[1]), "successes": k,
            "p_global": w.estimate, "wilson_low": w.low, "wilson_high": w.high,
            "cp_low": cp.low, "cp_high": cp.high, "boot_low": b_low, "boot_high": b_high,
            "p_instance_min": float(p_inst.min()), "p_instance_max": float(p_inst.max()),
            "escapes": escapes, "p_escape": escapes / n,
            "nonglobal_starts": n_ng, "escaped_to_global": k_etg,
            "p_escaped_to_global": etg.estimate, "etg_low": etg.low if n_ng else math.nan,
            "etg_high": etg.high if n_ng else math.nan,
            "diverged": int(agg.count("diverged")[a].sum()),
            "mean_best_f": agg.mean("best_f", a), "mean_final_f": agg.mean("final_f", a),
            "hits": h.hits, "p_hit": h.success_rate, "median_hit": h.median,
            "median_hit_low": h.median_low, "median_hit_high": h.median_high, "art": h.ert,
        })
    return rows


def _start_labels(result, max_labels=None):
    """Per arm: {start label: (n per instance, successes per instance)} from the aggregate's
    basin table (or the outcomes when the table was dropped); None when neither exists or
    there are more than ``max_labels`` labels."""
    agg = result.aggregate
    I = agg.counts.shape[1]
    if agg.basins is not None:
        rows = agg.basins
        ng = np.asarray(result.n_global)
        labs = np.unique(rows[rows[:, 0] == 0][:, 2])
        if max_labels is not None and len(labs) > max_labels:
            return None
        out = {}
        for a in range(len(result.arms)):
            r = rows[rows[:, 0] == a]
            succ = (r[:, 3] >= 0) & (r[:, 3] < ng[r[:, 1]])
            d = {}
            for lab in labs:
                m = r[:, 2] == lab
                n = np.bincount(r[m, 1], weights=r[m, 4], minlength=I).astype(np.int64)
                k = np.bincount(r[m & succ, 1], weights=r[m & succ, 4],
                                minlength=I).astype(np.int64)
                d[int(lab)] = (n, k)
            out[a] = d
        return out
    if result.outcomes is None:
        return None
    out = {}
    labels_ = np.unique(result.arm(0)["start_basin"])
    for a in range(len(result.arms)):
        o = result.arm(a)
        out[a] = {int(lab): ((o["start_basin"] == lab).sum(axis=1),
                             ((o["start_basin"] == lab) & o["success"]).sum(axis=1))
                  for lab in labels_}
    return out


def per_start_basin(result, confidence=0.95, *, by_label="auto", max_labels=8,
                    n_resamples=DEFAULT_RESAMPLES, seed=0) -> list[dict]:
    """P(global) per arm, split by where the trajectories started.

    Rows with ``start`` = ``"global"`` / ``"non-global"`` (start basin global or not), and —
    when ``by_label`` is True, or ``"auto"`` and the study has at most ``max_labels``
    distinct start-basin labels — one row per start-basin label (``start`` = ``"basin <k>"``,
    ``start_label`` = k; the label's meaning is per instance: on shifted families it is the
    minimum's position relative to the global one). Keys: ``n``, ``successes``, ``p_global``
    (nan when ``n == 0``), ``wilson_low/high``, ``cp_low/high``, ``boot_low/high`` (cluster
    bootstrap over the instances that have such starts; nan with fewer than two). Per-label
    rows need the aggregate's basin table or the per-trajectory outcomes; a study with
    neither (more distinct basins than ``max_basin_rows`` and aggregates only) gets the two
    global/non-global rows only.
    """
    names = arm_names(result)
    agg = result.aggregate
    by = _start_labels(result, max_labels if by_label == "auto" else None) if by_label \
        else None
    rows = []
    for a in range(len(result.arms)):
        n_all, k_all = agg.count("n")[a], agg.count("successes")[a]
        n_g, k_g = agg.count("started_global")[a], agg.count("successes_from_global")[a]
        groups = [("global", None, n_g, k_g), ("non-global", None, n_all - n_g, k_all - k_g)]
        if by is not None:
            groups += [(f"basin {lab}", lab, nk[0], nk[1]) for lab, nk in by[a].items()]
        for name, lab, n_i, k_i in groups:
            n, k = int(n_i.sum()), int(k_i.sum())
            w = stats.proportion(k, n, confidence, "wilson")
            cp = stats.proportion(k, n, confidence, "clopper-pearson")
            b_low, b_high = _cluster(k_i, n_i, confidence, n_resamples, seed)
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
