"""Aggregation on the device (kernels/cuda_aggregate.py) in Numba's CUDA simulator: a chunk's
aggregate from the GPU's parts (:meth:`Aggregate.from_device`) is the CPU's
(:meth:`Aggregate.from_outcomes`) bit for bit — counts, first-hit histograms, exact sums,
discordant pairs, basin table — on synthetic outcome arrays (any values: infinities, NaN,
subnormals, signs, every float64 exponent; chunks starting and ending inside instances; many
segments per instance and many instances per segment; more basin rows than the device keeps),
and whole aggregate-only studies of ``swarm.run(backend="cuda")`` are the CPU engine's, over
chunk sizes, landscapes, optimizers, diverged trajectories and basin tables.

Run by tests/test_cuda.py in a subprocess with NUMBA_ENABLE_CUDASIM=1 (with the rest of
tests/cudasim)."""
import os

import numpy as np
import pytest
from numba import cuda

import swarm
from swarm import landscapes as L
from swarm import optimizers as O
from swarm.aggregate import Aggregate, hit_grid
from swarm.kernels import cuda_aggregate as kagg

assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"

STEPS = 60
NG = 2


def synth(A, m, F, seed):
    """Outcome arrays (A, m): labels −1 … 5 (two global), 20 % diverged (end basin −1), half
    of them hits, best_f over every float64 exponent (and inf, NaN, the smallest subnormal)."""
    rng = np.random.default_rng(seed)
    sb = rng.integers(-1, 6, m)
    eb = rng.integers(-1, 6, (A, m))
    div = rng.random((A, m)) < 0.2
    div[:, m // 2] = True
    eb[div] = -1
    hs = np.where(rng.random((A, m)) < 0.5, rng.integers(0, STEPS + 1, (A, m)), -1)
    hs[:, 1] = STEPS
    with np.errstate(over="ignore"):
        best = (rng.standard_normal((A, m)) * 10.0 ** rng.integers(-320, 308, (A, m))).astype(F)
    tiny = np.finfo(F).smallest_subnormal
    best[:, :3] = [np.inf, np.nan, -tiny]
    final = (rng.standard_normal((A, m)) * 3).astype(F)
    return dict(start_basin=np.broadcast_to(sb, (A, m)).copy(), end_basin=eb, hit_step=hs,
                best_f=best, final_f=final, diverged=div)


def on_device(o, first, starts, n_inst, basins=True, per_instance=True, cap=None):
    A, m = o["end_basin"].shape
    i0 = first // starts
    R = (first + m - 1) // starts - i0 + 1
    chunk = kagg.Chunk(A, R + 1, len(hit_grid(STEPS)), A * m if cap is None else cap)
    eb = cuda.to_device(o["end_basin"])
    outs = [[cuda.to_device(np.ascontiguousarray(o["start_basin"][a])), eb[a]]
            + [cuda.to_device(np.ascontiguousarray(o[k][a]))
               for k in ("hit_step", "best_f", "final_f", "diverged")] for a in range(A)]
    chunk.launch(outs, eb, m, first, starts, i0, NG, cuda.to_device(hit_grid(STEPS)), basins,
                 0, 4)
    counts, hits, bins, pairs, rows = chunk.result()
    if rows is None:
        return None
    return Aggregate.from_device(counts, hits, bins, pairs, rows, i0, n_inst, STEPS,
                                 1 << 20, basins, per_instance)


CASES = [  # arms, keys, first key, starts per instance, keys per segment
    (1, 7, 0, 7, 512),       # one instance, one segment
    (3, 23, 5, 4, 4),        # chunk from inside an instance; segments = instances
    (2, 40, 3, 100, 8),      # five segments of one instance: rows merged on the host
    (9, 17, 0, 1, 5),        # one start per instance: a segment spans 5 instances; 9 arms
    (4, 30, 12, 6, 7),       # segments across instance boundaries, chunk of whole instances
]


@pytest.mark.parametrize("F", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "A{}-m{}-first{}-S{}-seg{}".format(*c))
def test_chunk_aggregate_is_the_cpus(case, F, monkeypatch):
    A, m, first, starts, seg = case
    monkeypatch.setattr(kagg, "SEG_KEYS", seg)
    o = synth(A, m, F, seed=m)
    inst = (first + np.arange(m)) // starts
    whole = first % starts == 0 and (first + m) % starts == 0
    for per in (True, False) if whole else (True,):
        ref = Aggregate.from_outcomes(o, inst, NG, 1000, STEPS, 1 << 20, True, per)
        got = on_device(o, first, starts, 1000, True, per)
        assert got == ref, per
        assert got.sums == ref.sums and np.array_equal(got.basins, ref.basins)
    assert ref.total("diverged").sum() > 0 and ref.total("hits").sum() > 0
    assert any(s != 0 for s in ref.sums["best_f"])


def test_too_many_basin_rows_for_the_device_is_said():
    o = synth(2, 30, np.float64, seed=1)
    assert on_device(o, 0, 30, 10, cap=3) is None           # 60 distinct rows at most
    ref = Aggregate.from_outcomes(o, np.zeros(30, np.int64), NG, 10, STEPS)
    assert ref.basins.shape[0] > 3
    assert on_device(o, 0, 30, 10, cap=ref.basins.shape[0]) == ref


FAMILIES = [L.gaussian_peaks(dim=2, peaks=4), L.rastrigin(dim=2, rotate=True), L.himmelblau()]
OPTS = [O.sgd(lr=0.002), O.momentum(lr=0.002), O.adam(lr=0.05)]


@pytest.mark.parametrize("fam", FAMILIES, ids=lambda f: f.name)
def test_aggregate_only_study_is_the_cpus(fam, monkeypatch):
    """Aggregate-only studies (no outcome leaves the device) over two chunk sizes — segments
    of 5 keys, so that instances span several segments — with an SGD arm whose learning rate
    makes it diverge: the CPU engine's aggregate, basin table included."""
    monkeypatch.setattr(kagg, "SEG_KEYS", 5)
    opts = OPTS + [O.sgd(lr=0.6)]
    kw = dict(instances=3, starts=8, steps=6, noise=0.4, seed=4, keep_outcomes=False)
    ref = swarm.run(fam, opts, backend="cpu", threads=1, **kw)
    assert ref.aggregate.basins is not None and ref.aggregate.basins.shape[0] > 4
    for chunk in (4 * 13, 1000):           # 4 arms: 13 keys per chunk, and one chunk
        sim = swarm.run(fam, opts, backend="cuda", chunk_size=chunk, **kw)
        assert sim.outcomes is None
        assert sim.aggregate == ref.aggregate, chunk


def test_diverged_trajectories_and_row_fallback_are_the_cpus(monkeypatch):
    """A study where most trajectories diverge (their f excluded from the sums, end basin −1),
    with the device keeping too few basin rows (the host labels those chunks itself)."""
    fam = L.rastrigin(dim=2)
    opts = [O.sgd(lr=0.3), O.adam(lr=0.05)]            # SGD: 6 of 12 diverge
    kw = dict(instances=2, starts=6, steps=5, noise=0.4, seed=2, keep_outcomes=False)
    ref = swarm.run(fam, opts, backend="cpu", threads=1, **kw)
    div = ref.aggregate.total("diverged")
    assert div[0] > 0 and div[0] < ref.aggregate.total("n")[0]
    monkeypatch.setattr(kagg, "ROWS", 2)
    for chunk in (2 * 6, 1000):
        sim = swarm.run(fam, opts, backend="cuda", chunk_size=chunk, **kw)
        assert sim.aggregate == ref.aggregate, chunk


def test_dask_task_body_aggregates_on_the_device():
    """A Dask task (swarm.distributed.run_chunk) runs ``Plan.chunk(j, outcomes=keep)``: on a
    GPU without kept outcomes the chunk is aggregated there, and each chunk's aggregate is the
    CPU plan's."""
    from swarm.engine import Plan
    from swarm.starts import uniform
    fam = L.gaussian_peaks(dim=2, peaks=4)
    arms = [{"optimizer": o, "config": cfg, "noise": 0.3} for o in OPTS[:2]
            for cfg in o.configs()]
    plans = [Plan(fam, OPTS[:2], arms, 3, 5, 4, 7, uniform(), "float64", b, 0.05, 1e-8, 4,
                  1 << 20) for b in ("cpu", "cuda")]
    assert plans[0].n_chunks > 1
    for j in range(plans[0].n_chunks):
        out, part = plans[1].chunk(j, outcomes=False)
        assert out is None and part == plans[0].chunk(j)[1], j
