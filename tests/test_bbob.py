"""swarm.bbob against COCO itself (``cocoex``, the ``coco-experiment`` package): every
function 1-24, instances 1-15, dimensions 2, 3, 5, 10, 20, 40 — x_opt, f_opt and f at random
points (inside and just outside [-5, 5]^d) and at x_opt — and the closed-form gradients of
``tests/naive_bbob.py`` against central differences."""
import math
import os
import sys

import cocoex
import numpy as np
import pytest

from swarm import bbob

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import naive_bbob as nb  # noqa: E402  (not `from tests import`: a site-packages `tests`
#                                          package, shipped by some wheels, shadows ours)

cocoex.log_level("error")

DIMS = bbob.DIMENSIONS
INSTANCES = range(1, 16)


def _problems(function):
    """COCO's problems of ``function`` (each is valid until the next is drawn)."""
    return cocoex.Suite("bbob", "instances: 1-15",
                        f"function_indices: {function} dimensions: {','.join(map(str, DIMS))}")


@pytest.mark.parametrize("function", list(bbob.FUNCTIONS))
def test_values_xopt_and_fopt_match_cocoex(function, tmp_path, monkeypatch):
    """f within 1e-12 relative at random points (in practice bit-equal but for rare 1-ulp
    differences), f(x_opt) bit-equal to COCO's and equal to f_opt (f20: within 1e-12; its
    x_opt is Schwefel's rounded 420.96874633, not an exact minimiser), f_opt equal, and x_opt
    as COCO prints it (``%.16f``, the only form in which cocoex gives it)."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(function)
    seen = set()
    for p in _problems(function):
        dim, inst = p.dimension, p.id_instance
        seen.add((dim, inst))
        assert p.id_function == function
        data = bbob.instance_data(function, dim, inst)
        x = np.vstack([rng.uniform(-5, 5, (6, dim)), rng.uniform(-6, 6, (2, dim))])
        ref = np.array([p(xi) for xi in x])
        got = nb.value(data, x)
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0,
                                   err_msg=f"f{function} d{dim} i{inst}")
        # x_opt: as COCO's best_parameter, printed with %.16f
        p._best_parameter("print")
        with open("._bbob_problem_best_parameter.txt") as fh:
            printed = fh.read()
        assert printed == "".join(f" {v:.16f} " for v in data["xopt"]), \
            f"f{function} d{dim} i{inst}"
        # f_opt and f(x_opt)
        fx = p(data["xopt"])
        assert nb.value(data, data["xopt"]) == fx
        if function == 20:
            assert abs(fx - data["fopt"]) <= 1e-12 * max(1.0, abs(data["fopt"]))
        else:
            assert fx == data["fopt"], f"f{function} d{dim} i{inst}"
        assert data["fopt"] == bbob.fopt(function, inst)
    assert seen == {(d, i) for d in DIMS for i in INSTANCES}


def test_fopt_values():
    """f_opt is a multiple of 0.01 in [-1000, 1000]; f3/f4 and f17/f18 share theirs."""
    for f in bbob.FUNCTIONS:
        for i in (1, 2, 15, 100):
            v = bbob.fopt(f, i)
            assert -1000 <= v <= 1000 and v == round(v * 100) / 100
    assert bbob.fopt(4, 7) == bbob.fopt(3, 7) and bbob.fopt(18, 7) == bbob.fopt(17, 7)
    assert bbob.rseed(4, 2) == 20003 and bbob.rseed(18, 2) == 20017 and bbob.rseed(5, 3) == 30005


def test_generators():
    u = bbob.unif(1000, 12345)
    assert u.dtype == np.float64 and np.all((u > 0) & (u <= 1)) and 0.45 < u.mean() < 0.55
    np.testing.assert_array_equal(bbob.unif(10, 12345), u[:10])
    np.testing.assert_array_equal(bbob.unif(5, -7), bbob.unif(5, 7))       # |seed|
    np.testing.assert_array_equal(bbob.unif(5, 0), bbob.unif(5, 1))        # seed >= 1
    g = bbob.gauss(2000, 3)
    assert abs(g.mean()) < 0.1 and abs(g.std() - 1) < 0.1
    for d in (2, 7, 40):
        r = bbob.rotation(10001, d)
        np.testing.assert_allclose(r.T @ r, np.eye(d), atol=1e-12)   # Gram-Schmidt
    x = bbob.xopt(10001, 40)
    assert np.all((x >= -4) & (x < 4))
    k = (x + 4) / 8 * 1e4                         # on the 1e-4 grid of 8 floor(1e4 u) / 1e4 - 4
    np.testing.assert_allclose(k, np.round(k), rtol=0, atol=1e-9)
    # the rotation of instance_data is the generator's
    d = bbob.instance_data(10, 5, 3)
    np.testing.assert_array_equal(d["R"], bbob.rotation(bbob.rseed(10, 3) + 1000000, 5))


def test_dims_beyond_coco():
    """Any dim >= 2 is defined (COCO's C buffers stop at 44); values are finite."""
    for f in bbob.FUNCTIONS:
        d = bbob.instance_data(f, 4, 1)
        assert np.isfinite(nb.value(d, np.zeros(4)))
    d = bbob.instance_data(21, 50, 2)
    assert d["y"].shape == (50, 101) and d["scales"].shape == (101, 50)


@pytest.mark.parametrize("field, args, match", [
    ("function", (0, 2, 1), r"function must be an integer in \[1, 24\]"),
    ("function", (25, 2, 1), r"function must be an integer in \[1, 24\]"),
    ("function", (1.0, 2, 1), r"function must be an integer"),
    ("function", (True, 2, 1), r"function must be an integer"),
    ("dim", (1, 1, 1), r"dim must be an integer in \[2, inf\]"),
    ("dim", (1, "3", 1), r"dim must be an integer"),
    ("instance", (1, 2, 0), r"instance must be an integer in \[1, inf\]"),
])
def test_validation(field, args, match):
    with pytest.raises(ValueError, match=match):
        bbob.instance_data(*args)
    if field != "dim":
        with pytest.raises(ValueError, match=match):
            bbob.fopt(args[0], args[2])
    with pytest.raises(ValueError, match="n must be"):
        bbob.unif(-1, 3)
    with pytest.raises(ValueError, match="seed must be"):
        bbob.gauss(3, 1.5)


# ------------------------------------------------------------------ gradients

# the central-difference step: Weierstrass (f16) oscillates at 2 pi 3^11 and f19 has cos(t) with
# t ~ 1e5 far from the optimum, so their steps are small
_STEP = {16: 1e-9, 19: 1e-9}
# f7 (gradient 0 a.e., checked apart) and f23 (kinks on a 2^-33 grid, no difference quotient
# sees its piecewise gradient) are not checked against differences
GRAD_FUNCTIONS = [f for f in bbob.FUNCTIONS if f not in (7, 23)]


def _central(data, x, h):
    g = np.empty_like(x)
    for j in range(len(x)):
        e = np.zeros_like(x)
        e[j] = h * max(1.0, abs(x[j]))
        g[j] = (nb.value(data, x + e) - nb.value(data, x - e)) / (2 * e[j])
    return g


@pytest.mark.parametrize("function", GRAD_FUNCTIONS)
def test_gradient_central_differences(function):
    rng = np.random.default_rng(100 + function)
    for dim in (2, 5, 10):
        for inst in (1, 2):
            data = bbob.instance_data(function, dim, inst)
            for x in rng.uniform(-5.5, 5.5, (3, dim)):
                g = nb.gradient(data, x)
                fd = _central(data, x, _STEP.get(function, 1e-6))
                scale = max(np.linalg.norm(g), 1e-8)
                err = np.linalg.norm(g - fd) / scale
                assert err < 2e-5, f"f{function} d{dim} i{inst}: {err:.2e}\n{g}\n{fd}"


def test_step_ellipsoid_gradient_is_flat():
    """f7: the rounded core is piecewise constant: the gradient is the penalty's and, where
    0.1 |z_1| 1e-4 beats the core, the floor's; inside [-5, 5]^d away from the optimum it is
    0 — no information for a gradient method."""
    data = bbob.instance_data(7, 5, 1)
    rng = np.random.default_rng(7)
    x = rng.uniform(-5, 5, (20, 5))
    g = nb.gradient(data, x)
    assert np.all(g == 0)
    f = nb.value(data, x)
    np.testing.assert_array_equal(nb.value(data, x + 1e-9), f)
    assert math.isfinite(float(np.sum(f)))
