"""Streaming aggregation: exact, mergeable aggregates; statistics from aggregates alone; the
determinism matrix (threads × chunk sizes); numerical faults counted as diverged."""
import math
import random
from fractions import Fraction

import numpy as np
import pytest

import swarm
from swarm import analysis
from swarm import landscapes as L
from swarm import optimizers as O
from swarm import result as R
from swarm import starts as S
from swarm.aggregate import Aggregate, exact_mean, exact_sum, hit_grid

OPTS = [O.sgd(lr=0.01), O.momentum(lr=0.01, momentum=0.9), O.adam(lr=0.05)]


def study(**kw):
    args = dict(instances=3, starts=37, steps=150, noise=0.3, seed=5)
    args.update(kw)
    return swarm.run(L.rastrigin(dim=2), OPTS, **args)


# ---------------------------------------------------------------------------- exact sums

def test_exact_sum_is_exact_and_order_free():
    rng = np.random.default_rng(0)
    v = np.concatenate([rng.normal(size=500) * 10.0 ** rng.integers(-300, 300, 500),
                        [5e-324, -5e-324, 2.2e-308, 1e308, 1e308, -1e308, 0.0, -0.0]])
    want = sum(Fraction(x) for x in v.tolist())
    got = Fraction(exact_sum(v), 2 ** 1126)
    assert got == want
    perm = rng.permutation(v.size)
    parts = np.array_split(v[perm], 7)
    assert sum(exact_sum(p) for p in parts) == exact_sum(v)
    assert exact_mean(exact_sum(v), v.size) == float(want / v.size)
    assert exact_sum(np.array([0.1, 0.2, -0.3])) != 0            # not float arithmetic
    assert exact_mean(exact_sum(np.array([0.1, 0.2])), 2) == float(
        (Fraction(0.1) + Fraction(0.2)) / 2)


def test_exact_sum_over_several_parallel_parts_is_exact():
    """More than one part of 2¹⁶ values (the bins run in parallel parts)."""
    rng = np.random.default_rng(2)
    v = rng.normal(size=150_001) * 10.0 ** rng.integers(-20, 20, 150_001)
    skip = rng.random(v.size) < 0.1
    want = sum(Fraction(x) for x in v[~skip].tolist())
    assert Fraction(exact_sum(v, skip), 2 ** 1126) == want


def test_exact_sum_skips_masked_and_non_finite_values_and_takes_float32():
    rng = np.random.default_rng(1)
    v = rng.normal(size=1000).astype(np.float32) * np.float32(1e3)
    v[[3, 70]] = [np.inf, np.nan]
    skip = rng.random(1000) < 0.3
    keep = ~skip & np.isfinite(v)
    want = sum(Fraction(float(x)) for x in v[keep].tolist())
    assert Fraction(exact_sum(v, skip), 2 ** 1126) == want
    assert exact_sum(v, skip) == exact_sum(v[keep].astype(np.float64))
    assert exact_sum(v) == exact_sum(v[np.isfinite(v)])


# ---------------------------------------------------------------------------- aggregates

def test_aggregate_merges_in_any_chunking_and_order():
    res = study()
    A, n_inst, n_start = len(res.arms), res.instances, res.starts
    o = {k: np.asarray(v).reshape(A, -1) for k, v in res.outcomes.items()}
    inst = np.repeat(np.arange(n_inst), n_start)
    whole = res.aggregate
    rng = random.Random(1)
    for _ in range(5):
        cuts = sorted(rng.sample(range(1, inst.size), 6))
        pieces = [slice(a, b) for a, b in zip([0] + cuts, cuts + [inst.size])]
        rng.shuffle(pieces)
        agg = Aggregate.empty(A, n_inst, res.spec["steps"])
        for s in pieces:
            agg = agg + Aggregate.from_outcomes({k: v[:, s] for k, v in o.items()}, inst[s],
                                                res.n_global, n_inst, res.spec["steps"])
        assert agg == whole and agg.hash == whole.hash



def test_basin_tables_merge_in_one_pass_and_unsorted_ones_are_sorted():
    """Merging two sorted tables is one pass (``_merge_sorted``), with what sorting their
    concatenation gives; a table that is not sorted is detected and sorted instead."""
    from swarm.aggregate import _merge_rows, _merge_sorted
    rng = np.random.default_rng(3)

    def table(k):
        r = rng.integers(-3, 4, (k, 5))
        r[:, 4] = rng.integers(1, 9, k)
        return _merge_rows(r) if k else np.zeros((0, 5), np.int64)

    for _ in range(200):
        x, y = table(int(rng.integers(0, 40))), table(int(rng.integers(0, 40)))
        got, ok = _merge_sorted(x, y)
        assert ok and np.array_equal(got, _merge_rows(np.concatenate([x, y])))
    x, y = table(30), table(30)
    assert not _merge_sorted(x[::-1].copy(), y)[1] and not _merge_sorted(x, y[::-1].copy())[1]
    a, b = Aggregate.empty(1, 1, 10), Aggregate.empty(1, 1, 10)
    a.basins, b.basins = x[::-1].copy(), y
    assert np.array_equal((a + b).basins, _merge_rows(np.concatenate([x, y])))

def _random_outcomes(rng, A, m, steps, n_inst):
    inst = np.sort(rng.integers(0, n_inst, m))
    sb = rng.integers(-1, 6, m) * 1_000_003            # sparse labels: the distinct-value path
    eb = rng.integers(-1, 6, (A, m)) * 1_000_003
    eb[:, ::7] = np.broadcast_to(sb[::7], eb[:, ::7].shape)   # some trajectories stay put
    hs = np.where(rng.random((A, m)) < 0.4, rng.integers(0, steps + 1, (A, m)), -1)
    o = {"start_basin": sb, "end_basin": eb, "hit_step": hs,
         "diverged": eb == -1_000_003, "best_f": rng.normal(size=(A, m)),
         "final_f": rng.normal(size=(A, m))}
    return o, inst


@pytest.mark.parametrize("A", [1, 3, 10])
def test_aggregate_of_random_outcomes_matches_plain_counts(A):
    """Several parallel parts of the tally (m > 2¹⁵ keys) and both ways of counting discordant
    pairs (in the tally up to PAIRS_IN_TALLY arms, a matrix product above), against plain
    NumPy counts; the global basins are labels 0 … n_global − 1 (here 0 and 1_000_003).
    Without per-instance rows, the totals and second moments equal those of the counts."""
    from swarm.aggregate import C, MOMENTS
    rng = np.random.default_rng(A)
    m, steps, n_inst = 70_001, 40, 4
    o, inst = _random_outcomes(rng, A, m, steps, n_inst)
    ng = 2_000_007                                      # global: labels 0 ≤ e < ng
    agg = Aggregate.from_outcomes(o, inst, ng, n_inst, steps)
    g = ng
    sb, eb, d, hs = o["start_basin"], o["end_basin"], o["diverged"], o["hit_step"]
    succ = (eb >= 0) & (eb < g)
    sg = (sb >= 0) & (sb < g)
    for a in range(A):
        for i in range(n_inst):
            k = inst == i
            want = {"n": k.sum(), "successes": succ[a, k].sum(), "diverged": d[a, k].sum(),
                    "started_global": sg[k].sum(), "successes_from_global": (succ[a] & sg)[k].sum(),
                    "escapes": (~d[a] & (sb != eb[a]))[k].sum(),
                    "escaped_to_global": (~sg & succ[a])[k].sum(), "hits": (hs[a, k] >= 0).sum(),
                    "hit_step_sum": np.where(hs[a, k] >= 0, hs[a, k], 0).sum()}
            for name, v in want.items():
                assert agg.counts[a, i, C[name]] == v, (a, i, name)
        h = hs[a][hs[a] >= 0]
        np.testing.assert_array_equal(
            agg.hits[a], np.bincount(np.searchsorted(agg.grid, h), minlength=agg.grid.size))
        for b in range(A):
            assert agg.pairs[a, b] == (succ[a] & ~succ[b]).sum()
        rows = agg.basins[agg.basins[:, 0] == a]
        trip, cnt = np.unique(np.stack([inst, sb, eb[a]]), axis=1, return_counts=True)
        np.testing.assert_array_equal(rows[:, 1:4], trip.T)
        np.testing.assert_array_equal(rows[:, 4], cnt)
    folded = Aggregate.from_outcomes(o, inst, ng, n_inst, steps, per_instance=False)
    assert folded.counts is None
    c = agg.counts.astype(object)                          # exact products, no int64 wrap
    for x in MOMENTS:
        np.testing.assert_array_equal(folded.total(x), c[:, :, C[x]].sum(axis=1))
        for y in MOMENTS:
            want = (c[:, :, C[x]] * c[:, :, C[y]]).sum(axis=1)
            np.testing.assert_array_equal(folded.cross(x, y), want)
            np.testing.assert_array_equal(agg.cross(x, y), want)
    np.testing.assert_array_equal(folded.hits, agg.hits)
    np.testing.assert_array_equal(folded.pairs, agg.pairs)


@pytest.mark.parametrize("labels", ["dense", "wide", "hashes", "many-cells", "one"])
def test_basin_rows_match_plain_unique(labels):
    """Every way basin_rows codes labels (a rank table over a narrow range, np.unique's codes
    over a wide one) and counts cells (a table, or sorted keys when the cells outnumber the
    keys), against np.unique over (instance, start, end) columns."""
    from swarm.aggregate import basin_rows
    rng = np.random.default_rng(len(labels))
    m = 100_003
    inst = np.sort(rng.integers(3, 9, m))
    if labels == "dense":          # lattice codes near each other, the diverged label −1
        sb = rng.integers(-1, 300, m) * 3
        eb = np.where(rng.random(m) < 0.5, sb, rng.integers(-1, 40, m))
    elif labels == "wide":         # a few labels spread wider than the keys: np.unique's codes
        sb = rng.integers(0, 50, m) * 1_000_003 - 7
        eb = rng.integers(-1, 3, m) * (1 << 40)
    elif labels == "hashes":       # 62-bit hashes, the end labels nearly all distinct
        sb = rng.integers(0, 1 << 62, 97)[rng.integers(0, 97, m)]
        eb = rng.integers(-1, 1 << 62, m)
    elif labels == "many-cells":   # more (instance, start, end) cells than keys: sorted keys
        sb = rng.integers(0, 60_000, m)
        eb = rng.integers(0, 60_000, m)
    else:
        sb = np.full(m, 5)
        eb = np.full(m, 5)
    rows = basin_rows(2, inst, sb.astype(np.int64), eb.astype(np.int64))
    trip, cnt = np.unique(np.stack([inst, sb, eb]), axis=1, return_counts=True)
    assert (rows[:, 0] == 2).all()
    np.testing.assert_array_equal(rows[:, 1:4], trip.T)
    np.testing.assert_array_equal(rows[:, 4], cnt)


def test_aggregate_counts_match_the_outcomes():
    res = study()
    agg = res.aggregate
    for a in range(len(res.arms)):
        o = res.arm(a)
        assert (agg.count("n")[a] == o["success"].shape[1]).all()
        np.testing.assert_array_equal(agg.count("successes")[a], o["success"].sum(axis=1))
        np.testing.assert_array_equal(agg.count("diverged")[a], o["diverged"].sum(axis=1))
        np.testing.assert_array_equal(agg.count("escapes")[a], o["escaped"].sum(axis=1))
        np.testing.assert_array_equal(agg.count("escaped_to_global")[a],
                                      o["escaped_to_global"].sum(axis=1))
        hs = o["hit_step"]
        np.testing.assert_array_equal(agg.count("hits")[a], (hs >= 0).sum(axis=1))
        np.testing.assert_array_equal(agg.count("hit_step_sum")[a],
                                      np.where(hs >= 0, hs, 0).sum(axis=1))
        assert agg.hits[a].sum() == (hs >= 0).sum()
        ok = ~o["diverged"]
        assert agg.mean("final_f", a) == float(
            sum(Fraction(x) for x in o["final_f"][ok].tolist()) / ok.sum())
        for b in range(len(res.arms)):
            sb = res.arm(b)["success"]
            assert agg.pairs[a, b] == (o["success"] & ~sb).sum()
        rows = agg.basins[agg.basins[:, 0] == a]
        assert rows[:, 4].sum() == o["success"].size
        for i, sbl, ebl, cnt in rows[:, 1:].tolist():
            assert cnt == ((o["start_basin"][i] == sbl) & (o["end_basin"][i] == ebl)).sum()


def test_statistics_from_aggregates_alone_match_the_kept_outcomes():
    kept = study()
    agg_only = study(keep_outcomes=False)
    assert agg_only.outcomes is None and agg_only.aggregate == kept.aggregate
    assert agg_only.hash.startswith("aggregate:")
    with pytest.raises(ValueError, match="aggregates only"):
        agg_only.arm(0)
    a_rows, k_rows = analysis.overall(agg_only), analysis.overall(kept)
    exact_keys = [k for k in k_rows[0] if not k.startswith("median_hit")]
    for ra, rk in zip(a_rows, k_rows):
        for k in exact_keys:
            assert ra[k] == rk[k] or (ra[k] != ra[k] and rk[k] != rk[k]), k
        # the histogram median is the grid point where the ECDF reaches 1/2: within one cell
        if math.isfinite(rk["median_hit_step"]):
            g = agg_only.aggregate.grid
            j = np.searchsorted(g, rk["median_hit_step"])
            assert ra["median_hit_step"] == g[j]
            assert ra["median_hit_step_low"] <= rk["median_hit_step"] <= \
                ra["median_hit_step_high"]
    assert analysis.per_start_basin(agg_only) == analysis.per_start_basin(kept)
    assert analysis.paired(agg_only) == analysis.paired(kept)
    assert analysis.by_instance(agg_only) == analysis.by_instance(kept)
    for ea, ek in zip(analysis.ecdf(agg_only), analysis.ecdf(kept)):
        np.testing.assert_array_equal(ea["fraction"], ek["fraction"])
    # Result.table is analysis.overall: the same rows
    for res, want in ((agg_only, a_rows), (kept, k_rows)):
        for r, w in zip(res.table(), want):
            assert r.keys() == w.keys()
            assert all(r[k] == w[k] or (r[k] != r[k] and w[k] != w[k]) for k in r)


def test_keep_limit_switches_to_aggregates():
    assert study(keep_limit=10).outcomes is None
    assert study(keep_limit=10 ** 6).outcomes is not None
    assert study(keep_limit=10, keep_outcomes=True).outcomes is not None


def test_basin_table_is_dropped_past_its_cap_whatever_the_chunking():
    a = study(keep_outcomes=False, max_basin_rows=20, chunk_size=48)
    b = study(keep_outcomes=False, max_basin_rows=20, chunk_size=10 ** 6)
    assert a.aggregate.basins is None and a.aggregate == b.aggregate
    rows = analysis.per_start_basin(a, by_label=True)
    assert {r["start"] for r in rows} == {"global", "non-global"}
    big = study(keep_outcomes=False, max_basin_rows=10 ** 6)
    assert big.aggregate.basins is not None



def test_chunks_after_the_cap_build_no_basin_table(monkeypatch):
    """Once the study's table is over its cap it stays dropped, so later chunks skip theirs
    (the same aggregate as above, with fewer basin tables built)."""
    from swarm import aggregate
    calls = []
    real = aggregate.basin_rows
    monkeypatch.setattr(aggregate, "basin_rows", lambda *a: calls.append(1) or real(*a))
    a = study(keep_outcomes=False, max_basin_rows=20, chunk_size=48)
    capped = len(calls)
    calls.clear()
    b = study(keep_outcomes=False, max_basin_rows=10 ** 6, chunk_size=48)
    assert a.aggregate.basins is None and b.aggregate.basins is not None
    assert 0 < capped < len(calls)
    assert a.aggregate.counts.tolist() == b.aggregate.counts.tolist()


# ---------------------------------------------------------------------------- determinism

@pytest.mark.parametrize("keep", [False, True])
def test_determinism_matrix_threads_by_chunks(keep):
    """threads (1, 2) × chunk sizes (3 values): identical aggregates (and outcomes)."""
    ref = study(threads=1, chunk_size=10 ** 6, keep_outcomes=keep)
    for threads in (1, 2):
        for chunk in (3, 100, 10 ** 6):
            other = study(threads=threads, chunk_size=chunk, keep_outcomes=keep)
            assert other.aggregate == ref.aggregate, (threads, chunk)
            assert other.hash == ref.hash, (threads, chunk)


def test_save_and_load_an_aggregate_only_result(tmp_path):
    res = study(keep_outcomes=False)
    res.save(tmp_path / "r")
    assert not (tmp_path / "r" / "outcomes.npz").exists()
    back = R.load(tmp_path / "r")
    assert back.outcomes is None and back.aggregate == res.aggregate and back.hash == res.hash
    assert analysis.overall(back) == analysis.overall(res)


def test_damaged_aggregate_file_is_refused(tmp_path):
    res = study(keep_outcomes=False)
    d = res.save(tmp_path / "r")
    z = dict(np.load(d / "aggregate.npz"))
    z["agg_counts"] = z["agg_counts"].copy()
    z["agg_counts"][0, 0, 1] += 1                       # one more success: tampered
    np.savez(d / "aggregate.npz", **z)
    with pytest.raises(ValueError, match="does not match"):
        R.load(d)
    data = (d / "aggregate.npz").read_bytes()
    (d / "aggregate.npz").write_bytes(data[: len(data) // 2])          # truncated
    with pytest.raises(ValueError, match="damaged"):
        R.load(d)


def test_truncated_outcomes_file_is_refused(tmp_path):
    d = study().save(tmp_path / "r")
    data = (d / "outcomes.npz").read_bytes()
    (d / "outcomes.npz").write_bytes(data[:-100])
    with pytest.raises(ValueError, match="damaged"):
        R.load(d)


# ---------------------------------------------------------------------------- faults

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_overflow_and_far_starts_are_diverged_never_success(dtype):
    """float32 overflow, a huge learning rate, starts far outside the domain: diverged."""
    fam = L.rastrigin(dim=2)
    res = swarm.run(fam, [O.sgd(lr=1e30), O.momentum(lr=1e25)], instances=2, starts=20,
                    steps=50, dtype=dtype, keep_outcomes=False)
    agg = res.aggregate
    assert (agg.count("diverged") == agg.count("n")).all()
    assert agg.count("successes").sum() == 0 and agg.count("hits").sum() == 0
    far = swarm.run(fam, [O.sgd(lr=0.01)], instances=1, starts=4, steps=5, dtype=dtype,
                    start=S.point([1e300 if dtype == "float64" else 1e38, 0.0]))
    o = far.arm(0)
    assert o["diverged"].all() and not o["success"].any()
    assert (o["end_basin"] == -1).all()


def test_counts_add_up():
    res = study(keep_outcomes=False, noise=[0.0, 5.0])
    for row in analysis.overall(res):
        assert row["successes"] + row["diverged"] <= row["n"]
    for a in range(len(res.arms)):
        agg = res.aggregate
        n = agg.count("n")[a].sum()
        fail = n - agg.count("successes")[a].sum() - agg.count("diverged")[a].sum()
        assert fail >= 0 and agg.count("successes")[a].sum() + fail + \
            agg.count("diverged")[a].sum() == n


def test_hit_grid_covers_every_step():
    for steps in (1, 2, 10, 999, 10 ** 6):
        g = hit_grid(steps)
        assert g[0] == 0 and g[-1] == steps and (np.diff(g) > 0).all()
