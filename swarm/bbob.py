"""COCO's BBOB instances, bit for bit: the legacy BBOB-2009 generators and the data of each
of the 24 noiseless functions, in NumPy/Python, without importing ``cocoex``.

Sources (COCO, ``code-experiments/src/``; read in the amalgamated ``coco.c`` of the
``coco-experiment`` 2.8.2 sdist, which holds the same files):

- ``suite_bbob_legacy_code.c``: ``bbob2009_unif`` (:func:`unif`), ``bbob2009_gauss``
  (:func:`gauss`), ``bbob2009_compute_xopt`` (:func:`xopt`), ``bbob2009_compute_fopt``
  (:func:`fopt`), ``bbob2009_compute_rotation`` (:func:`rotation`);
- ``suite_bbob.c`` (``coco_get_bbob_problem``): the seeding rule (:func:`rseed`) and which
  constructor builds which function;
- ``f_*.c`` (the ``*_bbob_problem_allocate`` constructors and ``*_raw`` functions) and the
  ``transform_vars_*.c`` / ``transform_obj_*.c`` files they chain.

Seeding rule. Function ``f`` of instance ``i`` draws from ``rseed = f + 10000 * i``, except
f4 (Büche-Rastrigin), which uses the seed of f3 (``3 + 10000 i``), and f18, which uses the seed
of f17 (``17 + 10000 i``) — so f3/f4 share x_opt and f17/f18 share x_opt and rotations.
Rotations are ``rotation(rseed + 1000000)`` (COCO's ``rot1``, applied first) and
``rotation(rseed)`` (``rot2``); a few functions draw differently (f9, f19, f21, f22 rotate with
``rotation(rseed)``; f12 takes x_opt from ``rseed + 1000000``; f20, f24 and Gallagher's peaks
have their own rules, see :func:`instance_data`). f_opt is ``fopt(function, instance)``:
``round(100 * 100 * g1 / g2) / 100`` clipped to [-1000, 1000], with ``g1, g2`` the Gaussian
draws of seeds ``s + 10000 i`` and ``s + 10000 i + 1``, ``s`` = 3 for f4, 17 for f18 and the
function number otherwise.

Bit-exactness. The generators run in Python with ``math`` (the C library's ``log``, ``cos``,
``sqrt``, ``pow``, as COCO's C code calls them; NumPy's vectorised transcendental functions
may differ in the last bit), and every sum COCO accumulates in a loop is accumulated in the
same order (``np.cumsum``, which adds left to right, never pairwise). COCO's own C code has
fixed buffers that stop it at ``dim * dim < 2000`` (dim <= 44); the definitions here allow any
dim >= 2.
"""
import math

import numpy as np

from swarm import _validate

FUNCTIONS = range(1, 25)
DIMENSIONS = (2, 3, 5, 10, 20, 40)      # the dimensions of COCO's bbob suite

NAMES = {
    1: "sphere", 2: "ellipsoid", 3: "rastrigin", 4: "bueche_rastrigin", 5: "linear_slope",
    6: "attractive_sector", 7: "step_ellipsoid", 8: "rosenbrock", 9: "rosenbrock_rotated",
    10: "ellipsoid_rotated", 11: "discus", 12: "bent_cigar", 13: "sharp_ridge",
    14: "different_powers", 15: "rastrigin_rotated", 16: "weierstrass", 17: "schaffers_f7",
    18: "schaffers_f7_ill", 19: "griewank_rosenbrock", 20: "schwefel", 21: "gallagher_101",
    22: "gallagher_21", 23: "katsuura", 24: "lunacek_bi_rastrigin",
}

_ROT1 = 1000000                      # COCO's offset of the first rotation's seed


# ------------------------------------------------------------------ validation

def _function(function):
    return _validate.integer("function", function, low=1, high=24)


def _dim(dim):
    return _validate.integer("dim", dim, low=2)


def _instance(instance):
    return _validate.integer("instance", instance, low=1)


def _count(n):
    return _validate.integer("n", n, low=0)


def _seed(seed):
    return _validate.integer("seed", seed)


# ------------------------------------------------------------------ generators

def unif(n, seed):
    """``bbob2009_unif``: n uniform numbers in (0, 1] from COCO's legacy generator (Park-Miller
    minimal standard, 16807 mod 2^31 - 1, shuffled through a 32-entry table), float64."""
    n, seed = _count(n), _seed(seed)
    s = -seed if seed < 0 else seed
    if s < 1:
        s = 1
    table = [0] * 32
    for i in range(39, -1, -1):
        tmp = int(math.floor(s / 127773.0))
        s = 16807 * (s - tmp * 127773) - 2836 * tmp
        if s < 0:
            s += 2147483647
        if i < 32:
            table[i] = s
    rand = table[0]
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        tmp = int(math.floor(s / 127773.0))
        s = 16807 * (s - tmp * 127773) - 2836 * tmp
        if s < 0:
            s += 2147483647
        tmp = int(math.floor(rand / 67108865.0))
        rand = table[tmp]
        table[tmp] = s
        r = rand / 2.147483647e9
        out[i] = 1e-99 if r == 0.0 else r
    return out


def gauss(n, seed):
    """``bbob2009_gauss``: n standard normal numbers (Box-Muller on ``unif(2 n, seed)``: the
    first n uniforms give the radii, the last n the angles), float64."""
    n, seed = _count(n), _seed(seed)
    u = unif(2 * n, seed).tolist()
    two_pi = 2 * math.pi
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        g = math.sqrt(-2 * math.log(u[i])) * math.cos(two_pi * u[n + i])
        out[i] = 1e-99 if g == 0.0 else g
    return out


def rseed(function, instance):
    """The seed of ``function`` (1..24) in ``instance`` (>= 1): ``function + 10000 instance``,
    with f4 taking f3's and f18 taking f17's (``suite_bbob.c``)."""
    function, instance = _function(function), _instance(instance)
    base = {4: 3, 18: 17}.get(function, function)
    return base + 10000 * instance


def xopt(seed, dim):
    """``bbob2009_compute_xopt``: the generic x_opt, ``8 floor(1e4 u) / 1e4 - 4`` for
    ``u = unif(dim, seed)`` (a 1e-4/8 grid in [-4, 4)), 0 replaced by -1e-5."""
    seed, dim = _seed(seed), _validate.integer("dim", dim, low=1)
    u = unif(dim, seed).tolist()
    out = np.empty(dim, dtype=np.float64)
    for i in range(dim):
        v = 8 * math.floor(1e4 * u[i]) / 1e4 - 4
        out[i] = -1e-5 if v == 0.0 else v
    return out


def fopt(function, instance):
    """``bbob2009_compute_fopt``: f_opt of ``function`` in ``instance``, a multiple of 0.01 in
    [-1000, 1000]."""
    function, instance = _function(function), _instance(instance)
    s = {4: 3, 18: 17}.get(function, function) + 10000 * instance
    g1 = gauss(1, s)[0]
    g2 = gauss(1, s + 1)[0]
    v = math.floor(100.0 * 100.0 * g1 / g2 + 0.5) / 100.0
    return min(1000.0, max(-1000.0, v))


def _seqsum(a, axis=-1):
    """Sum along ``axis`` left to right, as a C loop ``s = 0; s += a[k]`` does."""
    a = np.asarray(a, dtype=np.float64)
    if a.shape[axis] == 0:
        return np.zeros(np.delete(a.shape, axis % a.ndim))
    return np.take(np.cumsum(a, axis=axis), -1, axis=axis)


def rotation(seed, dim):
    """``bbob2009_compute_rotation``: a dim x dim orthogonal matrix B (``B[row, column]``),
    Gram-Schmidt on the columns of the matrix filled column by column with
    ``gauss(dim * dim, seed)``."""
    seed, dim = _seed(seed), _validate.integer("dim", dim, low=1)
    g = gauss(dim * dim, seed)
    b = g.reshape(dim, dim).T.copy()          # B[i][j] = g[j * dim + i]
    for i in range(dim):
        for j in range(i):
            prod = _seqsum(b[:, i] * b[:, j])
            b[:, i] -= prod * b[:, j]
        prod = _seqsum(b[:, i] * b[:, i])
        b[:, i] /= math.sqrt(prod)
    return b


def _exponents(dim):
    """``(double) i / ((double) dim - 1.0)`` for i = 0..dim-1."""
    return [i / (dim - 1.0) for i in range(dim)]


def _r_lambda_q(r1, lam, r2):
    """``M[i][j] = sum_k r1[i][k] * lam[k] * r2[k][j]`` accumulated over k in order, each term
    ``(r1[i][k] * lam[k]) * r2[k][j]`` (the loops of f6, f13, f15, f16, f23)."""
    terms = (r1 * lam[None, :])[:, :, None] * r2[None, :, :]     # [i, k, j]
    return _seqsum(terms, axis=1)


# ------------------------------------------------------------------ instances

def instance_data(function, dim, instance):
    """Everything that ``function``'s instance ``instance`` in ``dim`` dimensions needs,
    equal to COCO's bit for bit, as a dict of floats and float64 arrays.

    Always: ``function``, ``dim``, ``instance``, ``rseed``, ``fopt``, ``xopt`` (the global
    minimiser; COCO's ``best_parameter``) and ``name``. Matrices are ``M[row, column]`` and act
    as ``z = M @ x``. Per function (``s`` = rseed, ``R1 = rotation(s + 1000000)``,
    ``R2 = rotation(s)``, ``e_i = i / (dim - 1)``):

    - f1: ``xopt`` only.
    - f2: ``weights`` = 1e6^e_i.
    - f3: ``lam`` = 10^(e_i / 2) (as ``pow(10, 0.5 i / (dim - 1))``), ``beta`` = 0.2.
    - f4: ``xopt`` (the generic one with its even-indexed (0-based) entries made positive),
      ``scales`` = sqrt(10)^e_i (times 10 at run time where z_i > 0 and i is even),
      ``penalty`` = 100.
    - f5: ``xopt`` = 5 sign(generic x_opt), ``slopes`` = sign * 10^e_i (as ``pow(sqrt(100),
      e_i)``).
    - f6: ``shift`` (the generic x_opt), ``M`` = R1 diag(sqrt(10)^e_i) R2.
    - f7: ``R`` = R1, ``Q`` = R2, ``c1`` = sqrt(10^e_i) (as ``sqrt(pow(100 / 10, e_i))``),
      ``weights`` = 100^e_i, ``penalty`` = 1.
    - f8: ``xopt`` = 0.75 generic, ``factor`` = max(1, sqrt(dim) / 8).
    - f9: ``R`` = R2 (rotation(s)), ``M`` = factor R (elementwise, exact), ``b`` = 0.5,
      ``factor``; ``xopt`` = R^T 1 / (2 factor) (column sums in order).
    - f10: ``R`` = R1, ``weights`` = 1e6^e_i.   f11: ``R`` = R1.
    - f12: ``xopt`` = xopt(s + 1000000, dim), ``R`` = R1, ``beta`` = 0.5.
    - f13: ``M`` = R1 diag(sqrt(10)^e_i) R2.   f14: ``R`` = R1, ``exponents`` = 2 + 4 e_i.
    - f15: ``R`` = R1, ``M`` = R1 diag(sqrt(10)^e_i) R2, ``beta`` = 0.2.
    - f16: ``R`` = R1, ``M`` = R1 diag((1/sqrt(100))^e_i) R2, ``ak`` = 0.5^k, ``bk`` = 3^k
      (k = 0..11), ``f0`` = sum ak cos(2 pi bk / 2), ``penalty`` = 10 / dim.
    - f17/f18: ``R`` = R1, ``M`` = diag(sqrt(c)^e_i) R2 (c = 10 / 1000), ``beta`` = 0.5,
      ``penalty`` = 10.
    - f19: ``R`` = R2, ``M`` = scales R (exact), ``scales`` = max(1, sqrt(dim) / 8),
      ``b`` = 0.5, ``facftrue`` = 10; ``xopt`` = M^T 1 / (2 scales).
    - f20: ``shift`` = ±4.2096874637 / 2 (the documented x_opt; sign from ``unif(dim, s)``
      < 0.5 → -), ``signs`` (the same signs, the x̂ flip), ``lam`` = 10^(e_i / 2); ``xopt`` is
      COCO's ``best_parameter``, ±420.96874633 / 200 (computed as COCO carries it back through
      the transformations), about 2e-10 from |shift|: neither is exactly the minimiser, and
      f(xopt) - fopt is about 1e-15, not 0.
    - f21/f22: ``R`` = R2, ``peaks`` (101 / 21), ``y`` = the peak centres in rotated space,
      shape (dim, peaks), column 0 the optimum's (times 0.8 after the sum), ``scales`` =
      the diagonal of each peak's conditioning, shape (peaks, dim), ``heights`` (10, then
      1.1 .. 9.1 evenly), ``penalty`` = 1.
    - f23: ``M`` = R1 diag(10^e_i) R2 (as ``pow(sqrt(100), e_i)``), ``penalty`` = 1.
    - f24: ``xopt`` = ±1.25 (sign of ``gauss(dim, s)``), ``R`` = R1, ``Q`` = R2, ``lam`` =
      10^e_i (as ``pow(sqrt(100), e_i)``), ``mu0`` = 2.5, ``d`` = 1, ``s``, ``mu1``.
    """
    function, dim, instance = _function(function), _dim(dim), _instance(instance)
    s = rseed(function, instance)
    d = {"function": function, "dim": dim, "instance": instance, "rseed": s,
         "fopt": fopt(function, instance), "name": NAMES[function]}
    e = _exponents(dim)
    x0 = None if function in (9, 12, 19, 20, 21, 22) else xopt(s, dim)

    def rot1():
        return rotation(s + _ROT1, dim)

    def rot2():
        return rotation(s, dim)

    if function == 1:
        d["xopt"] = x0
    elif function == 2:
        d["xopt"] = x0
        d["weights"] = np.array([math.pow(1e6, ei) for ei in e])
    elif function == 3:
        d["xopt"] = x0
        d["lam"] = np.array([math.pow(10.0, 0.5 * i / (dim - 1.0)) for i in range(dim)])
        d["beta"] = 0.2
    elif function == 4:
        x = x0.copy()
        x[0::2] = np.abs(x[0::2])
        d["xopt"] = x
        d["scales"] = np.array([math.pow(math.sqrt(10.0), ei) for ei in e])
        d["penalty"] = 100.0
    elif function == 5:
        base = [math.pow(math.sqrt(100.0), ei) for ei in e]
        d["xopt"] = np.where(x0 < 0.0, -5.0, 5.0)
        d["slopes"] = np.array([b if xi > 0.0 else -b for b, xi in zip(base, x0)])
    elif function == 6:
        d["xopt"] = x0
        d["shift"] = x0
        lam = np.array([math.pow(math.sqrt(10.0), 1.0 * k / (dim - 1.0)) for k in range(dim)])
        d["M"] = _r_lambda_q(rot1(), lam, rot2())
    elif function == 7:
        d["xopt"] = x0
        d["R"], d["Q"] = rot1(), rot2()
        d["c1"] = np.array([math.sqrt(math.pow(100.0 / 10.0, i / float(dim - 1)))
                            for i in range(dim)])
        d["weights"] = np.array([math.pow(100.0, ei) for ei in e])
        d["penalty"] = 1.0
    elif function == 8:
        d["xopt"] = x0 * 0.75
        d["factor"] = max(1.0, math.sqrt(dim) / 8.0)
    elif function == 9:
        r = rot2()
        factor = max(1.0, math.sqrt(dim) / 8.0)
        d["R"], d["factor"], d["b"] = r, factor, 0.5
        d["M"] = factor * r
        d["xopt"] = _seqsum(r, axis=0) / (2.0 * factor)
    elif function == 10:
        d["xopt"] = x0
        d["R"] = rot1()
        d["weights"] = np.array([math.pow(1e6, ei) for ei in e])
    elif function == 11:
        d["xopt"] = x0
        d["R"] = rot1()
    elif function == 12:
        d["xopt"] = xopt(s + _ROT1, dim)
        d["R"] = rot1()
        d["beta"] = 0.5
    elif function == 13:
        d["xopt"] = x0
        lam = np.array([math.pow(math.sqrt(10.0), 1.0 * k / (dim - 1.0)) for k in range(dim)])
        d["M"] = _r_lambda_q(rot1(), lam, rot2())
    elif function == 14:
        d["xopt"] = x0
        d["R"] = rot1()
        d["exponents"] = np.array([2.0 + (4.0 * i) / (dim - 1.0) for i in range(dim)])
    elif function == 15:
        d["xopt"] = x0
        r1 = rot1()
        lam = np.array([math.pow(math.sqrt(10.0), 1.0 * k / (dim - 1.0)) for k in range(dim)])
        d["R"], d["M"], d["beta"] = r1, _r_lambda_q(r1, lam, rot2()), 0.2
    elif function == 16:
        d["xopt"] = x0
        r1 = rot1()
        lam = np.array([math.pow(1.0 / math.sqrt(100.0), 1.0 * k / (dim - 1.0))
                        for k in range(dim)])
        d["R"], d["M"] = r1, _r_lambda_q(r1, lam, rot2())
        ak = [math.pow(0.5, float(k)) for k in range(12)]
        bk = [math.pow(3.0, float(k)) for k in range(12)]
        f0 = 0.0
        for a, b in zip(ak, bk):
            f0 += a * math.cos(2 * math.pi * b * 0.5)
        d["ak"], d["bk"], d["f0"] = np.array(ak), np.array(bk), f0
        d["penalty"] = 10.0 / dim
    elif function in (17, 18):
        d["xopt"] = x0
        cond = 10.0 if function == 17 else 1000.0
        lam = np.array([math.pow(math.sqrt(cond), 1.0 * i / (dim - 1.0)) for i in range(dim)])
        d["R"] = rot1()
        d["M"] = rot2() * lam[:, None]
        d["beta"], d["penalty"], d["conditioning"] = 0.5, 10.0, cond
    elif function == 19:
        r = rot2()
        scales = max(1.0, math.sqrt(dim) / 8.0)
        m = r * scales
        d["R"], d["M"], d["scales"], d["b"], d["facftrue"] = r, m, scales, 0.5, 10.0
        d["xopt"] = _seqsum(m, axis=0) / (2.0 * scales)
    elif function == 20:
        u = unif(dim, s)
        signs = np.where(u < 0.5, -1.0, 1.0)
        shift = signs * 0.5 * 4.2096874637
        # COCO's best_parameter: Schwefel's 420.96874633 carried back through the chain
        # (scale 100, shift -2|shift|, shift 2|shift|, scale 2, x̂ sign): ~2e-10 from |shift|
        best = np.empty(dim)
        for i in range(dim):
            v = 420.96874633 / 100.0
            v += -2 * abs(shift[i])
            v += 2 * abs(shift[i])
            v /= 2.0
            best[i] = -v if u[i] < 0.5 else v
        d["xopt"], d["shift"], d["signs"] = best, shift, signs
        d["lam"] = np.array([math.pow(10.0, 0.5 * i / (dim - 1.0)) for i in range(dim)])
    elif function in (21, 22):
        d.update(_gallagher(s, dim, 101 if function == 21 else 21))
    elif function == 23:
        d["xopt"] = x0
        lam = np.array([math.pow(math.sqrt(100.0), 1.0 * k / (dim - 1.0)) for k in range(dim)])
        d["M"] = _r_lambda_q(rot1(), lam, rot2())
        d["penalty"] = 1.0
    elif function == 24:
        mu0, dd = 2.5, 1.0
        sv = 1.0 - 0.5 / (math.sqrt(float(dim + 20)) - 4.1)
        g = gauss(dim, s)
        d["xopt"] = np.where(g < 0.0, -0.5 * mu0, 0.5 * mu0)
        d["R"], d["Q"] = rot1(), rot2()
        d["lam"] = np.array([math.pow(math.sqrt(100.0), i / float(dim - 1)) for i in range(dim)])
        d["mu0"], d["d"], d["s"] = mu0, dd, sv
        d["mu1"] = -math.sqrt((mu0 * mu0 - dd) / sv)
        d["penalty"] = 1e4
    return d


def _gallagher(s, dim, peaks):
    """f21 (101 peaks) and f22 (21 peaks), ``f_gallagher_bbob_problem_allocate``."""
    maxcondition = 1000.0
    if peaks == 101:
        maxcondition1, b, c = math.sqrt(1000.0), 10.0, 5.0
    else:
        maxcondition1, b, c = 1000.0, 9.8, 4.9
    r = rotation(s, dim)
    u = unif(peaks - 1, s)
    # qsort by value (the values are distinct, so the order is the stable argsort's)
    order = np.argsort(u, kind="stable")
    cond = [maxcondition1] + [math.pow(maxcondition, float(order[i - 1]) / float(peaks - 2))
                              for i in range(1, peaks)]
    heights = [10.0] + [float(i - 1) / float(peaks - 2) * (9.1 - 1.1) + 1.1
                        for i in range(1, peaks)]
    scales = np.empty((peaks, dim))
    for i in range(peaks):
        ui = unif(dim, s + 1000 * i)
        oi = np.argsort(ui, kind="stable")
        for j in range(dim):
            scales[i, j] = math.pow(cond[i], float(oi[j]) / float(dim - 1) - 0.5)
    u = unif(dim * peaks, s)
    pts = b * u.reshape(peaks, dim) - c                  # [peak, k]
    y = _seqsum(r[:, None, :] * pts[None, :, :], axis=2)  # [i, peak]
    y[:, 0] *= 0.8
    return {"xopt": 0.8 * (b * u[:dim] - c), "R": r, "peaks": peaks, "y": y,
            "scales": scales, "heights": np.array(heights), "penalty": 1.0}
