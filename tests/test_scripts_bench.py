"""Tests for scripts/bench.py (and scripts/benchlib/, whose names it re-exports): a tiny run of the
benchmark (no fresh-process compile check)."""

import json
import math

import numpy as np
import pytest

import swarm
from swarm import landscapes, optimizers
from swarm.kernels import ids


@pytest.fixture(scope="module")
def bench():
    from scripts import bench
    return bench


@pytest.fixture(scope="module")
def rows(bench):
    return bench.run(n=2000, steps=20, repeats=1, compile_check=False)


def test_rows_have_positive_throughputs(rows):
    assert [r["dtype"] for r in rows] == ["float64", "float32"]
    for r in rows:
        for key in ("swarm_mtsps", "swarm_wall_mtsps", "numpy_mtsps", "ratio",
                    "numpy_blocked_mtsps", "ratio_blocked", "numpy_study_mtsps", "ratio_study"):
            assert math.isfinite(r[key]) and r[key] > 0, (r["dtype"], key, r[key])
        assert r["n"] == 2000 and r["steps"] == 20
        assert "cold_process_s" not in r          # compile_check=False skips the subprocesses


def test_noiseless_positions_agree(rows):
    dev = {r["dtype"]: r["check_max_dev"] for r in rows}
    assert dev["float64"] <= 1e-9
    assert dev["float32"] <= 1e-2


def test_noisy_mean_final_f_agrees(rows):
    # different noise streams (Philox vs numpy's default_rng): equal in distribution only
    for r in rows:
        se = math.hypot(r["swarm_sem_final_f"], r["numpy_sem_final_f"])
        assert abs(r["swarm_mean_final_f"] - r["numpy_mean_final_f"]) < 6 * se + 1e-6


def test_numpy_reference_gradient_matches_instance(bench):
    # one SGD-like check: with b1 = b2 = 0 and eps = 0 Adam's first step is lr·sign(g),
    # so the step direction must be −sign(∇f) of the instance
    inst = bench.instance(0)
    x0 = np.random.default_rng(3).uniform(-5.0, 5.0, (50, 2))
    x1 = bench.numpy_adam_rastrigin(x0, bench.shift(inst), 1, lr=0.01, b1=0.0, b2=0.0, eps=0.0)
    g = inst.grad(x0)
    np.testing.assert_allclose(x1 - x0, -0.01 * np.sign(g), atol=1e-12)


def test_main_prints_table(bench, capsys):
    rows = bench.main(["--n", "500", "--steps", "5", "--repeats", "1", "--dtypes", "float64",
                       "--no-compile-check"])
    out = capsys.readouterr().out
    assert "| workload | dtype |" in out and "float64" in out and "machine:" in out
    assert len(rows) == 1 and rows[0]["numpy_mtsps"] > 0


def _study_rates_agree(r):
    # swarm's study and the NumPy study reference (different random streams): P(global),
    # P(escape) and mean best f within 6 standard errors
    for key in ("p_global", "p_escape", "best_f"):
        (a, sa), (b, sb) = r[f"swarm_{key}"], r[f"numpy_{key}"]
        assert abs(a - b) < 6 * math.hypot(sa, sb) + 1e-6, (r["dtype"], key, a, b)


def test_noisy_study_rates_agree(rows):
    for r in rows:
        _study_rates_agree(r)


def test_rows_are_json(rows, bench):
    # --json writes the rows as they are: numbers and strings only, no arrays
    rows_p = bench.run_peaks(n=200, steps=3, repeats=1, check_steps=5, check_starts=1)
    json.dumps({"rows": rows, "peaks": rows_p})


def test_main_only_w_skips_the_rest(bench, capsys):
    bench.main(["--n", "300", "--steps", "3", "--repeats", "1", "--dtypes", "float32",
                "--no-compile-check", "--only-w"])
    out = capsys.readouterr().out
    assert "Workload P" not in out and "Dimension scaling" not in out and "Peers" not in out


# ----------------------------------------------------------------------------- workload P
def test_numpy_peaks_gradient_matches_instance(bench):
    # Nesterov with μ = 0 and lr = 1 takes x − ∇f: the reference's gradient is the instance's
    inst = bench.peaks_instance(0)
    x0 = np.random.default_rng(4).uniform(-5.0, 5.0, (40, inst.dim))
    x1 = bench.in_blocks(bench.numpy_nesterov_peaks, x0, 16, inst, 1, lr=1.0, mu=0.0)
    np.testing.assert_allclose(x0 - x1, inst.grad(x0), atol=1e-13, rtol=1e-10)


def test_peaks_rows(bench):
    rows = bench.run_peaks(n=300, steps=5, repeats=1, check_steps=40, check_starts=2)
    assert [r["dtype"] for r in rows] == ["float64", "float32"]
    dev = {r["dtype"]: r["check_max_dev"] for r in rows}
    assert dev["float64"] <= 1e-9 and dev["float32"] <= 1e-3
    for r in rows:
        assert r["check_label_agree"] == 1.0
        for key in ("swarm_mtsps", "numpy_mtsps", "numpy_blocked_mtsps", "numpy_study_mtsps",
                    "ratio", "ratio_blocked", "ratio_study"):
            assert math.isfinite(r[key]) and r[key] > 0, (r["dtype"], key, r[key])
        se = math.hypot(r["swarm_sem_final_f"], r["numpy_sem_final_f"])
        assert abs(r["swarm_mean_final_f"] - r["numpy_mean_final_f"]) < 6 * se + 1e-6
        _study_rates_agree(r)
    text = bench.report_extras({"peaks": rows})
    assert "same outcomes" in text and f"| {rows[0]['ratio_study']:.2f} |" in text


def _point_studies_agree(bench, fam, opt, inst, pts, ref, steps, dtype, rtol):
    """Each row of ``pts`` as a noiseless one-trajectory swarm study: every outcome equals the
    NumPy study reference's ``ref`` (f values to ``rtol``, relative to max(|f|, 10): Rastrigin's
    f near 0 is a difference of terms of size 10). Returns the (end basin, hit step, diverged)
    triples seen."""
    seen = set()
    for i, x in enumerate(pts):
        res = swarm.run(fam, opt, instances=1, starts=1, start=swarm.starts.point(x),
                        steps=steps, seed=0, dtype=dtype)
        o = res.outcomes
        for key in ("start_basin", "end_basin", "hit_step", "diverged"):
            assert o[key][0] == ref[key][i], (i, key, o[key][0], ref[key][i])
        for key in ("best_f", "final_f"):
            np.testing.assert_allclose(ref[key][i], o[key][0], rtol=rtol, atol=10 * rtol)
        seen.add((int(o["end_basin"][0]), int(o["hit_step"][0]), bool(o["diverged"][0])))
    # among them: a hit at the start, a local basin, and a point outside the box (diverged from
    # the start: basins DIVERGED, best f +inf, final f NaN)
    assert (0, 0, False) in seen and (ids.DIVERGED, ids.NEVER, True) in seen
    assert any(eb > 0 for eb, _, _ in seen)
    return seen


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
def test_numpy_peaks_study_matches_swarm_outcomes(bench, dtype, rtol):
    inst = bench.peaks_instance(0)
    pts = np.concatenate([np.random.default_rng(3).uniform(-5.0, 5.0, (4, inst.dim)),
                          [inst.x_star + 0.001, inst.x_star + 0.3, np.full(inst.dim, 25.0)]])
    ref = bench.in_blocks(bench.numpy_peaks_study, pts.astype(dtype), 3, inst, 60, 0.0, dtype)
    seen = _point_studies_agree(bench, landscapes.gaussian_peaks(**bench.PEAKS),
                                optimizers.nesterov(**bench.NESTEROV), inst, pts, ref, 60,
                                dtype, rtol)
    assert (0, ids.NEVER, False) in seen          # in the global basin, never on target


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
def test_numpy_rastrigin_study_matches_swarm_outcomes(bench, dtype, rtol):
    inst = bench.instance(0)
    pts = np.concatenate([np.random.default_rng(5).uniform(-5.12, 5.12, (5, 2)),
                          [inst.x_star + 0.001, inst.x_star + 0.3, [30.0, 0.0]]])
    ref = bench.numpy_rastrigin_study(pts.astype(dtype), inst, 60, 0.0, dtype)
    seen = _point_studies_agree(bench, landscapes.rastrigin(dim=2),
                                optimizers.adam(**bench.ADAM), inst, pts, ref, 60, dtype,
                                rtol)
    assert any(h > 0 for _, h, _ in seen)                 # a hit after some steps


def test_blocks_give_the_same_noiseless_results(bench):
    inst = bench.instance(0)
    x0 = np.random.default_rng(2).uniform(-5.12, 5.12, (50, 2))
    whole = bench.numpy_adam_rastrigin(x0, bench.shift(inst), 20)
    np.testing.assert_array_equal(bench.in_blocks(bench.numpy_adam_rastrigin, x0, 7,
                                                  bench.shift(inst), 20), whole)
    whole = bench.numpy_rastrigin_study(x0, inst, 20)
    blocks = bench.in_blocks(bench.numpy_rastrigin_study, x0, 7, inst, 20)
    assert whole.keys() == blocks.keys()
    for k in whole:
        np.testing.assert_array_equal(blocks[k], whole[k])


def test_rastrigin_labels_match_the_instance(bench):
    inst = bench.instance(0)
    x = np.random.default_rng(8).uniform(-12.0, 12.0, (4000, 2))
    np.testing.assert_array_equal(bench.rastrigin_labels(inst, np.float64)(x), inst.basin(x))


# ----------------------------------------------------------------------------- scaling, peak
def test_scaling_rows(bench):
    rows = bench.run_scaling(n2=256, steps=5, dims=(2, 8), dtypes=("float64",), repeats=1)
    assert [(r["dim"], r["n"]) for r in rows] == [(2, 256), (8, 64)]
    for r in rows:
        assert r["mtsps"] > 0 and r["mcsps"] == pytest.approx(r["mtsps"] * r["dim"])


def test_fma_peak_and_fraction(bench):
    rows = bench.run_peak(("float64",), [{"dtype": "float64", "swarm_mtsps": 10.0}],
                          seconds=0.05)
    r = rows[0]
    assert 0.1 < r["peak_gflops"] < 1e5
    assert r["swarm_gflops"] == pytest.approx(10.0 * bench.W_FLOPS["float64"] / 1e3)
    assert r["fraction"] == pytest.approx(r["swarm_gflops"] / r["peak_gflops"])


# ----------------------------------------------------------------------------- optional peers
@pytest.mark.parametrize("peer,mods", [("jax", ("jax", "optax")), ("torch", ("torch",))])
def test_peer_agrees_with_swarm(bench, peer, mods):
    for m in mods:
        pytest.importorskip(m)
    rows = bench.run_peers(n=500, steps=5, dtypes=("float64",), repeats=1, peers=(peer,),
                           check_steps=50)
    assert len(rows) == 1 and "error" not in rows[0], rows
    r = rows[0]
    assert r["check_rel_dev"] <= 1e-6
    assert r["mtsps"] > 0 and r["ratio"] > 0


def test_peers_absent_are_skipped(bench, monkeypatch):
    from scripts.benchlib import peers
    monkeypatch.setattr(peers, "_have", lambda mod: False)
    assert bench.available_peers() == []
    assert bench.run_peers(n=10, steps=1, peers=("jax", "torch")) == []
    assert "none installed" in bench.report_extras({"peers": []})


def test_script_runs_from_its_own_folder():
    # `python scripts/bench.py` imports its pieces as the top-level package benchlib (scripts/ on
    # the path), not as scripts.benchlib; the peers' fresh processes run that same file
    import os
    import subprocess
    import sys
    from scripts.benchlib import peers
    assert os.path.isfile(peers.BENCH_PY) and os.path.basename(peers.BENCH_PY) == "bench.py"
    out = subprocess.run([sys.executable, peers.BENCH_PY, "--help"], capture_output=True,
                         text=True, cwd=os.path.dirname(peers.BENCH_PY), check=True).stdout
    assert "--no-compile-check" in out and "--peer-worker" not in out


def test_feature_rows(bench):
    """W with AdamW + cosine + clipping beside W (tiny): both rates positive, the ratio theirs,
    and the feature arm really is what its name says."""
    from scripts.benchlib.features import feature_optimizer
    rows = bench.run_features(n=256, steps=4, dtypes=("float32",), repeats=1)
    (r,) = rows
    assert r["w_mtsps"] > 0 and r["features_mtsps"] > 0
    assert r["features_ratio"] == r["features_mtsps"] / r["w_mtsps"]
    (cfg,) = feature_optimizer(4).configs()
    assert (cfg["clip_norm"], cfg["weight_decay"], str(cfg["schedule"])) == \
        (1.0, 0.01, "cosine(T_max=4, eta_min=0.0)")
    assert "features / W" in bench.report_extras({"features": rows})


def test_bbob_rows(bench):
    """BBOB f21/f22 (20-D) beside workload P (tiny, float64: the suite's BBOB kernels): every
    rate positive, the ratios theirs, and the table names the target."""
    rows = bench.run_bbob(n=64, steps=3, dtypes=("float64",), repeats=1)
    (r,) = rows
    assert min(r["p_mtsps"], r["f21_mtsps"], r["f22_mtsps"]) > 0
    assert r["f21_ratio"] == r["f21_mtsps"] / r["p_mtsps"]
    assert r["f22_ratio"] == r["f22_mtsps"] / r["p_mtsps"]
    assert "f21 / P" in bench.report_extras({"bbob": rows})


def test_noise_rows(bench):
    """W under Student-t and α-stable noise beside Gaussian (tiny): rates positive, the ratios
    theirs, and the report's table."""
    rows = bench.run_noise(n=256, steps=4, dtypes=("float32",), repeats=1)
    (r,) = rows
    for k in ("gaussian", "student_t", "alpha_stable"):
        assert r[f"{k}_mtsps"] > 0 and r[f"{k}_ratio"] == r[f"{k}_mtsps"] / r["gaussian_mtsps"]
    assert "t / Gaussian" in bench.report_extras({"noise": rows})


def test_gpu_check_without_a_gpu_says_so(tmp_path):
    """scripts/gpu_check.sh (the whole GPU check in one command) is valid bash and, with no
    GPU visible, stops at once with the reason instead of running the suite."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    script = Path(__file__).resolve().parents[1] / "scripts" / "gpu_check.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    from numba import cuda
    if cuda.is_available():
        pytest.skip("a CUDA device is visible: the check would run for real")
    p = subprocess.run(["bash", str(script)], env={**os.environ, "OUT": str(tmp_path), "PYTHON": sys.executable},
                       capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "no CUDA device is visible" in p.stderr
    assert not (tmp_path / "pytest.txt").exists()
