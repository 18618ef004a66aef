"""Landscape instances against the naive NumPy references (tests/naive.py), finite differences,
their known minima, basin labels against plain gradient descent, determinism, and validation.

Parametrised over every family of the registry (``landscapes.REGISTRY``; and dims, rotation,
tilt) but COCO's BBOB rows, which tests/test_bbob_kernels.py covers against tests/naive_bbob.py: a new family added there gets every generic test, and the completeness test names what
its row still lacks (a naive reference, a docs row, a test case, the kernels' entries).
"""
import math
import os
import pathlib
import sys

import numpy as np
import pytest

from swarm import landscapes
from swarm.kernels import dispatch, ids
from swarm.kernels import labels as klabels
from swarm.kernels import layout as klayout

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import naive  # noqa: E402

ST_PER_DIM = -39.16616570


# the variants each family of landscapes.FAMILIES is tested in: (id suffix, factory keywords)
_DIMS_ROT = [(f"{dim}{'-rot' if rotate else ''}", {"dim": dim, "rotate": rotate})
             for dim in (1, 2, 5) for rotate in (False, True)]
VARIANTS = {
    "rastrigin": _DIMS_ROT, "ackley": _DIMS_ROT, "griewank": _DIMS_ROT, "levy": _DIMS_ROT,
    "styblinski_tang": _DIMS_ROT,
    "himmelblau": [("", {"rotate": False}), ("rot", {"rotate": True})],
    "double_well": [(f"{dim}-tilt{tilt:+}", {"dim": dim, "tilt": tilt})
                    for dim in (1, 3) for tilt in (0.1, -0.1)],
    "gaussian_peaks": [(f"{dim}", {"dim": dim, "peaks": 21}) for dim in (2, 10)],
}


# the registry's rows tested here: all but COCO's BBOB functions (tests/test_bbob_kernels.py)
NATIVE = {n: r for n, r in landscapes.REGISTRY.items() if r.fid not in ids.BBOB_FAMILIES}


def _families():
    """Every family of ``landscapes.REGISTRY`` in its variants; a family without an entry in
    VARIANTS runs with its defaults (and the completeness test fails)."""
    out = []
    for name, row in NATIVE.items():
        for suffix, kw in VARIANTS.get(name, [("", {})]):
            out.append((f"{name}-{suffix}" if suffix else name, row.factory(**kw)))
    return out


FAMILIES = _families()
FAM_IDS = [n for n, _ in FAMILIES]
FAMS = [f for _, f in FAMILIES]
SEED = 20240611
_CACHE = {}


DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs" / "landscapes.md"


def registry_gaps(registry, references, docs, variants):
    """What each registry row lacks, one line each: its naive reference (``references``: the
    module or a namespace), its row in the docs' family table, test variants, and agreement
    with the kernels' tables (label rule, layout)."""
    gaps = []
    for name, row in registry.items():
        if not callable(getattr(references, row.naive, None)):
            gaps.append(f"{name}: no naive reference (naive.{row.naive} in tests/naive.py)")
        if f"| `{name}(" not in docs:
            gaps.append(f"{name}: no row in the family table of docs/landscapes.md "
                        f"(| `{name}(…)` | formula | domain | global minimum | basin labels |)")
        if name not in variants:
            gaps.append(f"{name}: no test case (VARIANTS[{name!r}] in tests/test_landscapes.py)")
        if klabels.RULE_OF.get(row.fid) != row.label_rule:
            gaps.append(f"{name}: label rule {row.label_rule!r} is not the kernels' "
                        f"{klabels.RULE_OF.get(row.fid)!r} (kernels/labels.py RULE_OF)")
        if klayout.LAYOUTS.get(row.fid) is not row.layout:
            gaps.append(f"{name}: its layout is not kernels/layout.py's LAYOUTS[{row.fid}]")
    for name in sorted(set(variants) - set(registry)):
        gaps.append(f"{name}: test variants for no registry row")
    return gaps


def test_every_registry_row_is_complete():
    gaps = registry_gaps(NATIVE, naive, DOCS.read_text(), VARIANTS)
    assert not gaps, "missing:\n" + "\n".join(gaps)
    assert {r.fid for r in landscapes.REGISTRY.values()} == set(ids.LANDSCAPE_FAMILIES)
    assert set(landscapes.FAMILIES) == set(landscapes.REGISTRY)


def test_the_completeness_check_names_the_missing_piece():
    import types
    refs = types.SimpleNamespace(**{k: v for k, v in vars(naive).items() if k != "levy"})
    docs = DOCS.read_text().replace("| `ackley(", "| `Ackley(")
    variants = {k: v for k, v in VARIANTS.items() if k != "griewank"}
    reg = dict(NATIVE)
    reg["himmelblau"] = landscapes.dataclasses.replace(reg["himmelblau"], label_rule="lattice")
    gaps = registry_gaps(reg, refs, docs, variants)
    assert any(g.startswith("levy: no naive reference") for g in gaps)
    assert any(g.startswith("ackley: no row in the family table") for g in gaps)
    assert any(g.startswith("griewank: no test case") for g in gaps)
    assert any(g.startswith("himmelblau: label rule") for g in gaps)
    assert len(gaps) == 4


@pytest.mark.parametrize("row", NATIVE.values(), ids=NATIVE)
def test_registry_row_matches_its_instances(row):
    """f*, domain, layout and the Hessian slot of each row against an instance of each
    variant."""
    assert callable(getattr(naive, row.hessian_diag))   # tests/test_hessians.py checks it
    for suffix, kw in VARIANTS[row.name]:
        fam = row.factory(**kw)
        assert fam.row is row and fam.fid == row.fid and fam.name == row.name
        inst = inst_of(fam)
        assert inst.f_star == row.f_star(fam)
        if "half_width" not in kw:
            assert np.all(inst.domain == [[-row.half_width] * fam.dim, [row.half_width] * fam.dim])
        lay = fam.layout
        assert lay == klayout.layout(row.fid, fam.dim, **fam._layout_params())
        assert len(inst.params) == lay.size == fam.size_hint()[0]
        assert inst.params[ids.LP_POLISH_STEPS] == row.polish[0]


def test_layouts_name_every_offset_once():
    """The layouts tile the row after the header: consecutive, non-overlapping parts."""
    d, P = 3, 5
    s = klayout.shifted(d, 4)
    assert (s.shift, s.rot, s.minima, s.size) == (ids.LP_HEAD, ids.LP_HEAD + d,
                                                   ids.LP_HEAD + d + d * d,
                                                   ids.LP_HEAD + d + d * d + 4 * d)
    p = klayout.peaks(d, P)
    assert (p.count, p.rot, p.first) == (ids.LP_HEAD, ids.LP_HEAD + 1, ids.LP_HEAD + 1 + d * d)
    assert (p.logw, p.centre, p.lam, p.stride) == (0, 1, 1 + d, 1 + 2 * d)
    assert p.size == p.first + P * p.stride
    assert klayout.double_well(d) == (ids.LP_HEAD, ids.LP_HEAD + 1)
    assert set(klayout.LAYOUTS) == set(ids.LANDSCAPE_FAMILIES)


def test_a_table_without_every_id_fails_at_import():
    with pytest.raises(ImportError, match=r"ids \[2\] have no entry"):
        dispatch.check("t", "landscape family", (0, 1, 2), {0: len, 1: len})
    with pytest.raises(ImportError, match=r"\[9\] are not among"):
        dispatch.check("t", "landscape family", (0, 1), {0: len, 1: len, 9: len})


def test_the_dispatch_is_written_from_the_table():
    """One branch per function (ids sharing one share the branch), the unknown at the end."""
    def jit(f):
        return f

    def a(k, x):
        return ("a", k, x)

    def b(k, x):
        return ("b", k, x)

    def unknown(k, x):
        return ("unknown", k, x)

    f = dispatch.chain(jit, "f", "fid", "x", {0: a, 2: a, 1: b}, unknown, ret=True, keyed=True)
    assert [f(k, 5) for k in (0, 1, 2, 3)] == [("a", 0, 5), ("b", 1, 5), ("a", 2, 5),
                                              ("unknown", 3, 5)]


def test_an_unknown_family_id_gives_nan_and_the_diverged_label():
    """Never another family: the end of the kernels' dispatch chains."""
    from swarm.kernels import cpu
    inst = inst_of(landscapes.rastrigin(2))
    x = np.array([[0.3, -1.2], [2.0, 1.0]])
    f, g = np.empty(2), np.empty((2, 2))
    cpu.evaluate(len(ids.LANDSCAPE_FAMILIES), inst.params, x, f, g)
    assert np.all(np.isnan(f)) and np.all(np.isnan(g))
    out = np.zeros(2, np.int64)
    tab, ctype, gk = inst.family.tables
    cpu.label(len(ids.LANDSCAPE_FAMILIES), inst.params, tab, ctype, gk, x, out)
    assert np.all(out == ids.DIVERGED)


def inst_of(fam, index=0, seed=SEED):
    key = (repr(fam), seed, index)
    if key not in _CACHE:
        _CACHE[key] = fam.instance(seed, index)
    return _CACHE[key]


def scale(inst):
    """A length scale of the landscape (its domain half-width)."""
    return float(np.max(inst.domain[1] - inst.domain[0]) / 2)


def in_domain(inst, n, rng):
    return rng.uniform(inst.domain[0], inst.domain[1], (n, inst.dim))


def sample_points(inst, n, rng):
    """Half in the domain, half within 0.1·scale of the listed minima (where f is not tiny)."""
    a = in_domain(inst, n - n // 2, rng)
    mins = inst.minima if inst.minima is not None else inst.global_minima
    k = rng.integers(0, len(mins), n // 2)
    b = mins[k] + rng.uniform(-0.1, 0.1, (n // 2, inst.dim)) * min(scale(inst), 5.0)
    return np.vstack([a, b])


def peak_gap(inst, x):
    """Gaussian peaks: gap between the two highest log-values (small near a tie, where f is not
    differentiable)."""
    _, _, logvals = naive.gaussian_peaks(*naive.unpack_peaks(inst.params, inst.dim))
    lv = np.sort(logvals(x), axis=-1)
    return lv[..., -1] - lv[..., -2]


# --------------------------------------------------------------------------------------------
# f and ∇f
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fam", FAMS, ids=FAM_IDS)
def test_f_and_grad_match_naive(fam):
    inst = inst_of(fam)
    rng = np.random.default_rng(1)
    x = np.vstack([sample_points(inst, 64, rng),
                   rng.uniform(inst.box[0], inst.box[1], (16, inst.dim))])
    f, g = inst.value_and_grad(x)
    nf, ng = naive.for_instance(inst)
    want_f, want_g = nf(x), ng(x)
    fs = 1.0 + np.max(np.abs(want_f))
    np.testing.assert_allclose(f, want_f, rtol=1e-12, atol=1e-12 * fs)
    gs = 1.0 + np.max(np.abs(want_g))
    np.testing.assert_allclose(g, want_g, rtol=1e-11, atol=1e-12 * gs)
    # single points give scalars / vectors, and agree with the batch
    f0, g0 = inst.value_and_grad(x[0])
    assert np.ndim(f0) == 0 and g0.shape == (inst.dim,)
    assert f0 == f[0] and np.array_equal(g0, g[0])
    np.testing.assert_array_equal(inst.f(x), f)
    np.testing.assert_array_equal(inst.grad(x), g)



def test_peaks_gradient_cache_gives_the_uncached_bits():
    """A block's step loop keeps each lane's active centre and curvatures between calls and
    gathers them again only when some lane's active peak changed. Over calls where no lane,
    one lane or every lane changes peak, f and ∇f equal the uncached evaluation's bits."""
    from numba import njit

    from swarm.kernels import cpu

    inst = inst_of(landscapes.gaussian_peaks(5, 21))
    L, dim, fid = cpu.LANES, inst.dim, inst.fid

    @njit
    def cached(p, X, F, G):
        w = np.zeros((6, dim, L))
        t = np.zeros((ids.NLS - ids.LS_T0, L))
        ki = np.zeros(L, dtype=np.int64)
        t[2, :] = -1.0
        for c in range(X.shape[0]):
            w[0] = X[c]
            cpu.VG64(fid, p, w[0], w[1], w[2], w[3], F[c], t, ki, w[4], w[5], dim)
            G[c] = w[1]

    rng = np.random.default_rng(7)
    _, _, logvals = naive.gaussian_peaks(*naive.unpack_peaks(inst.params, dim))
    x = sample_points(inst, L, rng)
    seq = [x, x + 1e-9]                                  # no lane changes peak
    y = x.copy()
    far = np.argmax(np.argmax(logvals(x + 0.5), axis=1) != np.argmax(logvals(x), axis=1))
    y[far] += 0.5                                        # one lane changes peak
    assert np.sum(np.argmax(logvals(y), 1) != np.argmax(logvals(x), 1)) == 1
    seq += [y, y - 1e-9, in_domain(inst, L, rng), sample_points(inst, L, rng)]
    X = np.ascontiguousarray(np.stack(seq).transpose(0, 2, 1))
    F = np.zeros((len(seq), L))
    G = np.zeros((len(seq), dim, L))
    cached(inst.params, X, F, G)
    for c, pts in enumerate(seq):
        f, g = inst.value_and_grad(pts)
        np.testing.assert_array_equal(F[c], f)
        np.testing.assert_array_equal(G[c].T, g)

@pytest.mark.parametrize("fam", FAMS, ids=FAM_IDS)
def test_grad_matches_central_differences(fam):
    inst = inst_of(fam)
    rng = np.random.default_rng(2)
    x = sample_points(inst, 24, rng)
    if fam.name == "gaussian_peaks":
        x = x[peak_gap(inst, x) > 1e-3]            # away from ties between peaks
        assert len(x) >= 12
    h = 1e-6 * max(1.0, scale(inst) / 5.0)
    g = inst.grad(x)
    fd = np.empty_like(g)
    for j in range(inst.dim):
        e = np.zeros(inst.dim)
        e[j] = h
        fd[:, j] = (inst.f(x + e) - inst.f(x - e)) / (2 * h)
    gs = np.maximum(1.0, np.max(np.abs(g), axis=1, keepdims=True))
    assert np.all(np.abs(fd - g) <= 1e-6 * gs + 1e-5 * np.abs(g)), np.max(np.abs(fd - g))


def test_value_and_grad_reject_wrong_shapes():
    inst = landscapes.rastrigin(3).instance(0, 0)
    with pytest.raises(ValueError, match="shape"):
        inst.f(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="shape"):
        inst.basin(np.zeros(2))


# --------------------------------------------------------------------------------------------
# the global minimum and the listed minima
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fam", FAMS, ids=FAM_IDS)
def test_f_at_x_star_is_f_star(fam):
    inst = inst_of(fam)
    fstar = inst.f_star
    assert abs(inst.f(inst.x_star) - fstar) <= 1e-12 * max(1.0, abs(fstar))
    assert inst.n_global == len(inst.global_minima)
    np.testing.assert_array_equal(inst.x_star, inst.global_minima[0])
    for m in inst.global_minima:
        assert abs(inst.f(m) - fstar) <= 1e-12 * max(1.0, abs(fstar))
    # the documented value of f*
    want = {"styblinski_tang": ST_PER_DIM * inst.dim, "gaussian_peaks": -10.0,
            "double_well": (fam.potential(min(fam.roots[0], fam.roots[2], key=fam.potential))
                            if fam.name == "double_well" else None)}.get(fam.name, 0.0)
    assert abs(fstar - want) <= 1e-7 * max(1.0, abs(want))


@pytest.mark.parametrize("fam", FAMS, ids=FAM_IDS)
def test_x_star_is_a_local_minimum(fam):
    inst = inst_of(fam)
    xs = inst.x_star
    assert np.all(np.abs(inst.grad(xs)) <= 1e-9)
    rng = np.random.default_rng(3)
    u = rng.standard_normal((64, inst.dim))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    for delta in (1e-3, 1e-2):
        assert np.all(inst.f(xs + delta * u) > inst.f(xs))
    # no point of a random sample is lower than f*
    x = in_domain(inst, 2000, rng)
    assert np.all(inst.f(x) >= inst.f_star - 1e-12)


@pytest.mark.parametrize("fam", FAMS, ids=FAM_IDS)
def test_x_star_is_in_the_global_basin(fam):
    inst = inst_of(fam)
    assert inst.basin(inst.x_star) == 0
    assert np.all(inst.box[0] < inst.x_star) and np.all(inst.x_star < inst.box[1])
    assert np.all(inst.domain[0] <= inst.x_star) and np.all(inst.x_star <= inst.domain[1])


def _lists_minima(fam):
    return inst_of(fam).minima is not None


LISTING = [(f, i) for f, i in zip(FAMS, FAM_IDS) if _lists_minima(f)]


def test_which_families_list_their_minima():
    """Ackley and Griewank only have a rule; separable families list their minima while there
    are at most MAX_LISTED_MINIMA of them; the others always list."""
    for fam in FAMS:
        inst = inst_of(fam)
        assert inst.minima_rule
        if fam.name in ("ackley", "griewank"):
            assert inst.minima is None
        elif fam.name in ("himmelblau", "double_well", "gaussian_peaks", "styblinski_tang"):
            assert inst.minima is not None
    assert len(LISTING) >= len(FAMS) // 2


@pytest.mark.parametrize("fam", [f for f, _ in LISTING], ids=[i for _, i in LISTING])
def test_listed_minima_are_minima_with_distinct_labels(fam):
    inst = inst_of(fam)
    mins = inst.minima
    assert mins.ndim == 2 and mins.shape[1] == inst.dim and len(mins) >= 1
    np.testing.assert_array_equal(mins[0], inst.x_star)
    g = inst.grad(mins)
    gtol = 1e-7 * max(1.0, scale(inst) / 5.0) ** 2
    assert np.all(np.abs(g) <= gtol), np.max(np.abs(g))
    # each is a strict local minimum
    rng = np.random.default_rng(4)
    f0 = inst.f(mins)
    for _ in range(16):
        u = rng.standard_normal(mins.shape)
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        assert np.all(inst.f(mins + 1e-3 * u) > f0)
    assert np.all(f0 >= inst.f_star - 1e-12)
    labels = inst.basin(mins)
    assert len(set(labels.tolist())) == len(mins)
    if fam.name == "himmelblau":
        assert labels.tolist() == [0, 1, 2, 3]
        np.testing.assert_allclose(f0, 0.0, atol=1e-12)
    else:
        assert labels[0] == 0
        assert np.all(labels[1:] != 0)
        assert np.all(f0[1:] > inst.f_star + 1e-9)      # a unique global minimum


def test_styblinski_tang_f_star():
    # the 1-D minimum, from the cubic 2z³ − 16z + 2.5 = 0 (naive's derivative)
    r = np.roots([2.0, 0.0, -16.0, 2.5]).real
    zmin = r[np.argmin(naive.styblinski_tang(r[:, None]))]
    assert abs(zmin + 2.903534) < 1e-6
    assert abs(naive.styblinski_tang([zmin]) - ST_PER_DIM) < 1e-7
    for dim in (1, 2, 5, 17):
        inst = landscapes.styblinski_tang(dim, rotate=dim > 1).instance(0, 3)
        assert abs(inst.f_star - ST_PER_DIM * dim) <= 1e-7 * dim
        assert abs(inst.f(inst.x_star) - inst.f_star) <= 1e-12 * dim * 40
    # exactly 2^dim minima: each zᵢ at one of the two 1-D minima; the instance lists those of
    # them that lie in its domain
    zpm = np.sort(r[[np.argmin(r), np.argmax(r)]])
    for rotate in (False, True):
        inst = landscapes.styblinski_tang(3, rotate=rotate).instance(0, 5)
        s, R = naive.unpack_shifted(inst.params, 3)
        cand = np.array(np.meshgrid(*[zpm] * 3)).reshape(3, -1).T          # 8 corners in z
        x = s + cand @ (R if rotate else np.eye(3))
        inside = np.all((x >= inst.domain[0]) & (x <= inst.domain[1]), axis=1)
        assert len(inst.minima) == inside.sum() >= 1
        d = np.linalg.norm(inst.minima[:, None] - x[inside][None], axis=2)
        assert np.all(d.min(axis=1) < 1e-9)


def test_himmelblau_minima_are_the_documented_four():
    inst = landscapes.himmelblau().instance(0, 0)
    s, R = naive.unpack_shifted(inst.params, 2)
    z = (inst.minima - s) @ R.T
    want = [(3.0, 2.0), (-2.805118, 3.131313), (-3.779310, -3.283186), (3.584428, -1.848127)]
    np.testing.assert_allclose(z, want, atol=1e-6)
    np.testing.assert_allclose(naive.himmelblau_grad(z), 0.0, atol=1e-10)


def test_double_well_minima_are_the_outer_roots():
    for tilt in (0.1, -0.1, 0.3):
        fam = landscapes.double_well(2, tilt)
        inst = fam.instance(0, 0)
        r = np.sort(np.roots([1.0, 0.0, -1.0, tilt]).real)
        glob = r[0] if tilt > 0 else r[2]          # c > 0: the left well is lower
        np.testing.assert_allclose(inst.x_star, [glob, 0.0], atol=1e-12)
        np.testing.assert_allclose(sorted(inst.minima[:, 0]), [r[0], r[2]], atol=1e-12)
        assert inst.f_star == pytest.approx(naive.double_well([glob, 0.0], tilt), abs=1e-14)


def test_gaussian_peaks_follow_the_documented_recipe():
    for dim in (2, 10):
        fam = landscapes.gaussian_peaks(dim, 21)
        inst = fam.instance(SEED, 1)
        centres, logw, lam, R = naive.unpack_peaks(inst.params, dim)
        np.testing.assert_allclose(R @ R.T, np.eye(dim), atol=1e-12)
        assert abs(np.linalg.det(R)) == pytest.approx(1.0)     # Haar on O(d): det ±1
        np.testing.assert_allclose(np.exp(logw), [10.0] + list(np.linspace(1.1, 9.1, 20)),
                                   rtol=1e-13)
        np.testing.assert_allclose(centres[0], inst.x_star, atol=1e-12)
        assert np.all(np.abs(centres[0]) <= 4.0 + 1e-12)
        assert np.all(np.abs(centres) <= 5.0 + 1e-12)
        expo = 0.5 * np.arange(dim) / (dim - 1)
        np.testing.assert_allclose(np.sort(lam[0]), 1000.0 ** expo / (1000.0 ** 0.25 * dim),
                                   rtol=1e-12)
        # every peak's α is on the grid {1000^(2j/19)}: its smallest λ is 1/(α^¼·D)
        alphas = (1.0 / (lam[1:].min(axis=1) * dim)) ** 4
        grid = 1000.0 ** (2.0 * np.arange(20) / 19)
        np.testing.assert_allclose(np.sort(alphas), grid, rtol=1e-9)
        # the listed minima are exactly the centres that are not dominated
        _, _, logvals = naive.gaussian_peaks(centres, logw, lam, R)
        active = np.argmax(logvals(centres), axis=1)
        keep = active == np.arange(21)
        assert keep[0] and len(inst.minima) == keep.sum()
        np.testing.assert_allclose(inst.minima, centres[keep], atol=1e-12)


# --------------------------------------------------------------------------------------------
# determinism
# --------------------------------------------------------------------------------------------

ARRAYS = ("params", "domain", "box", "global_minima")


@pytest.mark.parametrize("fam", FAMS, ids=FAM_IDS)
def test_instances_are_a_pure_function_of_seed_and_index(fam):
    a = fam.instance(7, 3)
    np.random.seed(0)                               # global state must not matter
    fam.instance(7, 0)                              # neither must order
    b = fam.instance(7, 3)
    c = fam.instance(7, 4)
    d = fam.instance(8, 3)
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert (a.minima is None) == (b.minima is None)
    if a.minima is not None:
        np.testing.assert_array_equal(a.minima, b.minima)
    assert (a.seed, a.index) == (7, 3)
    if fam.name == "double_well":                   # deterministic by design
        np.testing.assert_array_equal(a.params, c.params)
    else:
        assert not np.array_equal(a.params, c.params)
        assert not np.array_equal(a.params, d.params)
        assert not np.array_equal(a.x_star, c.x_star)


# --------------------------------------------------------------------------------------------
# basin labels against plain gradient descent
# --------------------------------------------------------------------------------------------

# (family, GD learning rate, steps, gradient tolerance at the end point):
# lr·(largest curvature met in the domain) < 1
GD_CASES = [
    ("rastrigin-2", landscapes.rastrigin(2), 1e-3, 3000, 1e-6),
    ("rastrigin-2-rot", landscapes.rastrigin(2, rotate=True), 1e-3, 3000, 1e-6),
    ("styblinski_tang-2", landscapes.styblinski_tang(2), 1e-3, 4000, 1e-6),
    ("styblinski_tang-2-rot", landscapes.styblinski_tang(2, rotate=True), 1e-3, 4000, 1e-6),
    ("double_well-1-tilt+0.1", landscapes.double_well(1, 0.1), 0.02, 3000, 1e-6),
    ("double_well-1-tilt-0.1", landscapes.double_well(1, -0.1), 0.02, 3000, 1e-6),
    ("double_well-3-tilt+0.1", landscapes.double_well(3, 0.1), 0.02, 3000, 1e-6),
    ("double_well-3-tilt-0.1", landscapes.double_well(3, -0.1), 0.02, 3000, 1e-6),
    # Levy's last term is flat at its minima (curvature 1/8): looser convergence
    ("levy-2", landscapes.levy(2), 5e-3, 12000, 1e-3),
]


def gd_endpoints(inst, x, lr, steps, rng, n_perturb=3, delta=1e-4, gtol=1e-6):
    """GD end points of the rows of x, and a mask of the unambiguous ones: converged (small
    gradient), and the same end point from a few starts perturbed by ``delta``."""
    _, grad = naive.for_instance(inst)
    n = len(x)
    starts = [x] + [x + delta * rng.standard_normal(x.shape) for _ in range(n_perturb)]
    ends, gs = naive.gradient_descent(grad, np.vstack(starts), lr, steps)
    ends = ends.reshape(n_perturb + 1, n, inst.dim)
    gnorm = np.linalg.norm(gs, axis=1).reshape(n_perturb + 1, n)
    spread = np.max(np.linalg.norm(ends - ends[0], axis=2), axis=0)
    ok = np.all(gnorm < gtol, axis=0) & (spread < 100 * gtol)
    return ends[0], ok


def labels_of_end_points(inst, ends, tol=1e-5):
    """The label of the listed minimum an end point sits on (the labeller's own label at the end
    point where the minimum lies outside the listed domain)."""
    lab = inst.basin(ends)
    if inst.minima is not None:
        mlab = inst.basin(inst.minima)
        d = np.linalg.norm(ends[:, None, :] - inst.minima[None], axis=2)
        k = np.argmin(d, axis=1)
        near = d[np.arange(len(ends)), k] < tol
        inside = np.all((ends >= inst.domain[0]) & (ends <= inst.domain[1]), axis=1)
        # every GD end point inside the domain is a listed minimum
        assert np.all(near | ~inside), ends[~near & inside]
        lab = np.where(near, mlab[k], lab)
    return lab


@pytest.mark.parametrize("name,fam,lr,steps,gtol", GD_CASES, ids=[c[0] for c in GD_CASES])
def test_basin_labels_agree_with_gradient_descent(name, fam, lr, steps, gtol):
    inst = inst_of(fam)
    rng = np.random.default_rng(5)
    x = in_domain(inst, 200, rng)
    ends, ok = gd_endpoints(inst, x, lr, steps, rng, gtol=gtol)
    assert ok.mean() > 0.9, ok.mean()
    got = inst.basin(x[ok])
    want = labels_of_end_points(inst, ends[ok], tol=max(1e-5, 100 * gtol))
    bad = np.nonzero(got != want)[0]
    assert len(bad) == 0, (x[ok][bad][:5], got[bad][:5], want[bad][:5])
    assert len(set(want.tolist())) >= 2                   # not a trivial landscape


@pytest.mark.parametrize("fam", [landscapes.rastrigin(3, rotate=True), landscapes.levy(3)],
                         ids=["rastrigin-rot", "levy"])
def test_table_labels_scan_and_bisection_agree(fam):
    """The separable families' cell count is a vectorised scan for tables up to LINEAR_MAX
    boundaries and a bisection beyond: padding the table with +inf past LINEAR_MAX must not
    change a label."""
    from swarm.kernels import cpu
    from swarm.kernels.landscapes import LINEAR_MAX
    inst = inst_of(fam)
    x = in_domain(inst, 500, np.random.default_rng(9))
    tab, ctype, gk = fam.tables
    assert tab.shape[1] <= LINEAR_MAX
    wide = np.full((tab.shape[0], LINEAR_MAX + 7), np.inf)
    wide[:, :tab.shape[1]] = tab
    a = np.empty(len(x), np.int64)
    b = np.empty(len(x), np.int64)
    cpu.label(inst.fid, inst.params, tab, ctype, gk, x, a)
    cpu.label(inst.fid, inst.params, wide, ctype, gk, x, b)
    np.testing.assert_array_equal(a, b)
    assert len(set(a.tolist())) > 5


# the labeller of the polished families (approximate by construction: a normalised-step polish)
GD_APPROX = [
    ("himmelblau", landscapes.himmelblau(), 1e-3, 4000, 0.98),
    ("himmelblau-rot", landscapes.himmelblau(rotate=True), 1e-3, 4000, 0.98),
    ("ackley-2", landscapes.ackley(2), 0.01, 3000, 0.95),
]


@pytest.mark.parametrize("name,fam,lr,steps,frac", GD_APPROX, ids=[c[0] for c in GD_APPROX])
def test_polished_basin_labels_mostly_agree_with_gradient_descent(name, fam, lr, steps, frac):
    inst = inst_of(fam)
    rng = np.random.default_rng(6)
    x = in_domain(inst, 200, rng)
    ends, ok = gd_endpoints(inst, x, lr, steps, rng)
    assert ok.mean() > 0.8, ok.mean()
    got = inst.basin(x[ok])
    want = inst.basin(ends[ok])
    assert np.mean(got == want) >= frac, np.mean(got == want)


def test_gaussian_peaks_basin_labels_agree_with_gradient_descent():
    """A point's label must be the peak whose centre gradient descent reaches from it (the
    documented 'polish, then the active peak'); in particular it is never a dominated peak,
    which is not a minimum."""
    inst = inst_of(landscapes.gaussian_peaks(2, 21))
    centres, logw, lam, R = naive.unpack_peaks(inst.params, 2)
    _, grad, logvals = naive.gaussian_peaks(centres, logw, lam, R)
    rng = np.random.default_rng(7)
    x = in_domain(inst, 150, rng)
    ends, ok = gd_endpoints(inst, x, 0.005, 6000, rng, n_perturb=2)
    ok &= np.min(np.linalg.norm(ends[:, None] - centres[None], axis=2), axis=1) < 1e-4
    assert ok.mean() > 0.3, ok.mean()
    want = np.argmax(logvals(ends[ok]), axis=1)      # the centre reached
    got = inst.basin(x[ok])
    minima_labels = set(inst.basin(inst.minima).tolist())
    stray = sorted(set(got.tolist()) - minima_labels)
    assert not stray, f"labels of dominated peaks (not minima): {stray}"
    # the polish ends within about a polish step h of the centre reached: where another peak is
    # active within 2h of that centre (a barely undominated peak), the label may be that peak
    # (the documented accuracy of polished labels); such points must get one of those peaks
    h = inst.params[ids.LP_POLISH_H]
    ang = np.linspace(0.0, 2 * np.pi, 64, endpoint=False)
    ring = np.vstack([r * np.stack([np.cos(ang), np.sin(ang)], axis=1) for r in (h / 2, h, 2 * h)])
    near = [set(np.argmax(logvals(c + ring), axis=1).tolist()) | {k}
            for k, c in enumerate(centres)]
    sharp = np.array([len(near[k]) == 1 for k in want])
    assert sharp.mean() > 0.5, sharp.mean()
    assert all(g in near[w] for g, w in zip(got, want))
    assert np.mean(got[sharp] == want[sharp]) >= 0.98, np.mean(got[sharp] == want[sharp])


# --------------------------------------------------------------------------------------------
# labels: injective, and never the 'diverged' label
# --------------------------------------------------------------------------------------------


def test_basin_labels_never_equal_the_diverged_label():
    """``ids.DIVERGED`` (−1) marks a diverged trajectory in ``end_basin``/``start_basin``; a real
    basin must never get that label."""
    offenders = []
    for name, fam in FAMILIES:
        inst = inst_of(fam)
        pts = [in_domain(inst, 300, np.random.default_rng(8))]
        if inst.minima is not None:
            pts.append(inst.minima)
        lab = inst.basin(np.vstack(pts))
        if np.any(lab == ids.DIVERGED):
            offenders.append(name)
    assert not offenders, f"basins labelled {ids.DIVERGED} (= DIVERGED) in {offenders}"


def test_rastrigin_high_dim_labels_distinguish_minima():
    """A local minimum next to x* (z = e₁, f ≈ 1) is not in the global basin, whatever dim."""
    for dim in (2, 10, 12, 16):
        inst = landscapes.rastrigin(dim).instance(0, 0)
        s, _ = naive.unpack_shifted(inst.params, dim)
        labels = []
        for j in (0, dim - 1):
            z = np.zeros(dim)
            z[j] = 1.0
            x, g = naive.gradient_descent(naive.SHIFTED["rastrigin"][1], z, 1e-3, 2000)
            assert np.linalg.norm(g) < 1e-8 and 0.9 < naive.rastrigin(x) < 1.1
            labels.append(int(inst.basin(s + x)))
        assert 0 not in labels, (dim, labels)
        assert labels[0] != labels[1], (dim, labels)


def test_griewank_checkerboard_minimum_has_its_own_label():
    """In 2-D Griewank, z ≈ (π, π√2) is a local minimum (cos·cos = (−1)(−1) = 1, f ≈ 0.0074),
    not only the lattice zᵢ = 2π√i·kᵢ; its label must differ from the global one and from the
    four lattice minima around it."""
    inst = landscapes.griewank(2).instance(0, 0)
    s, _ = naive.unpack_shifted(inst.params, 2)
    z, g = naive.gradient_descent(naive.griewank_grad,
                                  np.array([math.pi, math.pi * math.sqrt(2)]), 1.0, 500)
    assert np.linalg.norm(g) < 1e-10
    assert 0.007 < naive.griewank(z) < 0.008
    # it is a strict local minimum of h
    u = np.random.default_rng(9).standard_normal((32, 2))
    assert np.all(naive.griewank(z + 1e-3 * u) > naive.griewank(z))
    lattice = []
    for k1 in (0, 1):
        for k2 in (0, 1):
            zz, _ = naive.gradient_descent(naive.griewank_grad,
                                           np.array([2 * math.pi * k1,
                                                     2 * math.pi * math.sqrt(2) * k2]),
                                           1.0, 500)
            lattice.append(int(inst.basin(s + zz)))
    assert len(set(lattice)) == 4
    lab = int(inst.basin(s + z))
    assert lab not in lattice, (lab, lattice)


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------

BAD = [
    ("dim0", lambda: landscapes.rastrigin(dim=0), "dim"),
    ("dim1.5", lambda: landscapes.rastrigin(dim=1.5), "dim"),
    ("dimTrue", lambda: landscapes.ackley(dim=True), "dim"),
    ("dim-big", lambda: landscapes.levy(dim=10 ** 6), "dim"),
    ("rotate-x", lambda: landscapes.himmelblau(rotate="x"), "rotate"),
    ("shift-nan", lambda: landscapes.rastrigin(shift=float("nan")), "shift"),
    ("shift-2", lambda: landscapes.griewank(shift=2.0), "shift"),
    ("bound-0.5", lambda: landscapes.styblinski_tang(bound=0.5), "bound"),
    ("tilt0", lambda: landscapes.double_well(tilt=0), "tilt"),
    ("tilt1", lambda: landscapes.double_well(tilt=1), "tilt"),
    ("tilt-nan", lambda: landscapes.double_well(tilt=float("nan")), "tilt"),
    ("dw-dim0", lambda: landscapes.double_well(dim=0), "dim"),
    ("peaks0", lambda: landscapes.gaussian_peaks(peaks=0), "peaks"),
    ("peaks2.5", lambda: landscapes.gaussian_peaks(peaks=2.5), "peaks"),
    ("cond0.5", lambda: landscapes.gaussian_peaks(cond=0.5), "cond"),
    ("gp-rotate", lambda: landscapes.gaussian_peaks(rotate=1), "rotate"),
    ("seed-neg", lambda: landscapes.rastrigin().instance(-1, 0), "seed"),
    ("index-float", lambda: landscapes.rastrigin().instance(0, 1.0), "index"),
]


@pytest.mark.parametrize("make,field", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_raises_value_error_naming_the_field(make, field):
    with pytest.raises(ValueError, match=field):
        make()
