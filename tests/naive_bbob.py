"""Plain NumPy references for COCO's 24 noiseless BBOB functions, from ``swarm.bbob``'s
``instance_data`` and written from COCO's C code (``f_*.c``, ``transform_*.c``, composed as the
``*_bbob_problem_allocate`` constructors chain them; see ``swarm/bbob.py``'s docstring).

``value(data, x)``: x one point (dim,) or rows of points (m, dim); returns a float or (m,).
``gradient(data, x)``: the closed-form gradient, same shape as x, almost everywhere:

- f5 (linear slope): -slopes where x_i xopt_i < 25, 0 beyond (non-differentiable on
  x_i = ±5 towards x_opt's sign).
- f6, f13: not differentiable where a coordinate of z = M (x - x_opt) is 0 (f6's sector
  border; f13's ridge z_2..z_n = 0); f14 where z_i = 0 with exponent < 1 never happens (every
  exponent is >= 2), so f14 is smooth except at x_opt (sqrt of 0).
- f4, f5, f16, f17, f18, f21, f22, f23: the boundary penalty max(0, |x_i| - 5)^2 is once
  differentiable.
- T_osz (f2, f3, f4, f10, f11, f15, f16, f21, f22's output) and T_asy (f3, f12, f15, f17,
  f18) are not differentiable at 0 (T_osz's slope at 0 is unbounded); the brs factor of f4
  jumps at z_i = 0.
- f7 (step ellipsoid): piecewise constant after rounding: the gradient is 0 almost everywhere
  (only the penalty and the ``|z_1| 1e-4`` floor contribute) — it carries no information,
  ``gradient`` returns it as COCO's definition gives it (penalty term plus, where the floor
  wins, the floor's slope).
- f20 (Schwefel): not differentiable where an argument of |.| is 0 (z_i = 0 in the core's
  sqrt|z_i|).
- f23 (Katsuura): nowhere differentiable in the limit; with its 32 terms, piecewise smooth
  (|2^j z - round(2^j z)| kinks on a 2^-33 grid): the gradient is of the 32-term sum, away
  from those kinks, but central differences need steps below 2^-33 to see it.
- f24: min of two smooth branches: not differentiable where they are equal.
"""
from __future__ import annotations

import math

import numpy as np

_TWO_PI = 2.0 * np.pi


def _libm(fn):
    """The C library's function elementwise (NumPy's SIMD sin/cos/exp/log may be an ulp or
    more away from glibc's, which COCO calls; far from 0 that shows in f16 and f19)."""
    u = np.frompyfunc(fn, 1, 1)
    return lambda a: np.asarray(u(np.asarray(a, dtype=np.float64)), dtype=np.float64)


_cos, _sin, _exp, _log = (_libm(f) for f in (math.cos, math.sin, math.exp, math.log))
_pow2 = np.frompyfunc(math.pow, 2, 1)


def _pow(a, b):
    return np.asarray(_pow2(np.asarray(a, dtype=np.float64), b), dtype=np.float64)


def _rows(x):
    x = np.asarray(x, dtype=np.float64)
    return x[None, :] if x.ndim == 1 else x, x.ndim == 1


def _out(v, single):
    return float(v[0]) if single else v


def _seq(a, axis=-1):
    """Sum along ``axis`` left to right (a C loop's order; np.sum adds pairwise)."""
    return np.take(np.cumsum(a, axis=axis), -1, axis=axis)


def _mv(x, M, b=None):
    """Rows of ``M @ x`` (+ b), each accumulated over j in order from b, as
    ``transform_vars_affine`` does."""
    t = x[:, None, :] * M[None, :, :]
    if b is not None:
        t = np.concatenate([np.broadcast_to(b, t.shape[:2])[:, :, None], t], axis=2)
    return _seq(t)


def _penalty(x, bound=5.0):
    t = np.maximum(np.abs(x) - bound, 0.0)
    return _seq(t * t, axis=-1), 2.0 * t * np.sign(x)


# --- T_osz and T_asy (elementwise), with their derivatives --------------------------------

def _tosz(x):
    """T_osz: sign(x) exp(x̂ + 0.49 (sin(c1 x̂) + sin(c2 x̂))), x̂ = log|x|; and its derivative."""
    ax = np.abs(x)
    nz = ax > 0
    xh = _log(np.where(nz, ax, 1.0))
    # COCO: tmp = log|x| / 0.1; pow(exp(tmp + 0.49 (sin(a tmp) + sin(b tmp))), 0.1)
    tmp = xh / 0.1
    a = np.where(x > 0, 1.0, 0.55)
    b = np.where(x > 0, 0.79, 0.31)
    inner = tmp + 0.49 * (_sin(a * tmp) + _sin(b * tmp))
    y = np.where(nz, np.sign(x) * _pow(_exp(inner), 0.1), 0.0)
    # d y / d x = y / x * (1 + 0.49 (a cos(a tmp) + b cos(b tmp)))
    dinner = 1.0 + 0.49 * (a * _cos(a * tmp) + b * _cos(b * tmp))
    dy = np.where(nz, np.abs(y) / np.where(nz, ax, 1.0) * dinner, np.inf)
    return y, dy


def _tasy(x, beta):
    """T_asy: x^(1 + beta i / (n-1) sqrt(x)) for x > 0, x otherwise; and its derivative."""
    n = x.shape[-1]
    i = np.arange(n, dtype=np.float64)
    k = beta * i / (n - 1.0)
    pos = x > 0
    xp = np.where(pos, x, 1.0)
    s = np.sqrt(xp)
    ex = 1.0 + k * s
    y = np.where(pos, _pow(xp, ex), x)
    # d/dx exp(ex log x) = y (ex / x + k log x / (2 sqrt x))
    dy = np.where(pos, y * (ex / xp + k * _log(xp) / (2.0 * s)), 1.0)
    return y, dy


# --- the functions: each returns (f, grad) for rows x (m, n) -------------------------------

def _f1(d, x):
    z = x - d["xopt"]
    return _seq(z * z, -1), 2.0 * z


def _f2(d, x):
    z, dz = _tosz(x - d["xopt"])
    w = d["weights"]
    return _seq(w * z * z, -1), 2.0 * w * z * dz


def _rastrigin(z):
    n = z.shape[-1]
    f = 10.0 * (n - _seq(_cos(_TWO_PI * z))) + _seq(z * z)
    g = 10.0 * _TWO_PI * _sin(_TWO_PI * z) + 2.0 * z
    return f, g


def _f3(d, x):
    a, da = _tosz(x - d["xopt"])
    b, db = _tasy(a, d["beta"])
    z = d["lam"] * b
    f, g = _rastrigin(z)
    return f, g * d["lam"] * db * da


def _f4(d, x):
    a, da = _tosz(x - d["xopt"])
    n = x.shape[-1]
    even = (np.arange(n) % 2 == 0)
    fac = d["scales"] * np.where((a > 0) & even, 10.0, 1.0)
    z = fac * a
    f, g = _rastrigin(z)
    p, dp = _penalty(x)
    return f, g * fac * da + d["penalty"] * dp


def _f5(d, x):
    s, xo = d["slopes"], d["xopt"]
    inside = x * xo < 25.0
    f = _seq(np.where(inside, 5.0 * np.abs(s) - s * x, 5.0 * np.abs(s) - s * xo), -1)
    return f, np.where(inside, -s, 0.0) + 0.0 * x


def _f6(d, x):
    M = d["M"]
    z = _mv(x - d["xopt"], M)
    w = np.where(d["shift"] * z > 0.0, 1e4, 1.0)
    r = _seq(w * z * z, -1)
    o, do = _tosz(r)            # transform_obj_oscillate
    f = _pow(o, 0.9)
    df = 0.9 * np.where(o > 0, o, 1.0) ** (-0.1) * do
    gz = (df[:, None] * 2.0 * w * z)
    return f, gz @ M


def _round(v):
    return np.floor(v + 0.5)


def _f7(d, x):
    p, dp = _penalty(x)
    terms = (d["c1"][:, None] * d["Q"])[None, :, :] * (x - d["xopt"])[:, None, :]
    z = np.cumsum(terms, axis=2)[:, :, -1]                  # in COCO's order
    x1 = z[:, 0]
    zr = np.where(np.abs(z) > 0.5, _round(z), _round(10.0 * z) / 10.0)
    zz = _mv(zr, d["R"])
    core = _seq(d["weights"] * zz * zz, -1)
    floor = np.abs(x1) * 1e-4
    f = 0.1 * np.maximum(floor, core) + p * d["penalty"]
    # gradient: 0 from the rounded core; the floor's where it wins
    gfloor = 0.1 * 1e-4 * np.sign(x1)[:, None] * d["c1"][0] * d["Q"][0][None, :]
    g = np.where((floor > core)[:, None], gfloor, 0.0) + d["penalty"] * dp
    return f, g


def _rosenbrock(z):
    a = z[:, :-1] * z[:, :-1] - z[:, 1:]
    b = z[:, :-1] - 1.0
    f = 100.0 * _seq(a * a, -1) + _seq(b * b, -1)
    g = np.zeros_like(z)
    g[:, :-1] += 400.0 * a * z[:, :-1] + 2.0 * b
    g[:, 1:] += -200.0 * a
    return f, g


def _f8(d, x):
    c = d["factor"]
    f, g = _rosenbrock(c * (x - d["xopt"]) + 1.0)
    return f, c * g


def _f9(d, x):
    M = d["M"]
    f, g = _rosenbrock(_mv(x, M, d["b"]))
    return f, g @ M


def _f10(d, x):
    R = d["R"]
    z, dz = _tosz(_mv(x - d["xopt"], R))
    w = d["weights"]
    return _seq(w * z * z, -1), (2.0 * w * z * dz) @ R


def _f11(d, x):
    R = d["R"]
    z, dz = _tosz(_mv(x - d["xopt"], R))
    w = np.ones(x.shape[-1])
    w[0] = 1e6
    return _seq(w * z * z, -1), (2.0 * w * z * dz) @ R


def _f12(d, x):
    R = d["R"]
    a, da = _tasy(_mv(x - d["xopt"], R), d["beta"])
    z = _mv(a, R)
    w = np.full(x.shape[-1], 1e6)
    w[0] = 1.0
    gz = 2.0 * w * z
    return _seq(w * z * z, -1), ((gz @ R) * da) @ R


def _f13(d, x):
    M = d["M"]
    z = _mv(x - d["xopt"], M)
    r = np.sqrt(_seq(z[:, 1:] ** 2, -1))
    f = z[:, 0] ** 2 + 100.0 * r
    gz = np.zeros_like(z)
    gz[:, 0] = 2.0 * z[:, 0]
    gz[:, 1:] = 100.0 * z[:, 1:] / np.where(r > 0, r, 1.0)[:, None]
    return f, gz @ M


def _f14(d, x):
    R = d["R"]
    z = _mv(x - d["xopt"], R)
    e = d["exponents"]
    s = _seq(_pow(np.abs(z), e))
    f = np.sqrt(s)
    gz = 0.5 * e * np.abs(z) ** (e - 1.0) * np.sign(z) / np.where(f > 0, f, 1.0)[:, None]
    return f, gz @ R


def _f15(d, x):
    R, M = d["R"], d["M"]
    a, da = _tosz(_mv(x - d["xopt"], R))
    b, db = _tasy(a, d["beta"])
    f, g = _rastrigin(_mv(b, M))
    return f, (((g @ M) * db) * da) @ R


def _f16(d, x):
    R, M = d["R"], d["M"]
    n = x.shape[-1]
    a, da = _tosz(_mv(x - d["xopt"], R))
    z = _mv(a, M)
    arg = _TWO_PI * (z[:, :, None] + 0.5) * d["bk"]
    s = _seq((_cos(arg) * d["ak"]).reshape(len(x), -1))
    t = s / n - d["f0"]
    f = 10.0 * _pow(t, 3.0)
    p, dp = _penalty(x)
    gz = 30.0 * t[:, None] ** 2 / n * _seq(-_sin(arg) * d["ak"] * _TWO_PI * d["bk"], -1)
    return f, ((gz @ M) * da) @ R + d["penalty"] * dp


def _schaffers(z):
    n = z.shape[-1]
    s = z[:, :-1] ** 2 + z[:, 1:] ** 2
    q = _pow(s, 0.1)
    sn = _sin(50.0 * q)
    term = _pow(s, 0.25) * (1.0 + _pow(sn, 2.0))
    t = _seq(term) / (n - 1.0)
    f = t ** 2
    sp = np.where(s > 0, s, 1.0)
    dterm = np.where(s > 0, 0.25 * sp ** -0.75 * (1.0 + sn ** 2)
                     + sp ** 0.25 * 2.0 * sn * _cos(50.0 * q) * 50.0 * 0.1 * sp ** -0.9, 0.0)
    ds = 2.0 * t[:, None] / (n - 1.0) * dterm
    g = np.zeros_like(z)
    g[:, :-1] += ds * 2.0 * z[:, :-1]
    g[:, 1:] += ds * 2.0 * z[:, 1:]
    return f, g


def _f17(d, x):
    R, M = d["R"], d["M"]
    a, da = _tasy(_mv(x - d["xopt"], R), d["beta"])
    f, g = _schaffers(_mv(a, M))
    p, dp = _penalty(x)
    return f, (((g @ M) * da) @ R) + d["penalty"] * dp


def _f19(d, x):
    M = d["M"]
    z = _mv(x, M) + d["b"]          # transform_vars_affine (b = 0), then the shift by -0.5
    n = x.shape[-1]
    a = z[:, :-1] ** 2 - z[:, 1:]
    b = 1.0 - z[:, :-1]
    t = 100.0 * a * a + b * b
    t = 100.0 * a * a + b * b
    f = d["facftrue"] + d["facftrue"] * _seq(t / 4000.0 - _cos(t)) / (n - 1)
    dt = d["facftrue"] / (n - 1) * (1.0 / 4000.0 + _sin(t))
    gz = np.zeros_like(z)
    gz[:, :-1] += dt * (400.0 * a * z[:, :-1] - 2.0 * b)
    gz[:, 1:] += dt * (-200.0 * a)
    return f, gz @ M


def _f20(d, x):
    n = x.shape[-1]
    xo2 = 2.0 * np.abs(d["shift"])
    y = 2.0 * (d["signs"] * x)
    zh = y.copy()
    zh[:, 1:] = y[:, 1:] + 0.25 * (y[:, :-1] - xo2[:-1])
    z = 100.0 * (d["lam"] * (zh - xo2) + xo2)
    t = np.maximum(np.abs(z) - 500.0, 0.0)
    pen = _seq(t * t, -1)
    sq = np.sqrt(np.abs(z))
    f = 0.01 * (pen + 418.9828872724339 - _seq(z * _sin(sq), -1) / n)
    # d/dz: 0.01 (2 t sign(z) - (sin(sq) + z cos(sq) sign(z) / (2 sq)) / n)
    gz = 0.01 * (2.0 * t * np.sign(z) - (_sin(sq) + 0.5 * sq * _cos(sq) * (sq > 0)) / n)
    gzh = gz * 100.0 * d["lam"]
    gy = gzh.copy()
    gy[:, :-1] += 0.25 * gzh[:, 1:]
    return f, gy * 2.0 * d["signs"]


def _f21(d, x):
    n = x.shape[-1]
    p, dp = _penalty(x)
    R = d["R"]
    t = _mv(x, R)
    diff = t[:, :, None] - d["y"][None, :, :]             # (m, n, peaks)
    dp_ = np.swapaxes(diff, 1, 2)                          # (m, peaks, n)
    q = _seq(d["scales"][None, :, :] * dp_ * dp_)
    v = d["heights"] * _exp(-0.5 / n * q)               # (m, peaks)
    k = np.argmax(v, -1)
    vmax = v[np.arange(len(k)), k]
    f10 = 10.0 - vmax
    o, do = _tosz(f10)
    f = o * o + d["penalty"] * p
    # d vmax / d t = vmax * (-1/n) * scales_k * diff_k
    sk = d["scales"][k]                                   # (m, n)
    dk = diff[np.arange(len(k)), :, k]                    # (m, n)
    dv = vmax[:, None] * (-1.0 / n) * sk * dk
    gt = (2.0 * o * do)[:, None] * (-dv)
    return f, gt @ R + d["penalty"] * dp


def _katsuura_core(z):
    n = z.shape[-1]
    j = np.arange(1, 33, dtype=np.float64)
    p2 = 2.0 ** j
    u = p2 * z[:, :, None]
    r = u - _round(u)
    s = _seq(np.abs(r) / p2)                              # (m, n)
    i1 = np.arange(1, n + 1, dtype=np.float64)
    tmp = 1.0 + i1 * s
    ex = 10.0 / math.pow(n, 1.2)
    prod = np.cumprod(_pow(tmp, ex), -1)[:, -1]
    f = 10.0 / n / n * (-1.0 + prod)
    ds = _seq(np.sign(r), -1)                           # d s / d z
    gz = 10.0 / n / n * prod[:, None] * ex * i1 * ds / tmp
    return f, gz


def _f23(d, x):
    M = d["M"]
    f, gz = _katsuura_core(_mv(x - d["xopt"], M))
    p, dp = _penalty(x)
    return f, gz @ M + d["penalty"] * dp


def _f24(d, x):
    n = x.shape[-1]
    p, dp = _penalty(x)
    sg = np.where(d["xopt"] < 0.0, -1.0, 1.0)
    xh = 2.0 * x * sg
    mu0, mu1, s, dd = d["mu0"], d["mu1"], d["s"], d["d"]
    R, Q = d["R"], d["Q"]
    t = _mv(xh - mu0, d["lam"][:, None] * Q)
    z = _mv(t, R)
    s1 = _seq((xh - mu0) * (xh - mu0))
    s2 = dd * n + s * _seq((xh - mu1) * (xh - mu1))
    s3 = _seq(_cos(_TWO_PI * z))
    first = s1 <= s2
    f = np.minimum(s1, s2) + 10.0 * (n - s3) + d["penalty"] * p
    gxh = np.where(first[:, None], 2.0 * (xh - mu0), s * 2.0 * (xh - mu1))
    gz = 10.0 * _TWO_PI * _sin(_TWO_PI * z)
    gxh = gxh + (gz @ R) @ (d["lam"][:, None] * Q)
    return f, gxh * 2.0 * sg + d["penalty"] * dp


_F = {1: _f1, 2: _f2, 3: _f3, 4: _f4, 5: _f5, 6: _f6, 7: _f7, 8: _f8, 9: _f9, 10: _f10,
      11: _f11, 12: _f12, 13: _f13, 14: _f14, 15: _f15, 16: _f16, 17: _f17, 18: _f17,
      19: _f19, 20: _f20, 21: _f21, 22: _f21, 23: _f23, 24: _f24}


_OUTER_PENALTY = (4, 16, 17, 18, 23)   # f = (raw + fopt) + penalty; f7, f21, f24: in raw


def value(data, x):
    """f(x) = the function's value, f_opt included."""
    xs, single = _rows(x)
    with np.errstate(all="ignore"):         # the gradient's terms at non-differentiable points
        f, _ = _F[data["function"]](data, xs)
    f = f + data["fopt"]
    if data["function"] in _OUTER_PENALTY:  # transform_obj_penalize outside transform_obj_shift
        f = f + data["penalty"] * _penalty(xs)[0]
    return _out(f, single)


def gradient(data, x):
    """The closed-form gradient (almost everywhere; see the module docstring)."""
    xs, single = _rows(x)
    _, g = _F[data["function"]](data, xs)
    g = np.broadcast_to(g, xs.shape).astype(np.float64)
    return g[0] if single else g


def gallagher_label(data, x, steps, h):
    """The basin label of f21/f22 (``kernels/labels.py``'s rule ``bbob_peak``), slowly: the
    point in z = R x; ``steps`` times, the active peak k = argmaxₖ (log hₖ − qₖ/(2n)),
    qₖ = Σⱼ scₖⱼ (zⱼ − ỹₖⱼ)², and a step of length ``h`` along −dₖ/‖dₖ‖, dₖ = scₖ ⊙ (z − ỹₖ)
    (∇_z f is a positive multiple of dₖ inside [−5, 5]^n: T_osz and the square are increasing
    where 10 − max ≥ 0; no step where dₖ = 0); the label is the active peak at the end
    (peak 0 is the global one). The penalty outside [−5, 5]^n is left out, as in the kernels.
    One point at a time, in plain loops."""
    xs, single = _rows(x)
    n = xs.shape[1]
    y, sc, lh = np.asarray(data["y"]).T, np.asarray(data["scales"]), np.log(data["heights"])

    def active(z):
        best, kb = -np.inf, 0
        for k in range(len(lh)):
            v = lh[k] - sum(sc[k, j] * (z[j] - y[k, j]) ** 2 for j in range(n)) / (2 * n)
            if v > best:
                best, kb = v, k
        return kb

    out = np.empty(len(xs), dtype=np.int64)
    for m, xm in enumerate(xs):
        z = np.asarray(data["R"]) @ xm
        for _ in range(steps):
            k = active(z)
            d = sc[k] * (z - y[k])
            nd = math.sqrt(float(d @ d))
            if nd > 0.0:
                z = z - h * d / nd
        out[m] = active(z)
    return int(out[0]) if single else out
