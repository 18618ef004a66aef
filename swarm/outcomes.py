"""What a trajectory's outcome is, defined once (the bottom layer of swarm/, importing no other
swarm module).

A trajectory's outcome is the six fields of :data:`FIELDS`: ``start_basin`` and ``end_basin``
(basin labels; ``0 … n_global−1`` are the global minima, ``-1``: none — an ``end_basin`` of
``-1`` for every diverged trajectory), ``hit_step`` (first step at the global target, ``-1``:
never), ``best_f``, ``final_f`` and ``diverged``; a study with precision targets
(:mod:`swarm.targets`) has a seventh, ``target_hit`` (int64, one column per target: the
first-hit step of ``f − f* ≤ target``, ``-1``: never), present only then. The predicates below are the only place the
Python side spells what "global", "escaped", "escaped to global" and "hit" mean; the Numba
tally (:func:`swarm.aggregate._tally`) spells the same tests per trajectory (inside a compiled
loop) and writes its counts to the columns named by :data:`COUNTS`, through the integer
constants below (compile-time constants in Numba).
"""
from __future__ import annotations

import numpy as np

DTYPES = {"float64": np.float64, "float32": np.float32}     # the working dtypes of best_f, final_f
FIELDS = ("start_basin", "end_basin", "hit_step", "best_f", "final_f", "diverged")
OUTCOME_BYTES = 8 * 5 + 1         # bytes per trajectory: five 8-byte fields and a bool
TARGET_HIT = "target_hit"         # the optional field: (…, n_targets) int64 first-hit steps

# the per-(arm, instance) counts of an aggregate, in column order
COUNTS = ("n", "successes", "diverged", "started_global", "successes_from_global", "escapes",
          "escaped_to_global", "hits", "hit_step_sum")
N, SUCCESSES, DIVERGED, STARTED_GLOBAL, SUCCESSES_FROM_GLOBAL, ESCAPES, ESCAPED_TO_GLOBAL, \
    HITS, HIT_STEP_SUM = range(len(COUNTS))


def field_dtypes(F) -> dict:
    """The dtype of each field of :data:`FIELDS`; the float fields in the working dtype ``F``."""
    return dict(zip(FIELDS, (np.int64, np.int64, np.int64, F, F, np.bool_)))


def fields(n_targets=0) -> tuple:
    """The outcome fields of a study with ``n_targets`` precision targets: :data:`FIELDS`,
    then ``target_hit`` when there are targets."""
    return FIELDS + ((TARGET_HIT,) if n_targets else ())


def outcome_bytes(n_targets=0) -> int:
    """Bytes of one trajectory's outcomes with ``n_targets`` targets."""
    return OUTCOME_BYTES + 8 * n_targets


def empty_outcomes(shape, F, n_targets=0):
    """Uninitialised outcome arrays of ``shape``, one per field of :data:`FIELDS`; the float
    fields in the working dtype ``F``; with ``n_targets`` targets also ``target_hit`` of
    ``shape + (n_targets,)``."""
    out = {k: np.empty(shape, dt) for k, dt in field_dtypes(F).items()}
    if n_targets:
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        out[TARGET_HIT] = np.empty(shape + (n_targets,), np.int64)
    return out


def is_global(basin, n_global):
    """Whether a basin label is one of the global minima: ``0 ≤ basin < n_global``
    (``n_global`` a number, or an array broadcasting against ``basin``)."""
    basin = np.asarray(basin)
    return (basin >= 0) & (basin < n_global)


def escaped(start_basin, end_basin, diverged=None):
    """Whether a trajectory ended in a basin other than its start basin, not diverged. Without
    ``diverged`` (basin labels alone, as in an aggregate's basin table) a trajectory counts as
    diverged when its end basin is ``-1``."""
    start_basin, end_basin = np.asarray(start_basin), np.asarray(end_basin)
    moved = start_basin != end_basin
    if diverged is None:
        return moved & (end_basin >= 0)
    return moved & ~np.asarray(diverged, bool)


def escaped_to_global(start_basin, end_basin, n_global):
    """Whether a trajectory that did not start in a global basin ended in one."""
    return ~is_global(start_basin, n_global) & is_global(end_basin, n_global)


def hit(hit_step):
    """Whether a trajectory reached the global target (``hit_step ≥ 0``)."""
    return np.asarray(hit_step) >= 0
