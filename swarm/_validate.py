"""Input validation at the boundary: every check raises ``ValueError`` naming the field and
what is allowed, so that bad input never reaches a kernel (and never becomes a Numba typing
traceback, a hang, or a silently wrong number)."""
import ast
import inspect
import math
import numbers

import numpy as np


def real(name, value, *, low=None, high=None, low_open=False, high_open=False):
    """A finite real number within [low, high] (open ends as asked)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    # an unbounded end is open: only finite numbers are accepted
    lo = "(" if low_open or low is None else "["
    hi = ")" if high_open or high is None else "]"
    allowed = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
    try:
        v = float(value)
    except OverflowError:          # an integer beyond the float range (TOML allows any size)
        v = math.inf
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


def literal(node, what, call=None):
    """A parameter value in the text of a ``kind(parameters)`` call (an ``ast`` node): a number,
    a (nested) list of numbers, or what ``call(node)`` makes of it where that is not None;
    otherwise ``ValueError(f"{what}, got …")``."""
    if call is not None:
        out = call(node)
        if out is not None:
            return out
    if isinstance(node, (ast.List, ast.Tuple)):
        return [literal(n, what, call) for n in node.elts]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = literal(node.operand, what, call)
        if isinstance(v, (int, float)):
            return -v if isinstance(node.op, ast.USub) else v
    if (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
            and not isinstance(node.value, bool)):
        return node.value
    raise ValueError(f"{what}, got {ast.unparse(node)!r}")


def kind_call(node, kind, constructors, names, label, literal, bad):
    """``constructors[kind]`` applied to the arguments of ``node`` (an ``ast.Call``; a bare
    name has none), each read by ``literal``: the shared reader of ``kind(parameters)`` texts
    (noise models, schedules). A ``**`` argument raises ``bad()``; arguments the constructor
    does not take, ``ValueError(f"{label} {kind!r} takes the parameters {names}: …")``."""
    args, kwargs = [], {}
    if isinstance(node, ast.Call):
        args = [literal(a) for a in node.args]
        for k in node.keywords:
            if k.arg is None:
                raise bad()
            kwargs[k.arg] = literal(k.value)
    try:
        inspect.signature(constructors[kind]).bind(*args, **kwargs)
    except TypeError as err:
        raise ValueError(f"{label} {kind!r} takes the parameters {names}: {err}") from None
    return constructors[kind](*args, **kwargs)


def kind_dict(d, what, kinds, kind_of, params, label, make):
    """``make(kind, **parameters)`` of a ``{"kind": …, parameter: value, …}`` dict (``what``
    names such a dict in messages; ``kind_of`` checks the kind; ``params(kind)`` its parameter
    names), with a ValueError for a non-dict, a missing kind or an unknown parameter."""
    if not isinstance(d, dict):
        raise ValueError(f"{what} must be a dict with a 'kind' (one of {list(kinds)}), "
                         f"got {d!r}")
    if "kind" not in d:
        raise ValueError(f"{what} needs a 'kind', one of {list(kinds)}; got {d!r}")
    kind = kind_of(d["kind"])
    unknown = sorted(str(k) for k in d if k != "kind" and k not in params(kind))
    if unknown:
        raise ValueError(f"{label} {kind!r} takes the parameters "
                         f"{', '.join(params(kind)) or 'none'}; unknown: {', '.join(unknown)}")
    return make(kind, **{k: v for k, v in d.items() if k != "kind"})


def _has_non_number(value):
    """True for booleans and strings, also inside (nested) sequences — np.asarray would turn
    True into 1.0 and "1.5" into 1.5."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind not in "iuf"
    if isinstance(value, (list, tuple)):
        return any(_has_non_number(x) for x in value)
    return False


def reals(name, value, what):
    """``value`` (a number or a nested sequence of numbers) as a float64 array; ``what`` says
    what is allowed, for the message."""
    bad = ValueError(f"{name} must be {what}, got {value!r}")
    if _has_non_number(value):
        raise bad
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):    # ragged, not numbers, beyond float
        raise bad from None
    if not np.all(np.isfinite(a)):
        raise bad
    return a


def vector(name, value, dim):
    """A finite float64 vector of length dim (a single number stands for every coordinate)."""
    what = f"{dim} finite numbers (dim = {dim}), or one number for all of them"
    a = reals(name, value, what)
    if a.ndim == 0:
        a = np.full(dim, float(a))
    if a.shape != (dim,):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return a
