"""swarm.analysis: every number against a direct computation from result.arm(...)."""
import copy
import math

import numpy as np
import pytest
from scipy import stats as sps

import swarm
from swarm import analysis
from swarm import landscapes as L
from swarm import optimizers as O
from swarm import stats

STEPS = 150


@pytest.fixture(scope="module")
def res():
    # Gaussian peaks with σ = 0.5: enough escapes that the arms differ on many keys
    return swarm.run(L.gaussian_peaks(dim=2, peaks=21),
                     [O.sgd(lr=[0.01, 0.05]), O.momentum(lr=0.01, momentum=0.9),
                      O.adam(lr=0.05)],
                     instances=3, starts=200, steps=STEPS, noise=0.5, seed=0)


def hand_mcnemar_p(n01, n10):
    m = n01 + n10
    if m == 0:
        return 1.0
    k = min(n01, n10)
    return min(1.0, 2 * sum(math.comb(m, i) for i in range(k + 1)) / 2 ** m)


def hand_holm(p):
    p = np.asarray(p, float)
    order = np.argsort(p)
    m = len(p)
    adj = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, (m - rank) * p[i])
        adj[i] = min(1.0, running)
    return adj


def check_intervals(row, wilson, cp, k, n):
    """row[wilson_low/high] is the Wilson and row[cp_low/high] the Clopper–Pearson interval of
    k in n (scipy's binomtest, an independent implementation)."""
    k, n = int(k), int(n)
    w = sps.binomtest(k, n).proportion_ci(0.95, method="wilson")
    c = sps.binomtest(k, n).proportion_ci(0.95, method="exact")
    assert (row[f"{wilson}_low"], row[f"{wilson}_high"]) == pytest.approx((w.low, w.high),
                                                                          abs=1e-12)
    assert (row[f"{cp}_low"], row[f"{cp}_high"]) == pytest.approx((c.low, c.high), abs=1e-12)
    assert row[f"{cp}_low"] <= k / n <= row[f"{cp}_high"]


def test_overall_matches_direct_counts(res):
    rows = analysis.overall(res)
    assert [r["arm"] for r in rows] == list(range(len(res.arms)))
    for r in rows:
        o = res.arm(r["arm"])
        k = int(o["success"].sum())
        n = o["success"].size
        assert (r["successes"], r["n"], r["instances"]) == (k, n, 3)
        assert r["p_global"] == k / n
        # Wilson by its formula, Clopper–Pearson from scipy's exact interval
        z = sps.norm.ppf(0.975)
        centre = (k + z * z / 2) / (n + z * z)
        half = z / (n + z * z) * math.sqrt(k * (n - k) / n + z * z / 4)
        assert r["p_global_wilson_low"] == pytest.approx(centre - half, abs=1e-12)
        assert r["p_global_wilson_high"] == pytest.approx(centre + half, abs=1e-12)
        cp = sps.binomtest(k, n).proportion_ci(0.95, method="exact")
        assert (r["p_global_cp_low"], r["p_global_cp_high"]) == pytest.approx((cp.low, cp.high),
                                                                            abs=1e-12)
        # the cluster bootstrap resamples instances: the same call by hand
        cb = stats.cluster_bootstrap(o["success"].sum(axis=1), np.full(3, 200), 0.95,
                                     n_resamples=2000, seed=0)
        assert (r["p_global_boot_low"], r["p_global_boot_high"]) == (cb.low, cb.high)
        assert r["p_global_boot_low"] <= r["p_global"] <= r["p_global_boot_high"]
        per = o["success"].mean(axis=1)
        assert (r["p_instance_min"], r["p_instance_max"]) == (per.min(), per.max())
        # escapes and escapes to the global basin among non-global starts
        sb, eb = o["start_basin"], o["end_basin"]
        escaped = (eb != sb) & (eb >= 0)
        assert r["escapes"] == escaped.sum()
        assert r["p_escape"] == pytest.approx(escaped.mean())
        ng = res.n_global[:, None]
        nonglobal = ~((sb >= 0) & (sb < ng))
        etg = nonglobal & (eb >= 0) & (eb < ng)
        assert r["nonglobal_starts"] == nonglobal.sum()
        assert r["escaped_to_global"] == etg.sum()
        assert r["p_escape_to_global"] == pytest.approx(etg.sum() / nonglobal.sum())
        # both pooled intervals for both escape probabilities, from the direct counts
        check_intervals(r, "p_escape_wilson", "p_escape_cp", escaped.sum(), escaped.size)
        check_intervals(r, "p_escape_to_global_wilson", "p_escape_to_global_cp", etg.sum(),
                        nonglobal.sum())
        # the family-level intervals: cluster-robust t over instances, from per-instance
        # counts (the table computes them from sums and second moments only)
        ct = stats.cluster_t(o["success"].sum(axis=1), np.full(3, 200), 0.95)
        assert (r["p_global_low"], r["p_global_high"]) == pytest.approx((ct.low, ct.high),
                                                                        abs=1e-12)
        assert r["p_global_se"] == pytest.approx(ct.se, rel=1e-12)
        assert r["p_global_low"] <= r["p_global"] <= r["p_global_high"]
        ct = stats.cluster_t(escaped.sum(axis=1), np.full(3, 200), 0.95)
        assert (r["p_escape_low"], r["p_escape_high"]) == pytest.approx((ct.low, ct.high),
                                                                        abs=1e-12)
        assert nonglobal.sum(axis=1).min() > 0
        ct = stats.cluster_t(etg.sum(axis=1), nonglobal.sum(axis=1), 0.95)
        assert (r["p_escape_to_global_low"], r["p_escape_to_global_high"]) == \
            pytest.approx((ct.low, ct.high), abs=1e-12)
        assert r["diverged"] == o["diverged"].sum()
        # hitting times: count, fraction, aRT = total steps / hits
        hs = o["hit_step"].ravel()
        hits = hs >= 0
        assert r["hits"] == hits.sum()
        assert r["p_hit"] == pytest.approx(hits.mean())
        total = hs[hits].sum() + (~hits).sum() * STEPS
        assert r["art"] == (pytest.approx(total / hits.sum()) if hits.any() else math.inf)
        if hits.mean() >= 0.5:
            times = np.sort(np.where(hits, hs, np.inf))
            assert r["median_hit_step"] == times[(n + 1) // 2 - 1]
        else:
            assert math.isnan(r["median_hit_step"])
    # the study is not degenerate: the arms really differ
    assert len({r["successes"] for r in rows}) > 1
    assert any(r["escaped_to_global"] > 0 for r in rows)


def test_overall_flat_hyperparameters_and_names(res):
    rows = analysis.overall(res)
    assert [r["lr"] for r in rows] == [0.01, 0.05, 0.01, 0.05]
    assert rows[2]["momentum"] == 0.9 and "momentum" not in rows[0]
    names = analysis.arm_names(res)
    assert names == ["sgd(lr=0.01)", "sgd(lr=0.05)", "momentum(lr=0.01)", "adam(lr=0.05)"]
    assert [r["name"] for r in rows] == names


def test_paired_is_exact_mcnemar_with_holm(res):
    rows = analysis.paired(res)
    k = len(res.arms)
    assert [(r["a"], r["b"]) for r in rows] == [(a, b) for a in range(k)
                                                for b in range(a + 1, k)]
    for r in rows:
        sa = res.arm(r["a"])["success"].ravel()
        sb = res.arm(r["b"])["success"].ravel()
        n01 = int((~sa & sb).sum())
        n10 = int((sa & ~sb).sum())
        assert (r["n01"], r["n10"], r["n"]) == (n01, n10, sa.size)
        assert r["pvalue"] == pytest.approx(hand_mcnemar_p(n01, n10), rel=1e-9, abs=1e-300)
        assert r["difference"] == pytest.approx(sa.mean() - sb.mean())
        assert r["p_a"] - r["p_b"] == pytest.approx(r["difference"])
        assert r["diff_low"] <= r["difference"] <= r["diff_high"]
    adj = hand_holm([r["pvalue"] for r in rows])
    np.testing.assert_allclose([r["p_holm"] for r in rows], adj, rtol=1e-12)
    # Holm really adjusts: at least one pair with discordant keys, adjusted upwards
    assert any(r["n01"] + r["n10"] > 0 for r in rows)
    assert any(r["p_holm"] > r["pvalue"] for r in rows)
    assert any(r["pvalue"] < 0.05 for r in rows)


def test_per_start_basin_splits_add_up(res):
    rows = analysis.per_start_basin(res, by_label=True)
    for a in range(len(res.arms)):
        o = res.arm(a)
        mine = [r for r in rows if r["arm"] == a]
        g = next(r for r in mine if r["start"] == "global")
        ng = next(r for r in mine if r["start"] == "non-global")
        assert g["n"] == o["started_global"].sum()
        assert g["successes"] == (o["success"] & o["started_global"]).sum()
        assert g["n"] + ng["n"] == o["success"].size
        assert g["successes"] + ng["successes"] == o["success"].sum()
        labs = [r for r in mine if r["start_label"] is not None]
        assert sum(r["n"] for r in labs) == o["success"].size
        sb, eb = o["start_basin"], o["end_basin"]
        escaped = (eb != sb) & (eb >= 0)
        masks = [(g, o["started_global"]), (ng, ~o["started_global"])] + \
            [(r, sb == r["start_label"]) for r in labs]
        for r, mask in masks:
            assert r["n"] == mask.sum()
            assert r["successes"] == (o["success"] & mask).sum()
            w = stats.proportion(r["successes"], r["n"])
            assert (r["p_global_wilson_low"], r["p_global_wilson_high"]) == (w.low, w.high)
            # P(escape) and P(escaped to global) per start group, from the outcomes
            assert r["escapes"] == (escaped & mask).sum()
            assert r["p_escape"] == pytest.approx((escaped & mask).sum() / mask.sum())
            check_intervals(r, "p_escape_wilson", "p_escape_cp", (escaped & mask).sum(),
                            mask.sum())
            nonglobal = mask & ~o["started_global"]
            etg = o["escaped_to_global"] & mask
            assert (r["nonglobal_starts"], r["escaped_to_global"]) == (nonglobal.sum(),
                                                                       etg.sum())
            if nonglobal.any():
                assert r["p_escape_to_global"] == pytest.approx(etg.sum() / nonglobal.sum())
                check_intervals(r, "p_escape_to_global_wilson", "p_escape_to_global_cp",
                                etg.sum(), nonglobal.sum())
            else:                     # a global start group: nothing to escape to
                assert math.isnan(r["p_escape_to_global"]) and \
                    math.isnan(r["p_escape_to_global_cp_high"]) and \
                    math.isnan(r["p_escape_to_global_low"])
            # family-level intervals over the instances that have such starts
            per_n = mask.sum(axis=1)
            keep = per_n > 0
            for key, per_k, per_d in (
                    ("p_global", (o["success"] & mask).sum(axis=1), per_n),
                    ("p_escape", (escaped & mask).sum(axis=1), per_n),
                    ("p_escape_to_global", etg.sum(axis=1), nonglobal.sum(axis=1))):
                keep = per_d > 0
                if keep.sum() >= 2:
                    ct = stats.cluster_t(per_k[keep], per_d[keep])
                    assert (r[f"{key}_low"], r[f"{key}_high"]) == (ct.low, ct.high), key
                else:
                    assert math.isnan(r[f"{key}_low"]), key
        assert any(r["escapes"] > 0 for r, _ in masks)
    assert any(r["escaped_to_global"] > 0 for r in rows)
    # "auto" leaves the per-label rows out when there are many start basins
    auto = analysis.per_start_basin(res, max_labels=2)
    assert {r["start"] for r in auto} == {"global", "non-global"}
    # without per-trajectory outcomes, from the aggregate's basin table: the same rows
    agg_only = copy.copy(res)
    agg_only.outcomes = None
    assert_rows_equal(analysis.per_start_basin(agg_only, by_label=True), rows)
    # with neither outcomes nor basin table: the counts that the aggregate still has
    agg_only.aggregate = copy.copy(res.aggregate)
    agg_only.aggregate.basins = None
    bare = analysis.per_start_basin(agg_only, by_label=True)
    assert [r["start"] for r in bare] == ["global", "non-global"] * len(res.arms)
    for r in bare:
        full = next(x for x in rows if x["arm"] == r["arm"] and x["start"] == r["start"])
        for k in ("n", "successes", "p_global", "p_global_low", "p_global_high",
                  "nonglobal_starts", "escaped_to_global", "p_escape_to_global_low",
                  "p_escape_to_global_cp_high"):
            assert r[k] == full[k] or (math.isnan(r[k]) and math.isnan(full[k])), k
        assert r["escapes"] is None and math.isnan(r["p_escape"])


def assert_rows_equal(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.keys() == w.keys()
        for k in g:
            assert g[k] == w[k] or (isinstance(g[k], float) and math.isnan(g[k])
                                    and math.isnan(w[k])), k


def test_ecdf_counts_hits_by_step(res):
    grid = np.array([0, 1, 5, 20, 60, STEPS])
    rows = analysis.ecdf(res, grid)
    for r in rows:
        hs = res.arm(r["arm"])["hit_step"].ravel()
        want = [np.mean((hs >= 0) & (hs <= t)) for t in grid]
        np.testing.assert_allclose(r["fraction"], want)
        np.testing.assert_array_equal(r["steps"], grid)
    default = analysis.ecdf(res)
    for r, o in zip(default, analysis.overall(res)):
        assert r["steps"][0] == 0 and r["steps"][-1] == STEPS
        assert np.all(np.diff(r["fraction"]) >= 0)
        assert r["fraction"][-1] == pytest.approx(o["p_hit"])
    with pytest.raises(ValueError, match="grid"):
        analysis.ecdf(res, np.zeros((2, 2)))


def test_one_instance_and_noise_grid():
    r1 = swarm.run(L.rastrigin(dim=2), [O.sgd(lr=0.004), O.momentum(lr=0.002)], instances=1,
                   starts=64, steps=40, noise=[0.5, 2.0], seed=1)
    names = analysis.arm_names(r1)
    assert names == ["sgd(lr=0.004, σ=0.5)", "sgd(lr=0.004, σ=2)",
                     "momentum(lr=0.002, σ=0.5)", "momentum(lr=0.002, σ=2)"]
    assert analysis.varying_keys(r1, "sgd") == ["noise"]
    rows = analysis.overall(r1)
    assert all(math.isnan(r["p_global_boot_low"]) and math.isnan(r["p_global_boot_high"])
               for r in rows)
    # one instance: no family-level interval, the pooled ones only
    assert all(math.isnan(r[k]) for r in rows for k in ("p_global_low", "p_global_high",
                                                        "p_global_se", "p_escape_low"))
    assert all(r["p_global_wilson_low"] <= r["p_global"] <= r["p_global_wilson_high"]
               for r in rows)
    pairs = analysis.paired(r1)
    assert len(pairs) == 6 and all(math.isnan(p["diff_low"]) for p in pairs)
    single = swarm.run(L.rastrigin(dim=1), O.sgd(lr=0.004), instances=2, starts=16, steps=10)
    assert analysis.paired(single) == []
    inst = analysis.by_instance(single)
    assert [r["instance"] for r in inst] == [0, 1]
    assert sum(r["successes"] for r in inst) == single.arm(0)["success"].sum()


def test_hit_times_of_an_aggregate_only_study_give_its_ecdf_at_the_grid(res):
    """HitTimes built from the aggregate's hit histogram: its ecdf at the grid points is the
    exact ECDF of the outcomes (it used to be 0 everywhere); between them it is refused."""
    agg_only = swarm.Result(spec=res.spec, arms=res.arms, outcomes=None, n_global=res.n_global,
                            provenance=res.provenance, aggregate=res.aggregate)
    grid = res.aggregate.grid
    for a in range(len(res.arms)):
        exact = analysis.hit_summary(res, a)
        h = analysis.hit_summary(agg_only, a)
        np.testing.assert_allclose(h.ecdf(grid), exact.ecdf(grid))
        assert h.ecdf(grid).max() > 0
