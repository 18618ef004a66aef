"""Tests for scripts/bench_distributed.py: a tiny run on local Dask clusters of 1 and 2
workers (same hash everywhere, positive rates, the table), and its command line."""

import json
import math

import pytest

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def bench():
    from scripts import bench_distributed
    return bench_distributed


@pytest.fixture(scope="module")
def result(bench):
    return bench.run(trajectories=1024, steps=5, chunk_size=128, workers=(1, 2), tiny_tasks=8)


def test_rows_agree_and_have_rates(result):
    rows = result["rows"]
    assert [r["workers"] for r in rows] == [0, 0, 1, 2]
    for r in rows:
        assert r["hash_ok"], r["run"]
        assert r["wall_s"] > 0 and math.isfinite(r["mtsps"]) and r["mtsps"] > 0
        assert r["speedup"] > 0
    assert rows[2]["speedup"] == pytest.approx(1.0)
    assert result["chunks"] == 8 and result["trajectories"] == 1024


def test_overhead_is_measured(result):
    o = result["overhead"]
    assert o["tasks"] == 8 and o["workers"] == 1 and o["hash_ok"]
    assert o["per_task_ms"] > 0 and o["per_task_inprocess_ms"] > 0
    assert o["overhead_ms"] == pytest.approx(o["per_task_ms"] - o["per_task_inprocess_ms"])


def test_table(bench, result):
    text = bench.table(result)
    assert "| run | wall s | M traj-steps/s | speed-up vs 1 worker | same hash |" in text
    assert "LocalCluster, 2 workers" in text and "ms per task" in text
    assert "machine:" in text and " NO " not in text


def test_main_prints_and_writes_json(bench, result, monkeypatch, capsys, tmp_path):
    seen = {}

    def fake_run(*args):
        seen["args"] = args
        return result
    monkeypatch.setattr(bench, "run", fake_run)
    out = tmp_path / "b.json"
    bench.main(["--trajectories", "2e3", "--steps", "3", "--workers", "2", "--json", str(out)])
    assert seen["args"] == (2000, 3, 1 << 14, (2,), 400)
    assert "LocalCluster" in capsys.readouterr().out
    assert json.loads(out.read_text())["rows"][0]["run"] == "in-process, 1 thread"
