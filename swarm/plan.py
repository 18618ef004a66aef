"""Planning a study: how many landscape instances, and how many starts on each, reach a wanted
family-level half-width of P(global) — and how long that takes on this machine.

>>> from swarm.plan import plan
>>> p = plan("study.toml", half_width=0.005)           # doctest: +SKIP
>>> print(p.text())                                    # doctest: +SKIP
>>> p.choices[-1].instances                            # doctest: +SKIP

The command line is ``swarm plan SPEC.toml --half-width 0.005`` (also a section of
``swarm check SPEC.toml --half-width 0.005``).

Method
------
1. **Pilot.** The spec runs on ``pilot_instances`` instances (default 200) with
   ``pilot_starts`` starts each (default: the spec's, at least 2 and at most 64), every arm,
   the spec's steps and seed.
2. **Variance components** of the per-instance success fraction ``p_i`` of each arm (one-way
   random effects, from the pilot's per-instance sums and second moments, so from the
   aggregate's ``total`` and ``cross`` alone). With ``m`` starts per instance, ``G`` instances
   and ``k_i`` successes on instance ``i``::

       p        = Σk / (G m)
       σ_w²     = (m Σk − Σk²) / (G m (m − 1))          within: mean of p_i (1 − p_i), unbiased
       s²       = (Σk² − (Σk)² / G) / ((G − 1) m²)      variance of k_i / m between instances
       σ_b²     = max(0, s² − σ_w² / m)                 between: variance of p_i over the family
       ICC ρ    = σ_b² / (σ_b² + σ_w²)

   With ``m`` starts on each of ``I`` instances the family-level variance of the estimate is
   ``V_m / I`` with ``V_m = σ_b² + σ_w² / m`` (design effect ``1 + (m − 1) ρ`` against ``I m``
   independent trajectories): more starts only shrink the within part, more instances shrink
   both.
3. **Instances needed** for half-width ``h``: the smallest ``I`` with
   ``t_{I−1}((1 + confidence) / 2) · sqrt(V_m / I) ≤ h`` that also brings the pooled Wilson
   interval of ``I m`` trajectories within ``h`` (the family-level interval is never narrower:
   :func:`swarm.stats.cluster_t_moments`'s floor). The study needs the largest of its arms'.
   An arm whose pilot saw no success (or only successes) says nothing about its spread: it is
   planned conservatively at the pilot's pooled Wilson bound and ICC = 1 (marked ``*``).
4. **Cost.** The time of one instance with ``m`` starts is modelled as ``c_I + m c_S`` and
   measured here: short timing runs of the spec at 1 start and at ``max(pilot_starts, 64)``
   starts per instance, each the slope of the run time between two run sizes (so the fixed
   cost of a run does not count per instance) that differ by at least ``MIN_TIMING_S``, each
   the shortest of ``REPEAT`` runs (``timing=False``: no timing runs; an instance is assumed
   to cost as much as one start, fitted to the pilot's wall time). The cost-optimal number of
   starts (two-stage sampling, Cochran 1977, ch. 10) minimises ``I(m) · (c_I + m c_S)``; for
   one arm it is about ``m* = sqrt(c_I σ_w² / (c_S σ_b²))``, so ``sqrt((1 − ρ) / ρ)`` when an
   instance costs as much as a start. The search keeps at least ``MIN_OPTIMAL_INSTANCES``
   instances (a plan of a handful of instances would rest on the pilot's σ_b² alone). The plan
   shows 1 start, the spec's starts and the optimum, each with its instances, trajectories and
   expected run time here: the time per instance measured at that number of starts (the
   kernels' lanes can make few starts per instance cost more than the linear model says; the
   measurement includes that) × instances + the fixed cost of a run.

W. G. Cochran (1977). Sampling Techniques, 3rd ed., Wiley: ch. 10 (two-stage sampling, optimum
number of second-stage units).
"""
from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats as _sps

__all__ = ["plan", "StudyPlan", "ArmPlan", "Choice", "instances_needed", "components",
           "check_half_width"]

DEFAULT_PILOT_INSTANCES = 200
MAX_PILOT_STARTS = 64
TIMING_STARTS = 64            # the second timing point of the cost model (starts per instance)
MIN_TIMING_S = 0.2            # timing runs grow until the larger takes this much longer
REPEAT = 2                    # each timing run is the shortest of this many
MAX_TIMING_TRAJECTORIES = 1 << 22
MAX_INSTANCES = 10 ** 15
MIN_OPTIMAL_INSTANCES = 20    # the optimal plan keeps at least this many instances
MAX_STARTS = 1 << 16


# ---------------------------------------------------------------------------- validation

def _parse(name, value, kind, ok, allowed):
    """``value`` — a number, or a string that reads as one — as ``kind`` (``float`` or
    ``int``) when ``ok`` accepts it; otherwise a ValueError naming ``name`` and ``allowed``."""
    raw = value
    if isinstance(value, str):
        try:
            value = kind(value)
        except ValueError:
            value = None
    number = numbers.Integral if kind is int else numbers.Real
    if isinstance(value, bool) or not isinstance(value, number) or not ok(kind(value)):
        raise ValueError(f"{name} must be {allowed}, got {raw!r}")
    return kind(value)


def check_half_width(value) -> float:
    """A half-width in (0, 0.5] (a number, or a string that reads as one)."""
    return _parse("half-width", value, float, lambda v: math.isfinite(v) and 0.0 < v <= 0.5,
                  "a number in (0, 0.5] (a probability's interval is at most [0, 1])")


def _check_confidence(value) -> float:
    return _parse("confidence", value, float, lambda v: 0.0 < v < 1.0, "a number in (0, 1)")


def _check_count(name, value, low):
    return _parse(name, value, int, lambda v: v >= low, f"an integer ≥ {low}")


# ---------------------------------------------------------------------------- statistics

def components(sum_k, sum_kk, instances, starts):
    """``(p, σ_b², σ_w²)`` of one arm from a pilot with ``starts`` starts on each of
    ``instances`` instances: ``sum_k`` = Σk_i and ``sum_kk`` = Σk_i² of the per-instance
    successes (see the module docstring). Needs ``instances >= 2`` and ``starts >= 2``."""
    G, m = int(instances), int(starts)
    if G < 2 or m < 2:
        raise ValueError(f"variance components need at least 2 instances and 2 starts per "
                         f"instance, got {G} and {m}")
    k, kk = int(sum_k), int(sum_kk)
    p = k / (G * m)
    within = (m * k - kk) / (G * m * (m - 1))
    total = (kk - k * k / G) / ((G - 1) * m * m)
    between = max(0.0, total - within / m)
    return p, between, max(0.0, within)


def _wilson_half(p, trajectories, z):
    n = float(trajectories)
    return z / (n + z * z) * math.sqrt(n * p * (1 - p) + z * z / 4)


def _t_quantile(q, df, z):
    """Student t quantile; above 400 degrees of freedom from the Cornish–Fisher expansion
    around the normal quantile ``z`` (relative error below 1e-8 there)."""
    if df < 400:
        return float(_sps.t.ppf(q, df))
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df)


def half_width(v_m, p, instances, starts, confidence=0.95):
    """Predicted family-level half-width of P(global) at ``instances`` instances with
    ``starts`` starts each, for ``V_m`` = σ_b² + σ_w²/m: ``t_{I−1} sqrt(V_m / I)``, and not
    below the pooled Wilson half-width of the ``instances · starts`` trajectories."""
    I = int(instances)
    q = 0.5 + confidence / 2
    z = float(_sps.norm.ppf(q))
    t = _t_quantile(q, I - 1, z)
    return max(t * math.sqrt(v_m / I), _wilson_half(p, I * starts, z))


def instances_needed(v_m, p, starts, h, confidence=0.95) -> int:
    """The smallest number of instances (≥ 2) whose predicted family-level half-width
    (:func:`half_width`) is at most ``h``; ``MAX_INSTANCES + 1`` when even that many do not
    reach it."""
    lo, hi = 2, 2
    while half_width(v_m, p, hi, starts, confidence) > h:
        if hi > MAX_INSTANCES:
            return MAX_INSTANCES + 1
        lo, hi = hi, hi * 2
    if half_width(v_m, p, lo, starts, confidence) <= h:
        return lo
    while hi - lo > 1:                      # half_width(lo) > h >= half_width(hi)
        mid = (lo + hi) // 2
        if half_width(v_m, p, mid, starts, confidence) <= h:
            hi = mid
        else:
            lo = mid
    return hi


# ---------------------------------------------------------------------------- results

@dataclass
class ArmPlan:
    """One arm: the pilot's P(global), variance components, and the instances needed at each
    choice of starts per instance (``instances[m]``)."""
    arm: int
    name: str
    p: float
    between: float                 # σ_b²
    within: float                  # σ_w²
    conservative: bool             # the pilot saw no success, or only successes
    m_star: float                  # this arm's cost-optimal starts per instance (continuous)
    instances: dict = field(default_factory=dict)

    @property
    def icc(self) -> float:
        tot = self.between + self.within
        return self.between / tot if tot > 0 else math.nan

    def variance(self, m) -> float:
        """``V_m = σ_b² + σ_w² / m``: I times the family-level variance at m starts."""
        return self.between + self.within / m


@dataclass
class Choice:
    """One choice of starts per instance for the whole study."""
    starts: int
    label: str                     # "1 start", "spec", "optimal"
    instances: int                 # the largest of the arms' needs
    trajectories: int              # instances × starts × arms
    seconds_per_instance: float    # measured here at this number of starts (all arms); nan
    seconds: float                 # expected run time here (nan when not measured)
    cost_model_s: float            # the linear cost model's time, I (c_I + m c_S)


@dataclass
class StudyPlan:
    """What :func:`plan` returns; :meth:`text` prints it."""
    source: str
    half_width: float
    confidence: float
    steps: int
    n_arms: int
    spec_starts: int
    pilot_instances: int
    pilot_starts: int
    pilot_seconds: float
    pilot_steps_per_s: float       # trajectory-steps per second of the pilot
    c_instance: float              # seconds per instance (all arms), the model's c_I
    c_start: float                 # seconds per start (all arms), the model's c_S
    cost_measured: bool            # c_I, c_S from timing runs (else: c_I = c_S assumed)
    fixed_seconds: float           # the fixed cost of a run
    backend: str
    arms: list
    choices: list
    notes: list = field(default_factory=list)

    def choice(self, label) -> Choice:
        """The choice labelled ``label`` ("1 start", "spec" or "optimal"; one number of
        starts can carry several labels)."""
        return next(c for c in self.choices if label in c.label.split(" = "))

    def text(self) -> str:
        pct = f"{self.confidence:.0%}"
        lines = [f"plan for {self.source}: P(global) ± {self.half_width:g} at {pct}, "
                 f"family-level (cluster-robust t over instances: P(global) for a landscape "
                 f"drawn from the family)",
                 f"pilot: {self.pilot_instances} instances × {self.pilot_starts} starts × "
                 f"{self.n_arms} arm{'s' if self.n_arms != 1 else ''}, {self.steps} steps: "
                 f"{self.pilot_seconds:.3g} s ({self.pilot_steps_per_s:.3g} trajectory-steps/s,"
                 f" backend {self.backend})"]
        if self.cost_measured:
            ratio = self.c_instance / self.c_start if self.c_start > 0 else math.inf
            lines.append(f"cost here (all arms), measured: {_fmt_s(self.c_instance)} per "
                         f"instance + {_fmt_s(self.c_start)} per start (an instance costs "
                         f"about as much as {ratio:.3g} starts) + {_fmt_s(self.fixed_seconds)} "
                         f"per run")
        else:
            lines.append(f"cost here (all arms), assumed: an instance costs as much as one "
                         f"start, {_fmt_s(self.c_start)} each (from the pilot)")
        heads = [f"m={c.starts} ({c.label})" if c.label != "1 start" else "m=1"
                 for c in self.choices]
        w = max([24] + [len(a.name) + 1 for a in self.arms])
        cw = max([14] + [len(h) for h in heads])
        lines.append("")
        lines.append(f"{'arm':<{w}} {'P(global)':>9} {'σ_between':>9} {'σ_within':>9} "
                     f"{'ICC':>6} {'m*':>6}   instances needed at m starts per instance")
        lines.append(f"{'':<{w}} {'(pilot)':>9} {'':>9} {'':>9} {'':>6} {'':>6}   "
                     + " ".join(f"{h:>{cw}}" for h in heads))
        for a in self.arms:
            name = a.name + ("*" if a.conservative else "")
            lines.append(f"{name:<{w}} {a.p:>9.4f} {math.sqrt(a.between):>9.4f} "
                         f"{math.sqrt(a.within):>9.4f} {_fmt_f(a.icc, 6, 3)} "
                         f"{_fmt_f(a.m_star, 6, 1)}   "
                         + " ".join(f"{_fmt_i(a.instances[c.starts]):>{cw}}"
                                    for c in self.choices))
        pad = f"{'':<{w}} {'':>9} {'':>9} {'':>9} {'':>6} {'':>6}   "
        lines.append(f"{'study (all arms)':<{w}}" + pad[w:]
                     + " ".join(f"{_fmt_i(c.instances):>{cw}}" for c in self.choices))
        lines.append(f"{'trajectories':<{w}}" + pad[w:]
                     + " ".join(f"{_fmt_i(c.trajectories):>{cw}}" for c in self.choices))
        lines.append(f"{'expected time here':<{w}}" + pad[w:]
                     + " ".join(f"{_fmt_time(c.seconds):>{cw}}" for c in self.choices))
        lines.append("")
        lines.append("σ_between: spread of P(global) over the family's landscapes; σ_within: "
                     "√(mean p(1 − p)) on one landscape; ICC = σ_b²/(σ_b² + σ_w²); m*: the "
                     "arm's cost-optimal starts per instance.")
        lines.extend(self.notes)
        return "\n".join(lines)


def _fmt_s(s):
    if not math.isfinite(s):
        return "–"
    return f"{s * 1e3:.3g} ms" if s < 1 else f"{s:.3g} s"


def _fmt_time(s):
    if not math.isfinite(s):
        return "–"
    if s < 120:
        return f"{s:.3g} s"
    if s < 7200:
        return f"{s / 60:.3g} min"
    if s < 2 * 86400:
        return f"{s / 3600:.3g} h"
    return f"{s / 86400:.3g} d"


def _fmt_i(n):
    return f">{MAX_INSTANCES:.0e}" if n > MAX_INSTANCES else f"{n:,}"


def _fmt_f(x, width, dec):
    return f"{'–':>{width}}" if not math.isfinite(x) else f"{x:>{width}.{dec}f}"


# ---------------------------------------------------------------------------- timing

class _Timer:
    """Seconds per instance of the spec at m starts, measured with short runs: the slope of
    the run time between two run sizes, so that whatever a run costs regardless of its size
    (set-up, provenance, aggregation of a chunk) does not count per instance."""

    def __init__(self, spec, overrides):
        self.spec, self.overrides = spec, overrides
        self.per_instance = {}
        self.fixed = {}

    def run(self, instances, starts, repeat=1):
        """The shortest wall time of ``repeat`` runs (other work on the machine only ever
        adds time)."""
        best = math.inf
        for _ in range(repeat):
            t0 = time.perf_counter()
            self.spec.run(instances=instances, starts=starts, keep_outcomes=False,
                          **self.overrides)
            best = min(best, time.perf_counter() - t0)
        return best

    def warm_up(self):
        """Compile / load the kernels (the first run of a process pays for it)."""
        self.run(2, 1)

    def measure(self, starts, hint=None):
        """Seconds per instance (all arms) at ``starts`` starts; ``hint``: a first guess of it."""
        if starts in self.per_instance:
            return self.per_instance[starts]
        cap = max(8, MAX_TIMING_TRAJECTORIES // (starts * max(1, self.spec.n_arms)))
        small = max(2, min(cap // 4, int(MIN_TIMING_S / 4 / hint) if hint and hint > 0 else 16))
        t_small = self.run(small, starts, REPEAT)
        while True:
            big = min(cap, 4 * small)
            t_big = self.run(big, starts, REPEAT)
            if t_big - t_small >= MIN_TIMING_S or big >= cap:
                break
            small, t_small = big, t_big
        slope = max(t_big - t_small, 0.0) / (big - small)
        self.per_instance[starts] = slope
        self.fixed[starts] = max(t_small - small * slope, 0.0)
        return slope

    def fixed_cost(self):
        """The median fixed cost of a run over the measured numbers of starts."""
        return float(np.median(list(self.fixed.values()))) if self.fixed else math.nan


# ---------------------------------------------------------------------------- plan

def _load(spec_or_study):
    from swarm.result import Result
    from swarm.spec import Spec, load_spec
    if isinstance(spec_or_study, Spec):
        return spec_or_study, None
    if isinstance(spec_or_study, Result):
        return None, spec_or_study
    if isinstance(spec_or_study, (str, Path)):
        return load_spec(spec_or_study), None
    raise ValueError(f"plan needs a spec (a swarm.spec.Spec or the path of a TOML spec file) "
                     f"or a finished study (a swarm.Result) as its pilot, got "
                     f"{type(spec_or_study).__name__}")


def _fixed_starts(spec):
    """The starts per instance the spec's start rule imposes (a grid), else None."""
    return None if spec is None else spec.start.count(spec.landscape.dim)


def _run_pilot(spec, instances, starts, overrides, timer):
    """(pilot Result, its wall time) of the spec at ``instances`` × ``starts``."""
    fixed = _fixed_starts(spec)
    if starts is None:
        m = fixed or min(max(spec.starts, 2), MAX_PILOT_STARTS)
    else:
        m = _check_count("pilot starts", starts, 2)
    if fixed is not None and m != fixed:
        raise ValueError(f"the spec's grid start rule fixes the starts per instance at {fixed}: "
                         f"the pilot cannot use {m}")
    if m < 2:
        raise ValueError("the spec's start rule allows 1 start per instance only: the pilot "
                         "needs at least 2 to tell the spread between instances from the "
                         "spread on one")
    G = _check_count("pilot instances", instances, 2)
    if timer is not None:
        timer.warm_up()
    t0 = time.perf_counter()
    study = spec.run(instances=G, starts=m, keep_outcomes=False, **overrides)
    return study, time.perf_counter() - t0


def _arm_plans(study, G, m, confidence):
    """An :class:`ArmPlan` per arm from the pilot's per-instance moments of successes."""
    from swarm import analysis, stats
    agg = study.aggregate
    names = analysis.arm_names(study)
    tot_k, cross_kk = agg.total("successes"), agg.cross("successes", "successes")
    arms = []
    for a in range(len(study.arms)):
        k, kk = int(tot_k[a]), int(cross_kk[a])
        p, between, within = components(k, kk, G, m)
        conservative = k == 0 or k == G * m
        if conservative:          # nothing seen: the pooled Wilson bound, all between instances
            w = stats.proportion(k, G * m, confidence)
            p = w.high if k == 0 else w.low
            between, within = p * (1 - p), 0.0
        arms.append(ArmPlan(a, names[a], p, between, within, conservative, math.nan))
    return arms


def _cost_model(timer, spec, m_p, pilot_per_instance):
    """``(c_I, c_S, measured)``: seconds per instance and per start (all arms). Measured at 1
    and ``max(m_p, TIMING_STARTS)`` starts by ``timer``; without it, an instance is assumed to
    cost one start and the pilot's time per instance is split accordingly."""
    if timer is not None and _fixed_starts(spec) is None:
        one = timer.measure(1)
        hi_m = max(m_p, TIMING_STARTS)
        t_hi = timer.measure(hi_m, hint=one * hi_m)
        c_s = max((t_hi - one) / (hi_m - 1), t_hi / hi_m * 1e-3, 1e-12)
        return max(one - c_s, 0.0), c_s, True
    c_s = pilot_per_instance / (1 + m_p)
    return c_s, c_s, False


def _optimal_starts(arms, h, confidence, c_i, c_s):
    """The starts per instance that minimise the modelled cost ``I(m) (c_I + m c_S)`` of the
    study (``I(m)``: the largest of the arms' needs), among those that still need at least
    ``MIN_OPTIMAL_INSTANCES`` instances."""
    def cost(m):
        need = max(instances_needed(a.variance(m), a.p, m, h, confidence) for a in arms)
        return need * (c_i + m * c_s) if need >= MIN_OPTIMAL_INSTANCES or m == 1 else math.inf

    best_m, best = 1, cost(1)
    m = 1
    while m < MAX_STARTS:            # the modelled cost is unimodal in m: a coarse ladder …
        m = max(m + 1, int(m * 1.1))
        c = cost(m)
        if c < best:
            best_m, best = m, c
        elif c > 4 * best:
            break
    for m in range(max(1, int(best_m / 1.1) - 1), int(best_m * 1.1) + 3):   # … then refine
        c = cost(m)
        if c < best:
            best_m, best = m, c
    return best_m


def plan(spec_or_study, half_width, confidence=0.95, *, pilot=None,
         pilot_instances=DEFAULT_PILOT_INSTANCES, pilot_starts=None, threads=None,
         backend=None, timing=True) -> StudyPlan:
    """Plan a study for a family-level half-width of P(global) (see the module docstring).

    ``spec_or_study``: a :class:`swarm.spec.Spec`, the path of a spec file, or a finished
    study (:class:`swarm.Result`, with at least 2 instances and 2 starts each) to use as the
    pilot (then nothing runs, and times come from its wall time). ``pilot``: a Result to use
    as the pilot of the spec instead of running one. ``pilot_instances`` / ``pilot_starts``:
    the pilot's size (default 200 instances × the spec's starts, at least 2 and at most 64).
    ``threads``, ``backend``: as in :func:`swarm.run`, for the pilot and the timing runs.
    ``timing=False``: no timing runs; the cost model then assumes that an instance costs as
    much as one start, and the expected times are the model's, fitted to the pilot's time.
    """
    h = check_half_width(half_width)
    confidence = _check_confidence(confidence)
    spec, study = _load(spec_or_study)
    if pilot is not None:
        from swarm.result import Result
        if not isinstance(pilot, Result):
            raise ValueError(f"pilot must be a swarm.Result (a study already run), got "
                             f"{type(pilot).__name__}")
        study = pilot
    overrides = {}
    if threads is not None:
        overrides["threads"] = _check_count("threads", threads, 1)
    if backend is not None:
        overrides["backend"] = backend
    timer = _Timer(spec, overrides) if spec is not None and timing else None
    if study is None:
        study, pilot_s = _run_pilot(spec, pilot_instances, pilot_starts, overrides, timer)
    else:
        pilot_s = float((study.provenance or {}).get("wall_s") or math.nan)
        if timer is not None:
            timer.warm_up()
    G, m_p = int(study.spec["instances"]), int(study.spec["starts"])
    if G < 2 or m_p < 2:
        raise ValueError(f"a pilot needs at least 2 instances and 2 starts per instance, got "
                         f"{G} × {m_p}")
    n_arms, steps = len(study.arms), int(study.spec["steps"])
    arms = _arm_plans(study, G, m_p, confidence)
    c_i, c_s, measured = _cost_model(timer, spec, m_p, pilot_s / G)
    for arm in arms:
        if arm.between > 0:
            arm.m_star = math.sqrt(c_i * arm.within / (c_s * arm.between))
        elif arm.within > 0:
            arm.m_star = math.inf

    # ---- the choices of starts per instance
    notes = []
    fixed_starts = _fixed_starts(spec) if spec is not None else m_p
    if fixed_starts is not None:
        ms = [("spec", fixed_starts)]
        notes.append(f"The starts per instance are fixed at {fixed_starts} (the spec's grid "
                     f"start rule, or the given study).")
    else:
        ms = []
        for label, m in (("1 start", 1), ("spec", spec.starts),
                         ("optimal", _optimal_starts(arms, h, confidence, c_i, c_s))):
            same = [j for j, (_, m2) in enumerate(ms) if m2 == m]
            if same:
                ms[same[0]] = (ms[same[0]][0] + " = " + label, m)
            else:
                ms.append((label, m))
    choices = []
    for label, m in ms:
        for arm in arms:
            arm.instances[m] = instances_needed(arm.variance(m), arm.p, m, h, confidence)
        need = max(arm.instances[m] for arm in arms)
        model = need * (c_i + m * c_s)
        if timer is not None and need <= MAX_INSTANCES:
            per = timer.measure(m, hint=c_i + m * c_s)
            secs = need * per + timer.fixed[m]
        else:
            per, secs = c_i + m * c_s, model
        choices.append(Choice(m, label, need, need * m * n_arms, per, secs, model))

    if any(a.between == 0 and not a.conservative for a in arms):
        notes.append("σ_between = 0 is the pilot's estimate for some arm (no spread between "
                     "instances seen beyond what the starts explain): plans with few instances "
                     "rest on it; a larger pilot tests it.")
    if any(a.conservative for a in arms):
        notes.append("* the pilot saw no success (or only successes) for this arm: planned at "
                     "the pilot's pooled Wilson bound with ICC = 1 (every start on an instance "
                     "alike), the worst case; run a larger pilot for a sharper plan.")
    if fixed_starts is None:
        notes.append(f"optimal: the fewest seconds for the wanted half-width under the cost "
                     f"model, among plans of at least {MIN_OPTIMAL_INSTANCES} instances.")
    if timer is not None:
        notes.append(f"Expected times: the time per instance measured here at each number of "
                     f"starts (slope between timing runs {MIN_TIMING_S:g} s apart), × "
                     f"instances, + the fixed cost of a run.")
    else:
        notes.append("Expected times: the cost model with an instance assumed to cost as much "
                     "as one start, fitted to the pilot's wall time (no timing runs).")
    return StudyPlan(source=str(spec.path if spec is not None else "the given study"),
                     half_width=h, confidence=confidence, steps=steps, n_arms=n_arms,
                     spec_starts=spec.starts if spec is not None else m_p, pilot_instances=G,
                     pilot_starts=m_p, pilot_seconds=pilot_s,
                     pilot_steps_per_s=G * m_p * n_arms * steps / pilot_s
                     if pilot_s > 0 else math.nan,
                     c_instance=c_i, c_start=c_s, cost_measured=measured,
                     fixed_seconds=timer.fixed_cost() if timer is not None else math.nan,
                     backend=(study.provenance or {}).get("backend", "?"), arms=arms,
                     choices=choices, notes=notes)
