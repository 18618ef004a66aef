"""Tidy tables from a :class:`~swarm.result.Result`: one dict per row, the statistics done by
:mod:`swarm.stats` (SciPy underneath).

overall(result, confidence=0.95)        THE per-arm table (Result.table, summary.csv/.txt,
                                        tables/overall.csv and the report all show it):
                                        P(global), P(escape), P(escape → global) each with the
                                        family-level interval and the pooled Wilson and
                                        Clopper–Pearson ones, hits, median hit step, aRT,
                                        divergence, mean best/final f
per_start_basin(result, confidence)     the same probabilities per arm, split by start basin
                                        (global or not, and per start-basin label when there
                                        are few), in the same vocabulary
paired(result)                          every pair of arms: exact McNemar on the shared
                                        (instance, start) keys, Holm-adjusted over all pairs
ecdf(result, grid=None)                 fraction of trajectories at the global target by each
                                        step, per arm
by_instance(result)                     P(global) per arm and instance (when the aggregate
                                        still has per-instance counts)
art(result)                             COCO's aRT per arm and precision target, in
                                        gradient evaluations (studies run with targets)
runtime_ecdf(result)                    COCO's runtime ECDF: fraction of (trajectory, target)
                                        pairs hit within each budget, per arm
target_rows(result)                     hits, P(hit) and aRT per arm and target (tidy rows)

Arms are the optimizer configurations × noise levels of a study, in ``result.arms`` order; a
row carries ``arm`` (the index), ``name`` (a short readable name, unique in the study, see
:func:`arm_names`), ``label``, ``kind``, ``noise`` and the arm's hyperparameters as flat keys
(:func:`hyper_keys`). The columns are listed in :func:`overall`'s docstring and in
``docs/columns.md``.

Two questions, two kinds of interval. The *family-level* interval (``p_global_low/high``, the
headline) answers "P(global) for a landscape drawn from the family": landscape instances are
the random unit, so its uncertainty comes from the finite number of instances. It is the
cluster-robust t interval over instances (:func:`swarm.stats.cluster_t_moments`: sandwich
standard error of the pooled ratio from per-instance sums and second moments, t quantile on
instances − 1 degrees of freedom), which keeps near-nominal coverage from three instances on
and needs no per-instance arrays, so it exists at any study size. The *pooled* intervals
(``p_global_wilson_…``, ``p_global_cp_…``) answer "P(global) on these particular instances":
every trajectory independent. The percentile cluster bootstrap (``p_global_boot_…``) is kept
as a second opinion where per-instance counts exist (it covers only about 0.75 at 3 instances
and 0.90 at 10 for a nominal 0.95). With one instance the family-level interval is undefined
(nan); below about ten instances it is rough.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from swarm import outcomes as OC
from swarm import stats
from swarm.aggregate import basin_rows, hit_grid

META_KEYS = ("label", "kind", "noise", "noise_model")
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
    # noise model kinds (a study over several keeps them apart in names without σ)
    models = {m.get("noise_model"): (m.get("noise_model") or "gaussian").split("(")[0]
              for m in result.arms}
    models = models if len(set(models.values())) > 1 else {}
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
            parts.append(meta.get("noise_model") or f"σ={fmt_value(meta['noise'])}")
        elif not with_noise and len(models) > 1:
            parts.append(models.get(meta.get("noise_model"), "gaussian"))
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
    if "noise_model" in meta:
        row["noise_model"] = meta["noise_model"]
    for k in hyper_keys(result):
        if k in meta:
            row[k] = meta[k]
    return row


def per_instance(result) -> bool:
    """Whether the study's aggregate still holds per-instance counts (``agg.counts``); above
    its cap of instances it keeps per-arm totals and per-instance second moments only, and the
    statistics that need per-instance values (cluster bootstrap, per-instance range, paired
    bootstrap, :func:`by_instance`) are nan or empty."""
    return result.aggregate.counts is not None


# a probability as a ratio of per-instance sums: (numerator, denominator), each a linear
# combination ((count column, coefficient), ...) of the aggregate's MOMENTS columns
P_GLOBAL = ((("successes", 1),), (("n", 1),))
P_ESCAPE = ((("escapes", 1),), (("n", 1),))
P_ESCAPE_TO_GLOBAL = ((("escaped_to_global", 1),), (("n", 1), ("started_global", -1)))
P_FROM_GLOBAL = ((("successes_from_global", 1),), (("started_global", 1),))
P_FROM_NONGLOBAL = ((("successes", 1), ("successes_from_global", -1)),
                    (("n", 1), ("started_global", -1)))


class Moments:
    """Per-arm totals and cross moments of an aggregate's per-instance counts
    (:meth:`~swarm.aggregate.Aggregate.total`, :meth:`~swarm.aggregate.Aggregate.cross`),
    each computed once for all arms."""

    def __init__(self, agg):
        self.agg = agg
        self.instances = int(agg.n_instances)
        self._total, self._cross = {}, {}

    def total(self, name, a) -> int:
        if name not in self._total:
            self._total[name] = np.asarray(self.agg.total(name))
        return int(self._total[name][a])

    def cross(self, x, y, a) -> int:
        key = tuple(sorted((x, y)))
        if key not in self._cross:
            self._cross[key] = np.asarray(self.agg.cross(*key))
        return int(self._cross[key][a])

    def ratio(self, a, ratio):
        """``(Σk, Σn, Σk², Σkn, Σn²)`` of arm ``a`` for ``ratio`` = (numerator, denominator)
        as in :data:`P_GLOBAL` (exact Python integers)."""
        num, den = ratio

        def tot(lin):
            return sum(c * self.total(x, a) for x, c in lin)

        def cross(l1, l2):
            return sum(c * d * self.cross(x, y, a) for x, c in l1 for y, d in l2)
        return tot(num), tot(den), cross(num, num), cross(num, den), cross(den, den)

    def family(self, a, ratio, confidence):
        """``(se, low, high)``: the family-level interval (cluster-robust t over all the
        study's instances, :func:`swarm.stats.cluster_t_moments`) of ``ratio``; nan with one
        instance or an empty denominator."""
        k, n, kk, kn, nn = self.ratio(a, ratio)
        if self.instances < 2 or n < 1:
            return math.nan, math.nan, math.nan
        t = stats.cluster_t_moments(k, n, kk, kn, nn, self.instances, confidence)
        return t.se, t.low, t.high


NAN3 = (math.nan, math.nan, math.nan)
# the cluster bootstrap draws replicates × instances indices: bound the work
_BOOT_ELEMENTS = 5e7
_BOOT_MIN_RESAMPLES = 200
_BOOT_MAX_INSTANCES = 2_000_000


def boot_resamples(instances, n_resamples):
    """Replicates of a cluster bootstrap over ``instances``: ``n_resamples``, fewer (not below
    200) where replicates × instances would pass 5·10⁷; 0 (skipped) above 2·10⁶ instances."""
    if instances > _BOOT_MAX_INSTANCES:
        return 0
    return int(min(n_resamples, max(_BOOT_MIN_RESAMPLES, _BOOT_ELEMENTS // max(instances, 1))))


def _family_arrays(k_i, n_i, confidence):
    """``(se, low, high)`` of the cluster-robust t interval over the instances with
    ``n_i > 0`` (:func:`swarm.stats.cluster_t`); nan with fewer than two."""
    keep = n_i > 0
    if keep.sum() < 2:
        return NAN3
    t = stats.cluster_t(k_i[keep], n_i[keep], confidence)
    return t.se, t.low, t.high


def _boot_arrays(k_i, n_i, confidence, n_resamples, seed):
    """``(low, high)`` of the cluster bootstrap over the instances with ``n_i > 0``; nan with
    fewer than two or when skipped (:func:`boot_resamples`)."""
    keep = n_i > 0
    reps = boot_resamples(int(keep.sum()), n_resamples)
    if keep.sum() < 2 or reps == 0:
        return math.nan, math.nan
    c = stats.cluster_bootstrap(k_i[keep], n_i[keep], confidence, n_resamples=reps, seed=seed)
    return c.low, c.high


def _prob(name, k, n, family, confidence, *, se=False, boot=None):
    """The columns of one probability ``k / n``: ``name`` (the estimate), ``name_low/high``
    (the family-level interval ``family`` = (se, low, high)), ``name_se`` (when ``se``),
    ``name_wilson_low/high`` and ``name_cp_low/high`` (pooled), ``name_boot_low/high`` (when
    ``boot`` = (low, high) is given). nan where the count is unknown (``k`` None) or ``n`` is
    0."""
    known = k is not None and n
    cols = {name: k / n if known else math.nan,
            f"{name}_low": family[1], f"{name}_high": family[2]}
    if se:
        cols[f"{name}_se"] = family[0]
    if known:
        w = stats.proportion(int(k), int(n), confidence, "wilson")
        cp = stats.proportion(int(k), int(n), confidence, "clopper-pearson")
        pooled = (w.low, w.high, cp.low, cp.high)
    else:
        pooled = (math.nan,) * 4
    cols.update(zip((f"{name}_wilson_low", f"{name}_wilson_high", f"{name}_cp_low",
                     f"{name}_cp_high"), pooled))
    if boot is not None:
        cols[f"{name}_boot_low"], cols[f"{name}_boot_high"] = boot
    return cols


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
                          confidence=confidence, hit_steps=np.empty(0, np.int64),
                          hist=np.asarray(hist), grid=np.asarray(grid))


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
    return _hist_hit_summary(agg.hits[a], agg.grid, int(agg.total("n")[a]), steps,
                             int(agg.total("hit_step_sum")[a]), confidence)


def median_of_hits(result, a, hits) -> float:
    """Lower median of the first-hit steps of arm ``a``'s trajectories that hit (the
    ⌈h/2⌉-th smallest of the h hit steps; nan without hits): exact from the kept outcomes
    (``hits.hit_steps`` of :func:`hit_summary`, sorted), else the grid point of the
    aggregate's hit histogram where that rank is reached."""
    h = int(hits.hits)
    if h == 0:
        return math.nan
    rank = (h + 1) // 2
    if len(hits.hit_steps) == h:
        return float(hits.hit_steps[rank - 1])
    agg = result.aggregate
    return hist_rank_bound(np.cumsum(agg.hits[a]), agg.grid, rank)


# ---------------------------------------------------------------------------- tables

def overall(result, confidence=0.95, *, n_resamples=DEFAULT_RESAMPLES, seed=0) -> list[dict]:
    """The per-arm table: one row per arm. :meth:`swarm.result.Result.table`, ``summary.csv``,
    ``summary.txt``, ``tables/overall.csv`` and the report all show these rows (the columns
    are also tabulated in ``docs/columns.md``).

    Two questions, two kinds of interval. *Family-level* (``p_…_low/high``, the headline):
    "P(…) for a landscape drawn from the family" — the instances are the random unit, so the
    uncertainty comes from their finite number; the cluster-robust t interval over instances
    (:func:`swarm.stats.cluster_t_moments`, computed from per-instance sums and second moments
    only, so it exists at any study size; nan with one instance). *Pooled* (``p_…_wilson_…``,
    ``p_…_cp_…``): "P(…) on these particular instances" — every trajectory independent.

    Columns (``k`` in ``n`` of the arm's trajectories, summed over instances):

    * arm metadata: ``arm`` (index), ``name`` (:func:`arm_names`), ``label``, ``kind``,
      ``noise`` (σ), the hyperparameters (flat keys, :func:`hyper_keys`);
    * ``instances``, ``n`` (trajectories), ``successes`` (ended in a global basin);
    * ``p_global`` = successes / n; ``p_global_low/high`` family-level interval and
      ``p_global_se`` its standard error; ``p_global_wilson_low/high`` and
      ``p_global_cp_low/high`` pooled Wilson and Clopper–Pearson; ``p_global_boot_low/high``
      percentile cluster bootstrap over instances (``n_resamples`` replicates, fewer on very
      many instances, see :func:`boot_resamples`; ``seed``) — a second opinion that
      under-covers with few instances; ``p_instance_min/max``, the range of the per-instance
      P(global). These four are nan when the aggregate has no per-instance counts
      (:func:`per_instance`) or, for the bootstrap, with one instance;
    * ``escapes``, ``p_escape`` = escapes / n (ended in a basin other than the start basin,
      not diverged) with ``p_escape_low/high`` (family-level), ``p_escape_wilson_low/high``,
      ``p_escape_cp_low/high``;
    * ``nonglobal_starts`` (n − started in a global basin), ``escaped_to_global``,
      ``p_escape_to_global`` = escaped_to_global / nonglobal_starts with
      ``p_escape_to_global_low/high`` (family-level), ``…_wilson_low/high``, ``…_cp_low/high``
      (nan without non-global starts);
    * ``diverged`` (never counted as successes);
    * ``hits`` (reached the global target within the budget), ``p_hit`` = hits / n,
      ``median_hit_step`` (ECDF median of the first-hit step over all trajectories, misses
      counting as never: nan when fewer than half hit) with ``median_hit_step_low/high``
      (bootstrap over trajectories when the study kept them, else the order-statistic
      interval from the hit histogram; may be inf), ``median_hit_step_of_hits`` (median among
      the trajectories that hit), ``art`` (COCO's aRT: total steps spent / hits; inf without
      hits);
    * ``mean_best_f``, ``mean_final_f`` (over the trajectories that did not diverge; exact
      sums).

    Everything but the hit-time medians comes from the study's exact aggregate, so a study
    that kept only aggregates gives the same numbers as one that kept every trajectory.
    """
    names = arm_names(result)
    agg = result.aggregate
    mom = Moments(agg)
    inst = per_instance(result)
    rows = []
    for a in range(len(result.arms)):
        n = mom.total("n", a)
        k = mom.total("successes", a)
        escapes = mom.total("escapes", a)
        n_ng = n - mom.total("started_global", a)
        k_etg = mom.total("escaped_to_global", a)
        if inst:
            k_i, n_i = agg.count("successes")[a], agg.count("n")[a]
            boot = _boot_arrays(k_i, n_i, confidence, n_resamples, seed)
            p_i = k_i[n_i > 0] / n_i[n_i > 0]
            spread = (float(p_i.min()), float(p_i.max()))
        else:
            boot, spread = (math.nan, math.nan), (math.nan, math.nan)
        h = hit_summary(result, a, confidence, n_resamples=n_resamples, seed=seed)
        rows.append({
            **_base_row(result, a, names),
            "instances": mom.instances, "n": n, "successes": k,
            **_prob("p_global", k, n, mom.family(a, P_GLOBAL, confidence), confidence,
                    se=True, boot=boot),
            "p_instance_min": spread[0], "p_instance_max": spread[1],
            "escapes": escapes,
            **_prob("p_escape", escapes, n, mom.family(a, P_ESCAPE, confidence), confidence),
            "nonglobal_starts": n_ng, "escaped_to_global": k_etg,
            **_prob("p_escape_to_global", k_etg, n_ng,
                    mom.family(a, P_ESCAPE_TO_GLOBAL, confidence), confidence),
            "diverged": mom.total("diverged", a),
            "hits": h.hits, "p_hit": h.success_rate, "median_hit_step": h.median,
            "median_hit_step_low": h.median_low, "median_hit_step_high": h.median_high,
            "median_hit_step_of_hits": median_of_hits(result, a, h), "art": h.ert,
            "mean_best_f": agg.mean("best_f", a), "mean_final_f": agg.mean("final_f", a),
        })
    return rows


def _basin_counts(result):
    """Per arm, per-row arrays (instance, start label, count, success, escape, started
    global, escaped to global) from the aggregate's basin table (rows (arm, instance, start
    basin, end basin, count)), or built from the outcomes when the table was dropped; None
    when neither exists. Escape: end basin ≠ start basin and end ≥ 0 (not diverged)."""
    agg = result.aggregate
    if agg.basins is not None:
        rows = agg.basins
    elif result.outcomes is not None:
        parts = []
        for a in range(len(result.arms)):
            o = result.arm(a)
            inst = np.repeat(np.arange(o["start_basin"].shape[0], dtype=np.int64),
                             o["start_basin"].shape[1])
            parts.append(basin_rows(a, inst, o["start_basin"].ravel().astype(np.int64),
                                     o["end_basin"].ravel().astype(np.int64)))
        rows = np.concatenate(parts) if parts else np.zeros((0, 5), np.int64)
    else:
        return None
    ng = np.asarray(result.n_global)
    out = {}
    for a in range(len(result.arms)):
        r = rows[rows[:, 0] == a]
        g = ng[r[:, 1]] if ng.ndim else ng          # per instance, or one for the family
        sb, eb = r[:, 2], r[:, 3]
        succ = OC.is_global(eb, g)
        sg = OC.is_global(sb, g)
        out[a] = {"instance": r[:, 1], "start": sb, "count": r[:, 4], "success": succ,
                  "escape": OC.escaped(sb, eb), "started_global": sg,
                  "etg": ~sg & succ}
    return out


def _group(d, mask, I):
    """Per-instance (n, successes, escapes, non-global starts, escaped to global) of the basin
    rows ``d`` selected by ``mask``."""
    inst, cnt = d["instance"], d["count"]

    def per_inst(m):
        return np.bincount(inst[m], weights=cnt[m], minlength=I).astype(np.int64)

    return (per_inst(mask), per_inst(mask & d["success"]), per_inst(mask & d["escape"]),
            per_inst(mask & ~d["started_global"]), per_inst(mask & d["etg"]))


def per_start_basin(result, confidence=0.95, *, by_label="auto", max_labels=8,
                    n_resamples=DEFAULT_RESAMPLES, seed=0) -> list[dict]:
    """P(global), P(escape) and P(escape → global) per arm, split by where the trajectories
    started, in the vocabulary of :func:`overall`.

    Rows with ``start`` = ``"global"`` / ``"non-global"`` (start basin global or not), and —
    when ``by_label`` is True, or ``"auto"`` and the study has at most ``max_labels``
    distinct start-basin labels — one row per start-basin label (``start`` = ``"basin <k>"``,
    ``start_label`` = k; the label's meaning is per instance: on shifted families it is the
    minimum's position relative to the global one). Keys: ``n``, ``successes``, then
    ``p_global``, ``p_escape`` (with ``escapes``) and ``p_escape_to_global`` (with
    ``nonglobal_starts``, ``escaped_to_global``; nan for the global group, which has nothing to
    escape to), each with its family-level ``_low/high``, pooled ``_wilson_low/high`` and
    ``_cp_low/high`` columns as in :func:`overall`, plus ``p_global_se`` and
    ``p_global_boot_low/high``. The family-level intervals here are the cluster-robust t over
    the instances that have such starts (:func:`swarm.stats.cluster_t`; nan with fewer than
    two).

    The escape columns and the per-label rows need the aggregate's basin table or the
    per-trajectory outcomes; a study with neither (more distinct basins than
    ``max_basin_rows`` and aggregates only) gets the two global/non-global rows only, with
    P(global) and (non-global) P(escape → global) from the aggregate's counts (or, without
    per-instance counts, from its moments: family-level intervals over all instances,
    :func:`swarm.stats.cluster_t_moments`) and nan escape columns.
    """
    names = arm_names(result)
    agg = result.aggregate
    I = agg.n_instances
    bc = _basin_counts(result)
    mom = Moments(agg)
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
        elif per_instance(result):
            n_all, k_all = agg.count("n")[a], agg.count("successes")[a]
            n_g, k_g = agg.count("started_global")[a], agg.count("successes_from_global")[a]
            zero = np.zeros_like(n_g)
            groups = [("global", None, (n_g, k_g, None, zero, zero)),
                      ("non-global", None, (n_all - n_g, k_all - k_g, None, n_all - n_g,
                                            k_all - k_g))]
        else:
            groups = [("global", None, P_FROM_GLOBAL), ("non-global", None, P_FROM_NONGLOBAL)]
        for name, lab, g in groups:
            if isinstance(g[0], tuple):            # moments only
                k, n = mom.ratio(a, g)[:2]
                fam = mom.family(a, g, confidence)
                boot = (math.nan, math.nan)
                esc = n_ng = k_etg = None
                fam_esc = NAN3
                if name == "non-global":
                    n_ng, k_etg, fam_etg = n, k, fam
                else:
                    n_ng, k_etg, fam_etg = 0, 0, NAN3
            else:
                n_i, k_i, esc_i, ng_i, etg_i = g
                n, k = int(n_i.sum()), int(k_i.sum())
                fam = _family_arrays(k_i, n_i, confidence)
                boot = _boot_arrays(k_i, n_i, confidence, n_resamples, seed)
                esc = None if esc_i is None else int(esc_i.sum())
                fam_esc = NAN3 if esc_i is None else _family_arrays(esc_i, n_i, confidence)
                n_ng, k_etg = int(ng_i.sum()), int(etg_i.sum())
                fam_etg = _family_arrays(etg_i, ng_i, confidence)
            rows.append({**_base_row(result, a, names), "start": name, "start_label": lab,
                         "n": n, "successes": k,
                         **_prob("p_global", k, n, fam, confidence, se=True, boot=boot),
                         "escapes": esc,
                         **_prob("p_escape", esc, n, fam_esc, confidence),
                         "nonglobal_starts": n_ng, "escaped_to_global": k_etg,
                         **_prob("p_escape_to_global", k_etg, n_ng, fam_etg, confidence)})
    return rows


def paired(result, confidence=0.95, *, n_resamples=DEFAULT_RESAMPLES, seed=0) -> list[dict]:
    """Every pair of arms (a < b) compared on the same (instance, start) keys.

    Keys: ``a``, ``b`` (arm indices), ``name_a``, ``name_b``, ``n`` pairs, ``n01`` (a fails, b
    succeeds), ``n10`` (a succeeds, b fails), ``p_a``, ``p_b``, ``difference`` = ``p_a − p_b``
    with ``diff_low/high`` (cluster bootstrap over instances of the paired difference; nan
    with one instance or without per-instance counts), ``pvalue`` (exact McNemar,
    :func:`swarm.stats.mcnemar_counts`) and ``p_holm`` (Holm-adjusted over all pairs of the
    study). Empty with a single arm.
    """
    names = arm_names(result)
    agg = result.aggregate
    mom = Moments(agg)
    inst = per_instance(result)
    I = mom.instances
    reps = boot_resamples(I, n_resamples)
    rows = []
    for a, b in itertools.combinations(range(len(result.arms)), 2):
        n = mom.total("n", a)
        m = stats.mcnemar_counts(int(agg.pairs[b, a]), int(agg.pairs[a, b]), n)
        lo = hi = math.nan
        if inst and I >= 2 and reps:
            succ, n_per = agg.count("successes"), agg.count("n")
            lo, hi = stats.cluster_bootstrap_ratio(succ[a] - succ[b], n_per[a], confidence,
                                                   reps, seed)
        rows.append({"a": a, "b": b, "name_a": names[a], "name_b": names[b], "n": m.n,
                     "n01": m.n01, "n10": m.n10, "p_a": mom.total("successes", a) / n,
                     "p_b": mom.total("successes", b) / n, "difference": m.difference,
                     "diff_low": lo, "diff_high": hi, "pvalue": m.pvalue})
    if rows:
        adj = stats.holm([r["pvalue"] for r in rows])
        for r, p in zip(rows, adj):
            r["p_holm"] = float(p)
    return rows


def default_grid(steps, points=200) -> np.ndarray:
    """Step grid for ECDFs: 0, then about ``points`` log-spaced integer steps up to ``steps``
    (the grid of the aggregates' hit histograms, :func:`swarm.aggregate.hit_grid`)."""
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
    totals = agg.total("n")
    rows = []
    for a in range(len(result.arms)):
        n = int(totals[a])
        if from_hist:
            frac = np.cumsum(agg.hits[a]) / n
        else:
            hs = result.arm(a)["hit_step"].ravel()
            hit = np.sort(hs[OC.hit(hs)])
            frac = np.searchsorted(hit, grid, side="right") / hs.size
        rows.append({**_base_row(result, a, names), "steps": grid.copy(), "fraction": frac})
    return rows


def by_instance(result) -> list[dict]:
    """P(global) of every arm on every instance (rows: arm metadata, ``instance``, ``n``,
    ``successes``, ``p_global``); empty when the aggregate has no per-instance counts
    (:func:`per_instance`)."""
    if not per_instance(result):
        return []
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


# ---------------------------------------------------------------------------- COCO targets

def _target_aggregate(result):
    agg = result.aggregate
    if getattr(agg, "targets", None) is None:
        raise ValueError("this study has no precision targets: run it with targets='coco' (or "
                         "a list of precisions; swarm.targets)")
    return agg


def art(result) -> np.ndarray:
    """COCO's average runtime per arm and precision target, ``(arms, targets)`` float, in
    gradient evaluations: (Σ over the arm's trajectories of the evaluations to the target's
    first hit, or the full budget when it never hits) / the number of hits; inf without hits.
    A trajectory's evaluations to a hit at step h are h + 1 (the start counts one evaluation)
    and its budget is steps + 1; a trajectory that diverged before reaching a target counts as
    unsuccessful with the full budget. Exact: from the aggregate's integer hits and step sums,
    so a study that kept aggregates only gives the same numbers."""
    agg = _target_aggregate(result)
    steps = int(result.spec["steps"])
    n = agg.total("n")
    A, T = agg.target_hits.shape
    out = np.full((A, T), math.inf)
    for a in range(A):
        for j in range(T):
            h = int(agg.target_hits[a, j])
            if h:
                evals = int(agg.target_step_sum[a, j]) + h + (int(n[a]) - h) * (steps + 1)
                out[a, j] = evals / h
    return out


def runtime_ecdf(result) -> list[dict]:
    """COCO's runtime ECDF per arm: the fraction of (trajectory, target) pairs whose target
    was reached within a budget of b gradient evaluations, at the budgets b = grid + 1 of the
    hit grid (exact there: a hit at step h costs h + 1 evaluations). Rows: arm metadata plus
    ``evaluations`` (int array), ``fraction`` (over all targets) and ``per_target`` ((targets,
    budgets): each target's fraction of trajectories), ``targets``."""
    agg = _target_aggregate(result)
    names = arm_names(result)
    n = agg.total("n")
    rows = []
    for a in range(len(result.arms)):
        cum = np.cumsum(agg.target_hist[a], axis=1)            # (T, G)
        per = cum / n[a] if n[a] else np.full(cum.shape, math.nan)
        rows.append({**_base_row(result, a, names), "evaluations": agg.grid + 1,
                     "fraction": per.mean(axis=0), "per_target": per,
                     "targets": agg.targets.copy()})
    return rows


def target_rows(result) -> list[dict]:
    """One row per arm and precision target: arm metadata, ``target`` (the precision),
    ``n`` (trajectories), ``hits``, ``p_hit``, ``art`` (:func:`art`, gradient evaluations)."""
    agg = _target_aggregate(result)
    names = arm_names(result)
    n = agg.total("n")
    ert = art(result)
    rows = []
    for a in range(len(result.arms)):
        for j, t in enumerate(agg.targets.tolist()):
            h = int(agg.target_hits[a, j])
            rows.append({**_base_row(result, a, names), "target": t, "n": int(n[a]),
                         "hits": h, "p_hit": h / int(n[a]) if n[a] else math.nan,
                         "art": float(ert[a, j])})
    return rows
