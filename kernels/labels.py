"""Basin labels of a block of lanes, dispatched on the family id by its label rule.

Six rules, one per family in ``LABEL`` (the dispatch is written from it, :func:`.dispatch.chain`;
an id of ``ids.LANDSCAPE_FAMILIES`` without an entry fails at import, and the unreachable end of
the chain labels every lane ``ids.DIVERGED``, never by another family's rule):

- ``table`` (Rastrigin, Styblinski–Tang, Levy, double well): exact per-coordinate basins bounded
  by the 1-D local maxima, tabulated on the host (``tab`` rows, ``ctype`` picks a row per
  coordinate, ``gk`` the global cell of each row): gradient flow in z is separable and a
  rotation does not change it.
- ``lattice`` (Ackley, Griewank): polished by normalised gradient steps (Euler steps along the
  gradient-flow path), then the cell of z on the family's lattice (spacing ``LP_QUANT``, times
  √i for Griewank's coordinate i).
- ``nearest`` (Himmelblau): polished, then the nearest of the four minima stored in the row.
- ``peak`` (Gaussian peaks): polished in y = R x, then the active peak.
- ``bbob`` (COCO's BBOB functions, no exact basin rule): polished, then the cell of
  x − x_opt on a lattice of spacing ``LP_QUANT`` (the global cell is the one around x_opt).
- ``bbob_peak`` (COCO's Gallagher f21/f22, Gaussian peaks too): polished in z = R x as
  ``peak``, then the active peak (0: the global one, at x_opt).

A cell label is 0 for the global cell and ≥ 1 otherwise: the cells in base 1024 (exact up to 6
coordinates) or a 62-bit polynomial hash of them (beyond).
"""
import math

from . import dispatch, ids
from . import layout as _layout

CODE_BASE = 1024
CODE_OFF = 512
HASH_MUL = 1000003                # odd: a wrapping product keeps every digit's influence
CODE_MASK = (1 << 62) - 1
LINEAR_MAX = 128                  # basin tables with at most this many boundaries: scanned


def make(jit, F, L, cold, fam, only=None):
    """``label(fid, p, tab, ctype, gk, x, g, z, gz, cc, lam, f, t, ki, out, dim)`` for working
    dtype F and L lanes (``cc``, ``lam``: two more ``(dim, L)`` scratch arrays, distinct from
    the others); ``fam``: :func:`.families.make`'s namespace; ``only``: the family ids served
    (default all, the others get the diverged label)."""
    lanes = fam.lanes
    value_grad, to_z, active_peak, gather_active, matvec = \
        fam.value_grad, fam.to_z, fam.active_peak, fam.gather_active, fam.matvec
    shifted_at, peaks_at = fam.shifted_at, fam.peaks_at
    bbob_at = jit(_layout.bbob)
    zero = F(0.0)
    one = F(1.0)
    half = F(0.5)
    inf = F(math.inf)

    @cold
    def polish(fid, p, x, g, z, gz, cc, lam, f, t, ki, dim):
        """Normalised gradient steps of length h: Euler steps along the gradient-flow path
        (a lane whose gradient is zero or not finite stays where it is). ``cc``, ``lam``:
        value_grad's cache arrays (the shifted families and Himmelblau use none: z, gz may
        stand in; the BBOB functions need them distinct)."""
        L = lanes(f)
        h = p[ids.LP_POLISH_H]
        nrm = t[3]
        for _ in range(int(p[ids.LP_POLISH_STEPS])):
            value_grad(fid, p, x, g, z, gz, f, t, ki, cc, lam, dim)   # not Gaussian peaks
            for k in range(L):
                nrm[k] = zero
            for j in range(dim):
                for k in range(L):
                    nrm[k] += g[j, k] * g[j, k]
            for k in range(L):
                n = math.sqrt(nrm[k])
                nrm[k] = h / n if n > zero else zero
            for j in range(dim):
                for k in range(L):
                    x[j, k] -= nrm[k] * g[j, k]

    def peak_polisher(active, gather):
        """:func:`polish` for a landscape of Gaussian peaks, done in the rotated coordinates
        y = R x, with its ``active(p, y, best, kbest, q, dim)`` (each lane's active peak) and
        ``gather(p, kbest, kprev, cc, lam, dim)`` (its centre and curvatures): R is
        orthogonal, so a normalised step along −∇f in x is the same step along −∇_y f in y,
        and the active peak's positive factor of ∇_y f (its height term; Gallagher's
        2·T_osz·T_osz'·v/n besides) drops out of the normalised direction λ ⊙ (y − ỹ) (so
        points where it underflows still move). Two matrix-vector products and an exp fewer
        per step than polishing in x, and only the active peak's gradient. ``cc``, ``lam``
        (``(dim, L)`` scratch) hold each lane's active centre and curvatures, gathered again
        only in steps where some lane's active peak changed (after the first few steps,
        rarely: the gathers were a third of a polish step)."""
        @cold
        def polish_peaks(p, y, gy, cc, lam, t, kbest, dim):
            L = lanes(gy)
            h = p[ids.LP_POLISH_H]
            kprev = t[2]
            nrm = t[3]
            for k in range(L):
                kprev[k] = -one
            for _ in range(int(p[ids.LP_POLISH_STEPS])):
                active(p, y, t[0], kbest, t[1], dim)
                gather(p, kbest, kprev, cc, lam, dim)
                for k in range(L):
                    nrm[k] = zero
                for i in range(dim):
                    for k in range(L):
                        d = lam[i, k] * (y[i, k] - cc[i, k])
                        gy[i, k] = d
                        nrm[k] += d * d
                for k in range(L):
                    n = math.sqrt(nrm[k])
                    nrm[k] = h / n if n > zero else zero
                for i in range(dim):
                    for k in range(L):
                        y[i, k] -= nrm[k] * gy[i, k]
        return polish_peaks

    polish_peaks = peak_polisher(active_peak, gather_active)

    @jit
    def cells(fid, p, tab, ctype, gk, z, f, ki, out, dim, separable):
        """The cell label of z: the cells (relative to the global cell) as base-1024 digits,
        exact up to 6 coordinates, a wrapping polynomial hash beyond; 0 only for the global
        cell, everything else ≥ 1 (−1 is reserved for "diverged"). ``separable``: cells from
        the boundary table, else from the lattice."""
        L = lanes(f)
        exact = dim <= 6
        glob = f                            # per lane: 1 while every cell is the global one
        for k in range(L):
            out[k] = 0
            glob[k] = one
        nb = tab.shape[1]
        mul = CODE_BASE if exact else HASH_MUL
        cell = ki                           # per lane: the cell of coordinate i
        for i in range(dim):
            row = ctype[i]
            if separable:
                # the number of boundaries below z (the row is sorted, padded with +inf). On
                # the CPU, with few boundaries, one vectorised compare per boundary: bisection's
                # data-dependent branches mispredict on random points (≈ 40 ns per trajectory
                # on Rastrigin 2-D, 62 boundaries). Bisection for long tables and on a GPU
                # (one lane: no SIMD to gain, log₂ nb steps instead of nb).
                g0 = gk[row]
                if L > 1 and nb <= LINEAR_MAX:
                    for k in range(L):
                        cell[k] = -g0
                    for m in range(nb):
                        b = tab[row, m]
                        for k in range(L):
                            cell[k] += 1 if b < z[i, k] else 0
                else:
                    for k in range(L):
                        lo = 0
                        hi = nb
                        while lo < hi:
                            mid = (lo + hi) // 2
                            if tab[row, mid] < z[i, k]:
                                lo = mid + 1
                            else:
                                hi = mid
                        cell[k] = lo - g0
            else:
                sc = p[ids.LP_QUANT] * (math.sqrt(F(i + 1)) if fid == ids.GRIEWANK else one)
                for k in range(L):
                    v = z[i, k] / sc + half
                    cell[k] = int(math.floor(v)) if abs(v) < F(1e9) else 0   # dead lanes: NaN
            for k in range(L):
                c = cell[k]
                glob[k] = zero if c != 0 else glob[k]
                out[k] = out[k] * mul + (c + CODE_OFF)
        for k in range(L):
            out[k] = 0 if glob[k] != zero else (out[k] & CODE_MASK) + 1

    # ---- the label rules, each label(fid, p, tab, ctype, gk, x, g, z, gz, cc, lam, f, t, ki,
    # out, dim);
    # x is overwritten by the polish. 0 … n_global−1: global basins

    @jit
    def table(fid, p, tab, ctype, gk, x, g, z, gz, cc, lam, f, t, ki, out, dim):
        """Separable families: the boundary table's cells of z (of x: the double well)."""
        L = lanes(f)
        if fid == ids.DOUBLE_WELL:
            for i in range(dim):
                for k in range(L):
                    z[i, k] = x[i, k]
        else:
            to_z(p, p[ids.LP_ROTATED] != zero, x, z, gz, dim)
        cells(fid, p, tab, ctype, gk, z, f, ki, out, dim, True)

    @jit
    def lattice(fid, p, tab, ctype, gk, x, g, z, gz, cc, lam, f, t, ki, out, dim):
        """Polish, then the lattice cells of z."""
        polish(fid, p, x, g, z, gz, z, gz, f, t, ki, dim)
        to_z(p, p[ids.LP_ROTATED] != zero, x, z, gz, dim)
        cells(fid, p, tab, ctype, gk, z, f, ki, out, dim, False)

    @jit
    def nearest(fid, p, tab, ctype, gk, x, g, z, gz, cc, lam, f, t, ki, out, dim):
        """Polish, then the nearest of the minima stored in the row (Himmelblau's four, in z)."""
        L = lanes(f)
        polish(fid, p, x, g, z, gz, z, gz, f, t, ki, dim)
        to_z(p, p[ids.LP_ROTATED] != zero, x, z, gz, dim)
        mo = shifted_at(dim).minima
        for k in range(L):
            best = inf
            kb = 0
            for m in range(4):
                o = mo + m * dim
                d0 = z[0, k] - p[o]
                d1 = z[1, k] - p[o + 1]
                dd = d0 * d0 + d1 * d1
                if dd < best:
                    best = dd
                    kb = m
            out[k] = kb

    @jit
    def peak(fid, p, tab, ctype, gk, x, g, z, gz, cc, lam, f, t, ki, out, dim):
        """Polish in y = R x, then the active peak."""
        matvec(p, peaks_at(dim).rot, x, z, dim)
        polish_peaks(p, z, gz, x, g, t, ki, dim)        # x, g: free scratch now
        active_peak(p, z, f, out, t[1], dim)

    @jit
    def bbob(fid, p, tab, ctype, gk, x, g, z, gz, cc, lam, f, t, ki, out, dim):
        """Polish, then the lattice cell of x − x_opt (spacing ``LP_QUANT``)."""
        L = lanes(f)
        polish(fid, p, x, g, z, gz, cc, lam, f, t, ki, dim)
        xo = bbob_at(dim).xopt
        for i in range(dim):
            c = p[xo + i]
            for k in range(L):
                z[i, k] = x[i, k] - c
        cells(fid, p, tab, ctype, gk, z, f, ki, out, dim, False)

    if fam.gallagher is not None:
        polish_gallagher = fam.gallagher.polish

        @jit
        def bbob_peak(fid, p, tab, ctype, gk, x, g, z, gz, cc, lam, f, t, ki, out, dim):
            """COCO's Gallagher f21/f22: polish in z = R x, then the active peak (0: the
            global one, at x_opt). The boundary penalty is left out of the polish. The
            polish (:mod:`.bbob_multi`'s ``gallagher``) is ``peak`` 's, step for step, with
            the scans of all peaks skipped where a bound proves that they would pick the
            lane's active peak again; x, g hold the active centres and scales, cc the point
            of each lane's last scan, f its bound, lam and out are scratch."""
            matvec(p, bbob_at(dim).a, x, z, dim)
            polish_gallagher(p, z, gz, x, g, cc, lam, f, t, ki, out, dim)
            for k in range(lanes(f)):
                out[k] = ki[k]

    @jit
    def unknown(fid, p, tab, ctype, gk, x, g, z, gz, cc, lam, f, t, ki, out, dim):
        for k in range(lanes(f)):          # never another family's rule
            out[k] = ids.DIVERGED

    # one line per family: label's chain is written from this table (the rule names are the
    # registry's label rules, swarm.landscapes.REGISTRY)
    RULES = {"table": table, "lattice": lattice, "nearest": nearest, "peak": peak, "bbob": bbob,
             # built only for a dispatch that serves the BBOB ids (as families.VALUE_GRAD's)
             "bbob_peak": bbob_peak if fam.gallagher is not None else unknown}
    LABEL = {fid: RULES[rule] for fid, rule in RULE_OF.items()}
    dispatch.check("kernels.labels.LABEL", "landscape family", ids.LANDSCAPE_FAMILIES, LABEL)
    served = LABEL if only is None else {k: LABEL[k] for k in only}
    return dispatch.chain(cold, "label", "fid",
                          "p, tab, ctype, gk, x, g, z, gz, cc, lam, f, t, ki, out, dim", served,
                          unknown, keyed=True)


# the label rule of each family (the dispatch is written from it)
RULE_OF = {ids.RASTRIGIN: "table", ids.STYBLINSKI_TANG: "table", ids.LEVY: "table",
           ids.DOUBLE_WELL: "table", ids.ACKLEY: "lattice", ids.GRIEWANK: "lattice",
           ids.HIMMELBLAU: "nearest", ids.GAUSSIAN_PEAKS: "peak"}
RULE_OF.update({fid: "bbob" for fid in ids.BBOB_FAMILIES})
RULE_OF.update({ids.BBOB_F21: "bbob_peak", ids.BBOB_F22: "bbob_peak"})   # Gallagher's peaks
dispatch.check("kernels.labels.RULE_OF", "landscape family", ids.LANDSCAPE_FAMILIES, RULE_OF)
