"""The command line: swarm run / check / report / demo, results directory, errors, progress."""
import csv
import io
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import swarm
from swarm import cli
from swarm import optimizers as O

SPEC = textwrap.dedent("""\
    name = "cli test"
    instances = 2
    starts = 40
    steps = 60
    noise = [0.5, 2.0]
    seed = 5

    [landscape]
    family = "double_well"
    dim = 1

    [start]
    rule = "at_minimum"
    k = 1

    [[optimizers]]
    kind = "sgd"
    lr = [0.05, 0.1]

    [[optimizers]]
    kind = "adam"
    lr = 0.05
    label = "Adam"
""")


@pytest.fixture
def spec_file(tmp_path):
    p = tmp_path / "study.toml"
    p.write_text(SPEC)
    return p


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """One study run through the CLI (reused by the tests that only read its directory)."""
    d = tmp_path_factory.mktemp("ran")
    p = d / "study.toml"
    p.write_text(SPEC)
    assert cli.main(["run", str(p), "-o", str(d / "out"), "--quiet"]) == 0   # with the report
    return p, d / "out"


def cli_subprocess(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "swarm.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


# ---------------------------------------------------------------- swarm run

def test_run_writes_the_results_directory(ran):
    spec, out = ran
    for name in ("outcomes.npz", "manifest.json", "summary.csv", "summary.txt", "spec.toml"):
        assert (out / name).is_file(), name
    assert (out / "spec.toml").read_bytes() == spec.read_bytes()
    m = json.loads((out / "manifest.json").read_text())
    assert m["spec"]["seed"] == 5 and m["spec"]["landscape"]["name"] == "double_well"
    p = m["provenance"]
    for k in ("backend", "device", "versions", "git_commit", "wall_s", "timings"):
        assert k in p, k
    assert p["backend"] == "cpu" and p["wall_s"] > 0
    assert set(p["versions"]) >= {"swarm", "numba", "numpy", "python"}
    assert m["study"]["file"] == str(spec) and m["study"]["name"] == "cli test"
    assert m["study"]["toml"]["optimizers"][1] == {"kind": "adam", "lr": 0.05, "label": "Adam"}
    res = swarm.load(out)
    assert m["outcome_hash"] == res.hash
    assert len(res.arms) == 6 and res.outcomes["diverged"].size == 6 * 2 * 40


def test_summary_csv_equals_result_table(ran):
    _, out = ran
    table = swarm.load(out).table()
    with open(out / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(table) == 6
    assert list(rows[0])[:5] == ["label", "kind", "lr", "b1", "b2"]
    for got, want in zip(rows, table):
        assert set(want) <= set(got)
        for k, v in want.items():
            if isinstance(v, bool):
                assert got[k] == str(v), k
            elif isinstance(v, (int, float)):
                g = float(got[k])
                assert g == v or (math.isnan(g) and math.isnan(v)), (k, got[k], v)
            else:
                assert got[k] == str(v), k
        extra = set(got) - set(want)        # another kind's hyperparameters: empty
        assert all(got[k] == "" for k in extra)
    assert (out / "summary.txt").read_text().strip() == swarm.load(out).summary()


def test_same_spec_twice_gives_the_same_outcome_hash(ran, tmp_path):
    spec, out = ran
    assert cli.main(["run", str(spec), "-o", str(tmp_path / "again"), "--quiet",
                     "--threads", "1", "--backend", "cpu", "--no-report"]) == 0
    first = json.loads((out / "manifest.json").read_text())
    again = json.loads((tmp_path / "again" / "manifest.json").read_text())
    assert again["outcome_hash"] == first["outcome_hash"]
    assert again["provenance"]["threads"] == 1
    assert again["study"]["overrides"] == {"threads": 1, "backend": "cpu"}
    changed = spec.read_text().replace("seed = 5", "seed = 6")
    (tmp_path / "other.toml").write_text(changed)
    assert cli.main(["run", str(tmp_path / "other.toml"), "-o", str(tmp_path / "o"),
                     "--quiet", "--no-report"]) == 0
    other = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert other["outcome_hash"] != first["outcome_hash"]


def test_run_prints_the_summary_and_no_progress_off_a_terminal(spec_file, tmp_path, capsys):
    assert cli.main(["run", str(spec_file), "-o", str(tmp_path / "r"), "--no-report"]) == 0
    out, err = capsys.readouterr()
    assert "P(global)" in out and "Adam(lr=0.05" in out
    assert f"results written to {(tmp_path / 'r').resolve()}/" in out
    assert err == ""


def test_default_results_directory_is_named_after_the_spec(spec_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", str(spec_file), "--quiet", "--no-report"]) == 0
    assert (tmp_path / "swarm-study" / "manifest.json").is_file()
    assert not (tmp_path / "swarm-study" / "report.md").exists()


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_only_on_a_terminal_and_not_with_quiet(spec_file, tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "PROGRESS_DELAY_S", 0.0)
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert cli.main(["run", str(spec_file), "-o", str(tmp_path / "a"), "--no-report"]) == 0
    bar = term.getvalue()
    assert "480/480" in bar and "traj" in bar            # total = 6 arms × 2 × 40
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert cli.main(["run", str(spec_file), "-o", str(tmp_path / "b"), "--quiet",
                     "--no-report"]) == 0
    assert term.getvalue() == ""
    a = json.loads((tmp_path / "a" / "manifest.json").read_text())
    b = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert a["study"]["overrides"] == {"chunk_size": cli.progress_chunk(480)}   # bar moves
    assert a["outcome_hash"] == b["outcome_hash"]


def test_check_describes_the_study(spec_file, capsys):
    assert cli.main(["check", str(spec_file)]) == 0
    out = capsys.readouterr().out
    assert "6 arms × 2 instances × 40 starts = 480 trajectories" in out


# ---------------------------------------------------------------- errors

def test_bad_spec_is_one_line_and_status_2(tmp_path, capsys):
    p = tmp_path / "bad.toml"
    p.write_text(SPEC.replace("lr = 0.05\nlabel", "lr = -0.05\nlabel"))
    assert cli.main(["run", str(p), "-o", str(tmp_path / "x")]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"swarm: error: {p}:22: optimizers[1].lr must be in (0.0, inf), got -0.05\n"
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("args,message", [
    (["run", "{d}/missing.toml"], "swarm: error: {d}/missing.toml: no such spec file"),
    (["run", "{d}/bad.toml"], "swarm: error: {d}/bad.toml:1: seeds is not a spec key"),
    (["run", "{d}/bad.toml", "--threads", "0"], "swarm: error: {d}/bad.toml:1: seeds"),
    (["check", "{d}/bad.toml"], "swarm: error: {d}/bad.toml:1: seeds is not a spec key"),
    (["report", "{d}/nowhere"], "swarm: error: {d}/nowhere: no such results directory"),
    (["report", "{d}"], "swarm: error: {d} is not a swarm result directory"),
    (["run", "{d}/good.toml", "-o", "{d}/afile"],
     "swarm: error: {d}/afile: cannot write results there (File exists)"),
])
def test_errors_in_a_subprocess_exit_2_with_one_line(tmp_path, args, message):
    (tmp_path / "bad.toml").write_text("seeds = 3\n" + SPEC)
    (tmp_path / "good.toml").write_text(SPEC)
    (tmp_path / "afile").write_text("")
    r = cli_subprocess(*[a.format(d=tmp_path) for a in args])
    assert r.returncode == 2, r.stderr
    assert r.stdout == ""
    assert r.stderr.startswith(message.format(d=tmp_path)), r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_bad_override_and_unreadable_results_are_status_2(spec_file, tmp_path, capsys,
                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)                 # the default results directory goes there
    assert cli.main(["run", str(spec_file), "--threads", "100000", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("swarm: error: threads must be an integer in [1, ")
    (tmp_path / "empty").mkdir()
    assert cli.main(["report", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("swarm: error: ") and err.count("\n") == 1


# ---------------------------------------------------------------- report and demo

def test_report_regenerates_from_a_results_directory(ran, capsys):
    _, out = ran
    for name in ("report.md", "report.html"):
        (out / name).unlink(missing_ok=True)
    assert cli.main(["report", str(out)]) == 0
    assert (out / "report.md").is_file() and (out / "report.html").is_file()
    assert (out / "figures").is_dir()
    assert "report written to" in capsys.readouterr().out


def test_demo_still_works_and_writes_the_full_report(tmp_path, capsys, monkeypatch):
    calls = []

    class Report:          # stands in for swarm.report (its own tests run the real one)
        @staticmethod
        def write(res, d):
            calls.append((res.hash, Path(d)))
            (Path(d) / "report.md").write_text("full report\n")
            return Path(d)

    monkeypatch.setattr(cli, "_report_module", lambda: Report)
    d = tmp_path / "demo"
    assert cli.main(["demo", "-o", str(d), "--instances", "1", "--starts", "16", "--steps",
                     "20"]) == 0
    out = capsys.readouterr().out
    assert "P(global)" in out and "results written to" in out
    for name in ("outcomes.npz", "manifest.json", "summary.csv", "summary.txt", "report.md"):
        assert (d / name).is_file(), name
    res = swarm.load(d)
    assert calls == [(res.hash, d)]
    assert (d / "report.md").read_text() == "full report\n"
    assert len(res.arms) == 6 and res.provenance["wall_s"] > 0
    from swarm import extras                # the demo ran the extra runs of the 2-D figures
    data = extras.read(d, res)
    assert data.n == extras.BASIN_GRID and len(data.configs) == 6


def test_real_demo_in_a_subprocess_writes_report_and_figures(tmp_path):
    """`python -m swarm.cli demo` end to end, with the real report (small size)."""
    d = tmp_path / "demo"
    r = cli_subprocess("demo", "--instances", 2, "--starts", 50, "--steps", 50, "-o", d,
                       "--quiet")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    for name in ("outcomes.npz", "manifest.json", "summary.csv", "report.md", "report.html",
                 "tables/overall.csv"):
        assert (d / name).is_file(), name
    figs = {p.name for p in (d / "figures").glob("*.png")}
    assert {"p_global.png", "ecdf.png", "basin_maps.png", "trajectories.png"} <= figs
    for f in figs:
        assert (d / "figures" / f).read_bytes()[:4] == b"\x89PNG"
    md = (d / "report.md").read_text()
    res = swarm.load(d)
    assert res.hash in md and "Few instances (2 < 10)" in md and "failed" not in md
    assert len(res.arms) == 6 and res.spec["steps"] == 50
    assert res.provenance["wall_s"] > 0
    assert html_imgs(d / "report.html") == len(figs)


def html_imgs(path):
    return path.read_text().count("src='data:image/png;base64,")


SPEC_2D = SPEC.replace('family = "double_well"\ndim = 1', 'family = "gaussian_peaks"\ndim = 2') \
    .replace('rule = "at_minimum"\nk = 1', 'rule = "uniform"')


def test_run_saves_the_figure_data_and_report_only_reads_it(tmp_path, monkeypatch, capsys):
    """swarm run writes figures.npz (the extra runs, once); swarm report DIR then draws the
    basin maps and trajectories without running anything; --no-report skips both, and swarm
    extras DIR adds the figure data later."""
    import swarm.engine
    from swarm import extras
    assert 'family = "gaussian_peaks"' in SPEC_2D and 'rule = "uniform"' in SPEC_2D
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC_2D)
    assert cli.main(["run", str(spec), "-o", str(tmp_path / "a"), "--quiet"]) == 0
    assert cli.main(["run", str(spec), "-o", str(tmp_path / "b"), "--quiet",
                     "--no-report"]) == 0
    assert not (tmp_path / "b" / "figures.npz").exists()
    assert not (tmp_path / "b" / "report.md").exists()
    assert cli.main(["extras", str(tmp_path / "b")]) == 0
    assert (tmp_path / "a" / "figures.npz").read_bytes() == \
        (tmp_path / "b" / "figures.npz").read_bytes()          # reproducible
    capsys.readouterr()

    def boom(*args, **kwargs):
        raise AssertionError("swarm report ran a simulation")
    for mod in (swarm, swarm.engine, extras):
        monkeypatch.setattr(mod, "basin_grid_run" if mod is extras else "run", boom)
    monkeypatch.setattr(swarm, "path", boom)
    monkeypatch.setattr(swarm.engine, "path", boom)
    for d in (tmp_path / "a", tmp_path / "b"):
        (d / "figures" / "basin_maps.png").unlink(missing_ok=True)
        assert cli.main(["report", str(d)]) == 0
        figs = {p.name for p in (d / "figures").glob("*.png")}
        assert {"p_global.png", "ecdf.png", "basin_maps.png", "trajectories.png"} <= figs
        assert "failed" not in (d / "report.md").read_text()


def test_failing_extra_runs_keep_results_and_report_and_say_how_to_retry(tmp_path,
                                                                        monkeypatch, capsys):
    from swarm import extras
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC_2D)

    def broken(*args, **kwargs):
        raise RuntimeError("out of luck")
    monkeypatch.setattr(extras, "compute", broken)
    d = tmp_path / "r"
    assert cli.main(["run", str(spec), "-o", str(d), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert ("results and report written to" in err and "extra runs behind the basin maps and "
            "trajectories failed (RuntimeError: out of luck); add them with: swarm extras "
            f"{d} && swarm report {d}") in err
    assert err.count("\n") == 1
    assert swarm.load(d).hash and not (d / "figures.npz").exists()
    md = (d / "report.md").read_text()
    assert "no figure data (figures.npz); add it with `swarm extras DIR`" in md
    assert cli.main(["extras", str(tmp_path / "nowhere")]) == 2
    assert "no such results directory" in capsys.readouterr().err


def test_a_failing_report_keeps_the_results_and_says_how_to_retry(spec_file, tmp_path,
                                                                  monkeypatch, capsys):
    class Broken:
        @staticmethod
        def write(res, d):
            raise RuntimeError("no fonts")

    monkeypatch.setattr(cli, "_report_module", lambda: Broken)
    assert cli.main(["run", str(spec_file), "-o", str(tmp_path / "r"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "report failed (RuntimeError: no fonts); retry with: swarm report" in err
    assert err.count("\n") == 1
    assert swarm.load(tmp_path / "r").hash       # the results themselves are intact


def test_optimizers_lists_the_registry(capsys):
    assert cli.main(["optimizers"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for name, row in O.REGISTRY.items():
        (line,) = [x for x in lines if x.split()[0] == name]
        assert f"lr={row.hyper('lr').default:g}" in line and row.source in line, line
    assert "schedule" in lines[-1]


@pytest.mark.parametrize("name", ["adamw", "rprop", "momentum"])
def test_optimizers_name_prints_its_hyperparameters(name, capsys):
    assert cli.main(["optimizers", name]) == 0
    out = capsys.readouterr().out
    row = O.REGISTRY[name]
    assert out.startswith(f"{name}: {row.summary}") and row.formula in out
    for h in row.all_hypers:
        (line,) = [x for x in out.splitlines() if x.split()[:1] == [h.name]]
        assert "default" in line and "allowed" in line and h.doc in line, line
        if h.name not in ("schedule",):
            assert h.allowed() in line, line
    assert ("lr_eff" in out) == (name == "momentum")


def test_optimizers_unknown_name_is_one_line_status_2(capsys):
    assert cli.main(["optimizers", "adamm"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean 'adam'?" in err and "signum" in err
