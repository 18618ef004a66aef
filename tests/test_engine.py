"""The engine end to end: reproducibility, theory, bad input, divergence, persistence."""
import math
import re
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

import swarm
from swarm import theory
from swarm import landscapes as L
from swarm import optimizers as O
from swarm import starts as S

SIX = O.all_six()


def small(**kw):
    args = dict(instances=3, starts=64, steps=40, noise=0.3, seed=7)
    args.update(kw)
    return swarm.run(L.rastrigin(dim=2, rotate=True), [O.sgd(lr=0.002), O.adam(lr=0.05)], **args)


def test_same_seed_same_outcomes_across_threads_and_chunks():
    ref = small(threads=1, chunk_size=1 << 20)
    for threads, chunk in [(2, 1 << 20), (2, 7), (1, 50), (2, 1)]:
        other = small(threads=threads, chunk_size=chunk)
        assert other.hash == ref.hash, (threads, chunk)
    assert small(seed=8).hash != ref.hash


@pytest.mark.parametrize("lanes", [1, 2, 16, 32, 128, 512])
def test_outcomes_do_not_depend_on_the_lane_count(monkeypatch, lanes):
    """Blocks of 1 … 512 lanes (with padding lanes in the last block of each instance) give
    the same bits: lanes only change speed."""
    from swarm.kernels import cpu
    ref = small(starts=150)
    monkeypatch.setattr(cpu, "lanes_for", lambda n_start, *dim_and_size: lanes)
    other = small(starts=150)
    assert other.hash == ref.hash
    assert cpu.lanes_for(150) == lanes       # the patched rule was the one used


def test_lane_count_rule():
    from swarm.kernels.cpu import BASE_LANES, BLOCK_BYTES, LANES, MIN_LANES, lanes_for
    from swarm.kernels.ids import NSCRATCH
    assert [lanes_for(n) for n in (1, 2, 3, 5, 8, 16, 17, 64, 65, 128, 129, 10**6)] == \
        [1, 2, MIN_LANES, MIN_LANES, 8, 16, 32, 64, 128, 128, 256, LANES]
    # wide blocks get fewer lanes, so that the block's work array stays within BLOCK_BYTES,
    # but never fewer than BASE_LANES (nor more than the starts need)
    assert LANES == 512 and BASE_LANES == 128
    assert lanes_for(10**6, 20, 4) == 256 and lanes_for(10**6, 20, 8) == 128
    assert lanes_for(10**6, 8, 8) == 256 and lanes_for(10**6, 2, 4) == LANES
    assert lanes_for(10**6, 1000, 8) == BASE_LANES and lanes_for(40, 1000, 8) == 64
    for dim in (1, 2, 3, 8, 20, 33, 128):
        for size in (4, 8):
            n = lanes_for(10**6, dim, size)
            assert BASE_LANES <= n <= LANES and n & (n - 1) == 0
            assert n == BASE_LANES or NSCRATCH * dim * n * size <= BLOCK_BYTES
            assert n == LANES or NSCRATCH * dim * 2 * n * size > BLOCK_BYTES


def test_block_arrays_start_on_a_cache_line():
    """The kernels' per-block arrays start on 64-byte boundaries (Numba's own np.empty gives
    32), so that no AVX-512 load or store of a lane row spans two cache lines."""
    from numba import njit

    from swarm.kernels import cpu, ids

    @njit
    def addresses(dim, lanes, dtype, reps, nt):
        out = np.empty((reps, 3), dtype=np.int64)
        for r in range(reps):
            w, t, li = cpu._block_arrays(dim, lanes, dtype, nt)
            w[:] = 0
            t[:] = 0
            li[:] = 0
            out[r, 0] = w.ctypes.data
            out[r, 1] = t.ctypes.data
            out[r, 2] = li.ctypes.data
        return out, w.shape, t.shape, li.shape

    for dim, lanes, dtype, nt in [(1, 16, np.float32, 0), (2, 128, np.float64, 51),
                                  (3, 32, np.float32, 0), (20, 128, np.float32, 3),
                                  (5, 64, np.float64, 0)]:
        a, ws, ts, ls = addresses(dim, lanes, dtype, 50, nt)
        assert np.all(a % 64 == 0), (dim, lanes, dtype, np.unique(a % 64))
        assert ws == (ids.NSCRATCH, dim, lanes) and ts == (ids.NLS, lanes)
        assert ls == (ids.LI_TARGETS + nt, lanes)       # NLI rows, the next-target row, targets


def test_common_random_numbers_across_optimizers():
    res = swarm.run(L.gaussian_peaks(dim=3, peaks=5), SIX, instances=2, starts=50, steps=5,
                    noise=0.1, seed=3)
    sb = [res.arm(a)["start_basin"] for a in range(len(SIX))]
    for other in sb[1:]:
        np.testing.assert_array_equal(other, sb[0])


def test_path_reproduces_a_study_trajectory():
    fam = L.rastrigin(dim=2)
    inst = fam.instance(5, 1)
    opt = O.momentum(lr=0.001, momentum=0.9)
    x0 = [0.3, -0.2]
    res = swarm.run(fam, [opt], instances=2, starts=4, steps=30, noise=0.7, seed=5,
                    start=S.point(x0))
    p = swarm.path(inst, opt, x0, steps=30, noise=0.7, seed=5, start_index=3)
    assert p.shape == (31, 2)
    np.testing.assert_array_equal(p[0], x0)
    o = res.arm(0)
    assert o["final_f"][1, 3] == inst.f(p[-1])
    q = swarm.path(inst, opt, x0, steps=30, noise=0.7, seed=5, start_index=2)
    assert not np.array_equal(p[-1], q[-1])      # a different key is different noise


def test_study_trajectories_match_an_independent_recomputation_from_path():
    """best_f, hit_step, start/end basin and final_f of each trajectory of a noisy study,
    recomputed from its positions (swarm.path with the study's seed and key) by NumPy and the
    instance's own f and basin labeller."""
    fam = L.rastrigin(dim=2, rotate=True)
    opt = O.sgd(lr=0.01)
    x0, steps, sigma, seed, tol_x, tol_f = [0.5, -0.5], 150, 6.0, 4, 0.4, 1e-3
    res = swarm.run(fam, [opt], instances=3, starts=8, steps=steps, noise=sigma, seed=seed,
                    start=S.point(x0), tol_x=tol_x, tol_f=tol_f)
    o = res.arm(0)
    assert 0 < (o["hit_step"] >= 0).sum() < o["hit_step"].size     # both kinds are checked
    assert len(np.unique(o["end_basin"])) > 3 and not o["diverged"].any()
    for i in range(3):
        inst = fam.instance(seed, i)
        for s in range(8):
            p = swarm.path(inst, opt, x0, steps=steps, noise=sigma, seed=seed, start_index=s)
            assert np.isfinite(p).all()
            f = inst.f(p)
            near = (np.sum((p - inst.x_star) ** 2, axis=1) <= tol_x ** 2) | \
                (f - inst.f_star <= tol_f)
            hit = int(np.argmax(near)) if near.any() else -1
            assert o["best_f"][i, s] == f.min(), (i, s)
            assert o["final_f"][i, s] == f[-1], (i, s)
            assert o["hit_step"][i, s] == hit, (i, s)
            assert o["start_basin"][i, s] == inst.basin(p[0]), (i, s)
            assert o["end_basin"][i, s] == inst.basin(p[-1]), (i, s)


def test_float32_runs_and_agrees_statistically():
    a = small(noise=0.0, starts=400, instances=2)
    b = small(noise=0.0, starts=400, instances=2, dtype="float32")
    assert b.outcomes["best_f"].dtype == np.float32
    sa = a.arm(1)["success"].mean()
    sb_ = b.arm(1)["success"].mean()
    assert abs(sa - sb_) < 0.05


def test_counts_add_up_and_success_is_never_diverged():
    res = swarm.run(L.rastrigin(dim=2), [O.sgd(lr=10.0), O.momentum(lr=5.0, momentum=0.99),
                                        O.sgd(lr=1e-3)], instances=2, starts=100, steps=50)
    for a in range(3):
        o = res.arm(a)
        assert not np.any(o["success"] & o["diverged"])
        assert np.all(o["end_basin"][o["diverged"]] == -1)
    assert res.arm(0)["diverged"].all()          # lr = 10 on Rastrigin flies off
    assert res.arm(1)["diverged"].sum() > 0
    assert not res.arm(2)["diverged"].any()
    assert "diverged" in res.summary()


def test_nan_producing_optimizer_is_diverged_not_a_crash():
    # Adagrad with eps = 0 at a gradient of exactly 0 gives 0/0 = NaN
    inst_x = L.double_well(dim=1, tilt=0.1).instance(0, 0).minima[0]
    res = swarm.run(L.double_well(dim=1, tilt=0.1), [O.adagrad(lr=0.1, eps=0.0)], instances=1,
                    starts=3, steps=5, start=S.point([1e308]))
    assert res.arm(0)["diverged"].all()
    assert np.isfinite(inst_x).all()


@pytest.mark.slow
def test_noisy_sgd_first_passage_time_matches_theory():
    """Noisy GD on the tilted double well is Euler–Maruyama for overdamped Langevin at
    T = lr σ²/2: the mean time from the local minimum to the global one is exact theory."""
    tilt = -0.1                                   # global minimum on the right
    fam = L.double_well(dim=1, tilt=tilt)
    left, saddle, right = fam.roots
    dU = fam.potential(saddle) - fam.potential(left)
    T = dU / 3.0
    lr = 0.02
    sigma = math.sqrt(2 * T / lr)
    tol = 0.25
    exact = theory.mean_first_passage_time(fam.potential, left, right - tol, T)
    steps = int(10 * exact / lr)
    walkers = 4000
    res = swarm.run(fam, [O.sgd(lr=lr)], instances=1, starts=walkers, steps=steps,
                    noise=sigma, seed=11, start=S.at_minimum(1), tol_x=tol, tol_f=None)
    hit = res.arm(0)["hit_step"].ravel()
    assert (hit < 0).mean() < 0.002              # ran ≈ 10× the mean: nearly all arrived
    # censored walkers: maximum-likelihood exponential rate (arrivals / time at risk)
    tau, rel_se = theory.rate_estimate(hit, steps, lr)
    assert rel_se < 0.02
    assert abs(tau / exact - 1) < 0.05, (tau, exact)


@pytest.mark.parametrize("name", ["rastrigin", "styblinski_tang"])
def test_basin_measure_of_deterministic_descent(name):
    """Noise-free small-step GD from uniform starts ends in the global basin with probability
    equal to the global basin's share of the start interval (exact, from the 1-D maxima)."""
    fam = getattr(L, name)(dim=1)
    inst = fam.instance(1, 0)                    # instance 0 of the study's seed
    n = 4000
    lr = 1e-3 if name == "rastrigin" else 5e-3
    res = swarm.run(fam, [O.sgd(lr=lr)], instances=1, starts=n, steps=3000, seed=1)
    tab, _, gk = fam.tables
    s = inst.params[fam.layout.shift]            # shift s: z = x − s
    row = tab[0][np.isfinite(tab[0])]
    lo_b = row[gk[0] - 1] if gk[0] > 0 else -np.inf
    hi_b = row[gk[0]] if gk[0] < len(row) else np.inf
    a, b = inst.domain[0, 0] - s, inst.domain[1, 0] - s
    share = (min(hi_b, b) - max(lo_b, a)) / (b - a)
    k = int(res.arm(0)["success"].sum())
    ci = sps.binomtest(k, n).proportion_ci(0.99)
    assert ci.low <= share <= ci.high, (k / n, share)
    assert not res.arm(0)["diverged"].any()


def test_save_load_round_trip(tmp_path):
    res = small()
    res.save(tmp_path / "r")
    back = swarm.load(tmp_path / "r")
    assert back.hash == res.hash
    assert back.spec == res.spec
    assert back.arms == res.arms
    assert back.summary() == res.summary()
    assert back.provenance == res.provenance
    assert back.spec == res.spec
    prov = back.provenance
    assert prov["backend"] == "cpu" and prov["timings"]["total_s"] > 0
    versions = prov["versions"]
    assert versions["swarm"] == swarm.__version__ and versions["numpy"] == np.__version__
    for lib in ("numba", "scipy", "python"):
        assert isinstance(versions[lib], str) and versions[lib][:1].isdigit(), lib
    if (Path(swarm.__file__).resolve().parents[1] / ".git").exists():   # a git checkout
        assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", prov["git_commit"]), prov["git_commit"]


def test_load_refuses_tampered_outcomes(tmp_path):
    res = small()
    d = res.save(tmp_path / "r")
    out = dict(np.load(d / "outcomes.npz"))
    out["end_basin"][0] += 1
    np.savez_compressed(d / "outcomes.npz", **out)
    with pytest.raises(ValueError, match="hash"):
        swarm.load(d)
    (d / "outcomes.npz").write_bytes(b"truncated")
    with pytest.raises(ValueError, match="damaged"):
        swarm.load(d)
    with pytest.raises(ValueError, match="missing"):
        swarm.load(tmp_path / "nowhere")


def test_summary_lists_every_arm():
    res = swarm.run(L.rastrigin(dim=2), [O.sgd(lr=[0.001, 0.002]), O.adam(lr=0.05)],
                    instances=2, starts=20, steps=10, noise=[0.0, 0.5])
    assert len(res.arms) == 6
    text = res.summary()
    assert text.count("sgd(") == 4 and text.count("adam(") == 2
    rows = res.table()
    assert all(0 <= r["p_global_low"] <= r["p_global"] <= r["p_global_high"] <= 1
               for r in rows)


BAD = [
    (dict(instances=0), "instances"),
    (dict(starts=-5), "starts"),
    (dict(steps=0), "steps"),
    (dict(steps=2.5), "steps"),
    (dict(noise=-1.0), "noise"),
    (dict(noise=float("nan")), "noise"),
    (dict(dtype="float16"), "dtype"),
    (dict(backend="tpu"), "backend"),
    (dict(seed=-1), "seed"),
    (dict(tol_x=-0.1), "tol_x"),
    (dict(chunk_size=0), "chunk_size"),
    (dict(starts=2 ** 31, instances=2 ** 20, keep_outcomes=True), "too large for memory"),
    (dict(keep_outcomes="yes"), "keep_outcomes"),
    (dict(keep_limit=-1), "keep_limit"),
    (dict(resume=True), "checkpoint"),
    (dict(start=S.uniform(low=[1, 1], high=[0, 0])), "start.high"),
    (dict(start=S.point([1.0, 2.0, 3.0])), "start.point"),
    (dict(start="uniform"), "start"),
]


@pytest.mark.parametrize("kw,field", BAD)
def test_bad_input_names_the_field(kw, field):
    args = dict(instances=1, starts=4, steps=2)
    args.update(kw)
    with pytest.raises(ValueError, match=field):
        swarm.run(L.rastrigin(dim=2), [O.sgd()], **args)


def test_study_too_large_for_its_instances_is_refused_before_building_them():
    """Per-instance rows of the aggregate (up to max_instance_rows) are what grows with the
    instances: a study whose rows cannot fit is refused at once, naming the most that fit."""
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"too large for memory: instances=4,294,967,295.*"
                                         r"instances must be at most [\d,]+"):
        swarm.run(L.gaussian_peaks(dim=50, peaks=1000), [O.sgd()], instances=2 ** 32 - 1,
                  starts=16, steps=1, keep_outcomes=False, max_instance_rows=2 ** 32)
    assert time.perf_counter() - t0 < 0.5


def test_memory_does_not_grow_with_instances_above_max_instance_rows():
    from swarm import engine
    fam = L.gaussian_peaks(dim=20, peaks=21)
    keys = min(1 << 19, 8 * engine.chunk_instances(fam))      # the chunk swarm.run takes
    need = [engine._study_bytes(fam, n, 8, 2, False, keys, False)[0] for n in (10 ** 7, 10 ** 9)]
    assert need[0] == need[1] < 1 << 28
    rows = [engine._study_bytes(fam, n, 8, 2, False, keys, True)[0] for n in (10 ** 7, 10 ** 9)]
    assert rows[1] > 50 * rows[0]


def _bank_calls(monkeypatch):
    calls = []
    real = L.Family.bank

    def bank(self, seed, lo, hi):
        calls.append((lo, hi))
        return real(self, seed, lo, hi)
    monkeypatch.setattr(L.Family, "bank", bank)
    return calls


@pytest.mark.parametrize("rows", [10 ** 6, 100])
def test_chunks_generate_only_their_own_instances(monkeypatch, rows):
    """Each chunk builds the instances of its keys and no others (before the first chunk only
    instance 0, which run() checks — finite parameters, f* for the default tol_f — and none
    twice except at a chunk boundary that splits an instance); above max_instance_rows chunks
    hold whole instances."""
    calls = _bank_calls(monkeypatch)
    n_inst, starts = 300, 5
    res = swarm.run(L.rastrigin(dim=2), [O.sgd(lr=0.01)], instances=n_inst, starts=starts,
                    steps=5, chunk_size=64, max_instance_rows=rows)
    assert calls.pop(0) == (0, 1)               # run()'s check of instance 0
    assert len(calls) >= 20
    assert calls[0][0] == 0 and calls[-1][1] == n_inst
    for (lo, hi), (lo2, _) in zip(calls, calls[1:]):
        assert lo < hi <= 64 // starts + 2 + lo
        assert lo2 in (hi, hi - 1) if rows > n_inst else lo2 == hi
    assert res.aggregate.total("n")[0] == n_inst * starts


def test_many_instances_few_starts_same_result_any_chunking_threads_and_row_cap():
    """10⁴ instances × 3 starts: the same outcomes for every chunk size and thread count, and
    the same totals and second moments whether the aggregate keeps per-instance rows or
    not."""
    fam = L.rastrigin(dim=2, rotate=True)
    opts = [O.sgd(lr=0.01), O.adam(lr=0.05)]
    kw = dict(instances=10_000, starts=3, steps=20, noise=0.5, seed=5)
    ref = swarm.run(fam, opts, threads=1, **kw)
    assert ref.aggregate.counts is not None
    for threads, chunk in [(2, 997), (2, 1 << 20), (1, 64)]:
        other = swarm.run(fam, opts, threads=threads, chunk_size=chunk, **kw)
        assert other.hash == ref.hash and other.aggregate == ref.aggregate, (threads, chunk)
    from swarm.aggregate import MOMENTS
    for chunk in (997, 1 << 20):
        folded = swarm.run(fam, opts, chunk_size=chunk, keep_outcomes=False,
                           max_instance_rows=9_999, **kw).aggregate
        assert folded.counts is None and folded.n_instances == 10_000
        for x in MOMENTS:
            np.testing.assert_array_equal(folded.total(x), ref.aggregate.total(x))
            for y in MOMENTS:
                np.testing.assert_array_equal(folded.cross(x, y), ref.aggregate.cross(x, y))
        np.testing.assert_array_equal(folded.hits, ref.aggregate.hits)
        np.testing.assert_array_equal(folded.pairs, ref.aggregate.pairs)
        assert folded.sums == ref.aggregate.sums
    # the per-instance counts are those of the outcomes, instance by instance
    succ = ref.arm(1)["success"].sum(axis=1)
    np.testing.assert_array_equal(ref.aggregate.count("successes")[1], succ)
    assert 0 < succ.sum() < 30_000


@pytest.mark.slow
def test_a_million_instances_stay_in_bounded_memory(tmp_path):
    """A study over 10⁶ instances (one start each, aggregates only) in a fresh process: its
    peak RSS stays under 1.5 GiB, instance generation included. The child runs a small study
    of the same kernels first (compiling them if the disk cache lacks them: compilation's
    memory is not the study's) and then, on Linux, resets its peak-RSS counter."""
    import subprocess
    import sys
    code = (
        "import resource, swarm\n"
        "from swarm import landscapes as L, optimizers as O\n"
        "kw = dict(starts=1, keep_outcomes=False)\n"
        "swarm.run(L.rastrigin(dim=2), [O.sgd(lr=0.01)], instances=3000, steps=2, **kw)\n"
        "try:\n"
        "    open('/proc/self/clear_refs', 'w').write('5')\n"
        "    reset = True\n"
        "except OSError:\n"
        "    reset = False\n"
        "r = swarm.run(L.rastrigin(dim=2), [O.sgd(lr=0.01)], instances=10**6, steps=5, **kw)\n"
        "assert r.aggregate.total('n')[0] == 10**6\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "if reset:\n"
        "    line = [x for x in open('/proc/self/status') if x.startswith('VmHWM')][0]\n"
        "    peak = int(line.split()[1])\n"
        "print(peak)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, timeout=600)
    assert out.returncode == 0, out.stderr
    rss_gib = int(out.stdout.split()[-1]) / 2 ** 20
    assert rss_gib < 1.5, rss_gib


def test_memory_check_allows_the_largest_study_it_names(monkeypatch):
    from swarm import engine
    monkeypatch.setattr(engine, "_memory_budget", lambda: 1 << 20)
    fam = L.double_well(dim=1)
    args = dict(starts=16, steps=1, keep_outcomes=False)
    with pytest.raises(ValueError, match="instances must be at most") as e:
        swarm.run(fam, [O.sgd(), O.adam()], instances=10_000, **args)
    fit = int(re.search(r"at most ([\d,]+)", str(e.value)).group(1).replace(",", ""))
    assert 100 < fit < 10_000
    res = swarm.run(fam, [O.sgd(), O.adam()], instances=fit, **args)
    assert res.aggregate.count("n").sum() == 2 * fit * 16
    with pytest.raises(ValueError, match="too large for memory"):
        swarm.run(fam, [O.sgd(), O.adam()], instances=fit + 1, **args)


def test_bad_landscape_and_optimizer_arguments():
    with pytest.raises(ValueError, match="landscape"):
        swarm.run("rastrigin", [O.sgd()])
    with pytest.raises(ValueError, match="optimizers"):
        swarm.run(L.rastrigin(), ["adam"])
    with pytest.raises(ValueError, match="optimizers"):
        swarm.run(L.rastrigin(), [])
    with pytest.raises(ValueError, match="at_minimum"):
        swarm.run(L.ackley(dim=2), [O.sgd()], instances=1, starts=2, steps=2,
                  start=S.at_minimum(0))
    with pytest.raises(ValueError, match="k must be"):
        swarm.run(L.double_well(), [O.sgd()], instances=1, starts=2, steps=2,
                  start=S.at_minimum(5))


def test_grid_starts_cover_the_domain_in_order():
    fam = L.double_well(dim=2, tilt=0.1)
    inst = fam.instance(0, 0)
    n = 5
    res = swarm.run(fam, [O.sgd(lr=1e-12)], instances=1, starts=n * n, steps=1,
                    start=S.grid(n))
    lo, hi = inst.domain
    centres = lo[0] + (hi[0] - lo[0]) * (np.arange(n) + 0.5) / n
    xs = np.array([[centres[i % n], centres[i // n]] for i in range(n * n)])
    np.testing.assert_allclose(res.arm(0)["final_f"][0], inst.f(xs), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(res.arm(0)["start_basin"][0], inst.basin(xs))
    with pytest.raises(ValueError, match="n\\*\\*dim = 25"):
        swarm.run(fam, [O.sgd()], instances=1, starts=24, steps=1, start=S.grid(5))
