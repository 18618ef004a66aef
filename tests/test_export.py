"""swarm export (swarm.export): COCO's and IOHprofiler's formats, read back by their own
readers — cocopp (in process and as ``python -m cocopp``) must give the aRT computed by hand
from the runs' first hits, iohinspector the same hits — and the errors: non-BBOB family for
coco, no targets, aggregates only, existing OUT, links, crafted results directories."""
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import swarm
from swarm import cli, starts
from swarm import export as X
from swarm import landscapes as L
from swarm import result as R
from swarm.targets import COCO

BUDGET = 201


def naive_art(hit_evals, budget):
    """COCO's aRT per target by a plain loop: (Σ over runs of the evaluations to the first
    hit, or the budget when never) / hits; inf without hits."""
    out = []
    for j in range(hit_evals.shape[1]):
        total, hits = 0, 0
        for r in range(hit_evals.shape[0]):
            e = int(hit_evals[r, j])
            total += e if e > 0 else budget
            hits += e > 0
        out.append(total / hits if hits else np.inf)
    return np.array(out)


def random_hits(rng, m, targets, budget):
    """First-hit evaluations of ``m`` runs: each reaches a random number of targets, at
    non-decreasing evaluations (several targets at one evaluation included)."""
    h = np.full((m, targets.size), -1, np.int64)
    for r in range(m):
        k = int(rng.integers(0, targets.size + 1))
        h[r, :k] = np.sort(rng.integers(1, min(budget, 40) + 1 if r % 3 == 0 else budget + 1,
                                        size=k))
    return h


def best_between(h, targets):
    """A best f − f_opt consistent with the hits: inside (targets[k], targets[k−1]) for a run
    that reached k targets."""
    k = (h >= 0).sum(1)
    hi = np.where(k > 0, targets[np.maximum(k - 1, 0)], 1e3)
    lo = np.where(k < targets.size, targets[np.minimum(k, targets.size - 1)], hi * 1e-3)
    return np.sqrt(hi * lo)


def hand_runs(seed=1, alg="adam_lr0.05", function=15, dim=2, instances=(1, 2, 3), starts=4,
              targets=COCO):
    rng = np.random.default_rng(seed)
    m = len(instances) * starts
    h = random_hits(rng, m, targets, BUDGET)
    return X.Runs(alg, "hand-made runs", "bbob", function, "rastrigin_rotated", dim,
                  np.repeat(np.asarray(instances), starts), targets, h, best_between(h, targets),
                  BUDGET)


def cocopp_sets(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from cocopp import pproc
        return pproc.DataSetList(str(path))


# ------------------------------------------------------------------------ rows

def test_rows_hold_each_first_hit_at_its_targets_value_and_the_best_at_the_budget():
    t = np.array([100.0, 10.0, 1.0, 0.1])
    # the start reaches 10², evaluation 5 reaches 10¹ and 10⁰ at once, 10⁻¹ never
    assert X.rows([1, 5, 5, -1], t, 0.5, 50) == [(1, 100.0), (5, 1.0), (50, 0.5)]
    # no target at the start: unknown there; a hit at the budget carries the run's best
    assert X.rows([3, 50, -1, -1], t, 7.0, 50) == [(1, X.UNKNOWN), (3, 100.0), (50, 7.0)]
    # a run that reaches nothing; a best that is not finite (diverged) keeps the last value
    assert X.rows([-1] * 4, t, 300.0, 50) == [(1, X.UNKNOWN), (50, 300.0)]
    assert X.rows([2, -1, -1, -1], t, np.nan, 50) == [(1, X.UNKNOWN), (2, 100.0), (50, 100.0)]
    # a best within cocopp's 1e-9 of a missed target (or at it, by float32 rounding) is
    # raised clear of it, so that cocopp does not count the target reached
    for best in (10.0 * (1 + 1e-12), 10.0, 10.0 * (1 - 1e-8)):
        assert X.rows([1, -1, -1, -1], t, best, 50) == [(1, 100.0), (50, 10.0 * (1 + X.CLEAR))]


def test_runs_refuse_inconsistent_data():
    good = hand_runs()
    for field, value, match in (
            ("hit_evals", np.where(good.hit_evals > 0, good.hit_evals + BUDGET, -1), "budget"),
            ("hit_evals", good.hit_evals[:, ::-1].copy(), "before a larger"),
            ("targets", good.targets[::-1].copy(), "decreasing"),
            ("targets", np.append(good.targets, np.nan), "positive finite"),
            ("targets", good.targets[None, :], "targets\\[0\\] must be"),
            ("targets", None, "targets must be"),
            ("algorithm", "../x", "directory"),
            ("instances", good.instances * 0, "instance numbers")):
        kw = {**good.__dict__, field: value}
        with pytest.raises(ValueError, match=match):
            X.Runs(**kw)
    h = good.hit_evals.copy()
    h[0] = -1                            # never reached 10² ...
    with pytest.raises(ValueError, match="never reached"):
        X.Runs(**{**good.__dict__, "hit_evals": h, "final": np.where(
            np.arange(len(h)) == 0, 1.0, good.final)})      # ... but its best is 1


def test_safe_names():
    assert X.safe_name("adam(lr=0.05, σ=0.5)") == "adam_lr0.05_sigma0.5"
    assert X.safe_name("../../etc") == "etc"
    assert X.SAFE.fullmatch(X.safe_name("x\ny/\x1b[31m"))


# ------------------------------------------------------------------------ COCO: cocopp reads it

def test_cocopp_reads_the_export_with_the_hand_computed_art(tmp_path):
    runs = [hand_runs(1), hand_runs(2, dim=5), hand_runs(3, alg="sgd_lr0.1"),
            hand_runs(4, function=21, instances=(4, 5), starts=3,
                      targets=COCO[::5].copy())]      # 11 targets: a coarser ladder
    X.write_coco(runs, tmp_path / "out")
    info = (tmp_path / "out" / "adam_lr0.05" / "bbobexp_f15.info").read_text()
    assert "gradient evaluations" in info and info.count("funcId = 15") == 2
    for r in runs:
        sets = [d for d in cocopp_sets(tmp_path / "out" / r.algorithm)
                if d.funcId == r.function and d.dim == r.dim]
        assert len(sets) == 1
        d = sets[0]
        assert d.algId == r.algorithm and list(d.instancenumbers) == r.instances.tolist()
        # cocopp's maxevals: the budget, or (COCO's runs stop there) the evaluation at 1e-8
        final = r.hit_evals[:, -1] if r.targets[-1] <= 1.01e-8 else np.full(len(r.final), -1)
        assert np.array_equal(d.maxevals, np.where(final > 0, final, BUDGET))
        ert = np.array(d.detERT(list(r.targets)), float)
        assert np.array_equal(ert, naive_art(r.hit_evals, BUDGET)), (r.algorithm, r.dim)
        # and each run's first hits, target by target
        ev = np.array(d.detEvals(list(r.targets)))               # (targets, runs)
        want = np.where(r.hit_evals.T > 0, r.hit_evals.T, np.nan)
        assert np.array_equal(ev, want, equal_nan=True)


def pptable(html):
    """(targets, reference aRTs, displayed aRT ratios, #succ) of cocopp's single-algorithm
    ``pptable.html``: the ratio cells with their dispersion (MathML) left out."""
    import re
    t = html[html.index("<table>"):html.index("</table>")]
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", r, re.S) for r in t.split("<tr>")[1:]]
    clean = [re.sub(r"<math>.*?</math>|&thinsp;|<i>.*?</i>", "", c).strip() for c in rows[2]]
    return ([float(x) for x in rows[0][:-1]], [float(x) for x in rows[1][:-1]],
            [np.inf if c.startswith("&infin;") else float(c) for c in clean[:-1]], clean[-1])


def test_python_m_cocopp_reports_the_hand_computed_art(tmp_path):
    """``python -m cocopp`` (the whole post-processing: figures, tables, html) on a small
    export; its table shows aRT / the reference aRT (best of BBOB 2009, shipped with cocopp)
    with 2 significant digits, which must be ours / the reference's."""
    r = hand_runs(5)
    X.write_coco([r], tmp_path / "out")
    env = {**os.environ, "MPLBACKEND": "Agg", "HOME": str(tmp_path)}
    p = subprocess.run([sys.executable, "-m", "cocopp", "-o", str(tmp_path / "pp"),
                        str(tmp_path / "out" / r.algorithm)],
                       capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    (table,) = (tmp_path / "pp").rglob("pptable.html")
    targets, ref, shown, succ = pptable(table.read_text())
    mine = naive_art(r.hit_evals, BUDGET)
    assert len(targets) == 7
    for t, rf, s in zip(targets, ref, shown):
        j = int(np.argmin(np.abs(np.log10(r.targets / t))))
        assert abs(np.log10(r.targets[j] / t)) < 1e-9            # a target of the ladder
        if not np.isfinite(mine[j]):
            assert s == np.inf
            continue
        # the exact ratio lies in mine/(rf ± 0.5) (the reference is shown rounded); the shown
        # value is that ratio to 2 significant digits
        unit = 10.0 ** (np.floor(np.log10(s)) - 1)
        assert mine[j] / (rf + 0.5) - unit / 2 - 1e-12 <= s <= mine[j] / (rf - 0.5) + unit / 2
    assert succ == f"{int((r.hit_evals[:, j] > 0).sum())}/{len(r.instances)}"


# ------------------------------------------------------------------------ IOH: iohinspector

def test_iohinspector_reads_the_export_with_the_same_hits(tmp_path):
    import iohinspector
    runs = [hand_runs(7), hand_runs(8, dim=3)]
    X.write_ioh(runs, tmp_path / "ioh")
    dm = iohinspector.DataManager()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dm.add_folder(str(tmp_path / "ioh" / "adam_lr0.05"))
        df = dm.load(monotonic=False, include_meta_data=True).to_pandas()
    assert set(df["budget_unit"]) == {"gradient evaluations"}
    for r in runs:
        sub = df[df["dimension"] == r.dim]
        got = np.full(r.hit_evals.shape, -1)
        for i, (_, run) in enumerate(sorted(sub.groupby("run_id"))):
            assert run["instance"].iloc[0] == r.instances[i]
            assert run["evaluations"].max() == BUDGET
            for j, t in enumerate(r.targets):
                e = run["evaluations"][run["raw_y"] <= t]
                got[i, j] = e.min() if len(e) else -1
        assert np.array_equal(got, r.hit_evals)
        assert np.array_equal((got > 0).sum(0), (r.hit_evals > 0).sum(0))


# ------------------------------------------------------------------------ from results

def hand_result(family=None, targets="coco", instances=2, starts_=3, steps=BUDGET - 1,
                seed=0):
    """A Result built from hand-made outcomes (no kernel runs): two arms, first hits and best
    f consistent with each other."""
    fam = family or L.bbob(15, 2, instance=3)
    arms = [{"label": "adam", "kind": "adam", "lr": 0.05, "noise": 0.0},
            {"label": "sgd", "kind": "sgd", "lr": 0.1, "noise": 0.0}]
    spec = {"landscape": fam.to_dict(), "optimizers": [], "instances": instances,
            "starts": starts_, "steps": steps, "noise": [0.0], "seed": seed,
            "start": starts.uniform().to_dict(), "dtype": "float64", "tol_x": 0.05,
            "tol_f": None}
    if targets is not None:
        spec["targets"] = targets
    rng = np.random.default_rng(seed)
    n = len(arms) * instances * starts_
    t = COCO if targets == "coco" else np.asarray(targets or COCO)
    h = random_hits(rng, n, t, steps + 1) - 1                 # evaluations → steps
    h[h < 0] = -1
    if isinstance(fam, L.Bbob):
        from swarm import bbob
        f_opt = np.array([bbob.fopt(fam.function, fam.coco_instance + i)
                          for i in range(instances)])
    else:
        f_opt = np.full(instances, L.REGISTRY[fam.name].f_star(fam))
    fo = np.tile(np.repeat(f_opt, starts_), len(arms))
    best = fo + best_between(h, t)
    out = {"start_basin": np.ones(n, np.int64), "end_basin": np.ones(n, np.int64),
           "hit_step": np.full(n, -1, np.int64), "best_f": best, "final_f": best + 1.0,
           "diverged": np.zeros(n, bool)}
    if targets is not None:
        out["target_hit"] = h
    return R.Result(spec, arms, out, np.ones(instances, np.int64))


def test_export_of_a_saved_result_through_the_cli(tmp_path, capsys):
    res = hand_result()
    res.save(tmp_path / "res")
    assert cli.main(["export", str(tmp_path / "res"), "--format", "coco",
                     str(tmp_path / "out")]) == 0
    assert "python -m cocopp" in capsys.readouterr().out
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["adam_lr0.05", "sgd_lr0.1"]
    A, m = 2, res.instances * res.starts
    th = res.outcomes["target_hit"].reshape(A, m, -1)
    want = res.aRT()
    for a, name in enumerate(names):
        (d,) = cocopp_sets(tmp_path / "out" / name)
        # COCO's instance numbers: the family starts at instance 3
        assert sorted(set(d.instancenumbers)) == [3, 4]
        assert np.array_equal(np.array(d.detERT(list(COCO)), float), want[a])
        assert np.array_equal(want[a], naive_art(np.where(th[a] >= 0, th[a] + 1, -1),
                                                 res.spec["steps"] + 1))
    assert cli.main(["export", str(tmp_path / "res"), "--format", "ioh",
                     str(tmp_path / "ioh")]) == 0
    meta = json.loads((tmp_path / "ioh" / "adam_lr0.05" /
                       "IOHprofiler_f15_rastrigin_rotated.json").read_text())
    assert meta["algorithm"]["name"] == "adam_lr0.05" and "lr=0.05" in meta["algorithm"]["info"]
    assert [r["instance"] for r in meta["scenarios"][0]["runs"]] == [3, 3, 3, 4, 4, 4]


def test_ioh_exports_any_family_coco_only_bbob(tmp_path, capsys):
    res = hand_result(family=L.gaussian_peaks(dim=2, peaks=5), targets=[10.0, 1.0, 0.1])
    with pytest.raises(ValueError, match="bbob_f1 … bbob_f24.*gaussian_peaks.*--format ioh"):
        X.coco(res, tmp_path / "c")
    assert not (tmp_path / "c").exists()
    X.ioh(res, tmp_path / "i")
    meta = json.loads(next((tmp_path / "i" / "adam_lr0.05").glob("*.json")).read_text())
    assert meta["suite"] == "swarm" and meta["function_name"] == "gaussian_peaks"


def test_errors_name_the_rerun(tmp_path, capsys):
    no_targets = hand_result(targets=None)
    with pytest.raises(ValueError, match='targets = "coco"'):
        X.coco(no_targets, tmp_path / "a")
    res = hand_result()
    agg_only = R.Result(res.spec, res.arms, None, res.n_global, aggregate=res.aggregate)
    with pytest.raises(ValueError, match="aggregates only.*keep_outcomes=True"):
        X.ioh(agg_only, tmp_path / "b")
    agg_only.save(tmp_path / "agg")
    assert cli.main(["export", str(tmp_path / "agg"), "--format", "coco",
                     str(tmp_path / "c")]) == 2
    assert "keep_outcomes=True" in capsys.readouterr().err
    assert not any(os.path.lexists(tmp_path / x) for x in "abc")


def test_existing_out_and_links(tmp_path, capsys):
    res = hand_result()
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty.*--force"):
        X.coco(res, out)
    X.coco(res, out, force=True)
    assert (out / "keep.txt").read_text() == "mine"
    assert (out / "adam_lr0.05" / "bbobexp_f15.info").is_file()
    # a link inside OUT is never followed
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "out2"
    link.mkdir()
    (link / "adam_lr0.05").symlink_to(elsewhere)
    with pytest.raises(ValueError, match="symbolic link"):
        X.coco(res, link, force=True)
    assert list(elsewhere.iterdir()) == []
    (out / "file").write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        X.coco(res, out / "file")


def test_crafted_results_directory_is_refused(tmp_path, capsys):
    res = hand_result()
    res.save(tmp_path / "res")
    m = json.loads((tmp_path / "res" / "manifest.json").read_text())
    m["spec"]["targets"] = [1.0, 2.0]                  # not decreasing (hash recomputed)
    m["manifest_hash"] = R.manifest_hash(m)
    (tmp_path / "res" / "manifest.json").write_text(json.dumps(m))
    assert cli.main(["export", str(tmp_path / "res"), "--format", "coco",
                     str(tmp_path / "out")]) == 2
    assert "spec.targets" in capsys.readouterr().err
    assert cli.main(["export", str(tmp_path / "nothing"), "--format", "ioh",
                     str(tmp_path / "out")]) == 2
    assert "no such results directory" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_two_results_of_one_problem_are_refused(tmp_path):
    res = hand_result()
    with pytest.raises(ValueError, match="one study only"):
        X.coco([res, res], tmp_path / "out")


# ------------------------------------------------------------------------ end to end

def test_end_to_end_swarm_run_save_export_cocopp_and_iohinspector(tmp_path):
    """A tiny BBOB study with COCO's targets → save → swarm export → cocopp's aRT equals
    swarm's own (analysis.art) at every target, and iohinspector's hits its hit counts."""
    res = swarm.run(L.bbob(21, 2), [swarm.optimizers.rprop(lr=0.1),
                                    swarm.optimizers.adam(lr=0.05)],
                    instances=2, starts=3, steps=60, noise=0.0, seed=0, targets="coco",
                    keep_outcomes=True)
    res.save(tmp_path / "res")
    assert cli.main(["export", str(tmp_path / "res"), "--format", "coco",
                     str(tmp_path / "out")]) == 0
    want = res.aRT()
    assert np.isfinite(want).any()
    for a, name in enumerate(sorted(p.name for p in (tmp_path / "out").iterdir())):
        (d,) = cocopp_sets(tmp_path / "out" / name)
        assert np.array_equal(np.array(d.detERT(list(COCO)), float), want[_arm(res, name)])
    assert cli.main(["export", str(tmp_path / "res"), "--format", "ioh",
                     str(tmp_path / "ioh")]) == 0
    import iohinspector
    for p in (tmp_path / "ioh").iterdir():
        dm = iohinspector.DataManager()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dm.add_folder(str(p))
            df = dm.load(monotonic=False).to_pandas()
        best = df.groupby("run_id")["raw_y"].min().to_numpy()
        assert best.size == res.instances * res.starts
        hits = [(best <= t).sum() for t in COCO]
        assert np.array_equal(hits, res.aggregate.target_hits[_arm(res, p.name)])


def _arm(res, name):
    return [X.safe_name(n) for n in swarm.analysis.arm_names(res)].index(name)
