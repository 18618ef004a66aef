"""The landscape parameter row ``lp[i, :]`` of each family, declared once with named offsets.

A row is the header (``ids.LP_HEAD`` floats: ``ids.LP_FSTAR`` …) followed by the family's part:

- shifted families (Rastrigin, Ackley, Griewank, Levy, Styblinski–Tang, Himmelblau):
  ``[s (d) | R (d×d, row-major) | stored minima (n_minima points in z, d each)]``;
  Himmelblau stores its four minima in z, the others none.
- double well: ``[c]`` (the tilt).
- Gaussian peaks: ``[P | R (d×d, row-major) | P rows of (log wₖ, ỹₖ = R cₖ (d), λₖ (d))]``;
  peak k's row starts at ``first + k·stride``, its entries at ``logw``, ``centre``, ``lam``
  from there.
- BBOB (COCO's f1–f24, one layout for all): ``[x_opt (d) | A (d×d) | B (d×d) | u (d) | v (d) |
  c (8 scalars) | P | P peak centres y (d each) | P scale rows (d each) | P heights]``; what
  each function stores where is in ``docs/bbob.md`` (the packer: ``instances.bbob_row``).

Each function returns the offsets as a named tuple of ints, ``size`` the row's length. They are
plain integer arithmetic: the host calls them as they are, the kernels compile them with their
``jit`` (inlined, so ``lay.rot`` is the same ``LP_HEAD + dim`` it always was).
:func:`layout` picks the family's function by kernel id (``ids.LANDSCAPE_FAMILIES``).
"""
from collections import namedtuple

from . import dispatch, ids

Shifted = namedtuple("Shifted", "shift rot minima size")
DoubleWell = namedtuple("DoubleWell", "tilt size")
Peaks = namedtuple("Peaks", "count rot first stride logw centre lam size")
Bbob = namedtuple("Bbob", "xopt a b u v c count y sc ht size")
BBOB_SCALARS = 8          # c[0] … c[7]


def shifted(dim, n_minima=0):
    """``[head | s | R | n_minima stored points]``."""
    shift = ids.LP_HEAD
    rot = shift + dim
    minima = rot + dim * dim
    return Shifted(shift, rot, minima, minima + n_minima * dim)


def double_well(dim):
    """``[head | c]``."""
    return DoubleWell(ids.LP_HEAD, ids.LP_HEAD + 1)


def peaks(dim, peaks=0):
    """``[head | P | R | P × (log w, ỹ, λ)]`` (``size`` for ``peaks`` peaks)."""
    count = ids.LP_HEAD
    rot = count + 1
    first = rot + dim * dim
    stride = 1 + 2 * dim
    return Peaks(count, rot, first, stride, 0, 1, 1 + dim, first + peaks * stride)


def bbob(dim, peaks=0):
    """``[head | x_opt | A | B | u | v | c (8) | P | y (P·d) | sc (P·d) | heights (P)]``:
    matrices row-major, peak k's centre at ``y + k·d``, its scales at ``sc + k·d``."""
    xopt = ids.LP_HEAD
    a = xopt + dim
    b = a + dim * dim
    u = b + dim * dim
    v = u + dim
    c = v + dim
    count = c + BBOB_SCALARS
    y = count + 1
    sc = y + peaks * dim
    ht = sc + peaks * dim
    return Bbob(xopt, a, b, u, v, c, count, y, sc, ht, ht + peaks)


def _himmelblau(dim):
    return shifted(dim, 4)


# one line per family: which layout its rows have (and, in the keywords, what sizes them)
LAYOUTS = {ids.RASTRIGIN: shifted, ids.ACKLEY: shifted, ids.GRIEWANK: shifted, ids.LEVY: shifted,
           ids.STYBLINSKI_TANG: shifted, ids.HIMMELBLAU: _himmelblau,
           ids.DOUBLE_WELL: double_well, ids.GAUSSIAN_PEAKS: peaks}
LAYOUTS.update({fid: bbob for fid in ids.BBOB_FAMILIES})
dispatch.check("kernels.layout", "landscape family", ids.LANDSCAPE_FAMILIES, LAYOUTS)


def layout(fid, dim, **params):
    """The named offsets of family ``fid``'s rows in ``dim`` dimensions; ``params``: what sizes
    the row beyond ``dim`` (Gaussian peaks, BBOB f21/f22: ``peaks``)."""
    return LAYOUTS[fid](dim, **params)
