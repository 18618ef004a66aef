"""Crash-safe chunk checkpoints in a results directory (the safe file operations they use live
in :mod:`swarm.files`).

A study run with a checkpoint directory ``DIR`` writes ``DIR/checkpoint.json`` (the study's
fingerprint and chunk layout, with a SHA-256 of both) and, as each chunk finishes,
``DIR/chunks/NNNNNNNN.npz`` (the chunk's aggregate and, for studies that keep them, its
per-trajectory outcomes, plus a SHA-256 of their contents and of the layout). Every file is
written to a temporary name, flushed with ``fsync`` and renamed into place, so a process
killed at any moment leaves either the whole file or none. Resuming reads the chunks that are
there, checks each one (its digest, the shapes, types and ranges of its arrays, and its
aggregate against its outcomes), and runs only the others.

A process that writes into ``DIR`` holds an exclusive lock on ``DIR/.swarm.lock`` (``flock``;
the file names the holder's pid and host), so that a second writer is refused at once with one
readable line instead of mixing two studies' files. swarm never writes, reads or deletes
through a symbolic link inside a results directory, and deletes only the files it made (chunk
files and its own temporary files, by name).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np

from swarm.aggregate import Aggregate
from swarm.files import (atomic_write, digest, fsync_dir, is_tmp_of, lock, no_link, npz_bytes,
                         quiet, read_json, read_npz)
from swarm.outcomes import DTYPES, TARGET_HIT, field_dtypes, fields

FORMAT = 3          # 3: state and chunk digests cover the layout; 2: aggregates of i0 ranges
CHUNKS = "chunks"
STATE = "checkpoint.json"
CHUNK_NAME = re.compile(r"\d{8}\.npz")


# ---------------------------------------------------------------- checkpoints

def _state_digest(fmt, fingerprint, layout) -> str:
    text = json.dumps({"format": fmt, "fingerprint": fingerprint, "layout": layout},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _check_layout(state, layout):
    """The layout of a checkpoint.json, checked field by field (ValueError naming the file)."""
    if not isinstance(layout, dict) or set(layout) != {"n_chunks", "keys_per_chunk", "keep"}:
        raise ValueError(f"{state}: damaged checkpoint (layout must hold n_chunks, "
                         f"keys_per_chunk and keep, got {str(layout)[:200]})")
    for k in ("n_chunks", "keys_per_chunk"):
        v = layout[k]
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v < 2 ** 63:
            raise ValueError(f"{state}: damaged checkpoint (layout.{k} must be a positive "
                             f"integer, got {v!r})")
    if not isinstance(layout["keep"], bool):
        raise ValueError(f"{state}: damaged checkpoint (layout.keep must be true or false, got "
                         f"{layout['keep']!r})")
    return dict(layout)


class Store:
    """The checkpoint of one study in ``directory``.

    ``fingerprint`` identifies the study (spec, backend, code); ``layout`` is the chunking
    (``{"n_chunks", "keys_per_chunk", "keep"}``). Without ``resume``, a directory that holds an
    unfinished checkpoint is refused (never overwritten or mixed); with ``resume``, a
    checkpoint of a different study is refused and one of the same study is continued, in its
    own chunk layout (see :attr:`layout`). Chunk files without a ``checkpoint.json`` are
    refused, never deleted.

    The store holds the directory's lock (:class:`DirectoryLock`) until :meth:`close`.
    ``plan`` (the study's :class:`swarm.engine.Plan`, settable later) lets :meth:`load` check
    a chunk against the study: the shapes, dtypes and ranges of its arrays, and its aggregate
    against its outcomes."""

    def __init__(self, directory, fingerprint, layout, resume=False, describe="", plan=None):
        self.dir = Path(directory)
        self.chunks = self.dir / CHUNKS
        self.fingerprint = fingerprint
        self.plan = plan
        self._lock = None
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ValueError(f"checkpoint directory {self.dir} cannot be created: "
                             f"{e.strerror or e}") from e
        self._lock = lock(self.dir)
        try:
            self._open(layout, resume, describe)
        except BaseException:
            self.close()
            raise

    def _open(self, layout, resume, describe):
        state = self.dir / STATE
        no_link(state)
        no_link(self.chunks)
        if os.path.lexists(self.chunks) and not self.chunks.is_dir():
            raise ValueError(f"{self.chunks}: not a directory; swarm keeps checkpoint chunks "
                             f"there (remove it, or use another results directory)")
        if state.exists():
            old = read_json(state, "checkpoint")
            try:
                old_fp, old_layout = old["fingerprint"], old["layout"]
                fmt = old.get("format")
            except (KeyError, TypeError) as e:
                raise ValueError(f"{state}: damaged checkpoint ({e}); delete {state} and "
                                 f"{self.chunks}/ to start over") from e
            if fmt != FORMAT:
                raise ValueError(f"{state}: a checkpoint of format {fmt!r} (another version of "
                                 f"swarm), expected {FORMAT}; delete {state} and "
                                 f"{self.chunks}/ to start over")
            old_layout = _check_layout(state, old_layout)
            if old.get("digest") != _state_digest(fmt, old_fp, old_layout):
                raise ValueError(f"{state}: damaged checkpoint (its fingerprint or layout does "
                                 f"not match its digest: modified); delete {state} and "
                                 f"{self.chunks}/ to start over")
            if old_fp != self.fingerprint:
                raise ValueError(
                    f"{self.dir} holds a checkpoint of a different study "
                    f"({_printable(old.get('describe'))}); refusing to mix it with this one "
                    f"({describe}). Use another results directory, or delete {state} and "
                    f"{self.chunks}/ to start over")
            n = len(self.done())
            if not resume and n > 0:
                raise ValueError(
                    f"{self.dir} holds an unfinished run of this study ({n} of "
                    f"{old_layout['n_chunks']} chunks done); continue it with --resume "
                    f"(resume=True), or use another results directory")
            self.layout = old_layout
            if n == 0:                       # nothing saved yet: this run takes over
                self.layout = dict(layout)
                self._write_state(describe)
        else:
            left = self.done()
            if left:
                raise ValueError(
                    f"{self.chunks}/ holds {len(left)} saved chunk"
                    f"{'s' if len(left) != 1 else ''} but {state} is missing, so swarm cannot "
                    f"tell which study they belong to (and does not delete them): restore "
                    f"{state}, or delete {self.chunks}/ to start over")
            self.layout = dict(layout)
            self._write_state(describe)
        self.chunks.mkdir(exist_ok=True)
        self._clean_tmp()

    def _clean_tmp(self):
        """Remove the temporary files of killed writers (swarm's own names only)."""
        for d, names in ((self.chunks, None), (self.dir, (STATE,))):
            for f in d.iterdir():
                if f.is_symlink() or not f.is_file():
                    continue
                base = f.name[1:].rsplit(".", 2)[0] if f.name.startswith(".") else ""
                ok = CHUNK_NAME.fullmatch(base) if names is None else base in names
                if ok and is_tmp_of(f.name, base):
                    with quiet():
                        f.unlink()

    def close(self):
        """Give the directory's lock back."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _write_state(self, describe):
        atomic_write(self.dir / STATE, json.dumps(
            {"format": FORMAT, "fingerprint": self.fingerprint, "layout": self.layout,
             "digest": _state_digest(FORMAT, self.fingerprint, self.layout),
             "describe": describe}, indent=1).encode())

    def path(self, j) -> Path:
        return self.chunks / f"{j:08d}.npz"

    def done(self) -> list[int]:
        """Indices of the chunks on disk (files named as swarm names them)."""
        if not self.chunks.is_dir() or self.chunks.is_symlink():
            return []
        return sorted(int(f.name[:8]) for f in self.chunks.iterdir()
                      if CHUNK_NAME.fullmatch(f.name))

    def _layout_array(self):
        return np.array(json.dumps(self.layout, sort_keys=True))

    def save(self, j, outcomes, agg: Aggregate):
        arrays = dict(agg.arrays())
        if outcomes is not None:
            arrays.update({f"out_{k}": outcomes[k] for k in fields(TARGET_HIT in outcomes)})
        arrays["chunk"] = np.array(j)
        arrays["fingerprint"] = np.array(self.fingerprint)
        arrays["layout"] = self._layout_array()
        arrays["digest"] = np.array(digest(arrays))
        atomic_write(self.path(j), npz_bytes(arrays))

    def load(self, j):
        """(outcomes or None, Aggregate) of chunk j, checked against its digest and study and,
        with a plan, against the plan: every array's shape, dtype and range, and the aggregate
        against the outcomes (recomputed from them), before any of it reaches compiled
        code."""
        p = self.path(j)
        keep = self.layout["keep"]
        expect = self._expect(j, keep) if self.plan is not None else None
        z = read_npz(p, "checkpoint chunk", expect)
        try:
            stored = str(z.pop("digest", ""))
            ok = stored == digest(z) and str(z.get("fingerprint")) == self.fingerprint \
                and z.get("chunk") is not None and z["chunk"].shape == () \
                and int(z["chunk"]) == j and "layout" in z \
                and str(z["layout"]) == str(self._layout_array())
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            raise ValueError(f"{p}: checkpoint chunk does not match its digest or this study "
                             f"(modified or from another run); delete it and resume to "
                             f"recompute it")
        outcomes = None
        if keep:
            if "out_end_basin" not in z:
                raise ValueError(f"{p}: checkpoint chunk without outcomes in a checkpoint that "
                                 f"keeps them; delete it and resume to recompute it")
            nt = self.plan.n_targets if self.plan is not None else f"out_{TARGET_HIT}" in z
            outcomes = {k: z[f"out_{k}"] for k in fields(nt)}
        if self.plan is None:
            return outcomes, Aggregate.from_arrays(z, where=p)
        return outcomes, self._checked(j, p, z, outcomes)

    def _expect(self, j, keep):
        plan = self.plan
        A, m = len(plan.arms), plan.keys(j)[3]
        F = DTYPES[plan.dtype]
        expect = {"chunk": ((), "i"), "fingerprint": ((), "U"), "layout": ((), "U"),
                  "digest": ((), "U")}
        expect.update(Aggregate.expected_arrays(A, plan.per_instance, plan.n_targets))
        if keep:
            expect.update({f"out_{k}": ((A, m), dt) for k, dt in field_dtypes(F).items()})
            if plan.n_targets:
                expect[f"out_{TARGET_HIT}"] = ((A, m, plan.n_targets), np.int64)
        return expect

    def _checked(self, j, p, z, outcomes):
        from swarm.result import check_outcomes
        plan = self.plan
        _, _, first, m = plan.keys(j)
        if outcomes is not None:
            check_outcomes(outcomes, plan.steps, p)
        agg = Aggregate.from_arrays(z, where=p, arms=len(plan.arms),
                                    n_instances=plan.instances, steps=plan.steps,
                                    keys=(first, m, plan.starts),
                                    max_basin_rows=plan.max_basin_rows,
                                    per_instance=plan.per_instance, targets=plan.targets)
        if outcomes is not None:
            again = plan.aggregate(j, outcomes, True)
            if agg.basins is None:
                again.basins = None
            if again.hash != agg.hash:
                raise ValueError(f"{p}: the chunk's aggregate does not match its outcomes "
                                 f"(modified); delete it and resume to recompute it")
            agg = again
        return agg


def _printable(s):
    return "".join(c if c.isprintable() else "?" for c in str(s))[:300]


def clear(directory):
    """Remove a checkpoint (once the final results are safely written): the chunk files and
    swarm's temporary files in ``chunks/`` (by name; nothing else, nothing through a link),
    the folder if it is then empty, and last ``checkpoint.json`` — so that a process killed
    half-way leaves a checkpoint that still resumes."""
    d = Path(directory)
    chunks = d / CHUNKS
    if chunks.is_dir() and not chunks.is_symlink():
        for f in list(chunks.iterdir()):
            if f.is_symlink() or not f.is_file():
                continue
            base = f.name[1:].rsplit(".", 2)[0] if f.name.startswith(".") else ""
            if CHUNK_NAME.fullmatch(f.name) or (CHUNK_NAME.fullmatch(base)
                                                and is_tmp_of(f.name, base)):
                with quiet():
                    f.unlink()
        fsync_dir(chunks)
        try:
            chunks.rmdir()
        except OSError:
            pass
    state = d / STATE
    if not state.is_symlink():
        with quiet():
            state.unlink()
    fsync_dir(d)
