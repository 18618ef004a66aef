"""Optimizer update rules, one coordinate-loop per kind, canonical torch.optim forms.

``update(kind, hp, t, x, g, s1, s2, s3, dim)`` advances the position ``x`` in place by one step
``t = 1, 2, …`` given the (possibly noisy) gradient ``g``; ``s1, s2, s3`` are the kind's state
arrays (zero-initialised by ``init``). Formulas (``../shared/reference/optimizers.md``):

- SGD:       x ← x − lr·g
- Momentum:  b ← μ·b + g ;  x ← x − lr·b                                   (torch, dampening 0)
- Nesterov:  b ← μ·b + g ;  x ← x − lr·(g + μ·b)                            (torch, nesterov=True)
- Adagrad:   S ← S + g² ;   x ← x − lr·g/(√S + ε)                           (Duchi et al. 2011)
- RMSprop:   v ← α·v + (1−α)·g² ; [centered: ḡ ← α·ḡ + (1−α)·g, v − ḡ²] ;
             x ← x − lr·g/(√v + ε)                                          (Tieleman & Hinton 2012)
- Adam:      m ← β1·m + (1−β1)·g ; v ← β2·v + (1−β2)·g² ; m̂ = m/(1−β1ᵗ) ; v̂ = v/(1−β2ᵗ) ;
             x ← x − lr·m̂/(√v̂ + ε)                                          (Kingma & Ba 2015, Alg. 1)

Real variants are hyperparameter columns: bias correction (Adam, RMSprop: v̂ = v/(1−αᵗ)), ε inside
the root (√(v̂ + ε)), Adagrad's initial accumulator, centered RMSprop. Bias corrections are
computed from the absolute step ``t`` (never a running product), so chunking cannot change them.
"""
import math

from . import ids


def make(jit, F):
    one = F(1.0)
    zero = F(0.0)

    @jit
    def init(kind, hp, s1, s2, s3, dim):
        s0 = hp[ids.HP_S0] if kind == ids.ADAGRAD else zero
        for j in range(dim):
            s1[j] = s0
            s2[j] = zero
            s3[j] = zero

    @jit
    def denom(v, eps, eps_inside):
        if eps_inside:
            return math.sqrt(v + eps)
        return math.sqrt(v) + eps

    @jit
    def update(kind, hp, t, x, g, s1, s2, s3, dim):
        lr = hp[ids.HP_LR]
        if kind == ids.SGD:
            for j in range(dim):
                x[j] -= lr * g[j]
        elif kind == ids.MOMENTUM:
            mu = hp[ids.HP_A]
            for j in range(dim):
                s1[j] = mu * s1[j] + g[j]
                x[j] -= lr * s1[j]
        elif kind == ids.NESTEROV:
            mu = hp[ids.HP_A]
            for j in range(dim):
                s1[j] = mu * s1[j] + g[j]
                x[j] -= lr * (g[j] + mu * s1[j])
        elif kind == ids.ADAGRAD:
            eps = hp[ids.HP_EPS]
            inside = hp[ids.HP_EPS_IN] != zero
            for j in range(dim):
                s1[j] += g[j] * g[j]
                x[j] -= lr * g[j] / denom(s1[j], eps, inside)
        elif kind == ids.RMSPROP:
            a = hp[ids.HP_A]
            eps = hp[ids.HP_EPS]
            inside = hp[ids.HP_EPS_IN] != zero
            centered = hp[ids.HP_CENTERED] != zero
            bc = one - a ** F(t) if hp[ids.HP_BIAS] != zero else one
            for j in range(dim):
                s1[j] = a * s1[j] + (one - a) * g[j] * g[j]
                v = s1[j] / bc
                if centered:
                    s2[j] = a * s2[j] + (one - a) * g[j]
                    gm = s2[j] / bc
                    v = v - gm * gm
                x[j] -= lr * g[j] / denom(v, eps, inside)
        else:  # ADAM
            b1 = hp[ids.HP_A]
            b2 = hp[ids.HP_B]
            eps = hp[ids.HP_EPS]
            inside = hp[ids.HP_EPS_IN] != zero
            if hp[ids.HP_BIAS] != zero:
                bc1 = one - b1 ** F(t)
                bc2 = one - b2 ** F(t)
            else:
                bc1 = one
                bc2 = one
            for j in range(dim):
                s1[j] = b1 * s1[j] + (one - b1) * g[j]
                s2[j] = b2 * s2[j] + (one - b2) * g[j] * g[j]
                x[j] -= lr * (s1[j] / bc1) / denom(s2[j] / bc2, eps, inside)

    return init, update
