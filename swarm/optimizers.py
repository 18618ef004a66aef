"""Optimizer specs: a registry with one row per optimizer, torch.optim's semantics and defaults.

Every optimizer is one :class:`Row` of :data:`REGISTRY`: its name, the kernel rule it runs (one
function per rule in ``swarm.kernels.optimizers``, shared by the CPU and CUDA kernels), its
hyperparameters (name, default, allowed range, kernel column: written once, here), the state it
keeps, its formula and its source. The factories (``sgd``, ``adam``, ``lion``, …), their
signatures and docstrings, the validation, the TOML spec keys, the arm labels and the docs
table (``docs/optimizers.md``, checked by the tests) are all read from the rows. Adding an
optimizer is one kernel function and its dispatch line (``kernels/optimizers.py``), one row
here, and one reference in ``tests/naive.py``; the tests, parametrised from the registry, name
whatever a new row lacks.

Besides its own hyperparameters every optimizer takes, per configuration, a learning-rate
``schedule`` (:mod:`swarm.schedules`, torch.optim.lr_scheduler's sequences; default constant)
and gradient clipping (``clip_norm``: torch's ``clip_grad_norm_`` on the trajectory's gradient,
noise included; ``clip_value``: ``clip_grad_value_``). The gradient of a step is
``∇f + noise → clip → weight decay → rule(lr of the step)``: the noise stays additive to the
gradient, so with a decaying schedule the temperature ``lr·σ²/2`` decays with it (annealing).

Any hyperparameter may be a sequence: :func:`Optimizer.configs` expands a spec into the cross
product, and all configurations of one kind run in one launch (a sweep of learning rates or of
schedules never recompiles). The seed article's sign errors (Adagrad and Adam climbing the
loss) are documented in ``docs/optimizers.md`` and never offered.
"""
from __future__ import annotations

import inspect
import itertools
from dataclasses import dataclass, field

import numpy as np

from swarm import _validate as V
from swarm import schedules as S
from swarm.kernels import ids

MAX_CONFIGS = 10_000          # configurations of one optimizer spec's grid

_UNIT = dict(low=0.0, high=1.0, high_open=True)       # [0, 1): a decay rate
_POS = dict(low=0.0, low_open=True)                   # (0, inf)
_NONNEG = dict(low=0.0)                               # [0, inf)


@dataclass(frozen=True)
class Hyper:
    """One hyperparameter: its default, its kernel column, and its allowed values
    (``bounds``: a real range for ``swarm._validate.real``; ``None``: a flag, True or False).
    ``optional`` hyperparameters are off at their default and named in a study's arms only
    when a configuration turns them on."""
    name: str
    default: object
    column: int | None
    bounds: dict | None
    doc: str
    optional: bool = False

    @property
    def is_flag(self) -> bool:
        return self.bounds is None and self.column is not None

    def check(self, owner, value):
        """Validate one (scalar) value; returns it in canonical form."""
        what = f"{owner}.{self.name}"
        if self.name == "schedule":
            try:
                return S.parse(value)
            except ValueError as e:
                raise ValueError(f"{what}: {e}") from None
        if self.is_flag:
            return V.flag(what, value)
        if value is None and self.default is None:
            return None
        V.real(what, value, **self.bounds)
        return value

    def allowed(self) -> str:
        """The allowed values, in words (docs and messages)."""
        if self.name == "schedule":
            return "a swarm.schedules schedule"
        if self.is_flag:
            return "True or False"
        b = self.bounds
        lo = "(" if b.get("low_open") or b.get("low") is None else "["
        hi = ")" if b.get("high_open") or b.get("high") is None else "]"
        r = (f"{lo}{'-inf' if b.get('low') is None else b['low']:g}, "
             f"{'inf' if b.get('high') is None else format(b['high'], 'g')}{hi}")
        return r + (" or None (off)" if self.default is None else "")


def _lr(default):
    return Hyper("lr", default, ids.HP_LR, _POS, "learning rate (the schedule's base value)")


def _wd(default=0.0):
    return Hyper("weight_decay", default, ids.HP_WD, _NONNEG,
                 "weight decay λ (L2, torch's form: g ← g + λ·x)", optional=default == 0.0)


_DECOUPLED = Hyper("decoupled_weight_decay", False, ids.HP_WD_DECOUPLED, None,
                   "decoupled weight decay x ← x·(1 − lr·λ) (AdamW's form)", optional=True)
_B1 = Hyper("b1", 0.9, ids.HP_A, _UNIT, "β1, decay of the first moment m")
_B2 = Hyper("b2", 0.999, ids.HP_B, _UNIT, "β2, decay of the second moment v")
_BIAS = Hyper("bias_correction", True, ids.HP_BIAS, None, "bias-corrected moments m/(1−β1ᵗ), "
              "v/(1−β2ᵗ)")
_EPS_IN = Hyper("eps_inside", False, ids.HP_EPS_IN, None, "ε inside the root: √(v̂ + ε)")
_AMSGRAD = Hyper("amsgrad", False, ids.HP_AMSGRAD, None, "AMSGrad: the denominator from the "
                 "running maximum of v", optional=True)


def _eps(default):
    return Hyper("eps", default, ids.HP_EPS, _NONNEG, "ε in the denominator")


def _momentum(default=0.9, bounds=_UNIT):
    return Hyper("momentum", default, ids.HP_A, bounds, "momentum μ")


# every optimizer's per-configuration extras (after its own hyperparameters)
COMMON = (
    Hyper("schedule", None, None, None, "learning-rate schedule (swarm.schedules; None: "
          "constant)", optional=True),
    Hyper("clip_norm", None, ids.HP_CLIP_NORM, _POS, "clip the trajectory's gradient to this "
          "2-norm (torch clip_grad_norm_)", optional=True),
    Hyper("clip_value", None, ids.HP_CLIP_VALUE, _POS, "clip each gradient coordinate to "
          "[−c, c] (torch clip_grad_value_)", optional=True),
)


@dataclass(frozen=True)
class Row:
    """One optimizer of the registry."""
    name: str
    rule: int                       # kernel id (ids.*), the rule in kernels/optimizers.py
    hypers: tuple                   # its own Hyper's (COMMON is added to every row)
    state: tuple                    # names of the state it keeps per coordinate
    formula: str                    # one step, as docs/optimizers.md shows it
    source: str                     # whose semantics and defaults
    summary: str
    fixed: tuple = ()               # (kernel column, value): settings the row implies
    check: object = None            # config → None, raises ValueError (cross-field rules)

    @property
    def all_hypers(self) -> tuple:
        return self.hypers + COMMON

    @property
    def defaults(self) -> dict:
        return {h.name: h.default for h in self.all_hypers}

    def hyper(self, name) -> Hyper:
        for h in self.all_hypers:
            if h.name == name:
                return h
        raise ValueError(f"{self.name} has no hyperparameter {name!r}; allowed: "
                         f"{sorted(h.name for h in self.all_hypers)}")


def _rprop_check(cfg):
    if cfg["step_min"] > cfg["step_max"]:
        raise ValueError(f"rprop.step_min must be at most rprop.step_max, got "
                         f"{cfg['step_min']!r} > {cfg['step_max']!r}")


_ROWS = [
    Row("sgd", ids.SGD, (_lr(0.01), _wd()), (), "x ← x − lr·g", "torch.optim.SGD",
        "Plain (stochastic) gradient descent."),
    Row("momentum", ids.MOMENTUM,
        (_lr(0.01), _momentum(),
         Hyper("dampening", 0.0, ids.HP_DAMPENING, dict(low=0.0, high=1.0),
               "dampening d of the gradient in the buffer (from the second step, as torch)",
               optional=True), _wd()),
        ("b",), "b ← μ·b + (1−d)·g (b₁ = g) ; x ← x − lr·b", "torch.optim.SGD(momentum=μ)",
        "Heavy-ball momentum (Polyak 1964) in torch's form. It runs at temperature "
        "lr·σ²/(2(1−μ)): compare with SGD at matched lr/(1−μ)."),
    Row("nesterov", ids.NESTEROV, (_lr(0.01), _momentum(), _wd()), ("b",),
        "b ← μ·b + g ; x ← x − lr·(g + μ·b)", "torch.optim.SGD(momentum=μ, nesterov=True)",
        "Nesterov momentum (Sutskever et al. 2013) in torch's form (torch refuses dampening "
        "with Nesterov, so has swarm)."),
    Row("adagrad", ids.ADAGRAD,
        (_lr(0.01), _eps(1e-10),
         Hyper("initial_accumulator", 0.0, ids.HP_S0, _NONNEG,
               "initial S (torch 0: first step lr·sign(g); optax/Keras 0.1)"),
         _EPS_IN, _wd()),
        ("S",), "S ← S + g² ; x ← x − lr·g/(√S + ε)", "torch.optim.Adagrad",
        "Adagrad (Duchi, Hazan & Singer 2011); torch's lr_decay is "
        "schedule=inverse_time(lr_decay)."),
    Row("rmsprop", ids.RMSPROP,
        (_lr(0.01), Hyper("alpha", 0.99, ids.HP_A, _UNIT, "decay α of v"), _eps(1e-8),
         Hyper("centered", False, ids.HP_CENTERED, None, "subtract the squared running mean "
               "of g from v"),
         Hyper("bias_correction", False, ids.HP_BIAS, None, "v/(1−αᵗ) (not a torch option)"),
         _EPS_IN, _wd()),
        ("v", "ḡ"), "v ← α·v + (1−α)·g² ; x ← x − lr·g/(√v + ε)", "torch.optim.RMSprop",
        "RMSprop (Tieleman & Hinton 2012). Beware centered with bias_correction: at t = 1 the "
        "corrected variance is exactly 0, so the first step is lr·g/ε."),
    Row("adam", ids.ADAM,
        (_lr(0.001), _B1, _B2, _eps(1e-8), _BIAS, _EPS_IN, _AMSGRAD, _wd(), _DECOUPLED),
        ("m", "v", "v̄"),
        "m ← β1·m + (1−β1)·g ; v ← β2·v + (1−β2)·g² ; x ← x − lr·m̂/(√v̂ + ε)",
        "torch.optim.Adam", "Adam (Kingma & Ba 2015, Algorithm 1), bias-corrected, ε outside "
        "the root by default; amsgrad=True is AMSGrad (Reddi et al. 2018)."),
    Row("adamw", ids.ADAM,
        (_lr(0.001), _B1, _B2, _eps(1e-8), _BIAS, _EPS_IN, _AMSGRAD, _wd(0.01)),
        ("m", "v", "v̄"), "x ← x·(1 − lr·λ) ; then Adam", "torch.optim.AdamW",
        "AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay.",
        fixed=((ids.HP_WD_DECOUPLED, 1.0),)),
    Row("adamax", ids.ADAMAX, (_lr(0.002), _B1, _B2, _eps(1e-8), _wd()), ("m", "u"),
        "m ← β1·m + (1−β1)·g ; u ← max(β2·u, |g| + ε) ; x ← x − lr/(1−β1ᵗ)·m/u",
        "torch.optim.Adamax", "Adamax (Kingma & Ba 2015, section 7.1): Adam with the ∞-norm."),
    Row("nadam", ids.NADAM,
        (_lr(0.002), _B1, _B2, _eps(1e-8),
         Hyper("momentum_decay", 0.004, ids.HP_C, _NONNEG, "ψ in μₜ = β1·(1 − ½·0.96^(tψ))"),
         _wd(), _DECOUPLED),
        ("m", "v"), "μₜ = β1(1 − ½·0.96^(tψ)) ; x ← x − lr(1−μₜ)/(1−Πμ)·g/d − "
        "lr·μₜ₊₁/(1−Πμ·μₜ₊₁)·m/d, d = √(v/(1−β2ᵗ)) + ε", "torch.optim.NAdam",
        "NAdam (Dozat 2016): Adam with Nesterov momentum and torch's momentum schedule."),
    Row("radam", ids.RADAM, (_lr(0.001), _B1, _B2, _eps(1e-8), _wd(), _DECOUPLED), ("m", "v"),
        "ρₜ = ρ∞ − 2tβ2ᵗ/(1−β2ᵗ) ; ρₜ > 5: x ← x − lr·m̂·r·√(1−β2ᵗ)/(√v + ε), else "
        "x ← x − lr·m̂", "torch.optim.RAdam",
        "RAdam (Liu et al. 2020): Adam with the variance of the adaptive rate rectified."),
    Row("adadelta", ids.ADADELTA,
        (_lr(1.0), Hyper("rho", 0.9, ids.HP_A, dict(low=0.0, high=1.0), "decay ρ"),
         _eps(1e-6), _wd()),
        ("v", "u"), "v ← ρv + (1−ρ)g² ; δ = √(u+ε)/√(v+ε)·g ; u ← ρu + (1−ρ)δ² ; x ← x − lr·δ",
        "torch.optim.Adadelta", "Adadelta (Zeiler 2012)."),
    Row("rprop", ids.RPROP,
        (_lr(0.01),
         Hyper("etaminus", 0.5, ids.HP_A, dict(low=0.0, high=1.0, low_open=True,
                                                 high_open=True), "step-size shrink η₋"),
         Hyper("etaplus", 1.2, ids.HP_B, dict(low=1.0, low_open=True), "step-size growth η₊"),
         Hyper("step_min", 1e-6, ids.HP_C, _NONNEG, "smallest step size"),
         Hyper("step_max", 50.0, ids.HP_D, _POS, "largest step size")),
        ("g₋", "Δ"), "Δ ← clamp(Δ·η±, Δmin, Δmax) (Δ₀ = lr) ; x ← x − sign(g)·Δ",
        "torch.optim.Rprop", "Resilient backpropagation (Riedmiller & Braun 1993), torch's "
        "form; the step sizes start at the first step's lr and ignore the schedule after.",
        check=_rprop_check),
    Row("lion", ids.LION,
        (_lr(1e-4), Hyper("b1", 0.9, ids.HP_A, _UNIT, "β1, interpolation of the update"),
         Hyper("b2", 0.99, ids.HP_B, _UNIT, "β2, decay of the momentum m"),
         Hyper("weight_decay", 1e-3, ids.HP_WD, _NONNEG, "decoupled weight decay λ")),
        ("m",), "x ← x − lr·(sign(β1·m + (1−β1)·g) + λ·x) ; m ← β2·m + (1−β2)·g",
        "Chen et al. 2023, Algorithm 2; optax.lion's defaults",
        "Lion (EvoLved Sign Momentum).", fixed=((ids.HP_WD_DECOUPLED, 1.0),)),
    Row("signsgd", ids.SIGNUM, (_lr(0.01), _wd()), (), "x ← x − lr·sign(g)",
        "Bernstein et al. 2018", "signSGD: the sign of the gradient."),
    Row("signum", ids.SIGNUM, (_lr(0.01), _momentum(), _wd()), ("m",),
        "m ← β·m + (1−β)·g ; x ← x − lr·sign(m)", "Bernstein et al. 2018",
        "Signum: the sign of an exponential moving average of the gradient."),
]
REGISTRY: dict[str, Row] = {r.name: r for r in _ROWS}
KINDS = {r.name: r.rule for r in _ROWS}


@dataclass(frozen=True)
class Optimizer:
    """An optimizer kind and its hyperparameters (scalars, or sequences forming a grid)."""
    kind: str
    params: tuple = field(default=())          # ((name, value or tuple of values), …)
    label: str = ""

    def __post_init__(self):
        V.choice("optimizer", self.kind, REGISTRY)
        row = REGISTRY[self.kind]
        params = []
        for name, value in self.params:
            h = row.hyper(name)
            if isinstance(value, tuple):
                value = tuple(h.check(self.kind, v) for v in value)
            else:
                value = h.check(self.kind, value)
            params.append((name, value))
        object.__setattr__(self, "params", tuple(params))
        if not isinstance(self.label, str):
            raise ValueError(f"{self.kind}.label must be a string, got {self.label!r}")
        if not self.label:
            object.__setattr__(self, "label", self.kind)
        n = self.n_configs
        if n > MAX_CONFIGS:
            sizes = " × ".join(f"{len(v)} {k}" for k, v in self.params if isinstance(v, tuple))
            raise ValueError(f"{self.kind}: a grid of {n:,} configurations ({sizes}) is more "
                             f"than the {MAX_CONFIGS:,} one optimizer may have; sweep fewer "
                             f"values")
        if row.check is not None:
            for cfg in self.configs():
                row.check(cfg)

    @property
    def row(self) -> Row:
        return REGISTRY[self.kind]

    @property
    def n_configs(self) -> int:
        """The number of configurations of the grid (without building it)."""
        n = 1
        for _, v in self.params:
            n *= len(v) if isinstance(v, tuple) else 1
        return n

    @property
    def kind_id(self) -> int:
        """The kernel rule this optimizer runs."""
        return REGISTRY[self.kind].rule

    @property
    def hyper(self) -> dict:
        """All hyperparameters, defaults filled in."""
        return {**REGISTRY[self.kind].defaults, **dict(self.params)}

    def configs(self) -> list[dict]:
        """The grid: one dict of scalar hyperparameters per configuration."""
        h = self.hyper
        names = list(h)
        axes = [h[n] if isinstance(h[n], tuple) else (h[n],) for n in names]
        return [dict(zip(names, combo)) for combo in itertools.product(*axes)]

    def to_dict(self):
        return {"kind": self.kind, "label": self.label,
                "params": {k: [_plain(x) for x in v] if isinstance(v, tuple) else _plain(v)
                           for k, v in self.params}}

    def __str__(self):
        if not self.params:
            return self.label
        inner = ", ".join(f"{k}={v}" for k, v in self.params)
        return f"{self.label}({inner})"


def _plain(v):
    return str(v) if isinstance(v, S.Schedule) else v


def arm_params(kind: str, config: dict) -> dict:
    """A configuration as a study's arm records it (plain JSON values): every hyperparameter,
    except optional ones left at their default (off) — a study names weight decay, a schedule or
    clipping only where a configuration uses them."""
    row = REGISTRY[kind]
    out = {}
    for name, value in config.items():
        h = row.hyper(name)
        if h.optional and (value == h.default or (h.name == "schedule" and value is not None
                                                  and value == S.constant())):
            continue
        out[name] = _plain(value)
    return out


def check_cast(kind: str, config: dict, dtype) -> None:
    """Refuse a configuration whose hyperparameters leave their allowed range once cast to the
    working ``dtype`` (the kernels see the cast values): Adam's ``b2 = 0.99999999`` is 1.0 in
    float32, ``lr = 1e-50`` is 0."""
    F = np.dtype(dtype).type
    row = REGISTRY[kind]
    for name, value in config.items():
        h = row.hyper(name)
        if h.bounds is None or value is None:
            continue
        with np.errstate(over="ignore", under="ignore"):
            cast = float(F(value))
        try:
            V.real(f"{kind}.{name}", cast, **h.bounds)
        except ValueError:
            raise ValueError(f"{kind}.{name} = {value!r} becomes {cast!r} in "
                             f"{np.dtype(F).name}, outside its allowed range: use "
                             f"dtype='float64' or another value") from None


def hyper_row(kind: str, config: dict, sigma, dim: int | None = None) -> np.ndarray:
    """The kernel's hyperparameter row for one configuration under gradient noise ``sigma``:
    a number (σ of Gaussian noise, today's row) or a :class:`swarm.noise.Noise` (its
    columns; per-coordinate σ widens the row by ``dim`` columns)."""
    cols = {ids.HP_SIGMA: sigma} if isinstance(sigma, (int, float)) else sigma.columns(dim)
    row = np.zeros(max(ids.HP_SIZE, max(cols) + 1))
    r = REGISTRY[kind]
    for col, value in r.fixed:
        row[col] = value
    for name, value in config.items():
        h = r.hyper(name)
        if name == "schedule":
            for col, v in S.parse(value).columns().items():
                row[col] = v
        elif value is not None:
            row[h.column] = float(value)
    for col, v in cols.items():
        row[col] = v
    with np.errstate(divide="ignore"):       # log 0 = −inf gives 0ᵗ = 0: still exact
        row[ids.HP_LOG_A] = np.log(row[ids.HP_A])
        row[ids.HP_LOG_B] = np.log(row[ids.HP_B])
    return row


def _make(kind, label, **hyper):
    row = REGISTRY[kind]
    params = []
    for k, v in hyper.items():
        h = row.hyper(k)
        default = h.default
        if v is None or (k != "lr" and not isinstance(v, (list, tuple, np.ndarray))
                         and v == default and type(v) is type(default)):
            continue
        if isinstance(v, np.ndarray):
            v = v.tolist()                    # Python scalars; a 0-d array is one value
        elif isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, (list, tuple)):
            # element by element (np.asarray would coerce [0.1, True] to [0.1, 1.0] and
            # refuse ragged nesting without naming the hyperparameter); the Optimizer
            # validates each value
            v = tuple(x.item() if isinstance(x, np.generic) else x for x in v)
            if not v:
                raise ValueError(f"{kind}.{k} must not be an empty sequence")
        params.append((k, v))
    return Optimizer(kind, tuple(params), label or "")


def _factory(row: Row):
    """``swarm.optimizers.<row.name>(lr=…, *, …, label=None)``: signature and docstring from
    the row."""
    hs = row.all_hypers
    P = inspect.Parameter
    sig = inspect.Signature(
        [P("lr", P.POSITIONAL_OR_KEYWORD, default=hs[0].default)]
        + [P(h.name, P.KEYWORD_ONLY, default=h.default) for h in hs[1:]]
        + [P("label", P.KEYWORD_ONLY, default=None)])

    def factory(*args, **kwargs):
        for k in kwargs:
            if k != "label":
                row.hyper(k)                 # an unknown name: the allowed ones, named
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as e:
            raise ValueError(f"{row.name}: {e}; hyperparameters: "
                             f"{', '.join(h.name for h in hs)}") from None
        bound.apply_defaults()
        a = dict(bound.arguments)
        return _make(row.name, a.pop("label"), **a)

    factory.__name__ = factory.__qualname__ = row.name
    factory.__signature__ = sig
    lines = [f"{row.summary}", "", f"    {row.formula}", "",
             f"Semantics and defaults: {row.source}. Hyperparameters (a sequence makes a grid):"]
    lines += [f"- ``{h.name}`` = {h.default!r}: {h.doc}; {h.allowed()}" for h in hs]
    factory.__doc__ = "\n".join(lines)
    return factory


FACTORIES = {name: _factory(row) for name, row in REGISTRY.items()}
globals().update(FACTORIES)
__all__ = ["Optimizer", "Row", "Hyper", "REGISTRY", "FACTORIES", "COMMON", "all_six",
           "from_dict", "hyper_row", "check_cast", "arm_params", *FACTORIES]

SEED_SIX = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")


def all_six(lr=None):
    """The six optimizers of the seed article at their defaults (or one common ``lr``)."""
    return [FACTORIES[k]() if lr is None else FACTORIES[k](lr=lr) for k in SEED_SIX]


def from_dict(d: dict) -> Optimizer:
    V.choice("optimizer", d.get("kind"), REGISTRY)
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in d.get("params", {}).items()}
    return _make(d["kind"], d.get("label"), **params)
