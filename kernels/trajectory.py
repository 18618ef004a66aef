"""One trajectory, start to outcome: the step loop shared by the CPU and CUDA kernels.

``trajectory(...)`` draws the start point, labels its basin, runs ``steps`` optimizer updates on
the (optionally noisy) gradient and returns the outcome tuple
``(start_basin, end_basin, hit_step, best_f, final_f, diverged)``:

- step ``t = 1 … steps`` evaluates f and ∇f at the current point, records the best f and the
  first global-target hit (``‖x − x*‖ ≤ tol_x`` for any global minimum, or ``f − f* ≤ tol_f``;
  ``hit_step`` counts the updates made before the hit: 0 is the start itself), adds
  ``σ·N(0, 1)`` noise per coordinate and updates;
- the final point is evaluated and checked once more (hit step ``steps``);
- ``rec`` (``(m, dim)``, usually ``m = 0``) receives the first ``m`` positions x₀, x₁, …;
- a non-finite f or a point outside the instance's box is *diverged*: the trajectory stops,
  its end basin is ``ids.DIVERGED`` and it never counts as a success.

Noise and start points come from Philox with counter (coordinate block, step, start, instance):
step 0 is the start point, steps 1… the gradient noise. The optimizer plays no part in the
counter, so every optimizer sees the same start and noise on the same (instance, start).
"""
import math

import numpy as np

from . import ids, landscapes, optimizers, philox


def make(jit, F, cold=None):
    """``jit`` compiles the hot path (inlined on the CPU), ``cold`` what runs once per
    trajectory."""
    cold = cold or jit
    _, normal2, uniform2 = philox.make(jit, F)
    opt_init, opt_update = optimizers.make(jit, F)
    value_grad, label = landscapes.make(jit, F, cold)
    zero = F(0.0)

    @cold
    def start_point(kind, sp, k0, k1, start, inst, x, dim):
        for j in range(0, dim, 2):
            if kind == ids.START_UNIFORM:
                a, b = uniform2(k0, k1, j // 2, 0, start, inst)
                x[j] = sp[0, j] + (sp[1, j] - sp[0, j]) * a
                if j + 1 < dim:
                    x[j + 1] = sp[0, j + 1] + (sp[1, j + 1] - sp[0, j + 1]) * b
            else:
                a, b = normal2(k0, k1, j // 2, 0, start, inst)
                x[j] = sp[0, j] + sp[1, j] * a
                if j + 1 < dim:
                    x[j + 1] = sp[0, j + 1] + sp[1, j + 1] * b

    @jit
    def inside(box, x, dim):
        for j in range(dim):
            if not (x[j] >= box[0, j] and x[j] <= box[1, j]):   # also catches NaN
                return False
        return True

    @jit
    def hits(p, gmin, tol_x, tol_f, f, x, dim):
        if f - p[ids.LP_FSTAR] <= tol_f:
            return True
        for k in range(int(p[ids.LP_NGLOBAL])):
            d = zero
            for j in range(dim):
                e = x[j] - gmin[k, j]
                d += e * e
            if d <= tol_x * tol_x:
                return True
        return False

    @cold
    def basin(fid, p, tab, ctype, gk, x, w, dim):
        xp = w[ids.W_P]
        for j in range(dim):
            xp[j] = x[j]
        return label(fid, p, tab, ctype, gk, xp, w[ids.W_G], w[ids.W_Z], w[ids.W_GZ], dim)

    @cold
    def trajectory(fid, kind, p, skind, sp, box, gmin, hp, tab, ctype, gk, k0, k1,
                   steps, tol_x, tol_f, inst, start, w, rec, dim):
        x = w[ids.W_X]
        g = w[ids.W_G]
        z = w[ids.W_Z]
        gz = w[ids.W_GZ]
        s1 = w[ids.W_S1]
        s2 = w[ids.W_S2]
        s3 = w[ids.W_S3]
        start_point(skind, sp, k0, k1, start, inst, x, dim)
        sb = basin(fid, p, tab, ctype, gk, x, w, dim) if inside(box, x, dim) else ids.DIVERGED
        opt_init(kind, hp, s1, s2, s3, dim)
        sigma = hp[ids.HP_SIGMA]
        best = F(np.inf)
        f = F(np.nan)
        hit = ids.NEVER
        for t in range(1, steps + 2):
            if t <= rec.shape[0]:
                for j in range(dim):
                    rec[t - 1, j] = x[j]
            if not inside(box, x, dim):
                return sb, ids.DIVERGED, hit, best, f, True
            fx = value_grad(fid, p, x, g, z, gz, dim)
            if not math.isfinite(fx):
                return sb, ids.DIVERGED, hit, best, f, True
            f = fx
            if f < best:
                best = f
            if hit == ids.NEVER and hits(p, gmin, tol_x, tol_f, f, x, dim):
                hit = t - 1
            if t > steps:
                break
            if sigma != zero:
                for j in range(0, dim, 2):
                    a, b = normal2(k0, k1, j // 2, t, start, inst)
                    g[j] += sigma * a
                    if j + 1 < dim:
                        g[j + 1] += sigma * b
            opt_update(kind, hp, t, x, g, s1, s2, s3, dim)
        eb = basin(fid, p, tab, ctype, gk, x, w, dim)
        return sb, eb, hit, best, f, False

    return trajectory, value_grad, label, opt_init, opt_update
