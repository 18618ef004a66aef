"""swarm.report: files, self-contained HTML, valid figures, numbers equal to swarm.analysis."""
import re

import pytest

import swarm
from swarm import analysis, report
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
    out = report.write(study, d, basin_grid=40)
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


def test_markdown_numbers_are_the_analysis_numbers(written):
    res, d, _ = written
    md = (d / "report.md").read_text()
    rows = analysis.overall(res)
    head, cells = md_table(md, "optimizer | n | P(global)")
    assert [c[0] for c in cells] == [r["name"] for r in rows]
    col = {h: i for i, h in enumerate(head)}
    for r, c in zip(rows, cells):
        assert c[col["n"]] == str(r["n"])
        assert c[col["P(global)"]] == f"{r['p_global']:.4f}"
        assert c[col["Wilson 95%"]] == f"[{r['wilson_low']:.4f}, {r['wilson_high']:.4f}]"
        assert c[col["Clopper–Pearson 95%"]] == f"[{r['cp_low']:.4f}, {r['cp_high']:.4f}]"
        assert c[col["cluster bootstrap 95%"]] == f"[{r['boot_low']:.4f}, {r['boot_high']:.4f}]"
        assert c[col["P(escape)"]] == f"{r['p_escape']:.4f}"
        assert c[col["diverged"]] == str(r["diverged"])
    # the paired table: McNemar and Holm p-values as computed
    pairs = analysis.paired(res)
    head, cells = md_table(md, "A | B |")
    assert len(cells) == len(pairs) == 21
    for p, c in zip(pairs, cells):
        assert (c[0], c[1]) == (p["name_a"], p["name_b"])
        assert (c[2], c[3]) == (str(p["n10"]), str(p["n01"]))
        assert c[-2] == report.fmt_pvalue(p["pvalue"])
        assert c[-1] == report.fmt_pvalue(p["p_holm"])
    # the per-start-basin table
    basin = analysis.per_start_basin(res)
    head, cells = md_table(md, "optimizer | start basin")
    assert [(c[0], c[1], c[3]) for c in cells] == \
        [(r["name"], r["start"], f"{r['p_global']:.4f}") for r in basin]
    # provenance
    assert res.hash in md and "git commit" in md and "backend: cpu" in md


def test_story_start_outcomes_differ(study):
    grid, configs, total, n = report.basin_grid_run(study, n=30)
    assert grid.spec["starts"] == 900 and grid.spec["noise"] == [0.0]
    assert (len(configs), total) == (6, 7)      # 2 sgd + 4 momentum + 1 adam, capped at 6
    assert {study.arms[a]["label"] for a, _ in configs} == {"sgd", "momentum", "adam"}
    starts = report.story_starts(study, grid, configs, n)
    assert starts
    inst = L.gaussian_peaks(dim=2, peaks=21).instance(0, 0)
    for cell, x0, _ in starts:
        assert inst.basin(x0) == grid.arm(0)["start_basin"][0][cell]
        ends = {int(grid.arm(i)["end_basin"][0][cell]) for i in range(len(configs))}
        assert len(ends) > 1


@pytest.mark.parametrize("dim", [1, 3])
def test_non_2d_skips_maps_without_error(tmp_path, dim):
    res = swarm.run(L.gaussian_peaks(dim=dim, peaks=5), [O.sgd(lr=0.05), O.adam(lr=0.05)],
                    instances=2, starts=100, steps=60, noise=0.3, seed=1)
    res.save(tmp_path)
    res = swarm.load(tmp_path)                      # a loaded result (JSON metadata) works too
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
    assert "extra runs switched off" in md and "failed" not in md


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
    report.write(agg_only, tmp_path, basin_grid=20)
    md, md_kept = (tmp_path / "report.md").read_text(), (d / "report.md").read_text()
    assert "order-statistic interval" in md and "order-statistic" not in md_kept
    for table in ("A | B |", "optimizer | start basin"):
        assert md_table(md, table) == md_table(md_kept, table)
    head, cells = md_table(md, "optimizer | n | P(global)")
    head_k, cells_k = md_table(md_kept, "optimizer | n | P(global)")
    keep = [i for i, h in enumerate(head) if not h.startswith("median")]
    assert [[c[i] for i in keep] for c in cells] == [[c[i] for i in keep] for c in cells_k]
