"""Where trajectories start. A start rule is packed per landscape instance into the kernel's
start parameters; the start point itself is drawn in the kernel from Philox at step 0 of the
trajectory's counter, so it depends only on (seed, instance, start index) — every optimizer
compared in a study starts from the same points.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from swarm import _validate as V
from swarm.kernels import ids


@dataclass(frozen=True)
class Start:
    kind: str                      # "uniform" | "gaussian" | "point" | "minimum" | "grid"
    a: tuple | None = None         # low / mean / point (None: the instance's domain)
    b: tuple | float | None = None  # high / standard deviation
    k: int = 0                     # which listed minimum (kind "minimum")

    def pack(self, inst) -> tuple[int, np.ndarray]:
        """(start kind id, sp of shape (3, dim)) for one instance (its one-instance bank's)."""
        kind, sp = self.pack_bank(inst.family.bank(inst.seed, inst.index, inst.index + 1))
        return kind, sp[0]

    def pack_bank(self, bank) -> tuple[int, np.ndarray]:
        """(start kind id, sp of shape (n, 3, dim)) for the n instances of a
        :class:`~swarm.landscapes.Bank` (``at_minimum`` reads each one's listed minimum
        through :meth:`Bank.minimum <swarm.landscapes.Bank.minimum>`, which names an instance
        that lists too few)."""
        family, n = bank.family, len(bank)
        d = family.dim
        row = np.zeros((3, d))
        kind = ids.START_GAUSSIAN
        if self.kind in ("uniform", "grid"):
            domain = family.domain
            row[0] = domain[0] if self.a is None else V.vector("start.low", self.a, d)
            row[1] = domain[1] if self.b is None else V.vector("start.high", self.b, d)
            if np.any(row[1] < row[0]):
                raise ValueError(f"start.high must be ≥ start.low in every coordinate, got "
                                 f"low={row[0].tolist()}, high={row[1].tolist()}")
            kind = ids.START_UNIFORM
            if self.kind == "grid":
                row[2] = self.k
                kind = ids.START_GRID
            return kind, np.repeat(row[None], n, axis=0)
        if self.kind != "minimum":
            row[0] = V.vector("start.point" if self.kind == "point" else "start.mean", self.a, d)
        row[1] = 0.0 if self.b is None else V.vector("start.sd", self.b, d)
        if np.any(row[1] < 0):
            raise ValueError(f"start.sd must be ≥ 0, got {self.b!r}")
        sp = np.repeat(row[None], n, axis=0)
        if self.kind == "minimum":
            sp[:, 0] = bank.minimum(self.k)
        return kind, sp

    def count(self, dim):
        """Number of starts a grid has (None for the random kinds)."""
        return self.k ** dim if self.kind == "grid" else None

    def to_dict(self):
        return {"kind": self.kind, "a": self.a, "b": self.b, "k": self.k}


def _tuple(name, v):
    """A number or a flat sequence of finite numbers (its length is checked against the
    landscape's dim when the study is built), as a float or a tuple of floats."""
    if v is None:
        return None
    what = "a finite number or a sequence of finite numbers (one per coordinate)"
    a = V.reals(name, v, what)
    if a.ndim > 1 or a.size == 0:
        raise ValueError(f"{name} must be {what}, got {v!r}")
    return float(a) if a.ndim == 0 else tuple(a.tolist())


def uniform(low=None, high=None) -> Start:
    """Uniform in the box [low, high] (default: the instance's domain)."""
    return Start("uniform", _tuple("start.low", low), _tuple("start.high", high))


def gaussian(mu, sd) -> Start:
    """Gaussian around ``mu`` with standard deviation ``sd`` (scalar or per coordinate)."""
    mu, sd = _tuple("start.mu", mu), _tuple("start.sd", sd)
    if np.any(np.asarray(sd) < 0):
        raise ValueError(f"start.sd must be ≥ 0 in every coordinate, got {sd!r}")
    return Start("gaussian", mu, sd)


def point(x) -> Start:
    """Every trajectory starts at ``x``."""
    return Start("point", _tuple("start.x", x))


def at_minimum(k: int = 0, sd: float = 0.0) -> Start:
    """At the instance's listed minimum ``k`` (0 is the global one; ``instance.minima``), with
    optional Gaussian spread ``sd``."""
    V.integer("start.at_minimum k", k, low=0)
    V.real("start.sd", sd, low=0.0)
    return Start("minimum", None, float(sd), int(k))


def grid(n: int, low=None, high=None) -> Start:
    """The centres of an ``n × n × …`` grid of cells on the box [low, high] (default: the
    instance's domain); a study then needs ``starts = n**dim``. Start ``s`` is the cell with
    mixed-radix index ``s``, first coordinate fastest — for basin-of-attraction maps."""
    V.integer("start.grid n", n, low=1, high=2 ** 20)
    return Start("grid", _tuple("start.low", low), _tuple("start.high", high), int(n))


def from_dict(d):
    V.choice("start.kind", d.get("kind"), {"uniform", "gaussian", "point", "minimum", "grid"})
    a = d.get("a")
    b = d.get("b")
    return Start(d["kind"], tuple(a) if isinstance(a, list) else a,
                 tuple(b) if isinstance(b, list) else b, int(d.get("k", 0)))
