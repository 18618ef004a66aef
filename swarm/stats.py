"""Statistics for success rates and hitting times of optimizer trajectories.

This module is pure NumPy/SciPy and works on plain numbers and arrays; it has
no dependency on the rest of :mod:`swarm`.  Every function validates its
inputs and raises :class:`ValueError` whose message names the offending
argument and the allowed values, e.g. ``confidence must be in (0, 1), got 1.5``.
Results are frozen dataclasses (named, immutable, like ``scipy.stats``
results).  Randomised procedures (the bootstraps) take a ``seed`` that is
passed to :func:`numpy.random.default_rng`, so equal seeds give equal results.

Contents
--------
proportion(successes, n, confidence=0.95, method="wilson") -> Proportion
    Binomial success rate with a Wilson (1927) score or Clopper & Pearson
    (1934) exact interval.
wilson_interval(k, n, confidence=0.95) -> (low, high)
clopper_pearson_interval(k, n, confidence=0.95) -> (low, high)
    Vectorised versions of the two intervals, for tables.
cluster_bootstrap(successes_per_cluster, n_per_cluster, confidence=0.95,
                  n_resamples=2000, seed=0) -> ClusterProportion
    Success rate pooled over clusters (landscape instances) with a cluster
    (case-resampling) bootstrap percentile interval.  It under-covers with
    few clusters (about 0.75 / 0.90 / 0.92 at 3 / 10 / 20 clusters for a
    nominal 0.95); prefer :func:`cluster_t`.
cluster_t(successes_per_cluster, n_per_cluster, confidence=0.95,
          floor=True) -> ClusterT
cluster_t_interval(successes, n, confidence=0.95, floor=True) -> (low, high)
    Success rate pooled over clusters with a cluster-robust (sandwich)
    standard error of the ratio estimator and a Student-t quantile on
    ``C - 1`` degrees of freedom: near-nominal coverage from a handful of
    clusters on; the interval to report when runs on the same landscape are
    correlated.  The second form is vectorised over leading axes.
cluster_t_moments(sum_k, sum_n, sum_kk, sum_kn, sum_nn, clusters,
                  confidence=0.95, floor=True) -> ClusterT
cluster_t_moments_interval(...) -> (low, high)
    The same interval from sums and second moments of the per-cluster
    counts alone (no per-cluster arrays), exact integer arithmetic: what a
    study of millions of instances keeps.
mcnemar(a, b) -> McNemarResult
    Exact McNemar (1947) test for paired success/failure outcomes of two
    optimizers on the same keys (landscape, start, seed).
holm(pvalues) -> ndarray
    Holm (1979) step-down adjusted p-values (family-wise error control).
hit_time_summary(hit_steps, max_steps, *, never=-1, confidence=0.95,
                 n_resamples=2000, seed=0) -> HitTimes
    First-hit-time summary: success count, median hitting time with a
    bootstrap interval, the aRT / ERT of Hansen et al. (COCO), and an ECDF.

Conventions
-----------
* ``n == 0`` in :func:`proportion` / the interval helpers: the estimate is
  ``nan`` and the interval is the whole parameter space ``(0, 1)`` -- no data,
  no information, and the interval still trivially covers the truth.
* Confidence intervals are two-sided with equal tail probabilities
  ``(1 - confidence) / 2``.
* Hitting times are step counts: a hit step ``s`` means the target was first
  reached after ``s`` steps (``0``: the start point already hit), so that run
  cost ``s`` steps; a run that never hit carries the sentinel ``never`` and
  cost the full budget ``max_steps``.

References
----------
E. B. Wilson (1927). Probable inference, the law of succession, and
    statistical inference. JASA 22(158), 209-212.
C. J. Clopper, E. S. Pearson (1934). The use of confidence or fiducial limits
    illustrated in the case of the binomial. Biometrika 26(4), 404-413.
Q. McNemar (1947). Note on the sampling error of the difference between
    correlated proportions or percentages. Psychometrika 12(2), 153-157.
S. Holm (1979). A simple sequentially rejective multiple test procedure.
    Scandinavian Journal of Statistics 6(2), 65-70.
A. C. Cameron, D. L. Miller (2015). A practitioner's guide to cluster-robust
    inference. J. Human Resources 50(2), 317-372 (CR1 variance, t with
    G - 1 degrees of freedom for few clusters).
B. Efron, R. J. Tibshirani (1993). An Introduction to the Bootstrap. Chapman &
    Hall (percentile interval; resampling of clusters, ch. 8 / Davison &
    Hinkley 1997, sec. 3.8).
N. Hansen, A. Auger, D. Brockhoff, T. Tusar (2022). Anytime performance
    assessment in blackbox optimization benchmarking. IEEE TEVC 26(6),
    1293-1305; and N. Hansen et al. (2021), COCO: a platform for comparing
    continuous optimizers in a black-box setting, Optim. Methods Softw. 36(1)
    (average running time, aRT).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from scipy import stats as _sps

__all__ = [
    "Proportion",
    "ClusterProportion",
    "McNemarResult",
    "HitTimes",
    "proportion",
    "wilson_interval",
    "clopper_pearson_interval",
    "cluster_bootstrap",
    "ClusterT",
    "cluster_t",
    "cluster_t_interval",
    "cluster_t_moments",
    "cluster_t_moments_interval",
    "mcnemar",
    "holm",
    "hit_time_summary",
]

PROPORTION_METHODS = ("wilson", "clopper-pearson")

# Upper bound on the number of array elements one bootstrap chunk materialises.
_CHUNK_ELEMENTS = 4_000_000


# --------------------------------------------------------------------------
# result types
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Proportion:
    """A binomial success rate with a two-sided confidence interval.

    Attributes
    ----------
    successes, n : int
        Number of successes and of trials.
    estimate : float
        ``successes / n`` (``nan`` when ``n == 0``).
    low, high : float
        Interval bounds, ``0 <= low <= high <= 1``; ``(0, 1)`` when ``n == 0``.
    confidence : float
        Nominal two-sided coverage, e.g. ``0.95``.
    method : str
        ``"wilson"``, ``"clopper-pearson"``, ``"cluster-bootstrap"`` or
        ``"cluster-t"``.
    """

    successes: int
    n: int
    estimate: float
    low: float
    high: float
    confidence: float
    method: str


@dataclass(frozen=True)
class ClusterProportion(Proportion):
    """A :class:`Proportion` from :func:`cluster_bootstrap`.

    Extra attributes: ``n_clusters`` (number of clusters) and ``n_resamples``
    (bootstrap replicates).  ``successes`` and ``n`` are the pooled totals and
    ``method`` is ``"cluster-bootstrap"``.
    """

    n_clusters: int
    n_resamples: int


@dataclass(frozen=True)
class ClusterT(Proportion):
    """A :class:`Proportion` from :func:`cluster_t`.

    Extra attributes: ``n_clusters`` (``C``), ``se`` (cluster-robust
    standard error of the pooled estimate) and ``df`` (``C - 1``, degrees of
    freedom of the t quantile).  ``method`` is ``"cluster-t"``.
    """

    n_clusters: int
    se: float
    df: int


@dataclass(frozen=True)
class McNemarResult:
    """Exact McNemar test of paired binary outcomes ``a`` vs ``b``.

    Attributes
    ----------
    n : int
        Number of pairs.
    n01 : int
        Discordant pairs where ``a`` fails and ``b`` succeeds.
    n10 : int
        Discordant pairs where ``a`` succeeds and ``b`` fails.
    statistic : int
        ``min(n01, n10)``, the smaller discordant count (symmetric in a, b).
    pvalue : float
        Exact two-sided p-value, ``binomtest(n10, n01 + n10, 0.5)``, i.e.
        ``min(1, 2 * P[X <= statistic])`` with ``X ~ Binomial(n01 + n10, 1/2)``;
        ``1.0`` when there are no discordant pairs.
    difference : float
        ``mean(a) - mean(b) == (n10 - n01) / n``, the difference in success
        rates.
    """

    n: int
    n01: int
    n10: int
    statistic: int
    pvalue: float
    difference: float


@dataclass(frozen=True)
class HitTimes:
    """Summary of first-hit steps of ``n`` runs; see :func:`hit_time_summary`.

    Attributes
    ----------
    n : int
        Number of runs.
    hits : int
        Runs that hit the target within the budget.
    median : float
        ECDF (lower) median of the hit step over *all* runs, counting a run
        that never hit as ``+inf``: the smallest observed step ``t`` with
        ``ecdf(t) >= 0.5``.  ``nan`` when fewer than half of the runs hit
        (the median lies beyond the budget and is not estimable).
    median_low, median_high : float
        Bootstrap percentile interval for that median, same ``+inf``
        convention, so either bound may be ``inf``.
    ert : float
        Expected running time / aRT (COCO): total steps spent by all runs
        (hit step for a hit, ``max_steps`` for a miss) divided by ``hits``;
        ``inf`` when ``hits == 0``.
    success_rate : float
        ``hits / n``.
    max_steps : int
        Step budget of one run.
    confidence : float
        Nominal coverage of the median interval.
    hit_steps : ndarray
        Read-only sorted hit steps of the runs that hit (length ``hits``);
        used by :meth:`ecdf`.  Empty when the summary was built from a hit
        histogram (``hist``, ``grid``) instead.
    hist, grid : ndarray or None
        For a summary built from a histogram of hit steps on a grid of steps
        (``hist[j]`` counts ``grid[j-1] < step <= grid[j]``; a study that kept
        aggregates only, see :func:`swarm.analysis.hit_summary`): then
        :meth:`ecdf` is exact at the grid points (and wherever the cell holds
        no hits) and refuses other steps.  ``None`` otherwise.
    """

    n: int
    hits: int
    median: float
    median_low: float
    median_high: float
    ert: float
    success_rate: float
    max_steps: int
    confidence: float
    hit_steps: np.ndarray = field(repr=False, compare=False)
    hist: np.ndarray | None = field(default=None, repr=False, compare=False)
    grid: np.ndarray | None = field(default=None, repr=False, compare=False)

    def ecdf(self, steps_grid):
        """Fraction of *all* runs that hit at or before each step of the grid.

        ``ecdf(t) = #{runs with hit step <= t} / n``; runs that never hit never
        count, so the curve plateaus at ``success_rate``.  Returns an array
        shaped like ``steps_grid`` (a NumPy scalar for a scalar grid).  For a
        summary built from a hit histogram, a step inside a grid cell that
        holds hits (where the value is not known) raises ValueError.
        """
        grid = np.asarray(steps_grid, dtype=float)
        if np.isnan(grid).any():
            raise ValueError("steps_grid must not contain nan")
        if self.hist is None:
            counts = np.searchsorted(self.hit_steps, grid, side="right")
            return (counts / self.n)[()]
        g = np.asarray(self.grid, dtype=float)
        cum = np.concatenate(([0], np.cumsum(self.hist)))     # cum[j + 1]: hits <= g[j]
        j = np.searchsorted(g, grid, side="right")            # grid points <= t
        below = cum[j]                                        # hits <= the grid point below t
        above = cum[np.minimum(j + 1, g.size)]                # hits <= the grid point above t
        exact = (below == above) | (grid < 0) | (grid >= g[-1]) | \
            ((j > 0) & (g[np.maximum(j - 1, 0)] == grid))
        if not np.all(exact):
            t = grid[~exact].ravel()[0]
            raise ValueError(
                f"ecdf({t:g}): these hit times come from a histogram on a grid of steps "
                f"(a study that kept aggregates only), so the ECDF is known only at the "
                f"grid points (HitTimes.grid) and in cells without hits; ask at grid points")
        counts = np.where(grid < 0, 0, np.where(grid >= g[-1], cum[-1], below))
        return (counts / self.n)[()]


# --------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------


def _check_confidence(confidence) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real):
        raise ValueError(f"confidence must be a real number in (0, 1), got {confidence!r}")
    confidence = float(confidence)
    if not 0.0 < confidence < 1.0:  # also rejects nan
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return confidence


def _check_int(value, name: str, minimum: int | None = None) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _int_array(values, name: str) -> np.ndarray:
    """Array of integer values (integral floats allowed) as int64."""
    arr = np.asarray(values)
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise ValueError(f"{name} must be an array of integers, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(f"{name} must contain only integer values")
    return arr.astype(np.int64)


def _bool_array(values, name: str) -> np.ndarray:
    """1-D boolean array; integer/float inputs must be 0/1."""
    arr = np.asarray(values)
    if arr.dtype != bool:
        if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
            raise ValueError(f"{name} must be a boolean array, got dtype {arr.dtype}")
        if not np.all((arr == 0) | (arr == 1)):
            raise ValueError(f"{name} must contain only booleans (or 0/1)")
        arr = arr == 1
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {arr.shape}")
    return arr


def _check_counts(k, n, k_name="k", n_name="n"):
    k = _int_array(k, k_name)
    n = _int_array(n, n_name)
    try:
        k, n = np.broadcast_arrays(k, n)
    except ValueError:
        raise ValueError(
            f"{k_name} and {n_name} must broadcast together, got shapes "
            f"{np.shape(k)} and {np.shape(n)}"
        ) from None
    if np.any(n < 0):
        raise ValueError(f"{n_name} must be >= 0")
    if np.any(k < 0) or np.any(k > n):
        raise ValueError(f"{k_name} must satisfy 0 <= {k_name} <= {n_name}")
    return k, n


# --------------------------------------------------------------------------
# binomial proportions
# --------------------------------------------------------------------------


def wilson_interval(k, n, confidence=0.95):
    """Vectorised Wilson (1927) score interval for a binomial proportion.

    With ``p = k / n`` and ``z = Phi^{-1}((1 + confidence) / 2)``::

        centre = (k + z**2 / 2) / (n + z**2)
        half   = z / (n + z**2) * sqrt(k * (n - k) / n + z**2 / 4)
        (low, high) = (centre - half, centre + half)

    (clipped to [0, 1] against rounding; exactly 0 at ``k == 0`` and 1 at
    ``k == n``).  Elements with ``n == 0`` give ``(0, 1)``.  ``k`` and ``n``
    broadcast; returns ``(low, high)`` as float arrays (NumPy scalars for
    scalar input).
    """
    confidence = _check_confidence(confidence)
    k, n = _check_counts(k, n)
    z = _sps.norm.ppf(0.5 + confidence / 2.0)
    kf = k.astype(float)
    nf = n.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = nf + z * z
        centre = (kf + z * z / 2.0) / denom
        half = z / denom * np.sqrt(kf * (nf - kf) / nf + z * z / 4.0)
        low = np.clip(centre - half, 0.0, 1.0)
        high = np.clip(centre + half, 0.0, 1.0)
    low = np.where(k == 0, 0.0, low)
    high = np.where(k == n, 1.0, high)
    empty = n == 0
    low = np.where(empty, 0.0, low)
    high = np.where(empty, 1.0, high)
    return low[()], high[()]


def clopper_pearson_interval(k, n, confidence=0.95):
    """Vectorised Clopper & Pearson (1934) exact interval.

    With ``alpha = 1 - confidence``::

        low  = Beta(alpha/2;     k,     n - k + 1)   (0 if k == 0)
        high = Beta(1 - alpha/2; k + 1, n - k)       (1 if k == n)

    where ``Beta(q; a, b)`` is the beta quantile function.  Guaranteed
    coverage >= ``confidence`` for every true p (conservative).  Elements with
    ``n == 0`` give ``(0, 1)``.  Returns ``(low, high)`` like
    :func:`wilson_interval`.
    """
    confidence = _check_confidence(confidence)
    k, n = _check_counts(k, n)
    alpha = 1.0 - confidence
    kf = k.astype(float)
    nf = n.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        low = _sps.beta.ppf(alpha / 2.0, kf, nf - kf + 1.0)
        high = _sps.beta.ppf(1.0 - alpha / 2.0, kf + 1.0, nf - kf)
    low = np.where(k == 0, 0.0, low)
    high = np.where(k == n, 1.0, high)
    return np.asarray(low, dtype=float)[()], np.asarray(high, dtype=float)[()]


def proportion(successes, n, confidence=0.95, method="wilson") -> Proportion:
    """Success rate ``successes / n`` with a two-sided confidence interval.

    Parameters
    ----------
    successes, n : int
        ``0 <= successes <= n``.
    confidence : float in (0, 1)
    method : {"wilson", "clopper-pearson"}
        ``"wilson"``: Wilson (1927) score interval (see
        :func:`wilson_interval` for the formula), good average coverage even
        for p near 0 or 1.  ``"clopper-pearson"``: the exact interval of
        Clopper & Pearson (1934) from beta quantiles, coverage >= nominal for
        every p.  Both are computed by
        ``scipy.stats.binomtest(successes, n).proportion_ci``.

    ``n == 0`` gives ``estimate = nan`` and the uninformative interval
    ``(0.0, 1.0)``.
    """
    successes = _check_int(successes, "successes", 0)
    n = _check_int(n, "n", 0)
    if successes > n:
        raise ValueError(f"successes must be <= n, got successes={successes}, n={n}")
    confidence = _check_confidence(confidence)
    if method not in PROPORTION_METHODS:
        raise ValueError(f"method must be one of {PROPORTION_METHODS}, got {method!r}")
    if n == 0:
        return Proportion(0, 0, math.nan, 0.0, 1.0, confidence, method)
    scipy_method = "wilson" if method == "wilson" else "exact"
    ci = _sps.binomtest(successes, n).proportion_ci(confidence, method=scipy_method)
    return Proportion(
        successes=successes,
        n=n,
        estimate=successes / n,
        low=float(ci.low),
        high=float(ci.high),
        confidence=confidence,
        method=method,
    )


# --------------------------------------------------------------------------
# cluster bootstrap
# --------------------------------------------------------------------------


def _chunks(n_resamples: int, width: int):
    """Yield sizes of resample chunks holding at most ~_CHUNK_ELEMENTS items."""
    step = max(1, _CHUNK_ELEMENTS // max(1, width))
    done = 0
    while done < n_resamples:
        size = min(step, n_resamples - done)
        yield size
        done += size


def _cluster_counts(successes_per_cluster, n_per_cluster):
    """Validated per-cluster successes and trials (1-D, same length, >= 2 clusters)."""
    s = _int_array(successes_per_cluster, "successes_per_cluster")
    m = _int_array(n_per_cluster, "n_per_cluster")
    if s.ndim != 1 or m.ndim != 1:
        raise ValueError(
            "successes_per_cluster and n_per_cluster must be 1-dimensional, got "
            f"shapes {s.shape} and {m.shape}"
        )
    if s.shape != m.shape:
        raise ValueError(
            "successes_per_cluster and n_per_cluster must have the same length, got "
            f"{s.size} and {m.size}"
        )
    if s.size < 2:
        raise ValueError(f"need at least 2 clusters, got {s.size} (use proportion())")
    if np.any(m < 1):
        raise ValueError("n_per_cluster must be >= 1 for every cluster")
    if np.any(s < 0) or np.any(s > m):
        raise ValueError(
            "successes_per_cluster must satisfy 0 <= successes_per_cluster <= n_per_cluster"
        )
    return s, m


def cluster_bootstrap_ratio(numerator, denominator, confidence=0.95, n_resamples=2000,
                            seed=0) -> tuple[float, float]:
    """Percentile interval of the ratio estimator ``sum(x*) / sum(y*)`` over ``n_resamples``
    resamples of the clusters with replacement: ``numerator`` and ``denominator`` hold one
    value per cluster (any sign for the numerator, e.g. a paired difference of successes;
    the denominator's resampled sums must be non-zero). The resampling of
    :func:`cluster_bootstrap`, which calls it for a success rate."""
    x = np.asarray(numerator)
    y = np.asarray(denominator)
    if x.ndim != 1 or x.shape != y.shape or x.size < 2:
        raise ValueError(f"numerator and denominator must be 1-D of the same length >= 2, got "
                         f"shapes {x.shape} and {y.shape}")
    confidence = _check_confidence(confidence)
    n_resamples = _check_int(n_resamples, "n_resamples", 1)
    rng = np.random.default_rng(seed)
    n_clusters = x.size
    replicates = np.empty(n_resamples)
    start = 0
    for size in _chunks(n_resamples, n_clusters):
        idx = rng.integers(0, n_clusters, size=(size, n_clusters))
        replicates[start : start + size] = x[idx].sum(axis=1) / y[idx].sum(axis=1)
        start += size
    alpha = 1.0 - confidence
    low, high = np.quantile(replicates, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


def cluster_bootstrap(
    successes_per_cluster,
    n_per_cluster,
    confidence=0.95,
    n_resamples=2000,
    seed=0,
) -> ClusterProportion:
    """Pooled success rate with a cluster-bootstrap percentile interval.

    Runs on the same landscape instance are correlated, so the binomial
    intervals of :func:`proportion` are too narrow when instances differ.
    Here the ``C`` clusters (instances) are the resampling unit: each of
    ``n_resamples`` replicates draws ``C`` clusters with replacement and
    computes the ratio estimator ``sum(s*) / sum(n*)``; the interval is the
    ``(alpha/2, 1 - alpha/2)`` percentile interval of the replicates
    (Efron & Tibshirani 1993; Davison & Hinkley 1997, sec. 3.8).  The point
    estimate is the pooled ``sum(s) / sum(n)``.

    With few clusters the percentile interval is too narrow (coverage about
    0.75 / 0.90 / 0.92 at 3 / 10 / 20 clusters for a nominal 0.95 when the
    clusters' rates differ): the resampled variance is biased low by
    ``(C - 1) / C`` and the percentiles have normal, not t, tails.
    :func:`cluster_t` does not have this problem; this interval is kept as a
    second opinion.

    Parameters
    ----------
    successes_per_cluster, n_per_cluster : 1-D integer arrays, same length C
        Successes and runs per cluster; ``n_per_cluster >= 1`` and
        ``0 <= successes_per_cluster <= n_per_cluster``.  ``C >= 2`` (with one
        cluster there is nothing to resample: use :func:`proportion`).
    confidence : float in (0, 1)
    n_resamples : int >= 1
    seed : anything :func:`numpy.random.default_rng` accepts
        Equal seeds give identical results.

    Returns
    -------
    ClusterProportion
        ``method == "cluster-bootstrap"``; ``successes``/``n`` are totals.
    """
    s, m = _cluster_counts(successes_per_cluster, n_per_cluster)
    confidence = _check_confidence(confidence)
    n_resamples = _check_int(n_resamples, "n_resamples", 1)
    n_clusters = s.size
    low, high = cluster_bootstrap_ratio(s, m, confidence, n_resamples, seed)
    total_s = int(s.sum())
    total_n = int(m.sum())
    return ClusterProportion(
        successes=total_s,
        n=total_n,
        estimate=total_s / total_n,
        low=float(low),
        high=float(high),
        confidence=confidence,
        method="cluster-bootstrap",
        n_clusters=n_clusters,
        n_resamples=n_resamples,
    )


# --------------------------------------------------------------------------
# cluster-robust t interval
# --------------------------------------------------------------------------


def cluster_t_interval(successes, n, confidence=0.95, floor=True):
    """Vectorised cluster-robust t interval of a pooled success rate.

    ``successes`` and ``n`` have the clusters on their last axis (``C >= 2``
    of them, ``n >= 1`` each); leading axes are independent problems.  With
    ``p = sum(s) / sum(n)`` (the ratio estimator), residuals
    ``e_c = s_c - p * n_c`` and the CR1 (sandwich, small-sample factor
    ``C / (C - 1)``) variance::

        se   = sqrt(C / (C - 1) * sum(e_c**2)) / sum(n)
        half = t_{C-1}((1 + confidence) / 2) * se
        (low, high) = clip(p -+ half, 0, 1)

    The t quantile on ``C - 1`` degrees of freedom is what keeps the
    coverage near nominal with few clusters (Cameron & Miller 2015); with
    instance-level ``p ~ Beta(2, 6)`` and 200 runs per instance it covers
    0.93 / 0.94 / 0.95 at 3 / 10 / 20 instances, where the percentile
    bootstrap of :func:`cluster_bootstrap` gives 0.75 / 0.90 / 0.92.

    ``floor=True`` widens the interval to contain the pooled Wilson interval
    of ``sum(s)`` in ``sum(n)``: when the clusters' rates are drawn
    independently the pooled estimate's variance is at least the binomial
    one, and without the floor the interval collapses to a point when every
    cluster has the same rate (``p`` of 0 or 1 in particular).

    Returns ``(low, high)`` arrays of the leading shape (NumPy scalars for
    1-D input).
    """
    confidence = _check_confidence(confidence)
    s, m = _check_counts(successes, n, "successes", "n")
    if s.ndim < 1 or s.shape[-1] < 2:
        raise ValueError(f"need at least 2 clusters on the last axis, got shape {s.shape}")
    if np.any(m < 1):
        raise ValueError("n must be >= 1 for every cluster")
    c = s.shape[-1]
    total_s = s.sum(axis=-1)
    total_n = m.sum(axis=-1)
    p = total_s / total_n
    resid = s - p[..., None] * m
    se = np.sqrt(c / (c - 1) * np.sum(resid * resid, axis=-1)) / total_n
    half = _sps.t.ppf(0.5 + confidence / 2.0, c - 1) * se
    low = np.clip(p - half, 0.0, 1.0)
    high = np.clip(p + half, 0.0, 1.0)
    if floor:
        w_low, w_high = wilson_interval(total_s, total_n, confidence)
        low = np.minimum(low, w_low)
        high = np.maximum(high, w_high)
    return np.asarray(low, float)[()], np.asarray(high, float)[()]


def cluster_t(successes_per_cluster, n_per_cluster, confidence=0.95, floor=True) -> ClusterT:
    """Pooled success rate with the cluster-robust t interval of
    :func:`cluster_t_interval` (see there for the formula and ``floor``).

    Parameters are those of :func:`cluster_bootstrap` (1-D, ``C >= 2``
    clusters, ``n_per_cluster >= 1``).  Deterministic: no resampling.
    Prefer it to the cluster bootstrap, whose percentile interval
    under-covers with few clusters (it ignores the ``(C - 1) / C`` bias of
    the resampled variance and the t tails).
    """
    s, m = _cluster_counts(successes_per_cluster, n_per_cluster)
    confidence = _check_confidence(confidence)
    low, high = cluster_t_interval(s, m, confidence, floor)
    total_s, total_n = int(s.sum()), int(m.sum())
    p = total_s / total_n
    resid = s - p * m
    se = math.sqrt(s.size / (s.size - 1) * float(np.sum(resid * resid))) / total_n
    return ClusterT(successes=total_s, n=total_n, estimate=p, low=float(low),
                    high=float(high), confidence=confidence, method="cluster-t",
                    n_clusters=int(s.size), se=se, df=int(s.size - 1))


def _moment_int(value, name: str) -> int:
    """A sum or moment of counts: a non-negative integer (integral floats allowed)."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if isinstance(value, numbers.Integral):
        value = int(value)
    elif isinstance(value, numbers.Real) and math.isfinite(value) and value == int(value):
        value = int(value)
    else:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def _moments_se(sum_k, sum_n, sum_kk, sum_kn, sum_nn, clusters):
    """Validated ``(estimate, se)`` of :func:`cluster_t_moments` (``se`` correctly rounded:
    the residual sum of squares is computed in exact integer arithmetic)."""
    k = _moment_int(sum_k, "sum_k")
    n = _moment_int(sum_n, "sum_n")
    kk = _moment_int(sum_kk, "sum_kk")
    kn = _moment_int(sum_kn, "sum_kn")
    nn = _moment_int(sum_nn, "sum_nn")
    g = _check_int(clusters, "clusters")
    if g < 2:
        raise ValueError(f"need at least 2 clusters, got clusters={g} (with one cluster "
                         f"there is no between-cluster variance: use proportion())")
    if n < 1:
        raise ValueError(f"sum_n must be >= 1, got {n}")
    if k > n:
        raise ValueError(f"sum_k must satisfy 0 <= sum_k <= sum_n, got sum_k={k}, sum_n={n}")
    # every cluster has 0 <= k_c <= n_c (integers): k_c <= k_c**2 <= k_c n_c <= n_c**2
    if not (k <= kk <= kn <= nn and n <= nn):
        raise ValueError(f"inconsistent moments: need sum_k <= sum_kk <= sum_kn <= sum_nn "
                         f"and sum_n <= sum_nn, got sum_k={k}, sum_kk={kk}, sum_kn={kn}, "
                         f"sum_nn={nn}, sum_n={n}")
    # sum_c (k_c - p n_c)**2 * n**2 with p = k / n, exactly
    q = kk * n * n - 2 * k * n * kn + k * k * nn
    if q < 0:
        raise ValueError("inconsistent moments: sum of squared residuals "
                         "sum_kk - 2 p sum_kn + p**2 sum_nn < 0 (not the moments of one set "
                         "of per-cluster counts)")
    se = math.sqrt(float(Fraction(g * q, (g - 1) * n ** 4)))
    return k, n, g, k / n, se


def _t_bounds(p, se, df, k, n, confidence, floor):
    half = float(_sps.t.ppf(0.5 + confidence / 2.0, df)) * se
    low = min(max(p - half, 0.0), 1.0)
    high = min(max(p + half, 0.0), 1.0)
    if floor:
        w_low, w_high = wilson_interval(k, n, confidence)
        low, high = min(low, float(w_low)), max(high, float(w_high))
    return low, high


def cluster_t_moments(sum_k, sum_n, sum_kk, sum_kn, sum_nn, clusters, confidence=0.95,
                      floor=True) -> ClusterT:
    """:func:`cluster_t` from sums and second moments of the per-cluster counts alone.

    With ``C = clusters`` clusters of ``n_c`` runs and ``k_c`` successes, the arguments are
    ``sum_k = sum(k_c)``, ``sum_n = sum(n_c)``, ``sum_kk = sum(k_c**2)``,
    ``sum_kn = sum(k_c * n_c)``, ``sum_nn = sum(n_c**2)``.  The ratio estimator
    ``p = sum_k / sum_n`` has the residual sum of squares::

        sum_c (k_c - p n_c)**2 = sum_kk - 2 p sum_kn + p**2 sum_nn

    and everything else is :func:`cluster_t_interval`'s: CR1 standard error
    ``se = sqrt(C / (C - 1) * rss) / sum_n``, half-width ``t_{C-1}((1 + confidence) / 2) * se``,
    clipped to [0, 1], and with ``floor`` widened to contain the pooled Wilson interval of
    ``sum_k`` in ``sum_n``.  On the same per-cluster data the result equals
    :func:`cluster_t`'s (to rounding: here the residual sum of squares is computed exactly,
    in integer arithmetic, so the moments of millions of clusters lose nothing to
    cancellation).

    Ratios of linear combinations of counts work the same way: for
    P(escape -> global) = escaped_to_global / (n - started_global), ``k = e`` and
    ``n = m - s`` per cluster, so ``sum_kn = sum(e m) - sum(e s)`` and
    ``sum_nn = sum(m**2) - 2 sum(m s) + sum(s**2)``.

    ``clusters`` counts every sampled cluster, including any with ``n_c = 0`` (they carry no
    runs, but they are draws of the family: the usual ratio-estimator variance counts them;
    :func:`cluster_t` requires ``n_c >= 1`` and so counts only the others).  Needs
    ``clusters >= 2`` and ``sum_n >= 1``; moments that no set of counts with
    ``0 <= k_c <= n_c`` can have are refused.  Returns a :class:`ClusterT`
    (``method == "cluster-t"``, ``df = clusters - 1``).
    """
    confidence = _check_confidence(confidence)
    k, n, g, p, se = _moments_se(sum_k, sum_n, sum_kk, sum_kn, sum_nn, clusters)
    low, high = _t_bounds(p, se, g - 1, k, n, confidence, floor)
    return ClusterT(successes=k, n=n, estimate=p, low=low, high=high, confidence=confidence,
                    method="cluster-t", n_clusters=g, se=se, df=g - 1)


def cluster_t_moments_interval(sum_k, sum_n, sum_kk, sum_kn, sum_nn, clusters,
                               confidence=0.95, floor=True):
    """Vectorised :func:`cluster_t_moments`: the arguments broadcast together (e.g. one
    element per arm); returns ``(low, high)`` float arrays of the broadcast shape (NumPy
    scalars for scalar input)."""
    confidence = _check_confidence(confidence)
    args = [np.asarray(a, dtype=object) for a in (sum_k, sum_n, sum_kk, sum_kn, sum_nn,
                                                   clusters)]
    try:
        args = np.broadcast_arrays(*args)
    except ValueError:
        raise ValueError("sum_k, sum_n, sum_kk, sum_kn, sum_nn and clusters must broadcast "
                         "together, got shapes " + ", ".join(str(a.shape) for a in args)) \
            from None
    low = np.empty(args[0].shape)
    high = np.empty(args[0].shape)
    for idx in np.ndindex(args[0].shape):
        r = cluster_t_moments(*(a[idx] for a in args), confidence=confidence, floor=floor)
        low[idx], high[idx] = r.low, r.high
    return low[()], high[()]


# --------------------------------------------------------------------------
# paired comparison and multiplicity
# --------------------------------------------------------------------------


def mcnemar(a, b) -> McNemarResult:
    """Exact McNemar (1947) test for paired success/failure outcomes.

    ``a[i]`` and ``b[i]`` are the outcomes (True = success) of two optimizers
    on the same key ``i`` (same landscape, start point, seed).  Only the
    discordant pairs carry information: ``n01 = #(~a & b)``,
    ``n10 = #(a & ~b)``.  Under H0 (equal success probability) ``n10`` given
    ``n01 + n10 = m`` is Binomial(m, 1/2), so the exact two-sided p-value is::

        pvalue = min(1, 2 * sum_{i=0}^{min(n01, n10)} C(m, i) / 2**m)

    computed as ``scipy.stats.binomtest(n10, m, 0.5).pvalue``; ``1.0`` when
    ``m == 0``.  ``statistic = min(n01, n10)`` and
    ``difference = mean(a) - mean(b)``.  Swapping ``a`` and ``b`` swaps
    ``n01``/``n10``, negates ``difference`` and leaves ``pvalue`` unchanged.

    ``a`` and ``b`` must be non-empty 1-D arrays of equal length, boolean or
    0/1-valued.
    """
    a = _bool_array(a, "a")
    b = _bool_array(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same length, got {a.size} and {b.size}")
    if a.size == 0:
        raise ValueError("a and b must be non-empty")
    return mcnemar_counts(int(np.count_nonzero(~a & b)), int(np.count_nonzero(a & ~b)),
                          int(a.size))


def mcnemar_counts(n01, n10, n) -> McNemarResult:
    """:func:`mcnemar` from the discordant counts ``n01`` (a fails, b succeeds), ``n10`` (a
    succeeds, b fails) among ``n`` pairs."""
    n01 = _check_int(n01, "n01", 0)
    n10 = _check_int(n10, "n10", 0)
    n = _check_int(n, "n", 1)
    if n01 + n10 > n:
        raise ValueError(f"n01 + n10 must be at most n = {n}, got {n01} + {n10}")
    m = n01 + n10
    pvalue = 1.0 if m == 0 else float(_sps.binomtest(n10, m, 0.5).pvalue)
    return McNemarResult(
        n=n,
        n01=n01,
        n10=n10,
        statistic=min(n01, n10),
        pvalue=min(1.0, pvalue),
        difference=(n10 - n01) / n,
    )


def holm(pvalues) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values, in the input order.

    With the ``m`` p-values sorted ascending, ``p_(1) <= ... <= p_(m)``::

        adj_(i) = min(1, max_{j <= i} (m - j + 1) * p_(j))

    Rejecting every hypothesis with ``adj <= alpha`` controls the family-wise
    error rate at ``alpha`` under arbitrary dependence.  The result is
    monotone in the raw p-values, ``>= pvalues`` and ``<= 1``; it has the
    shape of the input (any shape; an empty input gives an empty array).
    Values must be in [0, 1] (no nan).
    """
    p = np.asarray(pvalues, dtype=float)
    if np.any(np.isnan(p)) or np.any(p < 0) or np.any(p > 1):
        raise ValueError("pvalues must be in [0, 1] (no nan)")
    flat = p.ravel()
    m = flat.size
    order = np.argsort(flat, kind="stable")
    scaled = (m - np.arange(m)) * flat[order]
    adjusted_sorted = np.minimum(1.0, np.maximum.accumulate(scaled))
    out = np.empty(m)
    out[order] = adjusted_sorted
    return out.reshape(p.shape)


# --------------------------------------------------------------------------
# hitting times
# --------------------------------------------------------------------------


def _lower_median_rows(x: np.ndarray) -> np.ndarray:
    """ECDF (lower) median of each row: the ceil(n/2)-th smallest value."""
    kth = (x.shape[-1] + 1) // 2 - 1
    return np.partition(x, kth, axis=-1)[..., kth]


def hit_time_summary(
    hit_steps,
    max_steps,
    *,
    never=-1,
    confidence=0.95,
    n_resamples=2000,
    seed=0,
) -> HitTimes:
    """Summarise first-hit steps of ``n`` independent runs.

    Parameters
    ----------
    hit_steps : 1-D integer array, non-empty
        For each run, the step at which it first hit the target
        (``0 <= step <= max_steps``; the run cost that many steps), or
        ``never`` if it did not hit within the budget.
    max_steps : int >= 0
        Step budget of a run: what a run that never hit cost.
    never : int
        Sentinel for "never hit"; must lie outside ``[0, max_steps]``.
    confidence : float in (0, 1)
        Coverage of the bootstrap interval of the median.
    n_resamples : int >= 1
        Bootstrap replicates (runs resampled with replacement).
    seed : anything :func:`numpy.random.default_rng` accepts

    Returns
    -------
    HitTimes
        With ``T_i`` the hit step of run ``i`` (``+inf`` if it never hit):

        * ``median``: ECDF median ``min{t : #(T_i <= t) >= n/2}`` (the
          ``ceil(n/2)``-th smallest ``T_i``; for odd ``n`` the usual median,
          for even ``n`` the lower middle value, so it is always an observed
          step); ``nan`` if fewer than half of the runs hit.
        * ``median_low, median_high``: percentile bootstrap interval of the
          same statistic (``+inf`` kept, quantiles taken without
          interpolation), so bounds may be ``inf``.
        * ``ert`` (aRT in COCO, Hansen et al.): the expected steps of a
          restart strategy until the first hit,
          ``(sum_{hits} T_i + (n - hits) * max_steps) / hits``;
          ``inf`` if ``hits == 0``.
        * ``ecdf(grid)``: fraction of runs with ``T_i <= t``.
    """
    max_steps = _check_int(max_steps, "max_steps", 0)
    never = _check_int(never, "never")
    if 0 <= never <= max_steps:
        raise ValueError(
            f"never must lie outside [0, max_steps] = [0, {max_steps}], got {never}"
        )
    confidence = _check_confidence(confidence)
    n_resamples = _check_int(n_resamples, "n_resamples", 1)
    steps = _int_array(hit_steps, "hit_steps")
    if steps.ndim != 1:
        raise ValueError(f"hit_steps must be 1-dimensional, got shape {steps.shape}")
    if steps.size == 0:
        raise ValueError("hit_steps must be non-empty")
    hit = steps != never
    if np.any(steps[hit] < 0) or np.any(steps[hit] > max_steps):
        raise ValueError(
            f"hit_steps must be in [0, max_steps] = [0, {max_steps}] or equal to "
            f"never ({never})"
        )

    n = int(steps.size)
    hits = int(np.count_nonzero(hit))
    times = np.where(hit, steps.astype(float), np.inf)

    median = float(_lower_median_rows(times))
    if not math.isfinite(median):
        median = math.nan

    rng = np.random.default_rng(seed)
    boot = np.empty(n_resamples)
    start = 0
    for size in _chunks(n_resamples, n):
        idx = rng.integers(0, n, size=(size, n))
        boot[start : start + size] = _lower_median_rows(times[idx])
        start += size
    alpha = 1.0 - confidence
    median_low, median_high = np.quantile(
        boot, [alpha / 2.0, 1.0 - alpha / 2.0], method="inverted_cdf"
    )

    total = float(steps[hit].sum()) + (n - hits) * float(max_steps)
    ert = total / hits if hits else math.inf

    sorted_hits = np.sort(steps[hit])
    sorted_hits.setflags(write=False)
    return HitTimes(
        n=n,
        hits=hits,
        median=median,
        median_low=float(median_low),
        median_high=float(median_high),
        ert=ert,
        success_rate=hits / n,
        max_steps=max_steps,
        confidence=confidence,
        hit_steps=sorted_hits,
    )
