"""The study scripts run at tiny size and produce what they promise."""
import json
import math

import numpy as np
import pytest

import swarm
from scripts import temperature
from swarm import stats


def test_temperature_sweep_tiny(tmp_path):
    rows = temperature.run(walkers=300, ratios=(1.5,), span=6.0)
    (r,) = rows
    assert r["arrived"] > 0.95 and r["wall_s"] > 0 and not math.isnan(r["simulated"])
    assert abs(r["ratio"] - 1) < 4 * r["se"] / r["exact"] + 0.02
    assert r["T"] > 0 and r["sigma"] > 0
    md = temperature.markdown(rows)
    assert f"{r['exact']:.2f}" in md
    p = temperature.figure(rows, tmp_path / "t.png")
    assert p.stat().st_size > 10_000
    assert np.isfinite(r["kramers"])


def test_seed_claims_tiny():
    from scripts import seed_claims
    studies = seed_claims.run(instances=2, starts=50, steps=30, names=("rastrigin",))
    assert len(studies) == 2                          # noise-free and noisy
    s = studies[0]
    res = s["result"]
    c = s["comparisons"][0]                           # momentum (same lr) vs SGD
    a, b = res.arm(1)["success"].ravel(), res.arm(0)["success"].ravel()
    assert c["n10"] == int((a & ~b).sum()) and c["n01"] == int((~a & b).sum())
    assert all(x["p_holm"] >= x["pvalue"] for x in s["comparisons"])
    md = seed_claims.markdown(studies, "cmd")
    assert f"{s['table'][0]['p_global']:.4f}" in md
    # the instance-level interval: cluster-robust t from the per-instance successes
    for a, row in enumerate(s["table"]):
        succ = res.arm(a)["success"].sum(axis=1)
        ct = stats.cluster_t(succ, np.full(2, 50))
        assert row["p_global_low"] == pytest.approx(ct.low, rel=1e-12, abs=1e-15)
        assert row["p_global_high"] == pytest.approx(ct.high, rel=1e-12, abs=1e-15)
        assert f"[{row['p_global_low']:.4f}, {row['p_global_high']:.4f}]" in md
        w = stats.proportion(int(succ.sum()), 100)
        assert f"[{w.low:.4f}, {w.high:.4f}]" in md         # the pooled Wilson interval
    assert res.provenance["wall_s"] > 0


def test_seed_claims_main_writes_markdown_and_figure(tmp_path, capsys):
    from scripts import seed_claims
    out = tmp_path / "studies"
    argv = ["--instances", "2", "--starts", "20", "--steps", "20", "--seed", "1",
            "--out", str(out)]
    assert seed_claims.main(argv) == 0
    md = (out / "seed_claims.md").read_text()
    # the command printed is the invocation, flags in the order given
    assert f"`python scripts/seed_claims.py {' '.join(argv)}`" in md
    assert "![P(global) per optimizer](seed_claims.png)" in md
    png = (out / "seed_claims.png").read_bytes()
    assert png[:4] == b"\x89PNG" and len(png) > 20_000
    assert md.count("## ") == 4 and md.count("cluster-robust t") >= 4
    # the same numbers as the library call
    studies = seed_claims.run(instances=2, starts=20, steps=20, seed=1)
    assert md == seed_claims.markdown(studies, md.splitlines()[2].strip("`"),
                                      figure="seed_claims.png")
    assert "P(global)" in capsys.readouterr().out


def test_temperature_main_writes_table_and_figure(tmp_path):
    out = tmp_path / "t"
    assert temperature.main(["--walkers", "200", "--ratios", "1.5", "--out", str(out)]) == 0
    md = (out / "temperature.md").read_text()
    assert f"`python scripts/temperature.py --walkers 200 --ratios 1.5 --out {out}`" in md
    assert "| 1.5 |" in md and "![temperature](temperature.png)" in md
    assert (out / "temperature.png").stat().st_size > 10_000


def test_lr_sweep_main_writes_results_and_report(tmp_path):
    from scripts import lr_sweep
    out = tmp_path / "sweep"
    assert lr_sweep.main(["--landscape", "rastrigin", "--instances", "2", "--starts", "16",
                          "--steps", "20", "--lrs", "1e-4,1e-3", "--out", str(out)]) == 0
    for name in ("manifest.json", "report.md", "report.html", "figures/p_vs_lr.png",
                 "tables/overall.csv"):
        assert (out / name).is_file(), name
    res = swarm.load(out)
    assert len(res.arms) == 12 and res.spec["instances"] == 2
    wall = json.loads((out / "manifest.json").read_text())["provenance"]["wall_s"]
    assert wall == res.provenance["wall_s"] and 0 < wall < 60
    assert f"study wall time: {wall:.3g} s" in (out / "report.md").read_text()


def test_lr_sweep_tiny(tmp_path):
    from scripts import lr_sweep
    res = lr_sweep.run("rastrigin", instances=1, starts=32, steps=20, lrs=[1e-4, 1e-3])
    assert len(res.arms) == 12
    mom = [a for a in res.arms if a["kind"] == "momentum"]
    assert [a["lr"] for a in mom] == [1e-4 * (1 - lr_sweep.MU), 1e-3 * (1 - lr_sweep.MU)]
    best = lr_sweep.best_lr(res)
    assert set(best) == {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"}
    assert best["momentum"]["lr_eff"] in (1e-4, 1e-3) or np.isclose(
        best["momentum"]["lr_eff"], [1e-4, 1e-3]).any()


def test_annealing_tiny():
    from scripts import annealing
    studies = annealing.run(quick=True, names=("rastrigin",))
    assert [s["noise"] for s in studies] == list(annealing.SETUPS["rastrigin"]["noise"])
    s = studies[0]
    res, steps = s["result"], annealing.QUICK["steps"]
    keys = annealing.arm_keys(res, steps)
    assert keys == [(o, k) for o in annealing.OPTIMIZERS for k in annealing.SCHEDULES]
    for row in s["table"]:                  # every schedule of an optimizer: the same lr, T₀
        same = [r for r in s["table"] if r["optimizer"] == row["optimizer"]]
        assert {(r["lr"], r["T0"]) for r in same} == {(row["lr"], row["T0"])}
    sgd = s["table"][0]
    assert sgd["T0"] == pytest.approx(sgd["lr"] * s["noise"] ** 2 / 2)
    assert len(s["comparisons"]) == 2 * len(annealing.OPTIMIZERS)
    index = {k: i for i, k in enumerate(keys)}
    n = res.instances * res.starts
    for c in s["comparisons"]:              # annealed (b) against constant (a), same keys
        a = res.arm(index[(c["optimizer"], "constant")])["success"]
        b = res.arm(index[(c["optimizer"], c["schedule"])])["success"]
        assert c["b_only"] == int((b & ~a).sum()) and c["a_only"] == int((a & ~b).sum())
        assert c["difference"] == pytest.approx((b.sum() - a.sum()) / n)
        assert c["diff_low"] <= c["difference"] <= c["diff_high"]
        assert c["p_holm"] >= c["pvalue"]
    lrs = annealing.schedule_set(steps)
    assert lrs["cosine"].lrs(1.0, steps)[-1] < 0.01 and lrs["step"].lrs(1.0, steps)[-1] == 0.125


def test_annealing_main_writes_markdown_figure_and_csv(tmp_path):
    from scripts import annealing
    out = tmp_path / "studies"
    assert annealing.main(["--quick", "--seed", "1", "--out", str(out)]) == 0
    md = (out / "annealing.md").read_text()
    assert f"`python scripts/annealing.py --quick --seed 1 --out {out}`" in md
    assert f"swarm {swarm.__version__}, " in md and "![P(global)" in md
    assert md.count("## rastrigin") == 2 and md.count("## gaussian_peaks") == 2
    png = (out / "annealing.png").read_bytes()
    assert png[:4] == b"\x89PNG" and len(png) > 20_000
    rows = (out / "annealing.csv").read_text().splitlines()
    assert len(rows) == 1 + 4 * 12 and rows[0].startswith("landscape,noise,optimizer")
    # a hand-written Findings section survives regeneration
    (out / "annealing.md").write_text(md.replace("## Set-up", "## Findings\n\nhand\n\n## Set-up"))
    assert annealing.main(["--quick", "--seed", "1", "--out", str(out)]) == 0
    assert "## Findings\n\nhand\n" in (out / "annealing.md").read_text()


def test_bbob_study_tiny(tmp_path):
    """The BBOB study (tiny: f21 and f24 in 2-D): every registry optimizer at three lrs, each
    arm's fraction per target is a fraction, monotone over tightening targets, and main()'s
    markdown names the command and keeps a hand-written Findings section."""
    from scripts import bbob_study as B
    study = B.run(quick=True, functions=(21, 24), dims=(2,), keep_results=True)
    assert len(study["arms"]) == 3 * len(B.optimizers.REGISTRY)
    # the runs keep COCO's target hits (for --coco: swarm.export), consistent with the table
    for key, res in study["results"].items():
        hits = res.aggregate.target_hits[:, B.TARGETS_IN_COCO]
        assert np.array_equal(hits / (res.instances * res.starts), study["problems"][key])
    for frac in study["problems"].values():
        assert frac.shape == (len(study["arms"]), len(B.TARGETS))
        assert np.all((frac >= 0) & (frac <= 1))
        assert np.all(np.diff(frac, axis=1) <= 0)          # 10², 10¹, …: harder and harder
        assert frac[:, 0].max() > 0                        # some run is within 100 of f_opt
    best = B.best_factor(study)
    assert set(best) == set(B.optimizers.REGISTRY) and set(best.values()) <= set(B.LR_FACTORS)
    md = B.markdown(study, "cmd", version="v", date="d", findings="hand")
    assert "## Findings\n\nhand\n" in md and "| f21 " in md and "| f24 " in md
    assert "2-D Δf=1e-8" in md
    md = B.markdown(study, "cmd", version="v", date="d", coco=(1.0, 2.0, ["x_2D.svg"]))
    assert "## COCO's post-processing" in md and "![cocopp runtime ECDF](x_2D.svg)" in md


def test_noise_study_tiny(tmp_path):
    """scripts/noise_study.py at a tiny size writes its four tables; the α-stable exponents
    come out negative and the Gaussian wells' exit times grow with depth."""
    from scripts import noise_study
    a = noise_study.part_a(60)
    gauss = a[0]
    assert gauss[noise_study.WELLS[1]][0] > gauss[noise_study.WELLS[0]][0]
    b = noise_study.part_b(60, alphas=(1.5,))
    assert -2.0 < b[0]["slope"] < -1.0
    out = tmp_path / "s"
    assert noise_study.main(["--walkers", "40", "--out", str(out)]) == 0
    md = (out / "noise.md").read_text()
    for head in ("## A.", "## B.", "## C.", "## D."):
        assert head in md
    assert "`python scripts/noise_study.py --walkers 40 --out" in md
    assert "student_t(sigma=1.0, nu=3.0)" in md and "curvature(sigma=0.3)" in md
