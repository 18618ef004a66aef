"""Optimizer specs: frozen, validated, with torch.optim's semantics and defaults.

``sgd``, ``momentum``, ``nesterov``, ``adagrad``, ``rmsprop`` and ``adam`` return an
:class:`Optimizer` — the kind plus its hyperparameters — in the canonical forms of
``docs/optimizers.md`` (the update rules themselves live once, in
``swarm.kernels.optimizers``):

============  ==============================================================================
sgd           x ← x − lr·g
momentum      b ← μ·b + g ;  x ← x − lr·b                                 (heavy ball, torch)
nesterov      b ← μ·b + g ;  x ← x − lr·(g + μ·b)                          (torch nesterov=True)
adagrad       S ← S + g² ;   x ← x − lr·g/(√S + ε)                         (ε = 1e-10, S₀ = 0)
rmsprop       v ← α·v + (1−α)·g² ;  x ← x − lr·g/(√v + ε)                  (α = 0.99, ε = 1e-8)
adam          m ← β1·m + (1−β1)·g ; v ← β2·v + (1−β2)·g² ; m̂ = m/(1−β1ᵗ) ; v̂ = v/(1−β2ᵗ) ;
              x ← x − lr·m̂/(√v̂ + ε)                                       (0.9, 0.999, 1e-8)
============  ==============================================================================

Real variants are options (``bias_correction``, ``eps_inside``, ``initial_accumulator``,
``centered``). The seed article's sign errors (Adagrad and Adam climbing the loss) are
documented in ``docs/optimizers.md`` and never offered.

Any hyperparameter may be a sequence: :func:`grid` expands a spec into the cross product, and
all configurations of one kind run in one launch (a learning-rate sweep never recompiles).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from swarm import _validate as V
from swarm.kernels import ids

KINDS = {"sgd": ids.SGD, "momentum": ids.MOMENTUM, "nesterov": ids.NESTEROV,
         "adagrad": ids.ADAGRAD, "rmsprop": ids.RMSPROP, "adam": ids.ADAM}
# hyperparameter name → (kernel column, validator)
_UNIT = dict(low=0.0, high=1.0, high_open=True)
_COLUMNS = {
    "lr": (ids.HP_LR, dict(low=0.0, low_open=True)),
    "momentum": (ids.HP_A, _UNIT),
    "alpha": (ids.HP_A, _UNIT),
    "b1": (ids.HP_A, _UNIT),
    "b2": (ids.HP_B, _UNIT),
    "eps": (ids.HP_EPS, dict(low=0.0)),
    "initial_accumulator": (ids.HP_S0, dict(low=0.0)),
}
MAX_CONFIGS = 10_000          # configurations of one optimizer spec's grid
_FLAGS = {"bias_correction": ids.HP_BIAS, "eps_inside": ids.HP_EPS_IN,
          "centered": ids.HP_CENTERED}
_DEFAULTS = {
    "sgd": {"lr": 0.01},
    "momentum": {"lr": 0.01, "momentum": 0.9},
    "nesterov": {"lr": 0.01, "momentum": 0.9},
    "adagrad": {"lr": 0.01, "eps": 1e-10, "initial_accumulator": 0.0, "eps_inside": False},
    "rmsprop": {"lr": 0.01, "alpha": 0.99, "eps": 1e-8, "centered": False,
                "bias_correction": False, "eps_inside": False},
    "adam": {"lr": 0.001, "b1": 0.9, "b2": 0.999, "eps": 1e-8, "bias_correction": True,
             "eps_inside": False},
}


@dataclass(frozen=True)
class Optimizer:
    """An optimizer kind and its hyperparameters (scalars, or sequences forming a grid)."""
    kind: str
    params: tuple = field(default=())          # ((name, value or tuple of values), …)
    label: str = ""

    def __post_init__(self):
        V.choice("optimizer", self.kind, KINDS)
        allowed = _DEFAULTS[self.kind]
        for name, value in self.params:
            if name not in allowed:
                raise ValueError(f"{self.kind} has no hyperparameter {name!r}; allowed: "
                                 f"{sorted(allowed)}")
            for v in (value if isinstance(value, tuple) else (value,)):
                if name in _FLAGS:
                    V.flag(f"{self.kind}.{name}", v)
                else:
                    V.real(f"{self.kind}.{name}", v, **_COLUMNS[name][1])
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

    @property
    def n_configs(self) -> int:
        """The number of configurations of the grid (without building it)."""
        n = 1
        for _, v in self.params:
            n *= len(v) if isinstance(v, tuple) else 1
        return n

    @property
    def kind_id(self) -> int:
        return KINDS[self.kind]

    @property
    def hyper(self) -> dict:
        """All hyperparameters, defaults filled in."""
        return {**_DEFAULTS[self.kind], **dict(self.params)}

    def configs(self) -> list[dict]:
        """The grid: one dict of scalar hyperparameters per configuration."""
        h = self.hyper
        names = list(h)
        axes = [h[n] if isinstance(h[n], tuple) else (h[n],) for n in names]
        return [dict(zip(names, combo)) for combo in itertools.product(*axes)]

    def to_dict(self):
        return {"kind": self.kind, "label": self.label,
                "params": {k: list(v) if isinstance(v, tuple) else v for k, v in self.params}}

    def __str__(self):
        if not self.params:
            return self.label
        inner = ", ".join(f"{k}={v}" for k, v in self.params)
        return f"{self.label}({inner})"


def check_cast(kind: str, config: dict, dtype) -> None:
    """Refuse a configuration whose hyperparameters leave their allowed range once cast to the
    working ``dtype`` (the kernels see the cast values): Adam's ``b2 = 0.99999999`` is 1.0 in
    float32, ``lr = 1e-50`` is 0."""
    F = np.dtype(dtype).type
    for name, value in config.items():
        if name in _FLAGS:
            continue
        with np.errstate(over="ignore", under="ignore"):
            cast = float(F(value))
        try:
            V.real(f"{kind}.{name}", cast, **_COLUMNS[name][1])
        except ValueError:
            raise ValueError(f"{kind}.{name} = {value!r} becomes {cast!r} in "
                             f"{np.dtype(F).name}, outside its allowed range: use "
                             f"dtype='float64' or another value") from None


def hyper_row(kind: str, config: dict, sigma: float) -> np.ndarray:
    """The kernel's hyperparameter row for one configuration."""
    row = np.zeros(ids.HP_SIZE)
    for name, value in config.items():
        col = _FLAGS.get(name, _COLUMNS.get(name, (None,))[0])
        row[col] = float(value)
    row[ids.HP_SIGMA] = sigma
    with np.errstate(divide="ignore"):       # log 0 = −inf gives 0ᵗ = 0: still exact
        row[ids.HP_LOG_A] = np.log(row[ids.HP_A])
        row[ids.HP_LOG_B] = np.log(row[ids.HP_B])
    return row


def _make(kind, label, **hyper):
    params = []
    for k, v in hyper.items():
        default = _DEFAULTS[kind].get(k)      # unknown names are refused by Optimizer itself
        if v is None or (k != "lr" and k in _DEFAULTS[kind]
                         and not isinstance(v, (list, tuple, np.ndarray))
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


def sgd(lr=0.01, *, label=None):
    """Plain (stochastic) gradient descent, ``x ← x − lr·g``."""
    return _make("sgd", label, lr=lr)


def momentum(lr=0.01, momentum=0.9, *, label=None):
    """Heavy-ball momentum (Polyak 1964) in torch's form: ``b ← μb + g ; x ← x − lr·b``.
    It runs at temperature ``lr·σ²/(2(1−μ))``: compare with SGD at matched ``lr/(1−μ)``."""
    return _make("momentum", label, lr=lr, momentum=momentum)


def nesterov(lr=0.01, momentum=0.9, *, label=None):
    """Nesterov momentum (Sutskever et al. 2013) in torch's form:
    ``b ← μb + g ; x ← x − lr·(g + μb)``."""
    return _make("nesterov", label, lr=lr, momentum=momentum)


def adagrad(lr=0.01, *, eps=1e-10, initial_accumulator=0.0, eps_inside=False, label=None):
    """Adagrad (Duchi, Hazan & Singer 2011): ``S ← S + g² ; x ← x − lr·g/(√S + ε)``.
    ``initial_accumulator``: torch uses 0 (first step ``lr·sign(g)``), optax/Keras 0.1."""
    return _make("adagrad", label, lr=lr, eps=eps, initial_accumulator=initial_accumulator,
                 eps_inside=eps_inside)


def rmsprop(lr=0.01, *, alpha=0.99, eps=1e-8, centered=False, bias_correction=False,
            eps_inside=False, label=None):
    """RMSprop (Tieleman & Hinton 2012): ``v ← αv + (1−α)g² ; x ← x − lr·g/(√v + ε)``;
    ``centered`` subtracts the squared running mean of g; ``bias_correction`` uses
    ``v/(1−αᵗ)``. Beware ``centered`` with ``bias_correction``: at t = 1 the corrected variance
    is exactly 0, so the first step is ``lr·g/ε``."""
    return _make("rmsprop", label, lr=lr, alpha=alpha, eps=eps, centered=centered,
                 bias_correction=bias_correction, eps_inside=eps_inside)


def adam(lr=0.001, *, b1=0.9, b2=0.999, eps=1e-8, bias_correction=True, eps_inside=False,
         label=None):
    """Adam (Kingma & Ba 2015, Algorithm 1), bias-corrected, ε outside the root by default."""
    return _make("adam", label, lr=lr, b1=b1, b2=b2, eps=eps, bias_correction=bias_correction,
                 eps_inside=eps_inside)


FACTORIES = {"sgd": sgd, "momentum": momentum, "nesterov": nesterov, "adagrad": adagrad,
             "rmsprop": rmsprop, "adam": adam}


def all_six(lr=None):
    """The six optimizers of the seed article at their defaults (or one common ``lr``)."""
    return [f() if lr is None else f(lr=lr) for f in FACTORIES.values()]


def from_dict(d: dict) -> Optimizer:
    V.choice("optimizer", d.get("kind"), KINDS)
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in d.get("params", {}).items()}
    return _make(d["kind"], d.get("label"), **params)
