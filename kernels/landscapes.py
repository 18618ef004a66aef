"""Landscape value-and-gradient and basin labels, dispatched on the family id.

Split by concern: :mod:`.linalg` (matrix-vector products with a row's rotation),
:mod:`.families` (each family's value and gradient, formulas there and in
``docs/landscapes.md``), :mod:`.labels` (basin labels by each family's rule) and
:mod:`.layout` (each family's parameter row, with named offsets). Every family has an entry in
each table they dispatch from (``families.H``/``VALUE_GRAD``, ``labels.LABEL``,
``layout.LAYOUTS``): an id of ``ids.LANDSCAPE_FAMILIES`` without one fails at import, and an id
outside them gets NaN (value and gradient) and a diverged label, never another family.
"""
from . import families, hessians, labels, linalg
from . import fma as _fma
from .labels import CODE_BASE, CODE_MASK, CODE_OFF, HASH_MUL, LINEAR_MAX  # noqa: F401


def make(jit, F, L, cold=None, fma=None, only=None):
    """``(value_grad, label, hess_diag)`` for working dtype F and L lanes (``hess_diag``:
    :mod:`.hessians`, for curvature-shaped noise). ``jit`` compiles the scalar
    helpers that run inside lane loops (inlined on the CPU, so the loops vectorise); ``cold``
    the block-level functions (real calls: one call covers L lanes, and keeping them apart
    keeps compile time bounded). ``only``: the family ids served (default all)."""
    cold = cold or jit
    fma = fma or _fma.cpu(jit)
    fam = families.make(jit, F, L, cold, fma, linalg.make(jit, F, L, cold, fma), only)
    return fam.value_grad, labels.make(jit, F, L, cold, fam, only), \
        hessians.make(jit, F, L, cold, fma, fam, only)
