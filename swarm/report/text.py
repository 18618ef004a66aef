"""The report's prose: the findings, the definitions, the start rule and the provenance."""
from __future__ import annotations

import numpy as np

from swarm import noise as N
from swarm.report.tables import FEW_INSTANCES, fmt_ci, fmt_prob, fmt_pvalue, fmt_signed


def start_desc(s):
    if not s:
        return "uniform()"
    kind = s.get("kind")
    if kind == "uniform":
        return "uniform(" + (f"{s['a']}, {s['b']}" if s.get("a") is not None else "") + ")"
    if kind == "grid":
        return f"grid({s.get('k')})"
    if kind == "minimum":
        return f"at_minimum({s.get('k')}, sd={s.get('b')})"
    if kind == "point":
        return f"point({s.get('a')})"
    return f"gaussian({s.get('a')}, {s.get('b')})"


def findings(rows, pair_rows, confidence, instances):
    out = []
    best = max(rows, key=lambda r: r["p_global"])
    pooled = fmt_ci(best["p_global_wilson_low"], best["p_global_wilson_high"])
    if np.isfinite(best["p_global_low"]):
        ci = (f"family-level {fmt_ci(best['p_global_low'], best['p_global_high'])} for a "
              f"landscape drawn from the family; pooled Wilson {pooled} on these instances")
    else:
        ci = (f"pooled Wilson {pooled} on this instance; one instance, so no family-level "
              f"interval")
    out.append(f"Highest P(global): `{best['name']}` with {fmt_prob(best['p_global'])} "
               f"({ci}).")
    worst = min(rows, key=lambda r: r["p_global"])
    if worst is not best:
        out.append(f"Lowest P(global): `{worst['name']}` with {fmt_prob(worst['p_global'])}.")
    alpha = 1 - confidence
    if pair_rows:
        sig = [r for r in pair_rows if r["p_holm"] <= alpha]
        out.append(f"{len(sig)} of {len(pair_rows)} pairs differ at family-wise level "
                   f"{alpha:g} (exact McNemar, Holm-adjusted).")
        mine = [r for r in pair_rows if best["arm"] in (r["a"], r["b"])]
        if mine:
            nxt = min(mine, key=lambda r: abs(r["difference"]))
            other = nxt["name_b"] if nxt["a"] == best["arm"] else nxt["name_a"]
            out.append(f"Closest to the best: `{other}`, difference "
                       f"{fmt_signed(abs(nxt['difference']))}, Holm p = "
                       f"{fmt_pvalue(nxt['p_holm'])}.")
    div = sum(r["diverged"] for r in rows)
    if div:
        out.append(f"{div} trajectories diverged in total (never counted as successes).")
    if instances < FEW_INSTANCES:
        out.append(f"**Few instances ({instances} < {FEW_INSTANCES})**: the study says little "
                   f"about the landscape family; "
                   + ("with one instance there is no family-level interval at all."
                      if instances == 1 else
                      "family-level intervals are rough and the cluster bootstrap "
                      "under-covers. Run more instances for claims about the family."))
    return out

def provenance_lines(result):
    """The study's provenance, as recorded in its manifest; nothing about when or how fast the
    report itself was made, so that regenerating it gives the same bytes."""
    p = result.provenance or {}
    spec = result.spec
    tm = p.get("timings", {}) or {}
    v = p.get("versions", {}) or {}
    import matplotlib
    lines = [
        f"outcome hash (SHA-256): `{result.hash}`",
        f"seed: {spec.get('seed')}, dtype: {spec.get('dtype')}",
        f"backend: {p.get('backend', '?')} — device: {p.get('device', '?')}, threads: "
        f"{p.get('threads', '?')} of {p.get('cpu_count', '?')} CPUs, chunk size "
        f"{p.get('chunk_size', '?')}",
        f"git commit: {p.get('git_commit')}",
        "versions: " + ", ".join(f"{k} {val}" for k, val in v.items())
        + f"; report made with matplotlib {matplotlib.__version__}",
        f"platform: {p.get('platform', '?')}; study created {p.get('created', '?')}",
    ]
    if isinstance(p.get("wall_s"), (int, float)):
        lines.append(f"study wall time: {p['wall_s']:.3g} s")
    if tm:
        parts = [f"{k} = {val:.3g}" if isinstance(val, (int, float)) else f"{k} = {val}"
                 for k, val in tm.items()]
        lines.append("study timings: " + ", ".join(parts))
    return lines


def scheduled_arms(result) -> list[int]:
    """The arms that run a learning-rate schedule (their record names one; a constant
    schedule is not recorded)."""
    return [a for a, m in enumerate(result.arms) if m.get("schedule") is not None]


def noise_desc(result):
    """The gradient noise and its temperature; with schedules, that the temperature follows
    them (the noise is added to the gradient, and the step's lr multiplies both)."""
    levels = result.spec.get("noise", [])
    sig = ", ".join(N.text(x) for x in levels)
    out = (f"**Gradient noise** σ = {sig}: Gaussian noise of standard deviation σ added to "
           f"every coordinate of the gradient at every step, the same on the same (instance, "
           f"start) key for every arm. For SGD it is a temperature T = lr·σ²/2 (heavy-ball "
           f"momentum: lr·σ²/(2(1−μ))).")
    if any(not isinstance(N.canonical(x), float) for x in levels):
        out += (" Noise models other than Gaussian with one σ (docs/noise.md): "
                "`student_t(sigma, nu)` adds σ·T, T Student-t with ν degrees of freedom; "
                "`alpha_stable(sigma, alpha)` σ·X, X symmetric α-stable in scipy's convention "
                "(α = 2: variance 2σ², no temperature for α < 2: infinite variance); "
                "`curvature(sigma)` Gaussian of covariance σ²·|diag H(x)| at the current "
                "point; `gaussian(sigma=[…])` one σ per coordinate.")
    if scheduled_arms(result):
        names = sorted({str(m["schedule"]) for m in result.arms if m.get("schedule")})
        out += (" The noise is additive to the gradient, so with a learning-rate schedule the "
                "temperature follows the schedule: T_t = lr_t·σ²/2 for SGD, where lr_t is the "
                "scheduled learning rate of step t (a decaying schedule anneals). Schedules "
                "in this study: " + ", ".join(f"`{n}`" for n in names) + "; arms without one "
                "run at a constant lr.")
    return out


def definitions(result):
    """The report's definitions of its quantities, with the study's numbers."""
    spec = result.spec
    tf = spec.get("tol_f")
    return [
        noise_desc(result),
        "**P(global)**: fraction of trajectories whose end point lies in a global basin "
        "(diverged trajectories never count).",
        f"**Intervals** answer two questions. The **family-level** interval (the headline) "
        f"answers \"P(global) for a landscape drawn from the family\": the instances are the "
        f"random unit, so its uncertainty comes from the finite number of instances "
        f"({spec['instances']} here). It is the cluster-robust t interval (sandwich standard "
        f"error of the pooled rate from per-instance sums and second moments, t quantile on "
        f"instances − 1 degrees of freedom), close to nominal coverage from 3 instances on; "
        f"undefined with one instance. The **pooled** Wilson and Clopper–Pearson intervals "
        f"answer \"P(global) on these particular instances\": they treat all "
        f"{spec['instances']} × {spec['starts']} trajectories of an arm as independent. The "
        f"**cluster bootstrap** (percentile, instances resampled) is shown as a second opinion "
        f"only, where the study kept per-instance counts: with few instances it is too narrow "
        f"(about 75 % / 90 % / 92 % coverage at 3 / 10 / 20 instances for a nominal 95 % in a "
        f"simulation with instance-level P ~ Beta(2, 6)).",
        "**P(escape)**: ended in a basin other than the start basin (diverged trajectories "
        "never count); **P(esc→global)**: among trajectories that did not start in a global "
        "basin, the fraction that ended in one. Both with family-level, pooled Wilson and "
        "Clopper–Pearson intervals.",
        f"**Hit**: first step with ‖x − x*‖ ≤ {spec.get('tol_x', float('nan')):g}"
        + (f" or f − f* ≤ {tf:g}" if tf is not None else "")
        + "; median over all trajectories (never-hit = ∞), "
        + ("bootstrap interval" if result.outcomes is not None else
           "from the first-hit histogram of the study's aggregates (it kept no per-trajectory "
           "outcomes): the grid point where the ECDF reaches ½, with an order-statistic "
           "interval widened to whole grid cells")
        + "; **aRT** = total steps spent / number of hits (COCO).",
        "**Paired tests**: every optimizer saw the same starts and noise on each (instance, "
        "start) key, so arms are compared pair by pair with the exact McNemar test; "
        "p-values Holm-adjusted over all pairs.",
    ]
