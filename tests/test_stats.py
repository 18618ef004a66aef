"""Tests for swarm.stats: intervals, bootstraps, McNemar, Holm, hitting times."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from swarm import stats

Z95 = 1.959963984540054  # Phi^{-1}(0.975)

KN_CASES = [(0, 1), (1, 1), (0, 10), (3, 10), (10, 10), (7, 50), (1, 200), (100, 200), (199, 200)]


def hand_wilson(k, n, z=Z95):
    """Wilson (1927) score interval written out from the textbook formula."""
    p = k / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def hand_clopper_pearson(k, n, confidence=0.95):
    a = 1 - confidence
    low = 0.0 if k == 0 else sps.beta.ppf(a / 2, k, n - k + 1)
    high = 1.0 if k == n else sps.beta.ppf(1 - a / 2, k + 1, n - k)
    return low, high


# --------------------------------------------------------------------------
# proportions
# --------------------------------------------------------------------------


@pytest.mark.parametrize("k,n", KN_CASES)
def test_wilson_matches_hand_formula(k, n):
    low, high = hand_wilson(k, n)
    r = stats.proportion(k, n)
    assert r.method == "wilson"
    assert (r.successes, r.n, r.confidence) == (k, n, 0.95)
    assert r.estimate == pytest.approx(k / n)
    assert r.low == pytest.approx(low, abs=1e-12)
    assert r.high == pytest.approx(high, abs=1e-12)
    # the vectorised helper agrees with the same formula
    vlow, vhigh = stats.wilson_interval(k, n)
    assert vlow == pytest.approx(low, abs=1e-12)
    assert vhigh == pytest.approx(high, abs=1e-12)


def test_wilson_other_confidence():
    z = sps.norm.ppf(0.995)
    low, high = hand_wilson(12, 40, z)
    r = stats.proportion(12, 40, confidence=0.99)
    assert (r.low, r.high) == pytest.approx((low, high), abs=1e-12)


@pytest.mark.parametrize("k,n", KN_CASES)
@pytest.mark.parametrize("confidence", [0.9, 0.95])
def test_clopper_pearson_matches_beta_quantiles(k, n, confidence):
    low, high = hand_clopper_pearson(k, n, confidence)
    r = stats.proportion(k, n, confidence=confidence, method="clopper-pearson")
    assert r.method == "clopper-pearson"
    assert r.low == pytest.approx(low, abs=1e-10)
    assert r.high == pytest.approx(high, abs=1e-10)
    vlow, vhigh = stats.clopper_pearson_interval(k, n, confidence)
    assert vlow == pytest.approx(low, abs=1e-10)
    assert vhigh == pytest.approx(high, abs=1e-10)


def test_interval_helpers_vectorise_and_agree_with_proportion():
    k = np.array([[0, 3, 7], [1, 20, 20]])
    n = np.array([[5, 10, 7], [40, 20, 50]])
    for method, helper in [
        ("wilson", stats.wilson_interval),
        ("clopper-pearson", stats.clopper_pearson_interval),
    ]:
        low, high = helper(k, n, 0.9)
        assert low.shape == high.shape == k.shape
        for idx in np.ndindex(k.shape):
            r = stats.proportion(int(k[idx]), int(n[idx]), 0.9, method)
            assert low[idx] == pytest.approx(r.low, abs=1e-10)
            assert high[idx] == pytest.approx(r.high, abs=1e-10)


def test_n_zero_is_uninformative():
    for method in stats.PROPORTION_METHODS:
        r = stats.proportion(0, 0, method=method)
        assert math.isnan(r.estimate)
        assert (r.low, r.high) == (0.0, 1.0)
    assert stats.wilson_interval(0, 0) == (0.0, 1.0)
    assert stats.clopper_pearson_interval(0, 0) == (0.0, 1.0)
    low, high = stats.wilson_interval([0, 2], [0, 4])
    assert (low[0], high[0]) == (0.0, 1.0) and 0 < low[1] < 0.5 < high[1] < 1


@settings(max_examples=100, deadline=None, database=None)
@given(st.integers(0, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_intervals_are_ordered_and_contain_estimate(kn):
    k, n = kn
    for method in stats.PROPORTION_METHODS:
        r = stats.proportion(k, n, method=method)
        assert 0.0 <= r.low <= r.high <= 1.0
        if n:
            assert r.low <= r.estimate <= r.high
    # closed forms at the boundary: CP upper bound at k=0 is 1 - (alpha/2)**(1/n),
    # Wilson's is z**2 / (n + z**2)
    if n and k == 0:
        cp = stats.proportion(0, n, method="clopper-pearson")
        assert cp.high == pytest.approx(1 - 0.025 ** (1 / n), rel=1e-9)
        assert stats.proportion(0, n).high == pytest.approx(Z95**2 / (n + Z95**2), rel=1e-9)


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5])
def test_coverage_simulation(p):
    # 20000 seeded draws: standard error of a coverage estimate ~0.0015, so
    # the bounds below have a margin of several standard errors (exact
    # coverages at n=200: Wilson 0.967/0.947/0.944, CP 0.967/0.955/0.960).
    n, draws = 200, 20_000
    k = np.random.default_rng(12345).binomial(n, p, size=draws)
    low, high = stats.wilson_interval(k, n)
    assert np.mean((low <= p) & (p <= high)) >= 0.93
    low, high = stats.clopper_pearson_interval(k, n)
    assert np.mean((low <= p) & (p <= high)) >= 0.95


def test_clopper_pearson_exact_coverage_never_below_nominal():
    # exact coverage sum_k pmf(k) * [p in CI(k)] over a grid of true p
    n = 60
    k = np.arange(n + 1)
    low, high = stats.clopper_pearson_interval(k, n)
    for p in np.linspace(0.01, 0.99, 99):
        coverage = sps.binom.pmf(k, n, p)[(low <= p) & (p <= high)].sum()
        assert coverage >= 0.95 - 1e-9


# --------------------------------------------------------------------------
# cluster bootstrap
# --------------------------------------------------------------------------

HETERO_S = np.array([2, 45, 1, 48, 3, 44, 0, 47, 2, 46, 1, 45, 3, 49, 2, 44, 1, 46, 0, 48])
HETERO_N = np.full(20, 50)


def test_cluster_bootstrap_deterministic_given_seed():
    r1 = stats.cluster_bootstrap(HETERO_S, HETERO_N, seed=7)
    r2 = stats.cluster_bootstrap(HETERO_S, HETERO_N, seed=7)
    r3 = stats.cluster_bootstrap(HETERO_S, HETERO_N, seed=8)
    assert r1 == r2
    assert (r1.low, r1.high) != (r3.low, r3.high)
    assert isinstance(r1, stats.Proportion)
    assert r1.method == "cluster-bootstrap"
    assert (r1.successes, r1.n, r1.n_clusters, r1.n_resamples) == (
        int(HETERO_S.sum()),
        1000,
        20,
        2000,
    )


def test_cluster_bootstrap_contains_pooled_estimate_and_is_wider_when_heterogeneous():
    r = stats.cluster_bootstrap(HETERO_S, HETERO_N)
    pooled = HETERO_S.sum() / HETERO_N.sum()
    assert r.estimate == pytest.approx(pooled)
    assert r.low < pooled < r.high
    w = stats.proportion(int(HETERO_S.sum()), int(HETERO_N.sum()))
    # between-cluster sd ~0.45 -> bootstrap width ~0.4 vs binomial ~0.06
    assert (r.high - r.low) > 3 * (w.high - w.low)


def test_cluster_bootstrap_matches_binomial_when_clusters_are_single_runs():
    # with one run per cluster the bootstrap is the ordinary iid bootstrap,
    # whose interval should be close to Wilson's for moderate n and p
    outcomes = np.random.default_rng(3).random(400) < 0.4
    r = stats.cluster_bootstrap(outcomes.astype(int), np.ones(400, int), n_resamples=4000)
    w = stats.proportion(int(outcomes.sum()), 400)
    assert r.low == pytest.approx(w.low, abs=0.01)
    assert r.high == pytest.approx(w.high, abs=0.01)


def test_cluster_bootstrap_chunking_gives_same_result(monkeypatch):
    full = stats.cluster_bootstrap(HETERO_S, HETERO_N, n_resamples=500, seed=1)
    # forcing many small chunks must not change the random stream usage
    monkeypatch.setattr(stats, "_CHUNK_ELEMENTS", 20 * 7)
    chunked = stats.cluster_bootstrap(HETERO_S, HETERO_N, n_resamples=500, seed=1)
    assert (full.low, full.high) == (chunked.low, chunked.high)


# --------------------------------------------------------------------------
# cluster-robust t interval
# --------------------------------------------------------------------------


def hand_cluster_t(s, n, confidence=0.95):
    """CR1 sandwich standard error of the ratio sum(s)/sum(n), t on C - 1 df, by loops."""
    C = len(s)
    p = sum(s) / sum(n)
    v = sum((si - p * ni) ** 2 for si, ni in zip(s, n)) * C / (C - 1) / sum(n) ** 2
    t = sps.t.ppf(1 - (1 - confidence) / 2, C - 1)
    return p, math.sqrt(v), max(0.0, p - t * math.sqrt(v)), min(1.0, p + t * math.sqrt(v))


def test_cluster_t_matches_hand_formula():
    s, n = [3, 10, 7, 1], [20, 25, 20, 15]
    p, se, lo, hi = hand_cluster_t(s, n, 0.9)
    r = stats.cluster_t(s, n, 0.9, floor=False)
    assert (r.estimate, r.n_clusters, r.df, r.method) == (p, 4, 3, "cluster-t")
    assert r.se == pytest.approx(se, rel=1e-12)
    assert (r.low, r.high) == pytest.approx((lo, hi), rel=1e-12)
    # the default floor only ever widens, to contain the pooled Wilson interval
    f = stats.cluster_t(s, n, 0.9)
    w = stats.proportion(sum(s), sum(n), 0.9)
    assert (f.low, f.high) == pytest.approx((min(lo, w.low), max(hi, w.high)), rel=1e-12)
    # heterogeneous clusters: far wider than the pooled binomial interval
    r = stats.cluster_t(HETERO_S, HETERO_N)
    w = stats.proportion(int(HETERO_S.sum()), int(HETERO_N.sum()))
    assert r.high - r.low > 5 * (w.high - w.low)


def test_cluster_t_degenerate_clusters_fall_back_to_wilson():
    # every cluster at 0: no between-cluster spread, the floor keeps an honest upper bound
    r = stats.cluster_t([0, 0, 0], [50, 50, 50])
    w = stats.proportion(0, 150)
    assert (r.se, r.low) == (0.0, 0.0) and r.high == pytest.approx(w.high, rel=1e-12)
    assert w.high > 0.02
    bare = stats.cluster_t([0, 0, 0], [50, 50, 50], floor=False)
    assert (bare.low, bare.high) == (0.0, 0.0)


def test_cluster_t_interval_vectorises_like_cluster_t():
    rng = np.random.default_rng(4)
    n = rng.integers(5, 60, size=(7, 5))
    s = rng.binomial(n, 0.3)
    lo, hi = stats.cluster_t_interval(s, n, 0.95)
    assert lo.shape == hi.shape == (7,)
    for i in range(7):
        r = stats.cluster_t(s[i], n[i], 0.95)
        assert (lo[i], hi[i]) == pytest.approx((r.low, r.high), rel=1e-12, abs=1e-15)


def test_cluster_t_covers_where_the_bootstrap_does_not():
    """Instance-level p ~ Beta(2, 6) (mean 0.25), 200 trajectories per instance: the
    cluster-robust t interval keeps near-nominal coverage at 10 and 20 instances (and close at
    3); the percentile cluster bootstrap under-covers with few instances. Seeded; standard
    error of a coverage estimate ≈ 0.0017 with 20 000 draws."""
    rng = np.random.default_rng(2024)
    truth, per = 0.25, 200
    cover = {}
    for C in (3, 10, 20):
        n = np.full((20_000, C), per)
        s = rng.binomial(n, rng.beta(2, 6, size=(20_000, C)))
        lo, hi = stats.cluster_t_interval(s, n, 0.95)
        cover[C] = np.mean((lo <= truth) & (truth <= hi))
        if C in (3, 10):
            boot = [stats.cluster_bootstrap(s[i], n[i], n_resamples=500, seed=i)
                    for i in range(300)]
            cb = np.mean([b.low <= truth <= b.high for b in boot])
            assert cb < cover[C] - 0.02, (C, cb, cover[C])
            if C == 3:
                assert cb < 0.85
    assert cover[10] >= 0.93 and cover[20] >= 0.935 and cover[3] >= 0.92, cover
    assert max(cover.values()) <= 0.97, cover         # not bought by a needlessly wide interval


# --------------------------------------------------------------------------
# McNemar
# --------------------------------------------------------------------------


def hand_mcnemar_p(n01, n10):
    m = n01 + n10
    if m == 0:
        return 1.0
    tail = sum(math.comb(m, i) for i in range(min(n01, n10) + 1)) / 2**m
    return min(1.0, 2 * tail)


def paired(n11, n10, n01, n00):
    a = np.array([1] * n11 + [1] * n10 + [0] * n01 + [0] * n00, dtype=bool)
    b = np.array([1] * n11 + [0] * n10 + [1] * n01 + [0] * n00, dtype=bool)
    return a, b


@pytest.mark.parametrize("n11,n10,n01,n00", [(30, 12, 3, 5), (5, 1, 9, 0), (0, 4, 4, 2), (10, 0, 7, 1), (2, 25, 40, 3)])
def test_mcnemar_pvalue_matches_binomial_sum(n11, n10, n01, n00):
    a, b = paired(n11, n10, n01, n00)
    perm = np.random.default_rng(0).permutation(a.size)  # order must not matter
    r = stats.mcnemar(a[perm], b[perm])
    assert (r.n, r.n01, r.n10, r.statistic) == (a.size, n01, n10, min(n01, n10))
    assert r.pvalue == pytest.approx(hand_mcnemar_p(n01, n10), rel=1e-12)
    assert r.difference == pytest.approx(a.mean() - b.mean())


def test_mcnemar_symmetric_in_swapping():
    a, b = paired(20, 11, 4, 9)
    ab, ba = stats.mcnemar(a, b), stats.mcnemar(b, a)
    assert (ab.n01, ab.n10) == (ba.n10, ba.n01)
    assert ab.statistic == ba.statistic
    assert ab.pvalue == pytest.approx(ba.pvalue, rel=1e-12)
    assert ab.difference == pytest.approx(-ba.difference)


def test_mcnemar_no_discordant_pairs():
    a, b = paired(7, 0, 0, 3)
    r = stats.mcnemar(a, b)
    assert (r.n01, r.n10, r.statistic, r.pvalue, r.difference) == (0, 0, 0, 1.0, 0.0)


def test_mcnemar_accepts_zero_one_ints():
    r = stats.mcnemar([1, 0, 1, 1], [0, 0, 1, 0])
    assert (r.n01, r.n10) == (0, 2)
    assert r.pvalue == pytest.approx(0.5)


# --------------------------------------------------------------------------
# Holm
# --------------------------------------------------------------------------


def test_holm_hand_example():
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> running max 0.06
    p = [0.01, 0.04, 0.03, 0.005]
    np.testing.assert_allclose(stats.holm(p), [0.03, 0.06, 0.06, 0.02], rtol=1e-12)


def test_holm_caps_at_one_and_edge_cases():
    np.testing.assert_allclose(stats.holm([0.4, 0.45, 0.9]), [1.0, 1.0, 1.0])
    np.testing.assert_allclose(stats.holm([0.5, 0.2]), [0.5, 0.4])
    np.testing.assert_allclose(stats.holm([0.02]), [0.02])
    assert stats.holm([]).shape == (0,)
    np.testing.assert_allclose(stats.holm([[0.01, 0.04], [0.03, 0.005]]), [[0.03, 0.06], [0.06, 0.02]])


@settings(max_examples=100, deadline=None, database=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_holm_properties(p):
    p = np.array(p)
    adj = stats.holm(p)
    assert adj.shape == p.shape
    assert np.all(adj >= p - 1e-15)
    assert np.all(adj <= 1.0)
    # monotone: ordering of raw p-values is preserved
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(adj[order]) >= 0)
    # never below Bonferroni's smallest adjustment, never above Bonferroni
    assert np.all(adj <= np.minimum(1.0, p.size * p) + 1e-12)


# --------------------------------------------------------------------------
# hitting times
# --------------------------------------------------------------------------


def test_hit_times_ert_hand_example():
    # two hits at 10 and 30, two misses costing 100 each: (10+30+200)/2
    h = stats.hit_time_summary([10, -1, 30, -1], max_steps=100)
    assert (h.n, h.hits) == (4, 2)
    assert h.ert == pytest.approx(120.0)
    assert h.success_rate == 0.5
    assert h.median == 30.0  # exactly half hit: ECDF median is the 2nd smallest


def test_hit_times_ert_all_and_none():
    assert stats.hit_time_summary([4, 6, 8], max_steps=10).ert == pytest.approx(6.0)
    h = stats.hit_time_summary([-1, -1], max_steps=10)
    assert h.ert == math.inf and h.hits == 0 and math.isnan(h.median)
    assert h.median_low == h.median_high == math.inf


def test_hit_times_ecdf():
    h = stats.hit_time_summary([10, -1, 30, -1, 10], max_steps=100)
    grid = [0, 9, 10, 29, 30, 100, 10**6]
    np.testing.assert_allclose(h.ecdf(grid), [0, 0, 0.4, 0.4, 0.6, 0.6, 0.6])
    assert h.ecdf(30) == pytest.approx(0.6)
    np.testing.assert_allclose(h.ecdf(np.array([[0, 10], [30, 99]])), [[0, 0.4], [0.6, 0.6]])


def test_hit_times_ecdf_from_a_histogram_is_exact_at_the_grid_or_refused():
    steps = [3, 5, 5, 12, -1, -1, -1, -1, -1, -1]
    exact = stats.hit_time_summary(steps, max_steps=16)
    grid = np.array([0, 1, 2, 4, 8, 16])
    hist = np.array([0, 0, 0, 1, 2, 1])           # hist[j]: grid[j-1] < step <= grid[j]
    h = stats.HitTimes(n=10, hits=4, median=math.nan, median_low=math.inf,
                       median_high=math.inf, ert=exact.ert, success_rate=0.4, max_steps=16,
                       confidence=0.95, hit_steps=np.empty(0, np.int64), hist=hist, grid=grid)
    np.testing.assert_allclose(h.ecdf(grid), exact.ecdf(grid))
    np.testing.assert_allclose(h.ecdf([-1, 1.5, 16, 100]), [0, 0, 0.4, 0.4])   # empty cells too
    assert h.ecdf(8) == pytest.approx(0.3)
    for t in (3, [4, 5]):
        with pytest.raises(ValueError, match="known only at the grid points"):
            h.ecdf(t)


def test_hit_times_median_with_never_hits():
    assert stats.hit_time_summary([5, -1, 7], max_steps=10).median == 7.0
    assert stats.hit_time_summary([5, 9, 7, -1], max_steps=10).median == 7.0
    # fewer than half hit -> nan
    assert math.isnan(stats.hit_time_summary([5, -1, -1], max_steps=10).median)
    assert math.isnan(stats.hit_time_summary([5, -1, -1, -1], max_steps=10).median)
    # custom sentinel
    h = stats.hit_time_summary([3, 99, 4], max_steps=50, never=99)
    assert (h.hits, h.median) == (2, 4.0)


def test_hit_times_median_interval():
    rng = np.random.default_rng(5)
    steps = rng.integers(0, 500, size=200)
    h = stats.hit_time_summary(steps, max_steps=500, seed=1)
    assert h.median == np.sort(steps)[99]
    assert h.median_low <= h.median <= h.median_high
    assert h.median_high - h.median_low < 150
    assert h == stats.hit_time_summary(steps, max_steps=500, seed=1)  # deterministic
    # 45% never hit: the median is finite but its upper bound can be inf
    steps[:90] = -1
    h = stats.hit_time_summary(steps, max_steps=500, seed=1)
    assert math.isfinite(h.median)
    assert h.median_high == math.inf
    assert h.median_low <= h.median


def test_hit_times_result_is_frozen():
    h = stats.hit_time_summary([1, 2], max_steps=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        h.ert = 0.0
    with pytest.raises(ValueError):
        h.hit_steps[0] = 5  # read-only array


# --------------------------------------------------------------------------
# input validation
# --------------------------------------------------------------------------


def moments(s, n):
    """(Σk, Σn, Σk², Σkn, Σn², C) of per-cluster counts, as exact Python integers."""
    s, n = [int(x) for x in s], [int(x) for x in n]
    return (sum(s), sum(n), sum(x * x for x in s), sum(x * y for x, y in zip(s, n)),
            sum(y * y for y in n), len(s))


cluster_counts = st.lists(
    st.integers(1, 10 ** 6).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    min_size=2, max_size=40)


@settings(max_examples=400, deadline=None)
@given(kn=cluster_counts, confidence=st.floats(0.5, 0.999), floor=st.booleans(),
       same=st.booleans())
def test_cluster_t_moments_equals_cluster_t(kn, confidence, floor, same):
    """From sums and second moments alone: the same interval as cluster_t on the
    per-cluster counts (same standard error, t quantile, clipping and Wilson floor)."""
    if same:                  # equal sizes: the study layout (starts per instance)
        kn = [(min(k, kn[0][1]), kn[0][1]) for k, _ in kn]
    s, n = np.array(kn).T
    want = stats.cluster_t(s, n, confidence, floor=floor)
    got = stats.cluster_t_moments(*moments(s, n), confidence=confidence, floor=floor)
    assert (got.successes, got.n, got.estimate) == (want.successes, want.n, want.estimate)
    assert (got.n_clusters, got.df, got.method) == (want.n_clusters, want.df, "cluster-t")
    assert got.low == pytest.approx(want.low, abs=1e-12)
    assert got.high == pytest.approx(want.high, abs=1e-12)
    assert got.se == pytest.approx(want.se, rel=1e-9, abs=1e-15)
    lo, hi = stats.cluster_t_moments_interval(*moments(s, n), confidence, floor)
    assert (float(lo), float(hi)) == (got.low, got.high)


def test_cluster_t_moments_hand_formula_and_exactness():
    s, n = [3, 10, 7, 1], [20, 25, 20, 15]
    p, se, lo, hi = hand_cluster_t(s, n, 0.9)
    r = stats.cluster_t_moments(*moments(s, n), confidence=0.9, floor=False)
    assert r.estimate == p and r.se == pytest.approx(se, rel=1e-13)
    assert (r.low, r.high) == pytest.approx((lo, hi), rel=1e-13)
    # ten million clusters whose rates are all equal: the residuals cancel exactly (the
    # moments are integers; no floating-point cancellation), so the floor is what remains
    big = stats.cluster_t_moments(3 * 10 ** 7, 9 * 10 ** 7, 9 * 10 ** 7, 27 * 10 ** 7,
                                  81 * 10 ** 7, 10 ** 7, floor=False)
    assert big.se == 0.0 and big.low == big.high == pytest.approx(1 / 3, rel=1e-15)
    # clusters without runs count as sampled clusters (the ratio-estimator variance)
    s0, n0 = [3, 0, 7, 1, 0], [20, 0, 20, 15, 0]
    r0 = stats.cluster_t_moments(*moments(s0, n0), floor=False)
    p0 = sum(s0) / sum(n0)
    se0 = math.sqrt(5 / 4 * sum((a - p0 * b) ** 2 for a, b in zip(s0, n0))) / sum(n0)
    assert (r0.n_clusters, r0.df) == (5, 4) and r0.se == pytest.approx(se0, rel=1e-13)
    # vectorised over arms
    lo, hi = stats.cluster_t_moments_interval([3, 5], [60, 60], [9, 13], [60, 100],
                                              [1200, 1200], 3)
    assert lo.shape == hi.shape == (2,)
    for i, (k, kk, kn) in enumerate(((3, 9, 60), (5, 13, 100))):
        one = stats.cluster_t_moments(k, 60, kk, kn, 1200, 3)
        assert (lo[i], hi[i]) == (one.low, one.high)


@pytest.mark.parametrize("args,name", [
    ((3, 10, 5, 30, 50, 1), "clusters"),
    ((3, 10, 5, 30, 50, 2.5), "clusters"),
    ((3, 0, 0, 0, 0, 2), "sum_n"),
    ((11, 10, 61, 60, 60, 2), "sum_k"),
    ((-1, 10, 5, 30, 50, 2), "sum_k"),
    ((3, 10, 2, 30, 50, 2), "inconsistent"),          # Σk² < Σk
    ((3, 10, 5, 60, 50, 2), "inconsistent"),          # Σkn > Σn²
    ((5, 10, 5, 40, 40, 2), "inconsistent"),          # residual sum of squares < 0
    ((3, 10, 5, 30, 50, 2, 1.5), "confidence"),
    ((3.5, 10, 5, 30, 50, 2), "sum_k"),
])
def test_cluster_t_moments_rejects_bad_input(args, name):
    with pytest.raises(ValueError, match=name):
        stats.cluster_t_moments(*args)


@pytest.mark.parametrize(
    "call,name",
    [
        (lambda: stats.proportion(3, 10, confidence=1.5), "confidence"),
        (lambda: stats.proportion(3, 10, confidence=0), "confidence"),
        (lambda: stats.proportion(3, 10, confidence=float("nan")), "confidence"),
        (lambda: stats.proportion(3, 10, method="wald"), "method"),
        (lambda: stats.proportion(11, 10), "successes"),
        (lambda: stats.proportion(-1, 10), "successes"),
        (lambda: stats.proportion(2.5, 10), "successes"),
        (lambda: stats.proportion(1, -3), "n"),
        (lambda: stats.wilson_interval([1, 5], [4, 4]), "k"),
        (lambda: stats.clopper_pearson_interval(1, 4, 2.0), "confidence"),
        (lambda: stats.cluster_bootstrap([1, 2], [3]), "n_per_cluster"),
        (lambda: stats.cluster_bootstrap([1, 4], [3, 3]), "successes_per_cluster"),
        (lambda: stats.cluster_bootstrap([1, 0], [3, 0]), "n_per_cluster"),
        (lambda: stats.cluster_bootstrap([1], [3]), "clusters"),
        (lambda: stats.cluster_bootstrap([1, 2], [3, 3], n_resamples=0), "n_resamples"),
        (lambda: stats.cluster_bootstrap([1, 2], [3, 3], confidence=-0.1), "confidence"),
        (lambda: stats.cluster_t([1, 2], [3]), "n_per_cluster"),
        (lambda: stats.cluster_t([1, 4], [3, 3]), "successes_per_cluster"),
        (lambda: stats.cluster_t([1, 0], [3, 0]), "n_per_cluster"),
        (lambda: stats.cluster_t([1], [3]), "clusters"),
        (lambda: stats.cluster_t([1, 2], [3, 3], confidence=2), "confidence"),
        (lambda: stats.cluster_t_interval([[1], [2]], [[3], [3]]), "clusters"),
        (lambda: stats.mcnemar([True, False], [True]), "a and b"),
        (lambda: stats.mcnemar([], []), "a and b"),
        (lambda: stats.mcnemar([0, 2], [1, 1]), "a"),
        (lambda: stats.holm([0.1, 1.2]), "pvalues"),
        (lambda: stats.holm([0.1, float("nan")]), "pvalues"),
        (lambda: stats.hit_time_summary([1, 2], max_steps=-1), "max_steps"),
        (lambda: stats.hit_time_summary([1, 20], max_steps=10), "hit_steps"),
        (lambda: stats.hit_time_summary([-2, 3], max_steps=10), "hit_steps"),
        (lambda: stats.hit_time_summary([], max_steps=10), "hit_steps"),
        (lambda: stats.hit_time_summary([1.5, 3], max_steps=10), "hit_steps"),
        (lambda: stats.hit_time_summary([1, 3], max_steps=10, never=5), "never"),
        (lambda: stats.hit_time_summary([1, 3], max_steps=10, confidence=1), "confidence"),
        (lambda: stats.hit_time_summary([1, 3], max_steps=10, n_resamples=0), "n_resamples"),
    ],
)
def test_bad_input_raises_value_error_naming_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_confidence_message_is_explicit():
    with pytest.raises(ValueError, match=r"confidence must be in \(0, 1\), got 1\.5"):
        stats.proportion(1, 2, confidence=1.5)


def test_cluster_bootstrap_ratio_is_the_bootstrap_of_cluster_bootstrap():
    """The ratio bootstrap behind cluster_bootstrap (and analysis.paired's interval of a paired
    difference, whose numerator may be negative): the same resamples, the same interval."""
    rng = np.random.default_rng(4)
    n = rng.integers(5, 40, 12)
    s = rng.binomial(n, 0.3)
    c = stats.cluster_bootstrap(s, n, 0.9, n_resamples=500, seed=3)
    assert stats.cluster_bootstrap_ratio(s, n, 0.9, 500, 3) == (c.low, c.high)
    d = s - rng.binomial(n, 0.4)                       # a paired difference
    lo, hi = stats.cluster_bootstrap_ratio(d, n, 0.95, 2000, 0)
    assert lo < d.sum() / n.sum() < hi and lo < 0
    with pytest.raises(ValueError, match="same length"):
        stats.cluster_bootstrap_ratio(d[:3], n, 0.95, 10)
