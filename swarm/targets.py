"""Precision targets: first-hit steps of ``f − f* ≤ target`` for a ladder of targets, COCO's
by default (``swarm.run(..., targets="coco")``).

COCO (the BBOB benchmarking platform) measures an optimizer by the number of function
evaluations it needs to reach each of a ladder of *precisions* ``Δf = f − f_opt``; its
runtime ECDFs (cocopp's ``pprldmany``) use the 51 targets ``10^(2 − 0.2 i)``, i = 0 … 50,
10² down to 10⁻⁸, computed as cocopp computes them (``testbedsettings.GECCOBBOBTestbed``'s
``pprldmany_target_values = 10 ** np.arange(2, -8.2, -0.2)``, the same expression: NumPy's
array power, so 10¹ is 10.000000000000005 and 10⁻⁸ 1.0000000000000042e-08, as in cocopp; the
scalar list ``[10**i for i in np.arange(2, -8.1, -0.2)]`` of cocopp's ``pproc`` docstring
differs from it in the last bit at i = 40), and its tables the integer-exponent ones among
them, 10², 10¹, …, 10⁻⁸.

A study with targets records, per trajectory, the first-hit step of each target (``target_hit``,
the same convention as ``hit_step``: the number of updates made before the hit, 0 the start,
−1 never; a diverged trajectory hits nothing after it diverged), and its aggregate keeps per arm
and target the hits, the exact sum of their steps and their histogram on the hit grid, so aRT
and runtime ECDFs per target come from a study of any size (:func:`swarm.analysis.art`,
:func:`swarm.analysis.runtime_ecdf`).
"""
from __future__ import annotations

import math

import numpy as np

COCO = 10 ** np.arange(2, -8.2, -0.2)     # cocopp's pprldmany_target_values: 51 targets
MAX_TARGETS = 64                          # kernels/ids.MAX_TARGETS (the CUDA threads' rows)
ALLOWED = ('None, "coco" (COCO\'s 51 precisions 10^(2 − 0.2 i), i = 0 … 50) or a sequence '
           f'of 1 … {MAX_TARGETS} positive finite precisions, strictly decreasing')


def canonical(targets) -> np.ndarray | None:
    """The study's targets as a float64 array (strictly decreasing, positive, finite, at most
    :data:`MAX_TARGETS`), or None; a ValueError naming ``targets`` and what is allowed
    otherwise."""
    if targets is None:
        return None
    if isinstance(targets, str):
        if targets == "coco":
            return COCO.copy()
        raise ValueError(f"targets must be {ALLOWED}; got the text {targets[:40]!r}")
    if isinstance(targets, np.ndarray):
        targets = targets.tolist()
    if not isinstance(targets, (list, tuple)):
        raise ValueError(f"targets must be {ALLOWED}; got {type(targets).__name__}: "
                         f"{str(targets)[:60]}")
    if not 1 <= len(targets) <= MAX_TARGETS:
        raise ValueError(f"targets must be {ALLOWED}; got {len(targets)} values")
    vals = []
    for i, v in enumerate(targets):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise ValueError(f"targets[{i}] must be a positive finite number ({ALLOWED}); got "
                             f"{type(v).__name__}: {str(v)[:40]}")
        v = float(v)
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"targets[{i}] must be a positive finite number ({ALLOWED}); got "
                             f"{v!r}")
        vals.append(v)
    a = np.array(vals, np.float64)
    if np.any(np.diff(a) >= 0):
        i = int(np.flatnonzero(np.diff(a) >= 0)[0])
        raise ValueError(f"targets must be strictly decreasing, no value twice ({ALLOWED}); "
                         f"got targets[{i}] = {a[i]!r} then targets[{i + 1}] = {a[i + 1]!r}")
    return a


def record(targets):
    """What a spec and a manifest keep: ``"coco"`` for COCO's targets, else the list of
    floats, None without targets."""
    a = canonical(targets)
    if a is None:
        return None
    if a.shape == COCO.shape and np.array_equal(a, COCO):
        return "coco"
    return a.tolist()


def integer_exponents(targets) -> np.ndarray:
    """Indices of the targets that are integer powers of ten (COCO's tables: 10², …, 10⁻⁸),
    to within 10⁻⁹ in the exponent."""
    e = np.log10(np.asarray(targets, np.float64))
    return np.flatnonzero(np.abs(e - np.round(e)) <= 1e-9)
