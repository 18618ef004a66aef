"""Optimizer update rules, canonical torch.optim forms, over a block of lanes.

``update(kind, hp, t, x, g, s1, s2, s3, dim)`` advances the positions ``x`` (``(dim, L)``) in
place by one step ``t = 1, 2, …`` given the (possibly noisy) gradients ``g``; ``s1, s2, s3`` are
the kind's state (zero-initialised by ``init``, Adagrad's by its initial accumulator). All
lanes of a block share one hyperparameter row ``hp``. Formulas
(``docs/optimizers.md``):

- SGD:       x ← x − lr·g
- Momentum:  b ← μ·b + g ;  x ← x − lr·b                                   (torch, dampening 0)
- Nesterov:  b ← μ·b + g ;  x ← x − lr·(g + μ·b)                            (torch, nesterov=True)
- Adagrad:   S ← S + g² ;   x ← x − lr·g/(√S + ε)                           (Duchi et al. 2011)
- RMSprop:   v ← α·v + (1−α)·g² ; [centered: ḡ ← α·ḡ + (1−α)·g, v − ḡ²] ;
             x ← x − lr·g/(√v + ε)                                          (Tieleman & Hinton 2012)
- Adam:      m ← β1·m + (1−β1)·g ; v ← β2·v + (1−β2)·g² ; m̂ = m/(1−β1ᵗ) ; v̂ = v/(1−β2ᵗ) ;
             x ← x − lr·m̂/(√v̂ + ε)                                          (Kingma & Ba 2015, Alg. 1)

Centered RMSprop clamps ``v − ḡ²`` (a variance) at 0: rounding can make it slightly negative,
and torch's √ would then turn a healthy trajectory into NaN. Real variants are hyperparameter
columns: bias correction (Adam; RMSprop: v̂ = v/(1−αᵗ)), ε
inside the root (√(v̂ + ε)), Adagrad's initial accumulator, centered RMSprop. Bias corrections
are computed from the absolute step ``t`` (never a running product), once per step for the
whole block: ``1 − βᵗ = −expm1(t·log β)`` with ``log β`` precomputed on the host (expm1 keeps
float32 accurate where ``1 − exp`` would cancel).
"""
import math

from . import fma as _fma
from . import ids


def make(jit, F, L, cold=None, fma=None):
    cold = cold or jit
    fma = fma or _fma.cpu(jit)
    lanes = ids.lane_count(jit, L)
    one = F(1.0)
    zero = F(0.0)

    @jit
    def init(kind, hp, s1, s2, s3, dim):
        L = lanes(s1)
        s0 = hp[ids.HP_S0] if kind == ids.ADAGRAD else zero
        for j in range(dim):
            for k in range(L):
                s1[j, k] = s0
                s2[j, k] = zero
                s3[j, k] = zero

    @jit
    def denom(v, eps, eps_inside):
        if eps_inside:
            return math.sqrt(v + eps)
        return math.sqrt(v) + eps

    @jit
    def update(kind, hp, t, x, g, s1, s2, s3, dim):
        L = lanes(x)
        lr = hp[ids.HP_LR]
        if kind == ids.SGD:
            for j in range(dim):
                for k in range(L):
                    x[j, k] = fma(-lr, g[j, k], x[j, k])
        elif kind == ids.MOMENTUM:
            mu = hp[ids.HP_A]
            for j in range(dim):
                for k in range(L):
                    s1[j, k] = fma(mu, s1[j, k], g[j, k])
                    x[j, k] = fma(-lr, s1[j, k], x[j, k])
        elif kind == ids.NESTEROV:
            mu = hp[ids.HP_A]
            for j in range(dim):
                for k in range(L):
                    s1[j, k] = fma(mu, s1[j, k], g[j, k])
                    x[j, k] = fma(-lr, fma(mu, s1[j, k], g[j, k]), x[j, k])
        elif kind == ids.ADAGRAD:
            eps = hp[ids.HP_EPS]
            inside = hp[ids.HP_EPS_IN] != zero
            for j in range(dim):
                for k in range(L):
                    s1[j, k] = fma(g[j, k], g[j, k], s1[j, k])
                    x[j, k] -= lr * g[j, k] / denom(s1[j, k], eps, inside)
        elif kind == ids.RMSPROP:
            a = hp[ids.HP_A]
            eps = hp[ids.HP_EPS]
            inside = hp[ids.HP_EPS_IN] != zero
            centered = hp[ids.HP_CENTERED] != zero
            # 1/(1 − αᵗ) once per step: a multiply per lane instead of a divide
            rc = one / -math.expm1(F(t) * hp[ids.HP_LOG_A]) if hp[ids.HP_BIAS] != zero else one
            for j in range(dim):
                for k in range(L):
                    s1[j, k] = fma(a, s1[j, k], (one - a) * g[j, k] * g[j, k])
                    v = s1[j, k] * rc
                    if centered:
                        s2[j, k] = fma(a, s2[j, k], (one - a) * g[j, k])
                        gm = s2[j, k] * rc
                        v = max(fma(-gm, gm, v), zero)   # a variance; rounding may dip below 0
                    x[j, k] -= lr * g[j, k] / denom(v, eps, inside)
        else:  # ADAM
            b1 = hp[ids.HP_A]
            b2 = hp[ids.HP_B]
            eps = hp[ids.HP_EPS]
            inside = hp[ids.HP_EPS_IN] != zero
            # x ← x − (lr/(1−β1ᵗ))·m / (√(v·(1/(1−β2ᵗ))) + ε): the per-step factors hoisted,
            # one divide and one root per lane instead of three divides and a root
            step = lr
            rb2 = one
            if hp[ids.HP_BIAS] != zero:
                step = F(lr / -math.expm1(F(t) * hp[ids.HP_LOG_A]))
                rb2 = F(one / -math.expm1(F(t) * hp[ids.HP_LOG_B]))
            for j in range(dim):
                for k in range(L):
                    s1[j, k] = fma(b1, s1[j, k], (one - b1) * g[j, k])
                    s2[j, k] = fma(b2, s2[j, k], (one - b2) * g[j, k] * g[j, k])
                    x[j, k] -= step * s1[j, k] / denom(s2[j, k] * rb2, eps, inside)

    return init, update
