"""The repository stands alone: no tracked file points outside it to the development workspace's
shared folder, and every relative link in the README and docs/ reaches a file that exists."""
import re
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ["swarm", "kernels", "scripts", "tests", "docs", "README.md"]

# built from pieces so that this file does not match itself
_SHARED = "shared"
OUTSIDE = re.compile(r"\.\./" + _SHARED + "|" + _SHARED + r"/(?:reference|seed|design)")

# [text](target) and [text]: target, outside code spans and fences
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|^\s*\[[^\]]+\]:\s*(\S+)", re.M)


def _tracked(*paths):
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--", *paths], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / p for p in out.split("\0") if p]


def test_no_tracked_file_points_to_the_shared_workspace():
    hits = []
    for path in _tracked(*CHECKED):
        if not path.is_file():              # deleted in the working tree, not yet committed
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:100]}")
    assert not hits, "points outside the repository:\n" + "\n".join(hits)


def _without_code(text):
    """Markdown with fenced blocks and inline code spans blanked (links there are not links)."""
    text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.M | re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def _markdown_files():
    return [p for p in _tracked("README.md", "docs") if p.suffix == ".md" and p.is_file()]


def test_the_link_pattern_finds_links():
    text = "[a](docs/x.md) `[b](no.md)` [c](https://e.org) [d](#anchor)\n\n[e]: y.md\n"
    found = [a or b for a, b in LINK.findall(_without_code(text))]
    assert found == ["docs/x.md", "https://e.org", "#anchor", "y.md"]


@pytest.mark.parametrize("md", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_reach_existing_files(md):
    broken = []
    for a, b in LINK.findall(_without_code(md.read_text(encoding="utf-8"))):
        target = a or b
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
            continue                        # a URL (http:, mailto:) or an anchor on this page
        path = unquote(target.split("#", 1)[0])
        if not (md.parent / path).exists():
            broken.append(target)
    assert not broken, f"{md.relative_to(ROOT)}: links to missing files: {broken}"


# ---------------------------------------------------------------- tables generated from the registry

def _blocks():
    from swarm import spec
    return [(f, m, gen) for f, blocks in spec.DOC_TABLES.items() for m, gen in blocks.items()]


@pytest.mark.parametrize("fname,marker,gen", _blocks(), ids=lambda x: x if isinstance(x, str)
                         else "")
def test_docs_tables_are_what_the_registry_generates(fname, marker, gen):
    """docs/optimizers.md and docs/specs.md hold the registry's tables verbatim: a row that is
    missing, stale or extra is named (regenerate with swarm.spec.update_docs("docs"))."""
    text = (ROOT / "docs" / fname).read_text(encoding="utf-8")
    m = re.search(rf"<!-- generated: {re.escape(marker)} .*?-->\n(.*?)\n?"
                  rf"<!-- end generated: {re.escape(marker)} -->", text, re.S)
    assert m, f"docs/{fname} has no generated block {marker!r}"
    have = m.group(1).splitlines()
    want = gen()
    problems = [f"missing or stale: {line}" for line in want if line not in have]
    problems += [f"not in the registry: {line}" for line in have if line not in want]
    assert not problems, (f"docs/{fname} ({marker}) differs from the registry; run "
                          f"swarm.spec.update_docs('docs'):\n" + "\n".join(problems))
    assert have == want, f"docs/{fname} ({marker}): rows out of order"


def test_every_registry_row_has_a_docs_row_and_spec_keys():
    from swarm import optimizers as O
    from swarm import spec
    opt = (ROOT / "docs" / "optimizers.md").read_text(encoding="utf-8")
    keys = (ROOT / "docs" / "specs.md").read_text(encoding="utf-8")
    for name, row in O.REGISTRY.items():
        assert f"\n| `{name}` | " in opt, f"docs/optimizers.md has no row for {name}"
        for h in row.hypers:
            assert f"| `{name}` | `{h.name}` |" in opt, \
                f"docs/optimizers.md has no hyperparameter row {name}.{h.name}"
            assert f"`{h.name}` (" in keys.split(f"| `{name}` | ", 1)[1].split("\n", 1)[0], \
                f"docs/specs.md has no spec key {name}.{h.name}"


def test_a_stale_table_is_named(tmp_path):
    from swarm import spec
    d = tmp_path / "docs"
    d.mkdir()
    for fname in spec.DOC_TABLES:
        (d / fname).write_text((ROOT / "docs" / fname).read_text(encoding="utf-8"))
    assert spec.update_docs(d) == []
    p = d / "optimizers.md"
    p.write_text(p.read_text().replace("| `lion` |", "| `lion2` |", 1))
    assert spec.update_docs(d) == ["optimizers.md"]
    assert p.read_text() == (ROOT / "docs" / "optimizers.md").read_text(encoding="utf-8")
