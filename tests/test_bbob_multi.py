"""The kernels' BBOB f13–f24 (``kernels/bbob_multi.py``), compiled standalone on small lane
blocks, against ``tests/naive_bbob.py`` (which matches COCO's ``cocoex`` within 1e-12,
``tests/test_bbob.py``): dims 2, 3, 5, 10, 20, 40, instances 1–3, points in [−5, 5]^d and
[−6, 6]^d (the boundary penalty), rows from ``instances.bbob_row``.

Tolerances, each measured (worst over this file's points, float64):

- values: |f − f_ref| ≤ 1e-12 · max(|f_ref|, |f_ref − f_opt|), i.e. 1e-12 relative to the
  function's own scale: where f_opt nearly cancels the raw value the relative error of f
  grows by their ratio (f14: 9.5e-14 of |f| at f = 3.9 with f_opt = −179.5). Worst relative
  to that scale over 6000 points per function (dims 2–40, instances 1–5): f16 2.4e-12 (p99
  3.6e-13; its angles 2π·3¹¹(zᵢ + ½) turn one ulp of zᵢ into 2.5e-10 rad, and kmath's exp and
  log in T_osz are 1–3 ulp from COCO's libm: its tolerance here is 3e-12), f18 1.6e-13, f17
  6.6e-14, f24 5.1e-14, the rest ≤ 1e-14;
- gradients: max |∇f − ∇f_ref| ≤ tol · max |∇f_ref| per point, tol 1e-11 (worst 2.8e-12, f24);
  f16 1e-7 (worst 1.5e-8: the 3¹¹ terms again); f23 (piecewise: Σⱼ sign(2ʲzᵢ − round)) with
  COCO's bits of zᵢ, compared away from its kinks (``katsuura_smooth``);
- f(x*) = f_opt exactly and ∇f(x*) = 0 exactly (f19, f20: x* is COCO's rounded minimiser;
  f20's f(x*) − f_opt ≈ 1e-15, f19's is 0; f21/f22: |∇f(x*)| ≤ 1e-20, R x* being the peak's
  centre up to rounding);
- float32: the same code compiled for float32 (rows and points rounded to float32) against the
  float64 reference, tolerances by the function's conditioning (see ``F32_TOL``).
- the one-lane build (the CUDA kernels' L = 1) and the real kernel path (``cpu.evaluate``)
  give the L = 8 build's bits.
"""
import os
import sys

import numba

import numpy as np
import pytest

from swarm import bbob
from swarm.kernels import bbob_multi, ids, instances, linalg
from swarm.kernels import fma as _fma

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import naive_bbob as nb  # noqa: E402  (not `from tests import`: a site-packages `tests`
#                                          package, shipped by some wheels, shadows ours)

FUNCTIONS = list(range(13, 25))
DIMS = bbob.DIMENSIONS
INSTANCES = (1, 2, 3)
L = 8

# the kernels' jit flavours (kernels/cpu.py): inlined helpers, real calls for block functions
_hot = numba.njit(inline="always", error_model="numpy")
_cold = numba.njit(error_model="numpy", _nrt=False)

_BUILT = {}


def build(F, lanes=L):
    """``{n: fn}`` of bbob_multi for dtype F and ``lanes`` lanes (compiled on first call)."""
    key = (np.dtype(F).name, lanes)
    if key not in _BUILT:
        fma = _fma.cpu(_hot)
        la = linalg.make(_hot, F, lanes, _cold, fma)
        _BUILT[key] = bbob_multi.make(_hot, F, lanes, _cold, fma, la,
                                      ids.lane_count(_hot, lanes))
    return _BUILT[key]


def run(fn, row, X, F=np.float64, lanes=L):
    """f and ∇f at the rows of X (m, d), lane blocks of ``lanes`` (the last block padded with
    zeros); scratch filled with NaN so that a read before a write shows."""
    m, d = X.shape
    fv = np.empty(m)
    G = np.empty((m, d))
    p = row.astype(F)
    for s in range(0, m, lanes):
        blk = X[s:s + lanes]
        n = len(blk)
        x = np.zeros((d, lanes), F)
        x[:, :n] = blk.T
        g, z, gz, u, v = (np.full((d, lanes), np.nan, F) for _ in range(5))
        f = np.full(lanes, np.nan, F)
        t = np.full((4, lanes), np.nan, F)
        fn(p, x, g, z, gz, u, v, f, t, d)
        fv[s:s + n] = f[:n]
        G[s:s + n] = g[:, :n].T
    return fv, G


def points(rng, d, inside=16, outside=8):
    return np.vstack([rng.uniform(-5, 5, (inside, d)), rng.uniform(-6, 6, (outside, d))])


def cases():
    for d in DIMS:
        for i in INSTANCES:
            yield d, i


def value_error(fv, rv, fopt):
    """|f − f_ref| relative to the function's scale max(|f_ref|, |f_ref − f_opt|)."""
    return np.abs(fv - rv) / np.maximum(np.abs(rv), np.abs(rv - fopt))


def katsuura_smooth(data, X, ulps=8):
    """Points of X whose terms 2ʲzᵢ (j = 1..32, z = M(x − x*)) all lie more than ``ulps``
    ulps of 2ʲzᵢ from a multiple of ½ (f23's kinks: there the kernel's round-to-even and
    COCO's floor(w + ½) may pick different sides)."""
    z = (X - data["xopt"]) @ data["M"].T
    w = z[:, :, None] * 2.0 ** np.arange(1, 33)
    dist = np.abs(2 * w - np.round(2 * w)) / 2
    return np.all(dist > ulps * np.spacing(np.abs(w)), axis=(1, 2))


VALUE_TOL = {16: 3e-12}
GRAD_TOL = {16: 1e-7}


def grad_error(G, rg):
    """Per point: max |∇f − ∇f_ref| / max |∇f_ref| (0 where both vanish: f23's sums of signs
    can cancel)."""
    return np.abs(G - rg).max(1) / np.maximum(np.abs(rg).max(1), 1e-300)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_value_and_gradient_match_naive(function):
    fns = build(np.float64)
    rng = np.random.default_rng(1000 + function)
    worst_v = worst_g = 0.0
    compared = 0
    for d, inst in cases():
        data = bbob.instance_data(function, d, inst)
        row = instances.bbob_row(function, d, inst)
        X = points(rng, d)
        fv, G = run(fns[function], row, X)
        rv, rg = nb.value(data, X), nb.gradient(data, X)
        ev = value_error(fv, rv, data["fopt"])
        assert np.all(ev <= VALUE_TOL.get(function, 1e-12)), \
            f"f{function} d{d} i{inst}: {ev.max():.3g}"
        worst_v = max(worst_v, ev.max())
        keep = katsuura_smooth(data, X) if function == 23 else np.ones(len(X), bool)
        eg = grad_error(G, rg)
        tol = GRAD_TOL.get(function, 1e-11)
        assert np.all(eg[keep] <= tol), f"f{function} d{d} i{inst}: {eg[keep].max():.3g}"
        worst_g = max(worst_g, eg[keep].max())
        compared += keep.sum()
    assert compared >= 0.9 * len(DIMS) * len(INSTANCES) * 24
    print(f"f{function}: value {worst_v:.2g}, gradient {worst_g:.2g}")


@pytest.mark.parametrize("function", FUNCTIONS)
def test_f_at_xopt_is_fopt(function):
    fns = build(np.float64)
    for d in DIMS:
        for inst in (1, 2, 3, 7, 15):
            data = bbob.instance_data(function, d, inst)
            row = instances.bbob_row(function, d, inst)
            fv, G = run(fns[function], row, data["xopt"][None, :])
            if function == 20:      # COCO's x* is Schwefel's rounded 420.96874633
                assert abs(fv[0] - data["fopt"]) <= 1e-12 * max(1.0, abs(data["fopt"]))
                assert abs(fv[0] - nb.value(data, data["xopt"])) <= 1e-13 * abs(data["fopt"])
            else:
                assert fv[0] == data["fopt"], f"f{function} d{d} i{inst}: {fv[0]!r}"
            if function in (21, 22):    # R x* is the peak's centre up to rounding
                assert np.abs(G[0]).max() <= 1e-20, f"f{function} d{d} i{inst}"
            elif function not in (19, 20):
                np.testing.assert_array_equal(G[0], 0.0, err_msg=f"f{function} d{d} i{inst}")


def test_penalty_is_in_value_and_gradient():
    """Outside [−5, 5]^d the kernel adds coef·Σ max(0, |xᵢ| − 5)² and its gradient: the kernel
    minus the reference with the penalty switched off is exactly that (f21, f22, f24 carry it
    inside the raw value, f16, f17, f18, f23 outside f_opt)."""
    fns = build(np.float64)
    rng = np.random.default_rng(3)
    for function in (16, 17, 18, 21, 22, 23, 24):
        for d in (2, 5, 20):
            data = bbob.instance_data(function, d, 1)
            row = instances.bbob_row(function, d, 1)
            X = rng.uniform(-4, 4, (4, d))
            X[:, 0] = (7.0, -9.0, 5.5, 4.0)         # the last point inside: no penalty
            fv, G = run(fns[function], row, X)
            bare = dict(data, penalty=0.0)
            coef = data["penalty"]
            pen = np.maximum(np.abs(X[:, 0]) - 5, 0)
            np.testing.assert_allclose(fv - nb.value(bare, X), coef * pen ** 2,
                                       rtol=1e-9, atol=1e-12 * np.abs(fv).max())
            dg = G - nb.gradient(bare, X)
            scale = np.abs(G).max()
            np.testing.assert_allclose(dg[:, 0], coef * 2 * pen * np.sign(X[:, 0]), rtol=1e-9,
                                       atol=(1e-7 if function == 16 else 1e-11) * scale)
            np.testing.assert_allclose(dg[:, 1:], 0.0,
                                       atol=(1e-7 if function == 16 else 1e-11) * scale)
            assert pen[:3].min() > 0 and pen[3] == 0


@pytest.mark.parametrize("function", FUNCTIONS)
def test_one_lane_build_gives_the_same_bits(function):
    """The CUDA kernels build this code with L = 1: the same bits as the L = 8 block (no lane
    count enters the maths)."""
    rng = np.random.default_rng(7)
    for d in (3, 20):
        row = instances.bbob_row(function, d, 2)
        X = points(rng, d, 6, 2)
        f8, g8 = run(build(np.float64)[function], row, X)
        f1, g1 = run(build(np.float64, 1)[function], row, X, lanes=1)
        np.testing.assert_array_equal(f1, f8)
        np.testing.assert_array_equal(g1, g8)


# float32 against the float64 reference (rows and points rounded to float32): (value tolerance
# relative to the function's scale, gradient tolerance relative to max |∇f_ref|), measured
# worst in brackets. f16 (angles 2π·3¹¹(zᵢ + ½)), f19 (cos tᵢ, tᵢ up to 10⁶) and f23 (2³²zᵢ)
# are ill-conditioned: in float32 their high-frequency terms are noise (values 6.4e-4, 1.6e-3,
# 1.9e-4; their gradients are not comparable, only checked finite). f15, f17, f18, f24's
# gradients pass T_osz/T_asy slopes and sin 50sᵢ^0.1 (2.1e-3 at worst, 1e-5 median).
F32_TOL = {13: (1e-5, 1e-5),            # (4.1e-7, 4.3e-7)
           14: (1e-5, 1e-5),            # (5.6e-7, 1.3e-6)
           15: (1e-5, 5e-3),            # (1.4e-6, 1.2e-3)
           16: (2e-3, None),            # (6.4e-4, -)
           17: (1e-4, 5e-3),            # (1.5e-5, 2.1e-3)
           18: (2e-4, 5e-3),            # (5.9e-5, 1.1e-3)
           19: (1e-2, None),            # (1.6e-3, -)
           20: (1e-5, 1e-4),            # (1.4e-6, 2.3e-5)
           21: (1e-5, 1e-4),            # (1.7e-6, 2.4e-5)
           22: (1e-5, 1e-4),            # (7.2e-7, 1.6e-5)
           23: (1e-3, None),            # (1.9e-4, -)
           24: (1e-4, 1e-3)}            # (2.5e-5, 2.2e-4)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_float32(function):
    fns = build(np.float32)
    rng = np.random.default_rng(2000 + function)
    vtol, gtol = F32_TOL[function]
    for d, inst in cases():
        data = bbob.instance_data(function, d, inst)
        row = instances.bbob_row(function, d, inst)
        X = points(rng, d).astype(np.float32).astype(np.float64)
        fv, G = run(fns[function], row, X, np.float32)
        assert np.all(np.isfinite(fv)) and np.all(np.isfinite(G))
        ev = value_error(fv, nb.value(data, X), data["fopt"])
        assert np.all(ev <= vtol), f"f{function} d{d} i{inst}: {ev.max():.3g}"
        if gtol is not None:
            rg = nb.gradient(data, X)
            eg = grad_error(G, rg)
            assert np.all(eg <= gtol), f"f{function} d{d} i{inst}: {eg.max():.3g}"
        fx, _ = run(fns[function], row, data["xopt"][None, :].astype(np.float32), np.float32)
        assert abs(fx[0] - data["fopt"]) <= 1e-5 * max(1.0, abs(data["fopt"]))


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_kernel_path_gives_the_standalone_bits(function):
    """Through the real kernels (``cpu.evaluate``: the BBOB kernel set's dispatch and adapter,
    its lane blocks and scratch) the same bits as the standalone build."""
    from swarm.kernels import cpu
    rng = np.random.default_rng(11)
    for d in (2, 5, 20):
        row = instances.bbob_row(function, d, 1)
        X = points(rng, d, 12, 4)
        f = np.empty(len(X))
        g = np.empty_like(X)
        cpu.evaluate(ids.BBOB_F1 + function - 1, row, X, f, g)
        fs, gs = run(build(np.float64)[function], row, X)
        np.testing.assert_array_equal(f, fs, err_msg=f"f{function} d{d}")
        np.testing.assert_array_equal(g, gs, err_msg=f"f{function} d{d}")


_POLISH = {}


def polisher(F, lanes, skip):
    """``gallagher(...).polish`` (the label rule's polish) for dtype F, ``lanes`` lanes, with
    the skip test (``skip``) or scanning every lane in every step (the plain rule)."""
    key = (np.dtype(F).name, lanes, skip)
    if key not in _POLISH:
        _POLISH[key] = bbob_multi.gallagher(_hot, F, lanes, _cold, _fma.cpu(_hot),
                                            ids.lane_count(_hot, lanes), skip=skip).polish
    return _POLISH[key]


def polish(pol, row, Y, F, lanes):
    """The polished points, final active peaks and lane scans of ``pol`` from the columns of
    Y (d, m) (m a multiple of ``lanes``); scratch and state filled with NaN (garbage peaks)."""
    d, m = Y.shape
    K = np.empty(m, np.int64)
    out = np.empty((d, m), F)
    scans = 0
    p = row.astype(F)
    for s in range(0, m, lanes):
        y = Y[:, s:s + lanes].astype(F)
        gy, cc, lam, y0, aux = (np.full((d, lanes), np.nan, F) for _ in range(5))
        v = np.full(lanes, np.nan, F)
        t = np.full((4, lanes), np.nan, F)
        kb = np.full(lanes, 10 ** 6, np.int64)
        idx = np.full(lanes, -1, np.int64)
        scans += pol(p, y, gy, cc, lam, y0, aux, v, t, kb, idx, d)
        K[s:s + lanes] = kb
        out[:, s:s + lanes] = y
    return K, out, scans


# 18 s and 13 s under load 6 on the 2-core VM, nearly all of it compiling the polish builds
@pytest.mark.parametrize("F", [np.float64, pytest.param(np.float32, marks=pytest.mark.slow)])
def test_gallagher_polish_skips_scans_and_keeps_every_bit(F):
    """The label rule's polish with its scans skipped where the bound allows (kernels/
    bbob_multi.py's ``gallagher``): the same polished points and active peaks, bit for bit, as
    scanning every peak in every step, in blocks of 8 lanes and (float64) of one (the CUDA
    build), at a fraction of the scans; and (5-D) the same peaks as ``naive_bbob.gallagher_label``."""
    rng = np.random.default_rng(21)
    steps, h = 150, 0.08
    for function, d, inst in ((21, 5, 2), (22, 20, 1), (21, 20, 3)):
        row = instances.bbob_row(function, d, inst).copy()
        row[ids.LP_POLISH_STEPS] = steps
        row[ids.LP_POLISH_H] = h
        Y = rng.uniform(-5.0, 5.0, (d, 16))
        K, P, full = polish(polisher(F, L, False), row, Y, F, L)
        assert full == len(K) * (steps + 1)                 # every lane, every step and the end
        for lanes in (L, 1) if F is np.float64 else (L,):      # the CUDA build: float64
            k, pts, scans = polish(polisher(F, lanes, True), row, Y, F, lanes)
            np.testing.assert_array_equal(k, K, err_msg=f"f{function} d{d} lanes {lanes}")
            np.testing.assert_array_equal(pts, P, err_msg=f"f{function} d{d} lanes {lanes}")
            assert scans < 0.5 * full, (function, d, lanes, scans, full)
        if F is np.float64 and d == 5:                      # the plain loops are slow
            data = bbob.instance_data(function, d, inst)
            x = (data["R"].T @ Y).T                          # y = R x, R orthogonal
            np.testing.assert_array_equal(K, nb.gallagher_label(data, x, steps, h))
