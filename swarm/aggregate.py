"""Exact, mergeable aggregates of trajectory outcomes: what a study keeps when it is too large
to keep every trajectory.

An :class:`Aggregate` holds, for a study's ``A`` arms and ``I`` instances,

* ``counts`` — int64 ``(A, I, len(COUNTS))``: trajectories, successes, diverged, started in a
  global basin, successes among those, escapes, escapes to a global basin, hits of the global
  target, the sum of their first-hit steps (the columns are named by :data:`COUNTS`). A chunk's
  aggregate holds the rows of its own range of instances only; a study with more instances
  than ``max_instance_rows`` keeps, instead of rows, their sums ``totals`` and the sums of
  their products ``moments`` (the second moments over instances of the :data:`MOMENTS`
  columns), which is all that family-level intervals need — then memory does not grow with
  the number of instances either;
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
  sums and means do not depend on the order of additions;
* with precision targets (:mod:`swarm.targets`; ``targets`` the float64 precisions, else
  None): ``target_hits`` int64 ``(A, T)`` — trajectories that reached ``f − f* ≤ target``,
  ``target_step_sum`` ``(A, T)`` — the sum of their first-hit steps, and ``target_hist``
  ``(A, T, len(grid))`` — those steps binned on the hit grid as ``hits`` is.

Every part is a sum over trajectories, so aggregates of disjoint chunks merge by addition and
the result does not depend on how a study was cut into chunks, on thread counts or on the
order in which chunks finished. Memory is independent of the number of trajectories.
"""
from __future__ import annotations

import hashlib
import math
import re

import numpy as np
from numba import get_num_threads, njit, prange

from swarm import outcomes as OC
from swarm.kernels.cache import cached_njit
# the count columns, named (module-level integers: compile-time constants in _tally). _tally is
# cached on disk and recompiled only when this file changes: change COUNTS here too if they move
from swarm.outcomes import (COUNTS, DIVERGED, ESCAPED_TO_GLOBAL, ESCAPES, HIT_STEP_SUM, HITS, N,
                            STARTED_GLOBAL, SUCCESSES, SUCCESSES_FROM_GLOBAL)

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
    return bins_total(hi, lo)


def bins_total(hi, lo) -> int:
    """The integer (units of 2⁻¹¹²⁶) of exponent bins as :func:`_exact_bins` leaves them: bin
    E holds ``hi[E]·2²⁶ + lo[E]`` units of ``2^(E + 52)``."""
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
    """(min, max) of a non-empty x in one parallel pass (NumPy's two passes are slower; see
    docs/performance.md)."""
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


def basin_rows(a, instance, sb, eb):
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
def _tally(eb, sb, div, hs, inst, ng, grid, counts, i0, dense, tot, mom, hits, pairs, threads):
    """The COUNTS columns of each (arm, instance), the first-hit histograms and (for at most
    PAIRS_IN_TALLY arms) the discordant pairs of keys whose instances ``inst`` are
    non-decreasing. ``dense``: each instance's counts are added to ``counts[:, i − i0]``;
    otherwise they are folded into per-arm totals ``tot`` (A, nc) and second moments ``mom``
    (A, nm, nm) — Σ over instances of c cᵀ for the first nm columns — which needs every
    instance's keys complete in the call. The keys are cut into parts (at most two per
    thread) that run in parallel; each part counts one instance at a time. With ``dense``
    an instance inside a part is written to its row of ``counts`` (no other part has its
    keys), and the first and last instance of a part, which it may share with its
    neighbours, go to per-part rows added at the end; otherwise the parts are cut at instance
    boundaries, so that each instance is counted whole. Everything else goes into per-part
    integer sums added at the end — exact, whatever the thread count."""
    A, m = eb.shape
    nc, nm = tot.shape[1], mom.shape[1]
    P = max(1, min(-(-m // _PART), 2 * threads))
    size = -(-m // P)
    bound = np.empty(P + 1, np.int64)
    bound[0] = 0
    for q in range(1, P + 1):
        r = max(bound[q - 1], min(m, q * size))
        while not dense and 0 < r < m and inst[r] == inst[r - 1]:
            r += 1
        bound[q] = r
    ep = np.zeros((P, 2, A, nc), np.int64)      # dense: each part's first and last instance
    ei = np.full((P, 2), -1, np.int64)
    tp = np.zeros((P, A, nc), np.int64)
    mp = np.zeros((P, A, nm, nm), np.int64)
    hp = np.zeros((P, A, hits.shape[1]), np.int64)
    pp = np.zeros((P, A, A), np.int64)
    do_pairs = 1 < A <= PAIRS_IN_TALLY
    for q in prange(P):
        r0 = bound[q]
        r1 = bound[q + 1]
        c = np.zeros((A, nc), np.int64)          # the current instance's counts
        r = r0
        while r < r1:
            i = inst[r]
            e1 = r
            while e1 < r1 and inst[e1] == i:
                e1 += 1
            c[:] = 0
            for a in range(A):
                for k in range(r, e1):
                    e = eb[a, k]
                    s = sb[a, k]
                    d = div[a, k]
                    # the predicates of swarm.outcomes, per trajectory
                    succ = e >= 0 and e < ng
                    sg = s >= 0 and s < ng
                    c[a, N] += 1
                    c[a, SUCCESSES] += succ
                    c[a, DIVERGED] += d
                    c[a, STARTED_GLOBAL] += sg
                    c[a, SUCCESSES_FROM_GLOBAL] += succ and sg
                    c[a, ESCAPES] += (not d) and s != e
                    c[a, ESCAPED_TO_GLOBAL] += (not sg) and succ
                    h = hs[a, k]
                    if h >= 0:
                        c[a, HITS] += 1
                        c[a, HIT_STEP_SUM] += h
                        hp[q, a, np.searchsorted(grid, h)] += 1
            if dense and (r == r0 or e1 == r1):
                z = 0 if r == r0 else 1
                ei[q, z] = i
                for a in range(A):
                    for x in range(nc):
                        ep[q, z, a, x] += c[a, x]
            elif dense:
                for a in range(A):
                    for x in range(nc):
                        counts[a, i - i0, x] += c[a, x]
            else:
                for a in range(A):
                    for x in range(nc):
                        tp[q, a, x] += c[a, x]
                    for x in range(nm):
                        for y in range(nm):
                            mp[q, a, x, y] += c[a, x] * c[a, y]
            r = e1
        if do_pairs:
            for r in range(r0, r1):
                for a in range(A):
                    ea = eb[a, r]
                    if ea >= 0 and ea < ng:
                        for b in range(A):
                            e = eb[b, r]
                            pp[q, a, b] += not (e >= 0 and e < ng)
    for q in range(P):
        for z in range(2):
            if ei[q, z] >= 0:
                counts[:, ei[q, z] - i0] += ep[q, z]
        tot += tp[q]
        mom += mp[q]
        hits += hp[q]
        pairs += pp[q]


_TARGET_BUFFER = 1 << 23       # int64 entries of _tally_targets's per-task histograms, at most


@cached_njit(error_model="numpy", parallel=True)
def _tally_targets(th, grid, P, hist, ssum):
    """Per arm and target, the first-hit steps ``th[a, r, j] ≥ 0`` (keys r) binned on ``grid``
    (bin ``np.searchsorted(grid, h)``) into ``hist`` (A, T, G) and summed into ``ssum`` (A, T).
    Tasks (arm, one of P parts of the keys) count into their own tables, added per arm
    afterwards: integers, the same whatever the thread count."""
    A, m, T = th.shape
    G = grid.size
    size = -(-m // P)
    hp = np.zeros((A * P, T, G), np.int64)
    sp = np.zeros((A * P, T), np.int64)
    for task in prange(A * P):
        a = task // P
        q = task % P
        for r in range(q * size, min(m, (q + 1) * size)):
            for j in range(T):
                h = th[a, r, j]
                if h >= 0:
                    sp[task, j] += h
                    hp[task, j, np.searchsorted(grid, h)] += 1
    for task in range(A * P):
        a = task // P
        hist[a] += hp[task]
        ssum[a] += sp[task]


def target_tally(th, grid):
    """``(hits, step_sum, hist)`` of first-hit steps ``th`` (A, m, T) on ``grid``: per arm
    and target the number of hits (``th ≥ 0``), the sum of their steps and their histogram."""
    th = np.ascontiguousarray(th, np.int64)
    A, m, T = th.shape
    grid = np.ascontiguousarray(grid, np.int64)
    hist = np.zeros((A, T, grid.size), np.int64)
    ssum = np.zeros((A, T), np.int64)
    if m and T:
        per = max(1, _TARGET_BUFFER // (A * T * grid.size))
        P = max(1, min(-(-m // _PART), 2 * get_num_threads(), per))
        _tally_targets(th, grid, P, hist, ssum)
    return hist.sum(axis=2), ssum, hist


def arrays_hash(arrays) -> str:
    """SHA-256 over named arrays (name, dtype, shape, bytes) in name order: of
    :meth:`Aggregate.arrays`, :attr:`Aggregate.hash` — so the hash of an aggregate's file can
    be checked before the aggregate is built."""
    h = hashlib.sha256()
    for k, v in sorted(arrays.items()):
        a = np.ascontiguousarray(v)
        h.update(k.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def scalar_n_global(n_global) -> int:
    """The number of global minima, the same for every instance of a family, from a number or
    a per-instance array (which must then be constant)."""
    g = np.unique(np.asarray(n_global, np.int64))
    if g.size != 1 or g[0] < 1:
        raise ValueError(f"n_global must be one positive number for every instance, got "
                         f"{g.tolist()[:5]}")
    return int(g[0])


class Aggregate:
    """See the module docstring. Build with :meth:`from_outcomes`, combine with :meth:`merge`
    (or ``+``).

    Per-instance counts: ``counts`` (A, r, len(COUNTS)) for instances ``i0 … i0 + r − 1`` (a
    chunk's aggregate covers its own range; a study's all ``n_instances``), or ``None`` when
    the study has more instances than it keeps rows for (``max_instance_rows`` of
    :func:`swarm.run`): then ``totals`` (A, len(COUNTS)) and ``moments`` (A, m, m), the sums
    over instances of the counts and of their products for the :data:`MOMENTS` columns, hold
    everything the statistics over instances need. :meth:`total` and :meth:`cross` read either
    form."""

    def __init__(self, counts, hits, pairs, basins, sums, grid, max_basin_rows=MAX_BASIN_ROWS,
                 *, i0=0, n_instances=None, totals=None, moments=None, targets=None,
                 target_hits=None, target_step_sum=None, target_hist=None):
        self.counts = counts
        self.hits = hits
        self.pairs = pairs
        self.basins = basins
        self.sums = sums                      # {name: [int per arm]}
        self.grid = grid
        self.max_basin_rows = int(max_basin_rows)
        self.i0 = int(i0)
        self.n_instances = int(counts.shape[1] if n_instances is None else n_instances)
        A = hits.shape[0]
        if counts is None:
            self.totals = np.zeros((A, len(COUNTS)), np.int64) if totals is None else totals
            self.moments = np.zeros((A, len(MOMENTS), len(MOMENTS)), np.int64) \
                if moments is None else moments
        else:
            self.totals = self.moments = None
        self.targets = None if targets is None else np.asarray(targets, np.float64)
        if self.targets is None:
            self.target_hits = self.target_step_sum = self.target_hist = None
        else:
            T = self.targets.size
            zero = (lambda x, shape: np.zeros(shape, np.int64) if x is None else x)
            self.target_hits = zero(target_hits, (A, T))
            self.target_step_sum = zero(target_step_sum, (A, T))
            self.target_hist = zero(target_hist, (A, T, len(grid)))

    @classmethod
    def empty(cls, n_arms, n_instances, steps, max_basin_rows=MAX_BASIN_ROWS, per_instance=True,
              targets=None):
        grid = hit_grid(steps)
        counts = np.zeros((n_arms, n_instances, len(COUNTS)), np.int64) if per_instance \
            else None
        return cls(counts, np.zeros((n_arms, len(grid)), np.int64),
                   np.zeros((n_arms, n_arms), np.int64), np.zeros((0, 5), np.int64),
                   {k: [0] * n_arms for k in SUMS}, grid, max_basin_rows,
                   n_instances=n_instances, targets=targets)

    @classmethod
    def from_outcomes(cls, o, instance, n_global, n_instances, steps,
                      max_basin_rows=MAX_BASIN_ROWS, basins=True, per_instance=True,
                      targets=None):
        """Aggregate of outcome arrays of shape ``(A, m)`` (all arms on the same ``m``
        trajectory keys); ``instance`` (m,) is each key's instance index (non-decreasing: keys
        are instance-major), ``n_global`` the number of global minima of every instance.
        ``per_instance``: counts per instance for the keys' range of instances; otherwise only
        their totals and second moments (each instance's keys must then all be here).
        ``basins=False``: no basin table (``basins`` is None), for a chunk whose study's table
        is already over ``max_basin_rows``, where it would be dropped anyway. ``targets``: the
        study's precision targets, whose first-hit steps ``o["target_hit"]`` (A, m, T) are
        then tallied (both or neither)."""
        eb, sb, div = o["end_basin"], o["start_basin"], o["diverged"]
        if (targets is None) != (OC.TARGET_HIT not in o):
            raise ValueError("targets and the outcome field 'target_hit' go together: "
                             + ("no target_hit for the given targets" if targets is not None
                                else "target_hit without targets"))
        A, m = eb.shape
        instance = np.asarray(instance, np.int64)
        if m and np.any(instance[1:] < instance[:-1]):
            raise ValueError("instance indices must be non-decreasing (instance-major keys)")
        i0 = int(instance[0]) if m else 0
        r = int(instance[-1]) - i0 + 1 if m else 0
        grid = hit_grid(steps)
        agg = cls(np.zeros((A, r, len(COUNTS)), np.int64) if per_instance else None,
                  np.zeros((A, len(grid)), np.int64), np.zeros((A, A), np.int64),
                  None if not basins else np.zeros((0, 5), np.int64),
                  {k: [0] * A for k in SUMS}, grid, max_basin_rows, i0=i0,
                  n_instances=n_instances, targets=targets)
        if targets is not None:
            th = o[OC.TARGET_HIT]
            if th.shape != (A, m, agg.targets.size):
                raise ValueError(f"target_hit must have shape {(A, m, agg.targets.size)}, got "
                                 f"{th.shape}")
            agg.target_hits, agg.target_step_sum, agg.target_hist = target_tally(th, grid)
        ng = scalar_n_global(n_global)
        sb_row = np.broadcast_to(sb, eb.shape)
        dummy = np.zeros((A, 0, len(COUNTS)), np.int64)
        tot = agg.totals if agg.totals is not None else np.zeros((A, len(COUNTS)), np.int64)
        mom = agg.moments if agg.moments is not None else \
            np.zeros((A, len(MOMENTS), len(MOMENTS)), np.int64)
        _tally(eb, sb_row, div, o["hit_step"], instance, ng, agg.grid,
               agg.counts if per_instance else dummy, i0, per_instance, tot, mom, agg.hits,
               agg.pairs, get_num_threads())
        if A > PAIRS_IN_TALLY:
            succ = OC.is_global(eb, ng).astype(np.float64)
            agg.pairs = np.rint(succ @ (1.0 - succ).T).astype(np.int64)  # exact below 2⁵³
        rows = []
        for a in range(A):
            for k in SUMS:
                agg.sums[k][a] = exact_sum(o[k][a], div[a])
            if m and agg.basins is not None:
                rows.append(basin_rows(a, instance, sb_row[a], eb[a]))
        if agg.basins is not None and rows:
            agg.basins = agg._capped(np.concatenate(rows))
        return agg

    @classmethod
    def from_device(cls, counts, hits, bins, pairs, rows, i0, n_instances, steps,
                    max_basin_rows=MAX_BASIN_ROWS, basins=True, per_instance=True):
        """The aggregate :meth:`from_outcomes` gives, from the parts the GPU computed of a
        chunk (:class:`swarm.kernels.cuda_aggregate.Chunk`): ``counts`` (A, r, len(COUNTS))
        for instances ``i0 …`` (folded into totals and moments unless ``per_instance``),
        ``hits`` (A, G), ``bins`` (A, 2, 2046, 2) — the exponent bins of the ``best_f`` and
        ``final_f`` sums, high and low parts as :func:`_exact_bins` keeps them — ``pairs``
        (A, A), and ``rows`` (arm, instance − i0, start basin, end basin, count), each key
        once, in any order (unused without ``basins``). Every array is copied."""
        A = counts.shape[0]
        grid = hit_grid(steps)
        sums = {k: [bins_total(bins[a, f, :, 0], bins[a, f, :, 1]) for a in range(A)]
                for f, k in enumerate(SUMS)}
        table = None
        if basins:                # the device's rows are distinct: sorting them is enough
            rows = np.array(rows, np.int64)
            rows[:, 1] += i0
            table = rows[np.lexsort(rows[:, 3::-1].T)] if rows.shape[0] > 1 else rows
        counts = np.array(counts, np.int64)
        agg = cls(counts if per_instance else None, np.array(hits, np.int64),
                  np.array(pairs, np.int64), table, sums, grid, max_basin_rows, i0=i0,
                  n_instances=n_instances)
        if not per_instance:
            k = len(MOMENTS)
            agg.totals = counts.sum(axis=1)
            agg.moments = np.einsum("aix,aiy->axy", counts[:, :, :k], counts[:, :, :k])
        agg.basins = agg._capped(agg.basins)
        return agg

    def _capped(self, rows):
        return None if rows is None or rows.shape[0] > self.max_basin_rows else rows

    def _folded(self):
        """(totals, moments) of the per-instance counts (valid when every instance counted
        here has all its keys here)."""
        if self.counts is None:
            return self.totals, self.moments
        c = self.counts
        k = len(MOMENTS)
        return c.sum(axis=1), np.einsum("aix,aiy->axy", c[:, :, :k], c[:, :, :k])

    def merge(self, other: "Aggregate") -> "Aggregate":
        """The aggregate of both (their chunks must be disjoint; to merge an aggregate without
        per-instance counts, each side's instances must be complete)."""
        out = self.copy()
        out.add(other)
        return out

    __add__ = merge

    def copy(self) -> "Aggregate":
        cp = (lambda x: None if x is None else x.copy())
        return Aggregate(cp(self.counts), self.hits.copy(), self.pairs.copy(), cp(self.basins),
                         {k: list(v) for k, v in self.sums.items()}, self.grid,
                         self.max_basin_rows, i0=self.i0, n_instances=self.n_instances,
                         totals=cp(self.totals), moments=cp(self.moments),
                         targets=cp(self.targets), target_hits=cp(self.target_hits),
                         target_step_sum=cp(self.target_step_sum),
                         target_hist=cp(self.target_hist))

    def add(self, other: "Aggregate") -> None:
        """Add ``other`` (a disjoint part of the same study) into this aggregate, in place:
        its per-instance counts into the rows of its range (this aggregate's range grows to
        cover it), or, when this one keeps totals and moments only, folded into them."""
        if self.hits.shape != other.hits.shape or self.n_instances != other.n_instances or \
                not np.array_equal(self.grid, other.grid) or \
                (self.targets is None) != (other.targets is None) or \
                (self.targets is not None and not np.array_equal(self.targets, other.targets)):
            raise ValueError(f"cannot merge aggregates of different studies ({self!r} and "
                             f"{other!r})")
        if self.targets is not None:
            self.target_hits += other.target_hits
            self.target_step_sum += other.target_step_sum
            self.target_hist += other.target_hist
        if self.basins is not None and other.basins is not None:
            if other.basins.shape[0] == 0 or self.basins.shape[0] == 0:
                basins = self.basins if other.basins.shape[0] == 0 else other.basins  # sorted
            else:                 # both sorted (as built here): one pass, else sort
                basins, ok = _merge_sorted(self.basins, other.basins)
                if not ok:
                    basins = _merge_rows(np.concatenate([self.basins, other.basins]))
                basins = self._capped(basins)
            self.basins = basins
        else:
            self.basins = None
        for k in SUMS:
            self.sums[k] = [x + y for x, y in zip(self.sums[k], other.sums[k])]
        self.hits += other.hits
        self.pairs += other.pairs
        if self.counts is not None and other.counts is not None:
            r = other.counts.shape[1]
            if r:
                lo = min(self.i0, other.i0) if self.counts.shape[1] else other.i0
                hi = max(self.i0 + self.counts.shape[1], other.i0 + r)
                if (lo, hi) != (self.i0, self.i0 + self.counts.shape[1]):
                    grown = np.zeros((self.counts.shape[0], hi - lo, len(COUNTS)), np.int64)
                    grown[:, self.i0 - lo:self.i0 - lo + self.counts.shape[1]] = self.counts
                    self.counts, self.i0 = grown, lo
                self.counts[:, other.i0 - self.i0:other.i0 - self.i0 + r] += other.counts
        else:
            tot, mom = self._folded()
            t2, m2 = other._folded()
            self.counts, self.i0 = None, 0
            self.totals, self.moments = tot + t2, mom + m2

    # ---- views
    def count(self, name) -> np.ndarray:
        """(A, r) int64 counts of column ``name`` (one of :data:`COUNTS`) per instance of the
        aggregate's range (a study's: every instance)."""
        if self.counts is None:
            raise ValueError(
                f"per-instance counts were not kept: the study has {self.n_instances:,} "
                f"instances, more than its max_instance_rows; their totals and second moments "
                f"are (Aggregate.total, Aggregate.cross)")
        return self.counts[:, :, C[name]]

    def total(self, name) -> np.ndarray:
        """(A,) int64: column ``name`` summed over instances."""
        return self._folded()[0][:, C[name]].copy()

    def cross(self, name1, name2) -> np.ndarray:
        """(A,) int64: Σ over instances of ``count(name1) · count(name2)`` (per arm), the
        second moments of the per-instance counts that cluster-robust intervals over instances
        need. Any two of :data:`MOMENTS`."""
        if name1 not in MOMENTS or name2 not in MOMENTS:
            raise ValueError(f"cross moments are kept for {MOMENTS}, got {name1!r}, {name2!r}")
        return self._folded()[1][:, C[name1], C[name2]].copy()

    def mean(self, name, a) -> float:
        """Mean of ``best_f`` or ``final_f`` over arm a's trajectories that did not diverge."""
        n = int(self.total("n")[a] - self.total("diverged")[a])
        return exact_mean(self.sums[name][a], n)

    # ---- persistence
    def arrays(self) -> dict:
        """Plain arrays for ``np.savez`` (no pickles); inverse of :meth:`from_arrays`."""
        per = self.counts is not None
        A = self.hits.shape[0]
        out = {"agg_counts": self.counts if per else np.zeros((A, 0, len(COUNTS)), np.int64),
               "agg_per_instance": np.array(int(per)),
               "agg_i0": np.array(self.i0), "agg_n_instances": np.array(self.n_instances),
               "agg_hits": self.hits, "agg_pairs": self.pairs,
               "agg_grid": self.grid,
               "agg_basins": self.basins if self.basins is not None
               else np.full((0, 0), -1, np.int64),
               "agg_max_basin_rows": np.array(self.max_basin_rows)}
        if not per:
            out["agg_totals"] = self.totals
            out["agg_moments"] = self.moments
        for k in SUMS:
            out[f"agg_sum_{k}"] = np.array([str(x) for x in self.sums[k]])
        if self.targets is not None:         # only then: other studies' hashes are unchanged
            out["agg_targets"] = self.targets
            out["agg_target_hits"] = self.target_hits
            out["agg_target_step_sum"] = self.target_step_sum
            out["agg_target_hist"] = self.target_hist
        return out

    @staticmethod
    def expected_arrays(n_arms, per_instance=None, n_targets=0) -> dict:
        """What :meth:`arrays` writes for ``n_arms`` arms, as :func:`swarm.files.read_npz`
        expects it (``{name: (shape, dtype[, optional])}``, ``None``: any length), so that a
        file's declared shapes are checked before it is read. ``per_instance`` None: either
        form (totals and moments optional). ``n_targets``: the study's precision targets
        (their four arrays are then required; without targets they are not read)."""
        A, i8 = n_arms, np.int64
        out = {"agg_counts": ((A, None, len(COUNTS)), i8), "agg_per_instance": ((), i8),
               "agg_i0": ((), i8), "agg_n_instances": ((), i8), "agg_hits": ((A, None), i8),
               "agg_pairs": ((A, A), i8), "agg_grid": ((None,), i8),
               "agg_basins": ((None, None), i8), "agg_max_basin_rows": ((), i8)}
        if per_instance is not True:
            opt = per_instance is None
            out["agg_totals"] = ((A, len(COUNTS)), i8, opt)
            out["agg_moments"] = ((A, len(MOMENTS), len(MOMENTS)), i8, opt)
        for k in SUMS:
            out[f"agg_sum_{k}"] = ((A,), "U")
        if n_targets:
            T = int(n_targets)
            out["agg_targets"] = ((T,), np.float64)
            out["agg_target_hits"] = ((A, T), i8)
            out["agg_target_step_sum"] = ((A, T), i8)
            out["agg_target_hist"] = ((A, T, None), i8)
        return out

    @classmethod
    def from_arrays(cls, z, where=None, *, arms=None, n_instances=None, steps=None, keys=None,
                    max_basin_rows=None, per_instance=None, targets=...) -> "Aggregate":
        """Inverse of :meth:`arrays`. Every array is checked before any of it reaches compiled
        code — names, dtypes (int64), shapes, ranges (instance range, basin rows, histogram
        and pair counts) and the counts' consistency (each count at most the trajectories it
        counts, the histograms summing to the hits) — and a crafted or damaged one raises a
        ValueError naming ``where`` (the file) and the field. The study's known sizes tighten
        the checks: ``arms``, ``n_instances``, ``steps`` (the grid must be
        :func:`hit_grid` of it, hit-step sums at most hits × steps), ``keys`` = ``(first, m,
        starts)``, the trajectory keys the aggregate covers (then the trajectories per
        instance are known exactly), ``max_basin_rows``, ``per_instance`` and ``targets``
        (the study's precision targets, None: the study has none, so target arrays are not
        read; ``...``: unknown, read them when present)."""
        return _checked_aggregate(cls, z, where, arms, n_instances, steps, keys,
                                  max_basin_rows, per_instance, targets)

    @property
    def hash(self) -> str:
        """SHA-256 over every part: equal hash ⇔ equal aggregates."""
        return arrays_hash(self.arrays())

    def __eq__(self, other):
        return isinstance(other, Aggregate) and self.hash == other.hash

    def __repr__(self):
        return (f"Aggregate({self.hits.shape[0]} arms × {self.n_instances} instances, "
                f"{int(self.total('n').sum()):,} trajectories)")


def _checked_aggregate(cls, z, where, arms, n_instances, steps, keys, max_basin_rows,
                       per_instance, targets=...):
    """:meth:`Aggregate.from_arrays`'s checks and construction."""
    w = f"{where}: " if where else ""

    def bad(field, msg):
        return ValueError(f"{w}field {field!r} {msg} (a damaged or crafted aggregate)")

    def arr(k, ndim):
        if k not in z:
            raise bad(k, "is missing")
        a = z[k]
        if not isinstance(a, np.ndarray) or a.dtype != np.int64 or a.ndim != ndim:
            got = f"{a.dtype} of shape {a.shape}" if isinstance(a, np.ndarray) else repr(a)
            raise bad(k, f"must be an int64 array of {ndim} dimension(s), got {got}")
        return a

    def scalar(k, low, high):
        v = int(arr(k, 0))
        if not low <= v <= high:
            raise bad(k, f"must be in [{low}, {high}], got {v}")
        return v

    def shaped(k, a, shape):
        if a.shape != shape:
            raise bad(k, f"must have shape {shape}, got {a.shape}")

    per = bool(scalar("agg_per_instance", 0, 1))
    if per_instance is not None and per != per_instance:
        raise bad("agg_per_instance", f"must be {int(per_instance)} for this study, got {int(per)}")
    n_inst = scalar("agg_n_instances", 1, 2 ** 32)
    if n_instances is not None and n_inst != n_instances:
        raise bad("agg_n_instances", f"must be the study's {n_instances}, got {n_inst}")
    i0 = scalar("agg_i0", 0, n_inst)
    hits = arr("agg_hits", 2)
    A = hits.shape[0]
    if A < 1 or (arms is not None and A != arms):
        raise bad("agg_hits", f"must have one row per arm ({arms if arms is not None else '≥ 1'}),"
                              f" got {A}")
    grid = arr("agg_grid", 1)
    if steps is not None:
        if not np.array_equal(grid, hit_grid(steps)):
            raise bad("agg_grid", f"is not the hit grid of {steps} steps")
    elif grid.size < 1 or grid[0] != 0 or np.any(np.diff(grid) <= 0):
        raise bad("agg_grid", "must start at 0 and increase")
    shaped("agg_hits", hits, (A, grid.size))
    pairs = arr("agg_pairs", 2)
    shaped("agg_pairs", pairs, (A, A))
    counts = arr("agg_counts", 3)
    nc, nm = len(COUNTS), len(MOMENTS)
    if counts.shape[0] != A or counts.shape[2] != nc:
        raise bad("agg_counts", f"must have shape ({A}, instances, {nc}), got {counts.shape}")
    r = counts.shape[1]
    if not per and r:
        raise bad("agg_counts", "must be empty without per-instance counts")
    if i0 + r > n_inst:
        raise bad("agg_i0", f"puts rows {i0} … {i0 + r - 1} beyond the {n_inst} instances")
    lo_i, hi_i = 0, n_inst                    # the instances the keys may belong to
    n_keys = sq_keys = None
    if keys is not None:
        first, m, S = (int(x) for x in keys)
        lo_i, hi_i = first // S, (first + m - 1) // S + 1
        if per and i0 != lo_i:
            raise bad("agg_i0", f"must be {lo_i} (the first instance of these keys), got {i0}")
        if per and r != hi_i - lo_i:
            raise bad("agg_counts", f"must hold instances {lo_i} … {hi_i - 1}, got {i0} … "
                                    f"{i0 + r - 1}")
        n_keys = m
        # keys per instance: whole instances S, the first and last possibly fewer
        edge = {i: min(first + m, (i + 1) * S) - max(first, i * S) for i in {lo_i, hi_i - 1}}
        inner = max(0, hi_i - lo_i - len(edge))
        sq_keys = inner * S * S + sum(v * v for v in edge.values())
    if per:
        if keys is not None:
            want = np.full(r, S, np.int64)
            want[0] = edge[lo_i]
            want[-1] = edge[hi_i - 1]
            if not np.all(counts[:, :, 0] == want):
                raise bad("agg_counts", "holds trajectory counts that are not the study's")
        elif np.any(counts[:, :, 0] != counts[:1, :, 0]):
            raise bad("agg_counts", "holds different trajectory counts for different arms")
        _check_count_columns(counts, steps, bad, "agg_counts")
        tot = counts.sum(axis=1)
        totals = moments = None
    else:
        totals = arr("agg_totals", 2)
        shaped("agg_totals", totals, (A, nc))
        moments = arr("agg_moments", 3)
        shaped("agg_moments", moments, (A, nm, nm))
        _check_count_columns(totals, steps, bad, "agg_totals")
        if np.any(moments < 0) or np.any(moments != moments.transpose(0, 2, 1)):
            raise bad("agg_moments", "must be non-negative and symmetric")
        if n_keys is not None and (np.any(totals[:, 0] != n_keys) or (
                sq_keys < 2 ** 63 and np.any(moments[:, 0, 0] != sq_keys))):
            raise bad("agg_totals", "holds trajectory counts that are not the study's")
        if np.any(totals[:, 0] != totals[0, 0]):
            raise bad("agg_totals", "holds different trajectory counts for different arms")
        tot = totals
    if n_keys is not None and per and np.any(tot[:, 0] != n_keys):
        raise bad("agg_counts", "holds trajectory counts that are not the study's")
    if np.any(hits < 0) or np.any(hits.sum(axis=1) != tot[:, C["hits"]]):
        raise bad("agg_hits", "must be non-negative and sum to each arm's hits")
    succ = tot[:, C["successes"]]
    if np.any(pairs < 0) or np.any(np.diag(pairs) != 0) or \
            np.any(pairs > succ[:, None]) or np.any(pairs > (tot[:, 0] - succ)[None, :]):
        raise bad("agg_pairs", "must be discordant counts within the arms' successes")
    mbr = scalar("agg_max_basin_rows", 0, 2 ** 62)
    if max_basin_rows is not None and mbr != max_basin_rows:
        raise bad("agg_max_basin_rows", f"must be the study's {max_basin_rows}, got {mbr}")
    basins = arr("agg_basins", 2)
    if basins.shape == (0, 0):
        basins = None
    else:
        if basins.shape[1] != 5 or basins.shape[0] > mbr:
            raise bad("agg_basins", f"must have shape (at most {mbr}, 5), got {basins.shape}")
        b = basins
        if b.shape[0] and (np.any((b[:, 0] < 0) | (b[:, 0] >= A)) or np.any(
                (b[:, 1] < lo_i) | (b[:, 1] >= hi_i)) or np.any(b[:, 2:4] < -1)
                or np.any(b[:, 4] < 1)):
            raise bad("agg_basins", "holds rows out of range (arm, instance, basins ≥ −1, "
                                    "count ≥ 1)")
        if b.shape[0] > 1:
            d = b[1:, :4] - b[:-1, :4]
            nz = d != 0
            col = np.argmax(nz, axis=1)
            if not np.all(nz.any(axis=1)) or np.any(d[np.arange(d.shape[0]), col] < 0):
                raise bad("agg_basins", "rows must be sorted, each key once")
        sums = np.zeros(A, np.int64)
        np.add.at(sums, b[:, 0], b[:, 4])
        if np.any(sums != tot[:, 0]):
            raise bad("agg_basins", "counts must sum to each arm's trajectories")
    sums = {}
    for k in SUMS:
        f = f"agg_sum_{k}"
        v = z.get(f) if hasattr(z, "get") else z[f]
        if not isinstance(v, np.ndarray) or v.dtype.kind != "U" or v.shape != (A,):
            raise bad(f, f"must be {A} decimal integers as text")
        vals = []
        for x in v.tolist():
            if not _INT_TEXT.fullmatch(x):
                raise bad(f, f"must hold decimal integers, got {x[:40]!r}")
            vals.append(int(x))
        sums[k] = vals
    tparts = _checked_targets(z, targets, arr, bad, A, grid, tot[:, 0], steps)
    return cls(counts if per else None, hits, pairs, basins, sums, grid, mbr, i0=i0,
               n_instances=n_inst, totals=totals, moments=moments, **tparts)


def _checked_targets(z, targets, arr, bad, A, grid, n, steps) -> dict:
    """The target arrays of an aggregate file, checked (none when the study has no targets):
    precisions as :func:`swarm.targets.canonical` allows (the study's, when known), hits
    within the trajectories and non-increasing along the targets (a trajectory that reached a
    precision reached every larger one first), histograms summing to the hits, step sums
    within hits × steps."""
    from swarm import targets as TG
    if targets is None or (targets is ... and "agg_targets" not in z):
        return {}
    tv = z.get("agg_targets") if hasattr(z, "get") else z["agg_targets"]
    if tv is None:
        raise bad("agg_targets", "is missing")
    if not isinstance(tv, np.ndarray) or tv.dtype != np.float64 or tv.ndim != 1:
        raise bad("agg_targets", "must be a float64 array of 1 dimension")
    try:
        tv = TG.canonical(tv)
    except ValueError as e:
        raise bad("agg_targets", f"is not a list of targets ({e})") from None
    if targets is not ... and not np.array_equal(tv, np.asarray(targets, np.float64)):
        raise bad("agg_targets", "must be the study's targets")
    T = tv.size
    hits, ssum, hist = (arr(k, d) for k, d in (("agg_target_hits", 2),
                                                 ("agg_target_step_sum", 2),
                                                 ("agg_target_hist", 3)))
    for k, a, shape in (("agg_target_hits", hits, (A, T)), ("agg_target_step_sum", ssum, (A, T)),
                        ("agg_target_hist", hist, (A, T, grid.size))):
        if a.shape != shape:
            raise bad(k, f"must have shape {shape}, got {a.shape}")
    if np.any(hits < 0) or np.any(hits > n[:, None]) or np.any(np.diff(hits, axis=1) > 0):
        raise bad("agg_target_hits", "holds counts out of range (negative, more than the "
                                     "trajectories, or more hits of a smaller target)")
    if np.any(hist < 0) or np.any(hist.sum(axis=2) != hits):
        raise bad("agg_target_hist", "must be non-negative and sum to the target hits")
    top = float(grid[-1]) if steps is None else float(steps)
    if np.any(ssum < 0) or np.any(ssum.astype(np.float64) > hits.astype(np.float64) * top):
        raise bad("agg_target_step_sum", "holds sums out of range (negative, or more than "
                                         "hits × steps)")
    return {"targets": tv, "target_hits": hits, "target_step_sum": ssum, "target_hist": hist}


_INT_TEXT = re.compile(r"-?[0-9]{1,1000}")


def _check_count_columns(c, steps, bad, field):
    """Each count of :data:`COUNTS` within what it counts (last axis the columns)."""
    n = c[..., C["n"]]
    col = {k: c[..., C[k]] for k in COUNTS}
    ok = np.all(c >= 0)
    for k in COUNTS[1:8]:
        ok = ok and np.all(col[k] <= n)
    ok = ok and np.all(col["successes_from_global"] <= np.minimum(col["successes"],
                                                                 col["started_global"]))
    ok = ok and np.all(col["escaped_to_global"] <= col["successes"])
    if steps is not None:
        ok = ok and np.all(col["hit_step_sum"].astype(np.float64)
                           <= col["hits"].astype(np.float64) * float(steps))
    if not ok:
        raise bad(field, "holds counts out of range (negative, or more than the trajectories "
                         "they count)")
