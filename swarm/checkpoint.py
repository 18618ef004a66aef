"""Crash-safe chunk checkpoints in a results directory.

A study run with a checkpoint directory ``DIR`` writes ``DIR/checkpoint.json`` (the study's
fingerprint and chunk layout) and, as each chunk finishes, ``DIR/chunks/NNNNNNNN.npz`` (the
chunk's aggregate and, for studies that keep them, its per-trajectory outcomes, plus a SHA-256
of their contents). Every file is written to a temporary name, flushed with ``fsync`` and
renamed into place, so a process killed at any moment leaves either the whole file or none.
Resuming reads the chunks that are there, checks each one, and runs only the others.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from swarm.aggregate import Aggregate
from swarm.result import FIELDS

FORMAT = 2          # 2: aggregates of an instance range (i0), totals and moments
CHUNKS = "chunks"
STATE = "checkpoint.json"


def fsync_dir(d):
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path, data: bytes):
    """Write ``data`` to ``path`` atomically: temporary file, fsync, rename, fsync the folder."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def npz_bytes(arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def digest(arrays) -> str:
    """SHA-256 over named arrays (names, dtypes, shapes, bytes), in name order."""
    h = hashlib.sha256()
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k])
        h.update(k.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def read_npz(path, what="file") -> dict:
    """All arrays of an ``.npz`` (no pickles), or ValueError naming the damaged file."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: damaged {what} ({type(e).__name__}: {e}); it was truncated "
                         f"or modified") from e


class Store:
    """The checkpoint of one study in ``directory``.

    ``fingerprint`` identifies the study (spec, backend, code); ``layout`` is the chunking
    (``{"n_chunks", "keys_per_chunk", "keep"}``). Without ``resume``, a directory that holds an
    unfinished checkpoint is refused (never overwritten or mixed); with ``resume``, a
    checkpoint of a different study is refused and one of the same study is continued, in its
    own chunk layout (see :attr:`layout`)."""

    def __init__(self, directory, fingerprint, layout, resume=False, describe=""):
        self.dir = Path(directory)
        self.chunks = self.dir / CHUNKS
        self.fingerprint = fingerprint
        state = self.dir / STATE
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ValueError(f"checkpoint directory {self.dir} cannot be created: {e}") from e
        if state.exists():
            try:
                old = json.loads(state.read_text())
                old_fp, old_layout = old["fingerprint"], old["layout"]
            except (OSError, ValueError, KeyError, TypeError) as e:
                raise ValueError(f"{state}: damaged checkpoint ({e}); delete {state} and "
                                 f"{self.chunks}/ to start over") from e
            if old_fp != fingerprint:
                raise ValueError(
                    f"{self.dir} holds a checkpoint of a different study ({old.get('describe')})"
                    f"; refusing to mix it with this one ({describe}). Use another results "
                    f"directory, or delete {state} and {self.chunks}/ to start over")
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
            self.layout = dict(layout)
            self.chunks.mkdir(exist_ok=True)
            for f in self.chunks.glob(".*.tmp"):
                f.unlink(missing_ok=True)
            for f in self.chunks.glob("*.npz"):      # left by a run that died before STATE
                f.unlink(missing_ok=True)
            self._write_state(describe)
        self.chunks.mkdir(exist_ok=True)

    def _write_state(self, describe):
        atomic_write(self.dir / STATE, json.dumps(
            {"format": FORMAT, "fingerprint": self.fingerprint, "layout": self.layout,
             "describe": describe}, indent=1).encode())

    def path(self, j) -> Path:
        return self.chunks / f"{j:08d}.npz"

    def done(self) -> list[int]:
        """Indices of the chunks on disk."""
        out = []
        for f in self.chunks.glob("*.npz"):
            if f.stem.isdigit():
                out.append(int(f.stem))
        return sorted(out)

    def save(self, j, outcomes, agg: Aggregate):
        arrays = dict(agg.arrays())
        if outcomes is not None:
            arrays.update({f"out_{k}": outcomes[k] for k in FIELDS})
        arrays["chunk"] = np.array(j)
        arrays["fingerprint"] = np.array(self.fingerprint)
        arrays["digest"] = np.array(digest(arrays))
        atomic_write(self.path(j), npz_bytes(arrays))

    def load(self, j):
        """(outcomes or None, Aggregate) of chunk j, checked against its digest and study."""
        p = self.path(j)
        z = read_npz(p, "checkpoint chunk")
        stored = str(z.pop("digest", ""))
        if stored != digest(z) or str(z.get("fingerprint")) != self.fingerprint \
                or int(z.get("chunk", -1)) != j:
            raise ValueError(f"{p}: checkpoint chunk does not match its digest or this study "
                             f"(modified or from another run); delete it and resume to "
                             f"recompute it")
        outcomes = None
        if "out_end_basin" in z:
            outcomes = {k: z[f"out_{k}"] for k in FIELDS}
        return outcomes, Aggregate.from_arrays(z)


def clear(directory):
    """Remove a checkpoint (once the final results are safely written)."""
    d = Path(directory)
    (d / STATE).unlink(missing_ok=True)        # first: a half-cleared checkpoint is no state
    fsync_dir(d)
    chunks = d / CHUNKS
    if chunks.is_dir():
        for f in list(chunks.glob("*.npz")) + list(chunks.glob(".*.tmp")):
            f.unlink(missing_ok=True)
        try:
            chunks.rmdir()
        except OSError:
            pass
