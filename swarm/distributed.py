"""A study's chunks as Dask tasks: ``swarm.run(..., cluster=...)`` and ``swarm run --scheduler
ADDRESS`` / ``--workers N``.

Each chunk of a :class:`~swarm.engine.Plan` is one task, a pure function of the plan (the
validated study) and the chunk index, so it can run on any worker, be run again after a
failure, and give the same outcomes wherever it ran. The calling process submits the chunks
that are not already in the checkpoint, collects them in whatever order they finish, saves
each one to the checkpoint as it arrives, merges the aggregates (exact and order-independent,
:mod:`swarm.aggregate`) and places the outcomes by key range: the result is identical, outcome
hash included, to the single-process run.

``cluster`` is one of

* ``"local"`` — start a ``LocalCluster`` on this machine (Dask's choice of worker processes
  for the core count, one task at a time per worker, the cores shared out among the workers'
  Numba threads); with ``backend="cuda"`` and ``dask-cuda`` installed, a ``LocalCUDACluster``:
  one worker per visible GPU, each pinned to its GPU (``CUDA_VISIBLE_DEVICES``), so device 0 in
  every worker is that worker's own GPU;
* an integer ``N`` — the same with ``N`` worker processes (``N`` GPUs with ``backend="cuda"``);
* a scheduler address (``"tcp://host:8786"``) — a running cluster (``dask scheduler`` and
  ``dask worker`` processes, dask-jobqueue, Kubernetes …);
* a ``distributed.Client`` or a Dask cluster object (``LocalCluster``, ``SLURMCluster`` …).

Clusters started here are closed when the study ends (or fails); clients and clusters passed in
are left as they were. A task that raises is retried by Dask (:data:`RETRIES` times); a worker
that dies while it runs a chunk has the chunk rescheduled on another worker. A chunk that keeps
failing stops the study with :class:`ChunkFailed`, naming the chunk, the worker and the
worker's exception; the chunks finished before it stay in the checkpoint (``resume=True``
skips them). No partial result is ever returned.

The Python API prints nothing: the scheduler and dashboard addresses are logged on the
``swarm.distributed`` logger at INFO (``swarm run`` shows them on stderr) and kept in the
result's ``provenance["cluster"]``. Dask is imported only when a cluster is used (it is an
optional extra: ``pip install 'swarm[distributed]'``).
"""
from __future__ import annotations

import collections
import contextlib
import hashlib
import logging
import numbers
import os
import pickle
import re
import threading
import time
import uuid

import numpy as np

from swarm.collect import Collector, Interrupted, deferred_sigint

log = logging.getLogger("swarm.distributed")

MAX_LOCAL_WORKERS = max(8, 4 * (os.cpu_count() or 1))   # local worker processes, at most
RETRIES = 2                 # a task that raised runs again up to this many times
WINDOW_MIN, WINDOW_PER_SLOT = 64, 4     # chunks in flight: max(64, 4 × the workers' threads)
CONNECT_TIMEOUT_S = 20      # to reach a scheduler given by address
INSTALL = "pip install 'swarm[distributed]'"
_ADDRESS = re.compile(r"^([a-z][a-z0-9+]*://)?[^\s:/]+(:\d+)?$|^[a-z][a-z0-9+]*://\S+$")
ALLOWED = ("'local' (a Dask LocalCluster on this machine), a number of local worker processes, "
           "a scheduler address ('tcp://host:8786'), a distributed.Client or a Dask cluster "
           "object")


class ChunkFailed(RuntimeError):
    """A chunk failed on the workers after Dask's retries (or kept killing its workers); the
    study stopped and returned no result. ``chunk`` is its index, ``cause`` the worker's
    exception."""

    def __init__(self, chunk, n_chunks, keys, cause):
        first, m = keys
        what = f"{type(cause).__name__}: {cause}".rstrip(": ")
        if type(cause).__name__ == "KilledWorker":
            how = "killed every worker that ran it (the worker process died)"
        else:
            notes = [n for n in getattr(cause, "__notes__", None) or ()
                     if n.startswith("swarm: chunk ")]        # added by run_chunk
            where = notes[-1].split(" ", 3)[3] + " " if notes else ""
            how = f"failed {where}after {RETRIES} retries"
        super().__init__(
            f"chunk {chunk} of {n_chunks} (trajectory keys {first}–{first + m - 1}) {how}: "
            f"{what}; the study stopped and no result was produced (with a checkpoint, the "
            f"chunks finished so far are saved and resume=True / --resume skips them)")
        self.chunk, self.cause = chunk, cause


def _require():
    try:
        import distributed
    except ImportError as e:
        raise ValueError(f"cluster=… runs the study on a Dask cluster, but dask.distributed "
                         f"is not installed here ({e}); install it with: {INSTALL}") from None
    return distributed


def check(cluster):
    """``cluster`` validated (ValueError naming what is allowed), or None. Imports Dask only
    when a cluster is asked for."""
    if cluster is None:
        return None
    if isinstance(cluster, (bool, np.bool_)):
        raise ValueError(f"cluster must be None or {ALLOWED}; got {cluster!r}")
    if isinstance(cluster, numbers.Integral):
        if cluster < 1:
            raise ValueError(f"cluster (a number of local worker processes) must be ≥ 1, got "
                             f"{cluster!r}")
        if cluster > MAX_LOCAL_WORKERS:
            raise ValueError(f"at most {MAX_LOCAL_WORKERS} local worker processes on this "
                             f"machine ({os.cpu_count()} cores), got {cluster}; give a "
                             f"scheduler address for a larger cluster")
        _require()
        return int(cluster)
    if isinstance(cluster, str):
        s = cluster.strip()
        if s != "local" and (not _ADDRESS.match(s) or (":" not in s)):
            raise ValueError(f"cluster must be None or {ALLOWED}; got {cluster!r}")
        _require()
        return s
    dist = _require()
    from distributed.deploy import Cluster
    if isinstance(cluster, (dist.Client, Cluster)):
        return cluster
    raise ValueError(f"cluster must be None or {ALLOWED}; got {cluster!r}")


def local_workers(n=None):
    """(worker processes, Numba threads each) of a local CPU cluster: ``n`` workers (default:
    Dask's choice for the core count), the cores shared out among them."""
    cores = os.cpu_count() or 1
    if n is None:
        from distributed.deploy.utils import nprocesses_nthreads
        n = nprocesses_nthreads(cores)[0]
    return n, max(1, cores // n)


def start_local(n=None, backend="cpu", **kwargs):
    """Start a cluster on this machine: ``n`` worker processes (one task at a time each); on
    ``backend="cuda"``, ``dask_cuda.LocalCUDACluster`` with one worker per GPU (``n`` GPUs),
    or ValueError when dask-cuda is not installed."""
    _require()
    if backend == "cuda":
        try:
            import dask_cuda
        except ImportError:
            raise ValueError("a local cluster with backend='cuda' starts one Dask worker per "
                             "GPU with dask-cuda, which is not installed here: pip install "
                             "dask-cuda (or use a single GPU without cluster=…)") from None
        if n is not None:
            kwargs.setdefault("n_workers", n)
        kwargs.setdefault("threads_per_worker", 1)
        return dask_cuda.LocalCUDACluster(**kwargs)
    from distributed import LocalCluster
    n, _ = local_workers(n)
    kwargs.setdefault("threads_per_worker", 1)
    kwargs.setdefault("processes", True)
    return LocalCluster(n_workers=n, **kwargs)


def _dashboard(client):
    try:
        return client.dashboard_link
    except Exception:       # no dashboard service (e.g. bokeh missing, or turned off)
        return None


@contextlib.contextmanager
def connect(cluster, backend="cpu"):
    """A ``distributed.Client`` for ``cluster`` (see the module docstring) and a description
    of it; what was started here is closed on exit."""
    dist = _require()
    started, client = None, None
    try:
        if isinstance(cluster, dist.Client):
            client, owned = cluster, False
        else:
            target = cluster
            if cluster == "local" or isinstance(cluster, int):
                started = target = start_local(None if cluster == "local" else cluster,
                                               backend)
            try:
                client = dist.Client(target, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
            except (OSError, TimeoutError) as e:
                raise ValueError(f"cannot reach the Dask scheduler at {cluster!r} "
                                 f"({type(e).__name__}: {e}); start it with `dask scheduler` "
                                 f"and workers with `dask worker ADDRESS`") from None
            owned = True
        info = {"scheduler": client.scheduler.address,
                "workers": len(client.scheduler_info().get("workers", {})),
                "dashboard": _dashboard(client),
                "started": type(started).__name__ if started is not None else None}
        log.info("Dask scheduler %s (%s), %d workers; dashboard: %s", info["scheduler"],
                 f"{info['started']} started here" if started is not None else "existing",
                 info["workers"], info["dashboard"] or "none (pip install bokeh)")
        try:
            yield client, info
        finally:
            if owned:
                client.close()
    finally:
        if started is not None:
            close_cluster(started)


def close_cluster(cluster):
    """Close a cluster started here. ``distributed``'s ``SpecCluster`` can raise ``KeyError``
    from its worker-status watcher while closing, when the scheduler reports the removal of a
    worker the cluster never listed (one restarted by its nanny between two syncs; dask/
    distributed#5407). By then the workers and the scheduler are closed and the study's
    results are complete, so that one error is logged, not raised."""
    try:
        cluster.close()
    except KeyError as e:
        log.warning("Dask cluster closed with a stale worker entry (%s): ignored", e)


# ------------------------------------------------------------------------- worker side

_PLANS = collections.OrderedDict()      # token → Plan, per worker process (its GPU buffers)
_LOCK = threading.Lock()


def _cached(token, plan):
    with _LOCK:
        if token in _PLANS:
            _PLANS.move_to_end(token)
            return _PLANS[token]
        _PLANS[token] = plan
        while len(_PLANS) > 4:
            _PLANS.popitem(last=False)
        return plan


_LOCK_KERNEL = threading.Lock()


def _kernel_guard():
    """Numba's workqueue layer must not launch parallel kernels from two threads at once
    (a worker with several task threads): serialise launches there (and while the layer is
    not chosen yet); OpenMP and TBB need nothing."""
    import numba
    try:
        layer = numba.threading_layer()
    except ValueError:
        layer = None
    return _LOCK_KERNEL if layer in (None, "workqueue") else contextlib.nullcontext()


def _numba_threads(threads, per_host):
    """This task's Numba threads: ``threads`` if given, else this host's cores shared among
    the tasks that run on it at once (all workers of the host, their task threads)."""
    import numba
    from distributed import get_worker
    from distributed.comm import get_address_host
    top = numba.config.NUMBA_NUM_THREADS
    if threads is None:
        w = get_worker()
        busy = per_host.get(get_address_host(w.address)) or w.state.nthreads or 1
        threads = max(1, top // busy)
    return min(int(threads), top)


def run_chunk(token, plan, j, keep, threads=None, per_host=None):
    """Task body: chunk ``j`` of ``plan`` on a worker → dict with its outcomes (when ``keep``),
    aggregate, kernel time, worker and pid."""
    import numba
    from distributed import get_worker
    where = f"on worker {get_worker().address} (pid {os.getpid()})"
    plan = _cached(token, plan)
    timings = {"kernel_s": 0.0}
    try:
        old = numba.get_num_threads()
        numba.set_num_threads(_numba_threads(threads, per_host or {}))
        try:
            with _kernel_guard():
                if keep or plan.backend != "cuda":
                    out, agg = plan.chunk(j, timings)
                else:           # aggregated on the GPU: no outcome leaves it
                    out, agg = plan.chunk(j, timings, outcomes=False)
        finally:
            numba.set_num_threads(old)
    except Exception as e:
        e.add_note(f"swarm: chunk {j} {where}")
        raise
    return {"chunk": j, "outcomes": out if keep else None, "aggregate": agg,
            "kernel_s": timings["kernel_s"], "worker": where}


# ------------------------------------------------------------------------- client side

def _per_host(client):
    """Concurrent task slots per host of the cluster's workers now."""
    from distributed.comm import get_address_host
    slots = collections.Counter()
    for addr, w in client.scheduler_info().get("workers", {}).items():
        slots[get_address_host(addr)] += int(w.get("nthreads", 1) or 1)
    return dict(slots)


def execute(plan, keep, store, progress, timings, cluster, threads=None, backend="cpu"):
    """Same contract as :func:`swarm.engine._execute` — (outcomes or None, Aggregate) of every
    chunk of ``plan``, loading those in ``store`` — with the chunks run as Dask tasks on
    ``cluster``; also fills ``timings["execute_s"]`` and returns the cluster's description
    as a third element."""
    col = Collector(plan, keep, progress)
    take = col.add

    t0 = time.perf_counter()
    done = set(store.done()) if store is not None else set()
    for j in sorted(done):
        take(j, *store.load(j))
    todo = [j for j in range(plan.n_chunks) if j not in done]
    info = {"scheduler": None, "workers": 0, "dashboard": None, "started": None,
            "note": "every chunk was loaded from the checkpoint"}
    if todo:
        with connect(cluster, backend) as (client, info), \
                deferred_sigint(store is not None) as interrupted:
            _submit_and_collect(client, plan, todo, keep, threads, store, timings, take,
                                interrupted, lambda: len(col.merged))
    outcomes, agg = col.result()            # never a partial result
    timings["execute_s"] = time.perf_counter() - t0
    return outcomes, agg, info


def _submit_and_collect(client, plan, todo, keep, threads, store, timings, take, interrupted,
                        n_merged):
    from distributed import as_completed

    token = hashlib.sha256(pickle.dumps(plan)).hexdigest()[:16]
    run_id = f"swarm-chunk-{uuid.uuid4().hex[:8]}"
    per_host = _per_host(client)
    # at most `window` chunks submitted and not yet collected: memory on the scheduler and
    # here stays bounded however many chunks the study has
    window = max(WINDOW_MIN, WINDOW_PER_SLOT * sum(per_host.values()))
    futures = {}
    queue = iter(todo)
    pending = as_completed([], loop=client.loop)

    def submit_next():
        j = next(queue, None)
        if j is not None:
            f = client.submit(run_chunk, token, plan, j, keep, threads, per_host,
                              key=(run_id, j), retries=RETRIES, pure=False)
            futures[f.key] = (j, f)
            pending.add(f)
    try:
        for _ in range(window):
            submit_next()
        for fut in pending:
            j, _ = futures.pop(fut.key)
            try:
                r = fut.result()
            except Exception as e:
                raise ChunkFailed(j, plan.n_chunks, plan.keys(j)[2:], e) from e
            del fut                          # the worker may drop the chunk now
            if store is not None:
                store.save(j, r["outcomes"] if keep else None, r["aggregate"])
            timings["kernel_s"] += r["kernel_s"]
            take(j, r["outcomes"], r["aggregate"])
            if interrupted() and n_merged() < plan.n_chunks:
                raise Interrupted(len(set(store.done())), plan.n_chunks, store.dir)
            submit_next()
    finally:
        left = [f for _, f in futures.values()]
        if left:
            client.cancel(left)
        pending.clear()
