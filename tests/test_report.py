"""swarm.report: files, self-contained HTML, valid figures, numbers equal to swarm.analysis."""
import csv
import html as htmlmod
import math
import re
import time

import numpy as np
import pytest

import swarm
from swarm import analysis, cli, extras, report, starts
from swarm import landscapes as L
from swarm import optimizers as O

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def study():
    # an lr grid (sgd), an lr × momentum grid (momentum) and a third kind, 2-D
    return swarm.run(L.gaussian_peaks(dim=2, peaks=21),
                     [O.sgd(lr=[0.01, 0.05]), O.momentum(lr=[0.005, 0.01], momentum=[0.8, 0.9]),
                      O.adam(lr=0.05)],
                     instances=3, starts=200, steps=150, noise=0.5, seed=0)


@pytest.fixture(scope="module")
def written(study, tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    extras.prepare(study, d, n=40)                 # the study's explicit extra-run step
    out = report.write(study, d)
    return study, d, out


def png_ok(path, min_w=400, min_h=250):
    from matplotlib.image import imread
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, path
    assert 5_000 < len(data) < 3_000_000, (path, len(data))
    img = imread(path)
    h, w = img.shape[:2]
    assert w >= min_w and h >= min_h, (path, img.shape)
    assert img[..., :3].std() > 0.02, f"{path} looks blank"


def md_table(md, header_start):
    """Rows (lists of cells) of the Markdown table whose header begins with header_start."""
    lines = md.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("| " + header_start))
    head = [c.strip() for c in lines[i].strip("|").split(" | ")]
    rows = []
    for line in lines[i + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split(" | ")])
    return head, rows


def test_files_and_figures(written):
    res, d, out = written
    assert out == d
    for name in ("report.md", "report.html", "tables/overall.csv", "tables/paired.csv"):
        assert (d / name).is_file(), name
    figs = {p.name for p in (d / "figures").glob("*.png")}
    assert {"p_global.png", "p_vs_lr.png", "heatmap_momentum.png", "ecdf.png",
            "basin_maps.png", "trajectories.png"} <= figs
    assert "heatmap_sgd.png" not in figs          # sgd varies one hyperparameter only
    for f in figs:
        png_ok(d / "figures" / f)
    md = (d / "report.md").read_text()
    for f in figs:
        assert f"](figures/{f})" in md
    assert "failed" not in md


def test_html_is_self_contained(written):
    _, d, _ = written
    html = (d / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*['"]?(https?:|//|figures/)""", html)
    assert "<link" not in html and "<script" not in html
    n_img = html.count("src='data:image/png;base64,")
    assert n_img == len(list((d / "figures").glob("*.png"))) >= 6
    assert "<table>" in html and "<th>P(global)</th>" in html


def ci(row, key):
    return report.fmt_ci(row[f"{key}_low"], row[f"{key}_high"])


def check_escape_table(md, rows):
    """The escape / first-hit table of report.md against analysis.overall rows."""
    head, cells = md_table(md, "optimizer | non-global starts")
    col = {h: i for i, h in enumerate(head)}
    assert [c[0] for c in cells] == [r["name"] for r in rows]
    for r, c in zip(rows, cells):
        assert c[col["non-global starts"]] == str(r["nonglobal_starts"])
        assert c[col["P(escape)"]] == f"{r['p_escape']:.4f}"
        assert c[col["P(escape) family 95%"]] == ci(r, "p_escape")
        assert c[col["P(escape) Wilson 95%"]] == ci(r, "p_escape_wilson")
        assert c[col["P(escape) C–P 95%"]] == ci(r, "p_escape_cp")
        assert c[col["P(esc→global)"]] == f"{r['p_escape_to_global']:.4f}"
        assert c[col["P(esc→global) family 95%"]] == ci(r, "p_escape_to_global")
        assert c[col["P(esc→global) Wilson 95%"]] == ci(r, "p_escape_to_global_wilson")
        assert c[col["P(esc→global) C–P 95%"]] == ci(r, "p_escape_to_global_cp")
        assert c[col["P(hit)"]] == f"{r['p_hit']:.4f}"
        med = c[col["median hit step [CI]"]]
        if math.isnan(r["median_hit_step"]):
            assert med == "–"
        else:
            assert med == (f"{r['median_hit_step']:.0f} "
                           f"[{report.fmt_steps(r['median_hit_step_low'])}, "
                           f"{report.fmt_steps(r['median_hit_step_high'])}]")
        assert c[col["aRT (steps)"]] == ("∞" if math.isinf(r["art"]) else f"{r['art']:.1f}")


def test_median_hit_and_art_cells(tmp_path):
    """A study where most trajectories hit: finite medians with intervals, and aRT."""
    res = swarm.run(L.double_well(dim=1), [O.sgd(lr=0.05), O.momentum(lr=0.02, momentum=0.9)],
                    instances=2, starts=60, steps=200, noise=0.3, seed=0,
                    start=starts.at_minimum(0, sd=0.8))
    report.write(res, tmp_path, extra_runs=False)
    rows = analysis.overall(res)
    assert all(np.isfinite(r["median_hit_step"]) and np.isfinite(r["art"]) for r in rows)
    check_escape_table((tmp_path / "report.md").read_text(), rows)


def test_markdown_numbers_are_the_analysis_numbers(written):
    res, d, _ = written
    md = (d / "report.md").read_text()
    rows = analysis.overall(res)
    head, cells = md_table(md, "optimizer | n | P(global)")
    assert head[:4] == ["optimizer", "n", "P(global)", "family-level 95%"]   # the headline
    assert [c[0] for c in cells] == [r["name"] for r in rows]
    col = {h: i for i, h in enumerate(head)}
    for r, c in zip(rows, cells):
        assert c[col["n"]] == str(r["n"])
        assert c[col["P(global)"]] == f"{r['p_global']:.4f}"
        assert c[col["family-level 95%"]] == \
            f"[{r['p_global_low']:.4f}, {r['p_global_high']:.4f}]"
        assert c[col["Wilson 95%"]] == \
            f"[{r['p_global_wilson_low']:.4f}, {r['p_global_wilson_high']:.4f}]"
        assert c[col["Clopper–Pearson 95%"]] == \
            f"[{r['p_global_cp_low']:.4f}, {r['p_global_cp_high']:.4f}]"
        assert c[col["cluster bootstrap 95%"]] == \
            f"[{r['p_global_boot_low']:.4f}, {r['p_global_boot_high']:.4f}]"
        assert c[col["per-instance range"]] == \
            f"[{r['p_instance_min']:.4f}, {r['p_instance_max']:.4f}]"
        assert c[col["diverged"]] == str(r["diverged"])
    # escapes, escapes to the global basin and first hits
    check_escape_table(md, rows)
    assert any(r["escaped_to_global"] for r in rows)
    # the paired table: McNemar and Holm p-values as computed
    pairs = analysis.paired(res)
    head, cells = md_table(md, "A | B |")
    assert len(cells) == len(pairs) == 21
    for p, c in zip(pairs, cells):
        assert (c[0], c[1]) == (p["name_a"], p["name_b"])
        assert (c[2], c[3]) == (str(p["n10"]), str(p["n01"]))
        assert c[4] == f"{p['difference']:+.4f}"
        assert c[-2] == report.fmt_pvalue(p["pvalue"])
        assert c[-1] == report.fmt_pvalue(p["p_holm"])
    # the per-start-basin table, every column
    basin = analysis.per_start_basin(res)
    head, cells = md_table(md, "optimizer | start basin")
    col = {h: i for i, h in enumerate(head)}
    assert [(c[0], c[1], c[2]) for c in cells] == \
        [(r["name"], r["start"], str(r["n"])) for r in basin]
    for r, c in zip(basin, cells):
        assert c[col["P(global)"]] == report.fmt_prob(r["p_global"])
        for h, key in (("family-level 95%", "p_global"), ("Wilson 95%", "p_global_wilson"),
                       ("Clopper–Pearson 95%", "p_global_cp"),
                       ("cluster bootstrap 95%", "p_global_boot"),
                       ("P(escape) family 95%", "p_escape"),
                       ("P(escape) Wilson 95%", "p_escape_wilson"),
                       ("P(escape) C–P 95%", "p_escape_cp"),
                       ("P(esc→global) family 95%", "p_escape_to_global"),
                       ("P(esc→global) Wilson 95%", "p_escape_to_global_wilson"),
                       ("P(esc→global) C–P 95%", "p_escape_to_global_cp")):
            assert c[col[h]] == ci(r, key), (r["name"], r["start"], h)
        assert c[col["P(escape)"]] == report.fmt_prob(r["p_escape"])
        assert c[col["P(esc→global)"]] == report.fmt_prob(r["p_escape_to_global"])
    # the CSV tables hold the analysis values, full precision
    for fname, want in (("overall.csv", rows), ("paired.csv", pairs),
                        ("per_start_basin.csv", basin)):
        with (d / "tables" / fname).open() as fh:
            got = list(csv.DictReader(fh))
        assert len(got) == len(want), fname
        for g, w in zip(got, want):
            assert set(w) <= set(g), fname
            assert all(g[k] == "" for k in set(g) - set(w))   # other arms' hyperparameters
            for k, v in w.items():
                if isinstance(v, (str, bool)):
                    assert g[k] == str(v)
                elif v is None:
                    assert g[k] == ""
                elif isinstance(v, float) and math.isnan(v):
                    assert g[k] == "nan", (fname, k)
                else:
                    assert float(g[k]) == v, (fname, k, g[k], v)
    # one HTML table cell: the first row of the P(global) table
    page = (d / "report.html").read_text()
    table = page[page.index("<table>"):page.index("</table>")]
    first = re.findall(r"<tr>(.*?)</tr>", table[table.index("<tbody>"):])[0]
    tds = [htmlmod.unescape(x) for x in re.findall(r"<td>(.*?)</td>", first)]
    assert tds[0] == rows[0]["name"] and tds[2] == f"{rows[0]['p_global']:.4f}"
    assert tds[3] == ci(rows[0], "p_global")
    # tables/overall.csv is summary.csv: one table, one vocabulary
    res.to_csv(d / "summary_again.csv")
    assert (d / "tables" / "overall.csv").read_bytes() == (d / "summary_again.csv").read_bytes()
    # the headline's footnote says which question each interval answers
    assert "P(global) for a landscape drawn from the family" in md
    assert "P(global) on these particular instances" in md
    # provenance
    assert res.hash in md and "git commit" in md and "backend: cpu" in md


def test_story_start_outcomes_differ(study):
    grid, configs, total, n = extras.basin_grid_run(study, n=30)
    assert grid.spec["starts"] == 900 and grid.spec["noise"] == [0.0]
    assert (len(configs), total) == (6, 7)      # 2 sgd + 4 momentum + 1 adam, capped at 6
    assert {study.arms[a]["label"] for a, _ in configs} == {"sgd", "momentum", "adam"}
    starts = extras.story_starts(study, grid, configs, n)
    assert starts
    inst = L.gaussian_peaks(dim=2, peaks=21).instance(0, 0)
    for cell, x0, _, _ in starts:
        assert inst.basin(x0) == grid.arm(0)["start_basin"][0][cell]
        ends = {int(grid.arm(i)["end_basin"][0][cell]) for i in range(len(configs))}
        assert len(ends) > 1
    story_check(study, grid, configs, n, starts)


@pytest.mark.parametrize("dim", [1, 3])
def test_non_2d_skips_maps_without_error(tmp_path, dim):
    res = swarm.run(L.gaussian_peaks(dim=dim, peaks=5), [O.sgd(lr=0.05), O.adam(lr=0.05)],
                    instances=2, starts=100, steps=60, noise=0.3, seed=1)
    res.save(tmp_path)
    res = swarm.load(tmp_path)                      # a loaded result (JSON metadata) works too
    assert extras.prepare(res, tmp_path) is None and extras.reason_none(res)
    assert not (tmp_path / "figures.npz").exists()
    report.write(res, tmp_path)
    figs = {p.name for p in (tmp_path / "figures").glob("*.png")}
    assert figs == {"p_global.png", "ecdf.png"}     # no lr grid, no σ grid, not 2-D
    md = (tmp_path / "report.md").read_text()
    assert f"2-D landscapes only (this one is {dim}-D)" in md
    assert "no optimizer has more than one lr" in md
    assert "failed" not in md
    png_ok(tmp_path / "figures" / "p_global.png")


def test_extra_runs_off_and_sigma_grid(tmp_path):
    res = swarm.run(L.rastrigin(dim=2), [O.sgd(lr=0.004), O.momentum(lr=0.002)], instances=2,
                    starts=64, steps=40, noise=[0.5, 2.0], seed=2)
    report.write(res, tmp_path, extra_runs=False)
    figs = {p.name for p in (tmp_path / "figures").glob("*.png")}
    assert "basin_maps.png" not in figs and "trajectories.png" not in figs
    assert "p_vs_noise.png" in figs and "p_vs_lr.png" not in figs
    png_ok(tmp_path / "figures" / "p_vs_noise.png")
    md = (tmp_path / "report.md").read_text()
    assert "left out (extra_runs=False)" in md and "failed" not in md


def test_report_from_aggregates_only_has_the_same_tables(written, tmp_path):
    """A study that kept aggregates only (too large to keep every trajectory) reports the same
    P(global), paired and per-start-basin tables; only the hit median is histogram-based."""
    res, d, _ = written
    spec = res.spec
    agg_only = swarm.run(L.gaussian_peaks(dim=2, peaks=21),
                         [O.sgd(lr=[0.01, 0.05]), O.momentum(lr=[0.005, 0.01],
                                                             momentum=[0.8, 0.9]),
                          O.adam(lr=0.05)], instances=spec["instances"],
                         starts=spec["starts"], steps=spec["steps"], noise=0.5, seed=0,
                         keep_outcomes=False)
    assert agg_only.outcomes is None and agg_only.aggregate == res.aggregate
    extras.prepare(agg_only, tmp_path, n=20)
    report.write(agg_only, tmp_path)
    assert {"basin_maps.png", "trajectories.png"} <= {p.name for p in
                                                      (tmp_path / "figures").glob("*.png")}
    md, md_kept = (tmp_path / "report.md").read_text(), (d / "report.md").read_text()
    assert "order-statistic interval" in md and "order-statistic" not in md_kept
    for table in ("A | B |", "optimizer | start basin"):
        assert md_table(md, table) == md_table(md_kept, table)
    assert md_table(md, "optimizer | n | P(global)") == \
        md_table(md_kept, "optimizer | n | P(global)")
    head, cells = md_table(md, "optimizer | non-global starts")
    head_k, cells_k = md_table(md_kept, "optimizer | non-global starts")
    keep = [i for i, h in enumerate(head) if not h.startswith("median")]
    assert head == head_k and len(keep) == len(head) - 1
    assert [[c[i] for i in keep] for c in cells] == [[c[i] for i in keep] for c in cells_k]


def story_check(res, grid, configs, n, starts):
    """Each start's story / rolls-through flags recomputed from the grid outcomes and from
    swarm.path: story = a momentum-type optimizer reaches the global target where every SGD
    configuration ends in a local basin; rolls through = such a momentum path passes SGD's end
    point within 15 % of the distance from there to the nearest other minimum."""
    inst = extras.family(res).instance(int(res.spec["seed"]), 0)
    ng = inst.n_global
    kinds = [res.arms[a]["kind"] for a, _ in configs]
    opts = [extras.optimizer(res.arms[a]) for a, _ in configs]
    steps = res.spec["steps"]
    for cell, x0, story, rolls in starts:
        E = [int(grid.arm(i)["end_basin"][0][cell]) for i in range(len(configs))]
        H = [int(grid.arm(i)["hit_step"][0][cell]) >= 0 for i in range(len(configs))]
        start_global = 0 <= grid.arm(0)["start_basin"][0][cell] < ng
        mom = [i for i, k in enumerate(kinds) if k in ("momentum", "nesterov")
               and H[i] and 0 <= E[i] < ng]
        sgd = [i for i, k in enumerate(kinds) if k == "sgd"]
        assert story == (not start_global and bool(mom) and bool(sgd)
                         and all(E[i] >= ng for i in sgd))
        if not story:
            assert not rolls
            continue
        end = swarm.path(inst, opts[sgd[0]], x0, steps=steps)[-1]
        r = 0.15 * np.sort(np.linalg.norm(inst.minima - end, axis=1))[1]
        closest = min(np.min(np.linalg.norm(swarm.path(inst, opts[i], x0, steps=steps) - end,
                                            axis=1)) for i in mom)
        assert rolls == (closest <= r), (cell, closest, r)


def test_demo_like_study_finds_a_momentum_story_start():
    """The demo's landscape and optimizers: the trajectory figure has a start where momentum
    reaches the global basin and SGD stops in a local minimum, and its flags are true."""
    res = swarm.run(L.gaussian_peaks(dim=2, peaks=21), cli.demo_optimizers(), instances=1,
                    starts=20, steps=300, noise=0.5, seed=0)
    grid, configs, _, n = extras.basin_grid_run(res, n=60)
    starts = extras.story_starts(res, grid, configs, n)
    assert any(story for _, _, story, _ in starts)
    story_check(res, grid, configs, n, starts)


def test_rolls_through_only_when_the_path_passes_sgds_minimum():
    """Tilted 2-D double well: from the outer wall of the local well, SGD stops in the local
    minimum and heavy-ball momentum rolls through it into the global well."""
    res = swarm.run(L.double_well(dim=2, tilt=0.1), [O.sgd(lr=0.05),
                                                      O.momentum(lr=0.05, momentum=0.9)],
                    instances=1, starts=10, steps=300, noise=0.0, seed=0)
    grid, configs, _, n = extras.basin_grid_run(res, n=40)
    starts = extras.story_starts(res, grid, configs, n)
    story_check(res, grid, configs, n, starts)
    cell, x0, story, rolls = starts[0]
    assert story and rolls                          # a rolling start is preferred
    assert any(s and not r for _, _, s, r in starts)     # and another route is told apart
    inst = extras.family(res).instance(0, 0)
    end = swarm.path(inst, O.sgd(lr=0.05), x0, steps=300)[-1]
    local = inst.minima[np.argmin(np.linalg.norm(inst.minima - end, axis=1))]
    assert np.linalg.norm(end - local) < 1e-3 and np.linalg.norm(local - inst.x_star) > 1
    # the caption says "rolls through" for such a panel, "another route" otherwise
    cap = report.trajectory_caption(res, configs, [(x0, True, True, [])])
    assert "rolls through" in cap and "another route" not in cap
    cap = report.trajectory_caption(res, configs, [(x0, False, False, []),
                                                    (x0, True, False, [])])
    assert "second panel" in cap and "another route" in cap and "rolls through" not in cap
    cap = report.trajectory_caption(res, configs, [(x0, False, False, [])])
    assert "No start of the grid" in cap and "rolls" not in cap


def no_simulation(monkeypatch):
    """swarm.run and swarm.path (and the engine's own names) raise from here on."""
    import swarm.engine

    def boom(*args, **kwargs):
        raise AssertionError("the report ran a simulation")
    for mod in (swarm, swarm.engine):
        monkeypatch.setattr(mod, "run", boom)
        monkeypatch.setattr(mod, "path", boom)


def small_2d_study(seed=3):
    return swarm.run(L.gaussian_peaks(dim=2, peaks=21), [O.sgd(lr=0.02),
                                                         O.momentum(lr=0.02, momentum=0.9)],
                     instances=2, starts=40, steps=60, noise=0.5, seed=seed)


def test_report_regenerates_bit_for_bit(tmp_path, monkeypatch):
    """`swarm report DIR` twice (a second apart) writes identical bytes: no generation time
    or report timing; the study's own provenance (from the manifest) is kept. The report only
    reads: swarm.run and swarm.path raise, and every figure is still drawn."""
    res = small_2d_study()
    res.provenance["wall_s"] = 1.25
    res.save(tmp_path)
    assert cli.main(["extras", str(tmp_path)]) == 0          # the study's extra-run step
    no_simulation(monkeypatch)

    def files():
        return {p.relative_to(tmp_path).as_posix(): p.read_bytes()
                for p in sorted(tmp_path.rglob("*"))
                if p.is_file() and p.name not in ("outcomes.npz", "manifest.json")}

    assert cli.main(["report", str(tmp_path)]) == 0
    first = files()
    time.sleep(1.1)
    assert cli.main(["report", str(tmp_path)]) == 0
    second = files()
    assert {"report.md", "report.html", "figures/trajectories.png", "figures/basin_maps.png",
            "figures/p_global.png", "figures/ecdf.png", "figures.npz"} <= set(first)
    assert sorted(first) == sorted(second)
    for name in first:
        assert first[name] == second[name], name
    md = first["report.md"].decode()
    assert "study wall time: 1.25 s" in md and f"study created {res.provenance['created']}" in md
    assert "failed" not in md and "basin maps and trajectories:" not in md


def test_without_figure_data_the_report_says_how_to_add_it(tmp_path, monkeypatch, capsys):
    """A directory made by Result.save alone: the report has no basin maps or trajectories and
    says how to add them; nothing is simulated behind the user's back. `swarm extras DIR`
    adds them."""
    res = small_2d_study()
    res.save(tmp_path)
    with monkeypatch.context() as m:
        no_simulation(m)
        report.write(swarm.load(tmp_path), tmp_path)
    figs = {p.name for p in (tmp_path / "figures").glob("*.png")}
    assert figs == {"p_global.png", "ecdf.png"}
    md = (tmp_path / "report.md").read_text()
    assert ("basin maps and trajectories: this results directory has no figure data "
            "(figures.npz); add it with `swarm extras DIR`") in md
    assert "swarm.extras.prepare(result, DIR)" in md and "failed" not in md
    with monkeypatch.context() as m:
        no_simulation(m)
        assert cli.main(["report", str(tmp_path)]) == 0
    assert f"has no figure data; add it with: swarm extras {tmp_path}" in capsys.readouterr().out
    assert cli.main(["extras", str(tmp_path)]) == 0
    assert "figure data written to" in capsys.readouterr().out
    no_simulation(monkeypatch)
    assert cli.main(["report", str(tmp_path)]) == 0
    assert "no figure data" not in capsys.readouterr().out
    figs = {p.name for p in (tmp_path / "figures").glob("*.png")}
    assert {"basin_maps.png", "trajectories.png"} <= figs
    assert "no figure data" not in (tmp_path / "report.md").read_text()


def test_figure_data_is_reproducible_and_matches_the_extra_runs(tmp_path):
    """Same study, same bytes (two directories, two runs); the saved arrays are the grid run's
    outcomes and swarm.path's paths."""
    res = small_2d_study()
    a = extras.prepare(res, tmp_path / "a", n=20)
    b = extras.prepare(small_2d_study(), tmp_path / "b", n=20)
    assert a.name == "figures.npz" and a.read_bytes() == b.read_bytes()
    data = extras.read(tmp_path / "a", res)
    grid, configs, total, n = extras.basin_grid_run(res, n=20)
    assert (data.n, data.configs, data.total) == (n, configs, total) == (20, configs, 2)
    assert np.array_equal(data.start_basin, grid.arm(0)["start_basin"][0])
    for i in range(len(configs)):
        assert np.array_equal(data.end_basin[i], grid.arm(i)["end_basin"][0])
        assert np.array_equal(data.hit_step[i], grid.arm(i)["hit_step"][0])
    picked = extras.story_starts(res, grid, configs, n)
    assert len(picked) == len(data.starts())
    for (c, x, st, r), (c2, x2, st2, r2) in zip(picked, data.starts()):
        assert (c, st, r) == (c2, st2, r2) and np.array_equal(x, x2)
    inst = extras.family(res).instance(3, 0)
    for k, (_, x0, _, _) in enumerate(picked):
        for i, (arm, _) in enumerate(configs):
            want = swarm.path(inst, extras.optimizer(res.arms[arm]), x0, steps=60)
            assert np.array_equal(data.paths[k, i], want, equal_nan=True)


def _rewrite(path, **changes):
    """figures.npz with fields changed and its digest recomputed (a crafted file)."""
    from swarm.files import digest, read_npz
    z = read_npz(path)
    z.update(changes)
    z.pop("digest")
    path.write_bytes(extras.npz_bytes({**z, "digest": np.array([digest(z)])}))


def test_figure_data_is_checked_on_read(tmp_path):
    res = small_2d_study()
    path = extras.prepare(res, tmp_path, n=16)
    good = path.read_bytes()
    z = dict(np.load(path))
    # a flipped byte in an array: the digest does not match (or the zip is damaged)
    data = bytearray(good)
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=re.escape(str(path))):
        extras.read(tmp_path, res)
    for field, value, msg in (
            ("cells", z["cells"] + 10 ** 6, "field 'cells' must be grid cells"),
            ("hit_step", z["hit_step"] + 10 ** 6, "field 'hit_step' holds values outside"),
            ("end_basin", z["end_basin"] * 0 - 5, "field 'end_basin' holds basin labels"),
            ("arms", z["arms"][::-1].copy(), "field 'arms' must be increasing"),
            ("paths", z["paths"][:, :, :-1], "field 'paths' has shape"),
            ("end_basin", z["end_basin"].astype(np.int32), "field 'end_basin' has dtype"),
            ("story", z["story"].astype(np.int64), "field 'story' has dtype"),
            ("rolls", z["story"] | True, "field 'rolls' is set for a start"),
            ("format", np.array([99], np.int64), "field 'format' is 99")):
        path.write_bytes(good)
        _rewrite(path, **{field: value})
        with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + re.escape(msg)):
            extras.read(tmp_path, res)
        with pytest.raises(ValueError, match=re.escape(msg)):
            report.write(res, tmp_path)       # refused, as the other result files are
        assert not (tmp_path / "report.md").exists() and not (tmp_path / "tables").exists()
    path.write_bytes(good)
    digest_only = dict(np.load(path))
    digest_only["digest"] = np.array(["0" * 64])
    path.write_bytes(extras.npz_bytes(digest_only))
    with pytest.raises(ValueError, match="does not match its digest"):
        extras.read(tmp_path, res)
    # a link is refused, never followed
    path.unlink()
    (tmp_path / "elsewhere.npz").write_bytes(good)
    path.symlink_to(tmp_path / "elsewhere.npz")
    with pytest.raises(ValueError, match="symbolic link"):
        extras.read(tmp_path, res)
    with pytest.raises(ValueError, match="symbolic link"):
        extras.prepare(res, tmp_path, n=16)
    assert (tmp_path / "elsewhere.npz").read_bytes() == good


def test_figure_data_of_another_study_is_not_drawn(tmp_path):
    """figures.npz left by an earlier study in the same directory belongs to another study:
    the report says so (and how to add this study's) instead of drawing the wrong maps."""
    old, new = small_2d_study(seed=3), small_2d_study(seed=4)
    extras.prepare(old, tmp_path, n=16)
    new.save(tmp_path)
    with pytest.raises(extras.Stale):
        extras.read(tmp_path, new)
    report.write(new, tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert "figures.npz holds the figure data of another study" in md
    assert "`swarm extras DIR`" in md
    assert not (tmp_path / "figures" / "basin_maps.png").exists()


def test_few_instances_are_flagged(written, tmp_path):
    _, d, _ = written                                # 3 instances
    md = (d / "report.md").read_text()
    assert "Few instances (3 < 10)" in md and "Only 3 landscape instances" in md
    many = swarm.run(L.double_well(dim=1), O.sgd(lr=0.05), instances=10, starts=8, steps=20,
                     noise=0.5, seed=0)
    report.write(many, tmp_path, extra_runs=False)
    md = (tmp_path / "report.md").read_text()
    assert "Few instances" not in md and "landscape instances (fewer" not in md
    rows = analysis.overall(many)
    assert np.isfinite(rows[0]["p_global_low"]) and "cluster-robust t" in md


def test_the_report_package_runs_nothing_and_stays_small():
    """No module of swarm/report/ calls swarm.run, swarm.path or the extra runs of
    swarm.extras, or imports the engine; the largest file stays under 400 lines."""
    import ast
    from pathlib import Path
    runs = {"run", "path", "compute", "prepare", "basin_grid_run", "story_starts",
            "rolls_through"}
    files = sorted(Path(report.__file__).parent.glob("*.py"))
    assert len(files) >= 6
    for f in files:
        src = f.read_text()
        assert src.count("\n") < 400, f
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                assert not (node.value.id in ("swarm", "extras", "engine")
                            and node.attr in runs), (f, node.lineno)
            elif isinstance(node, ast.ImportFrom):
                assert node.module != "swarm.engine", (f, node.lineno)
                assert not (node.module in ("swarm", "swarm.extras")
                            and runs & {a.name for a in node.names}), (f, node.lineno)
            elif isinstance(node, ast.Import):
                assert "swarm.engine" not in {a.name for a in node.names}, (f, node.lineno)


def test_schedules_the_noise_sentence_and_the_arm_names(tmp_path):
    """With a schedule among the arms the report says that the temperature follows it, and the
    arm names show the schedule (it varies); without one, no such sentence."""
    res = swarm.run(L.double_well(dim=1), [O.sgd(lr=0.05, schedule=[None, "cosine(T_max=20)"])],
                    instances=2, starts=8, steps=20, noise=0.5, seed=0)
    assert [a.get("schedule") for a in res.arms] == [None, "cosine(T_max=20, eta_min=0.0)"]
    names = analysis.arm_names(res)
    assert names == ["sgd(lr=0.05)", "sgd(lr=0.05, schedule=cosine(T_max=20, eta_min=0.0))"]
    assert analysis.varying_keys(res) == ["schedule"]
    report.write(res, tmp_path, extra_runs=False)
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert ("The noise is additive to the gradient, so with a learning-rate schedule the "
            "temperature follows the schedule: T_t = lr_t·σ²/2 for SGD") in md
    assert "Schedules in this study: `cosine(T_max=20, eta_min=0.0)`" in md
    head, rows = md_table(md, "optimizer")
    assert [r[0].strip("`") for r in rows] == names
    plain = swarm.run(L.double_well(dim=1), [O.sgd(lr=0.05)], instances=2, starts=4, steps=5,
                      noise=0.5, seed=0)
    report.write(plain, tmp_path / "plain", extra_runs=False)
    md = (tmp_path / "plain" / "report.md").read_text(encoding="utf-8")
    assert "**Gradient noise** σ = 0.5" in md and "follows the schedule" not in md
