"""scripts/bench_memory.py at a tiny size: streams, reports RSS, and the counts are right."""
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_memory.py"


def load():
    from scripts import bench_memory
    return bench_memory


def test_memory_benchmark_streams_and_reports_rss():
    mod = load()
    r = mod.run(trajectories=50_000, instances=10, steps=2, chunk_size=4096)
    assert r["trajectories"] == 50_000 and r["kept_bytes_would_be"] == 50_000 * 41
    # peak RSS is the whole process's high-water mark (here: the test session's)
    assert 0 < r["rss_before_mib"] <= r["peak_rss_mib"]
    assert 0 <= r["p_global"] <= 1
    assert "peak RSS" in mod.table(r)


def test_memory_benchmark_in_a_fresh_process_is_under_the_limit():
    p = subprocess.run([sys.executable, str(SCRIPT), "--trajectories", "200000",
                        "--instances", "4", "--chunk-size", "8192"], capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "200,000" in p.stdout and "under the 1 GiB limit" in p.stdout
