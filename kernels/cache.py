"""On-disk kernel cache keyed to the kernels' own sources.

Numba invalidates a cached kernel only when the kernel's *own* file changes; editing a helper in
another module would leave a stale kernel. The cache therefore lives in a directory named after
a hash of every source file of this package (``$SWARM_CACHE_DIR`` or ``~/.cache/swarm``).
"""
import hashlib
import os
from pathlib import Path

import numba
from numba.core import config

_HERE = Path(__file__).resolve().parent


def source_hash():
    h = hashlib.sha256()
    for f in sorted(_HERE.glob("*.py")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    h.update(numba.__version__.encode())
    return h.hexdigest()[:16]


def cache_dir():
    root = os.environ.get("SWARM_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "swarm")
    return os.path.join(root, "numba-" + source_hash())


def cached_njit(sub=None, **options):
    """``numba.njit(cache=True, **options)`` with the cache in :func:`cache_dir` (in its
    subdirectory ``sub``: kernels that share a source function but not its globals, such as
    the BBOB kernel set of :mod:`.cpu`, must not share an index)."""
    def deco(fn):
        saved = config.CACHE_DIR
        config.CACHE_DIR = cache_dir() if sub is None else os.path.join(cache_dir(), sub)
        try:
            return numba.njit(cache=True, **options)(fn)
        finally:
            config.CACHE_DIR = saved
    return deco
