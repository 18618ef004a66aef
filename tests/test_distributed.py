"""Studies on a Dask cluster (swarm.distributed): a LocalCluster of 2 worker processes gives the
single-process result exactly (any completion order), survives a worker killed mid-chunk,
resumes from a checkpoint, stops on a chunk that keeps failing; without a cluster Dask is never
imported."""
import os
import signal
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import numpy as np
import pytest

import swarm
from swarm import checkpoint, cli
from swarm import distributed as D
from swarm import engine
from swarm import landscapes as L
from swarm import optimizers as O
from swarm.kernels.cpu import LANES             # trajectories per key block
from swarm.result import FIELDS

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]
OPTS = [O.sgd(lr=0.01), O.momentum(lr=0.01, momentum=0.9), O.adam(lr=[0.05, 0.1])]
FAMILIES = [L.rastrigin(dim=2), L.gaussian_peaks(dim=2, peaks=5)]
# 3 key blocks per instance (the last one partly filled): 9 one-block chunks
SMALL = dict(instances=3, starts=2 * LANES + 8, steps=200, noise=[0.0, 0.4], seed=11)
ARMS = 4 * 2                                    # configurations × noise levels


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0")
    c = distributed.Client(cluster, set_as_default=False)
    try:
        yield c
    finally:
        c.close()
        D.close_cluster(cluster)


def study(fam=FAMILIES[0], opts=OPTS, **kw):
    args = dict(SMALL, chunk_size=ARMS * LANES)     # one key block per chunk: 9 chunks
    args.update(kw)
    return swarm.run(fam, opts, **args)


def same(a, b):
    assert a.hash == b.hash
    assert a.aggregate == b.aggregate
    if a.outcomes is not None or b.outcomes is not None:
        for k in FIELDS:
            np.testing.assert_array_equal(a.outcomes[k], b.outcomes[k])


def worker_tasks(client, run):
    """(result of run(), chunk tasks the workers executed meanwhile)."""
    with distributed.get_task_stream(client=client) as ts:
        out = run()
    return out, [t for t in ts.data if "swarm-chunk" in str(t["key"])]


# ------------------------------------------------------------------------- same result

@pytest.mark.parametrize("fam", FAMILIES, ids=lambda f: f.name)
@pytest.mark.parametrize("keep", [True, False])
def test_two_workers_give_the_single_process_result(client, fam, keep):
    ref = study(fam, keep_outcomes=keep)
    res, tasks = worker_tasks(client, lambda: study(fam, keep_outcomes=keep, cluster=client))
    same(res, ref)
    assert (res.outcomes is not None) == keep
    plan_chunks = len(tasks)
    assert plan_chunks >= 8
    assert len({t["worker"] for t in tasks}) == 2          # both workers took chunks
    info = res.provenance["cluster"]
    assert info["scheduler"] == client.scheduler.address and info["started"] is None
    assert info["workers"] == 2


class Reversed:
    """as_completed stand-in: waits for every chunk submitted, yields them last first."""

    def __init__(self, futures=(), **kw):
        self.futures = list(futures)

    def add(self, f):
        self.futures.append(f)

    def clear(self):
        pass

    def __iter__(self):
        for f in self.futures:
            f.result()
        return iter(self.futures[::-1])


@pytest.mark.parametrize("keep", [True, False])
def test_result_does_not_depend_on_completion_order(client, monkeypatch, keep):
    """Chunks merged last first (the Aggregate merge and the outcome placement are exact)."""
    ref = study(keep_outcomes=keep)
    monkeypatch.setattr(distributed, "as_completed", Reversed)
    same(study(keep_outcomes=keep, cluster=client), ref)


def test_chunks_flow_through_a_small_window(client, monkeypatch):
    """At most max(WINDOW_MIN, WINDOW_PER_SLOT × slots) chunks in flight: here 2 of 9."""
    monkeypatch.setattr(D, "WINDOW_MIN", 1)
    monkeypatch.setattr(D, "WINDOW_PER_SLOT", 1)
    submitted, seen = [], []
    submit = client.submit
    monkeypatch.setattr(client, "submit", lambda *a, **kw: submitted.append(1) or
                        submit(*a, **kw))
    res = study(cluster=client, progress=lambda m: seen.append(len(submitted)))
    assert len(submitted) == 9 and len(seen) == 9
    assert all(s <= k + 1 for k, s in enumerate(seen, 1)), seen   # ≤ 2 uncollected
    same(res, study())


# ------------------------------------------------------------------------- faults

FAULT = dict(instances=2, starts=384, steps=60_000, noise=0.3, seed=3)  # 12 chunks of ~0.3 s


def test_a_worker_killed_mid_chunk_does_not_change_the_result(client):
    opts = [O.sgd(lr=0.01), O.adam(lr=0.05)]
    fam = L.rastrigin(dim=2)
    ref = swarm.run(fam, opts, chunk_size=2 * 64, **FAULT)
    pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    killed = []

    def progress(m):
        if not killed:                  # after the first chunk: both workers are busy
            os.kill(victim, signal.SIGKILL)
            killed.append(time.perf_counter())
    res = swarm.run(fam, opts, chunk_size=2 * 64, cluster=client, progress=progress, **FAULT)
    assert killed
    same(res, ref)
    client.wait_for_workers(2, timeout=60)                 # the nanny restarted it
    assert victim not in client.run(os.getpid).values()


_PLAN = engine.Plan


class FailingPlan(engine.Plan):
    """A plan whose chunk 2 raises on its first ``fails`` attempts (always, by default), each
    attempt counted in the file ``tally``. Module level: workers unpickle it by reference; the
    settings are class attributes in the test process, copied onto the plan when it is made."""
    fails, tally = 10 ** 9, None

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.fails, self.tally = type(self).fails, type(self).tally

    def chunk(self, j, timings=None):
        if j == 2:
            tries = 1
            if self.tally is not None:
                with open(self.tally, "a") as f:
                    f.write("x")
                tries = Path(self.tally).stat().st_size
            if tries <= self.fails:
                raise RuntimeError("boom in chunk two")
        return super().chunk(j, timings)


def test_a_chunk_that_keeps_failing_stops_the_study(client, monkeypatch, tmp_path):
    monkeypatch.setattr(engine, "Plan", FailingPlan)
    d = tmp_path / "ck"
    with pytest.raises(D.ChunkFailed, match=r"chunk 2 of 9 .*failed on worker tcp://.*"
                       r"RuntimeError: boom in chunk two") as e:
        worker_tasks(client, lambda: study(cluster=client, checkpoint=d))
    assert e.value.chunk == 2 and isinstance(e.value.cause, RuntimeError)
    # the chunks that finished are in the checkpoint, chunk 2 is not; resuming with a plan
    # that works completes the study with the uninterrupted result
    saved = sorted(int(p.stem) for p in (d / checkpoint.CHUNKS).glob("*.npz"))
    assert 2 not in saved
    monkeypatch.setattr(engine, "Plan", _PLAN)
    res = study(cluster=client, checkpoint=d, resume=True)
    same(res, study())


@pytest.mark.parametrize("fails", [D.RETRIES, D.RETRIES + 1])
def test_a_failed_chunk_is_retried_by_dask(client, monkeypatch, tmp_path, fails):
    tally = tmp_path / "tries"
    monkeypatch.setattr(FailingPlan, "fails", fails)
    monkeypatch.setattr(FailingPlan, "tally", str(tally))
    monkeypatch.setattr(engine, "Plan", FailingPlan)
    if fails <= D.RETRIES:                       # the last retry succeeds
        res = study(cluster=client)
        monkeypatch.setattr(engine, "Plan", _PLAN)
        same(res, study())
    else:
        with pytest.raises(D.ChunkFailed, match=f"after {D.RETRIES} retries"):
            study(cluster=client)
    assert tally.stat().st_size == D.RETRIES + 1


class CrashingPlan(engine.Plan):
    """A plan whose chunk 2 kills the worker process that runs it."""

    def chunk(self, j, timings=None):
        if j == 2:
            os._exit(3)
        return super().chunk(j, timings)


def test_a_chunk_that_kills_its_workers_stops_the_study(client, monkeypatch):
    scheduler = client.cluster.scheduler                 # the LocalCluster's, in this process
    monkeypatch.setattr(scheduler, "allowed_failures", 0)     # give up after one death
    monkeypatch.setattr(engine, "Plan", CrashingPlan)
    # (with allowed_failures 0, a chunk queued on the same worker may be the one reported)
    try:
        with pytest.raises(D.ChunkFailed, match=r"chunk \d of 9 .*killed every worker that "
                                                r"ran it.*KilledWorker"):
            study(cluster=client)
    finally:
        client.wait_for_workers(2, timeout=60)


# ------------------------------------------------------------------------- checkpoints

class Stop(Exception):
    pass


@pytest.mark.parametrize("keep", [True, False])
def test_interrupted_distributed_study_resumes_skipping_saved_chunks(client, tmp_path, keep):
    ref = study(keep_outcomes=keep)
    d = tmp_path / "ck"
    seen = []

    def stop_after_3(m):
        seen.append(m)
        if len(seen) == 3:
            raise Stop
    with pytest.raises(Stop):
        study(keep_outcomes=keep, cluster=client, checkpoint=d, progress=stop_after_3)
    saved = list((d / checkpoint.CHUNKS).glob("*.npz"))
    assert len(saved) == 3
    res, tasks = worker_tasks(client, lambda: study(keep_outcomes=keep, cluster=client,
                                                    checkpoint=d, resume=True))
    same(res, ref)
    done = {int(p.stem) for p in saved}
    ran = {t["key"][1] for t in tasks}
    assert ran == set(range(9)) - done                      # saved chunks were not recomputed


def test_fully_checkpointed_study_needs_no_cluster(tmp_path):
    d = tmp_path / "ck"
    study(checkpoint=d)                 # swarm.run leaves the chunks (swarm run clears them)
    assert len(list((d / checkpoint.CHUNKS).glob("*.npz"))) == 9
    # every chunk is on disk: an unreachable scheduler is never contacted
    res = study(checkpoint=d, resume=True, cluster="tcp://127.0.0.1:1")
    same(res, study())
    assert res.provenance["cluster"]["scheduler"] is None


# ------------------------------------------------------------------------- own clusters

def test_cluster_n_starts_and_closes_a_local_cluster():
    ref = study(FAMILIES[1], steps=50)
    closed = []
    orig = D.start_local

    def spy(*a, **kw):
        c = orig(*a, dashboard_address=":0", **kw)
        closed.append(c)
        return c
    D.start_local, saved = spy, D.start_local
    try:
        res = study(FAMILIES[1], steps=50, cluster=1)
    finally:
        D.start_local = saved
    same(res, ref)
    assert res.provenance["cluster"]["started"] == "LocalCluster"
    assert res.provenance["cluster"]["workers"] == 1
    assert closed and closed[0].status.name == "closed"


def test_local_workers_share_the_cores():
    n, threads = D.local_workers(2)
    assert n == 2 and threads == max(1, (os.cpu_count() or 1) // 2)
    n, threads = D.local_workers()
    assert n >= 1 and threads >= 1


# ------------------------------------------------------------------------- GPUs (no GPU here)

def test_local_cuda_cluster_needs_dask_cuda(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask_cuda", None)
    with pytest.raises(ValueError, match="one Dask worker per GPU with dask-cuda.*pip install "
                                         "dask-cuda"):
        D.start_local(None, "cuda")


def test_local_cuda_cluster_uses_dask_cuda_when_installed(monkeypatch):
    calls = []
    fake = types.ModuleType("dask_cuda")
    fake.LocalCUDACluster = lambda **kw: calls.append(kw) or "cuda-cluster"
    monkeypatch.setitem(sys.modules, "dask_cuda", fake)
    assert D.start_local(None, "cuda") == "cuda-cluster"
    assert D.start_local(3, "cuda") == "cuda-cluster"
    assert calls == [{"threads_per_worker": 1}, {"n_workers": 3, "threads_per_worker": 1}]


# ------------------------------------------------------------------------- validation

@pytest.mark.parametrize("bad", [0, -2, True, "locla", "not an address", 2.5, object()])
def test_bad_cluster_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="cluster"):
        study(cluster=bad)


def test_missing_dask_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ValueError, match=r"dask.distributed is not installed.*"
                                         r"pip install 'swarm\[distributed\]'"):
        study(cluster="local")


def test_unreachable_scheduler_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(D, "CONNECT_TIMEOUT_S", 1)
    with pytest.raises(ValueError, match="cannot reach the Dask scheduler at 'tcp://127.0.0.1:1'"):
        study(cluster="tcp://127.0.0.1:1")


def test_no_dask_import_without_a_cluster(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC)
    code = textwrap.dedent(f"""
        import sys
        import swarm
        from swarm import landscapes as L, optimizers as O, cli
        swarm.run(L.rastrigin(dim=2), [O.sgd()], instances=1, starts=16, steps=5)
        assert cli.main(["run", {str(spec)!r}, "-o", {str(tmp_path / "out")!r}, "--quiet",
                         "--no-report"]) == 0
        bad = sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed",
                                                                   "dask_cuda"))
        assert not bad, bad
    """)
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr


# ------------------------------------------------------------------------- command line

SPEC = textwrap.dedent(f"""\
    instances = 2
    starts = {2 * LANES + 8}
    steps = 60
    noise = [0.5]
    seed = 5
    chunk_size = 16

    [landscape]
    family = "rastrigin"
    dim = 2

    [[optimizers]]
    kind = "sgd"
    lr = [0.01, 0.02]
""")


def test_cli_scheduler_gives_the_same_results(client, tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC)
    assert cli.main(["run", str(spec), "-o", str(tmp_path / "one"), "--no-report",
                     "--quiet"]) == 0
    assert cli.main(["run", str(spec), "-o", str(tmp_path / "dask"), "--no-report",
                     "--scheduler", client.scheduler.address]) == 0
    err = capsys.readouterr().err
    assert f"Dask scheduler {client.scheduler.address}" in err and "dashboard: http" in err
    one, dask = swarm.load(tmp_path / "one"), swarm.load(tmp_path / "dask")
    assert one.hash == dask.hash
    assert "cluster" not in dask.study["overrides"]
    assert dask.provenance["cluster"]["scheduler"] == client.scheduler.address


def test_cli_workers_and_scheduler_errors(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC)
    with pytest.raises(SystemExit):
        cli.main(["run", str(spec), "--workers", "2", "--scheduler", "tcp://x:1"])
    assert "not allowed with" in capsys.readouterr().err
    assert cli.main(["run", str(spec), "-o", str(tmp_path / "o"), "--workers", "0"]) == 2
    assert "--workers 0: cluster (a number of local worker processes) must be ≥ 1" in \
        capsys.readouterr().err


def test_cli_chunk_failure_is_one_line_with_the_resume_command(client, tmp_path, capsys,
                                                               monkeypatch):
    monkeypatch.setattr(engine, "Plan", FailingPlan)
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC)
    addr = client.scheduler.address
    assert cli.main(["run", str(spec), "-o", str(tmp_path / "o"), "--quiet",
                     "--scheduler", addr]) == 2
    err = capsys.readouterr().err
    assert "swarm: error: chunk 2 of" in err and "boom in chunk two" in err
    assert f"--resume --scheduler {addr}" in err


def test_many_instances_on_two_workers_give_the_single_process_result(client):
    """400 instances × 2 starts in many small chunks, each task generating its own
    instances, the aggregate keeping totals and moments only: the single-process result."""
    kw = dict(instances=400, starts=2, steps=20, noise=0.4, seed=2, chunk_size=2 * 64,
              max_instance_rows=100, keep_outcomes=False)
    ref = swarm.run(FAMILIES[1], OPTS[:2], **kw)
    res, tasks = worker_tasks(client, lambda: swarm.run(FAMILIES[1], OPTS[:2], cluster=client,
                                                        **kw))
    same(res, ref)
    assert res.aggregate.counts is None and len(tasks) >= 10


def test_close_cluster_logs_the_stale_worker_race_and_raises_anything_else(caplog):
    """distributed's SpecCluster can raise KeyError from its status watcher on close after a
    nanny restarted a worker (seen in CI at the end of this module): logged, not raised."""
    class Stale:
        def close(self):
            raise KeyError("tcp://127.0.0.1:36013")

    class Broken:
        def close(self):
            raise RuntimeError("scheduler gone")

    with caplog.at_level("WARNING", logger="swarm.distributed"):
        D.close_cluster(Stale())
    assert "stale worker entry" in caplog.text and "36013" in caplog.text
    with pytest.raises(RuntimeError, match="scheduler gone"):
        D.close_cluster(Broken())
