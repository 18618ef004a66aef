"""Learning-rate schedules: frozen, validated, torch.optim.lr_scheduler's sequences.

A :class:`Schedule` is data: :meth:`Schedule.columns` fills the schedule's columns of a
configuration's hyperparameter row, and the kernels read them at run time
(``swarm.kernels.schedules``, where the formulas live), so a grid of schedules never
recompiles. Update ``t = 1, 2, …`` uses torch's scheduler epoch ``e = t − 1`` (torch steps the
scheduler after each ``optimizer.step()``):

================================  ===============================================================
``constant()``                    lr
``step(step_size, gamma=0.1)``    lr·γ^⌊e/step_size⌋                                    StepLR
``multistep(milestones, gamma)``  lr·γ^#{milestones ≤ e}                            MultiStepLR
``exponential(gamma)``            lr·γ^e                                           ExponentialLR
``cosine(T_max, eta_min=0.0)``    η + (lr − η)·(1 + cos(π·e/T_max))/2  CosineAnnealingLR (closed
                                  form; periodic past T_max like torch's)
``inverse_time(gamma)``           lr/(1 + γ·e)                  LambdaLR(1/(1 + γe)), Adagrad's
                                                                lr_decay
``warmup(steps, then, s=1/3)``    lr·(s + (1 − s)·e/W) for e < W = steps, then ``then`` on e − W:
                                  SequentialLR([LinearLR(s, total_iters=W), then], [W])
================================  ===============================================================

``str(s)`` is a compact call, ``cosine(T_max=100, eta_min=0.0)``, and :func:`parse` reads it
back exactly (``parse(str(s)) == s``); :meth:`Schedule.to_dict` / :func:`from_dict` are the
plain-JSON form (``{"kind": "cosine", "T_max": 100, "eta_min": 0.0}``). :func:`parse` takes
either (or a Schedule, or None for ``constant()``) and answers bad input — a TOML spec file's —
with a ``ValueError`` naming what is allowed, never a traceback.
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass

import numpy as np

from swarm import _validate as V
from swarm.kernels import ids

SCHED_IDS = {"constant": ids.SCHED_CONSTANT, "step": ids.SCHED_STEP,
             "multistep": ids.SCHED_MULTISTEP, "exponential": ids.SCHED_EXPONENTIAL,
             "cosine": ids.SCHED_COSINE, "inverse_time": ids.SCHED_INVERSE_TIME}
KINDS = (*SCHED_IDS, "warmup")
# periods and milestones in steps: at most 2**24, which a float32 hyperparameter row holds exactly
MAX_PERIOD = 2 ** 24
MAX_TEXT = 2000              # characters of a schedule's text (parse)
LRS_MAX_STEPS = 10 ** 8      # Schedule.lrs: a float64 array of at most 800 MB

# kind → its parameters in signature order, each (name, default); _REQUIRED: no default
_REQUIRED = object()
_PARAMS = {
    "constant": (),
    "step": (("step_size", _REQUIRED), ("gamma", 0.1)),
    "multistep": (("milestones", _REQUIRED), ("gamma", 0.1)),
    "exponential": (("gamma", _REQUIRED),),
    "cosine": (("T_max", _REQUIRED), ("eta_min", 0.0)),
    "inverse_time": (("gamma", _REQUIRED),),
    "warmup": (("steps", _REQUIRED), ("start_factor", 1.0 / 3.0), ("then", None)),
}
_FIELDS = ("step_size", "milestones", "gamma", "T_max", "eta_min", "steps", "start_factor",
           "then")
_NEUTRAL = {ids.HP_SCH_GAMMA: 1.0, ids.HP_SCH_PERIOD: 1.0, ids.HP_SCH_ETA_MIN: 0.0,
            ids.HP_WARMUP: 0.0, ids.HP_WARMUP_START: 1.0}


def _kind(value):
    if not isinstance(value, str) or value not in _PARAMS:
        raise ValueError(f"schedule kind must be one of {list(KINDS)}, got {value!r}")
    return value


def _period(name, value):
    return V.integer(name, value, low=1, high=MAX_PERIOD)


def _milestones(value):
    what = (f"1 to {ids.MAX_MILESTONES} increasing whole numbers of steps in "
            f"[1, {MAX_PERIOD}]")
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, np.ndarray)):
        raise ValueError(f"milestones must be {what}, got {value!r}")
    out = tuple(V.integer("milestones", m, low=1, high=MAX_PERIOD) for m in value)
    if not 1 <= len(out) <= ids.MAX_MILESTONES:
        raise ValueError(f"milestones must be {what}, got {len(out)} of them: {value!r}")
    if any(b <= a for a, b in zip(out, out[1:])):
        raise ValueError(f"milestones must be {what}, got {value!r}")
    return out


_CHECK = {
    "step_size": lambda v: _period("step_size", v),
    "T_max": lambda v: _period("T_max", v),
    "steps": lambda v: _period("warmup steps", v),
    "milestones": _milestones,
    "gamma": lambda v: V.real("gamma", v, low=0.0, low_open=True),
    "eta_min": lambda v: V.real("eta_min", v, low=0.0),
    "start_factor": lambda v: V.real("start_factor", v, low=0.0, high=1.0, low_open=True),
}


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule: ``kind`` (one of :data:`KINDS`) and its parameters; the
    parameters another kind takes stay None. Build one with the module's functions
    (:func:`cosine`, :func:`warmup`, …) or :func:`parse`."""
    kind: str = "constant"
    step_size: int | None = None
    milestones: tuple[int, ...] | None = None
    gamma: float | None = None
    T_max: int | None = None
    eta_min: float | None = None
    steps: int | None = None
    start_factor: float | None = None
    then: Schedule | None = None

    def __post_init__(self):
        kind = _kind(self.kind)
        params = dict(_PARAMS[kind])
        for name in _FIELDS:
            value = getattr(self, name)
            if name not in params:
                if value is not None:
                    raise ValueError(f"schedule {kind!r} takes no {name} (its parameters: "
                                     f"{_names(kind)}), got {name}={value!r}")
                continue
            if value is None:
                if params[name] is _REQUIRED:
                    raise ValueError(f"schedule {kind!r} needs {name} (its parameters: "
                                     f"{_names(kind)})")
                value = params[name]
            if name == "then":
                value = parse(value)
                if value.kind == "warmup":
                    raise ValueError(f"a warm-up's then must be one of {list(SCHED_IDS)}, "
                                     f"not another warm-up: got {value}")
            else:
                value = _CHECK[name](value)
            object.__setattr__(self, name, value)

    def params(self) -> dict:
        """The kind's parameters, in signature order (``then`` as a Schedule)."""
        return {name: getattr(self, name) for name, _ in _PARAMS[self.kind]}

    def columns(self) -> dict[int, float]:
        """Every schedule column of a hyperparameter row (``HP_SCHED`` … the last milestone;
        never ``HP_LR``): the kind, its parameters, neutral values elsewhere, unused milestones
        +inf."""
        main = self.then if self.kind == "warmup" else self
        cols = dict(_NEUTRAL)
        cols[ids.HP_SCHED] = float(SCHED_IDS[main.kind])
        for i in range(ids.MAX_MILESTONES):
            cols[ids.HP_MILESTONES + i] = math.inf
        if self.kind == "warmup":
            cols[ids.HP_WARMUP] = float(self.steps)
            cols[ids.HP_WARMUP_START] = self.start_factor
        if main.gamma is not None:
            cols[ids.HP_SCH_GAMMA] = main.gamma
        if main.kind == "step":
            cols[ids.HP_SCH_PERIOD] = float(main.step_size)
        elif main.kind == "cosine":
            cols[ids.HP_SCH_PERIOD] = float(main.T_max)
            cols[ids.HP_SCH_ETA_MIN] = main.eta_min
        elif main.kind == "multistep":
            for i, m in enumerate(main.milestones):
                cols[ids.HP_MILESTONES + i] = float(m)
        return cols

    def to_dict(self) -> dict:
        """Plain JSON: ``{"kind": ..., <parameters>}`` (``then`` nested, milestones a list)."""
        d = {"kind": self.kind}
        for name, value in self.params().items():
            if name == "then":
                value = value.to_dict()
            elif name == "milestones":
                value = list(value)
            d[name] = value
        return d

    def __str__(self):
        return f"{self.kind}({', '.join(f'{k}={_text(v)}' for k, v in self.params().items())})"

    def lrs(self, lr, steps) -> np.ndarray:
        """The float64 learning rates of updates 1 … ``steps`` with base learning rate ``lr``,
        computed on the host (NumPy), for documents and plots; the kernels compute the same
        closed forms."""
        lr = V.real("lr", lr, low=0.0, low_open=True)
        steps = V.integer("steps", steps, low=0, high=LRS_MAX_STEPS)
        e = np.arange(steps, dtype=np.float64)          # torch's scheduler epochs t − 1
        if self.kind != "warmup":
            return _closed_form(self, lr, e)
        W, s = self.steps, self.start_factor
        out = _closed_form(self.then, lr, np.maximum(e - W, 0.0))
        warm = e < W
        out[warm] = lr * (s + (1.0 - s) * e[warm] / W)
        return out


def _names(kind):
    return ", ".join(name for name, _ in _PARAMS[kind]) or "none"


def _text(value):
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _closed_form(s, lr, e):
    """The non-warm-up kind ``s`` at the schedule epochs ``e`` (float64 whole numbers)."""
    if s.kind == "constant":
        return np.full(e.shape, lr)
    if s.kind == "step":
        return lr * np.power(s.gamma, np.floor_divide(e, s.step_size))
    if s.kind == "multistep":
        n = np.searchsorted(np.asarray(s.milestones, dtype=np.float64), e, side="right")
        return lr * np.power(s.gamma, n.astype(np.float64))
    if s.kind == "exponential":
        return lr * np.power(s.gamma, e)
    if s.kind == "cosine":
        phase = np.mod(e, 2 * s.T_max)
        return s.eta_min + (lr - s.eta_min) * (1.0 + np.cos(math.pi * phase / s.T_max)) * 0.5
    return lr / (1.0 + s.gamma * e)                     # inverse_time


# ------------------------------------------------------------------------------ constructors


def constant() -> Schedule:
    """The base learning rate at every step."""
    return Schedule("constant")


def step(step_size, gamma=0.1) -> Schedule:
    """lr·γ^⌊e/step_size⌋ (torch StepLR)."""
    return Schedule("step", step_size=step_size, gamma=gamma)


def multistep(milestones, gamma=0.1) -> Schedule:
    """lr·γ^(number of milestones ≤ e) (torch MultiStepLR); 1 … MAX_MILESTONES increasing
    milestones."""
    return Schedule("multistep", milestones=milestones, gamma=gamma)


def exponential(gamma) -> Schedule:
    """lr·γ^e (torch ExponentialLR)."""
    return Schedule("exponential", gamma=gamma)


def cosine(T_max, eta_min=0.0) -> Schedule:
    """η + (lr − η)·(1 + cos(π·e/T_max))/2 (torch CosineAnnealingLR; η absolute)."""
    return Schedule("cosine", T_max=T_max, eta_min=eta_min)


def inverse_time(gamma) -> Schedule:
    """lr/(1 + γ·e) (torch LambdaLR(lambda e: 1/(1 + γe)), Adagrad's lr_decay)."""
    return Schedule("inverse_time", gamma=gamma)


def warmup(steps, then=None, start_factor=1.0 / 3.0) -> Schedule:
    """A linear warm-up over ``steps`` updates from ``start_factor``·lr (torch LinearLR,
    whose default start factor is 1/3), then the schedule ``then`` (anything :func:`parse`
    takes except another warm-up; default constant) from its epoch 0."""
    return Schedule("warmup", steps=steps, then=then, start_factor=start_factor)


CONSTRUCTORS = {"constant": constant, "step": step, "multistep": multistep,
                "exponential": exponential, "cosine": cosine, "inverse_time": inverse_time,
                "warmup": warmup}


# ------------------------------------------------------------------------------ reading


def from_dict(d) -> Schedule:
    """The Schedule of :meth:`Schedule.to_dict`'s form; missing parameters take their
    defaults."""
    return V.kind_dict(d, "a schedule dict", KINDS, _kind,
                       lambda kind: [name for name, _ in _PARAMS[kind]], "schedule", Schedule)


def _then(node):
    """A schedule's call inside a schedule's text (a warm-up's then), else None."""
    func = node.func if isinstance(node, ast.Call) else node
    if isinstance(func, ast.Name) and func.id in _PARAMS:
        return _call(node)
    return None


def _literal(node):
    """A parameter value of a schedule's text: a number, a list of numbers, or a call."""
    return V.literal(node, "a schedule parameter must be a number, a list of numbers or a "
                     "schedule", _then)


def _call(node):
    """``kind`` or ``kind(args)`` → the constructor's Schedule."""
    func = node.func if isinstance(node, ast.Call) else node
    if not isinstance(func, ast.Name):
        raise ValueError(f"a schedule is written kind(parameters) with kind one of "
                         f"{list(KINDS)}, got {ast.unparse(node)!r}")
    kind = _kind(func.id)
    return V.kind_call(node, kind, CONSTRUCTORS, _names(kind), "schedule", _literal,
                       lambda: ValueError(f"schedule {kind!r} takes the parameters "
                                          f"{_names(kind)}, got {ast.unparse(node)!r}"))


def parse(spec) -> Schedule:
    """A Schedule from a Schedule (as is), a dict (:func:`from_dict`), a string (``str(s)``'s
    form: ``cosine(T_max=100, eta_min=0.0)``, ``warmup(10, then=step(30))``, a bare ``kind``
    with defaults only) or None (``constant()``)."""
    if spec is None:
        return constant()
    if isinstance(spec, Schedule):
        return spec
    if isinstance(spec, dict):
        return from_dict(spec)
    if not isinstance(spec, str):
        raise ValueError(f"a schedule must be a string such as 'cosine(T_max=100)', a dict "
                         f"with a 'kind' (one of {list(KINDS)}), or a Schedule; got {spec!r}")
    if len(spec) > MAX_TEXT:
        raise ValueError(f"a schedule's text must be at most {MAX_TEXT} characters, got "
                         f"{len(spec)}")
    try:
        tree = ast.parse(spec.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        tree = None
    if tree is None or not isinstance(tree.body, (ast.Call, ast.Name)):
        raise ValueError(f"a schedule is written kind(parameters) with kind one of "
                         f"{list(KINDS)}, e.g. 'cosine(T_max=100)'; got {spec!r}")
    try:
        return _call(tree.body)
    except RecursionError:
        raise ValueError(f"a schedule's text is nested too deeply: {spec[:80]!r}…") from None
