"""Gaussian-peak helpers shared by the two landscapes made of Gaussian peaks: Gaussian peaks
(:mod:`.families`, workload P) and COCO's Gallagher functions f21/f22 (:mod:`.bbob_multi`).
Their rows store each peak's centre and curvatures at different offsets (:mod:`.layout`:
``peaks``, interleaved per peak; ``bbob``, all centres then all scales), so the helpers take
the offsets; each landscape keeps its own choice of the active peak around :func:`make`'s
``sqdist`` (Gaussian peaks: log wₖ − qₖ/2 with stored log-heights; Gallagher: log hₖ − qₖ/(2n)).

- ``sqdist(p, c, a, y, q, dim)``: qₖ = Σⱼ p[a + j]·(yⱼ − p[c + j])², a point's scaled squared
  distance to one peak (centre at ``p[c:]``, curvatures at ``p[a:]``), in every lane: the loop
  that scans every peak, most of either landscape's cost.
- ``gather(p, c, a, stride, kbest, kprev, cc, lam, dim)``: each lane's active centre and
  curvatures (peak kbest's, at ``c + kbest·stride`` and ``a + kbest·stride``) into ``cc``,
  ``lam``, only when some lane's active peak differs from ``kprev`` (then kprev ← kbest).
- ``grad(p, c, a, stride, coef, kbest, kprev, y, gy, cc, lam, dim)``: gy = coef·λₖ ⊙ (y − ỹₖ)
  for each lane's active peak k (coef per lane: the landscape's outer derivative): on the CPU
  from ``cc``, ``lam`` kept by ``gather`` between calls (the caller sets ``kprev`` to −1 or
  NaN before the first call), on a GPU (L = 1) read from the row (there a run-time choice of
  arrays would keep the thread's arrays in local memory).

Lanes innermost (``(dim, L)`` points, ``(L,)`` rows), as everywhere in the kernels.
"""
from types import SimpleNamespace

from . import ids


def make(jit, F, L, cold, fma):
    """``sqdist``, ``grad`` (inlined, ``jit``) and ``gather`` (a block-level call, ``cold``)
    for working dtype F and L lanes, as a namespace."""
    lanes = ids.lane_count(jit, L)
    zero = F(0.0)
    select_rows = L > 1        # a make-time constant: Numba prunes the other branch

    @jit
    def sqdist(p, c, a, y, q, dim):
        """q = Σⱼ p[a + j]·(yⱼ − p[c + j])². Coordinates in fours, as in ``linalg``'s
        rowdot2 (1.5–1.8× faster than one at a time), summed in order j = 0, 1, … with fused
        multiply-adds; the first four start q: no loop to clear it first (a seventh of the
        loops per peak; workload P +1–5 %), the same bits as clearing it: fma(a·d, d, 0) =
        (a·d)·d, the product being ≥ +0 since a > 0."""
        L = lanes(q)
        if dim < 4:
            for k in range(L):
                q[k] = zero
        j = 0
        while j + 4 <= dim:
            c0 = p[c + j]
            c1 = p[c + j + 1]
            c2 = p[c + j + 2]
            c3 = p[c + j + 3]
            a0 = p[a + j]
            a1 = p[a + j + 1]
            a2 = p[a + j + 2]
            a3 = p[a + j + 3]
            if j == 0:
                for k in range(L):
                    d0 = y[0, k] - c0
                    d1 = y[1, k] - c1
                    d2 = y[2, k] - c2
                    d3 = y[3, k] - c3
                    q[k] = fma(a3 * d3, d3, fma(a2 * d2, d2, fma(a1 * d1, d1, (a0 * d0) * d0)))
            else:
                for k in range(L):
                    d0 = y[j, k] - c0
                    d1 = y[j + 1, k] - c1
                    d2 = y[j + 2, k] - c2
                    d3 = y[j + 3, k] - c3
                    q[k] = fma(a3 * d3, d3, fma(a2 * d2, d2, fma(a1 * d1, d1,
                                                                 fma(a0 * d0, d0, q[k]))))
            j += 4
        while j < dim:
            c0 = p[c + j]
            a0 = p[a + j]
            for k in range(L):
                d0 = y[j, k] - c0
                q[k] = fma(a0 * d0, d0, q[k])
            j += 1

    @cold
    def gather(p, c, a, stride, kbest, kprev, cc, lam, dim):
        """The gathers were a fifth of Gaussian peaks' value and gradient, and the active
        peaks seldom change from one step (or polish step) to the next: so only when one
        did."""
        L = lanes(kprev)
        changed = 0
        for k in range(L):
            changed += 1 if F(kbest[k]) != kprev[k] else 0
        if changed:
            for i in range(dim):
                for k in range(L):
                    o = int(kbest[k]) * stride + i
                    cc[i, k] = p[c + o]
                    lam[i, k] = p[a + o]
            for k in range(L):
                kprev[k] = F(kbest[k])

    @jit
    def grad(p, c, a, stride, coef, kbest, kprev, y, gy, cc, lam, dim):
        L = lanes(coef)
        if select_rows:
            gather(p, c, a, stride, kbest, kprev, cc, lam, dim)
            for i in range(dim):
                for k in range(L):
                    gy[i, k] = coef[k] * lam[i, k] * (y[i, k] - cc[i, k])
        else:
            for i in range(dim):
                for k in range(L):
                    o = int(kbest[k]) * stride + i
                    gy[i, k] = coef[k] * p[a + o] * (y[i, k] - p[c + o])

    return SimpleNamespace(sqdist=sqdist, gather=gather, grad=grad)
