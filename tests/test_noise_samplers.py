"""The heavy-tailed noise samplers of ``kernels/noise.py`` against scipy.stats (issue 23's
sampler checks; the samplers are not yet wired into the engine's noise path).

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
@pytest.mark.parametrize("nu", [0.7, 1.0, 2.5, 5.0, 30.0])
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


def test_the_attempt_counters_stay_apart():
    """Student-t's rejection attempts use counters j + a·2²⁰: no attempt of coordinate j is
    coordinate j' < 2²⁰'s first draw."""
    assert noise.T_STRIDE == 1 << 20 and noise.T_ATTEMPTS * noise.T_STRIDE <= 2 ** 32
