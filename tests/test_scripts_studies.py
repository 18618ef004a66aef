"""The study scripts run at tiny size and produce what they promise."""
import numpy as np

from scripts import temperature


def test_temperature_sweep_tiny(tmp_path):
    rows = temperature.run(walkers=300, ratios=(1.5,), span=6.0)
    (r,) = rows
    assert r["arrived"] > 0.95
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
