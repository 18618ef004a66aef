"""Slow, obviously-correct NumPy references for the optimizer and landscape kernels.

Written from the formulas of ``docs/optimizers.md`` (torch.optim forms) and
``docs/landscapes.md``, not from the kernels: no loop fusion,
no scratch arrays, no shared code with ``swarm.kernels``. Used by ``test_optimizers.py`` and
``test_landscapes.py``.
"""
from __future__ import annotations

import math

import numpy as np

# --------------------------------------------------------------------------------------------
# optimizers
# --------------------------------------------------------------------------------------------
#
# Each reference takes x0 (dim,), a dict of hyperparameters named as in ``swarm.optimizers``
# (lr, momentum, alpha, b1, b2, eps, initial_accumulator, centered, bias_correction,
# eps_inside), and ``grads``: either a function ``x -> g`` or a sequence of gradients (one row per
# step). It returns the positions after each step, shape (steps, dim).


def _gradients(grads, steps):
    """Yield (t, gfun) where gfun(x) gives the gradient at step t = 1, 2, …"""
    if callable(grads):
        if steps is None:
            raise ValueError("steps is needed when grads is a function")
        for t in range(1, steps + 1):
            yield t, grads
    else:
        seq = np.asarray(grads, dtype=np.float64)
        n = len(seq) if steps is None else steps
        for t in range(1, n + 1):
            yield t, (lambda x, row=seq[t - 1]: row)


def sgd(x0, hp, grads, steps=None):
    """torch.optim.SGD (momentum 0):  x ← x − lr·g."""
    x = np.array(x0, dtype=np.float64)
    out = []
    for _, gf in _gradients(grads, steps):
        g = np.asarray(gf(x), dtype=np.float64)
        x = x - hp["lr"] * g
        out.append(x.copy())
    return np.array(out)


def momentum(x0, hp, grads, steps=None):
    """torch.optim.SGD(momentum=μ, dampening=0): first step b = g, then b ← μ·b + g;
    x ← x − lr·b."""
    x = np.array(x0, dtype=np.float64)
    mu = hp["momentum"]
    buf = None
    out = []
    for _, gf in _gradients(grads, steps):
        g = np.asarray(gf(x), dtype=np.float64)
        buf = g.copy() if buf is None else mu * buf + g
        x = x - hp["lr"] * buf
        out.append(x.copy())
    return np.array(out)


def nesterov(x0, hp, grads, steps=None):
    """torch.optim.SGD(momentum=μ, nesterov=True): b ← μ·b + g (b = g first);
    x ← x − lr·(g + μ·b)."""
    x = np.array(x0, dtype=np.float64)
    mu = hp["momentum"]
    buf = None
    out = []
    for _, gf in _gradients(grads, steps):
        g = np.asarray(gf(x), dtype=np.float64)
        buf = g.copy() if buf is None else mu * buf + g
        d = g + mu * buf
        x = x - hp["lr"] * d
        out.append(x.copy())
    return np.array(out)


def adagrad(x0, hp, grads, steps=None):
    """torch.optim.Adagrad (lr_decay 0): S ← S + g² (S₀ = initial_accumulator);
    x ← x − lr·g/(√S + ε)  [eps_inside: √(S + ε)]."""
    x = np.array(x0, dtype=np.float64)
    S = np.full_like(x, hp.get("initial_accumulator", 0.0))
    eps = hp["eps"]
    out = []
    for _, gf in _gradients(grads, steps):
        g = np.asarray(gf(x), dtype=np.float64)
        S = S + g ** 2
        std = np.sqrt(S + eps) if hp.get("eps_inside", False) else np.sqrt(S) + eps
        x = x - hp["lr"] * g / std
        out.append(x.copy())
    return np.array(out)


def rmsprop(x0, hp, grads, steps=None):
    """torch.optim.RMSprop (momentum 0): v ← α·v + (1−α)·g²; centered: ḡ ← α·ḡ + (1−α)·g and
    the second moment becomes v − ḡ²; x ← x − lr·g/(√v + ε)  [eps_inside: √(v + ε)].
    bias_correction (not in torch; as documented in swarm): v and ḡ are divided by (1 − αᵗ)
    before they are combined."""
    x = np.array(x0, dtype=np.float64)
    a = hp["alpha"]
    eps = hp["eps"]
    v = np.zeros_like(x)
    gavg = np.zeros_like(x)
    out = []
    for t, gf in _gradients(grads, steps):
        g = np.asarray(gf(x), dtype=np.float64)
        v = a * v + (1.0 - a) * g ** 2
        gavg = a * gavg + (1.0 - a) * g
        c = (1.0 - a ** t) if hp.get("bias_correction", False) else 1.0
        second = v / c
        if hp.get("centered", False):
            second = second - (gavg / c) ** 2
        avg = np.sqrt(second + eps) if hp.get("eps_inside", False) else np.sqrt(second) + eps
        x = x - hp["lr"] * g / avg
        out.append(x.copy())
    return np.array(out)


def adam(x0, hp, grads, steps=None):
    """torch.optim.Adam (Kingma & Ba Algorithm 1, torch's arrangement):
    m ← β1·m + (1−β1)·g ; v ← β2·v + (1−β2)·g² ;
    denom = √v/√(1−β2ᵗ) + ε ; x ← x − (lr/(1−β1ᵗ))·m/denom.
    bias_correction=False: both corrections are 1. eps_inside: denom = √(v/(1−β2ᵗ) + ε)."""
    x = np.array(x0, dtype=np.float64)
    b1, b2, eps = hp["b1"], hp["b2"], hp["eps"]
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    out = []
    for t, gf in _gradients(grads, steps):
        g = np.asarray(gf(x), dtype=np.float64)
        m = b1 * m + (1.0 - b1) * g
        v = b2 * v + (1.0 - b2) * g * g
        if hp.get("bias_correction", True):
            bc1, bc2 = 1.0 - b1 ** t, 1.0 - b2 ** t
        else:
            bc1, bc2 = 1.0, 1.0
        if hp.get("eps_inside", False):
            denom = np.sqrt(v / bc2 + eps)
        else:
            denom = np.sqrt(v) / math.sqrt(bc2) + eps
        x = x - (hp["lr"] / bc1) * m / denom
        out.append(x.copy())
    return np.array(out)


OPTIMIZERS = {"sgd": sgd, "momentum": momentum, "nesterov": nesterov, "adagrad": adagrad,
              "rmsprop": rmsprop, "adam": adam}


def optimize(kind, x0, hp, grads, steps=None):
    """Positions after each step of optimizer ``kind`` (see the per-kind references)."""
    return OPTIMIZERS[kind](x0, hp, grads, steps)


# --------------------------------------------------------------------------------------------
# landscapes: h(z) and ∇h(z), vectorised over leading axes (z has shape (..., d))
# --------------------------------------------------------------------------------------------

TWO_PI = 2.0 * math.pi


def rastrigin(z):
    z = np.asarray(z, dtype=np.float64)
    d = z.shape[-1]
    return 10.0 * d + np.sum(z ** 2 - 10.0 * np.cos(TWO_PI * z), axis=-1)


def rastrigin_grad(z):
    z = np.asarray(z, dtype=np.float64)
    return 2.0 * z + 20.0 * math.pi * np.sin(TWO_PI * z)


def ackley(z):
    z = np.asarray(z, dtype=np.float64)
    d = z.shape[-1]
    r = np.sqrt(np.sum(z ** 2, axis=-1) / d)
    return (-20.0 * np.exp(-0.2 * r) - np.exp(np.sum(np.cos(TWO_PI * z), axis=-1) / d)
            + 20.0 + math.e)


def ackley_grad(z):
    """d/dzᵢ: 20·0.2·exp(−0.2r)·zᵢ/(d·r) + exp(Σcos/d)·2π·sin(2πzᵢ)/d (r > 0)."""
    z = np.asarray(z, dtype=np.float64)
    d = z.shape[-1]
    r = np.sqrt(np.sum(z ** 2, axis=-1, keepdims=True) / d)
    first = 20.0 * 0.2 * np.exp(-0.2 * r) * z / (d * r)
    second = np.exp(np.sum(np.cos(TWO_PI * z), axis=-1, keepdims=True) / d) \
        * TWO_PI * np.sin(TWO_PI * z) / d
    return first + second


def _griewank_cos(z):
    d = z.shape[-1]
    return np.cos(z / np.sqrt(np.arange(1, d + 1)))


def griewank(z):
    z = np.asarray(z, dtype=np.float64)
    return 1.0 + np.sum(z ** 2, axis=-1) / 4000.0 - np.prod(_griewank_cos(z), axis=-1)


def griewank_grad(z):
    """zᵢ/2000 + sin(zᵢ/√i)/√i · Π_{j≠i} cos(zⱼ/√j)."""
    z = np.asarray(z, dtype=np.float64)
    d = z.shape[-1]
    c = _griewank_cos(z)
    g = np.empty_like(z)
    for i in range(d):
        q = math.sqrt(i + 1)
        others = np.prod(np.delete(c, i, axis=-1), axis=-1)
        g[..., i] = z[..., i] / 2000.0 + np.sin(z[..., i] / q) / q * others
    return g


def levy_standard(u):
    """The standard Levy function (minimum 0 at u = (1, …, 1)), w = 1 + (u − 1)/4."""
    u = np.asarray(u, dtype=np.float64)
    w = 1.0 + (u - 1.0) / 4.0
    first = np.sin(math.pi * w[..., 0]) ** 2
    mid = np.sum((w[..., :-1] - 1.0) ** 2 * (1.0 + 10.0 * np.sin(math.pi * w[..., :-1] + 1.0) ** 2),
                 axis=-1)
    last = (w[..., -1] - 1.0) ** 2 * (1.0 + np.sin(TWO_PI * w[..., -1]) ** 2)
    return first + mid + last


def levy_standard_grad(u):
    u = np.asarray(u, dtype=np.float64)
    w = 1.0 + (u - 1.0) / 4.0
    dw = np.zeros_like(w)
    # sin²(πw₁)
    dw[..., 0] += 2.0 * np.sin(math.pi * w[..., 0]) * np.cos(math.pi * w[..., 0]) * math.pi
    # (wᵢ−1)²(1 + 10 sin²(πwᵢ + 1)), i < d
    wm = w[..., :-1]
    a = math.pi * wm + 1.0
    dw[..., :-1] += 2.0 * (wm - 1.0) * (1.0 + 10.0 * np.sin(a) ** 2) \
        + (wm - 1.0) ** 2 * 10.0 * 2.0 * np.sin(a) * np.cos(a) * math.pi
    # (w_d−1)²(1 + sin²(2πw_d))
    wl = w[..., -1]
    b = TWO_PI * wl
    dw[..., -1] += 2.0 * (wl - 1.0) * (1.0 + np.sin(b) ** 2) \
        + (wl - 1.0) ** 2 * 2.0 * np.sin(b) * np.cos(b) * TWO_PI
    return dw / 4.0            # dw/du = 1/4


def levy(z):
    """swarm's Levy: the standard form at u = z + 1 (minimum at z = 0)."""
    return levy_standard(np.asarray(z, dtype=np.float64) + 1.0)


def levy_grad(z):
    return levy_standard_grad(np.asarray(z, dtype=np.float64) + 1.0)


def styblinski_tang(z):
    z = np.asarray(z, dtype=np.float64)
    return 0.5 * np.sum(z ** 4 - 16.0 * z ** 2 + 5.0 * z, axis=-1)


def styblinski_tang_grad(z):
    z = np.asarray(z, dtype=np.float64)
    return 0.5 * (4.0 * z ** 3 - 32.0 * z + 5.0)


def himmelblau(z):
    z = np.asarray(z, dtype=np.float64)
    x, y = z[..., 0], z[..., 1]
    return (x ** 2 + y - 11.0) ** 2 + (x + y ** 2 - 7.0) ** 2


def himmelblau_grad(z):
    z = np.asarray(z, dtype=np.float64)
    x, y = z[..., 0], z[..., 1]
    a = x ** 2 + y - 11.0
    b = x + y ** 2 - 7.0
    return np.stack([2.0 * a * 2.0 * x + 2.0 * b, 2.0 * a + 2.0 * b * 2.0 * y], axis=-1)


def double_well(x, tilt):
    """U(x) = x₁⁴/4 − x₁²/2 + c·x₁ + ½ Σ_{i≥2} xᵢ²."""
    x = np.asarray(x, dtype=np.float64)
    x1 = x[..., 0]
    return x1 ** 4 / 4.0 - x1 ** 2 / 2.0 + tilt * x1 + 0.5 * np.sum(x[..., 1:] ** 2, axis=-1)


def double_well_grad(x, tilt):
    x = np.asarray(x, dtype=np.float64)
    g = x.copy()
    g[..., 0] = x[..., 0] ** 3 - x[..., 0] + tilt
    return g


SHIFTED = {"rastrigin": (rastrigin, rastrigin_grad), "ackley": (ackley, ackley_grad),
           "griewank": (griewank, griewank_grad), "levy": (levy, levy_grad),
           "styblinski_tang": (styblinski_tang, styblinski_tang_grad),
           "himmelblau": (himmelblau, himmelblau_grad)}


def shifted(h, dh, s, R):
    """The instance wrapper f(x) = h(R(x − s)), ∇f(x) = Rᵀ ∇h(R(x − s))."""
    s = np.asarray(s, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)

    def f(x):
        return h((np.asarray(x, dtype=np.float64) - s) @ R.T)

    def grad(x):
        return dh((np.asarray(x, dtype=np.float64) - s) @ R.T) @ R

    return f, grad


# ---- max-set of Gaussians -------------------------------------------------------------------

def gaussian_peaks(centres, log_heights, lam, R):
    """f(x) = −maxₖ wₖ·exp(−½ (x − cₖ)ᵀ Aₖ (x − cₖ)), Aₖ = Rᵀ diag(λₖ) R, with centres cₖ in x
    coordinates; ∇f = wₖ·eₖ·Aₖ(x − cₖ) for the active peak k (the arg-max). Returns (f, grad)
    and a function giving the log-values log wₖ − ½qₖ of every peak (for tie checks)."""
    centres = np.asarray(centres, dtype=np.float64)
    logw = np.asarray(log_heights, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    A = np.einsum("ji,kj,jl->kil", R, np.asarray(lam, dtype=np.float64), R)   # Rᵀ Λₖ R

    def logvals(x):
        x = np.asarray(x, dtype=np.float64)
        diff = x[..., None, :] - centres                       # (..., P, d)
        q = np.einsum("...ki,kil,...kl->...k", diff, A, diff)
        return logw - 0.5 * q

    def f(x):
        return -np.exp(np.max(logvals(x), axis=-1))

    def grad(x):
        x = np.asarray(x, dtype=np.float64)
        lv = logvals(x)
        k = np.argmax(lv, axis=-1)
        diff = x - centres[k]
        Ak = A[k]
        return np.exp(np.take_along_axis(lv, k[..., None], axis=-1)) * \
            np.einsum("...il,...l->...i", Ak, diff)

    return f, grad, logvals


def unpack_peaks(params, dim, head=8):
    """(centres in x, log heights, λ, R) from a GaussianPeaks instance's packed ``params`` row:
    ``[header (head), P, R (dim·dim, row-major), P × (log w, R·c (dim), λ (dim))]``."""
    p = np.asarray(params, dtype=np.float64)
    P = int(p[head])
    R = p[head + 1:head + 1 + dim * dim].reshape(dim, dim)
    rows = p[head + 1 + dim * dim:].reshape(P, 1 + 2 * dim)
    logw = rows[:, 0]
    yc = rows[:, 1:1 + dim]
    lam = rows[:, 1 + dim:]
    centres = yc @ R                                           # cₖ = Rᵀ ỹₖ, row-wise
    return centres, logw, lam, R


def unpack_shifted(params, dim, head=8):
    """(s, R) from a shifted instance's ``params``: ``[header, s (dim), R (dim·dim), …]``."""
    p = np.asarray(params, dtype=np.float64)
    return p[head:head + dim].copy(), p[head + dim:head + dim + dim * dim].reshape(dim, dim).copy()


def for_instance(inst):
    """(f, grad) of a swarm landscape instance, rebuilt from the formulas above."""
    name = inst.family.name
    d = inst.dim
    if name == "double_well":
        c = inst.family.tilt
        return (lambda x: double_well(x, c)), (lambda x: double_well_grad(x, c))
    if name == "gaussian_peaks":
        f, g, _ = gaussian_peaks(*unpack_peaks(inst.params, d))
        return f, g
    s, R = unpack_shifted(inst.params, d)
    if not inst.family.rotate:
        R = np.eye(d)
    h, dh = SHIFTED[name]
    return shifted(h, dh, s, R)


def gradient_descent(grad, x0, lr, steps):
    """Plain gradient descent x ← x − lr·∇f(x) on a batch of points (n, d); returns the end
    points and the gradient there."""
    x = np.array(x0, dtype=np.float64)
    for _ in range(steps):
        x = x - lr * grad(x)
    return x, grad(x)
