"""CPU kernel vs the CUDA kernel in Numba's CUDA simulator, every landscape × optimizer.

Run by tests/test_cuda.py in a subprocess with NUMBA_ENABLE_CUDASIM=1. In float64 the two
backends agree bit for bit (the same functions, no FMA contraction on either side); in float32
they agree to a stated tolerance."""
import os

import numpy as np
import pytest

import swarm
from swarm import landscapes as L
from swarm import optimizers as O

assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"

FAMILIES = [L.rastrigin(dim=3, rotate=True), L.ackley(dim=2), L.griewank(dim=2, rotate=True),
            L.levy(dim=3), L.styblinski_tang(dim=2, rotate=True), L.himmelblau(),
            L.double_well(dim=2, tilt=0.1), L.gaussian_peaks(dim=3, peaks=6)]
OPTS = [O.sgd(lr=0.002), O.momentum(lr=0.002), O.nesterov(lr=0.002), O.adagrad(lr=0.05),
        O.rmsprop(lr=0.01, centered=True, bias_correction=True), O.adam(lr=0.05, eps_inside=True)]


def both(fam, dtype):
    kw = dict(instances=1, starts=3, steps=5, noise=0.4, seed=9, dtype=dtype)
    return (swarm.run(fam, OPTS, backend="cpu", **kw), swarm.run(fam, OPTS, backend="cuda", **kw))


@pytest.mark.parametrize("fam", FAMILIES, ids=lambda f: f.name)
def test_float64_bit_identical(fam):
    cpu, sim = both(fam, "float64")
    assert sim.provenance["backend"] == "cuda"
    for k in cpu.outcomes:
        np.testing.assert_array_equal(cpu.outcomes[k], sim.outcomes[k], err_msg=k)
    assert cpu.hash == sim.hash


@pytest.mark.parametrize("fam", FAMILIES[:3] + FAMILIES[-1:], ids=lambda f: f.name)
def test_float32_within_tolerance(fam):
    cpu, sim = both(fam, "float32")
    np.testing.assert_allclose(cpu.outcomes["final_f"], sim.outcomes["final_f"], rtol=1e-5,
                               atol=1e-5)
    assert (cpu.outcomes["end_basin"] == sim.outcomes["end_basin"]).mean() >= 0.9


def test_chunking_on_the_simulator_is_exact():
    fam = L.rastrigin(dim=2)
    kw = dict(instances=2, starts=5, steps=4, noise=0.4, seed=1, backend="cuda")
    a = swarm.run(fam, [O.adam(lr=0.05)], chunk_size=3, **kw)
    b = swarm.run(fam, [O.adam(lr=0.05)], chunk_size=1000, **kw)
    assert a.hash == b.hash


def test_gpu_benchmark_runs_on_the_simulator():
    from scripts import bench_gpu
    rows = bench_gpu.run(n=32, steps=2, dims=(2,), dtypes=("float64",), cpu_n=64, repeats=1,
                         engine_n=32)
    assert len(rows) == 1 and rows[0]["gpu"] > 0 and rows[0]["cpu"] > 0
    assert rows[0]["generic"] > 0 and 0 < rows[0]["engine_wall"] <= rows[0]["engine"]
    assert rows[0]["engine_wall_agg"] > 0
    assert 0 < rows[0]["peak_fraction"] < 1
    assert "rastrigin-2d" in bench_gpu.table(rows)


def test_determinism_matrix_backend_by_chunks():
    """The CUDA simulator × chunk sizes (3 values) give the CPU kernel's exact aggregates."""
    fam = L.gaussian_peaks(dim=2, peaks=4)
    kw = dict(instances=2, starts=9, steps=6, noise=0.4, seed=4, keep_outcomes=False)
    ref = swarm.run(fam, OPTS[:3], backend="cpu", threads=1, **kw)
    for chunk in (3, 20, 1000):
        sim = swarm.run(fam, OPTS[:3], backend="cuda", chunk_size=chunk, **kw)
        assert sim.aggregate == ref.aggregate, chunk


def test_kept_outcomes_of_several_arms_over_uneven_chunks_are_the_cpus():
    """Chunks go through the two slots in turn (the last chunk shorter than the others), kept
    outcomes copied from the device straight into the study's arrays; every arm's outcomes,
    the later arms' start basins included (copied on the host), are the CPU kernel's, bit for
    bit."""
    fam = L.gaussian_peaks(dim=2, peaks=4)
    kw = dict(instances=3, starts=7, steps=6, noise=0.4, seed=5, keep_outcomes=True)
    ref = swarm.run(fam, OPTS[:3], backend="cpu", threads=1, **kw)
    for chunk in (3 * 8, 3 * 13):                  # 3 arms: 8 and 13 keys per chunk
        sim = swarm.run(fam, OPTS[:3], backend="cuda", chunk_size=chunk, **kw)
        for k in ref.outcomes:
            np.testing.assert_array_equal(sim.outcomes[k], ref.outcomes[k], err_msg=k)
        assert sim.hash == ref.hash and sim.aggregate == ref.aggregate


def test_gpu_slots_refuse_a_third_chunk_in_flight_and_an_unstarted_fetch():
    from swarm.engine import Plan
    from swarm.starts import uniform
    arms = [{"optimizer": OPTS[0], "config": cfg, "noise": 0.0} for cfg in OPTS[0].configs()]
    plan = Plan(L.rastrigin(dim=2), OPTS[:1], arms, 4, 8, 2, 0, uniform(), "float64", "cuda",
                1e-3, 1e-8, 8, 1 << 20)
    assert plan.n_chunks == 4 and plan.keys(1)[3] == 8         # one instance per chunk
    gpu = plan.gpu
    gpu.start(0)
    gpu.start(1)
    with pytest.raises(RuntimeError, match="every slot holds a chunk"):
        gpu.start(2)
    with pytest.raises(RuntimeError, match="chunk 2 was not started"):
        gpu.fetch(2)
    out, seconds = gpu.fetch(1)
    assert out["end_basin"].shape == (1, 8) and seconds > 0
    gpu.start(2)                                   # chunk 1's slot is free again
    assert gpu.fetch(0)[0]["hit_step"].shape == (1, 8) and gpu.fetch(2)[0] is not None
    gpu.start(3, stage=False)                      # kept outcomes: copied straight into out
    with pytest.raises(ValueError, match="needs out"):
        gpu.fetch(3)
    from swarm.result import empty_outcomes
    out, _ = gpu.fetch(3, empty_outcomes((1, 8), np.float64))
    ref = plan.chunk(3, out=empty_outcomes((1, 8), np.float64))[0]
    for k in ref:
        np.testing.assert_array_equal(out[k], ref[k], err_msg=k)


def test_above_exact_dim_the_bucketed_kernel_is_bit_identical():
    """Above kernels.cuda.EXACT_DIM the kernel sizes its local arrays by bucket and reads the
    dimension at run time (the parity tests above use exact-dimension kernels)."""
    from swarm.kernels import cuda as kcuda
    fam = L.rastrigin(dim=kcuda.EXACT_DIM + 1)
    kw = dict(instances=1, starts=2, steps=2, noise=0.4, seed=5, dtype="float64")
    cpu = swarm.run(fam, [O.adam(lr=0.05)], backend="cpu", **kw)
    sim = swarm.run(fam, [O.adam(lr=0.05)], backend="cuda", **kw)
    assert cpu.hash == sim.hash


def test_resumed_gpu_study_matches_the_cpu(tmp_path):
    """The GPU path queues the next chunk to compute before aggregating the current one. A
    study stopped after three of its four chunks (the fourth already queued), one saved chunk
    then removed, and resumed (chunks loaded between chunks computed) gives the CPU kernel's
    exact result."""
    from swarm import checkpoint
    fam = L.rastrigin(dim=2)
    kw = dict(instances=4, starts=4, steps=5, noise=0.4, seed=2, chunk_size=2)  # 4 chunks
    ref = swarm.run(fam, OPTS[:2], backend="cpu", **kw)
    seen = []

    def stop_after_three(m):
        seen.append(m)
        if len(seen) == 3:
            raise KeyboardInterrupt

    d = tmp_path / "ck"
    with pytest.raises(KeyboardInterrupt):
        swarm.run(fam, OPTS[:2], backend="cuda", checkpoint=d, resume=True,
                  progress=stop_after_three, **kw)
    saved = sorted((d / checkpoint.CHUNKS).glob("*.npz"))
    assert [int(f.stem) for f in saved] == [0, 1, 2]
    saved[1].unlink()
    res = swarm.run(fam, OPTS[:2], backend="cuda", checkpoint=d, resume=True, **kw)
    assert res.provenance["backend"] == "cuda"
    assert res.hash == ref.hash and res.aggregate == ref.aggregate


def test_many_instances_with_moments_on_the_simulator_are_the_cpus():
    """40 instances × 2 starts, chunks of a few instances each (so every chunk's instance arrays
    start at their own i0), aggregates keeping totals and moments only: the CPU's, exactly."""
    fam = L.rastrigin(dim=2, rotate=True)
    kw = dict(instances=40, starts=2, steps=4, noise=0.4, seed=3, keep_outcomes=False,
              max_instance_rows=10)
    ref = swarm.run(fam, OPTS[:2], backend="cpu", **kw)
    assert ref.aggregate.counts is None
    for chunk in (2 * 6, 2 * 80):
        sim = swarm.run(fam, OPTS[:2], backend="cuda", chunk_size=chunk, **kw)
        assert sim.aggregate == ref.aggregate, chunk
