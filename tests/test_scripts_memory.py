"""scripts/bench_memory.py at a tiny size: streams, reports RSS, and the counts are right."""
import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_memory.py"


def load():
    spec = importlib.util.spec_from_file_location("swarm_scripts_bench_memory", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_memory_benchmark_streams_and_reports_rss(capsys):
    mod = load()
    r = mod.run(trajectories=50_000, instances=10, steps=2, chunk_size=4096)
    assert r["trajectories"] == 50_000
    assert 0 < r["rss_before_mib"] <= r["peak_rss_mib"] < 1024
    assert 0 <= r["p_global"] <= 1
    text = mod.table(r)
    assert "peak RSS" in text and "under the 1 GiB limit" in text
    assert mod.main(["--trajectories", "2000", "--instances", "2", "--chunk-size", "256"]) == 0
    assert "50,000" not in capsys.readouterr().out
