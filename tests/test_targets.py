"""Precision targets (COCO's f − f* ≤ 10^k ladder, swarm.targets): the kernel's first-hit steps
against a naive loop over recorded paths, exact aggregates (any chunking and thread count,
streamed = from outcomes, saved, resumed, crafted files refused), aRT and the runtime ECDF
against hand computations, and the errors for bad targets."""
import math

import numpy as np
import pytest

import swarm
from swarm import analysis, checkpoint, engine, starts
from swarm import landscapes as L
from swarm import optimizers as O
from swarm import result as R
from swarm import targets as TG
from swarm.aggregate import Aggregate, hit_grid
from swarm.kernels.cpu import LANES
from swarm.spec import SpecError, loads_spec

FAM = L.gaussian_peaks(dim=2, peaks=5)
OPTS = [O.sgd(lr=0.05), O.adam(lr=0.05)]
# between COCO's coarse and fine ends, all above float64's resolution at f* of the family
CUSTOM = [1.0, 0.3, 0.1, 1e-2, 1e-4, 1e-7]


def study(**kw):
    args = dict(instances=3, starts=20, steps=60, noise=0.3, seed=3, targets="coco")
    args.update(kw)
    return swarm.run(FAM, OPTS, **args)


def naive_target_hits(inst, xs, targets):
    """First-hit step of each target along recorded positions ``xs`` (steps+1, dim): the
    first t with the point inside the box, f finite and f − f* ≤ target; stops for good at
    the first point outside the box or with non-finite f (the trajectory diverged there)."""
    box = inst.family.box
    hits = [-1] * len(targets)
    for t, x in enumerate(xs):
        if not (np.all(np.isfinite(x)) and np.all(x >= box[0]) and np.all(x <= box[1])):
            break
        f = float(inst.f(x))
        if not math.isfinite(f):
            break
        for j, tv in enumerate(targets):
            if hits[j] < 0 and f - inst.f_star <= tv:
                hits[j] = t
    return hits


def test_coco_targets_are_cocopps_51():
    t = TG.COCO
    assert t.size == 51 and t[0] == 100.0 and np.all(np.diff(t) < 0)
    assert np.allclose(np.log10(t), 2 - 0.2 * np.arange(51), atol=1e-12, rtol=0)
    assert TG.integer_exponents(t).tolist() == list(range(0, 51, 5))
    assert TG.record("coco") == "coco" and TG.record(list(t)) == "coco"
    assert TG.record(CUSTOM) == CUSTOM


def test_kernel_target_hits_equal_a_naive_loop_over_the_paths():
    x0 = [0.3, -0.4]
    steps, seed, sigma = 60, 5, 0.3
    res = swarm.run(FAM, OPTS, instances=2, starts=4, steps=steps, noise=sigma, seed=seed,
                    start=starts.point(x0), targets=CUSTOM)
    th = res.outcomes["target_hit"].reshape(len(OPTS), 2, 4, len(CUSTOM))
    hs = res.outcomes["hit_step"].reshape(len(OPTS), 2, 4)
    some = 0
    for a, opt in enumerate(OPTS):
        for i in range(2):
            inst = FAM.instance(seed, i)
            for s in range(4):
                xs = swarm.path(inst, opt, x0, steps, noise=sigma, seed=seed, start_index=s)
                want = naive_target_hits(inst, xs, CUSTOM)
                assert th[a, i, s].tolist() == want, (a, i, s)
                some += sum(h >= 0 for h in want)
                assert hs[a, i, s] >= -1
    assert some > 0                      # the comparison covers hits, not only misses


def test_outcomes_and_hashes_without_targets_are_unchanged_by_targets():
    plain, with_t = study(targets=None), study()
    for k in R.FIELDS:
        assert np.array_equal(plain.outcomes[k], with_t.outcomes[k], equal_nan=True), k
    assert "target_hit" not in plain.outcomes and "targets" not in plain.spec
    assert "agg_targets" not in plain.aggregate.arrays()
    assert plain.hash != with_t.hash
    th = with_t.outcomes["target_hit"]
    assert th.shape == (plain.outcomes["hit_step"].size, 51) and th.dtype == np.int64
    # targets are reached in order: a smaller one never before a larger one
    for j in range(1, th.shape[1]):
        ok = (th[:, j] < 0) | ((th[:, j - 1] >= 0) & (th[:, j - 1] <= th[:, j]))
        assert ok.all()


@pytest.mark.parametrize("keep", [True, False])
def test_same_numbers_for_any_chunking_and_thread_count(keep):
    ref = study(keep_outcomes=keep)
    other = study(keep_outcomes=keep, chunk_size=len(OPTS) * 16, threads=1)
    assert ref.hash == other.hash and ref.aggregate == other.aggregate
    assert ref.aggregate.target_hits.sum() > 0


def test_streamed_aggregate_equals_the_one_from_outcomes():
    kept, streamed = study(keep_outcomes=True), study(keep_outcomes=False, chunk_size=40)
    again = R.aggregate_of(kept)
    assert streamed.aggregate == again == kept.aggregate
    th = kept.outcomes["target_hit"].reshape(len(OPTS), -1, 51)
    hits = (th >= 0).sum(axis=1)
    assert np.array_equal(streamed.aggregate.target_hits, hits)
    assert np.array_equal(streamed.aggregate.target_step_sum,
                          np.where(th >= 0, th, 0).sum(axis=1))
    grid = hit_grid(60)
    for a in range(len(OPTS)):
        for j in (0, 10, 20):
            h = th[a, :, j]
            want = np.bincount(np.searchsorted(grid, h[h >= 0]), minlength=grid.size)
            assert np.array_equal(streamed.aggregate.target_hist[a, j], want)


def test_art_and_runtime_ecdf_against_a_hand_computation():
    res = study(keep_outcomes=True)
    steps, n = 60, 3 * 20
    th = res.outcomes["target_hit"].reshape(len(OPTS), n, 51)
    art = res.aRT()
    ecdf = analysis.runtime_ecdf(res)
    for a in range(len(OPTS)):
        for j in range(51):
            h = th[a, :, j]
            evals = sum(int(x) + 1 if x >= 0 else steps + 1 for x in h)
            hits = int((h >= 0).sum())
            assert art[a, j] == (evals / hits if hits else math.inf)
        assert np.isinf(art[a, -1]) or (th[a, :, -1] >= 0).any()
        row = ecdf[a]
        for b in (1, 5, 20, 61):               # budgets in evaluations, on the grid + 1
            k = int(np.flatnonzero(row["evaluations"] == b)[0])
            assert row["fraction"][k] == pytest.approx(((th[a] >= 0) & (th[a] + 1 <= b))
                                                       .sum() / (n * 51), abs=1e-15)
    agg_only = study(keep_outcomes=False)
    assert np.array_equal(analysis.art(agg_only), art)
    rows = analysis.target_rows(res)
    assert len(rows) == len(OPTS) * 51 and rows[0]["target"] == 100.0


@pytest.mark.parametrize("bad, needle", [
    ("COCO", "targets must be"), ([], "got 0 values"), ([1.0, 1.0], "strictly decreasing"),
    ([0.1, 1.0], "strictly decreasing"), ([1.0, 0.0], "targets[1] must be a positive"),
    ([1.0, -1e-3], "positive"), ([math.inf], "positive finite"), ([math.nan], "positive finite"),
    ([True], "targets[0]"), (["1e-3"], "targets[0]"), (list(10.0 ** -np.arange(65)), "65"),
    (1e-3, "got float"),
])
def test_bad_targets_are_refused_with_a_clear_error(bad, needle):
    with pytest.raises(ValueError, match="targets") as e:
        study(targets=bad)
    assert needle in str(e.value)


def test_targets_below_the_dtype_resolution_are_refused():
    with pytest.raises(ValueError, match="smallest allowed") as e:
        swarm.run(L.bbob(15, dim=2), [O.adam(lr=0.01)], instances=1, starts=2, steps=2,
                  dtype="float32", targets="coco")
    msg = str(e.value)
    assert "float32" in msg and "1e-08" in msg and "dtype='float64'" in msg
    fs, r = engine.f_resolution(L.bbob(15, dim=2), 0, "float32")
    assert f"{r:.3g}" in msg


def test_spec_targets(tmp_path):
    base = ('[landscape]\nfamily = "gaussian_peaks"\ndim = 2\npeaks = 5\n'
            '[[optimizers]]\nkind = "sgd"\nlr = 0.05\n')
    spec = loads_spec('targets = "coco"\ninstances = 2\nstarts = 4\nsteps = 20\n' + base)
    assert spec.targets == "coco" and spec.run_kwargs()["targets"] == "coco"
    assert "51 precisions" in spec.describe()
    res = spec.run()
    assert res.spec["targets"] == "coco" and res.outcomes["target_hit"].shape == (8, 51)
    assert res.provenance["targets"]["n"] == 51
    spec = loads_spec("targets = [1.0, 0.1, 0.01]\n" + base)
    assert spec.targets == (1.0, 0.1, 0.01)
    for text, needle in (('targets = "cocoa"', "text 'cocoa'"), ("targets = [0.1, 1.0]",
                                                                 "strictly decreasing"),
                         ("targets = [1.0, -2.0]", "positive")):
        with pytest.raises(SpecError, match="targets") as e:
            loads_spec(text + "\n" + base, "s.toml")
        assert needle in str(e.value) and "s.toml:1" in str(e.value)


@pytest.mark.parametrize("keep", [True, False])
def test_save_load_roundtrip_and_report(tmp_path, keep):
    res = study(keep_outcomes=keep)
    res.save(tmp_path)
    back = swarm.load(tmp_path)
    assert back.hash == res.hash and back.aggregate == res.aggregate
    assert np.array_equal(back.aRT(), res.aRT())
    from swarm import report
    report.write(back, tmp_path, extra_runs=False)
    md = (tmp_path / "report.md").read_text()
    assert "COCO targets: aRT" in md and "1e-08" in md and "1e2" in md
    assert (tmp_path / "tables" / "targets.csv").is_file()


def _crafted(agg, **changes):
    z = dict(agg.arrays())
    z.update(changes)
    return z


def test_crafted_target_arrays_are_refused():
    agg = study(keep_outcomes=False).aggregate
    A, T, G = agg.target_hist.shape
    ok = Aggregate.from_arrays(agg.arrays(), arms=A, steps=60, targets=TG.COCO)
    assert ok == agg
    hits = agg.target_hits.copy()
    hits[0, 3] += 1
    hist = agg.target_hist.copy()
    hist[0, 0, 0] += 1
    grow = agg.target_hits.copy()
    grow[:, -1] = grow[:, 0]
    grow[:, -1] += 1
    cases = [
        (dict(agg_targets=TG.COCO[::-1].copy()), "agg_targets"),
        (dict(agg_targets=TG.COCO.astype(np.float32)), "agg_targets"),
        (dict(agg_target_hits=hits), "agg_target"),
        (dict(agg_target_hist=hist), "agg_target_hist"),
        (dict(agg_target_hits=grow), "agg_target_hits"),
        (dict(agg_target_step_sum=agg.target_step_sum + 10 ** 6), "agg_target_step_sum"),
        (dict(agg_target_step_sum=-agg.target_step_sum - 1), "agg_target_step_sum"),
        (dict(agg_target_hist=agg.target_hist[:, :, :-1].copy()), "agg_target_hist"),
    ]
    for change, field in cases:
        with pytest.raises(ValueError, match=field):
            Aggregate.from_arrays(_crafted(agg, **change), where="f.npz", arms=A, steps=60,
                                  targets=TG.COCO)
    with pytest.raises(ValueError, match="study's targets"):
        Aggregate.from_arrays(agg.arrays(), arms=A, steps=60, targets=TG.COCO[:50])
    no_t = {k: v for k, v in agg.arrays().items() if not k.startswith("agg_target")}
    with pytest.raises(ValueError, match="agg_targets"):
        Aggregate.from_arrays(no_t, arms=A, steps=60, targets=TG.COCO)


def test_crafted_target_hit_outcomes_are_refused(tmp_path):
    res = study(keep_outcomes=True)
    o = {k: v.copy() for k, v in res.outcomes.items()}
    o["target_hit"][0, 5] = 61
    with pytest.raises(ValueError, match="target_hit"):
        R.check_outcomes(o, 60, "x")
    o = {k: v.copy() for k, v in res.outcomes.items()}
    r = int(np.flatnonzero(o["target_hit"][:, 0] >= 0)[0])
    o["target_hit"][r, 0] = -1                    # a smaller target hit, the larger not
    with pytest.raises(ValueError, match="larger one"):
        R.check_outcomes(o, 60, "x")


def test_resume_with_targets_and_a_different_targets_is_refused(tmp_path):
    kw = dict(instances=2, starts=2 * LANES, chunk_size=len(OPTS) * LANES, steps=30)
    ref = study(**kw, keep_outcomes=False)
    d = tmp_path / "ck"

    def stop(m, seen=[]):
        seen.append(m)
        if len(seen) == 2:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        study(**kw, keep_outcomes=False, checkpoint=d, progress=stop)
    assert len(list((d / checkpoint.CHUNKS).glob("*.npz"))) == 2
    with pytest.raises(ValueError, match="different study"):
        study(**kw, keep_outcomes=False, checkpoint=d, resume=True, targets=CUSTOM)
    res = study(**kw, keep_outcomes=False, checkpoint=d, resume=True)
    assert res.hash == ref.hash and res.aggregate == ref.aggregate
