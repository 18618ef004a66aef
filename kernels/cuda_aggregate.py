"""A chunk's aggregate computed on the GPU, from the outcome arrays its kernels left there.

For aggregate-only studies the host needs, per chunk, only what :meth:`swarm.aggregate.Aggregate
.from_outcomes` computes: the counts per (arm, instance), the first-hit histograms, the exact
sums of ``best_f`` and ``final_f``, the discordant pairs and the basin table. These kernels
compute them where the outcomes are, so that only O(arms × instances + basin rows) bytes cross
the bus (not 33 to 41 bytes per trajectory), and the host finishes them exactly in
O(arms × instances + rows) work (:meth:`swarm.aggregate.Aggregate.from_device`).

Every quantity is an integer sum, so the order in which threads add (shared and global
atomics) does not change it: the aggregate is the CPU's bit for bit, whatever the block and
thread counts (checked in Numba's CUDA simulator, tests/cudasim/test_device_aggregate.py).

- :func:`tally` — one block per (segment, arm): a segment is ``SEG`` consecutive keys of the
  chunk. Its threads count the :data:`NC` columns (the predicates of
  :func:`outcome_counts`, the same per-trajectory tests as :func:`swarm.aggregate._tally`),
  bin first-hit steps on the hit grid, and add each finite, not diverged ``best_f`` and
  ``final_f`` as a signed 53-bit integer ``M`` in its exponent bin ``E`` (value ``M ·
  2^(E − 1074)``: :func:`exact_split`, the same bins as :func:`swarm.aggregate._exact_bins`) in
  shared memory — a bin holds at most ``SEG`` values below 2⁵³, exact in int64 — then adds the
  block's nonzero totals to the chunk's global arrays (bins split into their high and low 26
  bits, as the CPU keeps them). Counts go to a per-block total for the segment's first
  instance (one global add per column and block) and straight to the chunk's rows for the
  others (a segment spans instances only when they have few starts). With ``basins`` the
  block sorts its (instance, start, end) triples (a bitonic sort in shared memory) and adds
  each distinct one with its count to the chunk's hash table of basin rows (:func:`_insert`),
  so each distinct (arm, instance, start, end) has one row per chunk however many segments
  it came from.
- :func:`compact` — the table's rows, packed; the host sorts them (their order does not
  matter), in O(rows) bytes and O(rows log rows) work.
- :func:`pairs` — one block per (key range, arm a, tile of arms b): the keys where arm a
  succeeded and arm b did not.
- :func:`zero` — clears the flat int64 buffer the results live in (one allocation per study).
"""
import math

import numpy as np
from numba import cuda, int64

# the columns of swarm.outcomes.COUNTS (checked equal by tests/test_cuda.py)
N, SUCCESSES, DIVERGED, STARTED_GLOBAL, SUCCESSES_FROM_GLOBAL, ESCAPES, ESCAPED_TO_GLOBAL, \
    HITS, HIT_STEP_SUM = range(9)
NC = 9
NBINS = 2046             # exponent bins of a float64 (swarm.aggregate._exact_bins's)
HALF = 26                # a bin's total leaves as its high and low 26-bit parts
LOW = (1 << HALF) - 1
SEG = 512                # keys per segment at most: SEG · 2⁵³ < 2⁶³ (a shared bin is exact)
SEG_KEYS = SEG           # keys per segment launched (fewer: tests cut chunks into many)
ROWS = 1 << 20           # distinct basin rows a chunk may have on the device at most
GMAX = 256               # hit-grid points at most (swarm.aggregate.hit_grid gives ≤ 201)
BT = 256                 # arms b per block of the pairs kernel
THREADS = 128
KEY_MAX = (1 << 63) - 1  # pads a segment's sort to a power of two (labels are < 2⁶²)


def outcome_counts(e, s, d, ng):
    """The per-trajectory predicates of :mod:`swarm.outcomes` (as :func:`swarm.aggregate._tally`
    spells them): (success, started in a global basin, escaped, escaped to a global basin) of
    end basin e, start basin s, diverged d."""
    succ = e >= 0 and e < ng
    sg = s >= 0 and s < ng
    return succ, sg, (not d) and s != e, (not sg) and succ


def exact_split(x):
    """A finite float64 x as ``(E, M)``, ``x = M · 2^(E − 1074)`` with ``|M| < 2⁵³`` an
    integer and E the bin of :func:`swarm.aggregate._exact_bins` (its biased exponent − 1, 0
    for subnormals)."""
    fr, k = math.frexp(x)
    E = max(k + 1021, 0)
    return E, int(math.ldexp(fr, k + 1074 - E))


_counts = cuda.jit(device=True, inline=True)(outcome_counts)
_split = cuda.jit(device=True, inline=True)(exact_split)


@cuda.jit(device=True, inline=True)
def _first_ge(grid, h):
    """np.searchsorted(grid, h) (side 'left') for a sorted grid."""
    lo = 0
    hi = grid.size
    while lo < hi:
        mid = (lo + hi) // 2
        if grid[mid] < h:
            lo = mid + 1
        else:
            hi = mid
    return lo


@cuda.jit(device=True, inline=True)
def _add_value(bins, f, v):
    if not math.isfinite(v):
        return
    E, M = _split(v)
    if M != 0:
        cuda.atomic.add(bins, (f, E), M)


@cuda.jit(device=True, inline=True)
def _greater(kb, i, j):
    """Row i of kb above row j (lexicographic on its three columns)."""
    for y in range(3):
        if kb[i, y] != kb[j, y]:
            return kb[i, y] > kb[j, y]
    return False


@cuda.jit(device=True, inline=True)
def _differ(kb, i, j):
    return kb[i, 0] != kb[j, 0] or kb[i, 1] != kb[j, 1] or kb[i, 2] != kb[j, 2]


@cuda.jit(device=True, inline=True)
def _flush(c, c_sh, counts, row, row0):
    """A thread's counts of instance row ``row`` into the block's (row0) or the chunk's."""
    for x in range(NC):
        if c[x] != 0:
            if row == row0:
                cuda.atomic.add(c_sh, x, c[x])
            else:
                cuda.atomic.add(counts, (row, x), c[x])
        c[x] = 0


HASH_P = 2147483647      # 2³¹ − 1: the hash stays in int64 without overflow
HASH_MUL = 1000003


@cuda.jit(device=True, inline=True)
def _mix(h, x):
    """h (< HASH_P) and the 64 bits of x, 30 at a time, into a hash < HASH_P."""
    h = (h * HASH_MUL + (x & 0x3FFFFFFF)) % HASH_P
    h = (h * HASH_MUL + ((x >> 30) & 0x3FFFFFFF)) % HASH_P
    return (h * HASH_MUL + ((x >> 60) & 0xF)) % HASH_P


@cuda.jit(device=True)
def _insert(table, key, nrows, a, row, s, e, c):
    """Add count c to the basin row (a, row, s, e) of the chunk's open-addressing hash table:
    ``table[0]`` the slots' tags (hash + 1; 0: free), ``table[1]`` their counts, ``table[2]``
    1 once the slot's key (``key[p]``: a, row, s, e) is written. A thread claims a free slot
    with a compare-and-swap of its tag, writes the key and then sets the flag; a thread that
    finds its tag in a slot waits for the flag and compares the key (read with atomics: the
    words are in L2, never stale in L1). ``nrows[0]`` counts the slots claimed; ``nrows[1]``
    is set when the table had no free slot left (the host then labels the chunk itself)."""
    S = key.shape[0]
    h = _mix(_mix(_mix(_mix(0, a), row), s), e)
    tg = h + 1
    p = h & (S - 1)
    for _ in range(S):
        old = cuda.atomic.cas(table, (0, p), 0, tg)
        if old == 0:
            key[p, 0] = a
            key[p, 1] = row
            key[p, 2] = s
            key[p, 3] = e
            cuda.threadfence()
            cuda.atomic.exch(table, (2, p), 1)
            cuda.atomic.add(table, (1, p), c)
            cuda.atomic.add(nrows, 0, 1)
            return
        if old == tg:
            while cuda.atomic.add(table, (2, p), 0) == 0:
                pass
            if (cuda.atomic.add(key, (p, 0), 0) == a and cuda.atomic.add(key, (p, 1), 0) == row
                    and cuda.atomic.add(key, (p, 2), 0) == s
                    and cuda.atomic.add(key, (p, 3), 0) == e):
                cuda.atomic.add(table, (1, p), c)
                return
        p = (p + 1) & (S - 1)
    cuda.atomic.exch(nrows, 1, 1)


@cuda.jit
def zero(buf):
    for r in range(cuda.grid(1), buf.size, cuda.gridsize(1)):
        buf[r] = 0


@cuda.jit
def tally(a, sb, eb, hs, best, final, div, m, seg, first, starts, i0, ng, grid, counts, hits,
          bins, basins, p2, table, key, nrows):
    """Block g of arm ``a``: the chunk's keys ``g·seg … min(m, (g+1)·seg) − 1`` (``seg`` ≤
    SEG; trajectory
    keys ``first + k``; instance ``(first + k) // starts``, its row ``− i0``). ``counts`` (r,
    NC), ``hits`` (G,), ``bins`` (2, NBINS, 2) are arm a's; ``p2`` a power of two ≥ the
    segments' length (the sort's width); ``table``, ``key``, ``nrows``: the chunk's hash table
    of basin rows (:func:`_insert`)."""
    g = cuda.blockIdx.x
    t = cuda.threadIdx.x
    T = cuda.blockDim.x
    k0 = g * seg
    k1 = min(m, k0 + seg)
    L = k1 - k0
    c_sh = cuda.shared.array(NC, int64)
    h_sh = cuda.shared.array(GMAX, int64)
    s_sh = cuda.shared.array((2, NBINS), int64)
    kb = cuda.shared.array((SEG, 3), int64)
    G = grid.size
    for x in range(t, NC, T):
        c_sh[x] = 0
    for x in range(t, G, T):
        h_sh[x] = 0
    for x in range(t, NBINS, T):
        s_sh[0, x] = 0
        s_sh[1, x] = 0
    cuda.syncthreads()
    row0 = (first + k0) // starts - i0      # the segment's first instance: counted in shared
    cur = row0
    c = cuda.local.array(NC, int64)
    for x in range(NC):
        c[x] = 0
    for k in range(k0 + t, k1, T):
        row = (first + k) // starts - i0
        if row != cur:                      # a segment across instances: flush the last one
            _flush(c, c_sh, counts, cur, row0)
            cur = row
        e = eb[k]
        s = sb[k]
        d = div[k]
        succ, sg, esc, etg = _counts(e, s, d, ng)
        c[N] += 1
        c[SUCCESSES] += succ
        c[DIVERGED] += d
        c[STARTED_GLOBAL] += sg
        c[SUCCESSES_FROM_GLOBAL] += succ and sg
        c[ESCAPES] += esc
        c[ESCAPED_TO_GLOBAL] += etg
        h = hs[k]
        if h >= 0:
            c[HITS] += 1
            c[HIT_STEP_SUM] += h
            cuda.atomic.add(h_sh, _first_ge(grid, h), 1)
        if not d:
            _add_value(s_sh, 0, float(best[k]))
            _add_value(s_sh, 1, float(final[k]))
        if basins:
            kb[k - k0, 0] = row
            kb[k - k0, 1] = s
            kb[k - k0, 2] = e
    _flush(c, c_sh, counts, cur, row0)
    if basins:
        for x in range(L + t, p2, T):
            kb[x, 0] = KEY_MAX
            kb[x, 1] = KEY_MAX
            kb[x, 2] = KEY_MAX
    cuda.syncthreads()
    for x in range(t, NC, T):
        if c_sh[x] != 0:
            cuda.atomic.add(counts, (row0, x), c_sh[x])
    for x in range(t, G, T):
        if h_sh[x] != 0:
            cuda.atomic.add(hits, x, h_sh[x])
    for x in range(t, NBINS, T):
        for f in range(2):
            v = s_sh[f, x]
            if v != 0:      # v = (v >> 26)·2²⁶ + (v & LOW), also for v < 0
                cuda.atomic.add(bins, (f, x, 0), v >> HALF)
                cuda.atomic.add(bins, (f, x, 1), v & LOW)
    if not basins:
        return
    k = 2                                   # bitonic sort of kb[:p2] by (row, start, end)
    while k <= p2:
        j = k >> 1
        while j > 0:
            for i in range(t, p2, T):
                o = i ^ j
                if o > i:
                    up = (i & k) == 0
                    if _greater(kb, i, o) == up:
                        for y in range(3):
                            v = kb[i, y]
                            kb[i, y] = kb[o, y]
                            kb[o, y] = v
            cuda.syncthreads()
            j >>= 1
        k <<= 1
    for i in range(t, L, T):                # each distinct triple (a run) into the table
        if i == 0 or _differ(kb, i - 1, i):
            y = i + 1
            while y < L and not _differ(kb, i, y):
                y += 1
            _insert(table, key, nrows, a, kb[i, 0], kb[i, 1], kb[i, 2], y - i)


@cuda.jit
def compact(table, key, rows, nrows):
    """The table's rows (arm, instance row, start, end, count) into ``rows``, in slot order
    per block, blocks in any order (at offsets claimed from ``nrows[2]``)."""
    t = cuda.threadIdx.x
    T = cuda.blockDim.x
    base = cuda.shared.array(3, int64)
    if t < 3:
        base[t] = 0
    cuda.syncthreads()
    S = key.shape[0]
    p0 = cuda.blockIdx.x * T * 8
    p1 = min(S, p0 + T * 8)
    nr = 0
    for p in range(p0 + t, p1, T):
        nr += table[0, p] != 0
    cuda.atomic.add(base, 0, nr)
    cuda.syncthreads()
    if t == 0:
        base[1] = cuda.atomic.add(nrows, 2, base[0])
    cuda.syncthreads()
    cap = rows.shape[0]
    for p in range(p0 + t, p1, T):
        if table[0, p] != 0:
            r = base[1] + cuda.atomic.add(base, 2, 1)
            if r < cap:
                for y in range(4):
                    rows[r, y] = key[p, y]
                rows[r, 4] = table[1, p]


@cuda.jit
def pairs(eb, m, per, ng, out):
    """Block (q, a, z): keys ``q·per … (q+1)·per − 1`` (of ``m``), arm a against arms
    ``z·BT …``: ``out[a, b]`` += the keys where a succeeded and b did not. ``eb`` (A, ≥ m)."""
    q = cuda.blockIdx.x
    a = cuda.blockIdx.y
    z = cuda.blockIdx.z
    t = cuda.threadIdx.x
    T = cuda.blockDim.x
    A = eb.shape[0]
    b0 = z * BT
    b1 = min(A, b0 + BT)
    sh = cuda.shared.array(BT, int64)
    for x in range(t, BT, T):
        sh[x] = 0
    cuda.syncthreads()
    k0 = q * per
    k1 = min(m, k0 + per)
    for b in range(b0, b1):
        c = 0
        for k in range(k0 + t, k1, T):
            ea = eb[a, k]
            e = eb[b, k]
            c += (ea >= 0 and ea < ng) and not (e >= 0 and e < ng)
        if c != 0:
            cuda.atomic.add(sh, b - b0, c)
    cuda.syncthreads()
    for x in range(t, b1 - b0, T):
        if sh[x] != 0:
            cuda.atomic.add(out, (a, b0 + x), sh[x])


def _pow2(x):
    p = 1
    while p < x:
        p <<= 1
    return p


class Chunk:
    """A slot's buffers for its chunk's aggregate, allocated once per study: one flat int64
    device array (counts ``(A, R, NC)``, hit histograms ``(A, G)``, exponent bins ``(A, 2,
    NBINS, 2)``, pairs ``(A, A)``, the basin table's three counters) cleared and copied back
    whole into its page-locked twin; the basin rows' hash table (a power of two ≥ 2·cap
    slots) and the rows ``(cap, 5)`` compacted from it, of which as many are copied back as
    there are. ``R``: the most instances a chunk spans; ``cap``: distinct basin rows a chunk
    may have on the device (beyond, :meth:`result` says so and the host labels that chunk
    itself)."""

    def __init__(self, A, R, G, cap):
        if G > GMAX:
            raise ValueError(f"a hit grid of {G} points is more than the {GMAX} the device "
                             f"aggregation holds")
        self.A, self.R, self.G = A, R, G
        sizes = {"counts": (A, R, NC), "hits": (A, G), "bins": (A, 2, NBINS, 2),
                 "pairs": (A, A), "nrows": (3,)}
        self.flat = cuda.device_array(sum(_n(s) for s in sizes.values()), np.int64)
        self.host = cuda.pinned_array(self.flat.size, np.int64)
        self.dev, self.view, o = {}, {}, 0
        for k, shape in sizes.items():
            self.dev[k] = self.flat[o:o + _n(shape)].reshape(shape)
            self.view[k] = self.host[o:o + _n(shape)].reshape(shape)
            o += _n(shape)
        cap = max(1, cap)
        S = _pow2(2 * cap)
        self.table_flat = cuda.device_array(3 * S, np.int64)
        self.table = self.table_flat.reshape((3, S))
        self.key = cuda.device_array((S, 4), np.int64)
        self.rows = cuda.device_array((cap, 5), np.int64)
        self.m = self.i0 = self.r = 0
        self.basins = False

    def launch(self, outs, eb, m, first, starts, i0, ng, grid, basins, stream, threads):
        """Queue the chunk's aggregation on ``stream``, after its kernels: ``outs[a]`` arm a's
        device outcome arrays (swarm.kernels.cuda.NAMES order, start basins filled), ``eb``
        the (A, ≥ m) device array their end basins are rows of, keys ``first … first+m−1``
        (instance rows from ``i0``), ``grid`` the hit grid on the device; ``basins``: the
        basin table too."""
        r = (first + m - 1) // starts - i0 + 1
        if r > self.R:
            raise ValueError(f"a chunk of {r} instances is more than the {self.R} allocated")
        self.m, self.i0, self.r, self.basins = m, i0, r, bool(basins)
        seg = min(SEG, SEG_KEYS)
        nblk = -(-m // seg)
        for buf in (self.flat, self.table_flat) if basins else (self.flat,):
            zero[min(1024, -(-buf.size // threads)), threads, stream](buf)
        p2 = _pow2(min(seg, m))
        for a, o in enumerate(outs):
            sb, eb_a, hs, best, final, div = o
            tally[nblk, threads, stream](
                a, sb, eb_a, hs, best, final, div, m, seg, first, starts, i0, ng, grid,
                self.dev["counts"][a], self.dev["hits"][a], self.dev["bins"][a], basins, p2,
                self.table, self.key, self.dev["nrows"])
        if self.A > 1:
            per = seg * 8
            pairs[(-(-m // per), self.A, -(-self.A // BT)), threads, stream](
                eb, m, per, ng, self.dev["pairs"])
        if basins:
            S = self.key.shape[0]
            compact[-(-S // (threads * 8)), threads, stream](self.table, self.key, self.rows,
                                                              self.dev["nrows"])
        self.flat.copy_to_host(self.host, stream=stream)

    def result(self, max_rows=None):
        """After the stream is done: ``(counts (A, r, NC), hits, bins, pairs, rows)``, host
        arrays (valid until the slot's next chunk); ``rows`` the distinct basin rows (arm,
        instance row, start, end, count) in no particular order, empty without ``basins``,
        or None when the chunk had more than the device holds (or than ``max_rows``: then
        they are not copied)."""
        v = self.view
        n, full = int(v["nrows"][0]), int(v["nrows"][1])
        rows = np.zeros((0, 5), np.int64)
        if full or n > self.rows.shape[0] or (max_rows is not None and n > max_rows):
            rows = None
        elif n:
            rows = self.rows[:n].copy_to_host()
        return v["counts"][:, :self.r], v["hits"], v["bins"], v["pairs"], rows


def _n(shape):
    out = 1
    for s in shape:
        out *= s
    return out
