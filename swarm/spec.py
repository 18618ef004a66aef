"""Studies as TOML files: ``load_spec("study.toml").run()``.

A spec names one landscape family, a list of optimizers (any hyperparameter may be a list: a
grid), the noise level(s) and the run settings of :func:`swarm.run`::

    name = "six optimizers on Gaussian peaks"
    instances = 20
    starts = 1000
    steps = 1000
    noise = 0.5                    # or a list: a σ sweep; or "student_t(sigma=0.5, nu=3)"
    seed = 0

    [landscape]
    family = "gaussian_peaks"
    dim = 2
    peaks = 21

    [[optimizers]]
    kind = "momentum"
    momentum = [0.0, 0.5, 0.9]
    lr_eff = [0.01, 0.02]          # matched sweep: lr = lr_eff·(1 − momentum)

Every value is checked by the library's own validators (``swarm._validate``, the landscape and
optimizer factories, the start rules); their ``ValueError`` is re-raised as a
:class:`SpecError` (a ``ValueError``) whose message names the file, the line and the key::

    study.toml:7: optimizers[1].momentum must be in [0.0, 1.0), got 1.2

The full format is documented in ``docs/specs.md``.
"""
from __future__ import annotations

import bisect
import contextlib
import difflib
import hashlib
import inspect
import json
import os
import re
import stat
import time
import tomllib
from dataclasses import dataclass, field

import numpy as np

from swarm import _validate as V
from swarm import engine
from swarm import landscapes as L
from swarm import noise as N
from swarm import optimizers as O
from swarm import starts as S
from swarm import targets as TG
from swarm.result import Result, printable

__all__ = ["Spec", "SpecError", "load_spec", "loads_spec"]

# run settings: their defaults are swarm.run's own
_RUN_PARAMS = {k: p.default for k, p in inspect.signature(engine.run).parameters.items()}
_SCALARS = ("instances", "starts", "steps", "seed", "dtype", "backend", "tol_x", "tol_f",
            "chunk_size", "device", "targets")
TOP_KEYS = ("name", "description", "landscape", "optimizers", "noise", "start") + _SCALARS
_INTEGERS = {"instances": (1, engine.MAX_COUNTER), "starts": (1, engine.MAX_COUNTER),
             "steps": (1, engine.MAX_COUNTER - 1), "seed": (0, 2 ** 64 - 1),
             "chunk_size": (1, None), "device": (0, None)}
START_RULES = {"uniform": S.uniform, "gaussian": S.gaussian, "point": S.point,
               "at_minimum": S.at_minimum, "grid": S.grid}
_START_VECTORS = {"low", "high", "mu", "x"}         # plus gaussian's sd
MATCHED = "lr_eff"
MAX_SPEC_BYTES = 1 << 20           # a spec file is a few hundred bytes; refuse anything huge
MAX_KEY_PARTS = 64                 # dotted keys: tomllib takes quadratic time in their length
_LONG_KEY = re.compile(r"(?:(?:[A-Za-z0-9_-]+|\"[^\"\n]*\"|'[^'\n]*')[ \t]*\.[ \t]*)"
                       rf"{{{MAX_KEY_PARTS},}}")


# ---------------------------------------------------------------- errors and locations

class SpecError(ValueError):
    """A bad spec: ``file:line: key problem``. Attributes ``file``, ``line`` (``None`` when
    the key is absent from the file), ``key`` (e.g. ``"optimizers[1].momentum"``) and
    ``problem`` (the message without the location)."""

    def __init__(self, file, line, key, problem):
        self.file, self.line, self.key, self.problem = file, line, key, problem
        where = f"{file}:{line}" if line else str(file)
        super().__init__(f"{where}: {problem}")


_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _quote(key) -> str:
    """A key as TOML writes it: bare, or quoted with its non-printable characters escaped (so
    that a message naming it stays one readable line)."""
    key = str(key)
    if _BARE.fullmatch(key):
        return key
    esc = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
    return '"' + "".join(esc.get(c, c if c.isprintable() else f"\\u{ord(c):04x}")
                         for c in key) + '"'


def render(path) -> str:
    """``("optimizers", 1, "momentum")`` → ``"optimizers[1].momentum"`` (odd keys quoted:
    ``optimizers[1]."weight decay"``)."""
    s = ""
    for p in path:
        s += f"[{p}]" if isinstance(p, int) else (("." if s else "") + _quote(p))
    return s


class _Locator:
    """Line numbers of the keys of a TOML document (tomllib gives none). A small scanner of
    already-valid TOML: it records, for each key path (tables, dotted keys, array-of-tables
    entries, array elements, inline tables), the line where it first appears."""

    def __init__(self, text: str):
        self.t = text
        self.n = len(text)
        self.i = 0
        self.nl = [k for k, c in enumerate(text) if c == "\n"]
        self.lines: dict[tuple, int] = {}
        try:
            self._document()
        except (IndexError, AttributeError, _Stuck, RecursionError):
            pass                # positions are a courtesy: keep what was found

    def line_of(self, i):
        return bisect.bisect_left(self.nl, i) + 1

    def where(self, path):
        """The line of ``path``, else of its closest recorded parent; ``None`` if neither."""
        path = tuple(path)
        for j in range(len(path), 0, -1):
            if path[:j] in self.lines:
                return self.lines[path[:j]]
        return None

    def _record(self, path, i):
        self.lines.setdefault(tuple(path), self.line_of(i))

    def _ws(self):
        while self.i < self.n and self.t[self.i] in " \t":
            self.i += 1

    def _skip(self):
        """Whitespace, newlines and comments."""
        t = self.t
        while self.i < self.n:
            c = t[self.i]
            if c in " \t\r\n":
                self.i += 1
            elif c == "#":
                j = t.find("\n", self.i)
                self.i = self.n if j < 0 else j
            else:
                return

    def _key(self):
        keys = []
        while True:
            self._ws()
            c = self.t[self.i]
            if c in "\"'":
                keys.append(self._string(decode=True))
            else:
                m = _BARE.match(self.t, self.i)
                if not m:
                    raise _Stuck
                keys.append(m.group())
                self.i = m.end()
            self._ws()
            if self.i < self.n and self.t[self.i] == ".":
                self.i += 1
                continue
            return keys

    def _string(self, decode=False):
        t, i = self.t, self.i
        q = t[i]
        if t.startswith(q * 3, i):
            j = i + 3
            while True:
                if q == '"' and t[j] == "\\":
                    j += 2
                    continue
                if t.startswith(q * 3, j):
                    j += 3
                    extra = 0
                    while j < self.n and t[j] == q and extra < 2:
                        j += 1
                        extra += 1
                    break
                j += 1
            self.i = j
            return None
        j = i + 1
        while t[j] != q:
            j += 2 if (q == '"' and t[j] == "\\") else 1
        self.i = j + 1
        raw = t[i + 1:j]
        if decode and q == '"':
            try:
                return json.loads(f'"{raw}"')
            except ValueError:
                return raw
        return raw

    def _value(self, path):
        t = self.t
        c = t[self.i]
        if c in "\"'":
            self._string()
        elif c == "[":
            self.i += 1
            k = 0
            while True:
                self._skip()
                if t[self.i] == "]":
                    self.i += 1
                    return
                self._record(path + (k,), self.i)
                self._value(path + (k,))
                self._skip()
                if t[self.i] == ",":
                    self.i += 1
                k += 1
        elif c == "{":
            self.i += 1
            while True:
                self._skip()
                if t[self.i] == "}":
                    self.i += 1
                    return
                self._pair(path)
                self._skip()
                if t[self.i] == ",":
                    self.i += 1
        else:
            start = self.i
            while self.i < self.n and t[self.i] not in ",]}\r\n#":
                self.i += 1
            if self.i == start:
                raise _Stuck

    def _pair(self, table):
        start = self.i
        path = table + tuple(self._key())
        for j in range(len(table) + 1, len(path) + 1):
            self._record(path[:j], start)
        self._ws()
        self.i += 1                                   # '='
        self._ws()
        self._value(path)

    def _document(self):
        current = ()
        arrays: dict[tuple, int] = {}
        while True:
            self._skip()
            if self.i >= self.n:
                return
            start = self.i
            if self.t[self.i] == "[":
                double = self.t.startswith("[[", self.i)
                self.i += 2 if double else 1
                keys = self._key()
                self._ws()
                self.i += 2 if double else 1
                path = ()
                for k in (keys[:-1] if double else keys):
                    path += (k,)
                    if path in arrays:
                        path += (arrays[path] - 1,)
                if double:
                    path += (keys[-1],)
                    arrays[path] = arrays.get(path, 0) + 1
                    self._record(path, start)
                    path += (arrays[path] - 1,)
                self._record(path, start)
                current = path
            else:
                self._pair(current)


class _Stuck(Exception):
    pass


class _Ctx:
    """Raises :class:`SpecError` at a key path of one file."""

    def __init__(self, file, text):
        self.file = file
        self.loc = _Locator(text)

    def error(self, path, problem):
        return SpecError(self.file, self.loc.where(path) if path else None, render(path),
                         problem)

    def fail(self, path, problem):
        raise self.error(path, problem)

    @contextlib.contextmanager
    def checking(self, path, aliases=None):
        """Re-raise a library ``ValueError`` at ``path``. ``aliases`` maps the field names the
        library uses in its messages (e.g. ``"momentum.momentum"``) to key paths: the message
        then names the spec key instead, at that key's line."""
        try:
            yield
        except SpecError:
            raise
        except ValueError as e:
            raise self.rephrase(path, str(e), aliases) from e

    def rephrase(self, path, msg, aliases=None):
        for name, where in sorted((aliases or {}).items(), key=lambda kv: -len(kv[0])):
            if msg.startswith(name + " ") or msg.startswith(name + ":"):
                return self.error(where, render(where) + msg[len(name):])
        return self.error(path, f"{render(path)}: {msg}" if path else msg)

    def unknown(self, path, key, allowed, what):
        near = difflib.get_close_matches(str(key), [str(a) for a in allowed], n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        extra = ""
        if len(path) > 1 and key in TOP_KEYS:
            extra = (f"; {key} is a top-level key: top-level keys must come before the first "
                     f"[table] header")
        self.fail(path, f"{render(path)} is not {what}{hint}; allowed: "
                        f"{', '.join(allowed)}{extra}")


def _parameters(factory, drop=("label",)):
    """(all keyword names, required names) of a factory, from its signature."""
    ps = inspect.signature(factory).parameters
    names = [k for k in ps if k not in drop]
    required = [k for k in names if ps[k].default is inspect.Parameter.empty]
    return names, required


def _type_name(v):
    return {dict: "a table", list: "an array", str: "a string", bool: "a boolean",
            int: "an integer", float: "a float"}.get(type(v), type(v).__name__)


def _clean(x):
    """lr_eff·(1 − momentum) without binary noise: 0.05·(1 − 0.9) → 0.005."""
    return float(f"{x:.15g}")


# ---------------------------------------------------------------- the spec

@dataclass(frozen=True)
class Spec:
    """A validated study: what :func:`swarm.run` needs, plus where it came from."""
    path: str
    landscape: L.Family
    optimizers: tuple
    noise: tuple
    instances: int
    starts: int
    steps: int
    seed: int
    start: S.Start
    dtype: str
    backend: str
    tol_x: float | None
    tol_f: float | None
    chunk_size: int | None
    device: int
    targets: object = None         # None, "coco" or a tuple of precisions (swarm.targets)
    name: str = ""
    description: str = ""
    text: str = field(default="", repr=False, compare=False)
    data: dict = field(default_factory=dict, repr=False, compare=False)

    # ---- size
    @property
    def n_arms(self) -> int:
        """Arms = optimizer configurations × noise levels."""
        return sum(o.n_configs for o in self.optimizers) * len(self.noise)

    @property
    def n_trajectories(self) -> int:
        return self.n_arms * self.instances * self.starts

    # ---- running
    def run_kwargs(self) -> dict:
        """The keyword arguments of :func:`swarm.run` this spec stands for."""
        return dict(landscape=self.landscape, optimizers=list(self.optimizers),
                    instances=self.instances, starts=self.starts, steps=self.steps,
                    noise=list(self.noise), seed=self.seed, start=self.start,
                    dtype=self.dtype, backend=self.backend, tol_x=self.tol_x,
                    tol_f=self.tol_f, chunk_size=self.chunk_size, device=self.device,
                    targets=self.targets)

    def run(self, **overrides) -> Result:
        """Run the study. ``overrides`` replace any keyword argument of :func:`swarm.run`
        (``instances=2, starts=100`` for a quick look, ``threads``, ``backend``, ``progress``
        — a callback receiving the number of trajectories finished per chunk). The result
        carries the spec (``result.study``: file, SHA-256, parsed TOML, overrides) and the
        wall time (``provenance["wall_s"]``)."""
        unknown = sorted(set(overrides) - set(_RUN_PARAMS))
        if unknown:
            raise ValueError(f"unknown override {unknown[0]!r}; allowed: "
                             f"{', '.join(_RUN_PARAMS)}")
        kwargs = {**self.run_kwargs(), **overrides}
        t0 = time.perf_counter()
        try:
            res = engine.run(**kwargs)
        except ValueError as e:
            raise self._run_error(str(e), overrides) from e
        res.provenance["wall_s"] = time.perf_counter() - t0
        res.study = self.record(overrides)
        return res

    def _run_error(self, msg, overrides):
        """Locate an error the engine found at run time (e.g. a start at a minimum that an
        instance does not list) unless an override caused it."""
        root = re.match(r"[A-Za-z_]+", msg)
        root = root.group() if root else ""
        if root in overrides or root not in TOP_KEYS:
            return ValueError(msg)
        aliases = {k: (k,) for k in _SCALARS}
        aliases.update({f"start.{k}": ("start", k) for k in ("low", "high", "mu", "sd", "x",
                                                             "point", "mean", "k", "n")})
        aliases.update({"start.point": ("start", "x"), "start.mean": ("start", "mu"),
                        "start.at_minimum k": ("start", "k"), "start.grid n": ("start", "n"),
                        "start": ("start",), "noise": ("noise",)})
        return _Ctx(self.path, self.text).rephrase((root,), msg, aliases)

    def record(self, overrides=None) -> dict:
        """What a result's manifest keeps of the spec."""
        return {"file": self.path, "sha256": hashlib.sha256(self.text.encode()).hexdigest(),
                "name": self.name, "description": self.description, "toml": self.data,
                "overrides": {k: _plain(v) for k, v in (overrides or {}).items()
                              if k not in ("progress", "checkpoint", "resume", "cluster")}}

    def describe(self) -> str:
        """A few lines: what will run, and how big it is."""
        fam = self.landscape.to_dict()
        params = ", ".join(f"{k}={v}" for k, v in fam.items() if k != "name")
        lines = [printable(self.name or self.path),
                 f"landscape: {fam['name']}({params})",
                 "optimizers: " + "; ".join(_describe(o) for o in self.optimizers),
                 f"noise: {', '.join(N.describe(s) for s in self.noise)}",
                 f"{self.n_arms} arms × {self.instances} instances × {self.starts} starts = "
                 f"{self.n_trajectories:,} trajectories of {self.steps} steps "
                 f"({self.n_trajectories * self.steps:,} trajectory-steps), seed {self.seed}, "
                 f"{self.dtype}, backend {self.backend}"]
        if self.targets is not None:
            t = TG.canonical(self.targets)
            lines.append(f"targets: {'COCO, ' if self.targets == 'coco' else ''}{t.size} "
                         f"precisions {t[0]:g} … {t[-1]:g}")
        return "\n".join(lines)


def _describe(o):
    """``label(lr=…, <the row's real-valued hyperparameters, ε aside>, <every other one the
    spec gives or sweeps>)``: the flags and the options left off are the registry's defaults
    (``swarm optimizers KIND`` lists them)."""
    given = dict(o.params)
    shown = [(h.name, o.hyper[h.name]) for h in o.row.all_hypers
             if h.name in given or not (h.optional or h.is_flag or h.name == "eps")]
    return printable(o.label) + "(" + ", ".join(f"{k}={_fmt(v)}" for k, v in shown) + ")"


def _fmt(v):
    if isinstance(v, tuple):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _plain(v):
    if hasattr(v, "to_dict"):
        return v.to_dict()
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return repr(v)


# ---------------------------------------------------------------- docs tables, from the registry

def _cell(text) -> str:
    """Text for a Markdown table cell (a pipe would end the cell, even in a code span)."""
    return str(text).replace("|", "\\|")


def _default(h) -> str:
    v = h.default
    if isinstance(v, bool):
        return str(v).lower()                 # as TOML writes it
    if v is None:
        return "off" if h.name != "schedule" else "constant"
    return f"{v:g}" if isinstance(v, float) else str(v)


def optimizer_table() -> list[str]:
    """docs/optimizers.md's optimizer table, one row per registry row: name, state, one step,
    defaults (the hyperparameters that are not off by default), source."""
    out = ["| optimizer | state | one step | defaults | source |", "|---|---|---|---|---|"]
    for row in O.REGISTRY.values():
        state = ", ".join(f"`{x}`" for x in row.state) or "–"
        defaults = ", ".join(f"{h.name} {_default(h)}" for h in row.hypers if not h.optional)
        out.append(f"| `{row.name}` | {state} | `{_cell(row.formula)}` | {_cell(defaults)} | "
                   f"{_cell(row.source)} |")
    return out


def hyperparameter_table() -> list[str]:
    """docs/optimizers.md's hyperparameter table: every row's own hyperparameters (the TOML
    spec keys and factory keywords) with default, allowed values and meaning, then the ones
    every optimizer takes."""
    out = ["| optimizer | key | default | allowed | meaning |", "|---|---|---|---|---|"]
    rows = [(row.name, h) for row in O.REGISTRY.values() for h in row.hypers]
    rows += [("every one", h) for h in O.COMMON]
    for name, h in rows:
        out.append(f"| {'`' + name + '`' if name != 'every one' else name} | `{h.name}` | "
                   f"{_default(h)} | {_cell(_allowed(h))} | {_cell(h.doc)} |")
    return out


def _allowed(h) -> str:
    if h.name == "schedule":
        return "a string or table (docs/specs.md)"
    return h.allowed().replace("True or False", "true or false")


def spec_keys_table() -> list[str]:
    """docs/specs.md's table of the ``[[optimizers]]`` keys of each kind (default)."""
    out = ["| kind | keys (default) |", "|---|---|"]
    for row in O.REGISTRY.values():
        keys = ", ".join(f"`{h.name}` ({_default(h)})" for h in row.hypers)
        if row.name in MATCHED_KINDS:
            keys += ", or the matched sweep `lr_eff`"
        out.append(f"| `{row.name}` | {_cell(keys)} |")
    common = ", ".join(f"`{h.name}` ({_default(h)})" for h in O.COMMON)
    out.append(f"| every kind | {_cell(common)} |")
    return out


DOC_TABLES = {          # file under docs/ → {marker: generator}
    "optimizers.md": {"optimizer-table": optimizer_table,
                      "hyperparameter-table": hyperparameter_table},
    "specs.md": {"spec-keys-table": spec_keys_table},
}


def docs_block(marker, lines) -> str:
    """A generated block as the docs hold it, between HTML-comment markers."""
    return "\n".join([f"<!-- generated: {marker} (swarm.spec.DOC_TABLES; do not edit) -->",
                      *lines, f"<!-- end generated: {marker} -->"])


def update_docs(docs_dir) -> list[str]:
    """Rewrite the generated blocks of ``docs_dir``'s files from the registry; returns the
    names of the files changed (``python -c "import swarm.spec as s; s.update_docs('docs')"``)."""
    from pathlib import Path
    changed = []
    for fname, blocks in DOC_TABLES.items():
        path = Path(docs_dir) / fname
        text = old = path.read_text(encoding="utf-8")
        for marker, gen in blocks.items():
            pat = re.compile(rf"<!-- generated: {re.escape(marker)} .*?-->.*?"
                             rf"<!-- end generated: {re.escape(marker)} -->", re.S)
            if not pat.search(text):
                raise ValueError(f"{path}: no generated block {marker!r}")
            text = pat.sub(lambda _: docs_block(marker, gen()), text)
        if text != old:
            path.write_text(text, encoding="utf-8")
            changed.append(fname)
    return changed


# ---------------------------------------------------------------- parsing

def load_spec(path) -> Spec:
    """Read and validate a study spec (TOML). Bad specs raise :class:`SpecError`
    (a ``ValueError``) naming the file, the line and the key."""
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"load_spec needs the path of a spec file (a str or os.PathLike), "
                         f"got {path!r}")
    name = printable(os.fspath(path))
    try:
        with open(path, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            if stat.S_ISDIR(mode):
                raise IsADirectoryError
            if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
                raise ValueError(f"{name}: not a regular file (a TOML spec file is expected)")
            raw = f.read(MAX_SPEC_BYTES + 1)
    except FileNotFoundError:
        raise ValueError(f"{name}: no such spec file") from None
    except IsADirectoryError:
        raise ValueError(f"{name}: is a directory, not a spec file") from None
    except OSError as e:
        raise ValueError(f"{name}: cannot read the spec file ({e.strerror or e})") from None
    if len(raw) > MAX_SPEC_BYTES:
        raise ValueError(f"{name}: larger than {MAX_SPEC_BYTES:,} bytes; a spec file is a few "
                         f"hundred bytes (this is not one)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{name}: not a UTF-8 text file ({e.reason} at byte {e.start})") \
            from None
    return loads_spec(text, name)


def loads_spec(text: str, name: str = "<spec>") -> Spec:
    """Validate a spec given as TOML text; ``name`` is used in error messages."""
    if not isinstance(text, str):
        raise ValueError(f"a spec must be TOML text (a str), got {type(text).__name__}")
    if len(text) > MAX_SPEC_BYTES:
        raise SpecError(name, None, "", f"larger than {MAX_SPEC_BYTES:,} characters; a spec is "
                                        f"a few hundred")
    long = _LONG_KEY.search(text)
    if long:
        raise SpecError(name, text.count("\n", 0, long.start()) + 1, "",
                        f"a dotted key of more than {MAX_KEY_PARTS} parts; no spec key is "
                        f"that deep")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", msg)
        if m:
            raise SpecError(name, int(m.group(1)), "",
                            f"invalid TOML: {msg[:m.start()]} (column {m.group(2)})") from None
        raise SpecError(name, None, "", f"invalid TOML: {msg}") from None
    except ValueError as e:      # Python's own limits, e.g. an integer of more than 4300 digits
        raise SpecError(name, None, "", f"invalid TOML: {' '.join(str(e).split())}") from None
    except RecursionError:
        raise SpecError(name, None, "", "invalid TOML: arrays or tables nested too deeply") \
            from None
    ctx = _Ctx(name, text)
    for k in data:
        if k not in TOP_KEYS:
            ctx.unknown((k,), k, TOP_KEYS, "a spec key")
    for k in ("name", "description"):
        if k in data and not isinstance(data[k], str):
            ctx.fail((k,), f"{k} must be a string, got {_type_name(data[k])}: {data[k]!r}")

    family = _landscape(ctx, data)
    opts = _optimizers(ctx, data)
    with ctx.checking(("landscape", "family")):
        family.check_optimizers(opts)      # COCO's f7, f23: gradients without information
    noise = _noise(ctx, data)
    n_arms = sum(o.n_configs for o in opts) * len(noise)
    if n_arms > engine.MAX_ARMS:
        ctx.fail(("optimizers",), f"the study has {n_arms:,} arms (optimizer configurations × "
                                  f"noise levels), more than the {engine.MAX_ARMS:,} allowed; "
                                  f"sweep fewer values")
    run = {k: _RUN_PARAMS[k] for k in _SCALARS}
    for k, (low, high) in _INTEGERS.items():
        if k in data:
            with ctx.checking((k,), {k: (k,)}):
                run[k] = V.integer(k, data[k], low=low, high=high)
    for k, allowed in (("dtype", engine.DTYPES), ("backend", engine.BACKENDS)):
        if k in data:
            if not isinstance(data[k], str):
                ctx.fail((k,), f"{k} must be a string, one of {sorted(allowed)}; got "
                               f"{_type_name(data[k])}: {data[k]!r}")
            with ctx.checking((k,), {k: (k,)}):
                run[k] = V.choice(k, data[k], set(allowed))
    if "tol_x" in data:
        with ctx.checking(("tol_x",), {"tol_x": ("tol_x",)}):
            run["tol_x"] = V.real("tol_x", data["tol_x"], low=0.0)
    if "tol_f" in data:
        v = data["tol_f"]
        if v is False:
            run["tol_f"] = None
        elif v is True:
            ctx.fail(("tol_f",), "tol_f must be a real number ≥ 0, or false to disable the "
                                 "f − f* target; got true")
        else:
            with ctx.checking(("tol_f",), {"tol_f": ("tol_f",)}):
                run["tol_f"] = V.real("tol_f", v, low=0.0)
    if "targets" in data:
        v = data["targets"]
        with ctx.checking(("targets",), {"targets": ("targets",)}):
            rec = TG.record(v)
        run["targets"] = rec if isinstance(rec, str) else tuple(rec)
    start = _start(ctx, data, family, run)
    return Spec(path=name, landscape=family, optimizers=tuple(opts), noise=noise, start=start,
                name=data.get("name", ""), description=data.get("description", ""),
                text=text, data=data, **run)


def _landscape(ctx, data):
    if "landscape" not in data:
        ctx.fail((), f"landscape is missing: add a [landscape] table with family = one of "
                     f"{', '.join(L.FAMILIES)} (and that family's parameters)")
    land = data["landscape"]
    if isinstance(land, str):
        land = {"family": land}
    elif not isinstance(land, dict):
        ctx.fail(("landscape",), f"landscape must be a table ([landscape] with family = …) or "
                                 f"a family name, got {_type_name(land)}: {land!r}")
    fam = land.get("family")
    base = ("landscape",)
    if fam is None:
        ctx.fail(base, f"landscape.family is missing; one of {', '.join(L.FAMILIES)}")
    if not isinstance(fam, str):
        ctx.fail(base + ("family",), f"landscape.family must be a string, one of "
                                     f"{', '.join(L.FAMILIES)}; got {_type_name(fam)}: {fam!r}")
    with ctx.checking(base + ("family",), {"landscape": base + ("family",)}):
        V.choice("landscape", fam, L.FAMILIES)
    factory = L.FAMILIES[fam]
    names, _ = _parameters(factory)
    params = {k: v for k, v in land.items() if k != "family"}
    for k in params:
        if k not in names:
            ctx.unknown(base + (k,), k, ["family"] + names, f"a parameter of {fam}")
    aliases = {k: base + (k,) for k in params}
    for k, v in params.items():
        with ctx.checking(base + (k,), aliases):
            factory(**{k: v})
    with ctx.checking(base, aliases):
        return factory(**params)


def _optimizers(ctx, data):
    kinds = ", ".join(O.FACTORIES)
    if "optimizers" not in data:
        ctx.fail((), f"optimizers is missing: add one [[optimizers]] table per optimizer, "
                     f"with kind = one of {kinds}")
    opts = data["optimizers"]
    if not isinstance(opts, list) or not all(isinstance(o, dict) for o in opts):
        got = "a single [optimizers] table" if isinstance(opts, dict) else \
            f"{_type_name(opts)}: {opts!r}"
        ctx.fail(("optimizers",), f"optimizers must be an array of tables (one [[optimizers]] "
                                  f"table per optimizer, with kind = …), got {got}")
    if not opts:
        ctx.fail(("optimizers",), "optimizers must not be empty")
    out = []
    for i, o in enumerate(opts):
        out += _optimizer(ctx, i, o)
    return out


# lr_eff, the matched sweep: kinds whose momentum is heavy-ball (a buffer b ← μ·b + (1−d)·g that
# sums the gradients, so the step is about lr·(1−d)/(1−μ)·g on slowly varying gradients). The
# other rows with a momentum hyperparameter are refused, with the reason (the tests require
# every such row to be in one of the two).
MATCHED_KINDS = ("momentum", "nesterov")
NOT_MATCHED = {
    "signum": "signum's momentum is an average m ← β·m + (1−β)·g whose sign is taken, so its "
              "step is lr whatever the momentum: sweep lr itself",
}
# hyperparameters whose single value is a table (a list of tables is their grid)
TABLE_VALUED = ("schedule",)


def _optimizer(ctx, i, o):
    base = ("optimizers", i)
    r = render(base)
    kind = o.get("kind")
    if kind is None:
        ctx.fail(base, f"{r}.kind is missing; one of {', '.join(O.FACTORIES)}")
    if not isinstance(kind, str):
        ctx.fail(base + ("kind",), f"{r}.kind must be a string, one of "
                                   f"{', '.join(O.FACTORIES)}; got {_type_name(kind)}: {kind!r}")
    with ctx.checking(base + ("kind",), {"optimizer": base + ("kind",)}):
        V.choice("optimizer", kind, O.FACTORIES)
    factory = O.FACTORIES[kind]
    names, _ = _parameters(factory)
    matched = kind in MATCHED_KINDS
    label = o.get("label")
    if label is not None and not isinstance(label, str):
        ctx.fail(base + ("label",), f"{r}.label must be a string, got {_type_name(label)}: "
                                    f"{label!r}")
    hyper = {}
    for k, v in o.items():
        if k in ("kind", "label"):
            continue
        if k not in names and not (k == MATCHED and matched):
            allowed = ["kind", "label"] + names + ([MATCHED] if matched else [])
            what = f"a hyperparameter of {kind}"
            if k == MATCHED:
                why = NOT_MATCHED.get(kind)
                what += (f" (lr_eff, a matched sweep, needs heavy-ball momentum: kinds "
                         f"{' and '.join(MATCHED_KINDS)}" + (f"; {why}" if why else "") + ")")
            ctx.unknown(base + (k,), k, allowed, what)
        values = v if isinstance(v, list) else [v]
        if isinstance(v, list) and not v:
            ctx.fail(base + (k,), f"{r}.{k} must not be an empty list")
        target = "lr" if k == MATCHED else k
        for j, x in enumerate(values):
            p = base + (k,) + ((j,) if isinstance(v, list) else ())
            if isinstance(x, list) or (isinstance(x, dict) and k not in TABLE_VALUED):
                ctx.fail(p, f"{render(p)} must be a single value (a list is a grid of "
                            f"values), got {_type_name(x)}: {x!r}; allowed: "
                            f"{O.REGISTRY[kind].hyper(target).allowed()}")
            with ctx.checking(p, {f"{kind}.{target}": p}):
                try:
                    factory(**{target: x})
                except ValueError as e:
                    if k not in TABLE_VALUED:
                        raise
                    raise ValueError(f"{kind}.{k}: {_schedule_problem(kind, e)}") from None
        hyper[k] = v
    aliases = {f"{kind}.{k}": base + (k,) for k in hyper}
    with ctx.checking(base, aliases):
        if MATCHED not in hyper:
            return [factory(label=label, **hyper)]
        if "lr" in hyper:
            ctx.fail(base + (MATCHED,), f"{r}.lr_eff and {r}.lr are exclusive: a matched "
                                        f"sweep sets lr = lr_eff·(1 − momentum)")
        lr_eff = hyper.pop(MATCHED)
        lr_eff = lr_eff if isinstance(lr_eff, list) else [lr_eff]
        row = O.REGISTRY[kind]
        mus = hyper.pop("momentum", row.hyper("momentum").default)
        damp_given = "dampening" in hyper
        damps = hyper.pop("dampening", None) if damp_given else None
        out = []
        for m in (mus if isinstance(mus, list) else [mus]):
            for d in (damps if isinstance(damps, list) else [damps]):
                scale = 1.0 if d is None else 1.0 - d
                if scale <= 0.0:
                    ctx.fail(base + ("dampening",), f"{r}.dampening = 1 leaves no gradient in "
                                                    f"the buffer: no matched lr_eff; use lr")
                lrs = [_clean(le * (1.0 - m) / scale) for le in lr_eff]
                extra = {} if d is None else {"dampening": d}
                out.append(factory(lr=lrs if len(lrs) > 1 else lrs[0], momentum=m,
                                   label=label, **extra, **hyper))
        return out


def _schedule_problem(kind, e):
    """A schedule's error, with the forms a spec may give it in."""
    msg = str(e)
    prefix = f"{kind}.schedule: "
    msg = msg[len(prefix):] if msg.startswith(prefix) else msg
    if "such as" in msg:
        return msg
    return (f"{msg} (a schedule is a string such as \"cosine(T_max=1000)\" or a table such "
            f"as {{kind = \"cosine\", T_max = 1000}}; a list of them is a grid)")


def _noise(ctx, data):
    v = data.get("noise", _RUN_PARAMS["noise"])
    values = v if isinstance(v, list) else [v]
    if isinstance(v, list) and not v:
        ctx.fail(("noise",), "noise must not be an empty list")
    out = []
    for j, s in enumerate(values):
        p = ("noise", j) if isinstance(v, list) else ("noise",)
        if isinstance(s, list):
            ctx.fail(p, f"{render(p)} must be a number, a noise model's text such as "
                        f"\"student_t(sigma=0.5, nu=3)\" or a table such as {{kind = "
                        f"\"alpha_stable\", sigma = 0.1, alpha = 1.5}} (a list is a sweep), "
                        f"got {_type_name(s)}: {s!r}")
        with ctx.checking(p, {"noise": p}):
            out.append(N.canonical(s))
    return tuple(out)


def _start(ctx, data, family, run):
    st = data.get("start", "uniform")
    base = ("start",)
    rules = ", ".join(START_RULES)
    if isinstance(st, str):
        st = {"rule": st}
        rule_path = base
    elif isinstance(st, dict):
        rule_path = base + ("rule",)
    else:
        ctx.fail(base, f"start must be a rule name ({rules}) or a [start] table with rule = …, "
                       f"got {_type_name(st)}: {st!r}")
    rule = st.get("rule", "uniform")
    if not isinstance(rule, str):
        ctx.fail(rule_path, f"start.rule must be a string, one of {rules}; got "
                            f"{_type_name(rule)}: {rule!r}")
    with ctx.checking(rule_path, {"start.rule": rule_path}):
        V.choice("start.rule", rule, START_RULES)
    factory = START_RULES[rule]
    names, required = _parameters(factory)
    params = {k: v for k, v in st.items() if k != "rule"}
    for k in params:
        if k not in names:
            ctx.unknown(base + (k,), k, ["rule"] + names, f"a parameter of start rule {rule!r}")
    for k in required:
        if k not in params:
            ctx.fail(base, f"start.{k} is required for rule = {rule!r} (its parameters: "
                           f"{', '.join(names)})")
    dim = family.dim
    aliases = {f"start.{k}": base + (k,) for k in params}
    aliases.update({"start.at_minimum k": base + ("k",), "start.grid n": base + ("n",)})
    vectors = {}
    for k, v in params.items():
        if k in _START_VECTORS or (k == "sd" and rule == "gaussian"):
            with ctx.checking(base + (k,), aliases):
                vectors[k] = V.vector(f"start.{k}", v, dim)
    with ctx.checking(base, aliases):
        start = factory(**params)
    if rule in ("uniform", "grid") and ("low" in vectors or "high" in vectors):
        # the box defaults to the family's domain, the same for every instance
        low = vectors.get("low", family.domain[0])
        high = vectors.get("high", family.domain[1])
        if np.any(high < low):
            if "low" in vectors and "high" in vectors:
                k, problem = "high", (f"start.high must be ≥ start.low in every coordinate, "
                                      f"got low={low.tolist()}, high={high.tolist()}")
            elif "low" in vectors:
                k, problem = "low", (f"start.low must be ≤ the upper end {high.tolist()} of the "
                                     f"domain of {family.name} in every coordinate (or give "
                                     f"start.high), got {low.tolist()}")
            else:
                k, problem = "high", (f"start.high must be ≥ the lower end {low.tolist()} of "
                                      f"the domain of {family.name} in every coordinate (or "
                                      f"give start.low), got {high.tolist()}")
            ctx.fail(base + (k,), problem)
    need = start.count(dim)
    if need is not None:
        low, high = _INTEGERS["starts"]
        if not low <= need <= high:
            ctx.fail(base + ("n",), f"start.n**dim = {start.k}**{dim} = {need:,} starts is more "
                                    f"than the {high:,} a study allows; make n smaller")
        if "starts" not in data:
            run["starts"] = need        # a grid start sets the number of starts
        elif run["starts"] != need:
            ctx.fail(("starts",), f"starts must be n**dim = {need} for a grid start with "
                                  f"n = {start.k} on a {dim}-D landscape, got {run['starts']} "
                                  f"(or leave starts out)")
    return start
