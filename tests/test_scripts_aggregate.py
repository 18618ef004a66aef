"""scripts/bench_aggregate.py at a tiny size: every part timed, at each thread count asked."""
import numpy as np


def test_aggregate_benchmark_times_every_part():
    from scripts import bench_aggregate as B
    for distinct in (False, True):
        rows = B.run(n=6000, threads=[1], distinct=distinct, repeats=1)
        assert [r["threads"] for r in rows] == [1]
        parts = {k: v for k, v in rows[0].items() if k != "threads"}
        assert set(parts) >= {"tally", "exact sums (2)", "basin table", "merge", "from_device"}
        assert all(v > 0 for v in parts.values())
        text = B.table(rows, 6000)
        assert "from_outcomes" in text and "6,000 trajectories" in text


def test_aggregate_benchmark_outcomes_look_like_the_workload():
    from scripts import bench_aggregate as B
    o = B.outcomes(20000)
    assert all(v.shape == (1, 20000) for v in o.values())
    assert np.unique(o["start_basin"]).size <= 121 and 0 < (o["hit_step"] >= 0).mean() < 0.05
    assert np.unique(B.outcomes(20000, distinct=True)["end_basin"]).size > 19000


def test_device_parts_give_the_cpus_aggregate():
    """bench_aggregate times Aggregate.from_device on parts made from the CPU's aggregate:
    they must be the same aggregate (its rows shuffled, as the device leaves them)."""
    from scripts import bench_aggregate as B
    from swarm import aggregate as A
    o = B.outcomes(5000)
    inst = np.zeros(5000, np.int64)
    ref = A.Aggregate.from_outcomes(o, inst, 1, 1, B.STEPS)
    assert A.Aggregate.from_device(*B.device_parts(o, ref), 0, 1, B.STEPS) == ref
