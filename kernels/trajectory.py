"""A block of L trajectories, start to outcome: the step loop shared by the CPU and CUDA kernels.

``block(...)`` runs lanes ``k = 0 … L−1`` of one (configuration, instance) with start indices
``s0 + k`` (lanes ``k ≥ n_act`` are padding: computed, never reported). It draws the start
points, labels their basins, runs ``steps`` optimizer updates on the (optionally noisy) gradient
and leaves per lane, in ``li`` / ``t``: start basin, end basin, hit step, best f, final f, and
``alive`` (0: diverged). Step ``t = 1 … steps``:

- a lane outside the instance's box, or whose f is not finite, is *diverged*: it stops counting
  (its best f, final f and hit step are frozen), its end basin is ``ids.DIVERGED`` and it never
  counts as a success;
- otherwise f and ∇f are evaluated at the current point, the best f and the first global-target
  hit are recorded (``‖x − x*‖ ≤ tol_x`` for any global minimum, or ``f − f* ≤ tol_f``;
  ``hit_step`` counts the updates made before the hit: 0 is the start itself),
  ``σ·ξ`` noise is added per coordinate and the optimizer updates (ξ ~ N(0, 1), today's
  noise, inline; the other models — Student-t, α-stable, per-coordinate σ, curvature — in
  ``add_noise``, chosen by the hp row's ``HP_NOISE_KIND``, constant per launch);
- with ``nt > 0`` precision targets ``targets[0] > targets[1] > …`` (working dtype), each
  lane's first hit of each (``f − f* ≤ targets[j]`` at an evaluation while alive, the same
  step convention as ``hit_step``) goes to ``li[LI_TARGETS + j]``; ``li[LI_NEXT]`` holds the
  lane's next target not yet hit, so a step costs one compare per lane unless targets are
  crossed, and with ``nt = 0`` one branch per step;
- the final point is evaluated and checked once more (hit step ``steps``);
- ``rec`` (``(m, dim)``, usually ``m = 0``) receives lane 0's first ``m`` positions x₀, x₁, ….

The start basin depends only on the start point, never on the optimizer: with ``known_sb`` the
caller has put it in ``li[LI_SB]`` already (the study's first arm labelled these starts) and the
block does not label the start again (with polished labels, up to 40 % of a 100-step study).

Noise and start points come from Philox with counter (coordinate pair, step, start, instance):
step 0 is the start point, steps 1… the gradient noise. The optimizer plays no part in the
counter, so every optimizer sees the same start and noise on the same (instance, start), and no
lane's numbers depend on the block it runs in, on L, or on the thread that runs it.
"""
import math

import numpy as np

from . import fma as _fma
from . import ids, landscapes, noise, optimizers, philox


def make(jit, F, L, cold=None, fma=None, only=None, index=None):
    """``jit`` compiles scalar helpers used inside lane loops (inlined), ``cold`` the
    block-level functions; ``fma`` is the target's fused multiply-add (:mod:`.fma`, default
    the CPU's); ``only``: the landscape family ids served (default all); ``index``: the
    integer type of the step counter and of the global minima's loop (default ``np.int64``,
    Numba's own; the CUDA kernels pass ``np.int32`` where the counts fit, which spares the
    GPU 64-bit additions and compares per step; the caller guarantees ``steps + 2`` fits)."""
    I = np.int64 if index is None else index
    cold = cold or jit
    fma = fma or _fma.cpu(jit)
    lanes = ids.lane_count(jit, L)
    _, normal2, uniform2, box_muller = philox.make(jit, F, fma)
    opt_init, opt_update = optimizers.make(jit, F, L, cold, fma)
    value_grad, label, hess_diag = landscapes.make(jit, F, L, cold, fma, only)
    stable_parts, stable_power, t_parts, t_finish = noise.make(jit, F, fma)[4:]
    zero = F(0.0)
    half = F(0.5)
    one = F(1.0)
    inf = F(np.inf)
    nan = F(np.nan)

    @cold
    def start_point(kind, sp, k0, k1, s0, inst, x, dim):
        L = lanes(x)
        if kind == ids.START_GRID:
            for k in range(L):
                idx = s0 + k
                for j in range(dim):
                    m = int(sp[2, j])
                    cell = idx % m
                    idx = idx // m
                    x[j, k] = sp[0, j] + (sp[1, j] - sp[0, j]) * ((F(cell) + half) / F(m))
            return
        for j in range(0, dim, 2):
            for k in range(L):
                if kind == ids.START_UNIFORM:
                    a, b = uniform2(k0, k1, j // 2, 0, s0 + k, inst)
                    x[j, k] = sp[0, j] + (sp[1, j] - sp[0, j]) * a
                    if j + 1 < dim:
                        x[j + 1, k] = sp[0, j + 1] + (sp[1, j + 1] - sp[0, j + 1]) * b
                else:
                    a, b = normal2(k0, k1, j // 2, 0, s0 + k, inst)
                    x[j, k] = sp[0, j] + sp[1, j] * a
                    if j + 1 < dim:
                        x[j + 1, k] = sp[0, j + 1] + sp[1, j + 1] * b

    @jit
    def check_box(box, x, alive, dim):
        L = lanes(alive)
        for j in range(dim):
            lo = box[0, j]
            hi = box[1, j]
            for k in range(L):
                xk = x[j, k]
                # a select, not a branch, so that the lane loop vectorises; NaN fails too
                alive[k] = alive[k] if (xk >= lo and xk <= hi) else zero

    @cold
    def basin(fid, p, tab, ctype, gk, x, w, t, ki, out, dim):
        L = lanes(out)
        xp = w[ids.W_P]
        for j in range(dim):
            for k in range(L):
                xp[j, k] = x[j, k]
        label(fid, p, tab, ctype, gk, xp, w[ids.W_G], w[ids.W_Z], w[ids.W_GZ], w[ids.W_CC],
              w[ids.W_LAM], t[ids.LS_F], t[ids.LS_T0:], ki, out, dim)

    @jit
    def track(p, gmin, tol_x, tol_f, step, x, t, hit, dim):
        """Divergence, best f and first global hit of every lane after an evaluation, as
        selects over lanes (vectorised). Returns the number of lanes still alive."""
        L = lanes(hit)
        f = t[ids.LS_F]
        best = t[ids.LS_BEST]
        final = t[ids.LS_FINAL]
        alive = t[ids.LS_ALIVE]
        dist = t[ids.LS_T0]
        acc = t[ids.LS_T0 + 1]
        fstar = p[ids.LP_FSTAR]
        tol2 = tol_x * tol_x
        for k in range(L):
            dist[k] = inf
        for m in range(I(p[ids.LP_NGLOBAL])):
            for k in range(L):
                acc[k] = zero
            for j in range(dim):
                c = gmin[m, j]
                for k in range(L):
                    e = x[j, k] - c
                    acc[k] = fma(e, e, acc[k])
            for k in range(L):
                dist[k] = min(dist[k], acc[k])
        # selects, an integer count (a float sum would need reassociation) and two loops (each
        # array written needs a run-time overlap check against the others, and LLVM gives up
        # on a loop that needs too many): both loops vectorise
        n_alive = 0
        for k in range(L):
            fk = f[k]
            a = alive[k] if math.isfinite(fk) else zero
            alive[k] = a
            final[k] = fk if a != zero else final[k]
            best[k] = min(best[k], fk) if a != zero else best[k]
            n_alive += 1 if a != zero else 0
        for k in range(L):
            h = hit[k]
            on_target = (f[k] - fstar <= tol_f) | (dist[k] <= tol2)
            hit[k] = step - 1 if (on_target and alive[k] != zero and h == ids.NEVER) else h
        return n_alive

    @jit
    def track_targets(p, nt, targets, step, t, li):
        """First hits of the precision targets after an evaluation: a lane's targets are
        crossed in order (the running best is monotone), from its next one ``li[LI_NEXT]``."""
        L = lanes(li)
        f = t[ids.LS_F]
        alive = t[ids.LS_ALIVE]
        fstar = p[ids.LP_FSTAR]
        last = nt - 1
        # first whether any lane crosses its next target, as selects over lanes (a gather and
        # a compare: vectorised); only then the lanes' crossings, one by one
        crossed = 0
        for k in range(L):
            j = li[ids.LI_NEXT, k]
            c = (j < nt) & (alive[k] != zero) & (f[k] - fstar <= targets[min(j, last)])
            crossed += 1 if c else 0
        if crossed == 0:
            return
        for k in range(L):
            j = li[ids.LI_NEXT, k]
            if j < nt and alive[k] != zero:
                d = f[k] - fstar
                while j < nt and d <= targets[j]:
                    li[ids.LI_TARGETS + j, k] = step - 1
                    j += 1
                li[ids.LI_NEXT, k] = j

    @cold
    def add_noise(nkind, hp, k0, k1, step, s0, inst, g, u1, u2, h, dim):
        """``g += σ·ξ`` for every noise model but plain Gaussian with one σ (``block`` does
        that one inline): ξ Student-t or α-stable (counter: coordinate j), or Gaussian (counter:
        coordinate pair, the plain path's normals) scaled by ``√|h|`` for curvature noise
        (``h`` holds diag H at the current point). σ is ``hp[HP_SIGMA]``, or with
        ``HP_NOISE_VEC`` the per-coordinate ``hp[HP_SIZE + j]``."""
        L = lanes(u1)
        vec = hp[ids.HP_NOISE_VEC] != zero
        par = hp[ids.HP_NOISE_PARAM]
        sigma = hp[ids.HP_SIGMA]
        if nkind == ids.NOISE_STUDENT_T or nkind == ids.NOISE_STABLE:
            # per coordinate three vectorised lane loops: the uniforms; the transform's first
            # half (sincos, log); its second half (log/exp) and the update. Shorter bodies run
            # 20-25 % faster than one or two loops; the same bits as noise.student_t /
            # noise.stable (each is the composition of the halves)
            t_dist = nkind == ids.NOISE_STUDENT_T
            e = (one - par) / par                # α-stable's power (1 − α)/α
            for j in range(dim):
                sj = hp[ids.HP_SIZE + j] if vec else sigma
                for k in range(L):
                    u1[k], u2[k] = uniform2(k0, k1, j, step, s0 + k, inst)
                if t_dist:
                    for k in range(L):
                        u1[k], u2[k] = t_parts(u1[k], u2[k], par)
                    for k in range(L):
                        g[j, k] = fma(sj, t_finish(u1[k], u2[k], par), g[j, k])
                else:
                    for k in range(L):
                        u1[k], u2[k] = stable_parts(u1[k], u2[k], par)
                    for k in range(L):
                        g[j, k] = fma(sj, stable_power(u1[k], u2[k], e), g[j, k])
            return
        curv = nkind == ids.NOISE_CURVATURE
        if not curv and nkind != ids.NOISE_GAUSSIAN:
            for j in range(dim):             # no such model: NaN, the trajectory diverges
                for k in range(L):
                    g[j, k] = nan
            return
        for j in range(0, dim, 2):
            two = j + 1 < dim
            sa = hp[ids.HP_SIZE + j] if vec else sigma
            sb = hp[ids.HP_SIZE + j + 1] if (vec and two) else sigma
            for k in range(L):
                u1[k], u2[k] = uniform2(k0, k1, j // 2, step, s0 + k, inst)
            for k in range(L):
                a, b = box_muller(u1[k], u2[k])
                ca = sa * math.sqrt(abs(h[j, k])) if curv else sa
                g[j, k] = fma(ca, a, g[j, k])
                if two:
                    cb = sb * math.sqrt(abs(h[j + 1, k])) if curv else sb
                    g[j + 1, k] = fma(cb, b, g[j + 1, k])

    @cold
    def block(fid, kind, p, skind, sp, box, gmin, hp, tab, ctype, gk, k0, k1, steps, tol_x,
              tol_f, nt, targets, inst, s0, n_act, known_sb, w, t, li, rec, dim):
        L = lanes(t)
        x = w[ids.W_X]
        g = w[ids.W_G]
        z = w[ids.W_Z]
        gz = w[ids.W_GZ]
        s1 = w[ids.W_S1]
        s2 = w[ids.W_S2]
        s3 = w[ids.W_S3]
        f = t[ids.LS_F]
        alive = t[ids.LS_ALIVE]
        sb = li[ids.LI_SB]
        eb = li[ids.LI_EB]
        hit = li[ids.LI_HIT]
        ki = li[ids.LI_K]
        start_point(skind, sp, k0, k1, s0, inst, x, dim)
        for k in range(L):
            alive[k] = one if k < n_act else zero
            t[ids.LS_BEST, k] = inf
            t[ids.LS_FINAL, k] = nan
            hit[k] = ids.NEVER
        if nt > 0:
            for k in range(L):
                li[ids.LI_NEXT, k] = 0
            for j in range(nt):
                for k in range(L):
                    li[ids.LI_TARGETS + j, k] = ids.NEVER
        check_box(box, x, alive, dim)
        if not known_sb:
            basin(fid, p, tab, ctype, gk, x, w, t, ki, sb, dim)
            for k in range(L):
                if alive[k] == zero:
                    sb[k] = ids.DIVERGED
        opt_init(kind, hp, s1, s2, s3, t, dim)
        sigma = hp[ids.HP_SIGMA]
        nkind = int(hp[ids.HP_NOISE_KIND])
        plain = nkind == ids.NOISE_GAUSSIAN and hp[ids.HP_NOISE_VEC] == zero
        cc = w[ids.W_CC]
        lam = w[ids.W_LAM]
        for k in range(L):
            t[ids.LS_T0 + 2, k] = -one       # value_grad's cache (cc, lam) is empty
        for step in range(I(1), I(steps + 2)):
            if step <= rec.shape[0]:
                for j in range(dim):
                    rec[step - 1, j] = x[j, 0]
            check_box(box, x, alive, dim)
            value_grad(fid, p, x, g, z, gz, f, t[ids.LS_T0:], ki, cc, lam, dim)
            n_alive = track(p, gmin, tol_x, tol_f, step, x, t, hit, dim)
            if nt > 0:
                track_targets(p, nt, targets, step, t, li)
            if n_alive == 0 or step > steps:
                break
            if sigma != zero and not plain:
                if nkind == ids.NOISE_CURVATURE:
                    # diag H at x into W_P (free during the steps); W_Z, W_GZ and W_LAM are
                    # its scratch, and with T0…T0+3 it overwrites Gaussian peaks' value cache
                    # (W_CC/W_LAM keyed by row T0+2), which is marked empty again
                    hess_diag(fid, p, x, w[ids.W_P], z, gz, lam, t[ids.LS_T0:], dim)
                    for k in range(L):
                        t[ids.LS_T0 + 2, k] = -one
                add_noise(nkind, hp, k0, k1, step, s0, inst, g, t[ids.LS_T0], t[ids.LS_T0 + 1],
                          w[ids.W_P], dim)
            elif sigma != zero:
                u1 = t[ids.LS_T0]
                u2 = t[ids.LS_T0 + 1]
                for j in range(0, dim, 2):
                    # normal2 as two loops (uniforms, then Box–Muller): 30 % faster than one
                    for k in range(L):
                        u1[k], u2[k] = uniform2(k0, k1, j // 2, step, s0 + k, inst)
                    for k in range(L):
                        a, b = box_muller(u1[k], u2[k])
                        g[j, k] = fma(sigma, a, g[j, k])
                        if j + 1 < dim:
                            g[j + 1, k] = fma(sigma, b, g[j + 1, k])
            opt_update(kind, hp, step, x, g, s1, s2, s3, t, dim)
        basin(fid, p, tab, ctype, gk, x, w, t, ki, eb, dim)
        for k in range(L):
            if alive[k] == zero:
                eb[k] = ids.DIVERGED

    return block, value_grad, label, add_noise
