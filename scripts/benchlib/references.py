"""NumPy vectorised references for workloads W and P, written the way a careful NumPy user
would: preallocated buffers, in-place ufuncs, one thread (except BLAS products for P), the same
maths as the kernels.

Three kinds, timed by :func:`.measure.time_numpy`: the trajectories alone on whole arrays
(:func:`numpy_adam_rastrigin`, :func:`numpy_nesterov_peaks`), the same in blocks of
``W_BLOCK`` / ``P_BLOCK`` rows that stay in cache (:func:`in_blocks`), and the same
per-trajectory outcomes as swarm's study (:func:`numpy_rastrigin_study`,
:func:`numpy_peaks_study`: start and end basins, f at every step for best f and global hits,
divergence; :class:`_Outcomes`).
"""
from __future__ import annotations

import math

import numpy as np

from swarm.engine import default_tol_x
from swarm.kernels import ids

from .workloads import ADAM, NESTEROV, shift


# NumPy's blocked variants: rows per block, the fastest measured here (2-core Zen 5, N = 10⁶
# for W and 2·10⁴ for P, blocks of 1024 … 262144 rows): every block's state stays in L2
W_BLOCK = 16384
P_BLOCK = 4096


def numpy_adam_rastrigin(x0, s, steps, sigma=0.0, dtype="float64", rng=None, lr=ADAM["lr"],
                         b1=ADAM["b1"], b2=ADAM["b2"], eps=ADAM["eps"], observe=None):
    """NumPy vectorised reference: Adam on Rastrigin h(z) = 10d + Σ(zᵢ² − 10 cos 2πzᵢ),
    z = x − s, for every row of ``x0`` (shape (N, dim)); returns the final positions.

    Written the way a careful NumPy user would (preallocated buffers, in-place ufuncs, one
    thread) and in the same operation order as swarm's kernel, so that without noise the two
    agree to rounding: g = 2z + (20π)·sin(2πz); m ← β1·m + (1−β1)·g;
    v ← β2·v + ((1−β2)·g)·g;
    x ← x − lr·(m/(1−β1ᵗ)) / (√(v/(1−β2ᵗ)) + ε).

    ``observe(t, x, z)``, when given, is called before each update t = 1 … steps and once
    more at the final point (t = steps + 1), as swarm's kernel evaluates f."""
    F = np.dtype(dtype).type
    x = np.array(x0, dtype=F, copy=True)
    s = np.asarray(s, dtype=F)
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    z = np.empty_like(x)
    a = np.empty_like(x)
    g = np.empty_like(x)
    tmp = np.empty_like(x)
    noise = np.empty_like(x) if sigma else None
    if sigma and rng is None:
        rng = np.random.default_rng(0)
    one, two = F(1.0), F(2.0)
    two_pi = F(2.0 * math.pi)
    c20pi = F(20.0) * F(math.pi)
    lr, b1, b2, eps, sig = F(lr), F(b1), F(b2), F(eps), F(sigma)
    c1, c2 = one - b1, one - b2
    for t in range(1, steps + 1):
        np.subtract(x, s, out=z)
        if observe is not None:
            observe(t, x, z)
        np.multiply(z, two_pi, out=a)
        np.sin(a, out=a)
        np.multiply(a, c20pi, out=a)
        np.multiply(z, two, out=g)
        np.add(g, a, out=g)
        if sigma:
            rng.standard_normal(out=noise, dtype=F)
            np.multiply(noise, sig, out=noise)
            np.add(g, noise, out=g)
        bc1 = one - b1 ** F(t)
        bc2 = one - b2 ** F(t)
        np.multiply(m, b1, out=m)
        np.multiply(g, c1, out=tmp)
        np.add(m, tmp, out=m)
        np.multiply(v, b2, out=v)
        np.multiply(g, c2, out=tmp)
        np.multiply(tmp, g, out=tmp)
        np.add(v, tmp, out=v)
        np.divide(v, bc2, out=tmp)
        np.sqrt(tmp, out=tmp)
        np.add(tmp, eps, out=tmp)
        np.divide(m, bc1, out=a)
        np.multiply(a, lr, out=a)
        np.divide(a, tmp, out=a)
        np.subtract(x, a, out=x)
    if observe is not None:
        np.subtract(x, s, out=z)
        observe(steps + 1, x, z)
    return x


class _Outcomes:
    """Per-trajectory outcomes kept the way ``kernels/trajectory.py`` keeps them, for the NumPy
    study references: a row outside the instance's box, or whose f is not finite, is diverged
    (its best f, final f and hit step frozen, its basins ``ids.DIVERGED``); the first
    evaluation with ‖x − x*‖ ≤ tol_x or f − f* ≤ tol_f is the hit (``hit_step`` = the updates
    made before it). ``label(x)`` gives basin labels."""

    def __init__(self, inst, F, x, label, tol_x=None, tol_f=1e-8):
        tol_x = default_tol_x(inst.family) if tol_x is None else tol_x
        self.lo, self.hi = inst.box.astype(F)
        self.gmin = inst.global_minima.astype(F)
        self.fstar, self.tol2, self.tol_f = F(inst.f_star), F(tol_x) ** 2, F(tol_f)
        self.label = label
        self.alive = self._in_box(x)
        self.start_basin = np.where(self.alive, label(x), ids.DIVERGED)
        self.best = np.full(x.shape[0], np.inf, F)
        self.final = np.full(x.shape[0], np.nan, F)
        self.hit = np.full(x.shape[0], ids.NEVER, np.int64)

    def _in_box(self, x, alive=None):
        """Rows of x inside the box (NaN is not), and-ed into ``alive`` when given; a column
        at a time, without (N, dim) temporaries."""
        alive = np.ones(x.shape[0], bool) if alive is None else alive
        for j in range(x.shape[1]):
            alive &= x[:, j] >= self.lo[j]
            alive &= x[:, j] <= self.hi[j]
        return alive

    def observe(self, step, x, f):
        """Evaluation ``step`` (1, 2, …) at x with values f. In place, as a careful NumPy user
        would write it."""
        alive = self._in_box(x, self.alive)
        alive &= np.isfinite(f)
        np.copyto(self.final, f, where=alive)
        np.minimum(self.best, f, out=self.best, where=alive)
        on = f - self.fstar <= self.tol_f
        for c in self.gmin:
            on |= _row_sum((x - c) ** 2) <= self.tol2
        on &= alive
        on &= self.hit == ids.NEVER
        np.copyto(self.hit, step - 1, where=on)

    def result(self, x) -> dict:
        """The outcome arrays under swarm's names, labelling the end points x."""
        return {"start_basin": self.start_basin,
                "end_basin": np.where(self.alive, self.label(x), ids.DIVERGED),
                "hit_step": self.hit, "best_f": self.best, "final_f": self.final,
                "diverged": ~self.alive}


def _row_sum(a):
    """Σⱼ a[:, j], column by column: for a few columns, 20× faster than ``a.sum(axis=1)``."""
    out = a[:, 0].copy()
    for j in range(1, a.shape[1]):
        out += a[:, j]
    return out


def _concat(parts) -> dict:
    return {k: np.concatenate([o[k] for o in parts]) for k in parts[0]}


def in_blocks(ref, x0, block, *args, **kw):
    """``ref(rows, *args, **kw)`` on blocks of ``block`` rows of x0 in turn, results
    concatenated: each block's state stays in cache for all its steps (the noise stream, drawn
    block after block from one generator, differs from an unblocked call's)."""
    parts = [ref(x0[i:i + block], *args, **kw) for i in range(0, x0.shape[0], block)]
    return np.concatenate(parts) if isinstance(parts[0], np.ndarray) else _concat(parts)


def rastrigin_labels(inst, F):
    """Basin labels of an unrotated separable instance as the kernels define them: per
    coordinate the number of tabulated 1-D maxima below zᵢ = xᵢ − sᵢ, relative to the global
    cell; 0 when every cell is the global one, else 1 + the cells as base-1024 digits
    (dim ≤ 6)."""
    tab, ctype, gk = inst.family.tables
    if inst.dim > 6:
        raise ValueError("rastrigin_labels: dim ≤ 6 only (the kernels hash the cells beyond)")
    s = shift(inst).astype(F)
    rows = [tab[r][np.isfinite(tab[r])].astype(F) for r in range(tab.shape[0])]

    def label(x):
        code = np.zeros(x.shape[0], np.int64)
        glob = np.ones(x.shape[0], bool)
        for i in range(inst.dim):
            r = ctype[i]
            cell = np.searchsorted(rows[r], x[:, i] - s[i], side="left") - gk[r]
            glob &= cell == 0
            code = code * 1024 + (cell + 512)
        return np.where(glob, 0, code + 1)
    return label


def numpy_rastrigin_study(x0, inst, steps, sigma=0.0, dtype="float64", rng=None, **adam) -> dict:
    """NumPy reference for workload W computing swarm's per-trajectory outcomes (start and
    end basins, best f, hits, divergence; :class:`_Outcomes`): :func:`numpy_adam_rastrigin`
    with f = 10d + Σ(zᵢ² − 10 cos 2πzᵢ) evaluated at each step."""
    F = np.dtype(dtype).type
    s = shift(inst)
    x0 = np.asarray(x0, dtype=F)
    out = _Outcomes(inst, F, x0, rastrigin_labels(inst, F))
    ten, two_pi, base = F(10.0), F(2.0 * math.pi), F(10.0 * inst.dim)
    c, zz = np.empty_like(x0), np.empty_like(x0)

    def observe(t, x, z):
        np.multiply(z, two_pi, out=c)
        np.cos(c, out=c)
        np.multiply(c, -ten, out=c)
        np.multiply(z, z, out=zz)
        np.add(c, zz, out=c)
        f = _row_sum(c)
        f += base
        out.observe(t, x, f)
    x = numpy_adam_rastrigin(x0, s, steps, sigma, dtype, rng, observe=observe, **adam)
    return out.result(x)


def rastrigin_f(x, s):
    z = np.asarray(x, dtype=np.float64) - s
    return 10.0 * z.shape[1] + np.sum(z * z - 10.0 * np.cos(2.0 * math.pi * z), axis=1)


def unpack_peaks(inst):
    """(R, log w, ỹ, λ) from the packed parameters of a GaussianPeaks instance:
    params = [header, P, R row-major (D·D), P rows of (log wₖ, ỹₖ = R cₖ (D), λₖ (D))], at the
    offsets of ``kernels.layout.peaks``."""
    p, d = inst.params, inst.dim
    lay = inst.family.layout
    P = int(p[lay.count])
    R = p[lay.rot:lay.rot + d * d].reshape(d, d)
    rows = p[lay.first:lay.first + P * lay.stride].reshape(P, lay.stride)
    return (R.copy(), rows[:, lay.logw].copy(), rows[:, lay.centre:lay.centre + d].copy(),
            rows[:, lay.lam:lay.lam + d].copy())


class _PeaksNumpy:
    """Workload P's instance as NumPy arrays in one dtype, for the vectorised references:
    log-heights of all peaks at once by BLAS products, using
    qₖ = Σⱼ λₖⱼ (yⱼ − ỹₖⱼ)² = (y²)·λₖᵀ − 2 y·(λₖ ỹₖ)ᵀ + Σⱼ λₖⱼ ỹₖⱼ²."""

    def __init__(self, inst, dtype):
        F = self.F = np.dtype(dtype).type
        self.R, self.logw, self.yc, self.lam = (a.astype(F) for a in unpack_peaks(inst))
        self.Rt = np.ascontiguousarray(self.R.T)
        self.lam_t = np.ascontiguousarray(self.lam.T)
        self.ly_t = np.ascontiguousarray((-2 * self.lam * self.yc).T)
        self.lyy = np.sum(self.lam * self.yc * self.yc, axis=1)
        self.half = F(0.5)

    def log_heights(self, y):
        """(n, P): log wₖ − qₖ/2 at the rows of y = x Rᵀ."""
        return self.logw - self.half * ((y * y) @ self.lam_t + y @ self.ly_t + self.lyy)

    def value_grad(self, x, rows):
        """f = −wₖ eₖ and ∇f = Rᵀ(wₖ eₖ Λₖ (y − ỹₖ)) for the active peak k (argmax of the
        log-heights), at the rows of x; ``rows`` = arange(len(x))."""
        y = x @ self.Rt
        lv = self.log_heights(y)
        k = np.argmax(lv, axis=1)
        e = np.exp(lv[rows, k])
        gy = (e[:, None] * self.lam[k]) * (y - self.yc[k])
        return -e, gy @ self.R

    def label(self, x, steps, h):
        """Basin labels as the kernels define them: ``steps`` normalised steps of length h
        along −∇f, done in y = R x (R is orthogonal, and the factor wₖ eₖ drops out of the
        direction), then the active peak."""
        y = x @ self.Rt
        for _ in range(steps):
            k = np.argmax(self.log_heights(y), axis=1)
            d = self.lam[k] * (y - self.yc[k])
            n = np.sqrt(np.einsum("ij,ij->i", d, d))
            y -= np.where(n > 0, self.F(h) / np.where(n > 0, n, 1), 0)[:, None] * d
        return np.argmax(self.log_heights(y), axis=1)


def _nesterov_update(x, b, g, lr, mu):
    """torch-form Nesterov in place: b ← μb + g, x ← x − lr·(g + μb) (g is overwritten)."""
    b *= mu
    b += g
    g += mu * b
    g *= lr
    x -= g


def numpy_nesterov_peaks(x0, inst, steps, sigma=0.0, dtype="float64", rng=None,
                         lr=NESTEROV["lr"], mu=NESTEROV["momentum"], observe=None):
    """NumPy vectorised reference for workload P's trajectories: Nesterov (torch form
    b ← μb + g, x ← x − lr·(g + μb)) on f(x) = −maxₖ wₖ exp(−½ Σⱼ λₖⱼ (yⱼ − ỹₖⱼ)²), y = R x,
    with ∇f = Rᵀ(w e λ (y − ỹ)) for the active peak (log-domain argmax of log wₖ − qₖ/2).
    Rows of ``x0`` (N, D) as whole arrays (:func:`in_blocks` for blocks); one thread
    except for the BLAS matrix products (y = x Rᵀ, g = gy R). Returns final positions.
    Only the positions: no outcomes (see :func:`numpy_peaks_study`). ``observe(t, x, f)``,
    when given, is called before each update t = 1 … steps and once more at the final point
    (t = steps + 1), as swarm's kernel evaluates f."""
    pk = _PeaksNumpy(inst, dtype)
    F = pk.F
    x = np.array(x0, dtype=F, copy=True)
    b = np.zeros_like(x)
    if sigma and rng is None:
        rng = np.random.default_rng(0)
    lr, mu, sig = F(lr), F(mu), F(sigma)
    rows = np.arange(x.shape[0])
    for t in range(1, steps + 1):
        f, g = pk.value_grad(x, rows)
        if observe is not None:
            observe(t, x, f)
        if sigma:
            g += sig * rng.standard_normal(g.shape, dtype=F)
        _nesterov_update(x, b, g, lr, mu)
    if observe is not None:
        observe(steps + 1, x, pk.value_grad(x, rows)[0])
    return x


def numpy_peaks_study(x0, inst, steps, sigma=0.0, dtype="float64", rng=None, **nesterov) -> dict:
    """NumPy vectorised reference for workload P computing what a swarm study computes for
    each trajectory (:class:`_Outcomes`, as ``kernels/trajectory.py``): start basin (polished
    label), box check, f, best f, final f and first global hit at each of the ``steps`` + 1
    evaluations of :func:`numpy_nesterov_peaks`, end basin; returns the outcome arrays under
    swarm's names."""
    pk = _PeaksNumpy(inst, dtype)
    p = inst.params
    npol, h = int(p[ids.LP_POLISH_STEPS]), p[ids.LP_POLISH_H]
    x0 = np.asarray(x0, dtype=pk.F)
    with np.errstate(all="ignore"):
        out = _Outcomes(inst, pk.F, x0, lambda y: pk.label(y, npol, h))
        x = numpy_nesterov_peaks(x0, inst, steps, sigma, dtype, rng, observe=out.observe,
                                 **nesterov)
        return out.result(x)
