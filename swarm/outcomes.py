"""What a trajectory's outcome is, defined once (the bottom layer of swarm/, importing no other
swarm module).

A trajectory's outcome is the six fields of :data:`FIELDS`: ``start_basin`` and ``end_basin``
(basin labels; ``0 … n_global−1`` are the global minima, ``-1``: none — an ``end_basin`` of
``-1`` for every diverged trajectory), ``hit_step`` (first step at the global target, ``-1``:
never), ``best_f``, ``final_f`` and ``diverged``. The predicates below are the only place the
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

# the per-(arm, instance) counts of an aggregate, in column order
COUNTS = ("n", "successes", "diverged", "started_global", "successes_from_global", "escapes",
          "escaped_to_global", "hits", "hit_step_sum")
N, SUCCESSES, DIVERGED, STARTED_GLOBAL, SUCCESSES_FROM_GLOBAL, ESCAPES, ESCAPED_TO_GLOBAL, \
    HITS, HIT_STEP_SUM = range(len(COUNTS))


def field_dtypes(F) -> dict:
    """The dtype of each field of :data:`FIELDS`; the float fields in the working dtype ``F``."""
    return dict(zip(FIELDS, (np.int64, np.int64, np.int64, F, F, np.bool_)))


def empty_outcomes(shape, F):
    """Uninitialised outcome arrays of ``shape``, one per field of :data:`FIELDS`; the float
    fields in the working dtype ``F``."""
    return {k: np.empty(shape, dt) for k, dt in field_dtypes(F).items()}


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
