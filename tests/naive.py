"""Slow, obviously-correct NumPy references for the optimizer and landscape kernels.

Written from the formulas of ``docs/optimizers.md`` (torch.optim forms) and
``docs/landscapes.md``, not from the kernels: no loop fusion,
no scratch arrays, no shared code with ``swarm.kernels`` — but for where the numbers sit in a
landscape's parameter row, which ``swarm.kernels.layout`` declares for every user (a format,
not a formula). Used by ``test_optimizers.py`` and ``test_landscapes.py``; the landscape
registry (``swarm.landscapes.REGISTRY``) names each family's reference here (``Row.naive``:
``<naive>`` and ``<naive>_grad``).
"""
from __future__ import annotations

import math

import numpy as np

from swarm.kernels import layout

# --------------------------------------------------------------------------------------------
# optimizers
# --------------------------------------------------------------------------------------------
#
# Each reference takes x0 (dim,), ``hp``: a dict of hyperparameters named as in
# ``swarm.optimizers`` (a configuration of ``Optimizer.configs()``; an option missing from it is
# off), and ``grads``: either a function ``x -> g`` or a sequence of gradients (one row per step).
# ``lrs`` (optional) is the learning rate of each step, one per step (a schedule's values, as
# torch's ``param_groups[0]["lr"]`` when ``optimizer.step()`` runs); without it every step uses
# ``hp["lr"]``. It returns the positions after each step, shape (steps, dim).
#
# Every step, as torch with ``clip_grad_norm_``/``clip_grad_value_`` called before
# ``optimizer.step()``:
#
#     g = grads(x)  →  clip_norm  →  clip_value  →  weight decay  →  the rule with lr = lrs[t − 1]
#
# Weight decay λ (``weight_decay``) is torch's L2 form g ← g + λ·x, or, with
# ``decoupled_weight_decay`` (AdamW, and Adam/NAdam/RAdam with the flag), x ← x·(1 − lr·λ) before
# the rule. Lion applies its own λ inside its rule (optax's form).
#
# Sources: torch/optim/{sgd,adagrad,rmsprop,adam,adamw,adamax,nadam,radam,adadelta,rprop}.py
# (the single-tensor implementations), torch/nn/utils/clip_grad.py, Chen et al. 2023 (Lion),
# Bernstein et al. 2018 (signSGD, Signum).


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


def clip_by_norm(g, max_norm):
    """torch.nn.utils.clip_grad_norm_ on one parameter: g·min(1, c/(‖g‖₂ + 1e-6))."""
    total = math.sqrt(float(np.sum(g * g)))
    return g * min(max_norm / (total + 1e-6), 1.0)


def clip_by_value(g, clip_value):
    """torch.nn.utils.clip_grad_value_: each coordinate clamped to [−c, c]."""
    return np.minimum(np.maximum(g, -clip_value), clip_value)


def _run(x0, hp, grads, steps, lrs, rule, decoupled=None, decay=True):
    """The common step loop: the gradient pipeline, then ``x = rule(x, g, lr, t)``.
    ``decoupled`` forces the weight-decay form (None: the ``decoupled_weight_decay`` option);
    ``decay=False``: the rule applies its weight decay itself (Lion)."""
    x = np.array(x0, dtype=np.float64)
    lam = hp.get("weight_decay", 0.0) if decay else 0.0
    if decoupled is None:
        decoupled = bool(hp.get("decoupled_weight_decay", False))
    out = []
    for t, gf in _gradients(grads, steps):
        lr = hp["lr"] if lrs is None else float(lrs[t - 1])
        g = np.array(gf(x), dtype=np.float64)
        if hp.get("clip_norm") is not None:
            g = clip_by_norm(g, hp["clip_norm"])
        if hp.get("clip_value") is not None:
            g = clip_by_value(g, hp["clip_value"])
        if lam != 0.0:
            if decoupled:
                x = x * (1.0 - lr * lam)
            else:
                g = g + lam * x
        x = rule(x, g, lr, t)
        out.append(x.copy())
    return np.array(out)


def sgd(x0, hp, grads, steps=None, lrs=None):
    """torch.optim.SGD (momentum 0):  x ← x − lr·g."""
    return _run(x0, hp, grads, steps, lrs, lambda x, g, lr, t: x - lr * g)


def _sgd_momentum(x0, hp, grads, steps, lrs, nesterov):
    """torch.optim.SGD(momentum=μ, dampening=d, nesterov): the first step's buffer is g itself,
    later b ← μ·b + (1 − d)·g; the direction is b, or g + μ·b with nesterov; x ← x − lr·dir."""
    mu = hp["momentum"]
    d = hp.get("dampening", 0.0)
    buf = None

    def rule(x, g, lr, t):
        nonlocal buf
        buf = g.copy() if buf is None else mu * buf + (1.0 - d) * g
        direction = g + mu * buf if nesterov else buf
        return x - lr * direction
    return _run(x0, hp, grads, steps, lrs, rule)


def momentum(x0, hp, grads, steps=None, lrs=None):
    """torch.optim.SGD(momentum=μ, dampening=d): b = g first, then b ← μ·b + (1−d)·g;
    x ← x − lr·b."""
    return _sgd_momentum(x0, hp, grads, steps, lrs, nesterov=False)


def nesterov(x0, hp, grads, steps=None, lrs=None):
    """torch.optim.SGD(momentum=μ, nesterov=True): b ← μ·b + g (b = g first);
    x ← x − lr·(g + μ·b)."""
    return _sgd_momentum(x0, hp, grads, steps, lrs, nesterov=True)


def adagrad(x0, hp, grads, steps=None, lrs=None):
    """torch.optim.Adagrad: S ← S + g² (S₀ = initial_accumulator);
    x ← x − clr·g/(√S + ε) with clr = lr/(1 + (t−1)·lr_decay)  [eps_inside: √(S + ε)]."""
    S = np.full(np.shape(x0), hp.get("initial_accumulator", 0.0), dtype=np.float64)
    eps = hp["eps"]
    lr_decay = hp.get("lr_decay", 0.0)

    def rule(x, g, lr, t):
        nonlocal S
        S = S + g * g
        std = np.sqrt(S + eps) if hp.get("eps_inside", False) else np.sqrt(S) + eps
        clr = lr / (1.0 + (t - 1) * lr_decay)
        return x - clr * g / std
    return _run(x0, hp, grads, steps, lrs, rule)


def rmsprop(x0, hp, grads, steps=None, lrs=None):
    """torch.optim.RMSprop: v ← α·v + (1−α)·g²; centered: ḡ ← α·ḡ + (1−α)·g and the second
    moment becomes v − ḡ²; avg = √v + ε  [eps_inside: √(v + ε)]; x ← x − lr·g/avg, or with
    momentum μ: b ← μ·b + g/avg, x ← x − lr·b.
    bias_correction (not in torch; as documented in swarm): v and ḡ are divided by (1 − αᵗ)
    before they are combined."""
    a = hp["alpha"]
    eps = hp["eps"]
    mu = hp.get("momentum", 0.0)
    v = np.zeros(np.shape(x0))
    gavg = np.zeros(np.shape(x0))
    buf = np.zeros(np.shape(x0))

    def rule(x, g, lr, t):
        nonlocal v, gavg, buf
        v = a * v + (1.0 - a) * g ** 2
        gavg = a * gavg + (1.0 - a) * g
        c = (1.0 - a ** t) if hp.get("bias_correction", False) else 1.0
        second = v / c
        if hp.get("centered", False):
            second = second - (gavg / c) ** 2
        avg = np.sqrt(second + eps) if hp.get("eps_inside", False) else np.sqrt(second) + eps
        if mu > 0.0:
            buf = mu * buf + g / avg
            return x - lr * buf
        return x - lr * g / avg
    return _run(x0, hp, grads, steps, lrs, rule)


def _adam(x0, hp, grads, steps, lrs, decoupled):
    """torch.optim.Adam / AdamW (Kingma & Ba Algorithm 1, torch's arrangement):
    m ← β1·m + (1−β1)·g ; v ← β2·v + (1−β2)·g² ; amsgrad: v_max ← max(v_max, v), used for v ;
    denom = √v/√(1−β2ᵗ) + ε ; x ← x − (lr/(1−β1ᵗ))·m/denom.
    bias_correction=False: both corrections are 1. eps_inside: denom = √(v/(1−β2ᵗ) + ε)."""
    b1, b2, eps = hp["b1"], hp["b2"], hp["eps"]
    m = np.zeros(np.shape(x0))
    v = np.zeros(np.shape(x0))
    vmax = np.zeros(np.shape(x0))

    def rule(x, g, lr, t):
        nonlocal m, v, vmax
        m = b1 * m + (1.0 - b1) * g
        v = b2 * v + (1.0 - b2) * g * g
        second = v
        if hp.get("amsgrad", False):
            vmax = np.maximum(vmax, v)
            second = vmax
        if hp.get("bias_correction", True):
            bc1, bc2 = 1.0 - b1 ** t, 1.0 - b2 ** t
        else:
            bc1, bc2 = 1.0, 1.0
        if hp.get("eps_inside", False):
            denom = np.sqrt(second / bc2 + eps)
        else:
            denom = np.sqrt(second) / math.sqrt(bc2) + eps
        return x - (lr / bc1) * m / denom
    return _run(x0, hp, grads, steps, lrs, rule, decoupled=decoupled)


def adam(x0, hp, grads, steps=None, lrs=None):
    """torch.optim.Adam (weight decay L2 unless ``decoupled_weight_decay``)."""
    return _adam(x0, hp, grads, steps, lrs, decoupled=None)


def adamw(x0, hp, grads, steps=None, lrs=None):
    """torch.optim.AdamW: Adam after x ← x·(1 − lr·λ) (λ = weight_decay, torch default 1e-2)."""
    return _adam(x0, hp, grads, steps, lrs, decoupled=True)


def adamax(x0, hp, grads, steps=None, lrs=None):
    """torch.optim.Adamax: m ← β1·m + (1−β1)·g ; u ← max(β2·u, |g| + ε) ;
    x ← x − (lr/(1−β1ᵗ))·m/u."""
    b1, b2, eps = hp["b1"], hp["b2"], hp["eps"]
    m = np.zeros(np.shape(x0))
    u = np.zeros(np.shape(x0))

    def rule(x, g, lr, t):
        nonlocal m, u
        m = b1 * m + (1.0 - b1) * g
        u = np.maximum(b2 * u, np.abs(g) + eps)
        return x - (lr / (1.0 - b1 ** t)) * m / u
    return _run(x0, hp, grads, steps, lrs, rule)


def nadam(x0, hp, grads, steps=None, lrs=None):
    """torch.optim.NAdam (Dozat 2016 with torch's momentum schedule):
    μₜ = β1·(1 − ½·0.96^(t·ψ)) (ψ = momentum_decay), Πₜ = μ₁⋯μₜ ;
    m ← β1·m + (1−β1)·g ; v ← β2·v + (1−β2)·g² ; denom = √(v/(1−β2ᵗ)) + ε ;
    x ← x − lr·(1−μₜ)/(1−Πₜ)·g/denom − lr·μₜ₊₁/(1−Πₜ·μₜ₊₁)·m/denom."""
    b1, b2, eps, psi = hp["b1"], hp["b2"], hp["eps"], hp["momentum_decay"]
    m = np.zeros(np.shape(x0))
    v = np.zeros(np.shape(x0))
    prod = 1.0

    def rule(x, g, lr, t):
        nonlocal m, v, prod
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        prod = prod * mu
        m = b1 * m + (1.0 - b1) * g
        v = b2 * v + (1.0 - b2) * g * g
        denom = np.sqrt(v / (1.0 - b2 ** t)) + eps
        x = x - lr * (1.0 - mu) / (1.0 - prod) * g / denom
        return x - lr * mu_next / (1.0 - prod * mu_next) * m / denom
    return _run(x0, hp, grads, steps, lrs, rule)


def radam(x0, hp, grads, steps=None, lrs=None):
    """torch.optim.RAdam (Liu et al. 2020): m, v as Adam, m̂ = m/(1−β1ᵗ) ;
    ρ∞ = 2/(1−β2) − 1, ρₜ = ρ∞ − 2t·β2ᵗ/(1−β2ᵗ) ; if ρₜ > 5:
    r = √((ρₜ−4)(ρₜ−2)ρ∞/((ρ∞−4)(ρ∞−2)ρₜ)), x ← x − lr·m̂·r·√(1−β2ᵗ)/(√v + ε) ;
    else x ← x − lr·m̂."""
    b1, b2, eps = hp["b1"], hp["b2"], hp["eps"]
    m = np.zeros(np.shape(x0))
    v = np.zeros(np.shape(x0))
    rho_inf = 2.0 / (1.0 - b2) - 1.0

    def rule(x, g, lr, t):
        nonlocal m, v
        m = b1 * m + (1.0 - b1) * g
        v = b2 * v + (1.0 - b2) * g * g
        bc2 = 1.0 - b2 ** t
        mhat = m / (1.0 - b1 ** t)
        rho = rho_inf - 2.0 * t * b2 ** t / bc2
        if rho > 5.0:
            r = math.sqrt((rho - 4.0) * (rho - 2.0) * rho_inf
                          / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho))
            return x - lr * mhat * r * math.sqrt(bc2) / (np.sqrt(v) + eps)
        return x - lr * mhat
    return _run(x0, hp, grads, steps, lrs, rule)


def adadelta(x0, hp, grads, steps=None, lrs=None):
    """torch.optim.Adadelta (Zeiler 2012): v ← ρ·v + (1−ρ)·g² ;
    δ = √(u + ε)/√(v + ε)·g ; u ← ρ·u + (1−ρ)·δ² ; x ← x − lr·δ."""
    rho, eps = hp["rho"], hp["eps"]
    v = np.zeros(np.shape(x0))
    u = np.zeros(np.shape(x0))

    def rule(x, g, lr, t):
        nonlocal v, u
        v = rho * v + (1.0 - rho) * g * g
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u = rho * u + (1.0 - rho) * delta * delta
        return x - lr * delta
    return _run(x0, hp, grads, steps, lrs, rule)


def rprop(x0, hp, grads, steps=None, lrs=None):
    """torch.optim.Rprop: per coordinate, with the previous (possibly zeroed) gradient p (0 at
    first) and step size s (the first step's lr at first): if g·p > 0, s ← min(s·η₊, s_max);
    if g·p < 0, s ← max(s·η₋, s_min) and g ← 0; else s is kept (clamped to [s_min, s_max]) ;
    x ← x − sign(g)·s ; p ← g. The learning rate enters only as the initial step size."""
    em, ep = hp["etaminus"], hp["etaplus"]
    smin, smax = hp["step_min"], hp["step_max"]
    prev = np.zeros(np.shape(x0))
    size = None

    def rule(x, g, lr, t):
        nonlocal prev, size
        if size is None:
            size = np.full(np.shape(x0), lr, dtype=np.float64)
        g = g.copy()
        for i in range(len(g)):
            s = g[i] * prev[i]
            if s > 0:
                size[i] = size[i] * ep
            elif s < 0:
                size[i] = size[i] * em
                g[i] = 0.0
            size[i] = min(max(size[i], smin), smax)
        prev = g
        return x - np.sign(g) * size
    return _run(x0, hp, grads, steps, lrs, rule)


def lion(x0, hp, grads, steps=None, lrs=None):
    """Lion (Chen et al. 2023, Algorithm 2; optax.lion): c = β1·m + (1−β1)·g ;
    x ← x − lr·(sign(c) + λ·x) ; m ← β2·m + (1−β2)·g  (λ = weight_decay)."""
    b1, b2 = hp["b1"], hp["b2"]
    lam = hp.get("weight_decay", 0.0)
    m = np.zeros(np.shape(x0))

    def rule(x, g, lr, t):
        nonlocal m
        c = b1 * m + (1.0 - b1) * g
        x = x - lr * (np.sign(c) + lam * x)
        m = b2 * m + (1.0 - b2) * g
        return x
    return _run(x0, hp, grads, steps, lrs, rule, decay=False)


def signsgd(x0, hp, grads, steps=None, lrs=None):
    """signSGD (Bernstein et al. 2018): x ← x − lr·sign(g)."""
    return _run(x0, hp, grads, steps, lrs, lambda x, g, lr, t: x - lr * np.sign(g))


def signum(x0, hp, grads, steps=None, lrs=None):
    """Signum (Bernstein et al. 2018): m ← β·m + (1−β)·g ; x ← x − lr·sign(m)."""
    beta = hp["momentum"]
    m = np.zeros(np.shape(x0))

    def rule(x, g, lr, t):
        nonlocal m
        m = beta * m + (1.0 - beta) * g
        return x - lr * np.sign(m)
    return _run(x0, hp, grads, steps, lrs, rule)


OPTIMIZERS = {"sgd": sgd, "momentum": momentum, "nesterov": nesterov, "adagrad": adagrad,
              "rmsprop": rmsprop, "adam": adam, "adamw": adamw, "adamax": adamax,
              "nadam": nadam, "radam": radam, "adadelta": adadelta, "rprop": rprop,
              "lion": lion, "signsgd": signsgd, "signum": signum}


def optimize(kind, x0, hp, grads, steps=None, lrs=None):
    """Positions after each step of optimizer ``kind`` (see the per-kind references)."""
    return OPTIMIZERS[kind](x0, hp, grads, steps, lrs)


# ---- learning-rate schedules ----------------------------------------------------------------
#
# torch.optim.lr_scheduler's closed forms at scheduler epoch e = t − 1 (the lr that step t = 1,
# 2, … uses when ``scheduler.step()`` follows every ``optimizer.step()``).

def schedule_factor(kind, e, **p):
    """The factor lr_e/lr of schedule ``kind`` at epoch e (cosine: the lr itself needs eta_min,
    see :func:`lr_sequence`)."""
    if kind == "constant":
        return 1.0
    if kind == "step":                     # StepLR
        return p["gamma"] ** (e // p["step_size"])
    if kind == "multistep":                # MultiStepLR: milestones passed so far
        return p["gamma"] ** sum(1 for m in p["milestones"] if m <= e)
    if kind == "exponential":              # ExponentialLR
        return p["gamma"] ** e
    if kind == "inverse_time":             # LambdaLR(lambda e: 1/(1 + γ·e))
        return 1.0 / (1.0 + p["gamma"] * e)
    raise ValueError(kind)


def lr_sequence(lr, steps, kind="constant", warmup=0, start_factor=1.0, **p):
    """The learning rate of steps t = 1 … steps: ``warmup`` steps of LinearLR (factor
    start_factor + (1 − start_factor)·e/W), then (SequentialLR) schedule ``kind`` from its
    epoch 0. cosine (CosineAnnealingLR): eta_min + (lr − eta_min)·(1 + cos(π·e/T_max))/2."""
    out = []
    for t in range(1, steps + 1):
        e = t - 1
        if e < warmup:
            out.append(lr * (start_factor + (1.0 - start_factor) * e / warmup))
            continue
        e -= warmup
        if kind == "cosine":
            eta_min = p.get("eta_min", 0.0)
            out.append(eta_min + (lr - eta_min) * (1.0 + math.cos(math.pi * e / p["T_max"])) / 2)
        else:
            out.append(lr * schedule_factor(kind, e, **p))
    return np.array(out)


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


def unpack_peaks(params, dim):
    """(centres in x, log heights, λ, R) from a GaussianPeaks instance's packed ``params`` row:
    ``[header, P, R (dim·dim, row-major), P × (log w, R·c (dim), λ (dim))]``, at the offsets
    that ``kernels.layout.peaks`` declares."""
    p = np.asarray(params, dtype=np.float64)
    lay = layout.peaks(dim)
    P = int(p[lay.count])
    R = p[lay.rot:lay.rot + dim * dim].reshape(dim, dim)
    rows = p[lay.first:lay.first + P * lay.stride].reshape(P, lay.stride)
    logw = rows[:, lay.logw]
    yc = rows[:, lay.centre:lay.centre + dim]
    lam = rows[:, lay.lam:lay.lam + dim]
    centres = yc @ R                                           # cₖ = Rᵀ ỹₖ, row-wise
    return centres, logw, lam, R


def unpack_shifted(params, dim):
    """(s, R) from a shifted instance's ``params``: ``[header, s (dim), R (dim·dim), …]``, at
    the offsets that ``kernels.layout.shifted`` declares."""
    p = np.asarray(params, dtype=np.float64)
    lay = layout.shifted(dim)
    return (p[lay.shift:lay.shift + dim].copy(),
            p[lay.rot:lay.rot + dim * dim].reshape(dim, dim).copy())


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
    h, dh = SHIFTED[inst.family.row.naive]
    return shifted(h, dh, s, R)


def gradient_descent(grad, x0, lr, steps):
    """Plain gradient descent x ← x − lr·∇f(x) on a batch of points (n, d); returns the end
    points and the gradient there."""
    x = np.array(x0, dtype=np.float64)
    for _ in range(steps):
        x = x - lr * grad(x)
    return x, grad(x)


# --------------------------------------------------------------------------------------------
# Hessians (issue 23: curvature-shaped noise needs diag ∇²f): the full Hessian of each h (and of
# the double well and Gaussian peaks), shape (..., d, d), by differentiating the formulas above
# term by term; ``<name>_hessian_diag`` its diagonal (the unrotated instance's diag ∇²f), and
# :func:`hessian_diag_for_instance` diag(Rᵀ ∇²h(R(x − s)) R) of any instance. The registry's
# ``Row.hessian_diag`` names the ``<name>_hessian_diag`` here.
# --------------------------------------------------------------------------------------------

def _diag_matrix(v):
    """(..., d) → (..., d, d) with v on the diagonal."""
    v = np.asarray(v, dtype=np.float64)
    return v[..., :, None] * np.eye(v.shape[-1])


def _diagonal(H):
    return np.diagonal(H, axis1=-2, axis2=-1).copy()


def rastrigin_hessian(z):
    """diag(2 + 40π² cos 2πzᵢ)."""
    z = np.asarray(z, dtype=np.float64)
    return _diag_matrix(2.0 + 40.0 * math.pi ** 2 * np.cos(TWO_PI * z))


def ackley_hessian(z):
    """A = φ(r), φ(r) = −20e^{−0.2r}, r = |z|/√d: ∇²A = φ''(r)∇r∇rᵀ + φ'(r)∇²r with
    ∇r = z/(d r), ∇²r = I/(d r) − z zᵀ/(d² r³); B = −e^{C/d}, C = Σ cos 2πzⱼ:
    ∇²B = −e^{C/d}(∇(C/d)∇(C/d)ᵀ + ∇²(C/d)), ∇(C/d) = −2π sin 2πz/d,
    ∇²(C/d) = −4π² diag(cos 2πz)/d. Needs r > 0."""
    z = np.asarray(z, dtype=np.float64)
    d = z.shape[-1]
    r = np.sqrt(np.sum(z ** 2, axis=-1) / d)[..., None, None]
    dphi = 4.0 * np.exp(-0.2 * r)
    ddphi = -0.8 * np.exp(-0.2 * r)
    zz = z[..., :, None] * z[..., None, :]
    grad_r_outer = zz / (d * r) ** 2
    hess_r = np.eye(d) / (d * r) - zz / (d ** 2 * r ** 3)
    e2 = np.exp(np.sum(np.cos(TWO_PI * z), axis=-1) / d)[..., None, None]
    gc = -TWO_PI * np.sin(TWO_PI * z) / d
    hc = _diag_matrix(-TWO_PI ** 2 * np.cos(TWO_PI * z) / d)
    return ddphi * grad_r_outer + dphi * hess_r \
        - e2 * (gc[..., :, None] * gc[..., None, :] + hc)


def griewank_hessian(z):
    """−∂²/∂zᵢ∂zₖ of Πⱼ cos(zⱼ/√j) plus I/2000: diagonal 1/2000 + (cos(zᵢ/√i)/i)Π_{j≠i}cos,
    off-diagonal −(sin(zᵢ/√i)/√i)(sin(zₖ/√k)/√k)Π_{j≠i,k}cos."""
    z = np.asarray(z, dtype=np.float64)
    d = z.shape[-1]
    q = np.sqrt(np.arange(1, d + 1))
    c = np.cos(z / q)
    s = np.sin(z / q)
    H = np.empty(z.shape + (d,))
    for i in range(d):
        for k in range(d):
            rest = np.prod(np.delete(c, [i, k], axis=-1), axis=-1)
            if i == k:
                H[..., i, i] = 1.0 / 2000.0 + c[..., i] / q[i] ** 2 * rest
            else:
                H[..., i, k] = -(s[..., i] / q[i]) * (s[..., k] / q[k]) * rest
    return H


def levy_hessian(z):
    """Diagonal (each term has one wᵢ), d²/dzᵢ² = ¹⁄₁₆ d²/dwᵢ² of: sin²(πw₁) → 2π² cos 2πw₁;
    (w−1)²(1 + 10 sin²(πw + 1)), i < d → 2(1 + 10 sin²a) + 40(w−1)π sin 2a + 20π²(w−1)² cos 2a;
    (w_d−1)²(1 + sin²(2πw_d)) → 2(1 + sin²2πw) + 8π(w−1) sin 4πw + 8π²(w−1)² cos 4πw."""
    z = np.asarray(z, dtype=np.float64)
    w = 1.0 + z / 4.0
    dd = np.zeros_like(w)
    dd[..., 0] += 2.0 * math.pi ** 2 * np.cos(TWO_PI * w[..., 0])
    wm = w[..., :-1]
    a = math.pi * wm + 1.0
    dd[..., :-1] += 2.0 * (1.0 + 10.0 * np.sin(a) ** 2) + 40.0 * (wm - 1.0) * math.pi \
        * np.sin(2.0 * a) + 20.0 * math.pi ** 2 * (wm - 1.0) ** 2 * np.cos(2.0 * a)
    wl = w[..., -1]
    dd[..., -1] += 2.0 * (1.0 + np.sin(TWO_PI * wl) ** 2) \
        + 8.0 * math.pi * (wl - 1.0) * np.sin(2.0 * TWO_PI * wl) \
        + 8.0 * math.pi ** 2 * (wl - 1.0) ** 2 * np.cos(2.0 * TWO_PI * wl)
    return _diag_matrix(dd / 16.0)


def styblinski_tang_hessian(z):
    """diag(6zᵢ² − 16)."""
    z = np.asarray(z, dtype=np.float64)
    return _diag_matrix(6.0 * z ** 2 - 16.0)


def himmelblau_hessian(z):
    """[[4a + 8z₁² + 2, 4z₁ + 4z₂], [4z₁ + 4z₂, 4b + 8z₂² + 2]]."""
    z = np.asarray(z, dtype=np.float64)
    x, y = z[..., 0], z[..., 1]
    a = x ** 2 + y - 11.0
    b = x + y ** 2 - 7.0
    off = 4.0 * x + 4.0 * y
    return np.stack([np.stack([4.0 * a + 8.0 * x ** 2 + 2.0, off], axis=-1),
                     np.stack([off, 4.0 * b + 8.0 * y ** 2 + 2.0], axis=-1)], axis=-2)


def double_well_hessian(x, tilt):
    """diag(3x₁² − 1, 1, …, 1) (the tilt is linear)."""
    x = np.asarray(x, dtype=np.float64)
    v = np.ones_like(x)
    v[..., 0] = 3.0 * x[..., 0] ** 2 - 1.0
    return _diag_matrix(v)


def gaussian_peaks_hessian(centres, log_heights, lam, R):
    """x → ∇²f(x) for the active peak k: f = −wₖe^{−qₖ/2}, qₖ = (x − cₖ)ᵀAₖ(x − cₖ), so
    ∇²f = wₖe^{−qₖ/2}(Aₖ − Aₖ(x − cₖ)(x − cₖ)ᵀAₖ), Aₖ = Rᵀ diag(λₖ) R (in x coordinates)."""
    centres = np.asarray(centres, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    A = np.einsum("ji,kj,jl->kil", R, np.asarray(lam, dtype=np.float64), R)
    _, _, logvals = gaussian_peaks(centres, log_heights, lam, R)

    def hess(x):
        x = np.asarray(x, dtype=np.float64)
        lv = logvals(x)
        k = np.argmax(lv, axis=-1)
        E = np.exp(np.take_along_axis(lv, k[..., None], axis=-1))[..., None]
        Ak = A[k]
        ad = np.einsum("...il,...l->...i", Ak, x - centres[k])
        return E * (Ak - ad[..., :, None] * ad[..., None, :])

    return hess


def _diag_of(hess):
    """z → the diagonal of hess(z)."""
    return lambda z: _diagonal(hess(z))


rastrigin_hessian_diag = _diag_of(rastrigin_hessian)
ackley_hessian_diag = _diag_of(ackley_hessian)
griewank_hessian_diag = _diag_of(griewank_hessian)
levy_hessian_diag = _diag_of(levy_hessian)
styblinski_tang_hessian_diag = _diag_of(styblinski_tang_hessian)
himmelblau_hessian_diag = _diag_of(himmelblau_hessian)


def double_well_hessian_diag(x, tilt):
    return _diagonal(double_well_hessian(x, tilt))


def gaussian_peaks_hessian_diag(centres, log_heights, lam, R):
    """x → diag ∇²f(x) (see :func:`gaussian_peaks_hessian`)."""
    hess = gaussian_peaks_hessian(centres, log_heights, lam, R)
    return lambda x: _diagonal(hess(x))


SHIFTED_HESSIANS = {"rastrigin": rastrigin_hessian, "ackley": ackley_hessian,
                    "griewank": griewank_hessian, "levy": levy_hessian,
                    "styblinski_tang": styblinski_tang_hessian,
                    "himmelblau": himmelblau_hessian}


def shifted_hessian_diag(hess, s, R):
    """x → diag(Rᵀ ∇²h(R(x − s)) R), i.e. diag ∇²f of f(x) = h(R(x − s))."""
    s = np.asarray(s, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)

    def diag(x):
        H = hess((np.asarray(x, dtype=np.float64) - s) @ R.T)
        return np.einsum("ji,...jk,ki->...i", R, H, R)

    return diag


def hessian_diag_for_instance(inst):
    """x → diag ∇²f(x) of a swarm landscape instance, from the Hessians above."""
    name = inst.family.name
    d = inst.dim
    if name == "double_well":
        c = inst.family.tilt
        return lambda x: double_well_hessian_diag(x, c)
    if name == "gaussian_peaks":
        return gaussian_peaks_hessian_diag(*unpack_peaks(inst.params, d))
    s, R = unpack_shifted(inst.params, d)
    if not inst.family.rotate:
        R = np.eye(d)
    return shifted_hessian_diag(SHIFTED_HESSIANS[inst.family.row.naive], s, R)
