"""Gradient-noise models: frozen, validated, read by the kernels at run time.

A :class:`Noise` is data: :meth:`Noise.columns` fills the noise columns of a configuration's
hyperparameter row, and the kernels (``swarm.kernels.trajectory``, samplers in
``swarm.kernels.noise``) read them at run time, so a grid over noise models or their
parameters never recompiles. Each step adds ``σ·ξ`` to the gradient, one ξ per coordinate:

==============================  =================================================================
``gaussian(sigma)``             ξ ~ N(0, 1): today's noise, the default. ``sigma`` may be a
                                vector of length dim (one σ per coordinate)
``student_t(sigma, nu)``        ξ ~ Student-t with ν > 0 degrees of freedom (scipy.stats.t(ν))
``alpha_stable(sigma, alpha)``  ξ ~ symmetric α-stable, 0 < α ≤ 2, scipy's
                                ``levy_stable(alpha, 0)``: α = 2 is N(0, 2) (variance 2σ²),
                                α = 1 the Cauchy; Chambers–Mallows–Stuck
``curvature(sigma)``            ξ_j ~ N(0, |H_jj(x)|) at the current point x: Gaussian with
                                covariance σ²·|diag H(x)|, the diagonal Hessian-shaped noise
==============================  =================================================================

Every model draws from the same Philox stream keyed by (seed, instance, start, step,
coordinate), so every optimizer sees the same noise on the same key.

``str(n)`` is a compact call, ``student_t(sigma=0.5, nu=3.0)``, and :func:`parse` reads it back
exactly; :meth:`Noise.to_dict` is the plain-JSON form (``{"kind": "student_t", "sigma": 0.5,
"nu": 3.0}``). :func:`parse` also takes a plain number (σ of ``gaussian``), a dict or a Noise,
and answers bad input with a ``ValueError`` naming the field and what is allowed.

A study records a plain ``gaussian`` with one σ as that number (:func:`canonical`): such a
study is exactly the one written with ``noise=σ``, its kernels take today's code path, and its
manifest and outcome hash are today's.
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass

import numpy as np

from swarm import _validate as V
from swarm.kernels import ids

KIND_IDS = {"gaussian": ids.NOISE_GAUSSIAN, "student_t": ids.NOISE_STUDENT_T,
            "alpha_stable": ids.NOISE_STABLE, "curvature": ids.NOISE_CURVATURE}
KINDS = tuple(KIND_IDS)
MAX_TEXT = 2000
_PARAMS = {"gaussian": ("sigma",), "student_t": ("sigma", "nu"),
           "alpha_stable": ("sigma", "alpha"), "curvature": ("sigma",)}
_FIELDS = ("sigma", "nu", "alpha")


def _kind(value):
    if not isinstance(value, str) or value not in KIND_IDS:
        raise ValueError(f"noise kind must be one of {list(KINDS)}, got {value!r}")
    return value


def _sigma(value):
    """σ ≥ 0: a number, or a non-empty vector of them (one per coordinate) as a tuple."""
    what = "a real number ≥ 0 or a non-empty list of them (one per coordinate)"
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError(f"noise sigma must be {what}, got {value!r}")
        out = tuple(V.real("noise sigma", v.item() if isinstance(v, np.generic) else v,
                           low=0.0) for v in value)
        return out[0] if len(out) == 1 else out
    return V.real("noise sigma", value, low=0.0)


_CHECK = {
    "sigma": _sigma,
    "nu": lambda v: V.real("noise nu (Student-t degrees of freedom)", v, low=0.0,
                           low_open=True),
    "alpha": lambda v: V.real("noise alpha (stability index)", v, low=0.0, high=2.0,
                              low_open=True),
}


@dataclass(frozen=True)
class Noise:
    """A gradient-noise model: ``kind`` (one of :data:`KINDS`), ``sigma`` (a float, or a tuple
    of per-coordinate floats) and the kind's shape parameter (``nu`` for Student-t, ``alpha``
    for α-stable); the parameters another kind takes stay None. Build one with the module's
    functions or :func:`parse`."""
    kind: str = "gaussian"
    sigma: float | tuple[float, ...] = 0.0
    nu: float | None = None
    alpha: float | None = None

    def __post_init__(self):
        kind = _kind(self.kind)
        for name in _FIELDS:
            value = getattr(self, name)
            if name not in _PARAMS[kind]:
                if value is not None:
                    raise ValueError(f"noise {kind!r} takes no {name} (its parameters: "
                                     f"{', '.join(_PARAMS[kind])}), got {name}={value!r}")
                continue
            if value is None:
                raise ValueError(f"noise {kind!r} needs {name} (its parameters: "
                                 f"{', '.join(_PARAMS[kind])})")
            object.__setattr__(self, name, _CHECK[name](value))

    @property
    def per_coordinate(self) -> bool:
        return isinstance(self.sigma, tuple)

    @property
    def plain(self) -> bool:
        """Today's noise: Gaussian with one σ (recorded as the number σ)."""
        return self.kind == "gaussian" and not self.per_coordinate

    @property
    def scale(self) -> float:
        """σ, or for per-coordinate σ their root mean square (the number a study's arm
        records as its ``noise``, for tables and figures)."""
        if self.per_coordinate:
            return float(math.sqrt(sum(s * s for s in self.sigma) / len(self.sigma)))
        return float(self.sigma)

    def params(self) -> dict:
        return {name: getattr(self, name) for name in _PARAMS[self.kind]}

    def columns(self, dim: int | None = None) -> dict[int, float]:
        """The noise columns of a hyperparameter row (``HP_SIGMA``, ``HP_NOISE_*``; with
        per-coordinate σ also ``HP_SIZE … HP_SIZE + dim − 1``, which widen the row), for a
        ``dim``-dimensional landscape (needed, and checked, only with per-coordinate σ)."""
        cols = {ids.HP_NOISE_KIND: float(KIND_IDS[self.kind]), ids.HP_NOISE_PARAM: 0.0,
                ids.HP_NOISE_VEC: 0.0}
        if self.kind == "student_t":
            cols[ids.HP_NOISE_PARAM] = self.nu
        elif self.kind == "alpha_stable":
            cols[ids.HP_NOISE_PARAM] = self.alpha
        if not self.per_coordinate:
            cols[ids.HP_SIGMA] = self.sigma
            return cols
        if dim is None or len(self.sigma) != dim:
            raise ValueError(f"noise sigma has {len(self.sigma)} values, one per coordinate: "
                             f"the landscape has dim = {dim}; give {dim} values or one number")
        # HP_SIGMA ≠ 0 switches the noise on; the kernel then reads the per-coordinate σ
        cols[ids.HP_SIGMA] = 1.0 if any(s != 0.0 for s in self.sigma) else 0.0
        cols[ids.HP_NOISE_VEC] = 1.0
        for j, s in enumerate(self.sigma):
            cols[ids.HP_SIZE + j] = s
        return cols

    def to_dict(self) -> dict:
        """Plain JSON: ``{"kind": ..., "sigma": σ or [σ…], <shape parameter>}``."""
        d = {"kind": self.kind}
        for name, value in self.params().items():
            d[name] = list(value) if isinstance(value, tuple) else value
        return d

    def __str__(self):
        return f"{self.kind}({', '.join(f'{k}={_text(v)}' for k, v in self.params().items())})"


def _text(value):
    if isinstance(value, tuple):
        return "[" + ", ".join(repr(v) for v in value) + "]"
    return repr(value)


# ------------------------------------------------------------------------------ constructors


def gaussian(sigma) -> Noise:
    """σ·N(0, 1) per coordinate (``sigma`` a number or one per coordinate): today's noise."""
    return Noise("gaussian", sigma=sigma)


def student_t(sigma, nu) -> Noise:
    """σ·T per coordinate, T Student-t with ν > 0 degrees of freedom (scipy.stats.t(ν))."""
    return Noise("student_t", sigma=sigma, nu=nu)


def alpha_stable(sigma, alpha) -> Noise:
    """σ·X per coordinate, X symmetric α-stable (0 < α ≤ 2) in scipy's convention,
    ``levy_stable(alpha, beta=0)``: α = 2 is N(0, 2), so σ·X has variance 2σ²."""
    return Noise("alpha_stable", sigma=sigma, alpha=alpha)


def curvature(sigma) -> Noise:
    """σ·√|H_jj(x)|·N(0, 1) on coordinate j: covariance σ²·|diag H(x)| at the current point."""
    return Noise("curvature", sigma=sigma)


CONSTRUCTORS = {"gaussian": gaussian, "student_t": student_t, "alpha_stable": alpha_stable,
                "curvature": curvature}


# ------------------------------------------------------------------------------ reading


def from_dict(d) -> Noise:
    """The Noise of :meth:`Noise.to_dict`'s form."""
    return V.kind_dict(d, "noise as a dict", KINDS, _kind, _PARAMS.__getitem__, "noise", Noise)


def _literal(node):
    return V.literal(node, "noise parameters must be numbers or lists of numbers")


def _from_text(spec):
    if len(spec) > MAX_TEXT:
        raise ValueError(f"noise text must be at most {MAX_TEXT} characters, got "
                         f"{len(spec)}")
    what = (f"noise models are written kind(parameters) with kind one of {list(KINDS)}, "
            f"e.g. 'student_t(sigma=0.5, nu=3)'; got {spec!r}")
    try:
        node = ast.parse(spec.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ValueError(what) from None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ValueError(what)
    kind = _kind(node.func.id)
    return V.kind_call(node, kind, CONSTRUCTORS, ", ".join(_PARAMS[kind]), "noise", _literal,
                       lambda: ValueError(what))


def parse(spec) -> Noise:
    """A Noise from a Noise (as is), a number (``gaussian(σ)``), a dict (:func:`from_dict`)
    or a string (``str(n)``'s form, ``student_t(sigma=0.5, nu=3)``)."""
    if isinstance(spec, Noise):
        return spec
    if isinstance(spec, np.generic):
        spec = spec.item()
    if isinstance(spec, dict):
        return from_dict(spec)
    if isinstance(spec, str):
        return _from_text(spec)
    if isinstance(spec, bool) or not isinstance(spec, (int, float)):
        raise ValueError(f"noise must be a number (σ of Gaussian noise), a noise model from "
                         f"swarm.noise ({', '.join(KINDS)}), its text such as "
                         f"'student_t(sigma=0.5, nu=3)' or its dict; got {spec!r}")
    return gaussian(V.real("noise", spec, low=0.0))


def canonical(spec):
    """What a study records for one noise level: the float σ for plain Gaussian noise with one
    σ (today's form: same manifest, same kernels' path), else the :class:`Noise`."""
    n = parse(spec)
    return n.sigma if n.plain else n


def record(n) -> float | dict:
    """A canonical noise level (:func:`canonical`) as the study's spec records it: the number
    σ, or the model's dict."""
    return n if isinstance(n, float) else n.to_dict()


def describe(n) -> str:
    """A noise level (anything :func:`parse` takes) in words: ``σ=0.5`` or the model's text."""
    n = canonical(n)
    return f"σ={n:g}" if isinstance(n, float) else str(n)


def text(n) -> str:
    """A noise level as a study's summary lists it after ``σ =``: ``0.5`` (today's text) or
    the model's text."""
    n = canonical(n)
    return f"{n:g}" if isinstance(n, float) else str(n)
