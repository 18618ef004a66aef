"""Gradient-noise models (issue 23): the spec (swarm.noise), the kernels' noise path
(``trajectory.add_noise``, called by every block's step loop) against scipy.stats, the engine
wiring (paths, studies, reproducibility, manifests, TOML) and the exit law of α-stable noise.

The samplers themselves are checked in tests/test_noise_samplers.py; here the samples come
through the engine's own noise path: ``add_noise`` as the block calls it (lanes block, hp row,
key (seed, instance, start, step, coordinate)), and :func:`swarm.path` shows that a study's
update adds exactly those samples."""
import math
import os
import sys

import numba
import numpy as np
import pytest
from scipy import stats

import swarm
from swarm import analysis
from swarm import landscapes as L
from swarm import noise as N
from swarm import optimizers as O
from swarm import result as R
from swarm.kernels import ids, philox, trajectory
from swarm.optimizers import hyper_row
from swarm.spec import loads_spec

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_noise_samplers import KS_1PCT, ks_on_quantiles, quantiles_agree  # noqa: E402

SEED = 12345
K0, K1 = philox.split_seed(SEED)
LANES = 512

# ------------------------------------------------------------------------------ the spec


def test_constructors_parse_and_round_trip():
    cases = [N.gaussian(0.5), N.gaussian([0.1, 0.2, 0.0]), N.student_t(0.5, 3),
             N.alpha_stable(0.1, 1.5), N.alpha_stable(1, 2), N.curvature(0.2)]
    for n in cases:
        assert N.parse(str(n)) == n
        assert N.from_dict(n.to_dict()) == n
        assert N.parse(n.to_dict()) == n and N.parse(n) is n
    assert str(N.student_t(0.5, 3)) == "student_t(sigma=0.5, nu=3.0)"
    assert N.student_t(0.5, 3).to_dict() == {"kind": "student_t", "sigma": 0.5, "nu": 3.0}
    assert N.parse("alpha_stable(0.1, 1.5)") == N.alpha_stable(0.1, 1.5)
    assert N.parse(0.3) == N.gaussian(0.3) and N.parse(np.float32(0.5)) == N.gaussian(0.5)
    assert N.gaussian([0.4]) == N.gaussian(0.4)          # one value: one σ
    assert N.gaussian(np.array([0.1, 0.2])).sigma == (0.1, 0.2)


def test_canonical_keeps_todays_record_for_plain_gaussian():
    assert N.canonical(0.3) == 0.3 and isinstance(N.canonical(0.3), float)
    assert N.canonical(N.gaussian(0.3)) == 0.3 and N.canonical("gaussian(sigma=0.3)") == 0.3
    assert N.canonical(2) == 2.0 and isinstance(N.canonical(2), float)
    assert N.canonical(N.gaussian([0.3, 0.3])) == N.gaussian([0.3, 0.3])
    assert N.record(0.3) == 0.3 and N.record(N.student_t(1, 2)) == N.student_t(1, 2).to_dict()
    assert N.text(0.3) == "0.3" and N.text({"kind": "curvature", "sigma": 1}) == \
        "curvature(sigma=1.0)"


@pytest.mark.parametrize("bad,match", [
    (lambda: N.student_t(0.5, 0), r"^noise nu .*\(0\.0, inf\)"),
    (lambda: N.student_t(0.5, -1), r"^noise nu"),
    (lambda: N.alpha_stable(0.5, 2.5), r"^noise alpha .*\(0\.0, 2\.0\]"),
    (lambda: N.alpha_stable(0.5, 0), r"^noise alpha"),
    (lambda: N.gaussian(-0.1), r"^noise sigma must be in \[0\.0, inf\)"),
    (lambda: N.gaussian([0.1, math.nan]), r"^noise sigma must be finite"),
    (lambda: N.gaussian([]), r"^noise sigma must be a real number ≥ 0 or a non-empty list"),
    (lambda: N.gaussian(True), r"^noise sigma must be a real number"),
    (lambda: N.Noise("gaussian", 0.1, nu=3), r"^noise 'gaussian' takes no nu"),
    (lambda: N.Noise("student_t", 0.1), r"^noise 'student_t' needs nu"),
    (lambda: N.parse("levy(0.1)"), r"^noise kind must be one of \['gaussian', 'student_t'"),
    (lambda: N.parse("student_t(0.1)"), r"^noise 'student_t' takes the parameters sigma, nu"),
    (lambda: N.parse("student_t(sigma=0.1, nu=x)"), r"^noise parameters must be numbers"),
    (lambda: N.parse("0.5"), r"^noise models are written kind\(parameters\)"),
    (lambda: N.parse({"sigma": 1}), r"^noise as a dict needs a 'kind'"),
    (lambda: N.parse({"kind": "curvature", "sigma": 1, "alpha": 2}),
     r"^noise 'curvature' takes the parameters sigma; unknown: alpha"),
    (lambda: N.parse(None), r"^noise must be a number"),
    (lambda: N.parse("x" * 3000), r"^noise text must be at most"),
])
def test_bad_input_names_the_field_and_the_allowed_values(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


def test_columns_of_the_hyperparameter_row():
    plain = hyper_row("sgd", {"lr": 0.1}, 0.3)
    assert plain.shape == (ids.HP_SIZE,) and plain[ids.HP_SIGMA] == 0.3
    assert plain[ids.HP_NOISE_KIND] == ids.NOISE_GAUSSIAN and plain[ids.HP_NOISE_VEC] == 0
    t = hyper_row("sgd", {"lr": 0.1}, N.student_t(0.3, 4.0))
    assert t[ids.HP_NOISE_KIND] == ids.NOISE_STUDENT_T and t[ids.HP_NOISE_PARAM] == 4.0
    a = hyper_row("sgd", {"lr": 0.1}, N.alpha_stable(0.3, 1.5))
    assert a[ids.HP_NOISE_KIND] == ids.NOISE_STABLE and a[ids.HP_NOISE_PARAM] == 1.5
    v = hyper_row("sgd", {"lr": 0.1}, N.gaussian([0.1, 0.2, 0.3]), 3)
    assert v.shape == (ids.HP_SIZE + 3,) and v[ids.HP_NOISE_VEC] == 1
    assert v[ids.HP_SIZE:].tolist() == [0.1, 0.2, 0.3] and v[ids.HP_SIGMA] != 0
    assert hyper_row("sgd", {"lr": 0.1}, N.gaussian([0.0, 0.0]), 2)[ids.HP_SIGMA] == 0
    with pytest.raises(ValueError, match="noise sigma has 3 values.*dim = 2"):
        hyper_row("sgd", {"lr": 0.1}, N.gaussian([0.1, 0.2, 0.3]), 2)
    # the plain row is today's row: the noise columns beyond it are zero
    assert np.all(plain[ids.HP_MILESTONES + ids.MAX_MILESTONES:] == 0)


# ------------------------------------------------------------------------------ the noise path

def _driver(F):
    add_noise = trajectory.make(numba.njit(inline="always"), F, LANES, numba.njit)[3]

    @numba.njit
    def draw(nkind, hp, k0, k1, step, inst, n, dim, h, out):
        """``out[s, j]``: what ``add_noise`` adds to a zero gradient of start s, coordinate j
        (h: diag H per coordinate, for curvature noise)."""
        g = np.zeros((dim, LANES), dtype=out.dtype)
        u = np.empty((2, LANES), dtype=out.dtype)
        hb = np.empty((dim, LANES), dtype=out.dtype)
        for j in range(dim):
            hb[j, :] = h[j]
        for b in range(0, n, LANES):
            g[:] = 0
            add_noise(nkind, hp, k0, k1, step, b, inst, g, u[0], u[1], hb, dim)
            for k in range(min(LANES, n - b)):
                for j in range(dim):
                    out[b + k, j] = g[j, k]
    return draw


_DRIVERS = {}


def drawn(noise, n, dim=1, F=np.float64, step=1, inst=0, h=None):
    """n × dim samples through the kernels' noise path for noise model ``noise``."""
    if F not in _DRIVERS:
        _DRIVERS[F] = _driver(F)
    hp = hyper_row("sgd", {"lr": 0.1}, noise, dim).astype(F)
    out = np.empty((n, dim), F)
    h = np.ones(dim) if h is None else np.asarray(h, dtype=np.float64)
    _DRIVERS[F](int(hp[ids.HP_NOISE_KIND]), hp, K0, K1, step, inst, n, dim, h.astype(F), out)
    return out.astype(np.float64)


def test_the_noise_path_adds_sigma_times_the_keyed_samples():
    """add_noise adds σ·sampler(key) with the samplers' own keys: Student-t and α-stable on
    counter (coordinate j, step, start, instance), normals on (coordinate pair, …)."""
    from swarm.kernels import noise as kn
    stable, student_t = kn.make(numba.njit, np.float64)[:2]
    normal2 = philox.make(numba.njit, np.float64)[1]
    x = drawn(N.student_t(0.5, 3.0), 20, dim=3, step=4, inst=2)
    y = drawn(N.alpha_stable(0.5, 1.3), 20, dim=3, step=4, inst=2)
    z = drawn(N.gaussian([0.5, 2.0, 3.0]), 20, dim=3, step=4, inst=2)
    for s in range(20):
        for j in range(3):
            assert x[s, j] == 0.5 * student_t(K0, K1, j, 4, s, 2, 3.0)
            assert y[s, j] == 0.5 * stable(K0, K1, j, 4, s, 2, 1.3)
        a, b = normal2(K0, K1, 0, 4, s, 2)
        c = normal2(K0, K1, 1, 4, s, 2)[0]
        assert z[s].tolist() == [0.5 * a, 2.0 * b, 3.0 * c]


@pytest.mark.slow
@pytest.mark.parametrize("nu", [1.5, 4.0])
def test_student_t_through_the_noise_path_matches_scipy(nu):
    sigma = 0.5
    x = drawn(N.student_t(sigma, nu), 1_000_000)[:, 0] / sigma
    dist = stats.t(nu)
    assert np.all(np.isfinite(x))
    assert ks_on_quantiles(x, dist) < KS_1PCT
    assert quantiles_agree(x, dist).all()


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [1.2, 1.7])
def test_alpha_stable_through_the_noise_path_matches_scipy(alpha):
    sigma = 0.25
    x = drawn(N.alpha_stable(sigma, alpha), 1_000_000)[:, 0] / sigma
    dist = stats.levy_stable(alpha, 0.0)
    assert np.all(np.isfinite(x))
    assert ks_on_quantiles(x, dist) < KS_1PCT
    assert quantiles_agree(x, dist).all()


def test_alpha_two_is_gaussian_of_variance_two_sigma_squared():
    sigma = 0.7
    x = drawn(N.alpha_stable(sigma, 2.0), 200_000)[:, 0]
    ref = stats.norm(scale=math.sqrt(2.0) * sigma)
    assert stats.kstest(x, ref.cdf).pvalue > 0.01
    assert abs(np.var(x) / (2 * sigma ** 2) - 1.0) < 5 * math.sqrt(2.0 / x.size)


def test_per_coordinate_gaussian_and_curvature_covariance():
    """Per-coordinate σ_j: coordinate j has variance σ_j²; curvature: σ²·|h_j| (h of any
    sign), independent coordinates — each within 4 standard errors."""
    n = 400_000
    se = 4 * math.sqrt(2.0 / n)
    x = drawn(N.gaussian([0.5, 2.0, 0.0]), n, dim=3)
    assert np.allclose(x.var(axis=0)[:2] / np.array([0.25, 4.0]), 1.0, atol=se)
    assert np.all(x[:, 2] == 0)
    h = np.array([4.0, -0.25, 0.0, 9.0])
    c = drawn(N.curvature(0.3), n, dim=4, h=h)
    cov = np.cov(c.T)
    want = 0.09 * np.abs(h)
    nz = want > 0
    assert np.allclose(np.diag(cov)[nz] / want[nz], 1.0, atol=se)
    assert np.all(c[:, 2] == 0)
    off = cov[np.ix_(nz, nz)] / np.sqrt(np.outer(want[nz], want[nz]))
    assert np.all(np.abs(off[~np.eye(nz.sum(), dtype=bool)]) < 4 / math.sqrt(n))


def test_float32_noise_path_follows_float64_on_the_same_keys():
    """float32 draws 24-bit uniforms where float64 draws 53-bit ones from the same Philox words:
    the samples agree to float32 rounding except far in the tails (where 2⁻²⁴ of a uniform
    moves the sample most)."""
    for model in (N.student_t(1.0, 3.0), N.alpha_stable(1.0, 1.5), N.curvature(0.5)):
        x64 = drawn(model, 100_000)[:, 0]
        x32 = drawn(model, 100_000, F=np.float32)[:, 0]
        assert np.all(np.isfinite(x32))
        d = np.abs(x32 - x64) / np.maximum(1.0, np.abs(x64))
        assert np.median(d) < 1e-6 and np.quantile(d, 0.999) < 1e-3, (model, np.median(d))


# ------------------------------------------------------------------------------ the engine

DW = L.double_well(dim=2)


@pytest.mark.parametrize("noise", [N.student_t(0.3, 3.0), N.alpha_stable(0.2, 1.5),
                                   N.gaussian([0.2, 0.6])], ids=str)
def test_a_study_step_adds_exactly_the_noise_paths_samples(noise):
    """swarm.path, one SGD step from x0 with lr = 1: x1 = x0 − (∇f(x0) + σξ), ξ the noise
    path's sample on the same key (start index, step 1, instance)."""
    inst = DW.instance(SEED, 0)
    x0 = np.array([0.3, -0.4])
    g0 = inst.grad(x0)
    want = drawn(noise, 8, dim=2)
    for s in range(8):
        p = swarm.path(inst, O.sgd(lr=1.0), x0, steps=1, noise=noise, seed=SEED,
                       start_index=s)
        np.testing.assert_allclose(x0 - p[1] - g0, want[s], rtol=1e-12, atol=1e-12)


def _fd_hess_diag(inst, x, eps=1e-5):
    """diag ∇²f by central differences of the gradient (an oracle independent of the kernels'
    closed forms)."""
    out = np.empty(x.size)
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = eps
        out[i] = (inst.grad(x + e)[i] - inst.grad(x - e)[i]) / (2 * eps)
    return out


@pytest.mark.parametrize("fam,offset", [
    (L.double_well(dim=2), [0.3, -0.4]),
    (L.rastrigin(dim=2, rotate=True), [0.12, -0.07]),
    (L.gaussian_peaks(dim=3, peaks=4), [0.15, -0.1, 0.2])], ids=lambda v: getattr(v, "name", ""))
def test_curvature_noise_covariance_at_fixed_points(fam, offset):
    """One SGD step (lr = 1) from a fixed point x0 with curvature(σ): x0 − x1 − ∇f(x0) over
    3000 keys has covariance σ²·|diag H(x0)| (H by finite differences), within 4 standard
    errors, and no correlation between coordinates."""
    inst = fam.instance(SEED, 0)
    x0 = (inst.x_star[0] if fam.name != "double_well" else np.zeros(2)) + np.array(offset)
    g0 = inst.grad(x0)
    h = _fd_hess_diag(inst, x0)
    assert np.all(np.abs(h) > 1e-3)
    sigma, n = 0.01, 3000
    xi = np.array([x0 - swarm.path(inst, O.sgd(lr=1.0), x0, steps=1, noise=N.curvature(sigma),
                                   seed=SEED, start_index=s)[1] - g0 for s in range(n)])
    var = (xi ** 2).mean(axis=0)                  # the mean is 0
    assert np.allclose(var / (sigma ** 2 * np.abs(h)), 1.0, atol=4 * math.sqrt(2.0 / n))
    corr = np.corrcoef(xi.T)
    assert np.all(np.abs(corr[~np.eye(x0.size, dtype=bool)]) < 4 / math.sqrt(n))
    # and exactly σ·√|h|·(the keyed normals): h the kernels' closed form, within its FD error
    z = drawn(N.gaussian(sigma), 8, dim=x0.size)
    np.testing.assert_allclose(xi[:8], z * np.sqrt(np.abs(h)), rtol=1e-6, atol=1e-12)


def study(noise, **kw):
    args = dict(instances=3, starts=40, steps=30, seed=7, keep_outcomes=True)
    args.update(kw)
    return swarm.run(L.rastrigin(dim=2, rotate=True), [O.sgd(lr=0.002), O.adam(lr=0.05)],
                     noise=noise, **args)


def test_plain_gaussian_is_todays_study_in_every_spelling():
    """A number, gaussian(σ), its text and per-coordinate [σ, σ] give the same outcomes; the
    spec and the arms record the number as before."""
    ref = study(0.3)
    assert ref.spec["noise"] == [0.3] and ref.arms[0]["noise"] == 0.3
    assert "noise_model" not in ref.arms[0]
    for other in (N.gaussian(0.3), "gaussian(sigma=0.3)", {"kind": "gaussian", "sigma": 0.3},
                  N.gaussian([0.3, 0.3])):
        assert study(other).hash == ref.hash, other
    assert study(N.gaussian([0.3, 0.31])).hash != ref.hash


NOISES = [N.student_t(0.5, 2.5), N.alpha_stable(0.3, 1.4), N.gaussian([0.1, 0.6]),
          N.curvature(0.05)]


@pytest.mark.parametrize("noise", NOISES, ids=str)
def test_reproducibility_matrix_threads_by_chunks(noise):
    ref = study(noise, threads=1, chunk_size=1 << 20)
    for threads, chunk in [(1, 7), (2, 1 << 20), (2, 50), (2, 1)]:
        assert study(noise, threads=threads, chunk_size=chunk).hash == ref.hash, \
            (threads, chunk)
    assert study(noise, seed=8).hash != ref.hash


def test_grid_over_noise_models_records_them_and_survives_save_load(tmp_path):
    res = study([0.3, N.student_t(0.5, 3), "alpha_stable(sigma=0.2, alpha=1.5)"])
    assert res.spec["noise"] == [0.3, {"kind": "student_t", "sigma": 0.5, "nu": 3.0},
                                 {"kind": "alpha_stable", "sigma": 0.2, "alpha": 1.5}]
    models = [a.get("noise_model") for a in res.arms]
    assert models == [None, "student_t(sigma=0.5, nu=3.0)",
                      "alpha_stable(sigma=0.2, alpha=1.5)"] * 2
    # each arm is the single-model study's arm: noise models share keys, not streams
    t_only = study(N.student_t(0.5, 3))
    np.testing.assert_array_equal(res.arm(1)["final_f"], t_only.arm(0)["final_f"])
    back = R.load(res.save(tmp_path / "r"))
    assert back.hash == res.hash and back.spec["noise"] == res.spec["noise"]
    names = analysis.arm_names(res)
    assert len(set(names)) == len(names) and any("student_t(" in n for n in names)
    assert "noise σ = 0.3, student_t(sigma=0.5, nu=3.0)" in res.summary()


def test_heavy_tails_diverge_as_today():
    """Huge α-stable jumps leave the box: diverged, end basin −1, never a success."""
    res = study(N.alpha_stable(5.0, 0.6), steps=60)
    div = res.outcomes["diverged"]
    assert np.all(res.outcomes["end_basin"][div] == ids.DIVERGED)
    sgd = res.arm(0)                  # SGD (Adam's steps are bounded by its lr: few diverge)
    assert sgd["diverged"].mean() > 0.25
    assert not np.any(sgd["success"] & sgd["diverged"])
    assert res.table()[0]["p_global"] <= 1 - sgd["diverged"].mean() + 1e-12


def test_run_refuses_bad_noise_naming_it():
    for bad, match in [(N.gaussian([0.1, 0.2, 0.3]), r"^noise sigma has 3 values"),
                       ("student_t(sigma=0.5)", r"^noise 'student_t'"),
                       ({"kind": "alpha_stable", "sigma": 1, "alpha": 3},
                        r"^noise alpha"), ([0.1, "cauchy(1)"], r"^noise kind")]:
        with pytest.raises(ValueError, match=match):
            study(bad)


def test_curvature_noise_is_refused_where_the_family_has_no_diagonal_hessian():
    """COCO's BBOB rows have no diagonal Hessian: curvature noise there is a ValueError naming
    the family and the families that have one (run and path); other models run."""
    fam = L.bbob(21, 2)
    with pytest.raises(ValueError, match=r"bbob_f21 does not have.*rastrigin"):
        swarm.run(fam, O.sgd(lr=0.01), instances=1, starts=2, steps=2, noise=N.curvature(0.1))
    with pytest.raises(ValueError, match="bbob_f21 does not have"):
        swarm.path(fam.instance(0, 0), O.sgd(lr=0.01), np.zeros(2), 2,
                   noise=N.curvature(0.1))
    res = swarm.run(fam, O.sgd(lr=0.01), instances=1, starts=2, steps=2,
                    noise=N.student_t(0.1, 3.0))
    assert res.aggregate.total("n").sum() == 2


def test_toml_spec_takes_text_tables_and_grids():
    text = """
instances = 2
starts = 8
steps = 5
noise = [0.2, "student_t(sigma=0.5, nu=3)", {kind = "alpha_stable", sigma = 0.1, alpha = 1.5},
         {kind = "gaussian", sigma = [0.1, 0.2]}]
[landscape]
family = "double_well"
dim = 2
[[optimizers]]
kind = "sgd"
lr = 0.01
"""
    spec = loads_spec(text)
    assert spec.noise == (0.2, N.student_t(0.5, 3), N.alpha_stable(0.1, 1.5),
                          N.gaussian([0.1, 0.2]))
    assert "student_t(sigma=0.5, nu=3.0)" in spec.describe()
    res = spec.run()
    assert res.spec["noise"][1] == {"kind": "student_t", "sigma": 0.5, "nu": 3.0}
    bad = text.replace('"student_t(sigma=0.5, nu=3)"', '"student_t(sigma=0.5, nu=0)"')
    with pytest.raises(ValueError, match=r":5: noise\[1\].*nu"):
        loads_spec(bad)
    with pytest.raises(ValueError, match=r"noise\[0\] must be a number, a noise model"):
        loads_spec(text.replace("noise = [0.2,", "noise = [[0.2],"))


# ------------------------------------------------------------------------------ the exit law

def mean_exit(kind, par, depth, lr, sigma, n=4000, width=1.0):
    """Mean exit steps (and its standard error) from the 1-D well U(x) = depth·(x/width)²
    started at its minimum: x ← x − lr·(U'(x) + σ·ξ) until |x| ≥ width, ξ the kernels'
    α-stable (kind 0) or normal (kind 1) samples on key (coordinate 0, step, start s, instance
    0) — scripts/noise_study.py's simulation, none censored."""
    from scripts import noise_study
    m, se, censored = noise_study.mean_exit({0: noise_study.STABLE, 1: noise_study.GAUSS}[kind],
                                            par, depth, width, lr, sigma, n)
    assert censored == 0
    return m, se


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [1.2, 1.5, 1.8])
def test_alpha_stable_exit_law(alpha):
    """Mean exit steps ∝ (lr·σ)^−α (Imkeller & Pavlyukevich): the fitted slope of
    log(steps) on log(lr·σ) over a decade is −α within ±0.1."""
    lr, depth = 0.1, 2.5                      # lr·U'' = 0.5: the drift halves x each step
    eps = np.geomspace(0.01, 0.1, 5)          # lr·σ, relative to the width 1
    m = [mean_exit(0, alpha, depth, lr, e / lr)[0] for e in eps]
    slope = np.polyfit(np.log(eps), np.log(m), 1)[0]
    assert abs(slope + alpha) <= 0.1, (slope, m)


@pytest.mark.slow
def test_exit_depends_on_width_not_depth_for_heavy_tails_but_on_depth_for_gaussian():
    """Equal-width wells, depth 2.5 and 5: α-stable exit times within 15 % of each other,
    Gaussian ones apart by the Arrhenius factor exp(ΔU/T), T = lr·σ²/2 (the discrete AR(1)'s
    stationary variance in place of T/U'' for the exponent), up to a prefactor of order 1."""
    lr = 0.1
    for alpha in (1.2, 1.5, 1.8):
        a, _ = mean_exit(0, alpha, 2.5, lr, 0.3)
        b, _ = mean_exit(0, alpha, 5.0, lr, 0.3)
        assert abs(b / a - 1) < 0.15, (alpha, a, b)
    sigma = 2.5
    g1, _ = mean_exit(1, 0.0, 2.5, lr, sigma, n=1000)
    g2, _ = mean_exit(1, 0.0, 5.0, lr, sigma, n=1000)
    # AR(1) x ← ρx − lr·σ·ξ, ρ = 1 − lr·U'': stationary variance v = (lr·σ)²/(1 − ρ²);
    # exit from [−1, 1] at rate ∝ exp(−1/(2v))
    v = [(lr * sigma) ** 2 / (1 - (1 - lr * 2 * d) ** 2) for d in (2.5, 5.0)]
    arrhenius = 1 / (2 * v[1]) - 1 / (2 * v[0])
    assert arrhenius == pytest.approx(2.0)
    assert abs(math.log(g2 / g1) - arrhenius) < 0.35 * arrhenius, (g1, g2, arrhenius)
