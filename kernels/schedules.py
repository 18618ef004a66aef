"""Learning-rate schedules, torch.optim.lr_scheduler's per-step sequences, read at run time.

``lr_at(hp, t)`` is the learning rate of update ``t = 1, 2, …`` of a configuration whose
hyperparameter row is ``hp`` (the layout of ``ids.HP_*``; the host side is
``swarm.schedules``). The schedule is data, not code: every kind is one branch of the same
function, so a grid of schedules runs in one launch and never recompiles.

torch steps its scheduler after each ``optimizer.step()``, so update ``t`` uses the scheduler's
epoch ``e = t − 1``. With the base learning rate ``lr = hp[HP_LR]``, a linear warm-up of
``W = hp[HP_WARMUP]`` steps (0: none) from the factor ``s = hp[HP_WARMUP_START]``, and the
schedule's own epoch ``e' = e − W`` after it:

===================  ============================================================================
warm-up (e < W)      lr·(s + (1 − s)·e/W)      torch LinearLR(start_factor=s, total_iters=W)
constant             lr
step                 lr·γ^⌊e'/step_size⌋       StepLR(step_size=hp[HP_SCH_PERIOD], gamma=γ)
multistep            lr·γ^#{milestones ≤ e'}   MultiStepLR (hp[HP_MILESTONES …], unused = +inf;
                                               a repeated milestone counts twice, like torch's)
exponential          lr·γ^e'                   ExponentialLR
cosine               η + (lr − η)·(1 + cos(π·e'/T))/2
                                               CosineAnnealingLR(T_max=T=hp[HP_SCH_PERIOD],
                                               eta_min=η=hp[HP_SCH_ETA_MIN]) — torch's closed form,
                                               periodic with period 2T past T like torch's
inverse_time         lr/(1 + γ·e')             LambdaLR(lambda e: 1/(1 + γ·e)), Adagrad's lr_decay
===================  ============================================================================

γ is ``hp[HP_SCH_GAMMA]``. A warm-up followed by a schedule is torch's
``SequentialLR([LinearLR(opt, start_factor=s, total_iters=W), after], milestones=[W])``: at
epoch W SequentialLR restarts ``after`` at its epoch 0 (its closed form at 0 is lr), so ``after``
runs on ``e' = e − W``, exactly as above (checked against torch 2.13 in
``tests/test_schedules.py``). torch's chainable forms compute the same numbers recursively
(lr ← lr·γ, the cosine's ratio form); they differ from these closed forms by rounding only.

The periods (step_size, T, W) and milestones are whole numbers of steps (``swarm.schedules``
checks them; they are at most 2²⁴, so a float32 row holds them exactly). ⌊e'/step_size⌋ and the
cosine's phase ``e' mod 2T`` are computed in integers, so float32 keeps them exact however long
the run.

The constant schedule without warm-up, the benchmarks' hot path, costs one add and one compare
(``hp[HP_SCHED] + hp[HP_WARMUP] == 0``: both are ≥ 0) and no maths.
"""
import math

from . import ids, kmath


def make(jit, F, fma=None):
    """``lr_at(hp, t)`` compiled with ``jit`` in the float type ``F`` (the row's dtype); ``fma``
    is the target's fused multiply-add (:mod:`.fma`, default the CPU's). The cosine is
    :func:`.kmath.sincos2pi`'s, not ``math.cos``: libdevice's cosine keeps its large-argument
    reduction table in local memory, which every CUDA kernel would carry (the schedule kind is
    read at run time), and its bits need not equal the CPU's."""
    sincos2pi = kmath.make(jit, F, fma)[0]
    zero = F(0.0)
    one = F(1.0)
    half = F(0.5)
    nan = F(math.nan)

    @jit
    def lr_at(hp, t):
        lr = hp[ids.HP_LR]
        if hp[ids.HP_SCHED] + hp[ids.HP_WARMUP] == zero:    # constant, no warm-up
            return lr
        e = t - 1                                            # torch's scheduler epoch
        w = hp[ids.HP_WARMUP]
        if e < w:
            s = hp[ids.HP_WARMUP_START]
            return F(lr * (s + (one - s) * F(e) / w))
        ep = e - int(w)                                      # the schedule's own epoch
        kind = hp[ids.HP_SCHED]
        gamma = hp[ids.HP_SCH_GAMMA]
        if kind == ids.SCHED_CONSTANT:
            return lr
        if kind == ids.SCHED_STEP:
            k = ep // int(hp[ids.HP_SCH_PERIOD])
            return F(lr * gamma ** F(k))
        if kind == ids.SCHED_MULTISTEP:
            n = 0
            for i in range(ids.MAX_MILESTONES):
                if hp[ids.HP_MILESTONES + i] <= ep:
                    n += 1
                else:
                    break                                    # milestones are increasing
            return F(lr * gamma ** F(n))
        if kind == ids.SCHED_EXPONENTIAL:
            return F(lr * gamma ** F(ep))
        if kind == ids.SCHED_COSINE:
            T = int(hp[ids.HP_SCH_PERIOD])
            eta = hp[ids.HP_SCH_ETA_MIN]
            phase = F(ep % (2 * T))                          # cos has period 2T in e'
            c = sincos2pi(phase / F(2 * T))[1]              # cos(π·phase/T), phase < 2T
            return F(eta + (lr - eta) * (one + c) * half)
        if kind == ids.SCHED_INVERSE_TIME:
            return F(lr / (one + gamma * F(ep)))
        return nan                  # not a schedule (swarm.schedules refuses it): diverges

    return lr_at
