"""Optimizer update rules, canonical torch.optim forms, over a block of lanes.

One function per rule, ``rule(hp, lr, t, x, g, s1, s2, s3, os, dim)``: it advances the
positions ``x`` (``(dim, L)``) in place by update ``t = 1, 2, …`` with learning rate ``lr``
given the (possibly noisy, clipped, weight-decayed) gradients ``g``; ``s1, s2, s3`` are the
rule's state (zero-initialised by ``init``, Adagrad's by its initial accumulator) and ``os`` a
per-lane scalar state (1 initially: NAdam's running μ product). All lanes of a block share one
hyperparameter row ``hp`` (columns in :mod:`.ids`). ``RULES`` maps every kernel id to its rule
and the dispatch is built from it: an id without a rule fails at import, and the (unreachable)
end of the dispatch poisons the positions with NaN rather than run another optimizer.
Formulas (``docs/optimizers.md``):

- SGD:       x ← x − lr·g
- Momentum:  b ← μ·b + (1−d)·g (b₁ = g) ;  x ← x − lr·b                 (torch, dampening d)
- Nesterov:  b ← μ·b + g ;  x ← x − lr·(g + μ·b)                            (torch, nesterov=True)
- Adagrad:   S ← S + g² ;   x ← x − lr·g/(√S + ε)                           (Duchi et al. 2011)
- RMSprop:   v ← α·v + (1−α)·g² ; [centered: ḡ ← α·ḡ + (1−α)·g, v − ḡ²] ;
             x ← x − lr·g/(√v + ε)                                          (Tieleman & Hinton 2012)
- Adam:      m ← β1·m + (1−β1)·g ; v ← β2·v + (1−β2)·g² ; [AMSGrad: v̄ ← max(v̄, v)] ;
             x ← x − lr·m̂/(√v̂ + ε)                                          (Kingma & Ba 2015, Alg. 1)
- Adamax:    m ← β1·m + (1−β1)·g ; u ← max(β2·u, |g| + ε) ; x ← x − (lr/(1−β1ᵗ))·m/u   (torch)
- NAdam:     μₜ = β1·(1 − ½·0.96^(tψ)) ; Πₜ = Π μᵢ ; m, v as Adam ; d = √(v/(1−β2ᵗ)) + ε ;
             x ← x − lr·(1−μₜ)/(1−Πₜ)·g/d − lr·μₜ₊₁/(1−Πₜ·μₜ₊₁)·m/d          (torch, Dozat 2016)
- RAdam:     m, v as Adam ; ρ∞ = 2/(1−β2) − 1 ; ρₜ = ρ∞ − 2tβ2ᵗ/(1−β2ᵗ) ; ρₜ > 5:
             x ← x − lr·m̂·r·√(1−β2ᵗ)/(√v + ε), r = √((ρₜ−4)(ρₜ−2)ρ∞/((ρ∞−4)(ρ∞−2)ρₜ)) ;
             else x ← x − lr·m̂                                               (torch, Liu et al. 2020)
- Adadelta:  v ← ρ·v + (1−ρ)·g² ; δ = √(u + ε)/√(v + ε)·g ; u ← ρ·u + (1−ρ)·δ² ; x ← x − lr·δ
- Rprop:     p = g·g₋ ; η = η₊ (p > 0), η₋ (p < 0), 1 ; Δ ← clamp(Δ·η, Δmin, Δmax) (Δ₀ = lr) ;
             g ← 0 where p < 0 ; x ← x − sign(g)·Δ ; g₋ ← g                 (torch)
- Lion:      c = β1·m + (1−β1)·g ; x ← x − lr·sign(c) ; m ← β2·m + (1−β2)·g   (Chen et al. 2023)
- Signum:    m ← β·m + (1−β)·g ; x ← x − lr·sign(m)  (signSGD: β = 0)     (Bernstein et al. 2018)

``update`` runs, in order: the learning rate of step ``t`` from the schedule
(:mod:`.schedules`), gradient clipping (the lane's 2-norm to ``HP_CLIP_NORM`` as torch's
``clip_grad_norm_``, then each coordinate to ``±HP_CLIP_VALUE``), weight decay (torch's L2
``g ← g + λ·x``, or decoupled ``x ← x·(1 − lr·λ)``: AdamW, Lion), then the rule.

Centered RMSprop clamps ``v − ḡ²`` (a variance) at 0: rounding can make it slightly negative,
and torch's √ would then turn a healthy trajectory into NaN. Adam's and RMSprop's bias
corrections are computed from the absolute step ``t`` (never a running product), once per step
for the whole block: ``1 − βᵗ = −expm1(t·log β)`` with ``log β`` precomputed on the host
(expm1 keeps float32 accurate where ``1 − exp`` would cancel). RAdam's and NAdam's per-step
factors follow torch's expressions (``β**t``), so that RAdam's ``ρₜ > 5`` branch is taken at the
same step as torch's.
"""
import math

from . import fma as _fma
from . import dispatch, ids, schedules


def make(jit, F, L, cold=None, fma=None):
    """``(init, update)`` for working dtype ``F`` and ``L`` lanes (see the module docstring)."""
    fma = fma or _fma.cpu(jit)
    lanes = ids.lane_count(jit, L)
    lr_at = schedules.make(jit, F, fma)
    one = F(1.0)
    zero = F(0.0)
    half = F(0.5)
    two = F(2.0)
    nan = F(math.nan)

    @jit
    def denom(v, eps, eps_inside):
        if eps_inside:
            return math.sqrt(v + eps)
        return math.sqrt(v) + eps

    @jit
    def sign(v):
        """torch.sign: ±1, and 0 for ±0 (NaN stays NaN)."""
        return one if v > zero else (-one if v < zero else v)

    @jit
    def sgd(hp, lr, t, x, g, s1, s2, s3, os, dim):
        for j in range(dim):
            for k in range(lanes(x)):
                x[j, k] = fma(-lr, g[j, k], x[j, k])

    @jit
    def momentum(hp, lr, t, x, g, s1, s2, s3, os, dim):
        mu = hp[ids.HP_A]
        c = one - hp[ids.HP_DAMPENING] if t > 1 else one     # torch: the first buffer is g
        for j in range(dim):
            for k in range(lanes(x)):
                s1[j, k] = fma(mu, s1[j, k], c * g[j, k])
                x[j, k] = fma(-lr, s1[j, k], x[j, k])

    @jit
    def nesterov(hp, lr, t, x, g, s1, s2, s3, os, dim):
        mu = hp[ids.HP_A]
        for j in range(dim):
            for k in range(lanes(x)):
                s1[j, k] = fma(mu, s1[j, k], g[j, k])
                x[j, k] = fma(-lr, fma(mu, s1[j, k], g[j, k]), x[j, k])

    @jit
    def adagrad(hp, lr, t, x, g, s1, s2, s3, os, dim):
        eps = hp[ids.HP_EPS]
        inside = hp[ids.HP_EPS_IN] != zero
        for j in range(dim):
            for k in range(lanes(x)):
                s1[j, k] = fma(g[j, k], g[j, k], s1[j, k])
                x[j, k] -= lr * g[j, k] / denom(s1[j, k], eps, inside)

    @jit
    def rmsprop(hp, lr, t, x, g, s1, s2, s3, os, dim):
        a = hp[ids.HP_A]
        eps = hp[ids.HP_EPS]
        inside = hp[ids.HP_EPS_IN] != zero
        centered = hp[ids.HP_CENTERED] != zero
        # 1/(1 − αᵗ) once per step: a multiply per lane instead of a divide
        rc = one / -math.expm1(F(t) * hp[ids.HP_LOG_A]) if hp[ids.HP_BIAS] != zero else one
        for j in range(dim):
            for k in range(lanes(x)):
                s1[j, k] = fma(a, s1[j, k], (one - a) * g[j, k] * g[j, k])
                v = s1[j, k] * rc
                if centered:
                    s2[j, k] = fma(a, s2[j, k], (one - a) * g[j, k])
                    gm = s2[j, k] * rc
                    v = max(fma(-gm, gm, v), zero)   # a variance; rounding may dip below 0
                x[j, k] -= lr * g[j, k] / denom(v, eps, inside)

    @jit
    def adam(hp, lr, t, x, g, s1, s2, s3, os, dim):
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
        if hp[ids.HP_AMSGRAD] != zero:
            for j in range(dim):
                for k in range(lanes(x)):
                    s1[j, k] = fma(b1, s1[j, k], (one - b1) * g[j, k])
                    s2[j, k] = fma(b2, s2[j, k], (one - b2) * g[j, k] * g[j, k])
                    s3[j, k] = max(s3[j, k], s2[j, k])
                    x[j, k] -= step * s1[j, k] / denom(s3[j, k] * rb2, eps, inside)
            return
        for j in range(dim):
            for k in range(lanes(x)):
                s1[j, k] = fma(b1, s1[j, k], (one - b1) * g[j, k])
                s2[j, k] = fma(b2, s2[j, k], (one - b2) * g[j, k] * g[j, k])
                x[j, k] -= step * s1[j, k] / denom(s2[j, k] * rb2, eps, inside)

    @jit
    def adamax(hp, lr, t, x, g, s1, s2, s3, os, dim):
        b1 = hp[ids.HP_A]
        b2 = hp[ids.HP_B]
        eps = hp[ids.HP_EPS]
        step = F(lr / -math.expm1(F(t) * hp[ids.HP_LOG_A]))
        for j in range(dim):
            for k in range(lanes(x)):
                s1[j, k] = fma(b1, s1[j, k], (one - b1) * g[j, k])
                s2[j, k] = max(b2 * s2[j, k], abs(g[j, k]) + eps)
                x[j, k] -= step * s1[j, k] / s2[j, k]

    @jit
    def nadam(hp, lr, t, x, g, s1, s2, s3, os, dim):
        b1 = hp[ids.HP_A]
        b2 = hp[ids.HP_B]
        eps = hp[ids.HP_EPS]
        psi = hp[ids.HP_C]
        mu = b1 * (one - half * F(0.96) ** (F(t) * psi))
        mu_next = b1 * (one - half * F(0.96) ** (F(t + 1) * psi))
        bc2 = one - b2 ** F(t)
        for k in range(lanes(x)):
            os[k] = os[k] * mu
        prod = os[0]
        cg = -lr * (one - mu) / (one - prod)
        cm = -lr * mu_next / (one - prod * mu_next)
        for j in range(dim):
            for k in range(lanes(x)):
                s1[j, k] = fma(b1, s1[j, k], (one - b1) * g[j, k])
                s2[j, k] = fma(b2, s2[j, k], (one - b2) * g[j, k] * g[j, k])
                d = math.sqrt(s2[j, k] / bc2) + eps
                x[j, k] += cg * g[j, k] / d
                x[j, k] += cm * s1[j, k] / d

    @jit
    def radam(hp, lr, t, x, g, s1, s2, s3, os, dim):
        b1 = hp[ids.HP_A]
        b2 = hp[ids.HP_B]
        eps = hp[ids.HP_EPS]
        bc1 = one - b1 ** F(t)
        b2t = b2 ** F(t)
        bc2 = one - b2t
        rho_inf = two / (one - b2) - one
        rho = rho_inf - two * F(t) * b2t / bc2
        rect = one
        if rho > F(5.0):
            rect = math.sqrt((rho - F(4.0)) * (rho - two) * rho_inf
                             / ((rho_inf - F(4.0)) * (rho_inf - two) * rho))
        sb = math.sqrt(bc2)
        for j in range(dim):
            for k in range(lanes(x)):
                s1[j, k] = fma(b1, s1[j, k], (one - b1) * g[j, k])
                s2[j, k] = fma(b2, s2[j, k], (one - b2) * g[j, k] * g[j, k])
        if rho > F(5.0):
            for j in range(dim):
                for k in range(lanes(x)):
                    x[j, k] -= s1[j, k] / bc1 * lr * (sb / (math.sqrt(s2[j, k]) + eps)) * rect
        else:
            for j in range(dim):
                for k in range(lanes(x)):
                    x[j, k] -= s1[j, k] / bc1 * lr

    @jit
    def adadelta(hp, lr, t, x, g, s1, s2, s3, os, dim):
        rho = hp[ids.HP_A]
        eps = hp[ids.HP_EPS]
        for j in range(dim):
            for k in range(lanes(x)):
                s1[j, k] = fma(rho, s1[j, k], (one - rho) * g[j, k] * g[j, k])
                d = math.sqrt(s2[j, k] + eps) / math.sqrt(s1[j, k] + eps) * g[j, k]
                s2[j, k] = fma(rho, s2[j, k], (one - rho) * d * d)
                x[j, k] = fma(-lr, d, x[j, k])

    @jit
    def rprop(hp, lr, t, x, g, s1, s2, s3, os, dim):
        eminus = hp[ids.HP_A]
        eplus = hp[ids.HP_B]
        smin = hp[ids.HP_C]
        smax = hp[ids.HP_D]
        for j in range(dim):
            for k in range(lanes(x)):
                if t == 1:
                    s2[j, k] = lr           # torch: the step sizes start at the first lr
                p = g[j, k] * s1[j, k]
                eta = eplus if p > zero else (eminus if p < zero else one)
                s2[j, k] = min(max(s2[j, k] * eta, smin), smax)
                gk = zero if p < zero else g[j, k]
                x[j, k] -= sign(gk) * s2[j, k]
                s1[j, k] = gk

    @jit
    def lion(hp, lr, t, x, g, s1, s2, s3, os, dim):
        b1 = hp[ids.HP_A]
        b2 = hp[ids.HP_B]
        for j in range(dim):
            for k in range(lanes(x)):
                c = fma(b1, s1[j, k], (one - b1) * g[j, k])
                x[j, k] = fma(-lr, sign(c), x[j, k])
                s1[j, k] = fma(b2, s1[j, k], (one - b2) * g[j, k])

    @jit
    def signum(hp, lr, t, x, g, s1, s2, s3, os, dim):
        b = hp[ids.HP_A]
        for j in range(dim):
            for k in range(lanes(x)):
                s1[j, k] = fma(b, s1[j, k], (one - b) * g[j, k])
                x[j, k] = fma(-lr, sign(s1[j, k]), x[j, k])

    # one line per rule: the dispatch is built from this table
    rules = {
        ids.SGD: sgd, ids.MOMENTUM: momentum, ids.NESTEROV: nesterov, ids.ADAGRAD: adagrad,
        ids.RMSPROP: rmsprop, ids.ADAM: adam, ids.ADAMAX: adamax, ids.NADAM: nadam,
        ids.RADAM: radam, ids.ADADELTA: adadelta, ids.RPROP: rprop, ids.LION: lion,
        ids.SIGNUM: signum,
    }
    dispatch.check("kernels.optimizers", "optimizer", ids.OPTIMIZER_RULES, rules)

    @jit
    def unknown(kind, hp, lr, t, x, g, s1, s2, s3, os, dim):
        for j in range(dim):        # never another optimizer: the trajectory diverges
            for k in range(lanes(x)):
                x[j, k] = nan

    rule = dispatch.chain(jit, "rule", "kind", "hp, lr, t, x, g, s1, s2, s3, os, dim", rules,
                          unknown)

    @jit
    def init(kind, hp, s1, s2, s3, t, dim):
        s0 = hp[ids.HP_S0] if kind == ids.ADAGRAD else zero
        for j in range(dim):
            for k in range(lanes(s1)):
                s1[j, k] = s0
                s2[j, k] = zero
                s3[j, k] = zero
        for k in range(lanes(s1)):
            t[ids.LS_OPT, k] = one

    @jit
    def clip(hp, g, acc, dim):
        cn = hp[ids.HP_CLIP_NORM]
        if cn > zero:                 # torch.nn.utils.clip_grad_norm_, per trajectory
            for k in range(lanes(g)):
                acc[k] = zero
            for j in range(dim):
                for k in range(lanes(g)):
                    acc[k] = fma(g[j, k], g[j, k], acc[k])
            for k in range(lanes(g)):
                acc[k] = min(cn / (math.sqrt(acc[k]) + F(1e-6)), one)
            for j in range(dim):
                for k in range(lanes(g)):
                    g[j, k] *= acc[k]
        cv = hp[ids.HP_CLIP_VALUE]
        if cv > zero:                 # torch.nn.utils.clip_grad_value_
            for j in range(dim):
                for k in range(lanes(g)):
                    g[j, k] = min(max(g[j, k], -cv), cv)

    @jit
    def decay(hp, lr, x, g, dim):
        wd = hp[ids.HP_WD]
        if wd != zero:
            if hp[ids.HP_WD_DECOUPLED] != zero:
                c = one - lr * wd
                for j in range(dim):
                    for k in range(lanes(x)):
                        x[j, k] *= c
            else:
                for j in range(dim):
                    for k in range(lanes(x)):
                        g[j, k] = fma(wd, x[j, k], g[j, k])

    @jit
    def update(kind, hp, step, x, g, s1, s2, s3, t, dim):
        lr = lr_at(hp, step)
        clip(hp, g, t[ids.LS_T0], dim)
        decay(hp, lr, x, g, dim)
        rule(kind, hp, lr, step, x, g, s1, s2, s3, t[ids.LS_OPT], dim)

    return init, update

