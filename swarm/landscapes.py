"""Landscape families whose global minimum is known exactly.

A *family* (a frozen, validated dataclass) describes a distribution of random landscapes; its
instance ``k`` for a given ``seed`` is a pure function of (family parameters, seed, k):
``family.instance(seed, k)``, or a whole range at once as kernel arrays, ``family.bank(seed, lo,
hi)`` (:class:`Bank`), with the same bits. Instances are drawn in bulk by the compiled loops of
``swarm.kernels.instances`` from Philox4x32-10 at the counter ``(pair, 0xFFFFFFFF, family id,
k)`` under the study seed; each family's ``_fill`` gives the order of its draws
(``docs/landscapes.md``, "How instances are drawn").

An :class:`Instance` knows its exact global minimum ``x_star``, ``f_star`` (and, for
Himmelblau, all four global minima), its local minima (``minima``; ``None`` where only a rule is
known, see ``minima_rule``), its domain (for uniform starts), the box whose exit counts as
divergence, and offers NumPy-vectorised ``f``, ``grad`` and ``basin`` over points of shape
``(n, dim)`` — evaluated by the same compiled code the kernels run.

Every family is one :class:`Row` of :data:`REGISTRY` (by name; :data:`BY_ID` by kernel id): its
kernel id, constructor, standard domain, f*, minima, basin-label rule, naive reference in
``tests/naive.py`` and parameter-row layout (``swarm.kernels.layout``), with a slot for the
diagonal Hessian (issue 23). The kernels dispatch on the id from their own tables, which fail at
import without an entry for every id; the tests are parametrised from the registry.

Families (``docs/landscapes.md``): :func:`gaussian_peaks` (Gallagher-style
max-set of Gaussians), :func:`rastrigin`, :func:`ackley`, :func:`griewank`, :func:`levy`,
:func:`styblinski_tang` (randomly shifted, optionally rotated), :func:`himmelblau` (four global
minima) and :func:`double_well` (the validation landscape with an exact first-passage theory).
"""
from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from swarm import _validate as V
from swarm.kernels import ids
from swarm.kernels import dispatch as _kdispatch
from swarm.kernels import layout as _klayout
from swarm.kernels.philox import split_seed

MAX_LISTED_MINIMA = 20_000
# the families of the Shifted class (their rows in REGISTRY)
_SHIFTED = ("rastrigin", "ackley", "griewank", "levy", "styblinski_tang", "himmelblau")
HIMMELBLAU_MINIMA = np.array([[3.0, 2.0], [-2.805118086952745, 3.131312518250573],
                              [-3.779310253377747, -3.283185991286170],
                              [3.584428340330492, -1.848126526964404]])
# Styblinski–Tang: the negative root of 2z³ − 16z + 2.5 (its global coordinate)
ST_ZSTAR = float(min(np.roots([2.0, 0.0, -16.0, 2.5]).real))


def _kernels():
    from swarm.kernels import cpu     # compiled on first use
    return cpu


def _bulk():
    from swarm.kernels import instances     # compiled on first use
    return instances


def _seed(seed):
    return V.integer("seed", seed, low=0, high=2 ** 64 - 1)


def _index(index):
    return V.integer("instance index", index, low=0, high=2 ** 32 - 1)


@dataclass(frozen=True, eq=False)
class Instance:
    """One landscape: packed kernel parameters plus everything known about its minima."""
    family: "Family"
    seed: int
    index: int
    params: np.ndarray        # kernel row lp (float64)
    domain: np.ndarray        # (2, dim) box for uniform starts
    box: np.ndarray           # (2, dim) leaving it counts as divergence
    global_minima: np.ndarray  # (n_global, dim); labels 0 … n_global−1 are global
    minima: np.ndarray | None  # (n, dim) all local minima, global ones first, or None
    minima_rule: str

    @property
    def dim(self):
        return self.family.dim

    @property
    def fid(self):
        return self.family.fid

    @property
    def x_star(self):
        return self.global_minima[0].copy()

    @property
    def f_star(self):
        return float(self.params[ids.LP_FSTAR])

    @property
    def n_global(self):
        return len(self.global_minima)

    def _points(self, x):
        x = np.asarray(x, dtype=np.float64)
        one = x.ndim == 1
        x = np.atleast_2d(x)
        if x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (n, {self.dim}), got {x.shape}")
        return np.ascontiguousarray(x), one

    def value_and_grad(self, x):
        x, one = self._points(x)
        f = np.empty(len(x))
        g = np.empty_like(x)
        _kernels().evaluate(self.fid, self.params, x, f, g)
        return (f[0], g[0]) if one else (f, g)

    def f(self, x):
        """f at the rows of x (shape (n, dim), or one point (dim,))."""
        return self.value_and_grad(x)[0]

    def grad(self, x):
        """∇f at the rows of x."""
        return self.value_and_grad(x)[1]

    def basin(self, x):
        """Basin labels (int64) of the rows of x: 0 … n_global−1 are the global basin(s)."""
        x, one = self._points(x)
        out = np.empty(len(x), dtype=np.int64)
        tab, ctype, gk = self.family.tables
        _kernels().label(self.fid, self.params, tab, ctype, gk, x, out)
        return out[0] if one else out

    def __repr__(self):
        return (f"Instance({self.family.name}, dim={self.dim}, seed={self.seed}, "
                f"index={self.index}, f_star={self.f_star:.10g})")


@dataclass(frozen=True, eq=False)
class Bank:
    """Instances ``lo … hi−1`` of a family under ``seed``, as the arrays the kernels read
    (float64): ``lp`` (n, n_params) parameter rows and ``gmin`` (n, n_global, dim) global
    minima. The domain and box are the family's (the same for every instance). Nothing else
    is kept: listed minima are computed when asked for (:meth:`instance`, :meth:`minimum`)."""
    family: "Family"
    seed: int
    lo: int
    hi: int
    lp: np.ndarray
    gmin: np.ndarray

    def __len__(self):
        return self.hi - self.lo

    @property
    def n_global(self) -> int:
        return self.family.n_global

    def instance(self, index) -> Instance:
        """Instance ``index`` (lo ≤ index < hi) of the bank, with its listed minima: the same
        bits as ``family.instance(seed, index)``."""
        if not self.lo <= index < self.hi:
            raise ValueError(f"instance index must be in [{self.lo}, {self.hi}), got {index!r}")
        fam, j = self.family, index - self.lo
        params, gmin = self.lp[j].copy(), self.gmin[j].copy()
        domain = fam.domain
        return Instance(fam, self.seed, int(index), params, domain, fam.bound * domain, gmin,
                        fam._listed_minima(self.seed, int(index), params, gmin),
                        fam.minima_rule)

    def minimum(self, k) -> np.ndarray:
        """(n, dim): the listed minimum ``k`` of every instance (``Instance.minima[k]``; 0 is
        the global one); a ValueError names the first instance that lists fewer."""
        if len(self) == 0:
            return np.zeros((0, self.family.dim))
        out, short = self.family._minimum(self, int(k))
        if short is None:
            return out
        inst = self.instance(self.lo + short)
        if inst.minima is None:
            raise ValueError(f"start.at_minimum needs listed minima; {self.family.name} "
                             f"(dim={self.family.dim}) lists none ({inst.minima_rule})")
        raise ValueError(f"start.at_minimum k must be in [0, {len(inst.minima) - 1}] "
                         f"for {inst!r}, got {k}")


@dataclass(frozen=True)
class Family:
    """Common behaviour of the families; subclasses fill ``_fill`` (the bulk draws),
    ``_listed_minima`` and ``_minimum``."""

    @property
    def fid(self) -> int:
        """The kernel id (``ids.*``) of the family's row."""
        return self.row.fid

    def instance(self, seed: int, index: int) -> Instance:
        """Instance ``index`` of this family under ``seed`` (a pure function of both): the
        one-instance :meth:`bank`, so the same bits as in any range that holds it."""
        index = _index(index)
        return self.bank(seed, index, index + 1).instance(index)

    def instances(self, seed: int, n: int) -> list[Instance]:
        bank = self.bank(seed, 0, n)
        return [bank.instance(k) for k in range(n)]

    def bank(self, seed: int, lo: int, hi: int) -> "Bank":
        """Instances ``lo … hi−1`` under ``seed`` as kernel arrays (:class:`Bank`), drawn in
        one compiled loop; every row is a pure function of (family, seed, index)."""
        seed = _seed(seed)
        lo = _index(lo)
        hi = V.integer("instance index", hi, low=lo, high=2 ** 32)
        n_params, n_global, _ = self.size_hint()
        lp = np.empty((hi - lo, n_params))
        gmin = np.empty((hi - lo, n_global, self.dim))
        if hi > lo:
            self._fill(seed, lo, lp, gmin)
        return Bank(self, seed, lo, hi, lp, gmin)

    def _fill(self, seed, lo, lp, gmin):
        """Write the rows and global minima of instances lo … lo + len(lp) − 1."""
        raise NotImplementedError

    def _listed_minima(self, seed, index, params, gmin):
        """``Instance.minima`` of one instance (from its row and global minima), or None."""
        raise NotImplementedError

    def _minimum(self, bank, k):
        """(out, None): the listed minimum k of every instance of the bank; or (None, r) where
        instance lo + r lists fewer than k + 1 minima (or none)."""
        raise NotImplementedError

    @property
    def n_global(self) -> int:
        """Number of global minima of every instance (labels 0 … n_global−1 are global)."""
        return self.size_hint()[1]

    @property
    def box(self) -> np.ndarray:
        """(2, dim): leaving it counts as divergence (the same for every instance)."""
        return self.bound * self.domain

    @property
    def domain(self) -> np.ndarray:
        """(2, dim) box of uniform starts, ``[−half_width, half_width]^dim`` — the same for
        every instance (``Instance.domain``)."""
        hw = self.half_width
        return np.array([np.full(self.dim, -hw), np.full(self.dim, hw)])

    def header(self, fstar, n_global, rotated=False):
        h = np.zeros(ids.LP_HEAD)
        h[ids.LP_FSTAR] = fstar
        steps, step = self.row.polish
        h[ids.LP_POLISH_STEPS] = steps
        h[ids.LP_POLISH_H] = step
        h[ids.LP_QUANT] = self.row.quant
        h[ids.LP_ROTATED] = float(rotated)
        h[ids.LP_NGLOBAL] = n_global
        return h

    @property
    def row(self) -> "Row":
        """The family's row of :data:`REGISTRY`."""
        return REGISTRY[self.name]

    @property
    def minima_rule(self) -> str:
        return self.row.minima

    def _layout_params(self) -> dict:
        """What sizes the family's parameter row beyond ``dim`` (:mod:`swarm.kernels.layout`)."""
        return {}

    @property
    def layout(self):
        """The named offsets of the family's parameter rows (``kernels.layout.layout``)."""
        return self.row.layout(self.dim, **self._layout_params())

    @cached_property
    def tables(self):
        """Per-coordinate 1-D basin boundaries (tab, ctype, gk) for the separable families."""
        return np.full((1, 1), np.inf), np.zeros(self.dim, np.int64), np.zeros(1, np.int64)

    def to_dict(self):
        return {"name": self.name, **dataclasses.asdict(self)}

    def check_optimizers(self, optimizers):
        """Refuse optimizers that cannot run on this family (a ValueError); every optimizer
        runs on the families but COCO's f7 and f23 (:meth:`Bbob.check_optimizers`)."""

    def size_hint(self) -> tuple[int, int, float]:
        """Sizes of one instance, for memory estimates without building any: (floats in its
        kernel parameter row, number of global minima, expected number of listed minima)."""
        raise NotImplementedError


def _canonical_partials(fid, dim, params, coord, z):
    """∂h/∂z_coord along the z_coord axis (other coordinates 0), from the kernels' own code."""
    X = np.zeros((len(z), dim))
    X[:, coord] = z
    f = np.empty(len(z))
    g = np.empty_like(X)
    _kernels().evaluate(fid, params, X, f, g)
    return g[:, coord]


def _maxima_1d(dfun, lo, hi, step):
    """Local maxima of a 1-D function in [lo, hi] from its derivative (sign change + → −),
    refined by vectorised bisection."""
    z = np.arange(lo, hi + step, step)
    d = dfun(z)
    idx = np.nonzero((d[:-1] > 0) & (d[1:] <= 0))[0]
    a, b = z[idx], z[idx + 1]
    for _ in range(60):
        m = 0.5 * (a + b)
        pos = dfun(m) > 0
        a = np.where(pos, m, a)
        b = np.where(pos, b, m)
    return 0.5 * (a + b)


def _minima_1d(dfun, lo, hi, step):
    return _maxima_1d(lambda z: -dfun(z), lo, hi, step)


@dataclass(frozen=True)
class Shifted(Family):
    """``f(x) = h(R (x − s))``: a classic function, shifted so that its minimiser
    ``x* = s + Rᵀ z*`` lies uniformly in ``shift × domain``, and optionally rotated (R Haar on
    O(dim); the identity without ``rotate``). Draws: see :meth:`_fill`."""
    name: str
    dim: int
    rotate: bool = False
    shift: float = 0.8
    bound: float = 4.0

    def __post_init__(self):
        V.choice("landscape", self.name, _SHIFTED)
        if self.name == "himmelblau":
            if self.dim != 2:
                raise ValueError(f"dim must be 2 for himmelblau, got {self.dim!r}")
        V.integer("dim", self.dim, low=1, high=1024)
        V.flag("rotate", self.rotate)
        V.real("shift", self.shift, low=0.0, high=1.0)
        V.real("bound", self.bound, low=1.0)

    @property
    def half_width(self):
        return self.row.half_width

    @property
    def z_star(self):
        if self.name == "himmelblau":
            return HIMMELBLAU_MINIMA[0]
        return np.full(self.dim, ST_ZSTAR if self.name == "styblinski_tang" else 0.0)

    def _canonical(self):
        """Parameters of the unshifted, unrotated instance (for tabulating h)."""
        d = self.dim
        lay = self.layout
        p = np.zeros(lay.size)
        p[lay.rot:lay.rot + d * d] = np.eye(d).ravel()
        if self.name == "himmelblau":
            p[lay.minima:lay.size] = HIMMELBLAU_MINIMA.ravel()
        return p

    def _types(self):
        """Separable families: (dimension of the tabulating instance, its coordinate of each
        1-D type, the type of every coordinate). Levy has first / middle / last terms."""
        d = self.dim
        if self.name != "levy":
            return 1, [0], np.zeros(d, dtype=np.int64)
        td = min(d, 3)
        ctype = np.full(d, 1 if td == 3 else 0, dtype=np.int64)
        ctype[0] = 0
        ctype[d - 1] = td - 1
        return td, list(range(td)), ctype

    def _partial(self, td, c):
        canon = Shifted(self.name, td)._canonical()
        return lambda z: _canonical_partials(self.fid, td, canon, c, z)

    @cached_property
    def tables(self):
        if self.name not in ("rastrigin", "styblinski_tang", "levy"):
            return super().tables
        td, coords, ctype = self._types()
        zr = math.sqrt(self.dim) * (self.bound + 1.0) * self.half_width + 1.0
        # Rastrigin has no maxima beyond |z| ≈ 31.4; a grid of 1/50 of the period finds every
        # sign change of h′ (they are ≥ 0.9 apart), bisection then makes them exact
        zr, step = (min(zr, 40.0), 2e-2) if self.name != "levy" else (min(zr, 1000.0), 4e-2)
        rows = [_maxima_1d(self._partial(td, c), -zr, zr, step) for c in coords]
        tab = np.full((len(rows), max(1, max(len(r) for r in rows))), np.inf)
        for k, r in enumerate(rows):
            tab[k, :len(r)] = r
        zs = self.z_star[0]
        gk = np.array([np.searchsorted(r, zs) for r in rows], dtype=np.int64)
        return tab, ctype, gk

    @cached_property
    def _minima_z(self):
        """Candidate local minima of h in z (separable families, and Himmelblau): the product
        of the 1-D minima, or None when there are too many to list."""
        if self.name == "himmelblau":
            return HIMMELBLAU_MINIMA.copy()
        if self.name not in ("rastrigin", "styblinski_tang", "levy"):
            return None
        td, coords, ctype = self._types()
        zr = math.sqrt(self.dim) * 2.0 * self.half_width + 1.0
        if self.name == "rastrigin":
            zr = min(zr, 40.0)
        per_type = [_minima_1d(self._partial(td, c), -zr, zr, 2e-2) for c in coords]
        if math.prod(len(per_type[t]) for t in ctype) > MAX_LISTED_MINIMA:
            return None
        return np.array(list(itertools.product(*(per_type[t] for t in ctype))))

    def size_hint(self):
        himmelblau = self.name == "himmelblau"
        n_params = self.layout.size
        mz = self._minima_z
        if himmelblau or mz is None:
            return n_params, 4 if himmelblau else 1, 4 if himmelblau else 0
        # expected number of candidates inside the domain: coordinate j of a candidate sits at
        # x*_j + (z_j − z*_j), x*_j uniform in ±shift·hw (exact without rotation; a rotation
        # keeps volumes, so it stays a fair estimate)
        hw, a = self.half_width, self.shift * self.half_width
        delta = mz - self.z_star
        lo, hi = np.maximum(-a, -hw - delta), np.minimum(a, hw - delta)
        p = np.clip(hi - lo, 0.0, None) / (2 * a) if a > 0 else \
            ((delta >= -hw) & (delta <= hw)).astype(float)
        return n_params, 1, max(1.0, float(np.prod(p, axis=1).sum()))

    @cached_property
    def _bulk_args(self):
        """What every instance shares: header (with f*), the row's tail (Himmelblau's four
        minima in z), z*, the global minima in z mapped to x (Himmelblau; none: x* itself),
        and x*'s range (low, width)."""
        d = self.dim
        himmelblau = self.name == "himmelblau"
        head = self.header(self.row.f_star(self), 4 if himmelblau else 1, self.rotate)
        tail = HIMMELBLAU_MINIMA.ravel().copy() if himmelblau else np.zeros(0)
        gz = HIMMELBLAU_MINIMA.copy() if himmelblau else np.zeros((0, d))
        a = self.shift * self.half_width
        return head, tail, np.ascontiguousarray(self.z_star, dtype=np.float64), gz, -a, a - (-a)

    @cached_property
    def _listing(self):
        """The candidate minima in z in listing order — z*'s first, then the others by
        distance to it (ties: candidate order), the distance of x = s + Rᵀz to x* for every
        instance — for the families that list minima one by one (not Himmelblau, whose list is
        its four global minima), or None."""
        mz = self._minima_z
        if mz is None or self.name == "himmelblau":
            return None
        d2 = np.sum((mz - self.z_star) ** 2, axis=1)
        order = np.argsort(d2, kind="stable")
        assert d2[order[0]] < 1e-12 < np.append(d2[order[1:]], 1.0)[0], \
            "z* is not among the candidate minima"
        return np.ascontiguousarray(mz[order])

    def _fill(self, seed, lo, lp, gmin):
        """Draws of instance k, pairs numbered from 0: x* (``dim`` uniforms, uniform in
        ``±shift·half_width``), then, with ``rotate``, the ``dim²`` normals (row-major) of the
        Haar rotation R (Householder QR, sign-fixed: Haar on O(dim)). Then ``s = x* − Rᵀz*``."""
        head, tail, zs, gz, lo_x, span_x = self._bulk_args
        k0, k1 = split_seed(seed)
        _bulk().shifted(k0, k1, self.fid, lo, self.dim, lo_x, span_x, self.rotate, zs, gz,
                        head, tail, lp, gmin)

    def _listed_minima(self, seed, index, params, gmin):
        if self.name == "himmelblau":
            return gmin.copy()
        if self._listing is None:
            return None
        return _bulk().shifted_minima(params, gmin[0], self._listing,
                                      self.half_width, self.dim)

    def _minimum(self, bank, k):
        n = len(bank)
        if self.name == "himmelblau" or (k == 0 and self._listing is not None):
            return (bank.gmin[:, k].copy(), None) if 0 <= k < self.n_global else (None, 0)
        if self._listing is None or not 0 <= k < len(self._listing):
            return None, 0                  # (at most one listed minimum per candidate)
        out = np.empty((n, self.dim))
        r = _bulk().shifted_minimum(bank.lp, self._listing,
                                    self.half_width, self.dim, k, out)
        return (out, None) if r < 0 else (None, r)


def _checked_dim(dim):
    return V.integer("dim", dim, low=1, high=1024)


def rastrigin(dim: int = 2, *, rotate: bool = False, shift: float = 0.8, bound: float = 4.0):
    """Rastrigin, ``10d + Σ(zᵢ² − 10 cos 2πzᵢ)``, domain [−5.12, 5.12]^d: a local minimum near
    every integer point; basins labelled exactly (separable in z)."""
    return Shifted("rastrigin", _checked_dim(dim), rotate, shift, bound)


def ackley(dim: int = 2, *, rotate: bool = False, shift: float = 0.8, bound: float = 4.0):
    """Ackley, domain [−32.768, 32.768]^d; basins labelled by polish + integer lattice."""
    return Shifted("ackley", _checked_dim(dim), rotate, shift, bound)


def griewank(dim: int = 2, *, rotate: bool = False, shift: float = 0.8, bound: float = 4.0):
    """Griewank, domain [−600, 600]^d; basins labelled by polish + lattice zᵢ ≈ π√i·kᵢ."""
    return Shifted("griewank", _checked_dim(dim), rotate, shift, bound)


def levy(dim: int = 2, *, rotate: bool = False, shift: float = 0.8, bound: float = 4.0):
    """Levy (standard form, minimum moved to z = 0), domain [−10, 10]^d; separable, exact labels."""
    return Shifted("levy", _checked_dim(dim), rotate, shift, bound)


def styblinski_tang(dim: int = 2, *, rotate: bool = False, shift: float = 0.8,
                    bound: float = 4.0):
    """Styblinski–Tang, ``½Σ(zᵢ⁴ − 16zᵢ² + 5zᵢ)``, domain [−5, 5]^d: exactly 2^d minima,
    f* = −39.16616570·d (the often-quoted −39.16599·d is wrong)."""
    return Shifted("styblinski_tang", _checked_dim(dim), rotate, shift, bound)


def himmelblau(*, rotate: bool = False, shift: float = 0.2, bound: float = 4.0):
    """Himmelblau (2-D), four global minima (all f = 0): success is any of them, and the end
    basin label (0 … 3) records which."""
    return Shifted("himmelblau", 2, rotate, shift, bound)


@dataclass(frozen=True)
class DoubleWell(Family):
    """``U(x) = x₁⁴/4 − x₁²/2 + c·x₁ + ½ Σ_{i≥2} xᵢ²``: minima at the outer roots of
    ``x³ − x + c``, saddle at the middle root; for ``c ≠ 0`` one well is strictly lower
    (``c > 0``: the left one). Deterministic (no random shift): the landscape of the
    first-passage-time validation."""
    dim: int = 1
    tilt: float = 0.1
    half_width: float = 2.0
    bound: float = 4.0
    name: str = "double_well"

    def __post_init__(self):
        _checked_dim(self.dim)
        c_max = 2.0 / (3.0 * math.sqrt(3.0))
        V.real("tilt", self.tilt, low=-c_max, high=c_max, low_open=True, high_open=True)
        if self.tilt == 0:
            raise ValueError("tilt must be non-zero, in (-0.3849, 0) or (0, 0.3849): a strictly "
                             "lower well makes the global minimum unique")
        V.real("half_width", self.half_width, low=0.0, low_open=True)
        V.real("bound", self.bound, low=1.0)

    @property
    def roots(self):
        """(left minimum, saddle, right minimum) in x₁."""
        r = np.sort(np.roots([1.0, 0.0, -1.0, self.tilt]).real)
        return r[0], r[1], r[2]

    def potential(self, x1):
        return 0.25 * x1 ** 4 - 0.5 * x1 ** 2 + self.tilt * x1

    @cached_property
    def tables(self):
        tab = np.array([[self.roots[1]], [np.inf]])
        ctype = np.ones(self.dim, dtype=np.int64)
        ctype[0] = 0
        return tab, ctype, np.array([0 if self.tilt >= 0 else 1, 0], dtype=np.int64)

    def size_hint(self):
        return self.layout.size, 1, 2

    @cached_property
    def _minima(self):
        """(2, dim): the two minima, the global (lower) one first."""
        left, _, right = self.roots
        minima = np.zeros((2, self.dim))
        minima[:, 0] = [left, right] if self.tilt >= 0 else [right, left]
        return minima

    def _fill(self, seed, lo, lp, gmin):
        """No draws: every instance is the same landscape."""
        head = self.header(self.row.f_star(self), 1)
        lp[:] = np.concatenate([head, [self.tilt]])
        gmin[:] = self._minima[:1]

    def _listed_minima(self, seed, index, params, gmin):
        return self._minima.copy()

    def _minimum(self, bank, k):
        if not 0 <= k < 2:
            return None, 0
        return np.repeat(self._minima[k:k + 1], len(bank), axis=0), None


def double_well(dim: int = 1, tilt: float = 0.1, *, half_width: float = 2.0, bound: float = 4.0):
    """The tilted double well (validation landscape); see :class:`DoubleWell`."""
    return DoubleWell(dim, tilt, half_width, bound)


@dataclass(frozen=True)
class GaussianPeaks(Family):
    """Max-set of Gaussians (Gallagher & Yuan 2006; BBOB f21/f22 without T_osz and penalty):

    ``f(x) = −maxₖ wₖ exp(−½ (x − cₖ)ᵀ Aₖ (x − cₖ))``,  ``Aₖ = Rᵀ diag(λₖ) R``.

    Heights: ``w₀ = 10`` (the global peak), the others evenly spaced in [1.1, 9.1]; so the global
    minimum is exactly ``x* = c₀``, ``f* = −10``. Conditioning as BBOB: ``λₖ = diag(Λ^{αₖ})/(αₖ^{¼}·D)``
    with ``Λ^α`` entries ``α^{½(i−1)/(D−1)}`` randomly permuted, ``α₀ = cond``, the others a random
    permutation of ``{cond^{2j/(peaks−2)}, j = 0 … peaks−2}`` (BBOB f21 with cond = 1000). Centres uniform in
    ``[−5, 5]^D`` (the global one in ``[−4, 4]^D``); one rotation R per instance, Haar on O(D)
    (draws: see :meth:`_fill`).
    Local minima: the centres not dominated by another peak.
    """
    dim: int = 2
    peaks: int = 21
    cond: float = 1000.0
    rotate: bool = True
    half_width: float = 5.0
    bound: float = 4.0
    name: str = "gaussian_peaks"

    def __post_init__(self):
        _checked_dim(self.dim)
        V.integer("peaks", self.peaks, low=1, high=10_000)
        V.real("cond", self.cond, low=1.0)
        V.flag("rotate", self.rotate)
        V.real("half_width", self.half_width, low=0.0, low_open=True)
        V.real("bound", self.bound, low=1.0)

    def size_hint(self):
        # listed minima: between 1 and `peaks` centres; 1 keeps the estimate a lower bound
        return self.layout.size, 1, 1

    def _layout_params(self):
        return {"peaks": self.peaks}

    @cached_property
    def _bulk_args(self):
        """What every instance shares: the header, log wₖ (P,), the table of λ rows (P, D) —
        row 0 for α = cond, row 1 + j for the grid's α_j = cond^{2j/(P−2)}, each
        ``α^{½(i−1)/(D−1)} / (α^¼·D)`` — and the centres' ranges (low, width; the global one's).
        Powers and logs by ``math`` on the host, once per family."""
        d, P, hw = self.dim, self.peaks, self.half_width
        w = [10.0] + (np.linspace(1.1, 9.1, P - 1).tolist() if P > 2 else [1.1] * (P - 1))
        logw = np.array([math.log(v) for v in w])
        alphas = [self.cond] + [self.cond ** (2.0 * j / max(P - 2, 1)) for j in range(P - 1)]
        expo = [0.5 * i / max(d - 1, 1) for i in range(d)]
        lamtab = np.array([[a ** e / (a ** 0.25 * d) for e in expo] for a in alphas])
        head = self.header(self.row.f_star(self), 1, self.rotate)
        return head, logw, lamtab, (-hw, hw - (-hw)), (-0.8 * hw, 0.8 * hw - (-0.8 * hw))

    def _fill(self, seed, lo, lp, gmin):
        """Draws of instance k, each quantity from a fresh pair, pairs numbered from 0: the
        centres (P·D uniforms, peak-major; the global one's in ±0.8·half_width, the others in
        ±half_width); P − 1 uniform keys whose stable argsort permutes the conditioning grid
        among peaks 1 … P−1; P·D keys (D per peak) whose stable argsorts permute each peak's Λ
        entries; with ``rotate``, the D² normals (row-major) of the Haar rotation R
        (Householder QR, sign-fixed: Haar on O(D))."""
        head, logw, lamtab, (lo_c, span_c), (lo_0, span_0) = self._bulk_args
        k0, k1 = split_seed(seed)
        _bulk().peaks(k0, k1, self.fid, lo, self.dim, self.peaks, lo_c, span_c, lo_0, span_0,
                      self.rotate, head, logw, lamtab, lp, gmin)

    def _centre_args(self, seed):
        _, _, _, (lo_c, span_c), (lo_0, span_0) = self._bulk_args
        k0, k1 = split_seed(seed)
        return k0, k1, self.fid, lo_c, span_c, lo_0, span_0

    def _listed_minima(self, seed, index, params, gmin):
        k0, k1, fid, lo_c, span_c, lo_0, span_0 = self._centre_args(seed)
        return _bulk().peaks_minima(k0, k1, fid, index, params, self.dim,
                                    self.peaks, lo_c, span_c, lo_0, span_0)

    def _minimum(self, bank, k):
        if k == 0:                          # the global centre is never dominated
            return bank.gmin[:, 0].copy(), None
        if not 0 < k < self.peaks:
            return None, 0
        k0, k1, fid, lo_c, span_c, lo_0, span_0 = self._centre_args(bank.seed)
        out = np.empty((len(bank), self.dim))
        r = _bulk().peaks_minimum(k0, k1, fid, bank.lo, bank.lp, self.dim,
                                  self.peaks, lo_c, span_c, lo_0, span_0, k, out)
        return (out, None) if r < 0 else (None, r)


def gaussian_peaks(dim: int = 2, peaks: int = 21, *, cond: float = 1000.0, rotate: bool = True,
                   half_width: float = 5.0, bound: float = 4.0):
    """Random max-set of Gaussians; see :class:`GaussianPeaks`."""
    return GaussianPeaks(dim, peaks, cond, rotate, half_width, bound)


# BBOB labels: polished by BBOB_POLISH normalised gradient steps (count, length), then the
# cell of x − x_opt on a lattice of spacing BBOB_QUANT (docs/bbob.md)
BBOB_POLISH = (200, 0.01)
BBOB_QUANT = 0.1
# Gallagher's f21/f22 are Gaussian peaks: labelled as gaussian_peaks (polished in z = R x along
# the active peak's gradient with its polish, then the active peak: 0 is the global one)
BBOB_PEAKS = (21, 22)
BBOB_PEAK_POLISH = (150, 0.08)
# COCO's BBOB functions whose gradient carries no information (docs/bbob.md): f7 (step
# ellipsoid, piecewise constant: ∇f = 0 almost everywhere) and f23 (Katsuura: kinks on a 2⁻³³
# grid); a study refuses gradient optimizers on them without the opt-in
BBOB_UNINFORMATIVE = (7, 23)
BBOB_HALF_WIDTH = 5.0            # COCO's search domain [−5, 5]^d


def _bbob_functions():
    return range(1, 25)


def _bbob_data_row(function, dim, instance):
    """The packed kernel row of one COCO instance (kept: instances are pure Python to make)."""
    key = (function, dim, instance)
    row = _BBOB_ROWS.get(key)
    if row is None:
        row = _bulk().bbob_row(function, dim, instance)
        if len(_BBOB_ROWS) >= 512:
            _BBOB_ROWS.pop(next(iter(_BBOB_ROWS)))
        _BBOB_ROWS[key] = row
    return row


_BBOB_ROWS: dict = {}


@dataclass(frozen=True)
class Bbob(Family):
    """COCO's noiseless BBOB function ``function`` (1–24) in ``dim`` dimensions, instance by
    instance equal to COCO's ``bbob`` suite (``swarm.bbob``, ``docs/bbob.md``): the study's
    instance k is COCO's instance ``coco_instance + k`` (the seed plays no part: COCO's
    instances are fixed). Domain [−5, 5]^d (uniform starts), f* = f_opt of each instance, one
    global minimum x_opt. ``allow_uninformative_gradient``: let gradient optimizers run on f7
    and f23, whose gradient carries no information (refused otherwise)."""
    function: int = 1
    dim: int = 2
    coco_instance: int = 1
    allow_uninformative_gradient: bool = False
    bound: float = 4.0

    def __post_init__(self):
        V.integer("function", self.function, low=1, high=24)
        V.integer("dim", self.dim, low=2, high=1024)
        V.integer("instance", self.coco_instance, low=1, high=2 ** 31 - 1)
        V.flag("allow_uninformative_gradient", self.allow_uninformative_gradient)
        V.real("bound", self.bound, low=1.0)

    @property
    def name(self):
        return f"bbob_f{self.function}"

    @property
    def half_width(self):
        return BBOB_HALF_WIDTH

    @property
    def f_opt(self):
        """f_opt of the family's first instance (COCO instance ``coco_instance``)."""
        return float(_bbob_data_row(self.function, self.dim, self.coco_instance)[ids.LP_FSTAR])

    def check_optimizers(self, optimizers):
        """A ValueError when gradient optimizers would run on a function whose gradient
        carries no information (f7, f23) without ``allow_uninformative_gradient=True``."""
        if self.function in BBOB_UNINFORMATIVE and not self.allow_uninformative_gradient \
                and optimizers:
            what = "step ellipsoid: ∇f = 0 almost everywhere" if self.function == 7 else \
                "Katsuura: kinks on a 2^-33 grid, ∇f says nothing at any step size"
            raise ValueError(
                f"landscape bbob_f{self.function} ({what}) gives gradient optimizers no "
                f"information (the optimizers {', '.join(sorted({o.kind for o in optimizers}))} "
                f"follow ∇f); "
                f"pass allow_uninformative_gradient=True to the landscape to run them anyway")

    def _layout_params(self):
        return {"peaks": 101 if self.function == 21 else 21 if self.function == 22 else 0}

    def size_hint(self):
        return self.layout.size, 1, 1

    def _fill(self, seed, lo, lp, gmin):
        """No draws: COCO instance ``coco_instance + lo + r`` for row r (``swarm.bbob``),
        with the registry row's polish and lattice entries in its header."""
        head = self.header(0.0, 1)
        xo, d = self.layout.xopt, self.dim
        for r in range(len(lp)):
            row = _bbob_data_row(self.function, self.dim, self.coco_instance + lo + r)
            lp[r] = row
            for k in (ids.LP_POLISH_STEPS, ids.LP_POLISH_H, ids.LP_QUANT):
                lp[r, k] = head[k]
            gmin[r, 0] = row[xo:xo + d]

    def _listed_minima(self, seed, index, params, gmin):
        return None                         # COCO lists x_opt only

    def _minimum(self, bank, k):
        return (bank.gmin[:, 0].copy(), None) if k == 0 else (None, 0)


def bbob(function: int, dim: int = 2, *, instance: int = 1,
         allow_uninformative_gradient: bool = False, bound: float = 4.0):
    """COCO's BBOB function ``function`` (1–24; ``swarm.bbob.NAMES``) in ``dim`` ≥ 2
    dimensions; the study's instances are COCO's ``instance``, ``instance + 1``, …; see
    :class:`Bbob`."""
    return Bbob(function, dim, instance, allow_uninformative_gradient, bound)


def _bbob_factory(n):
    def make(dim: int = 2, *, instance: int = 1, allow_uninformative_gradient: bool = False,
             bound: float = 4.0):
        return bbob(n, dim, instance=instance,
                    allow_uninformative_gradient=allow_uninformative_gradient, bound=bound)
    make.__name__ = make.__qualname__ = f"bbob_f{n}"
    make.__doc__ = f"COCO's BBOB f{n}: ``bbob({n}, dim, instance=…)`` (:func:`bbob`)."
    return make


BBOB_FACTORIES = {n: _bbob_factory(n) for n in _bbob_functions()}


@dataclass(frozen=True)
class Row:
    """One landscape family of the registry: everything about it in one place. The kernels
    dispatch on ``fid`` from their own tables (``swarm.kernels.families``, ``.labels``,
    ``.layout``), which fail at import without an entry for every id; the tests, parametrised
    from :data:`REGISTRY`, check each row against them, its naive reference and its docs row."""
    name: str
    fid: int                        # kernel id (ids.*)
    factory: object                 # the public constructor, landscapes.<name>
    half_width: float               # the standard domain [−half_width, half_width]^dim
    f_star: object                  # family → its exact f* (the same for every instance)
    f_star_text: str                # f*, as docs/landscapes.md states it
    minima: str                     # what the minima are (Instance.minima_rule)
    label_rule: str                 # kernels.labels.RULE_OF: "table" (separable, exact),
                                    # "lattice" (polish + lattice), "nearest" (polish + nearest
                                    # stored minimum), "peak" (polish + active peak), "bbob"
                                    # (polish + lattice cell of x − x_opt), "bbob_peak"
                                    # (BBOB f21/f22: polish in z + active peak)
    naive: str                      # its reference in tests/naive.py (f; naive.<naive>_grad ∇f;
                                    # BBOB rows: tests/naive_bbob.py's value and gradient)
    layout: object                  # kernels.layout function: (dim, **params) → named offsets
    polish: tuple = (0, 0.0)        # normalised gradient steps before labelling: (count, length)
    quant: float = 1.0              # label lattice spacing (label rule "lattice")
    hessian_diag: str = ""          # its diagonal-Hessian reference in tests/naive.py (the
                                    # kernels': swarm.kernels.hessians, dispatched on fid)


_ROWS = (
    Row("rastrigin", ids.RASTRIGIN, rastrigin, 5.12, lambda fam: 0.0, "0",
        "a minimum near every integer point of z = R(x − s)", "table", "rastrigin",
        _klayout.shifted, hessian_diag="rastrigin_hessian_diag"),
    Row("ackley", ids.ACKLEY, ackley, 32.768, lambda fam: 0.0, "0",
        "minima near the integer lattice of z = R(x − s)", "lattice", "ackley",
        _klayout.shifted, polish=(150, 0.02), quant=1.0, hessian_diag="ackley_hessian_diag"),
    # Griewank's minima sit near zᵢ = π√i·kᵢ (with Σkᵢ even), so its label lattice has spacing π
    Row("griewank", ids.GRIEWANK, griewank, 600.0, lambda fam: 0.0, "0",
        "minima near zᵢ = π√i·kᵢ with Σkᵢ even, z = R(x − s)", "lattice", "griewank",
        _klayout.shifted, polish=(500, 0.1), quant=math.pi,
        hessian_diag="griewank_hessian_diag"),
    Row("levy", ids.LEVY, levy, 10.0, lambda fam: 0.0, "0",
        "per-coordinate minima of the separable Levy terms", "table", "levy", _klayout.shifted,
        hessian_diag="levy_hessian_diag"),
    Row("styblinski_tang", ids.STYBLINSKI_TANG, styblinski_tang, 5.0,
        lambda fam: fam.dim * 0.5 * (ST_ZSTAR ** 4 - 16.0 * ST_ZSTAR ** 2 + 5.0 * ST_ZSTAR),
        "−39.16616570·d",
        "2^dim minima: each zᵢ at −2.903534 or +2.746803 (those inside the domain are listed)",
        "table", "styblinski_tang", _klayout.shifted,
        hessian_diag="styblinski_tang_hessian_diag"),
    Row("himmelblau", ids.HIMMELBLAU, himmelblau, 5.0, lambda fam: 0.0, "0",
        "four global minima", "nearest", "himmelblau", _klayout.LAYOUTS[ids.HIMMELBLAU],
        polish=(600, 0.01), hessian_diag="himmelblau_hessian_diag"),
    Row("double_well", ids.DOUBLE_WELL, double_well, 2.0,
        lambda fam: fam.potential(fam._minima[0, 0]), "U at the lower outer root",
        "the two outer roots of x³ − x + c", "table", "double_well", _klayout.double_well,
        hessian_diag="double_well_hessian_diag"),
    Row("gaussian_peaks", ids.GAUSSIAN_PEAKS, gaussian_peaks, 5.0, lambda fam: -10.0, "−10",
        "the peak centres not dominated by a higher peak", "peak", "gaussian_peaks",
        _klayout.peaks, polish=(150, 0.08), hessian_diag="gaussian_peaks_hessian_diag"),
) + tuple(
    Row(f"bbob_f{n}", ids.BBOB_F1 + n - 1, BBOB_FACTORIES[n], BBOB_HALF_WIDTH,
        lambda fam: fam.f_opt, "f_opt of the COCO instance",
        "x_opt (COCO's best_parameter); local minima not listed",
        "bbob_peak" if n in BBOB_PEAKS else "bbob", "value", _klayout.bbob,
        polish=BBOB_PEAK_POLISH if n in BBOB_PEAKS else BBOB_POLISH, quant=BBOB_QUANT)
    for n in _bbob_functions())
# every landscape family, by name (the kernels' ids: ids.LANDSCAPE_FAMILIES)
REGISTRY: dict[str, Row] = {r.name: r for r in _ROWS}
FAMILIES = {name: row.factory for name, row in REGISTRY.items()}
BY_ID = {row.fid: row for row in _ROWS}
_kdispatch.check("swarm.landscapes.REGISTRY", "landscape family", ids.LANDSCAPE_FAMILIES, BY_ID)


def from_dict(d: dict) -> Family:
    """Rebuild a family from :meth:`Family.to_dict` (used by ``swarm.load``)."""
    d = dict(d)
    name = d.pop("name")
    V.choice("landscape", name, FAMILIES)
    if name in _SHIFTED:
        return Shifted(name=name, **{k: v for k, v in d.items() if k != "name"})
    d.pop("name", None)
    if name.startswith("bbob_f"):
        return Bbob(**d)
    return {"double_well": DoubleWell, "gaussian_peaks": GaussianPeaks}[name](**d)
