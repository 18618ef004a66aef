"""CPU kernel vs the CUDA kernel in Numba's CUDA simulator, every landscape × optimizer, every
optimizer of the registry, every schedule kind, and the per-configuration options (clipping,
weight decay, AMSGrad, dampening).

Run by tests/test_cuda.py in a subprocess with NUMBA_ENABLE_CUDASIM=1. In float64 the two
backends agree bit for bit (the same functions, no FMA contraction on either side); in float32
they agree to a stated tolerance. Paths (``swarm.path``) are recorded on the CPU only, so the
comparison is of the outcomes: start/end basin, hit step, best f, final f, diverged."""
import os

import numpy as np
import pytest

import swarm
from swarm import landscapes as L
from swarm import optimizers as O
from swarm import schedules as SCH

assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"

FAMILIES = [L.rastrigin(dim=3, rotate=True), L.ackley(dim=2), L.griewank(dim=2, rotate=True),
            L.levy(dim=3), L.styblinski_tang(dim=2, rotate=True), L.himmelblau(),
            L.double_well(dim=2, tilt=0.1), L.gaussian_peaks(dim=3, peaks=6)]
OPTS = [O.sgd(lr=0.002), O.momentum(lr=0.002), O.nesterov(lr=0.002), O.adagrad(lr=0.05),
        O.rmsprop(lr=0.01, centered=True, bias_correction=True), O.adam(lr=0.05, eps_inside=True)]


def both(fam, dtype, opts=OPTS, **kw):
    kw = {**dict(instances=1, starts=3, steps=5, noise=0.4, seed=9, dtype=dtype), **kw}
    return (swarm.run(fam, opts, backend="cpu", **kw), swarm.run(fam, opts, backend="cuda", **kw))


def assert_bit_identical(cpu, sim):
    assert sim.provenance["backend"] == "cuda"
    assert set(cpu.outcomes) == set(sim.outcomes)
    for k in cpu.outcomes:
        np.testing.assert_array_equal(cpu.outcomes[k], sim.outcomes[k], err_msg=k)
    assert cpu.hash == sim.hash


@pytest.mark.parametrize("fam", FAMILIES, ids=lambda f: f.name)
def test_float64_bit_identical(fam):
    assert_bit_identical(*both(fam, "float64"))


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
    assert rows[0]["generic"] > 0 and rows[0]["before_items"] > 0
    assert 0 < rows[0]["engine_wall"] <= rows[0]["engine"]
    assert rows[0]["engine_wall_agg"] > 0
    assert rows[0]["host_ms_per_chunk"] > 0 and rows[0]["host_ms_per_chunk_agg"] > 0
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


# Issue 21: the optimizer registry, schedules and options, in float64 bit for bit. Tiny studies
# (the simulator runs every thread in Python): one 2-D landscape, 3 starts, 25 steps, noise large
# enough that clipping acts; many configurations per study (each one an arm, one launch each).
RICH = dict(instances=1, starts=3, steps=25, noise=0.5, seed=3)
RICH_FAMILY = L.rastrigin(dim=2, rotate=True)

# one example of every schedule kind (a new kind without one fails the test that checks this)
SCHEDULES = {
    "constant": SCH.constant(),
    "step": SCH.step(7, gamma=0.5),
    "multistep": SCH.multistep([4, 9, 9 + 1, 17], gamma=0.6),
    "exponential": SCH.exponential(0.9),
    "cosine": SCH.cosine(T_max=8, eta_min=1e-3),     # 25 steps: past T and past 2T (periodic)
    "inverse_time": SCH.inverse_time(0.3),
    "warmup": SCH.warmup(6, start_factor=0.25),        # then constant
}
# a warm-up before every other kind (the schedule then runs on its own epoch e − W)
WARMED = [SCH.warmup(w, then=SCHEDULES[k], start_factor=0.5)
          for w, k in zip((3, 4, 5, 2, 3, 4), [k for k in SCHEDULES if k != "warmup"])]


def arm_index(opts):
    """[(optimizer, config)] in the study's arm order (one noise level)."""
    return [(o, cfg) for o in opts for cfg in o.configs()]


def differ(res, a, b):
    """Arms a and b of a study ended differently somewhere (an option that acts)."""
    fa, fb = res.arm(a)["final_f"], res.arm(b)["final_f"]
    return not np.array_equal(fa, fb)


def _extras(row):
    """Options every row takes (a warm-up then cosine schedule, clipping by norm and value),
    and weight decay where the row has it."""
    names = {h.name for h in row.all_hypers}
    ex = dict(schedule=SCH.warmup(4, then=SCH.cosine(T_max=10)), clip_norm=2.0, clip_value=1.0)
    if "weight_decay" in names:
        ex["weight_decay"] = 0.05
    return ex


@pytest.mark.parametrize("name", list(O.REGISTRY), ids=str)
def test_every_registry_row_bit_identical(name):
    """Every row of swarm.optimizers.REGISTRY (a new row is covered automatically), at its
    defaults and with a schedule, clipping and weight decay."""
    f = O.FACTORIES[name]
    opts = [f(), f(**_extras(O.REGISTRY[name]))]
    cpu, sim = both(RICH_FAMILY, "float64", opts, **RICH)
    assert_bit_identical(cpu, sim)
    assert len(cpu.arms) == 2 and differ(cpu, 0, 1)


def test_every_schedule_kind_bit_identical():
    """Every schedule kind, and a warm-up before every other kind, with SGD (the learning rate
    straight into the step) and Adam (the schedule's lr in the bias-corrected step)."""
    assert set(SCHEDULES) == set(SCH.KINDS), "add an example of every schedule kind"
    grid = tuple(SCHEDULES.values()) + tuple(WARMED)
    opts = [O.sgd(lr=0.004, schedule=grid), O.adam(lr=0.1, schedule=grid)]
    cpu, sim = both(RICH_FAMILY, "float64", opts, **RICH)
    assert_bit_identical(cpu, sim)
    n = len(grid)
    assert len(cpu.arms) == 2 * n
    for base in (0, n):                       # every schedule changes the trajectory
        for a in range(base + 1, base + n):
            assert differ(cpu, base, a), (a, str(grid[a - base]))


def test_clipping_weight_decay_amsgrad_dampening_bit_identical():
    """Clipping by norm, by value and both; L2 and decoupled weight decay; AMSGrad; momentum's
    dampening: each option in a grid with its off value, every configuration an arm of one
    study, each bit-identical to the CPU's, and each option changing the outcome."""
    opts = [O.sgd(lr=0.01, clip_norm=(None, 1.0, 5.0), clip_value=(None, 0.5)),
            O.sgd(lr=0.01, weight_decay=(0.0, 0.2)),
            O.adam(lr=0.1, weight_decay=(0.0, 0.2), decoupled_weight_decay=(False, True),
                   amsgrad=(False, True)),
            O.adamw(lr=0.1, amsgrad=(False, True), clip_norm=(None, 3.0)),
            O.momentum(lr=0.005, dampening=(0.0, 0.5, 1.0)),
            O.nadam(lr=0.05, weight_decay=(0.0, 0.2), decoupled_weight_decay=(False, True)),
            O.radam(lr=0.05, weight_decay=(0.0, 0.2), decoupled_weight_decay=(False, True)),
            O.rmsprop(lr=0.01, centered=True, weight_decay=(0.0, 0.2), clip_value=(None, 2.0))]
    cpu, sim = both(RICH_FAMILY, "float64", opts, **RICH)
    assert_bit_identical(cpu, sim)
    arms = arm_index(opts)
    assert len(cpu.arms) == len(arms)

    def at(kind, **want):
        """The arm of optimizer ``kind`` whose configuration has the values ``want`` (the first
        such optimizer spec of that kind that has one)."""
        hits = [a for a, (o, cfg) in enumerate(arms)
                if o.kind == kind and all(cfg.get(k) == v for k, v in want.items())]
        assert hits, (kind, want)
        return hits[0]

    pairs = [  # (option off, option on)
        (at("sgd", clip_norm=None, clip_value=None), at("sgd", clip_norm=1.0, clip_value=None)),
        (at("sgd", clip_norm=None, clip_value=None), at("sgd", clip_norm=5.0, clip_value=None)),
        (at("sgd", clip_norm=None, clip_value=None), at("sgd", clip_norm=None, clip_value=0.5)),
        (at("sgd", clip_norm=1.0, clip_value=None), at("sgd", clip_norm=1.0, clip_value=0.5)),
        (at("sgd", weight_decay=0.0, clip_norm=None), at("sgd", weight_decay=0.2)),
        (at("adam", weight_decay=0.0, amsgrad=False, decoupled_weight_decay=False),
         at("adam", weight_decay=0.2, amsgrad=False, decoupled_weight_decay=False)),
        (at("adam", weight_decay=0.2, amsgrad=False, decoupled_weight_decay=False),
         at("adam", weight_decay=0.2, amsgrad=False, decoupled_weight_decay=True)),
        (at("adam", weight_decay=0.0, amsgrad=False), at("adam", weight_decay=0.0, amsgrad=True)),
        (at("adamw", amsgrad=False, clip_norm=None), at("adamw", amsgrad=True, clip_norm=None)),
        (at("adamw", amsgrad=False, clip_norm=None), at("adamw", amsgrad=False, clip_norm=3.0)),
        (at("momentum", dampening=0.0), at("momentum", dampening=0.5)),
        (at("momentum", dampening=0.5), at("momentum", dampening=1.0)),
        (at("nadam", weight_decay=0.2, decoupled_weight_decay=False),
         at("nadam", weight_decay=0.2, decoupled_weight_decay=True)),
        (at("radam", weight_decay=0.2, decoupled_weight_decay=False),
         at("radam", weight_decay=0.2, decoupled_weight_decay=True)),
        (at("rmsprop", weight_decay=0.0, clip_value=None),
         at("rmsprop", weight_decay=0.2, clip_value=None)),
        (at("rmsprop", weight_decay=0.0, clip_value=None),
         at("rmsprop", weight_decay=0.0, clip_value=2.0)),
    ]
    for a, b in pairs:
        assert differ(cpu, a, b), (arms[a][1], arms[b][1])
