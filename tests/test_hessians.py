"""The kernels' diagonal Hessians (``kernels/hessians.py``, issue 23) against the NumPy
references of ``tests/naive.py`` (full Hessians, rotated as diag(Rᵀ ∇²h R)) and against central
finite differences of the naive gradient; every family of the registry, rotated and not, in
dims 1, 2, 5 and 10 where the family has them. Also: float32 builds compile and agree, an
unknown id gives NaN, only the documented scratch is written, and (without a GPU) every family
compiles to PTX without local memory.

The kernels are compiled here with the same decorators as ``kernels/cpu.py`` (inlined scalar
helpers, block-level calls without NRT), into a small host loop over blocks of lanes.
"""
import os
import sys
from unittest import mock

import numpy as np
import pytest
from numba import cuda, from_dtype, njit

from swarm import landscapes
from swarm.kernels import families, hessians, ids, linalg
from swarm.kernels import fma as kfma

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import naive  # noqa: E402

SEED = 20261207
LANES = 32           # lanes per block (the host loop pads the last block)
N = 64               # points per case
# tolerances, relative to 1 + max|diag| at the point: kernel vs the naive reference (kmath's
# polynomials against NumPy's libm, and different summation orders), and vs central differences
# of the naive gradient with step 1e-5 (truncation ~ε²·|f''''|, rounding ~1e-16·|∇f|/ε)
RTOL_NAIVE = 1e-11
RTOL_FD = 1e-6
EPS_FD = 1e-5
RTOL_F32 = 2e-4      # float32 build against float64 (measured 3.1e-5, Griewank 5-D rotated)


def build_cpu(F, L=LANES):
    """``evaluate(fid, p, X, out)``: diag ∇²f at the rows of X (n, dim) into out, by the kernels'
    ``hess_diag`` in blocks of L lanes. ``t`` has 6 rows (rows 4 and 5 filled with 7.0) so that
    a test sees whether rows beyond the documented 0 … 3 are written."""
    hot = njit(inline="always", error_model="numpy")
    cold = njit(error_model="numpy", _nrt=False)
    fma = kfma.cpu(hot)
    fam = families.make(hot, F, L, cold, fma, linalg.make(hot, F, L, cold, fma))
    hess_diag = hessians.make(hot, F, L, cold, fma, fam)

    @njit(error_model="numpy")
    def evaluate(fid, p, X, out, trows):
        n, dim = X.shape
        for b in range((n + L - 1) // L):
            w = np.zeros((5, dim, L), X.dtype)
            t = np.full((6, L), 7.0, X.dtype)
            m = min(L, n - b * L)
            for k in range(m):
                for j in range(dim):
                    w[0, j, k] = X[b * L + k, j]
            hess_diag(fid, p, w[0], w[1], w[2], w[3], w[4], t, dim)
            for k in range(m):
                for j in range(dim):
                    out[b * L + k, j] = w[1, j, k]
                    if w[0, j, k] != X[b * L + k, j]:
                        out[b * L + k, j] = np.inf          # x was written
            for r in range(6):
                for k in range(L):
                    trows[b, r, k] = t[r, k]

    def run(fid, p, X):
        X = np.ascontiguousarray(X, dtype=F)
        out = np.empty_like(X)
        trows = np.empty(((len(X) + L - 1) // L, 6, L), F)
        evaluate(fid, np.asarray(p, dtype=F), X, out, trows)
        return out, trows

    return run


_BUILT = {}


def hess(F=np.float64):
    if F not in _BUILT:
        _BUILT[F] = build_cpu(F)
    return _BUILT[F]


# the variants of every registry family: (id suffix, factory keywords)
_DIMS_ROT = [(f"{d}{'-rot' if rot else ''}", {"dim": d, "rotate": rot})
             for d in (1, 2, 5, 10) for rot in (False, True)]
VARIANTS = {
    "rastrigin": _DIMS_ROT, "ackley": _DIMS_ROT, "griewank": _DIMS_ROT, "levy": _DIMS_ROT,
    "styblinski_tang": _DIMS_ROT,
    "himmelblau": [("2", {"rotate": False}), ("2-rot", {"rotate": True})],
    "double_well": [(f"{d}", {"dim": d, "tilt": 0.1}) for d in (1, 2, 5, 10)],
    "gaussian_peaks": [(f"{d}", {"dim": d, "peaks": 21}) for d in (1, 2, 5, 10)]
    + [("5-norot", {"dim": 5, "peaks": 7, "rotate": False})],
}
# the native families (COCO's BBOB rows have no diagonal Hessian: their slot is None)
NATIVE = {n: r for n, r in landscapes.REGISTRY.items() if r.fid not in ids.BBOB_FAMILIES}
CASES = [(f"{name}-{suffix}", name, kw) for name in NATIVE for suffix, kw in VARIANTS[name]]


def test_every_registry_family_has_variants_and_a_reference():
    assert set(VARIANTS) == set(NATIVE)
    assert not any(r.hessian_diag for n, r in landscapes.REGISTRY.items() if n not in NATIVE)
    assert set(hessians.SEPARABLE) <= set(ids.SHIFTED_FAMILIES)
    for name, row in NATIVE.items():
        assert row.hessian_diag == f"{row.naive}_hessian_diag", name
        assert callable(getattr(naive, row.hessian_diag)), name


def _instance_and_points(name, kw, k=3):
    fam = landscapes.REGISTRY[name].factory(**kw)
    inst = fam.instance(SEED, k)
    rng = np.random.default_rng([SEED, k, fam.fid, fam.dim])
    X = rng.uniform(inst.domain[0], inst.domain[1], size=(N, fam.dim))
    if name == "gaussian_peaks":
        # half the points near centres, where the active peak's e^{−q/2} is not negligible;
        # drop points within reach of a tie between peaks (f is not twice differentiable there)
        centres = naive.unpack_peaks(inst.params, fam.dim)[0]
        X[: N // 2] = centres[rng.integers(0, len(centres), N // 2)] \
            + 0.2 * rng.standard_normal((N // 2, fam.dim))
        lv = naive.gaussian_peaks(*naive.unpack_peaks(inst.params, fam.dim))[2](X)
        top = np.sort(lv, axis=1)
        X = X[top[:, -1] - top[:, -2] > 1e-3]
    return inst, X


def _scale(H):
    return 1.0 + np.max(np.abs(H), axis=1, keepdims=True)


def _fd_diag(grad, X):
    d = X.shape[1]
    out = np.empty_like(X)
    for i in range(d):
        e = np.zeros(d)
        e[i] = EPS_FD
        out[:, i] = (grad(X + e)[:, i] - grad(X - e)[:, i]) / (2.0 * EPS_FD)
    return out


@pytest.mark.parametrize("name,kw", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_against_naive_and_finite_differences(name, kw):
    inst, X = _instance_and_points(name, kw)
    assert len(X) >= N // 2
    H, trows = hess()(inst.fid, inst.params, X)
    ref = naive.hessian_diag_for_instance(inst)(X)
    fd = _fd_diag(naive.for_instance(inst)[1], X)
    sc = _scale(ref)
    assert np.all(np.isfinite(H))                          # and x was not written (inf)
    err_naive = np.max(np.abs(H - ref) / sc)
    err_fd = np.max(np.abs(H - fd) / sc)
    assert err_naive <= RTOL_NAIVE, err_naive
    assert err_fd <= RTOL_FD, err_fd
    assert np.all(trows[:, 4:] == 7.0), "t rows beyond 0 … 3 were written"
    # the naive reference itself against the differences (checks the references too)
    assert np.max(np.abs(ref - fd) / sc) <= RTOL_FD


def test_rotated_shifted_diagonal_is_the_rotated_full_hessian():
    """diag(Rᵀ H R) really mixes the coordinates: on a rotated instance it differs from the
    unrotated formula applied at z (so the rotation is not silently ignored)."""
    inst, X = _instance_and_points("griewank", {"dim": 5, "rotate": True})
    H = hess()(inst.fid, inst.params, X)[0]
    s, R = naive.unpack_shifted(inst.params, 5)
    plain = naive.griewank_hessian_diag((X - s) @ R.T)
    assert np.max(np.abs(H - plain)) > 1e-3


@pytest.mark.parametrize("name,kw", [("rastrigin", {"dim": 3, "rotate": True}),
                                     ("ackley", {"dim": 5, "rotate": True}),
                                     ("griewank", {"dim": 5, "rotate": True}),
                                     ("levy", {"dim": 4, "rotate": False}),
                                     ("styblinski_tang", {"dim": 2, "rotate": True}),
                                     ("himmelblau", {"rotate": True}),
                                     ("double_well", {"dim": 3, "tilt": -0.1}),
                                     ("gaussian_peaks", {"dim": 5, "peaks": 21})],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_float32_build_compiles_and_agrees(name, kw):
    inst, X = _instance_and_points(name, kw)
    H64 = hess()(inst.fid, inst.params, X)[0]
    H32, trows = hess(np.float32)(inst.fid, inst.params, X.astype(np.float32))
    assert H32.dtype == np.float32
    assert np.all(np.isfinite(H32))
    assert np.max(np.abs(H32 - H64) / _scale(H64)) <= RTOL_F32
    assert np.all(trows[:, 4:] == 7.0)


def test_ackley_at_its_centre_drops_the_cone():
    """At z = 0 Ackley's radial part −20e^{−0.2r} has a kink (a cone for d ≥ 2, whose Hessian
    grows like 1/r; |z| in 1-D): there the kernel returns the cosine part's Hessian, 4π²e/d on
    the diagonal (as ∇ := 0 there); next to it, the full formula."""
    for d in (1, 3):
        fam = landscapes.ackley(dim=d)
        inst = fam.instance(SEED, 0)
        H = hess()(inst.fid, inst.params, inst.x_star[None])[0]
        np.testing.assert_allclose(H[0], 4 * np.pi ** 2 * np.e / d, rtol=1e-13)
        x = inst.x_star[None] + 1e-6
        near = hess()(inst.fid, inst.params, x)[0]
        ref = naive.hessian_diag_for_instance(inst)(x)
        np.testing.assert_allclose(near, ref, rtol=1e-9)
        if d > 1:
            assert np.all(near > 1e5)            # the cone's 4e^{−0.2r}/(d r) ≈ 1e6·4/√3


def test_gaussian_peaks_at_a_centre_is_the_peak_curvature():
    """At the active peak's centre, diag ∇²f = wₖ diag(Rᵀ Λₖ R) (a = 0)."""
    fam = landscapes.gaussian_peaks(dim=4, peaks=5)
    inst = fam.instance(SEED, 1)
    centres, logw, lam, R = naive.unpack_peaks(inst.params, 4)
    H = hess()(inst.fid, inst.params, centres[:1])[0]
    np.testing.assert_allclose(H[0], np.exp(logw[0]) * np.einsum("ji,j,ji->i", R, lam[0], R),
                               rtol=1e-12)


def test_unknown_id_writes_nan():
    inst, X = _instance_and_points("rastrigin", {"dim": 2})
    for fid in (max(ids.LANDSCAPE_FAMILIES) + 1, -1):
        H = hess()(fid, inst.params, X)[0]
        assert np.all(np.isnan(H))


def test_a_family_without_a_hessian_fails_at_make():
    """The chain is written from a table whose completeness is checked when make builds it: a
    new family id without an entry fails, naming the id (never runs another family)."""
    hot = njit(inline="always")
    cold = njit(_nrt=False)
    fma = kfma.cpu(hot)
    fam = families.make(hot, np.float64, 4, cold, fma,
                        linalg.make(hot, np.float64, 4, cold, fma))
    extra = max(ids.LANDSCAPE_FAMILIES) + 1
    with mock.patch.object(ids, "LANDSCAPE_FAMILIES", tuple(ids.LANDSCAPE_FAMILIES) + (extra,)):
        with pytest.raises(ImportError, match=rf"ids \[{extra}\] have no entry"):
            hessians.make(hot, np.float64, 4, cold, fma, fam)


# ---- the same code for the GPU (no GPU needed: PTX through numba-cuda's NVVM)

def _cuda_kernel(F, fid, dim):
    """The CUDA kernel ``run(p, X, out)``: one thread per row of X (``cuda`` is a module global
    here: the simulator swaps it in the kernel's globals)."""
    jit = cuda.jit(device=True)
    fma = kfma.cuda_device()
    fam = families.make(jit, F, 1, jit, fma, linalg.make(jit, F, 1, jit, fma))
    hess_diag = hessians.make(jit, F, 1, jit, fma, fam)
    nt = from_dtype(np.dtype(F))

    @cuda.jit
    def run(p, X, out):
        r = cuda.grid(1)
        if r >= X.shape[0]:
            return
        w = cuda.local.array((5, dim, 1), nt)
        t = cuda.local.array((4, 1), nt)
        for j in range(dim):
            w[0, j, 0] = X[r, j]
        hess_diag(fid, p, w[0], w[1], w[2], w[3], w[4], t, dim)
        for j in range(dim):
            out[r, j] = w[1, j, 0]
    return run


@pytest.mark.skipif(os.environ.get("NUMBA_ENABLE_CUDASIM") == "1",
                    reason="PTX compilation needs the real CUDA target, not the simulator")
@pytest.mark.parametrize("F", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("fid", sorted(ids.NATIVE_FAMILIES), ids=lambda f: f"fid{f}")
def test_hess_diag_compiles_to_ptx_without_local_memory(fid, F):
    """Built as the CUDA kernels build the landscape code (L = 1, family id and dim constant),
    every native family's hess_diag compiles (BBOB ids have none), and at 2-D its per-thread
    arrays stay in registers."""
    import numba

    class _Device:
        compute_capability = (9, 0)

    run = _cuda_kernel(F, fid, 2)
    sig = (numba.typeof(np.zeros(64, F)), numba.typeof(np.zeros((2, 2), F)),
           numba.typeof(np.zeros((2, 2), F)))
    with mock.patch("numba.cuda.dispatcher.get_current_device", return_value=_Device()):
        ptx, _ = cuda.compile_ptx(run.py_func, sig, cc=(9, 0))
    assert ".entry" in ptx
    assert ".local" not in ptx
