"""Family-level statistics at scale: the per-arm table of a 10⁴-instance study against a direct
computation from its per-instance outcomes, and the same table from an aggregate that keeps
per-arm totals and per-instance second moments only (what studies above the aggregate's cap of
instances keep)."""
import copy
import math

import numpy as np
import pytest
from scipy import stats as sps

import swarm
from swarm import analysis, stats
from swarm import landscapes as L
from swarm import optimizers as O

INSTANCES, STARTS, STEPS = 10_000, 3, 20


@pytest.fixture(scope="module")
def big():
    return swarm.run(L.gaussian_peaks(dim=2, peaks=21), [O.sgd(lr=0.05), O.adam(lr=0.05)],
                     instances=INSTANCES, starts=STARTS, steps=STEPS, noise=1.0, seed=3,
                     keep_outcomes=True)


def hand_cluster_t(k, n, confidence=0.95):
    """The cluster-robust t interval written out: ratio estimator, CR1 variance, t on G − 1
    degrees of freedom, widened to the pooled Wilson interval; plain NumPy/SciPy."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    G = k.size
    p = k.sum() / n.sum()
    se = math.sqrt(G / (G - 1) * np.sum((k - p * n) ** 2)) / n.sum()
    t = sps.t.ppf(0.5 + confidence / 2, G - 1)
    w = sps.binomtest(int(k.sum()), int(n.sum())).proportion_ci(confidence, method="wilson")
    low = min(max(p - t * se, 0.0), w.low)
    high = max(min(p + t * se, 1.0), w.high)
    return p, se, low, high


@pytest.mark.slow          # the 10⁴-instance study takes a few seconds
def test_table_of_a_ten_thousand_instance_study_matches_a_direct_computation(big):
    rows = big.table()
    assert len(rows) == 2
    for a, r in enumerate(rows):
        o = big.arm(a)                              # (instances, starts) outcome arrays
        succ = ((o["end_basin"] >= 0) & (o["end_basin"] < big.n_global[:, None]))
        sg = (o["start_basin"] >= 0) & (o["start_basin"] < big.n_global[:, None])
        esc = ~o["diverged"] & (o["start_basin"] != o["end_basin"])
        etg = ~sg & succ
        k_i, e_i = succ.sum(axis=1), esc.sum(axis=1)
        n_i = np.full(INSTANCES, STARTS)
        ng_i, etg_i = (~sg).sum(axis=1), etg.sum(axis=1)
        assert (r["instances"], r["n"], r["successes"]) == (INSTANCES, INSTANCES * STARTS,
                                                            k_i.sum())
        p, se, lo, hi = hand_cluster_t(k_i, n_i)
        assert r["p_global"] == p
        assert r["p_global_se"] == pytest.approx(se, rel=1e-10)
        assert (r["p_global_low"], r["p_global_high"]) == pytest.approx((lo, hi), abs=1e-12)
        w = sps.binomtest(int(k_i.sum()), INSTANCES * STARTS).proportion_ci(0.95, "wilson")
        assert (r["p_global_wilson_low"], r["p_global_wilson_high"]) == \
            pytest.approx((w.low, w.high), abs=1e-12)
        # the family-level interval is the wider one here: instances differ
        assert r["p_global_high"] - r["p_global_low"] > \
            r["p_global_wilson_high"] - r["p_global_wilson_low"]
        p, _, lo, hi = hand_cluster_t(e_i, n_i)
        assert r["p_escape"] == p
        assert (r["p_escape_low"], r["p_escape_high"]) == pytest.approx((lo, hi), abs=1e-12)
        # P(escape → global): the ratio over all instances, also those whose starts were all
        # global (no runs in the denominator: sampled clusters with zero weight)
        assert (ng_i == 0).any()
        p, _, lo, hi = hand_cluster_t(etg_i, ng_i)
        assert r["p_escape_to_global"] == pytest.approx(p, rel=1e-15)
        assert (r["p_escape_to_global_low"], r["p_escape_to_global_high"]) == \
            pytest.approx((lo, hi), abs=1e-12)
        assert r["diverged"] == o["diverged"].sum()
        assert (r["p_instance_min"], r["p_instance_max"]) == \
            ((k_i / STARTS).min(), (k_i / STARTS).max())
        assert r["p_global_boot_low"] < r["p_global"] < r["p_global_boot_high"]
    assert any(r["escaped_to_global"] > 0 for r in rows)


def folded(**kw):
    """The same study, keeping per-arm totals and per-instance second moments only (above
    ``max_instance_rows`` instances, as studies of millions of instances do)."""
    return swarm.run(L.gaussian_peaks(dim=2, peaks=21), [O.sgd(lr=0.05), O.adam(lr=0.05)],
                     instances=kw.pop("instances", INSTANCES), starts=STARTS, steps=STEPS,
                     noise=1.0, seed=3, keep_outcomes=False, max_instance_rows=5, **kw)


@pytest.mark.slow
def test_family_level_statistics_need_no_per_instance_counts(big):
    """Dropping the per-instance counts changes no family-level or pooled number; what needs
    per-instance values (cluster bootstrap, per-instance range, per-instance table, paired
    bootstrap) is nan or empty, and the summary and report say so."""
    folded_ = folded()
    assert folded_.aggregate.counts is None
    with pytest.raises(ValueError):
        folded_.aggregate.count("n")
    assert not analysis.per_instance(folded_) and analysis.per_instance(big)
    full, thin = analysis.overall(big), analysis.overall(folded_)
    need_instances = ("p_global_boot_low", "p_global_boot_high", "p_instance_min",
                      "p_instance_max")
    hist = ("median_hit_step", "median_hit_step_low", "median_hit_step_high",
            "median_hit_step_of_hits")          # from the hit histogram without outcomes
    for f, t in zip(full, thin):
        assert f.keys() == t.keys()
        for k in f:
            if k in need_instances:
                assert math.isnan(t[k]), k
            elif k not in hist:
                assert t[k] == f[k] or (t[k] != t[k] and f[k] != f[k]), k
    assert analysis.by_instance(folded_) == []
    pairs = analysis.paired(folded_)
    assert pairs and all(math.isnan(p["diff_low"]) for p in pairs)
    assert [(p["n01"], p["n10"], p["pvalue"]) for p in pairs] == \
        [(p["n01"], p["n10"], p["pvalue"]) for p in analysis.paired(big)]
    # per start basin without basin table or per-instance counts: the global / non-global
    # rows from the moments (family-level over all instances)
    bare = copy.copy(folded_)
    bare.aggregate = copy.copy(folded_.aggregate)
    bare.aggregate.basins = None
    rows = analysis.per_start_basin(bare)
    assert [r["start"] for r in rows] == ["global", "non-global"] * 2
    for a in range(2):
        o = big.arm(a)
        sg = (o["start_basin"] >= 0) & (o["start_basin"] < big.n_global[:, None])
        succ = (o["end_basin"] >= 0) & (o["end_basin"] < big.n_global[:, None])
        for r, mask in zip(rows[2 * a:2 * a + 2], (sg, ~sg)):
            k_i, n_i = (succ & mask).sum(axis=1), mask.sum(axis=1)
            p, _, lo, hi = hand_cluster_t(k_i, n_i)
            assert (r["n"], r["successes"]) == (n_i.sum(), k_i.sum())
            assert (r["p_global_low"], r["p_global_high"]) == pytest.approx((lo, hi),
                                                                            abs=1e-12)
            assert r["escapes"] is None and math.isnan(r["p_escape"])
    text = folded_.summary()
    assert "family 95% CI" in text and "P(global) for a landscape drawn from the family" in text


def test_report_without_per_instance_counts(tmp_path):
    from swarm import report
    report.write(folded(instances=30), tmp_path, extra_runs=False)
    md = (tmp_path / "report.md").read_text()
    assert "kept no per-instance counts" in md and "cluster bootstrap 95%" not in md.split(
        "## Escapes")[0].split("## P(global) per optimizer")[1]
    assert "family-level 95%" in md and "failed" not in md
    assert (tmp_path / "tables" / "by_instance.csv").read_text() == ""
