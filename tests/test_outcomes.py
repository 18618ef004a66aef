"""Study outcomes beyond the engine basics: no recompilation over hyperparameter grids, common
random numbers across optimizers, the Gaussian start distribution, the summary's hit-step
medians and the summary CSV's intervals."""
import csv

import numpy as np
import pytest
from scipy import stats as sps

import swarm
from swarm import landscapes as L
from swarm import optimizers as O
from swarm import starts as S
from swarm.result import FIELDS


def _signatures(kernel):
    return len(kernel.overloads), [str(s) for s in kernel.signatures]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_hyperparameter_grid_does_not_recompile(dtype):
    from swarm.kernels import cpu
    kernel = getattr(cpu.MAIN, {"float64": "run64", "float32": "run32"}[dtype])  # a dispatcher
    fam = L.rastrigin(dim=2)
    args = dict(instances=2, starts=20, steps=3, dtype=dtype)
    swarm.run(fam, [O.sgd(lr=0.01)], **args)                      # compile or load once
    before = _signatures(kernel)
    assert before[0] >= 1
    grid = [O.sgd(lr=[1e-3, 1e-2, 0.1]),
            O.momentum(lr=[1e-3, 1e-2], momentum=[0.0, 0.5, 0.9]),
            O.nesterov(lr=0.02, momentum=[0.3, 0.99]),
            O.adagrad(lr=[0.01, 0.1], initial_accumulator=[0.0, 0.1], eps_inside=[False, True]),
            O.rmsprop(alpha=[0.9, 0.99], centered=[False, True], bias_correction=[False, True]),
            O.adam(lr=[1e-3, 0.05], b1=[0.0, 0.5, 0.9], b2=[0.9, 0.999],
                   bias_correction=[True, False], eps_inside=[False, True])]
    res = swarm.run(fam, grid, noise=[0.0, 0.1, 1.0], **args)
    assert len(res.arms) == 3 * (3 + 6 + 2 + 8 + 8 + 48)
    assert _signatures(kernel) == before


def test_sgd_and_zero_momentum_see_the_same_noise_and_starts():
    """With μ = 0, heavy-ball and Nesterov momentum are SGD; every optimizer draws its start and
    its gradient noise from the same (instance, start) key, so all outcomes are identical."""
    fam = L.rastrigin(dim=3, rotate=True)          # odd dim: the last normal pair is split
    opts = [O.sgd(lr=0.01), O.momentum(lr=0.01, momentum=0.0),
            O.nesterov(lr=0.01, momentum=0.0)]
    args = dict(instances=3, starts=37, steps=80, seed=2)
    res = swarm.run(fam, opts, noise=2.0, **args)
    arms = [res.arm(a) for a in range(3)]
    for other in arms[1:]:
        for k in FIELDS:
            np.testing.assert_array_equal(other[k], arms[0][k], err_msg=k)
    # the noise is there (and the comparison not vacuous): without it the outcomes differ
    quiet = swarm.run(fam, opts[:1], noise=0.0, **args).arm(0)
    assert not np.array_equal(quiet["final_f"], arms[0]["final_f"])
    np.testing.assert_array_equal(quiet["start_basin"], arms[0]["start_basin"])
    assert len(np.unique(arms[0]["end_basin"])) > 3


def _binomial_ok(k, n, p):
    ci = sps.binomtest(int(k), n).proportion_ci(0.99)
    return ci.low <= p <= ci.high


@pytest.mark.parametrize("fam", [L.gaussian_peaks(dim=3, peaks=5), L.griewank(dim=2)],
                         ids=lambda f: f.name)
def test_later_arms_reuse_the_first_arms_start_basins(fam):
    """Start basins are labelled once per start, by the first arm, and handed to the others
    (the labels do not depend on the optimizer). Every arm of a study, over several chunks and
    blocks with padding lanes, gives exactly what it gives run alone, which labels itself; a
    start outside the box is labelled diverged in every arm."""
    opts = [O.adam(lr=0.05), O.sgd(lr=0.01), O.nesterov(lr=0.01, momentum=0.8)]
    hw = 4.4 * fam.half_width                  # the divergence box is 4 half-widths wide
    kw = dict(instances=3, starts=21, steps=20, noise=0.2, seed=11,
              start=S.uniform(low=-hw, high=hw))
    both = swarm.run(fam, opts, chunk_size=3 * 16, **kw)
    n = 3 * 21
    assert (both.outcomes["start_basin"] == -1).any()          # some starts outside the box
    for a, opt in enumerate(opts):
        alone = swarm.run(fam, opt, **kw)
        for k, v in alone.outcomes.items():
            np.testing.assert_array_equal(both.outcomes[k][a * n:(a + 1) * n], v, err_msg=k)


def test_gaussian_starts_split_at_the_saddle_as_the_normal_cdf():
    fam = L.double_well(dim=1, tilt=0.1)          # global (left) basin: x < saddle
    _, saddle, _ = fam.roots
    mu, sd = 0.3, 0.5
    res = swarm.run(fam, [O.sgd(lr=1e-3)], instances=2, starts=2000, steps=1, seed=3,
                    start=S.gaussian(mu, sd))
    o = res.arm(0)
    k = int(o["started_global"].sum())
    p = sps.norm.cdf((saddle - mu) / sd)
    assert 0.2 < p < 0.4 and _binomial_ok(k, o["started_global"].size, p), (k, p)


def test_gaussian_start_points_have_the_asked_mean_and_sd():
    """Start points recovered exactly: a 1-step study with a negligible step keeps every
    trajectory at its start, and U is increasing beyond the right well, so f(x0) = best_f
    determines x0."""
    fam = L.double_well(dim=1, tilt=0.1)
    mu, sd, n = 3.0, 0.25, 4000                   # > 6 sd above x = 1.5, where U' > 0
    res = swarm.run(fam, [O.sgd(lr=1e-300)], instances=2, starts=n // 2, steps=1, seed=5,
                    start=S.gaussian(mu, sd))
    fx = res.arm(0)["best_f"].ravel()
    lo, hi = np.full(n, 1.2), np.full(n, 6.0)
    for _ in range(80):                            # invert U on [1.2, 6] by bisection
        mid = 0.5 * (lo + hi)
        below = fam.potential(mid) < fx
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    x = 0.5 * (lo + hi)
    assert np.all((x > 1.3) & (x < 5.9))
    np.testing.assert_allclose(fam.potential(x), fx, rtol=1e-12)
    assert abs(x.mean() - mu) < 3.5 * sd / np.sqrt(n), x.mean()
    assert abs(x.std(ddof=1) / sd - 1) < 3.5 / np.sqrt(2 * n), x.std(ddof=1)
    for z in (-1.0, 0.5):
        assert _binomial_ok((x < mu + z * sd).sum(), n, sps.norm.cdf(z)), z
    # standardised by hand: scipy 1.18.1's kstest(x, "norm", args=(mu, sd)) passes loc and
    # scale to special.ndtr, which takes neither (TypeError)
    assert sps.kstest((x - mu) / sd, "norm").pvalue > 1e-3
    # distinct keys give distinct points, and the instances are not copies of each other
    assert len(np.unique(x)) == n


def _hit_study(**kw):
    return swarm.run(L.double_well(dim=1, tilt=0.1), [O.sgd(lr=0.05), O.sgd(lr=0.1)],
                     instances=2, starts=300, steps=200, noise=2.5, seed=1,
                     start=S.at_minimum(1), **kw)


def test_summary_shows_the_median_hit_step_among_the_hits():
    res = _hit_study()
    rows = res.table()
    hs = res.arm(0)["hit_step"].ravel()
    hits = np.sort(hs[hs >= 0])
    assert 0 < hits.size < hs.size / 2             # fewer than half hit: no median over all
    row = rows[0]
    assert np.isnan(row["median_hit_step"])
    assert row["median_hit_step_of_hits"] == hits[(hits.size + 1) // 2 - 1]
    lines = res.summary().splitlines()
    assert "med hit (all)" in lines[1] and "med hit (hits)" in lines[1]
    cells = lines[3].split()
    assert cells[-3:] == ["-", f"{row['median_hit_step_of_hits']:.0f}", str(row["diverged"])]
    assert "median among those that hit" in lines[-1]
    # aggregates only: the grid point where the hits' ECDF reaches one half (within a cell)
    agg_row = _hit_study(keep_outcomes=False).table()[0]
    g = res.aggregate.grid
    exact = hits[(hits.size + 1) // 2 - 1]
    assert agg_row["median_hit_step_of_hits"] == g[np.searchsorted(g, exact)]
    # more than half hit: both medians, the one among the hits the smaller (misses count as
    # never hitting in the median over all)
    h = res.arm(1)["hit_step"].ravel()
    assert (h >= 0).mean() > 0.5
    assert rows[1]["median_hit_step"] == np.sort(np.where(h >= 0, h, h.max() + 1))[
        (h.size + 1) // 2 - 1]
    assert rows[1]["median_hit_step_of_hits"] == np.sort(h[h >= 0])[((h >= 0).sum() + 1) // 2 - 1]
    assert rows[1]["median_hit_step_of_hits"] < rows[1]["median_hit_step"]


def test_summary_csv_carries_wilson_and_clopper_pearson_intervals(tmp_path):
    res = _hit_study()
    path = res.to_csv(tmp_path / "summary.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(res.arms)
    for a, row in enumerate(rows):
        k, n = int(res.arm(a)["success"].sum()), res.arm(a)["success"].size
        exact = sps.binomtest(k, n).proportion_ci(0.95, method="exact")
        wilson = sps.binomtest(k, n).proportion_ci(0.95, method="wilson")
        assert float(row["p_global_cp_low"]) == pytest.approx(exact.low, rel=1e-12)
        assert float(row["p_global_cp_high"]) == pytest.approx(exact.high, rel=1e-12)
        assert float(row["p_global_wilson_low"]) == pytest.approx(wilson.low, rel=1e-12)
        assert float(row["p_global_wilson_high"]) == pytest.approx(wilson.high, rel=1e-12)
        assert float(row["median_hit_step_of_hits"]) == res.table()[a]["median_hit_step_of_hits"]


def test_the_tally_counts_what_the_outcome_predicates_say():
    """swarm.outcomes defines global / escaped / escaped to global / hit once; the Numba tally
    spells them per trajectory and writes each count to its named column. They agree, column
    by column, on random outcomes with every corner (label −1, diverged, never hit) — which
    also catches a kernel cache that missed a change of the column constants."""
    from swarm import outcomes as OC
    from swarm.aggregate import Aggregate
    rng = np.random.default_rng(5)
    A, I, S_, ng, steps = 3, 4, 50, 2, 40
    m = I * S_
    sb = rng.integers(-1, 5, (A, m))
    sb[1:] = sb[0]
    div = rng.random((A, m)) < 0.1
    eb = np.where(div, -1, rng.integers(-1, 5, (A, m)))
    hs = np.where(rng.random((A, m)) < 0.5, rng.integers(0, steps + 1, (A, m)), -1)
    o = OC.empty_outcomes((A, m), np.float64)
    o.update(start_basin=sb, end_basin=eb, hit_step=hs, diverged=div)
    o["best_f"][:] = o["final_f"][:] = 0.0
    inst = np.arange(m) // S_
    agg = Aggregate.from_outcomes(o, inst, ng, I, steps)
    succ, sg = OC.is_global(eb, ng), OC.is_global(sb, ng)
    want = {"n": np.ones_like(div), "successes": succ, "diverged": div, "started_global": sg,
            "successes_from_global": succ & sg, "escapes": OC.escaped(sb, eb, div),
            "escaped_to_global": OC.escaped_to_global(sb, eb, ng), "hits": OC.hit(hs),
            "hit_step_sum": np.where(OC.hit(hs), hs, 0)}
    assert tuple(want) == OC.COUNTS
    for k, v in want.items():
        per = np.stack([np.bincount(inst, weights=v[a].astype(np.int64), minlength=I)
                        for a in range(A)])
        np.testing.assert_array_equal(agg.counts[:, :, OC.COUNTS.index(k)], per, err_msg=k)
        assert getattr(OC, k.upper()) == OC.COUNTS.index(k)
