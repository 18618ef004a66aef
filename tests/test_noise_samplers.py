"""The heavy-tailed noise samplers of ``kernels/noise.py`` against scipy.stats (issue 23's
sampler checks; tests/test_noise.py checks the same through the engine's noise path), and
their transforms of given uniforms against the textbook formulas in 40-digit arithmetic.

10⁶ samples drawn by the kernels' own code from the Philox stream (counter: coordinate 0, step
1, start s = 0 … 10⁶−1, instance 0). The Kolmogorov–Smirnov distance is taken at 199 quantiles of
the exact distribution (scipy's ``levy_stable`` CDF is numerical integration: 10⁶ evaluations
would take hours): a supremum over fewer points is at most the full one, so the test at the 1 %
critical value 1.628/√n is conservative. Quantiles are compared with their standard errors.
"""
import math

import numba
import numpy as np
import pytest
from scipy import stats

from swarm.kernels import noise, philox

N = 1_000_000
KS_1PCT = 1.628 / math.sqrt(N)          # Kolmogorov's limit at 1 %
PROBS = np.linspace(0.005, 0.995, 199)
K0, K1 = philox.split_seed(12345)


def _draws(F):
    stable, student_t = noise.make(numba.njit, F)[:2]

    @numba.njit
    def draw_stable(alpha, n, out):
        for s in range(n):
            out[s] = stable(K0, K1, 0, 1, s, 0, F(alpha))

    @numba.njit
    def draw_t(nu, n, out):
        for s in range(n):
            out[s] = student_t(K0, K1, 0, 1, s, 0, F(nu))
    return draw_stable, draw_t


_DRAW = {np.float64: _draws(np.float64)}


def samples(kind, param, F=np.float64, n=N):
    out = np.empty(n, F)
    _DRAW[F][0 if kind == "stable" else 1](param, n, out)
    return out.astype(np.float64)


def ks_on_quantiles(x, dist):
    """max |F_n(q) − p| over the distribution's quantiles q at PROBS."""
    q = dist.ppf(PROBS)
    fn = np.searchsorted(np.sort(x), q, side="right") / x.size
    return float(np.max(np.abs(fn - PROBS)))


def quantiles_agree(x, dist, z=5.0):
    """Sample quantiles within z standard errors of the exact ones (se from the density)."""
    q = dist.ppf(PROBS[::20])
    se = np.sqrt(PROBS[::20] * (1 - PROBS[::20]) / x.size) / dist.pdf(q)
    return np.abs(np.quantile(x, PROBS[::20]) - q) <= z * se


@pytest.mark.slow
@pytest.mark.parametrize("nu", [0.5, 1.0, 2.5, 5.0, 30.0])
def test_student_t_matches_scipy(nu):
    x = samples("t", nu)
    dist = stats.t(nu)
    assert np.all(np.isfinite(x))
    assert ks_on_quantiles(x, dist) < KS_1PCT
    assert quantiles_agree(x, dist).all()
    # the plain KS test on a subsample, with scipy's own exact CDF
    assert stats.kstest(x[:200_000], dist.cdf).pvalue > 0.01


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [0.8, 1.0, 1.2, 1.5, 1.8])
def test_alpha_stable_matches_scipy(alpha):
    x = samples("stable", alpha)
    dist = stats.levy_stable(alpha, 0.0)
    assert np.all(np.isfinite(x))
    assert ks_on_quantiles(x, dist) < KS_1PCT
    assert quantiles_agree(x, dist).all()


def test_alpha_two_is_the_gaussian_of_variance_two():
    """Convention: α = 2 is N(0, 2) (scipy's levy_stable(2, 0)), so σ·X has variance 2σ²."""
    x = samples("stable", 2.0, n=200_000)
    assert stats.kstest(x, stats.norm(scale=math.sqrt(2.0)).cdf).pvalue > 0.01
    assert abs(np.var(x) / 2.0 - 1.0) < 5 * math.sqrt(2.0 / x.size)


def test_alpha_one_is_the_cauchy():
    x = samples("stable", 1.0, n=200_000)
    assert stats.kstest(x, stats.cauchy.cdf).pvalue > 0.01


def test_keyed_and_deterministic():
    """A sample is a function of its key only: the same counter gives the same bits (however it
    is drawn), another start another value."""
    a = samples("t", 3.0, n=1000)
    assert np.array_equal(a, samples("t", 3.0, n=1000))
    assert len(np.unique(a)) == a.size
    stable = noise.make(numba.njit, np.float64)[0]
    assert stable(K0, K1, 0, 1, 7, 0, 1.5) == samples("stable", 1.5, n=8)[7]


def _lattice(F):
    """Uniforms that ``philox.uniform2`` can return (multiples of 2⁻⁵⁴, float32 2⁻²⁵), across
    (0, 1] with both extremes, 1 included (the top one rounds to 1)."""
    q = 2.0 ** (-54 if F == np.float64 else -25)
    u = [q, 1e-12, 1e-6, 1e-3, 0.1, 0.25, 0.3, 0.6, 0.75, 0.999, 1 - 1e-6, 1 - q, 1.0]
    return np.array(sorted({float(F(max(round(x / q), 1) * q)) for x in u}), F)


def _cms(u1, u2, alpha, top):
    """Chambers–Mallows–Stuck as written in 1976 (uniforms clamped below 1 as the kernel
    does)."""
    import mpmath              # the test extra
    with mpmath.workdps(40):
        v = mpmath.pi * (mpmath.mpf(min(u1, top)) - mpmath.mpf(0.5))
        w = -mpmath.log(mpmath.mpf(min(u2, top)))
        a = mpmath.mpf(alpha)
        if a == 1:
            return +mpmath.tan(v)
        return (mpmath.sin(a * v) / mpmath.cos(v) ** (1 / a)
                * (mpmath.cos((1 - a) * v) / w) ** ((1 - a) / a))


def _bailey(u1, u2, nu):
    """Bailey's polar Student-t in its angle form, cos(2πu₁)·√(ν(u₂^(−2/ν) − 1))."""
    import mpmath
    with mpmath.workdps(40):
        nu = mpmath.mpf(nu)
        return (mpmath.cospi(2 * mpmath.mpf(u1))
                * mpmath.sqrt(nu * (mpmath.mpf(u2) ** (-2 / nu) - 1)))


@pytest.mark.parametrize("F", [np.float64, np.float32], ids=lambda F: F.__name__)
def test_the_transforms_match_the_formulas_in_high_precision(F):
    """Every (u₁, u₂) of the lattice, α from 0.3 to 2 (1.999: α near 2, where cos((1−α)V) is
    a difference of products) and ν from 0.5 to 1000 (e^a − 1 near its series' cut): within
    10⁻¹² relative in float64 and 10⁻⁵ in float32 of the exact value (40 digits), finite
    wherever that is within the float's range, ±inf beyond it."""
    stable_from, t_from = noise.make(numba.njit, F)[2:4]

    @numba.njit(error_model="numpy")
    def apply(kind, u1, u2, par, out):
        for i in range(u1.size):
            out[i] = stable_from(u1[i], u2[i], par) if kind == 0 else t_from(u1[i], u2[i], par)

    u1, u2 = (g.ravel() for g in np.meshgrid(_lattice(F), _lattice(F)))
    top = float(np.nextafter(F(1.0), F(0.0)))
    tol = 1e-12 if F == np.float64 else 1e-5
    big = float(np.finfo(F).max)
    cases = [(0, a) for a in (0.3, 0.8, 1.0, 1.2, 1.5, 1.999, 2.0)]
    cases += [(1, nu) for nu in (0.5, 1.0, 3.0, 30.0, 1000.0)]
    for kind, par in cases:
        par = float(F(par))
        out = np.empty(u1.size, F)
        apply(kind, u1, u2, F(par), out)
        ref = np.array([float(_cms(a, b, par, top) if kind == 0 else _bailey(a, b, par))
                        for a, b in zip(u1.tolist(), u2.tolist())])
        x = out.astype(np.float64)
        inside = np.abs(ref) <= big
        assert np.array_equal(np.isfinite(x), inside), (kind, par)
        assert np.all(np.sign(x[~inside]) == np.sign(ref[~inside]))
        err = np.abs(x - ref)[inside] / np.maximum(np.abs(ref[inside]), 1e-300)
        assert err.max() < tol, (kind, par, err.max())


def test_the_extreme_uniforms_give_finite_samples():
    """u = 1 (the top uniform rounds to 1) and the smallest uniform: Student-t takes u₂ = 1 as
    0, α-stable clamps below 1; α = 1 is tan V exactly (no branch: the power is e⁰)."""
    stable_from, t_from = noise.make(numba.njit, np.float64)[2:4]
    tiny = 2.0 ** -54
    for u1 in (tiny, 0.3, 1.0):
        assert t_from(u1, 1.0, 3.0) == 0.0
        for u2 in (tiny, 0.5, 1.0):
            for alpha in (0.5, 1.0, 1.5, 2.0):
                assert math.isfinite(stable_from(u1, u2, alpha)), (u1, u2, alpha)
            assert math.isfinite(t_from(u1, u2, 3.0))
        want = float(_cms(u1, 0.5, 1.0, 1 - 2.0 ** -53))           # tan V
        assert stable_from(u1, 0.5, 1.0) == pytest.approx(want, rel=1e-14)
