"""scripts/bench_instances.py at a tiny size: generation rates and a study's wall time and peak
memory, measured in fresh processes."""


def test_instances_benchmark_rows():
    from scripts import bench_instances as B
    g = B.generate("rastrigin-2d", "landscapes.rastrigin(dim=2)", 2_000, repeats=1)
    assert g["instances"] == 2_000 and g["instances_per_s"] > 0
    assert g["bank_bytes"] >= 2_000 * 8 * 8          # a kernel row of ≥ 8 floats each
    s = B.study(300, 2, 3)
    assert s["instances"] == 300 and 0 < s["kernel_s"] <= s["wall_s"]
    assert 0.05 < s["peak_rss_gib"] < 4 and 0 <= s["p_global"] <= 1
    text = B.table([g, s])
    assert "rastrigin-2d" in text and "300 × 2 × 3" in text


def test_instances_benchmark_case_line():
    from scripts import bench_instances as B
    line = B.case(60, 2, 3)
    assert line.startswith("60 × 2 × 3: wall ") and "peak RSS" in line
