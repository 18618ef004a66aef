"""Input validation at the boundary: every check raises ``ValueError`` naming the field and
what is allowed, so that bad input never reaches a kernel (and never becomes a Numba typing
traceback, a hang, or a silently wrong number)."""
import math
import numbers

import numpy as np


def real(name, value, *, low=None, high=None, low_open=False, high_open=False):
    """A finite real number within [low, high] (open ends as asked)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    v = float(value)
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    allowed = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, in {allowed}; got {value!r}")
    if low is not None and (v < low or (low_open and v == low)):
        raise ValueError(f"{name} must be in {allowed}, got {value!r}")
    if high is not None and (v > high or (high_open and v == high)):
        raise ValueError(f"{name} must be in {allowed}, got {value!r}")
    return v


def integer(name, value, *, low=None, high=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise ValueError(f"{name} must be an integer in [{low if low is not None else '-inf'}, "
                         f"{high if high is not None else 'inf'}], got {value!r}")
    return v


def flag(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {sorted(allowed)}, got {value!r}")
    return value


def vector(name, value, dim):
    """A finite float64 vector of length dim."""
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of {dim} finite numbers, got {value!r}")
    if a.ndim == 0:
        a = np.full(dim, float(a))
    if a.shape != (dim,) or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be {dim} finite numbers (dim = {dim}), got {value!r}")
    return a
