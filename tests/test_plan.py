"""swarm.plan and `swarm plan`: variance components by hand, the planned number of instances
against a second run, the command line and its errors."""
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy import stats as sps

import swarm
from swarm import cli, plan
from swarm import landscapes as L
from swarm import optimizers as O
from swarm.spec import loads_spec

SPEC = textwrap.dedent("""\
    name = "plan test"
    instances = 5000
    starts = 3
    steps = 20
    noise = 1.0
    seed = 7

    [landscape]
    family = "gaussian_peaks"
    dim = 2

    [[optimizers]]
    kind = "sgd"
    lr = 0.05
""")


@pytest.fixture
def spec_file(tmp_path):
    p = tmp_path / "study.toml"
    p.write_text(SPEC)
    return p


def test_components_are_the_one_way_anova_estimates():
    """σ_w² = mean of the unbiased per-instance p(1 − p), σ_b² = variance of the per-instance
    fractions less σ_w²/m, from per-instance counts by hand; they recover simulated ones."""
    rng = np.random.default_rng(1)
    G, m = 4000, 6
    p_i = rng.beta(2, 5, G)                      # between: Var = 2·5/(7²·8) ≈ 0.0255
    k = rng.binomial(m, p_i)
    p, between, within = plan.components(k.sum(), (k * k).sum(), G, m)
    assert p == k.sum() / (G * m)
    frac = k / m
    w_hand = np.mean(k * (m - k) / (m * (m - 1)))
    assert within == pytest.approx(w_hand, rel=1e-12)
    assert between == pytest.approx(frac.var(ddof=1) - w_hand / m, rel=1e-10)
    assert between == pytest.approx(2 * 5 / (49 * 8), rel=0.1)
    assert within == pytest.approx(np.mean(p_i * (1 - p_i)), rel=0.03)
    with pytest.raises(ValueError, match="2 starts"):
        plan.components(3, 5, 10, 1)


def test_instances_needed_is_the_smallest_that_reaches_the_half_width():
    for v, p, m, h in ((0.05, 0.3, 3, 0.01), (0.2, 0.5, 1, 0.005), (1e-4, 0.01, 50, 0.002),
                       (0.05, 0.3, 3, 0.4)):
        need = plan.instances_needed(v, p, m, h)
        assert plan.half_width(v, p, need, m) <= h
        if need > 2:
            assert plan.half_width(v, p, need - 1, m) > h
        # t_{I-1} sqrt(V / I) by hand, where the Wilson floor does not bind
        t = sps.t.ppf(0.975, need - 1)
        assert plan.half_width(v, p, need, m) == pytest.approx(
            max(t * math.sqrt(v / need), plan._wilson_half(p, need * m, sps.norm.ppf(0.975))),
            rel=1e-7)
    # more starts per instance never need more instances
    a = [plan.instances_needed(0.01 + 0.2 / m, 0.3, m, 0.01) for m in (1, 2, 5, 20)]
    assert a == sorted(a, reverse=True)


def test_planned_instances_reach_the_half_width_in_a_second_run():
    """Plan for ± 0.015 from a 200-instance pilot, then run the planned number of instances
    (on other instances: another seed), at the spec's 3 starts and at 1 start per instance:
    the realised family-level half-width is within 25 % of the planned one."""
    spec = loads_spec(SPEC, "plan.toml")
    h = 0.015
    p = plan.plan(spec, h, timing=False, pilot_instances=200)
    assert (p.pilot_instances, p.pilot_starts) == (200, 3)
    assert [c.starts for c in p.choices][:2] == [1, 3]
    arm = p.arms[0]
    assert 0.05 < arm.p < 0.5 and arm.within > 0
    for label in ("spec", "1 start"):
        c = p.choice(label)
        planned = plan.half_width(arm.variance(c.starts), arm.p, c.instances, c.starts)
        assert planned <= h
        res = spec.run(instances=c.instances, starts=c.starts, seed=spec.seed + 1,
                       keep_outcomes=False)
        row = res.table()[0]
        realised = (row["p_global_high"] - row["p_global_low"]) / 2
        assert 0.0 < row["p_global_low"] < row["p_global_high"] < 1.0      # not clipped
        assert realised == pytest.approx(planned, rel=0.25), (label, c.instances)
        assert realised == pytest.approx(h, rel=0.25), label
    # the study needs more instances with fewer starts, and the trajectories add up
    assert p.choice("1 start").instances > p.choice("spec").instances
    for c in p.choices:
        assert c.trajectories == c.instances * c.starts * p.n_arms
        assert c.seconds > 0


def test_plan_from_a_finished_study_runs_nothing():
    res = swarm.run(L.gaussian_peaks(dim=2), [O.sgd(lr=0.05), O.adam(lr=0.05)], instances=40,
                    starts=5, steps=20, noise=1.0, seed=2)
    res.provenance["wall_s"] = 0.5
    p = plan.plan(res, 0.05)
    assert [c.label for c in p.choices] == ["spec"] and p.choices[0].starts == 5
    assert [a.name for a in p.arms] == ["sgd(lr=0.05)", "adam(lr=0.05)"]
    for a, arm in zip(range(2), p.arms):
        k = res.aggregate.count("successes")[a]
        want = plan.components(k.sum(), (k * k).sum(), 40, 5)
        assert (arm.p, arm.between, arm.within) == pytest.approx(want)
    need = max(plan.instances_needed(a.variance(5), a.p, 5, 0.05) for a in p.arms)
    assert p.choices[0].instances == need
    assert "instances needed" in p.text()


@pytest.mark.parametrize("kw,match", [
    (dict(half_width=0), "half-width"), (dict(half_width=0.6), "half-width"),
    (dict(half_width=float("nan")), "half-width"), (dict(half_width="x"), "half-width"),
    (dict(half_width=True), "half-width"), (dict(half_width=0.1, confidence=1.0), "confidence"),
    (dict(half_width=0.1, pilot_instances=1), "pilot instances"),
    (dict(half_width=0.1, pilot_starts=1), "pilot starts"),
    (dict(half_width=0.1, pilot="a study"), "pilot must be a swarm.Result"),
])
def test_bad_input_is_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        plan.plan(loads_spec(SPEC), **kw)


def test_bad_study_argument():
    with pytest.raises(ValueError, match="plan needs a spec"):
        plan.plan(42, 0.1)


# ---------------------------------------------------------------- the command line

def test_cli_plan_prints_the_numbers(spec_file, capsys):
    assert cli.main(["plan", str(spec_file), "--half-width", "0.05", "--pilot-instances",
                     "40", "--no-timing"]) == 0
    out = capsys.readouterr().out
    want = plan.plan(loads_spec(SPEC, str(spec_file)), 0.05, pilot_instances=40, timing=False)
    timed = ("pilot:", "cost here", "expected time here")     # wall times differ run to run
    keep = [line for line in want.text().splitlines() if not line.startswith(timed)]
    assert [line for line in out.strip().splitlines() if not line.startswith(timed)] == keep
    assert "P(global) ± 0.05 at 95%" in out and "sgd(lr=0.05)" in out
    assert "instances needed" in out and "expected time here" in out
    for c in want.choices:
        assert f"{c.instances:,}" in out and f"m={c.starts}" in out
    assert "40 instances × 3 starts" in out


@pytest.mark.slow          # timing runs
def test_cli_plan_with_timing_runs(spec_file, capsys):
    assert cli.main(["plan", str(spec_file), "--half-width", "0.05", "--pilot-instances",
                     "30", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "measured:" in out and "per instance" in out and "m=3 (spec)" in out


def test_cli_check_with_a_plan_section(spec_file, capsys):
    assert cli.main(["check", str(spec_file), "--half-width", "0.05", "--pilot-instances",
                     "30", "--no-timing"]) == 0
    out = capsys.readouterr().out
    assert "5,000 instances" in out.replace("× 5000", "× 5,000") or "5000 instances" in out
    assert "plan for" in out and "instances needed" in out
    assert cli.main(["check", str(spec_file)]) == 0
    assert "plan for" not in capsys.readouterr().out


@pytest.mark.parametrize("args,message", [
    ([], "plan needs --half-width W"),
    (["--half-width", "0"], "half-width must be a number in (0, 0.5]"),
    (["--half-width", "-0.1"], "half-width must be a number in (0, 0.5]"),
    (["--half-width", "0.75"], "got '0.75'"),
    (["--half-width", "abc"], "got 'abc'"),
    (["--half-width", "0.1", "--pilot-instances", "1"], "--pilot-instances must be an integer"),
    (["--half-width", "0.1", "--pilot-starts", "x"], "--pilot-starts must be an integer"),
    (["--half-width", "0.1", "--confidence", "95"], "confidence must be a number in (0, 1)"),
])
def test_cli_plan_errors_are_one_line(spec_file, capsys, args, message):
    assert cli.main(["plan", str(spec_file), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("swarm: error: ") and message in err


def test_cli_plan_bad_spec_is_one_line(tmp_path, capsys):
    assert cli.main(["plan", str(tmp_path / "none.toml"), "--half-width", "0.1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such spec file" in err
    bad = tmp_path / "bad.toml"
    bad.write_text(SPEC.replace("starts = 3", "starts = 0"))
    assert cli.main(["check", str(bad), "--half-width", "0.1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.toml:3" in err


def test_cli_plan_in_a_subprocess(spec_file):
    r = subprocess.run([sys.executable, "-m", "swarm.cli", "plan", str(spec_file),
                        "--half-width", "0.6"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().splitlines() == [
        "swarm: error: half-width must be a number in (0, 0.5] (a probability's interval is "
        "at most [0, 1]), got '0.6'"]
