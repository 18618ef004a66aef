"""swarm/ is one-way layers: no import circles, no private names across modules, and every
import points down the layer order declared once, in LAYERS below (and drawn at the top of
docs/design.md, which :func:`test_design_md_opens_with_this_map` keeps in step).

Every module of swarm/ is parsed (``ast``), imports inside functions included; ``swarm.kernels``
(the kernels/ package) is outside the map and not checked here. A package (``swarm/report/``)
is one entry of the map: its modules may import each other (but not in a circle).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "swarm"

# bottom first: a module may import only modules of lower layers ("swarm" is the package's own
# __init__.py, the public API: nothing below it may import it)
LAYERS = [
    ("files", "outcomes", "_validate", "_version"),      # io helpers, outcome definitions
    ("schedules", "noise", "targets"),                  # lr schedules, noise models, targets
    ("stats", "theory", "landscapes", "optimizers", "starts", "bbob"),
    ("aggregate",),
    ("analysis",),
    ("result",),
    ("checkpoint",),
    ("collect",),
    ("distributed",),
    ("engine",),
    ("spec",),
    ("plan",),
    ("swarm",),
    ("extras",),
    ("report", "export"),
    ("cli",),
]

def _modules() -> dict[str, Path]:
    """Dotted name → file of every module of swarm/ (``swarm`` for its __init__.py)."""
    out = {}
    for f in sorted(PKG.rglob("*.py")):
        parts = list(f.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


MODULES = _modules()


def _is_module(name):
    return name in MODULES


def _imports(name, path):
    """(imported module, imported name or None, line) of every import in the module, those
    inside functions and classes included; swarm.kernels and non-swarm imports left out."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out.append((a.name, None, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module
            for a in node.names:
                sub = f"{mod}.{a.name}"
                if _is_module(sub):
                    out.append((sub, None, node.lineno))
                else:
                    out.append((mod, a.name, node.lineno))
    return [(m, n, line) for m, n, line in out
            if (m == "swarm" or m.startswith("swarm.")) and not
            (m == "swarm.kernels" or m.startswith("swarm.kernels."))]


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def _entry(module):
    """The LAYERS entry of a module: ``swarm.report.figures`` → ``report``."""
    if module == "swarm":
        return "swarm"
    return module.split(".")[1]


def _layer(module):
    e = _entry(module)
    for i, names in enumerate(LAYERS):
        if e in names:
            return i
    return None


def test_every_module_is_in_the_map():
    missing = sorted({_entry(m) for m in MODULES if _layer(m) is None})
    assert not missing, (f"swarm modules not in LAYERS (tests/test_layers.py) nor in the map at "
                         f"the top of docs/design.md: {missing}; add each to its layer")
    declared = {n for names in LAYERS for n in names}
    assert declared <= {_entry(m) for m in MODULES}, declared - {_entry(m) for m in MODULES}


def test_every_import_points_to_a_module_of_swarm():
    bad = [f"{m}:{line} imports {t}" for m, edges in GRAPH.items() for t, _, line in edges
           if not _is_module(t)]
    assert not bad, bad


def test_no_import_circle():
    edges = {m: sorted({t for t, _, _ in GRAPH[m] if _is_module(t) and t != m})
             for m in MODULES}
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for t in edges[m]:
            if state.get(t) == "open":
                circle = stack[stack.index(t):] + [t]
                pytest.fail("import circle: " + " → ".join(circle))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = "done"

    for m in sorted(MODULES):
        if m not in state:
            visit(m)


def test_no_private_name_imported_from_another_module():
    bad = []
    for m, edges in GRAPH.items():
        for t, name, line in edges:
            if name is None or t == m or not name.startswith("_") or \
                    (name.startswith("__") and name.endswith("__")):
                continue
            bad.append(f"{MODULES[m].relative_to(ROOT)}:{line}: {name} from {t}")
    assert not bad, ("private names imported across modules (make them public, or move the "
                     "code): " + "; ".join(bad))


def test_imports_point_down_the_layers():
    bad = []
    for m, edges in GRAPH.items():
        for t, _, line in edges:
            if _entry(t) == _entry(m) and "." in m and "." in t:
                continue                  # inside one package: only the circle check applies
            if _layer(t) is None or _layer(m) is None or _layer(t) >= _layer(m):
                bad.append(f"{MODULES[m].relative_to(ROOT)}:{line} imports {t} "
                           f"(layer {_layer(t)}, not below {_entry(m)}'s {_layer(m)})")
    assert not bad, "imports against the layer order of LAYERS: " + "; ".join(bad)


def test_design_md_opens_with_this_map():
    """docs/design.md opens with the map: its first fenced block lists the layers, top
    first, one line each, module names before any ``—`` comment."""
    text = (ROOT / "docs" / "design.md").read_text()
    head = text.split("\n## ", 1)[0]
    block = re.search(r"```\w*\n(.*?)```", head, re.S)
    assert block, "docs/design.md must open (before its first ## section) with the layer map"
    layers = []
    for line in block.group(1).splitlines():
        names = line.split("—")[0].replace("/", " ").replace(",", " ").split()
        names = [n for n in names if re.fullmatch(r"_?[a-z][a-z_]*", n)]
        if names:
            layers.append(tuple(sorted(names)))
    assert layers[::-1] == [tuple(sorted(n)) for n in LAYERS]
    assert len(head.splitlines()) <= 60, "the map must fit on one screen"
