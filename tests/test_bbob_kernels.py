"""COCO's BBOB functions in the kernels (issue 22 item 1): the row layout and its packer, the
kernels' values and gradients against tests/naive_bbob.py, f(x_opt) = f_opt, the registry rows
and the study-level checks. Parametrised from ``ids.BBOB_FAMILIES`` and the registry."""
import importlib.util
import os
import pathlib
import sys

import numpy as np
import pytest

from swarm import bbob as B
from swarm import landscapes as L
from swarm.kernels import ids, instances
from swarm.kernels import layout as klayout

ROOT = pathlib.Path(__file__).resolve().parents[1]

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import naive_bbob  # noqa: E402

FUNCTIONS = [fid - ids.BBOB_F1 + 1 for fid in ids.BBOB_FAMILIES]

# where each instance_data entry goes (docs/bbob.md's table, written out again here):
# function → {key: field}, field one of "a", "b", "u", "v" or the scalar slot c[k]
WHERE = {
    1: {}, 2: {"weights": "u"}, 3: {"lam": "u", "beta": 0}, 4: {"scales": "u", "penalty": 1},
    5: {"slopes": "u"}, 6: {"M": "a"},
    7: {"R": "a", "Q": "b", "c1": "u", "weights": "v", "penalty": 1},
    8: {"factor": 2}, 9: {"M": "a", "factor": 2, "b": 3}, 10: {"R": "a", "weights": "u"},
    11: {"R": "a"}, 12: {"R": "a", "beta": 0}, 13: {"M": "a"},
    14: {"R": "a", "exponents": "u"}, 15: {"R": "a", "M": "b", "beta": 0},
    16: {"R": "a", "M": "b", "penalty": 1, "f0": 4},
    17: {"R": "a", "M": "b", "beta": 0, "penalty": 1},
    18: {"R": "a", "M": "b", "beta": 0, "penalty": 1},
    19: {"R": "a", "M": "b", "scales": 2, "b": 3, "facftrue": 4},
    20: {"shift": "u", "lam": "v"}, 21: {"R": "a", "penalty": 1}, 22: {"R": "a", "penalty": 1},
    23: {"M": "a", "penalty": 1},
    24: {"R": "a", "Q": "b", "lam": "u", "penalty": 1, "d": 3, "mu0": 5, "mu1": 6, "s": 7},
}


def test_ids_and_layout_as_agreed():
    assert ids.BBOB_FAMILIES == tuple(range(8, 32)) and ids.BBOB_F1 == 8 and ids.BBOB_F24 == 31
    assert ids.LANDSCAPE_FAMILIES == tuple(range(32))
    assert set(ids.NATIVE_FAMILIES) | set(ids.BBOB_FAMILIES) == set(ids.LANDSCAPE_FAMILIES)
    d, P = 3, 4
    lay = klayout.bbob(d, P)
    assert lay.xopt == ids.LP_HEAD
    assert (lay.a, lay.b, lay.u, lay.v) == (lay.xopt + d, lay.xopt + d + d * d,
                                            lay.xopt + d + 2 * d * d, lay.xopt + 2 * d + 2 * d * d)
    assert (lay.c, lay.count, lay.y) == (lay.v + d, lay.v + d + 8, lay.v + d + 9)
    assert (lay.sc, lay.ht, lay.size) == (lay.y + P * d, lay.y + 2 * P * d, lay.y + 2 * P * d + P)
    for fid in ids.BBOB_FAMILIES:
        assert klayout.LAYOUTS[fid] is klayout.bbob


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("dim", [2, 5])
def test_packer_puts_every_entry_where_the_layout_says(function, dim):
    for inst in (1, 7):
        data = B.instance_data(function, dim, inst)
        row = instances.bbob_row(function, dim, inst)
        P = data.get("peaks", 0)
        lay = klayout.bbob(dim, P)
        assert row.shape == (lay.size,) and row.dtype == np.float64
        want = np.zeros(lay.size)
        want[ids.LP_FSTAR] = data["fopt"]
        want[ids.LP_NGLOBAL] = 1.0
        want[lay.xopt:lay.xopt + dim] = data["xopt"]
        for key, field in WHERE[function].items():
            v = np.asarray(data[key], dtype=np.float64)
            if isinstance(field, int):
                assert v.ndim == 0, key
                want[lay.c + field] = v
            else:
                o = getattr(lay, field)
                assert v.size == (dim * dim if field in "ab" else dim), key
                for i in range(v.shape[0]):            # row-major, element by element
                    if v.ndim == 2:
                        for j in range(dim):
                            want[o + i * dim + j] = v[i, j]
                    else:
                        want[o + i] = v[i]
        if function in (21, 22):
            assert P == (101 if function == 21 else 21)
            want[lay.count] = P
            for k in range(P):
                want[lay.y + k * dim:lay.y + (k + 1) * dim] = data["y"][:, k]
                want[lay.sc + k * dim:lay.sc + (k + 1) * dim] = data["scales"][k, :]
                want[lay.ht + k] = data["heights"][k]
        np.testing.assert_array_equal(row, want)


# --------------------------------------------------------------------------------------------
# the kernels' values and gradients against tests/naive_bbob.py
# --------------------------------------------------------------------------------------------

def _written():
    """The functions the kernels have (f1–f12 in kernels/bbob.py; f13–f24 once
    kernels/bbob_multi.py exists): never a function that would evaluate to NaN."""
    out = list(range(1, 13))
    if importlib.util.find_spec("swarm.kernels.bbob_multi") is not None:
        out += list(range(13, 25))
    return out


WRITTEN = _written()
# f1–f12 (kernels/bbob.py) here; f13–f24 against the same references in tests/test_bbob_multi.py
# (with their own measured tolerances: f16's and f19's large arguments make the C library's
# values in naive_bbob the less accurate side)
MINE = list(range(1, 13))
DIMS = (2, 3, 5, 10, 20, 40)
INSTANCES = (1, 2, 9)
# measured worst cases over these points (f3, f4: 6e-14 in f, 3e-13 in ∇f, from the C
# library's cos(2π·z) against kmath's sincos2pi(z), which rounds no 2π·z product)
RTOL_F = 1e-12
RTOL_G = 1e-11


def kernel_fg(function, row, X):
    from swarm.kernels import cpu
    X = np.ascontiguousarray(X, dtype=np.float64)
    f = np.empty(len(X))
    g = np.empty_like(X)
    cpu.evaluate(ids.BBOB_F1 + function - 1, row, X, f, g)
    return f, g


def points(data, rng, n=48):
    """In [−5, 5]^d, in [−6, 6]^d (the boundary penalty) and within 0.1 of x_opt."""
    d = data["dim"]
    return np.vstack([rng.uniform(-5, 5, (n, d)), rng.uniform(-6, 6, (n // 4, d)),
                      data["xopt"] + rng.uniform(-0.1, 0.1, (n // 4, d))])


@pytest.mark.parametrize("function", MINE)
def test_value_and_gradient_equal_the_naive_reference(function):
    rng = np.random.default_rng(function)
    for dim in DIMS:
        for inst in INSTANCES:
            data = B.instance_data(function, dim, inst)
            X = points(data, rng)
            f, g = kernel_fg(function, instances.bbob_row(function, dim, inst), X)
            nf = naive_bbob.value(data, X)
            ng = naive_bbob.gradient(data, X)
            assert np.all(np.isfinite(f)) and np.all(np.isfinite(g))
            np.testing.assert_allclose(f, nf, rtol=RTOL_F, atol=RTOL_F,
                                       err_msg=f"f{function} dim {dim} instance {inst}")
            gs = np.maximum(1.0, np.max(np.abs(ng), axis=1, keepdims=True))
            assert np.all(np.abs(g - ng) <= RTOL_G * gs), \
                (function, dim, inst, np.max(np.abs(g - ng) / gs))


@pytest.mark.parametrize("function", MINE)
def test_f_at_x_opt_is_f_opt(function):
    for dim in DIMS:
        for inst in INSTANCES:
            data = B.instance_data(function, dim, inst)
            f, g = kernel_fg(function, instances.bbob_row(function, dim, inst),
                             data["xopt"][None, :])
            if function == 20:          # COCO's best_parameter is 2e-10 off (docs/bbob.md)
                assert abs(f[0] - data["fopt"]) <= 1e-12 * max(1.0, abs(data["fopt"]))
            else:
                assert f[0] == data["fopt"], (function, dim, inst, f[0] - data["fopt"])


@pytest.mark.parametrize("function", [f for f in MINE if f not in (5, 7)])
def test_gradient_against_central_differences(function):
    """The kernel's own f: its gradient is the derivative of what it evaluates (f5, f7:
    piecewise linear / constant, checked against the naive closed form above)."""
    rng = np.random.default_rng(100 + function)
    for dim in (2, 5):
        data = B.instance_data(function, dim, 1)
        row = instances.bbob_row(function, dim, 1)
        X = rng.uniform(-4, 4, (8, dim))
        _, g = kernel_fg(function, row, X)
        h = 1e-6
        fd = np.empty_like(g)
        for j in range(dim):
            e = np.zeros(dim)
            e[j] = h
            fd[:, j] = (kernel_fg(function, row, X + e)[0] - kernel_fg(function, row, X - e)[0]) \
                / (2 * h)
        scale_ = np.maximum(1.0, np.max(np.abs(g), axis=1, keepdims=True))
        assert np.all(np.abs(fd - g) <= 1e-5 * scale_), (function, np.max(np.abs(fd - g) / scale_))


_BOTH_SETS = """
import sys
import numpy as np
from swarm.kernels import cpu, ids, instances
from swarm.landscapes import Shifted
X = np.array([[0.5, 0.5]])
row = instances.bbob_row(1, 2, 1)
rast = Shifted("rastrigin", 2)._canonical()
f, g = np.empty(1), np.empty((1, 2))
out = []
if sys.argv[1] in ("bbob", "both"):
    cpu.evaluate(ids.BBOB_F1, row, X, f, g)             # the BBOB set
    out.append(f[0])
if sys.argv[1] in ("main", "both"):
    cpu.evaluate(ids.RASTRIGIN, rast, X, f, g)          # the main set
    out.append(f[0])
    cpu.MAIN.evaluate64(ids.BBOB_F1, row, X, f, g)      # the main set has no BBOB function
    out.append(f[0])
print(*(repr(float(v)) for v in out))
"""


def test_both_kernel_sets_loaded_from_their_caches_keep_their_own_code(tmp_path):
    """Each kernel set compiled in a process of its own, into an empty cache, then both loaded
    from the cache into a third process: each runs its own code. Numba names machine code
    after the qualified name and a per-process counter, so the two first processes give the
    sets' helpers the same symbols, and before the BBOB set had names of its own the third
    process's main ``evaluate64`` ran BBOB's f1 (or the BBOB one NaN, by load order)."""
    import subprocess
    env = dict(os.environ, SWARM_CACHE_DIR=str(tmp_path), PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))

    def run(which):
        return [float(v) for v in subprocess.run(
            [sys.executable, "-c", _BOTH_SETS, which], capture_output=True, text=True, env=env,
            check=True).stdout.split()]
    main_alone, bbob_alone = run("main"), run("bbob")       # compile, each into the cache
    bbob_f, rast_f, main_on_bbob = run("both")               # both loaded from the cache
    assert bbob_f == bbob_alone[0] == naive_bbob.value(B.instance_data(1, 2, 1),
                                                       np.array([0.5, 0.5]))
    assert rast_f == main_alone[0]
    assert np.isnan(main_on_bbob) and np.isnan(main_alone[1])
    x = np.array([0.5, 0.5])
    assert abs(rast_f - (20 + np.sum(x * x - 10 * np.cos(2 * np.pi * x)))) < 1e-9


def test_an_unwritten_function_would_be_nan_not_another_function():
    """The main kernel set has no BBOB function: asked for one directly it gives NaN."""
    from swarm.kernels import cpu
    row = instances.bbob_row(1, 2, 1)
    X = np.array([[0.5, 0.5]])
    f, g = np.empty(1), np.empty((1, 2))
    cpu.MAIN.evaluate64(ids.BBOB_F1, row, X, f, g)
    assert np.isnan(f[0]) and np.all(np.isnan(g))


# --------------------------------------------------------------------------------------------
# the registry rows, the constructor and studies
# --------------------------------------------------------------------------------------------

BBOB_ROWS = [r for r in L.REGISTRY.values() if r.fid in ids.BBOB_FAMILIES]


def test_every_bbob_id_has_a_complete_registry_row():
    from swarm.kernels import labels as klabels
    assert sorted(r.fid for r in BBOB_ROWS) == list(ids.BBOB_FAMILIES)
    docs = (ROOT / "docs" / "bbob.md").read_text()
    for r in BBOB_ROWS:
        n = r.fid - ids.BBOB_F1 + 1
        assert r.name == f"bbob_f{n}" and L.FAMILIES[r.name] is r.factory
        assert klabels.RULE_OF[r.fid] == r.label_rule == \
            ("bbob_peak" if n in L.BBOB_PEAKS else "bbob")
        assert r.polish == (L.BBOB_PEAK_POLISH if n in L.BBOB_PEAKS else L.BBOB_POLISH)
        assert klayout.LAYOUTS[r.fid] is r.layout is klayout.bbob
        assert callable(getattr(naive_bbob, r.naive)) and r.naive == "value"
        assert r.half_width == 5.0 and r.hessian_diag == ""   # curvature noise: refused
        assert f"`{r.name}`" in docs, f"{r.name}: no row in docs/bbob.md"
        fam = r.factory(dim=3, instance=4)
        assert fam.row is r and fam.fid == r.fid and fam.function == n
        assert L.from_dict(fam.to_dict()) == fam


@pytest.mark.parametrize("function", [1, 3, 21])
def test_instances_are_coco_instances(function):
    fam = L.bbob(function, 3, instance=5)
    bank = fam.bank(123, 2, 4)                      # study instances 2, 3: COCO's 7 and 8
    for r, coco in enumerate((7, 8)):
        data = B.instance_data(function, 3, coco)
        row = instances.bbob_row(function, 3, coco)
        np.testing.assert_array_equal(bank.lp[r, ids.LP_HEAD:], row[ids.LP_HEAD:])
        assert bank.lp[r, ids.LP_FSTAR] == data["fopt"]
        np.testing.assert_array_equal(bank.gmin[r, 0], data["xopt"])
        assert bank.lp[r, ids.LP_POLISH_STEPS] == fam.row.polish[0]
        assert bank.lp[r, ids.LP_QUANT] == L.BBOB_QUANT
    inst = fam.instance(0, 0)
    assert inst.f_star == B.fopt(function, 5) == fam.f_opt
    np.testing.assert_array_equal(inst.domain, [[-5.0] * 3, [5.0] * 3])
    assert inst.minima is None and inst.n_global == 1
    np.testing.assert_array_equal(fam.bank(999, 2, 4).lp, bank.lp)     # the seed plays no part


@pytest.mark.parametrize("bad,match", [
    (dict(function=0), "^function "), (dict(function=25), "^function "),
    (dict(function=2.5), "^function "), (dict(dim=1), "^dim "), (dict(dim="3"), "^dim "),
    (dict(instance=0), "^instance "), (dict(instance=True), "^instance "),
    (dict(allow_uninformative_gradient=1), "^allow_uninformative_gradient "),
])
def test_bad_input_is_a_value_error_naming_the_field(bad, match):
    kw = {"function": 1, "dim": 2, **bad}
    with pytest.raises(ValueError, match=match):
        L.bbob(kw.pop("function"), kw.pop("dim"), **kw)


def test_gradient_optimizers_are_refused_on_f7_and_f23_unless_opted_in():
    import swarm
    from swarm import optimizers as O
    kw = dict(instances=1, starts=2, steps=3, seed=1)
    for n in L.BBOB_UNINFORMATIVE:
        with pytest.raises(ValueError, match=rf"bbob_f{n} .*allow_uninformative_gradient=True"):
            swarm.run(L.bbob(n, 2), [O.adam(lr=0.01)], **kw)
    res = swarm.run(L.bbob(7, 2, allow_uninformative_gradient=True), [O.sgd(lr=0.01)], **kw)
    assert res.arm(0)["final_f"].shape == (1, 2) and np.all(np.isfinite(res.arm(0)["final_f"]))
    swarm.run(L.bbob(6, 2), [O.adam(lr=0.01)], **kw)          # every other function runs


def test_a_spec_runs_a_bbob_function_and_refuses_f7():
    from swarm.spec import SpecError, loads_spec
    text = """
landscape = { family = "bbob_f1", dim = 3, instance = 2 }
optimizers = [{ kind = "adam", lr = 0.1 }]
instances = 2
starts = 4
steps = 200
"""
    spec = loads_spec(text, "bbob.toml")
    res = spec.run()
    assert res.table()[0]["p_global"] == 1.0          # the sphere: every start converges
    with pytest.raises(SpecError, match=r"bbob\.toml.*landscape\.family.*bbob_f7 .*"
                                        r"allow_uninformative_gradient=True"):
        loads_spec(text.replace("bbob_f1", "bbob_f7"), "bbob.toml")
    opt_in = text.replace('"bbob_f1",', '"bbob_f7", allow_uninformative_gradient = true,')
    assert loads_spec(opt_in, "bbob.toml").landscape.allow_uninformative_gradient


def test_a_small_study_finds_the_sphere_and_records_coco_f_opt():
    import swarm
    from swarm import optimizers as O
    fam = L.bbob(1, 5, instance=3)
    res = swarm.run(fam, [O.adam(lr=0.1), O.sgd(lr=0.2)], instances=2, starts=8, steps=300,
                    seed=5)
    fo = np.array([[B.fopt(1, 3)], [B.fopt(1, 4)]])
    for a in range(2):
        arm = res.arm(a)
        assert np.all(arm["success"]) and np.all(arm["end_basin"] == 0)   # the cell of x_opt
        assert np.all(arm["hit_step"] >= 0)
    assert np.all(np.abs(res.arm(1)["final_f"] - fo) < 1e-9)               # SGD: contracts 0.6×


@pytest.mark.parametrize("function", [f for f in WRITTEN if f not in L.BBOB_UNINFORMATIVE])
def test_labels_put_x_opt_in_the_global_cell(function):
    fam = L.bbob(function, 3)
    inst = fam.instance(0, 0)
    x = inst.x_star + np.array([[0.0, 0.0, 0.0], [0.3, 0.3, 0.3], [-4.0, 4.0, 4.0]])
    lab = inst.basin(x)
    assert lab[0] == 0
    assert lab[2] != ids.DIVERGED


def test_the_two_part_inverse_of_two_pi_is_exact_to_106_bits():
    """sincos reduces a/2π with 1/(2π) = hi + lo: lo must be the true remainder (float64 cannot
    compute it: 1/(2π) − float(1/(2π)) is 0 in float64 arithmetic, which had made lo 0)."""
    from fractions import Fraction

    from swarm.kernels import bbob_common as bc
    pi = Fraction("3.14159265358979323846264338327950288419716939937510582097494459230781640")
    exact = 1 / (2 * pi)
    assert Fraction(bc.INV2PI_HI) == Fraction(float(exact))        # hi: 1/(2π) rounded
    assert bc.INV2PI_LO == float(exact - Fraction(bc.INV2PI_HI))     # lo: the remainder rounded
    assert bc.INV2PI_LO != 0.0
    assert abs(Fraction(bc.INV2PI_HI) + Fraction(bc.INV2PI_LO) - exact) < exact * Fraction(1, 2**106)


def test_gallagher_rows_take_gaussian_peaks_label_rule_and_polish():
    """f21/f22 are Gaussian peaks (max of hₖ exp(−qₖ/(2n)) under monotone T_osz and square):
    labelled by the active peak after P's polish, not by the lattice rule."""
    assert L.BBOB_PEAKS == (21, 22)
    assert L.BBOB_PEAK_POLISH == L.REGISTRY["gaussian_peaks"].polish
    for n in L.BBOB_PEAKS:
        assert L.REGISTRY[f"bbob_f{n}"].label_rule == "bbob_peak"


@pytest.mark.parametrize("function,dim,instance", [(21, 2, 1), (22, 3, 2), (21, 5, 3)])
def test_gallagher_labels_match_the_naive_rule(function, dim, instance):
    """The kernels' labels of f21/f22 against ``naive_bbob.gallagher_label`` (the same rule in
    plain loops, from COCO's instance data, not the packed row): random points of the domain,
    points near x_opt (label 0, the global peak) and x_opt itself."""
    fam = L.bbob(function, dim, instance=instance)
    inst = fam.instance(0, 0)
    data = B.instance_data(function, dim, instance)
    steps, h = fam.row.polish
    rng = np.random.default_rng(function + dim)
    near = inst.x_star + rng.uniform(-0.05, 0.05, (6, dim))
    x = np.vstack([rng.uniform(-5.0, 5.0, (36, dim)), near, inst.x_star])
    got = inst.basin(x)
    want = naive_bbob.gallagher_label(data, x, steps, h)
    np.testing.assert_array_equal(got, want)
    assert np.all(got[-7:] == 0)                   # x_opt and its neighbourhood: the global peak
    assert len(set(want[:36].tolist())) >= 3       # the random points reach several peaks
    assert np.all((got >= 0) & (got < data["peaks"]))
