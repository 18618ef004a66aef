"""Crash-safe chunk checkpoints in a results directory, and the safe file operations every
write into a results directory goes through.

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

import errno
import hashlib
import io
import json
import os
import re
import socket
import stat
import threading
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np

from swarm.aggregate import Aggregate
from swarm.result import FIELDS

FORMAT = 3          # 3: state and chunk digests cover the layout; 2: aggregates of i0 ranges
CHUNKS = "chunks"
STATE = "checkpoint.json"
LOCK = ".swarm.lock"
CHUNK_NAME = re.compile(r"\d{8}\.npz")
MAX_JSON_BYTES = 64 << 20          # manifest.json, checkpoint.json: refused above this size
MAX_NPZ_MEMBERS = 64
MAX_HEADER_BYTES = 1 << 16         # an .npy header (shape, dtype) is a few dozen bytes


def memory_budget():
    """Half the available memory: the most one study (or one file read back) may take."""
    try:
        return int(0.5 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 4 << 30


# ---------------------------------------------------------------- safe file operations

def no_link(path):
    """Refuse a symbolic link at ``path`` (an entry of a results directory): swarm never
    writes, reads or deletes through one, so that a link cannot lead it outside the
    directory."""
    if os.path.islink(path):
        raise ValueError(f"{path}: is a symbolic link; swarm never writes, reads or deletes "
                         f"through a symbolic link inside a results directory (remove the "
                         f"link, or use another directory)")


def _tmp_name(path):
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _is_tmp_of(name, base):
    """Whether ``name`` is a temporary file of :func:`atomic_write` for the file ``base``."""
    return re.fullmatch(rf"\.{re.escape(base)}\.\d+\.tmp", name) is not None


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
    """Write ``data`` to ``path`` atomically: temporary file (created here, never through a
    link), fsync, rename, fsync the folder. A symbolic link or a folder at ``path`` is
    refused (ValueError). On a failed write (disk full …) the temporary file is removed and
    the OSError names ``path``."""
    path = Path(path)
    no_link(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a directory, where swarm writes a file; remove it or use "
                         f"another results directory")
    tmp = _tmp_name(path)
    if os.path.lexists(tmp):          # left by a killed process that had this pid
        os.unlink(tmp)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_CLOEXEC", 0), 0o666)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            with _quiet():
                os.unlink(tmp)
            raise
        os.replace(tmp, path)
    except OSError as e:
        with _quiet():
            os.unlink(tmp)
        if e.filename is None or str(e.filename) == str(tmp):
            raise OSError(e.errno, e.strerror or str(e), str(path)) from e
        raise
    fsync_dir(path.parent)


class _quiet:
    """Ignore a FileNotFoundError (a cleanup of something already gone)."""

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        return kind is not None and issubclass(kind, FileNotFoundError)


def read_limited(path, what, limit=MAX_JSON_BYTES) -> bytes:
    """The bytes of a regular file (not a link) of at most ``limit`` bytes, else ValueError
    naming it; FileNotFoundError passes through."""
    no_link(path)
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{path}: not a regular file (a {what} is expected)")
    if st.st_size > limit:
        raise ValueError(f"{path}: {what} of {st.st_size:,} bytes, more than the {limit:,} "
                         f"allowed; it was not written by swarm")
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path}: {what} larger than the {limit:,} bytes allowed")
    return data


def read_json(path, what) -> dict:
    """A JSON object from a file (:func:`read_limited`), or ValueError naming the file."""
    try:
        obj = json.loads(read_limited(path, what).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: damaged {what} ({e})") from None
    except RecursionError:
        raise ValueError(f"{path}: damaged {what} (nested too deeply)") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: damaged {what} (not a JSON object)")
    return obj


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


def _header(fp):
    """(shape, dtype) from an .npy header, read no further."""
    major, _ = np.lib.format.read_magic(fp)
    read = {1: np.lib.format.read_array_header_1_0,
            2: np.lib.format.read_array_header_2_0}.get(major)
    if read is None:
        raise ValueError(f"unsupported .npy format version {major}")
    shape, fortran, dtype = read(fp, max_header_size=MAX_HEADER_BYTES)
    return shape, dtype


def read_npz(path, what="file", expect=None, max_bytes=None) -> dict:
    """The arrays of an ``.npz`` (no pickles), or ValueError naming the file (and the field).

    Sizes are checked before anything is read: the file itself, the number of members, every
    member's declared uncompressed size and its ``.npy`` header (shape and dtype), whose bytes
    must fit in ``max_bytes`` (default :func:`memory_budget`) all together — so that neither a
    zip bomb nor a header declaring 10¹¹ elements allocates anything. ``expect``:
    ``{name: (shape, dtype[, optional])}`` (``shape`` a tuple, ``None`` entries match any
    length, or None for any shape; ``dtype`` a dtype, a tuple of them, or a kind letter such as
    ``"U"``): a member that does not match is refused before it is read, one that is missing
    is refused unless ``optional``, and members not named are not read at all."""
    path = Path(path)
    limit = memory_budget() if max_bytes is None else int(max_bytes)
    fail = (lambda msg: ValueError(f"{path}: damaged {what} ({msg}); it was truncated or "
                                   f"modified, or not written by swarm"))
    no_link(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{path}: not a regular file (a {what} is expected)")
    if st.st_size > limit + (1 << 20):
        raise ValueError(f"{path}: {what} of {st.st_size:,} bytes, more than the {limit:,} "
                         f"bytes allowed here (half the available memory)")
    out = {}
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_NPZ_MEMBERS:
                raise fail(f"{len(infos)} members, at most {MAX_NPZ_MEMBERS} expected")
            members = {}
            for info in infos:
                if not info.filename.endswith(".npy"):
                    raise fail(f"member {info.filename!r} is not an .npy array")
                members[info.filename[:-4]] = info
            names = list(members) if expect is None else list(expect)
            total = 0
            for name in names:
                if name not in members:
                    if expect is not None and len(expect[name]) > 2 and expect[name][2]:
                        continue                          # optional
                    raise fail(f"field {name!r} is missing")
                info = members[name]
                with zf.open(info) as fp:
                    try:
                        shape, dtype = _header(fp)
                    except ValueError as e:
                        raise fail(f"field {name!r}: {e}") from None
                if dtype.hasobject:
                    raise fail(f"field {name!r} holds Python objects")
                n = dtype.itemsize
                for s in shape:
                    n *= s
                total += n
                if n > info.file_size or total > limit:
                    raise ValueError(f"{path}: field {name!r} declares {shape} × {dtype} "
                                     f"({n:,} bytes): "
                                     + ("more than its member holds" if n > info.file_size
                                        else f"more than the {limit:,} bytes allowed here"))
                if expect is not None:
                    _check_declared(path, name, shape, dtype, *expect[name][:2])
            for name in names:
                if name not in members:
                    continue
                with zf.open(members[name]) as fp:
                    out[name] = np.lib.format.read_array(fp, allow_pickle=False,
                                                         max_header_size=MAX_HEADER_BYTES)
    except FileNotFoundError:
        raise
    except ValueError as e:
        if str(e).startswith(str(path)):
            raise
        raise fail(f"{type(e).__name__}: {e}") from e
    except (OSError, KeyError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError,
            RuntimeError, OverflowError) as e:
        raise fail(f"{type(e).__name__}: {e}") from e
    return out


def _check_declared(path, name, shape, dtype, want_shape, want_dtype):
    if want_shape is not None and (len(shape) != len(want_shape) or any(
            w is not None and s != w for s, w in zip(shape, want_shape))):
        want = tuple("*" if w is None else w for w in want_shape)
        raise ValueError(f"{path}: field {name!r} has shape {shape}, expected {want}")
    if isinstance(want_dtype, str):
        ok = dtype.kind in want_dtype
    else:
        allowed = want_dtype if isinstance(want_dtype, tuple) else (want_dtype,)
        ok = any(dtype == np.dtype(t) for t in allowed)
    if not ok:
        raise ValueError(f"{path}: field {name!r} has dtype {dtype}, expected "
                         f"{want_dtype if isinstance(want_dtype, (str, tuple)) else np.dtype(want_dtype)}")


# ---------------------------------------------------------------- the directory lock

_HELD: dict = {}                  # (st_dev, st_ino) of a locked directory → [fd, count]
_HELD_LOCK = threading.Lock()


class DirectoryLock:
    """An exclusive lock on a results directory, held by this process (re-entrant within it):
    ``flock`` on ``DIR/.swarm.lock``, which names the holder. :meth:`release` (or leaving a
    ``with`` block) gives it back; the kernel releases it when the process dies."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.key = None
        try:
            st = os.stat(self.dir)
        except OSError as e:
            raise ValueError(f"results directory {self.dir} cannot be used: "
                             f"{e.strerror or e}") from e
        key = (st.st_dev, st.st_ino)
        with _HELD_LOCK:
            if key in _HELD:
                _HELD[key][1] += 1
                self.key = key
                return
            _HELD[key] = [self._take(), 1]
            self.key = key

    def _take(self):
        try:
            import fcntl
        except ImportError:           # no flock here (Windows): no lock
            return None
        p = self.dir / LOCK
        no_link(p)
        try:
            fd = os.open(p, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
                         | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as e:
            raise ValueError(f"{p}: cannot create the lock file of the results directory "
                             f"({e.strerror or e})") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = ""
            with _quiet():
                holder = os.pread(fd, 512, 0).decode("utf-8", "replace")
            os.close(fd)
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise ValueError(f"{p}: cannot lock the results directory "
                                 f"({e.strerror or e})") from e
            holder = " ".join("".join(c if c.isprintable() else "?" for c in holder).split())
            raise DirectoryBusy(
                f"{self.dir} is in use by another swarm process"
                + (f" ({holder})" if holder else "") + "; wait for it to finish, or write to "
                f"another results directory") from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (f"pid {os.getpid()} on host {socket.gethostname()}, since "
                           f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n").encode(), 0)
        except OSError:
            pass                      # the lock holds whether or not its note was written
        return fd

    def release(self):
        if self.key is None:
            return
        with _HELD_LOCK:
            held = _HELD.get(self.key)
            self.key, key = None, self.key
            if held is None:
                return
            held[1] -= 1
            if held[1] == 0:
                del _HELD[key]
                if held[0] is not None:
                    with _quiet():
                        os.ftruncate(held[0], 0)
                    os.close(held[0])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    def __del__(self):
        self.release()


class DirectoryBusy(ValueError):
    """Another process holds the lock of a results directory."""


def lock(directory) -> DirectoryLock:
    """Take the exclusive lock of a results directory (it must exist); a second process is
    refused with :class:`DirectoryBusy` (a ValueError) naming the holder."""
    return DirectoryLock(directory)


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
                if ok and _is_tmp_of(f.name, base):
                    with _quiet():
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
            arrays.update({f"out_{k}": outcomes[k] for k in FIELDS})
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
            outcomes = {k: z[f"out_{k}"] for k in FIELDS}
        if self.plan is None:
            return outcomes, Aggregate.from_arrays(z, where=p)
        return outcomes, self._checked(j, p, z, outcomes)

    def _expect(self, j, keep):
        from swarm.engine import DTYPES
        plan = self.plan
        A, m = len(plan.arms), plan.keys(j)[3]
        F = DTYPES[plan.dtype]
        expect = {"chunk": ((), "i"), "fingerprint": ((), "U"), "layout": ((), "U"),
                  "digest": ((), "U")}
        expect.update(Aggregate.expected_arrays(A, plan.per_instance))
        if keep:
            expect.update({f"out_{k}": ((A, m), dt) for k, dt in zip(FIELDS, (
                np.int64, np.int64, np.int64, F, F, np.bool_))})
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
                                    per_instance=plan.per_instance)
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
                                                and _is_tmp_of(f.name, base)):
                with _quiet():
                    f.unlink()
        fsync_dir(chunks)
        try:
            chunks.rmdir()
        except OSError:
            pass
    state = d / STATE
    if not state.is_symlink():
        with _quiet():
            state.unlink()
    fsync_dir(d)
