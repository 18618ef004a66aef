"""Exact, mergeable aggregates of trajectory outcomes: what a study keeps when it is too large
to keep every trajectory.

An :class:`Aggregate` holds, for a study's ``A`` arms and ``I`` instances,

* ``counts`` — int64 ``(A, I, len(COUNTS))``: trajectories, successes, diverged, started in a
  global basin, successes among those, escapes, escapes to a global basin, hits of the global
  target (the columns are named by :data:`COUNTS`);
* ``hits`` — int64 ``(A, len(grid))``: first-hit steps binned on the fixed grid
  :func:`hit_grid` (bin ``j`` counts ``grid[j−1] < hit_step ≤ grid[j]``), so the ECDF at the
  grid points is exact;
* ``pairs`` — int64 ``(A, A)``: ``pairs[a, b]`` = trajectory keys where arm ``a`` succeeded
  and arm ``b`` did not (the discordant counts of the paired McNemar test);
* ``basins`` — int64 rows ``(arm, instance, start basin, end basin, count)``, sorted, or
  ``None`` once more than ``max_basin_rows`` distinct rows would be needed (whether that
  happens depends only on the study, not on chunking or merge order);
* ``sums`` — exact sums of ``best_f`` and ``final_f`` over the trajectories that did not
  diverge, per arm, as integers in units of 2⁻¹¹²⁶ (every float64 is an integer multiple), so
  sums and means do not depend on the order of additions.

Every part is a sum over trajectories, so aggregates of disjoint chunks merge by addition and
the result does not depend on how a study was cut into chunks, on thread counts or on the
order in which chunks finished. Memory is independent of the number of trajectories.
"""
from __future__ import annotations

import hashlib
import math

import numpy as np
from numba import get_num_threads, njit, prange

from swarm.kernels.cache import cached_njit

COUNTS = ("n", "successes", "diverged", "started_global", "successes_from_global", "escapes",
          "escaped_to_global", "hits", "hit_step_sum")
C = {k: j for j, k in enumerate(COUNTS)}
MOMENTS = COUNTS[:8]      # columns whose per-instance products (Aggregate.cross) are kept
SUMS = ("best_f", "final_f")
MAX_BASIN_ROWS = 1 << 20
_SHIFT = 1126            # 2**-1126 divides every float64 (subnormal mantissa bits included)
_HALF = 26
_LOW = (1 << _HALF) - 1
_MANT = (1 << 52) - 1
_SUM_PART = 1 << 16       # values per part of _exact_bins's parallel loop
_PART = 1 << 15           # keys per part of _tally's and _cell_counts's parallel loops, at least


def hit_grid(steps, points=200) -> np.ndarray:
    """Step grid for first-hit histograms and ECDFs: 0, then about ``points`` log-spaced integer
    steps up to ``steps`` (always included)."""
    steps = int(steps)
    g = np.unique(np.round(np.logspace(0, math.log10(max(steps, 1)), points)).astype(np.int64))
    return np.concatenate([[0], g[(g >= 1) & (g <= steps)]])


@cached_njit(error_model="numpy", parallel=True)
def _exact_bins(v, skip, hi, lo):
    """Per binary exponent E (bin ``E``: units of ``2^(E + 52 − 1126)``), the sums of the high
    and low 26-bit halves of the signed 53-bit mantissas of ``v[r]`` (as float64, exact) over
    the r with ``skip[r]`` false and ``v[r]`` finite, added to ``hi``, ``lo``. Each half is
    < 2²⁷, so an int64 bin is exact for 2³⁶ values. Parts of 2¹⁶ values run in parallel into
    their own bins, added afterwards (integers: the same sums whatever the thread count)."""
    P = max(1, -(-v.size // _SUM_PART))
    hp = np.zeros((P, hi.size), np.int64)
    lp = np.zeros((P, lo.size), np.int64)
    for q in prange(P):
        for r in range(q * _SUM_PART, min(v.size, (q + 1) * _SUM_PART)):
            if skip[r]:
                continue
            x = np.float64(v[r])
            b = x.view(np.int64)
            e = (b >> 52) & 0x7FF
            if e == 0x7FF:                    # inf, nan
                continue
            m = b & _MANT
            if e == 0:                        # subnormal: m · 2^−1074, same bin as e = 1's
                e = 1
            else:
                m |= 1 << 52                  # normal: (2^52 + m) · 2^(e − 1075)
            if b < 0:
                hp[q, e - 1] -= m >> _HALF
                lp[q, e - 1] -= m & _LOW
            else:
                hp[q, e - 1] += m >> _HALF
                lp[q, e - 1] += m & _LOW
    for q in range(P):
        hi += hp[q]
        lo += lp[q]


def exact_sum(v, skip=None) -> int:
    """Σ v exactly, as an integer in units of 2⁻¹¹²⁶, over the finite values of ``v`` (and,
    given a boolean ``skip`` of the same shape, only where it is false)."""
    v = np.ascontiguousarray(v).ravel()
    if v.dtype not in (np.float64, np.float32):
        v = v.astype(np.float64)
    skip = np.zeros(v.size, np.bool_) if skip is None else \
        np.ascontiguousarray(skip, dtype=np.bool_).ravel()
    hi = np.zeros(2046, np.int64)
    lo = np.zeros(2046, np.int64)
    _exact_bins(v, skip, hi, lo)
    total = 0
    for E in np.flatnonzero((hi != 0) | (lo != 0)).tolist():
        total += ((int(hi[E]) << _HALF) + int(lo[E])) << (E + 52)
    return total


def exact_mean(total: int, n: int) -> float:
    """The float nearest to ``total · 2⁻¹¹²⁶ / n`` (nan when n = 0)."""
    return total / (n << _SHIFT) if n else math.nan


def _merge_rows(rows):
    """Sum the counts of equal (arm, instance, start, end) rows; rows sorted."""
    if rows.shape[0] == 0:
        return rows
    keys = rows[:, :4]
    order = np.lexsort(keys.T[::-1])
    rows = rows[order]
    new = np.r_[True, np.any(rows[1:, :4] != rows[:-1, :4], axis=1)]
    idx = np.flatnonzero(new)
    out = rows[idx].copy()
    out[:, 4] = np.add.reduceat(rows[:, 4], idx)
    return out


@njit(inline="always")
def _key_cmp(x, i, y, j):
    """−1, 0 or 1 as row i of x's first four columns is below, equal to or above y's row j."""
    for c in range(4):
        if x[i, c] != y[j, c]:
            return -1 if x[i, c] < y[j, c] else 1
    return 0


@cached_njit(error_model="numpy")
def _merge_sorted(x, y):
    """``(rows, ok)``: the rows of x and y, each sorted by its first four columns with no key
    twice, merged in one pass (equal keys' counts added), as :func:`_merge_rows` would give;
    ``ok`` is False (and rows unusable) when an input was not sorted that way."""
    n, m = x.shape[0], y.shape[0]
    out = np.empty((n + m, 5), np.int64)
    i = j = k = 0
    while i < n or j < m:
        c = 1 if i >= n else (-1 if j >= m else _key_cmp(x, i, y, j))
        if c <= 0:
            out[k] = x[i]
            i += 1
            if c == 0:
                out[k, 4] += y[j, 4]
                j += 1
        else:
            out[k] = y[j]
            j += 1
        if k > 0 and _key_cmp(out, k - 1, out, k) >= 0:
            return out[:0], False
        k += 1
    return out[:k], True


@cached_njit(error_model="numpy")
def _dense_ranks(x, lo, span):
    """For the values of x, all in lo … lo + span − 1: ``rank[v − lo]`` = the number of
    distinct values of x below v (so the ranks of x's values are 0 … n−1), and those distinct
    values, ascending."""
    rank = np.zeros(span, np.int32)
    for r in range(x.size):
        rank[x[r] - lo] = 1
    n = 0
    for v in range(span):
        n += np.int64(rank[v])
    vals = np.empty(n, np.int64)
    n = 0
    for v in range(span):
        p = rank[v]
        rank[v] = n
        if p:
            vals[n] = v + lo
        n += p
    return rank, vals


@cached_njit(error_model="numpy", parallel=True)
def _min_max(x):
    """(min, max) of a non-empty x in one parallel pass (NumPy's two take 4× as long)."""
    lo = x[0]
    hi = x[0]
    for r in prange(x.size):
        lo = min(lo, x[r])
        hi = max(hi, x[r])
    return lo, hi


def _codes(x):
    """``(x', lo, rank, values)``: ``rank[x' − lo]`` codes each element of x as the index of
    its value in the ascending distinct ``values``. A rank table over x's range when that range
    is below ``max(4·x.size, 2¹⁶)`` (two passes, no sort; int32, 16 bytes per element at most);
    otherwise ``np.unique``'s codes."""
    if x.size >= 2 ** 31:
        raise ValueError(f"at most 2**31 - 1 labels per aggregation, got {x.size}")
    if x.size == 0:
        return x, 0, np.zeros(0, np.int32), np.zeros(0, np.int64)
    lo, hi = (int(v) for v in _min_max(x))
    if hi - lo < max(4 * x.size, 1 << 16):
        rank, vals = _dense_ranks(x, lo, hi - lo + 1)
        return x, lo, rank, vals
    u, inv = np.unique(x, return_inverse=True)
    return inv.astype(np.int64).ravel(), 0, np.arange(u.size, dtype=np.int32), u


@njit(inline="always")
def _cell(r, xi, li, ri, xs, ls, rs, xe, le, re, ns, ne):
    """Key r's (instance, start, end) cell ``(i·ns + s)·ne + e`` (codes as :func:`_codes`)."""
    return (ri[xi[r] - li] * ns + rs[xs[r] - ls]) * ne + re[xe[r] - le]


@cached_njit(error_model="numpy", parallel=True)
def _cell_counts(xi, li, ri, xs, ls, rs, xe, le, re, ns, ne, ncell, threads):
    """How many keys fall in each cell (:func:`_cell`). Parts (at most two per thread, none
    smaller than the table) count into their own tables, then added: exact at any thread
    count."""
    m = xi.size
    P = max(1, min(-(-m // _PART), 2 * threads, m // ncell))
    size = -(-m // P)
    cnt = np.zeros((P, ncell), np.int64)
    for q in prange(P):
        for r in range(q * size, min(m, (q + 1) * size)):
            cnt[q, _cell(r, xi, li, ri, xs, ls, rs, xe, le, re, ns, ne)] += 1
    for q in range(1, P):
        cnt[0] += cnt[q]
    return cnt[0]


@cached_njit(error_model="numpy", parallel=True)
def _cell_keys(xi, li, ri, xs, ls, rs, xe, le, re, ns, ne):
    """Each key's cell (:func:`_cell`)."""
    key = np.empty(xi.size, np.int64)
    for r in prange(xi.size):
        key[r] = _cell(r, xi, li, ri, xs, ls, rs, xe, le, re, ns, ne)
    return key


def _basin_rows(a, instance, sb, eb):
    """Rows (a, instance, start basin, end basin, count) of one arm's chunk, sorted. The three
    labels are coded 0 … n−1 (:func:`_codes`); the cells are counted in a table when there are
    at most ``max(8m, 2¹⁶)`` of them, else their keys are sorted."""
    ci, cs, ce = _codes(instance), _codes(sb), _codes(eb)
    ni, ns, ne = ci[3].size, cs[3].size, ce[3].size
    ncell = ni * ns * ne
    if ncell >= 2 ** 62:
        rows = np.stack([np.full_like(sb, a), instance, sb, eb, np.ones_like(sb)], axis=1)
        return _merge_rows(rows)
    args = ci[:3] + cs[:3] + ce[:3] + (ns, ne)
    if ncell <= max(8 * sb.size, 1 << 16):
        cnt = _cell_counts(*args, ncell, get_num_threads())
        keys = np.flatnonzero(cnt)
        cnt = cnt[keys]
    else:
        keys, cnt = np.unique(_cell_keys(*args), return_counts=True)
    out = np.empty((keys.size, 5), np.int64)
    out[:, 0] = a
    out[:, 1] = ci[3][keys // (ns * ne)]
    out[:, 2] = cs[3][(keys // ne) % ns]
    out[:, 3] = ce[3][keys % ne]
    out[:, 4] = cnt
    return out


PAIRS_IN_TALLY = 8        # up to this many arms the discordant pairs are counted in _tally


@cached_njit(error_model="numpy", parallel=True)
def _tally(eb, sb, div, hs, inst, ng, grid, counts, hits, pairs, threads):
    """The COUNTS columns per (arm, instance), the first-hit histograms and (for at most
    PAIRS_IN_TALLY arms) the discordant pairs, added to ``counts``, ``hits``, ``pairs``. The
    keys are cut into parts (at most two per thread, so that the partial counts stay small
    with many instances) that run in parallel, each into its own integer partial sums, which
    are then added: exact, whatever the thread count."""
    A, m = eb.shape
    n_inst, nc = counts.shape[1], counts.shape[2]
    # at most two parts per thread: each part holds (A, instances, ·) partial counts (the
    # thread count comes as an argument: numba.get_num_threads() inside would stop caching)
    P = max(1, min(-(-m // _PART), 2 * threads))
    size = -(-m // P)
    cp = np.zeros((P, A, n_inst, nc), np.int64)
    hp = np.zeros((P, A, hits.shape[1]), np.int64)
    pp = np.zeros((P, A, A), np.int64)
    do_pairs = 1 < A <= PAIRS_IN_TALLY
    for q in prange(P):
        r0 = q * size
        r1 = min(m, r0 + size)
        for a in range(A):
            for r in range(r0, r1):
                i = inst[r]
                g = ng[i]
                e = eb[a, r]
                s = sb[a, r]
                d = div[a, r]
                succ = e >= 0 and e < g
                sg = s >= 0 and s < g
                cp[q, a, i, 0] += 1
                cp[q, a, i, 1] += succ
                cp[q, a, i, 2] += d
                cp[q, a, i, 3] += sg
                cp[q, a, i, 4] += succ and sg
                cp[q, a, i, 5] += (not d) and s != e
                cp[q, a, i, 6] += (not sg) and succ
                h = hs[a, r]
                if h >= 0:
                    cp[q, a, i, 7] += 1
                    cp[q, a, i, 8] += h
                    hp[q, a, np.searchsorted(grid, h)] += 1
        if do_pairs:
            for r in range(r0, r1):
                g = ng[inst[r]]
                for a in range(A):
                    ea = eb[a, r]
                    if ea >= 0 and ea < g:
                        for b in range(A):
                            e = eb[b, r]
                            pp[q, a, b] += not (e >= 0 and e < g)
    for q in range(P):
        counts += cp[q]
        hits += hp[q]
        pairs += pp[q]


class Aggregate:
    """See the module docstring. Build with :meth:`from_outcomes`, combine with :meth:`merge`
    (or ``+``)."""

    def __init__(self, counts, hits, pairs, basins, sums, grid, max_basin_rows=MAX_BASIN_ROWS):
        self.counts = counts
        self.hits = hits
        self.pairs = pairs
        self.basins = basins
        self.sums = sums                      # {name: [int per arm]}
        self.grid = grid
        self.max_basin_rows = int(max_basin_rows)

    @classmethod
    def empty(cls, n_arms, n_instances, steps, max_basin_rows=MAX_BASIN_ROWS):
        grid = hit_grid(steps)
        return cls(np.zeros((n_arms, n_instances, len(COUNTS)), np.int64),
                   np.zeros((n_arms, len(grid)), np.int64), np.zeros((n_arms, n_arms), np.int64),
                   np.zeros((0, 5), np.int64), {k: [0] * n_arms for k in SUMS}, grid,
                   max_basin_rows)

    @classmethod
    def from_outcomes(cls, o, instance, n_global, n_instances, steps,
                      max_basin_rows=MAX_BASIN_ROWS, basins=True):
        """Aggregate of outcome arrays of shape ``(A, m)`` (all arms on the same ``m``
        trajectory keys); ``instance`` (m,) is each key's instance index, ``n_global`` the
        number of global minima per instance. ``basins=False``: no basin table (``basins`` is
        None), for a chunk whose study's table is already over ``max_basin_rows``, where it
        would be dropped anyway."""
        eb, sb, div = o["end_basin"], o["start_basin"], o["diverged"]
        A, m = eb.shape
        agg = cls.empty(A, n_instances, steps, max_basin_rows)
        if not basins:
            agg.basins = None
        instance = np.asarray(instance, np.int64)
        ng = np.asarray(n_global, np.int64)
        sb_row = np.broadcast_to(sb, eb.shape)
        _tally(eb, sb_row, div, o["hit_step"], instance, ng, agg.grid, agg.counts, agg.hits,
               agg.pairs, get_num_threads())
        if A > PAIRS_IN_TALLY:
            succ = ((eb >= 0) & (eb < ng[instance][None, :])).astype(np.float64)
            agg.pairs = np.rint(succ @ (1.0 - succ).T).astype(np.int64)  # exact below 2⁵³
        basins = []
        for a in range(A):
            for k in SUMS:
                agg.sums[k][a] = exact_sum(o[k][a], div[a])
            if m and agg.basins is not None:
                basins.append(_basin_rows(a, instance, sb_row[a], eb[a]))
        agg.basins = agg._capped(np.concatenate(basins) if basins else agg.basins)
        return agg

    def _capped(self, rows):
        return None if rows is None or rows.shape[0] > self.max_basin_rows else rows

    def merge(self, other: "Aggregate") -> "Aggregate":
        """The aggregate of both (their chunks must be disjoint)."""
        if self.counts.shape != other.counts.shape or not np.array_equal(self.grid, other.grid):
            raise ValueError(f"cannot merge aggregates of different studies (shapes "
                             f"{self.counts.shape} and {other.counts.shape})")
        basins = None
        if self.basins is not None and other.basins is not None:
            if other.basins.shape[0] == 0 or self.basins.shape[0] == 0:
                basins = self.basins if other.basins.shape[0] == 0 else other.basins  # sorted
            else:                 # both sorted (as built here): one pass, else sort
                basins, ok = _merge_sorted(self.basins, other.basins)
                if not ok:
                    basins = _merge_rows(np.concatenate([self.basins, other.basins]))
                basins = self._capped(basins)
        sums = {k: [x + y for x, y in zip(self.sums[k], other.sums[k])] for k in SUMS}
        return Aggregate(self.counts + other.counts, self.hits + other.hits,
                         self.pairs + other.pairs, basins, sums, self.grid, self.max_basin_rows)

    __add__ = merge

    # ---- views
    def count(self, name) -> np.ndarray:
        """(A, I) int64 counts of column ``name`` (one of :data:`COUNTS`)."""
        return self.counts[:, :, C[name]]

    @property
    def n_instances(self) -> int:
        """Number of instances of the study."""
        return int(self.counts.shape[1])

    def total(self, name) -> np.ndarray:
        """(A,) int64: column ``name`` summed over instances."""
        return self.counts[:, :, C[name]].sum(axis=1)

    def cross(self, name1, name2) -> np.ndarray:
        """(A,) int64: Σ over instances of ``count(name1) · count(name2)`` (per arm), the
        second moments of the per-instance counts that cluster-robust intervals over instances
        need. Any two of :data:`MOMENTS`."""
        if name1 not in MOMENTS or name2 not in MOMENTS:
            raise ValueError(f"cross moments are kept for {MOMENTS}, got {name1!r}, {name2!r}")
        return np.einsum("ai,ai->a", self.counts[:, :, C[name1]], self.counts[:, :, C[name2]])

    def mean(self, name, a) -> float:
        """Mean of ``best_f`` or ``final_f`` over arm a's trajectories that did not diverge."""
        n = int(self.counts[a, :, C["n"]].sum() - self.counts[a, :, C["diverged"]].sum())
        return exact_mean(self.sums[name][a], n)

    # ---- persistence
    def arrays(self) -> dict:
        """Plain arrays for ``np.savez`` (no pickles); inverse of :meth:`from_arrays`."""
        out = {"agg_counts": self.counts, "agg_hits": self.hits, "agg_pairs": self.pairs,
               "agg_grid": self.grid,
               "agg_basins": self.basins if self.basins is not None
               else np.full((0, 0), -1, np.int64),
               "agg_max_basin_rows": np.array(self.max_basin_rows)}
        for k in SUMS:
            out[f"agg_sum_{k}"] = np.array([str(x) for x in self.sums[k]])
        return out

    @classmethod
    def from_arrays(cls, z) -> "Aggregate":
        basins = np.asarray(z["agg_basins"], np.int64)
        sums = {k: [int(x) for x in z[f"agg_sum_{k}"].tolist()] for k in SUMS}
        return cls(np.asarray(z["agg_counts"], np.int64), np.asarray(z["agg_hits"], np.int64),
                   np.asarray(z["agg_pairs"], np.int64),
                   None if basins.shape[1:] == (0,) else basins, sums,
                   np.asarray(z["agg_grid"], np.int64), int(z["agg_max_basin_rows"]))

    @property
    def hash(self) -> str:
        """SHA-256 over every part: equal hash ⇔ equal aggregates."""
        h = hashlib.sha256()
        for k, v in sorted(self.arrays().items()):
            a = np.ascontiguousarray(v)
            h.update(k.encode())
            h.update(str(a.dtype).encode())
            h.update(str(a.shape).encode())
            h.update(a.tobytes())
        return h.hexdigest()

    def __eq__(self, other):
        return isinstance(other, Aggregate) and self.hash == other.hash

    def __repr__(self):
        A, I, _ = self.counts.shape
        return (f"Aggregate({A} arms × {I} instances, {int(self.counts[:, :, 0].sum()):,} "
                f"trajectories)")
