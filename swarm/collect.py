"""How a study's finished chunks come together, whoever ran them: :class:`Collector` merges
them in any order, :func:`deferred_sigint` turns Ctrl-C into a flag checked between chunks, and
:class:`Interrupted` is what a checkpointed study raises then. Used by the local executor
(:mod:`swarm.engine`) and the Dask one (:mod:`swarm.distributed`), below both.
"""
from __future__ import annotations

import contextlib
import signal
import threading

from swarm.aggregate import Aggregate
from swarm.checkpoint import CHUNKS
from swarm.outcomes import DTYPES, empty_outcomes, fields


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a checkpointed study: raised at the next chunk boundary, after that
    chunk was saved. ``done``/``total`` chunks, ``directory`` the checkpoint."""

    def __init__(self, done, total, directory):
        super().__init__(f"interrupted after {done} of {total} chunks; they are saved in "
                         f"{directory}/{CHUNKS}/")
        self.done, self.total, self.directory = done, total, directory


@contextlib.contextmanager
def deferred_sigint(enabled):
    """While enabled (and on the main thread), Ctrl-C only sets a flag checked between chunks."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    flag = []
    old = signal.signal(signal.SIGINT, lambda *_: flag.append(True))
    try:
        yield lambda: bool(flag)
    finally:
        signal.signal(signal.SIGINT, old)


class Collector:
    """Merges finished chunks, in any order, into the study's aggregate and (when kept) its
    outcome arrays; reports each to ``progress``. Used by the local and the Dask executors."""

    def __init__(self, plan, keep, progress=None):
        self.plan, self.keep, self.progress = plan, keep, progress
        A, n_keys = len(plan.arms), plan.instances * plan.starts
        self.outcomes = None
        if keep:
            self.outcomes = empty_outcomes((A, n_keys), DTYPES[plan.dtype], plan.n_targets)
        self.agg = Aggregate.empty(A, plan.instances, plan.steps, plan.max_basin_rows,
                                   plan.per_instance, plan.targets)
        self.merged = set()

    def view(self, j):
        """Chunk j's slice of the kept outcome arrays, for the kernels to write in place."""
        _, _, first, m = self.plan.keys(j)
        return {k: v[:, first:first + m] for k, v in self.outcomes.items()}

    def add(self, j, out, part, in_place=False):
        """Merge chunk j; ``in_place``: its outcomes were written into :meth:`view` (j)."""
        self.agg.add(part)
        self.merged.add(j)
        _, _, first, m = self.plan.keys(j)
        if self.keep and not in_place:
            for k in fields(self.plan.n_targets):
                self.outcomes[k][:, first:first + m] = out[k]
        if self.progress is not None:
            self.progress(len(self.plan.arms) * m)

    def result(self):
        """(outcomes or None, Aggregate); refuses to return a partial study."""
        if len(self.merged) != self.plan.n_chunks:
            raise RuntimeError(f"only {len(self.merged)} of {self.plan.n_chunks} chunks were "
                               f"merged")
        out = None if self.outcomes is None else \
            {k: v.reshape((-1,) + v.shape[2:]) for k, v in self.outcomes.items()}
        return out, self.agg
