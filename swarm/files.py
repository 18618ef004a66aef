"""Safe file operations: every write into, and every read from, a results directory goes
through these (the bottom layer of swarm/, importing no other swarm module).

Every file is written to a temporary name, flushed with ``fsync`` and renamed into place
(:func:`atomic_write`), so a process killed at any moment leaves either the whole file or none.
swarm never writes, reads or deletes through a symbolic link inside a results directory
(:func:`no_link`). Files are read back with size limits checked before anything is allocated
(:func:`read_limited`, :func:`read_json`, :func:`read_npz`). A process that writes into a
results directory holds an exclusive lock on ``DIR/.swarm.lock`` (:func:`lock`; ``flock``, the
file names the holder's pid and host), so that a second writer is refused at once with one
readable line.
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

LOCK = ".swarm.lock"
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


def is_tmp_of(name, base):
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
            with quiet():
                os.unlink(tmp)
            raise
        os.replace(tmp, path)
    except OSError as e:
        with quiet():
            os.unlink(tmp)
        if e.filename is None or str(e.filename) == str(tmp):
            raise OSError(e.errno, e.strerror or str(e), str(path)) from e
        raise
    fsync_dir(path.parent)


class quiet:
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
            with quiet():
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
                    with quiet():
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

