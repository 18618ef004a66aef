"""Instances in bulk (``Family.bank``): the same bits as one by one, whatever the range; the
documented counter layout; the distributions of the drawn parameters (uniform shifts and
centres, Haar rotations, uniform permutations); ``Bank.minimum``.

Every family of ``landscapes.FAMILIES`` is enumerated from its constructor's signature (dims
1, 2, 3, 5, 20 where it takes a dim, rotation on and off, 1, 2 and 21 peaks), so a new family
gets every generic test.
"""
import inspect
import math

import numpy as np
import pytest
from scipy import stats

from swarm import landscapes
from swarm.kernels import ids, instances, philox

DIMS = (1, 2, 3, 5, 20)
SEED = 987654321
ARRAYS = ("params", "global_minima", "domain", "box")


# every family but COCO's BBOB rows (no draws: tests/test_bbob_kernels.py checks their rows)
NATIVE = {n: f for n, f in landscapes.FAMILIES.items()
          if landscapes.REGISTRY[n].fid not in ids.BBOB_FAMILIES}


def _variants():
    out = []
    for name, make in NATIVE.items():
        sig = inspect.signature(make).parameters
        dims = DIMS if "dim" in sig else (None,)
        rots = (False, True) if "rotate" in sig else (None,)
        peaks = (1, 2, 21) if "peaks" in sig else (None,)
        for dim in dims:
            for rot in rots:
                for p in peaks:
                    kw = {k: v for k, v in (("dim", dim), ("rotate", rot), ("peaks", p))
                          if v is not None}
                    label = "-".join([name] + [f"{k}{int(v)}" for k, v in kw.items()])
                    out.append((label, make(**kw)))
    return out


VARIANTS = _variants()
VIDS = [n for n, _ in VARIANTS]
FAMS = [f for _, f in VARIANTS]
RANDOM = [(n, f) for n, f in VARIANTS if f.name != "double_well"]


def same_instance(a, b):
    for name in ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    assert (a.minima is None) == (b.minima is None)
    if a.minima is not None:
        assert np.array_equal(a.minima, b.minima)
    assert (a.seed, a.index, a.minima_rule) == (b.seed, b.index, b.minima_rule)


def test_every_family_is_covered():
    assert {f.name for f in FAMS} == set(NATIVE)
    assert {f.dim for f in FAMS if f.name == "gaussian_peaks"} == set(DIMS)


# --------------------------------------------------------------------------------------------
# the same bits in bulk and one by one
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fam", FAMS, ids=VIDS)
def test_bank_rows_are_the_instances_bits(fam):
    bank = fam.bank(SEED, 1000, 1010)
    n_params, n_global, _ = fam.size_hint()
    assert bank.lp.shape == (10, n_params) and bank.lp.dtype == np.float64
    assert bank.lp.flags.c_contiguous and bank.gmin.flags.c_contiguous
    assert bank.gmin.shape == (10, n_global, fam.dim) and bank.n_global == n_global
    np.testing.assert_array_equal(fam.box, fam.bound * fam.domain)
    for index in (1000, 1005, 1009):
        one = fam.instance(SEED, index)
        j = index - 1000
        assert np.array_equal(bank.lp[j], one.params)
        assert np.array_equal(bank.gmin[j], one.global_minima)
        same_instance(bank.instance(index), one)
    # a batch of one at the start of a long range, and the other way round
    big = fam.bank(SEED, 990, 1300)
    assert np.array_equal(big.lp[10:20], bank.lp) and np.array_equal(big.gmin[10:20], bank.gmin)


@pytest.mark.parametrize("fam", FAMS, ids=VIDS)
def test_bank_ranges_concatenate(fam):
    a, b, c = 7, 40, 101
    whole = fam.bank(SEED, a, c)
    left, right = fam.bank(SEED, a, b), fam.bank(SEED, b, c)
    assert np.array_equal(whole.lp, np.concatenate([left.lp, right.lp]))
    assert np.array_equal(whole.gmin, np.concatenate([left.gmin, right.gmin]))
    assert len(whole) == c - a and (whole.lo, whole.hi, whole.seed) == (a, c, SEED)
    # a bank is its arrays only
    arrays = {k: v for k, v in vars(whole).items() if isinstance(v, np.ndarray)}
    assert set(arrays) == {"lp", "gmin"}
    assert not any(isinstance(v, (list, tuple, dict)) for v in vars(whole).values())


def test_instances_list_is_the_bank():
    fam = landscapes.gaussian_peaks(3, 5)
    insts = fam.instances(SEED, 6)
    bank = fam.bank(SEED, 0, 6)
    for k, inst in enumerate(insts):
        same_instance(inst, bank.instance(k))


@pytest.mark.parametrize("fam", [f for _, f in RANDOM], ids=[n for n, _ in RANDOM])
def test_seeds_and_indices_give_different_instances(fam):
    a = fam.bank(SEED, 0, 64)
    b = fam.bank(SEED + 1, 0, 64)
    hi = fam.bank(2 ** 64 - 1, 2 ** 32 - 3, 2 ** 32)     # the extreme seed and indices
    for bank in (a, b, hi):
        assert np.all(np.isfinite(bank.lp)) and np.all(np.isfinite(bank.gmin))
        xs = bank.gmin[:, 0]
        assert len(np.unique(xs, axis=0)) == len(xs)
    assert not np.any(np.all(a.gmin[:, 0] == b.gmin[:, 0], axis=1))
    assert not np.array_equal(a.lp, b.lp)


def test_double_well_has_no_draws():
    fam = landscapes.double_well(3, -0.2)
    bank = fam.bank(SEED, 5, 9)
    assert np.all(bank.lp == fam.instance(0, 0).params)
    assert np.all(bank.gmin == fam.instance(1, 2).global_minima)


def test_rotation_flag_keeps_the_shift():
    """x* comes first in the draw order, so a rotated family and its unrotated twin share x*
    (common random numbers) and the unrotated one stores R = I."""
    for d in (1, 2, 5):
        plain = landscapes.rastrigin(d).bank(SEED, 3, 50)
        rot = landscapes.rastrigin(d, rotate=True).bank(SEED, 3, 50)
        assert np.array_equal(plain.gmin, rot.gmin)
        o = plain.family.layout.rot
        R = plain.lp[:, o:o + d * d]
        assert np.all(R == np.eye(d).ravel())


def test_documented_counter_layout():
    """x* of a shifted instance from the uniforms at counters (pair, 0xFFFFFFFF, fid, index);
    the global peak centre likewise (the first D uniforms, in ±0.8·half_width)."""
    seed, index = 2 ** 40 + 12345, 77
    k0, k1 = philox.split_seed(seed)
    for fam in (landscapes.rastrigin(3, rotate=True), landscapes.gaussian_peaks(3, 4)):
        c = (np.uint64(0xFFFFFFFF), np.uint64(fam.fid), np.uint64(index))
        u = [v for p in range(2) for v in instances.uniform2(k0, k1, np.uint64(p), *c)][:3]
        a = (fam.shift if fam.name != "gaussian_peaks" else 0.8) * fam.half_width
        want = np.array([-a + (a - -a) * v for v in u])
        np.testing.assert_array_equal(fam.instance(seed, index).x_star, want)


# --------------------------------------------------------------------------------------------
# rotations
# --------------------------------------------------------------------------------------------


def rotations(bank):
    fam, d = bank.family, bank.family.dim
    o = fam.layout.rot
    return bank.lp[:, o:o + d * d].reshape(-1, d, d)


@pytest.mark.parametrize("fam", [f for f in FAMS if getattr(f, "rotate", False)],
                         ids=[n for n, f in VARIANTS if getattr(f, "rotate", False)])
def test_rotations_are_orthogonal(fam):
    bank = fam.bank(SEED, 0, 200)
    R = rotations(bank)
    err = np.abs(np.einsum("nji,njk->nik", R, R) - np.eye(fam.dim)).max()
    assert err < 1e-13 * fam.dim
    assert bank.lp[0, ids.LP_ROTATED] == 1.0


def test_householder_matches_lapack():
    """The Haar rotation is Q·diag(sign(diag R)) of G = QR, the same matrix LAPACK's QR gives
    after that sign fix (to rounding)."""
    rng = np.random.default_rng(3)
    for d in (1, 2, 3, 5, 20, 64):
        for _ in range(5):
            G = rng.standard_normal((d, d))
            A, Q = np.ascontiguousarray(G.T), np.empty((d, d))
            instances.haar(A, Q, np.empty((d, d)), np.empty(d), np.empty(d), d)
            q, r = np.linalg.qr(G)
            np.testing.assert_allclose(Q.T, q * np.sign(np.diag(r)), atol=1e-13 * d)


@pytest.mark.slow
@pytest.mark.parametrize("d", [1, 2, 3, 5, 20])
def test_rotations_are_haar(d):
    """One entry of a Haar-random orthogonal matrix: (R₀₀ + 1)/2 ~ Beta((d−1)/2, (d−1)/2)
    (d ≥ 2; ±1 with probability ½ each for d = 1), E R_ij² = 1/d for every entry, and det
    R = ±1 with probability ½ each (Haar on O(d))."""
    n = 10_000
    R = rotations(landscapes.styblinski_tang(d, rotate=True).bank(SEED, 0, n))
    det = np.linalg.det(R)
    np.testing.assert_allclose(np.abs(det), 1.0, atol=1e-12)
    assert stats.binomtest(int(np.sum(det < 0)), n).pvalue > 1e-4
    if d == 1:
        return
    a = (d - 1) / 2
    for i, j in ((0, 0), (d - 1, 0), (0, d - 1), (d // 2, d - 1)):
        assert stats.kstest((R[:, i, j] + 1) / 2, stats.beta(a, a).cdf).pvalue > 1e-4, (i, j)
    sd = math.sqrt(2 * (d - 1) / (d * d * (d + 2)) / n)         # of a mean of R_ij²
    assert np.all(np.abs(np.mean(R ** 2, axis=0) - 1 / d) < 5 * sd)


# --------------------------------------------------------------------------------------------
# distributions of the drawn parameters
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name,rotate", [("rastrigin", False), ("levy", True),
                                         ("himmelblau", True)])
def test_x_star_is_uniform_in_the_shifted_domain(name, rotate):
    make = landscapes.FAMILIES[name]
    fam = make(rotate=rotate) if name == "himmelblau" else make(3, rotate=rotate)
    xs = fam.bank(SEED, 0, 10_000).gmin[:, 0]
    a = fam.shift * fam.half_width
    for j in range(fam.dim):
        assert stats.kstest(xs[:, j], stats.uniform(-a, 2 * a).cdf).pvalue > 1e-4, j
    assert abs(np.corrcoef(xs[:, 0], xs[:, 1])[0, 1]) < 0.05


def unpack_peaks(bank):
    d, P, lay = bank.family.dim, bank.family.peaks, bank.family.layout
    R = rotations(bank)
    rows = bank.lp[:, lay.first:lay.size].reshape(len(bank), P, lay.stride)
    centres = np.einsum("npi,nij->npj", rows[:, :, lay.centre:lay.centre + d], R)  # cₖ = Rᵀ(R cₖ)
    return rows[:, :, lay.logw], centres, rows[:, :, lay.lam:lay.lam + d]


@pytest.mark.slow
def test_peak_parameters_follow_their_distributions():
    fam = landscapes.gaussian_peaks(5, 21)
    n = 10_000
    bank = fam.bank(SEED, 0, n)
    logw, centres, lam = unpack_peaks(bank)
    np.testing.assert_allclose(centres[:, 0], bank.gmin[:, 0], atol=1e-12)
    np.testing.assert_allclose(np.exp(logw[0]), [10.0] + list(np.linspace(1.1, 9.1, 20)),
                               rtol=1e-13)
    hw = fam.half_width
    assert stats.kstest(centres[:, 0, 2], stats.uniform(-0.8 * hw, 1.6 * hw).cdf).pvalue > 1e-4
    assert stats.kstest(centres[:, 7, 4], stats.uniform(-hw, 2 * hw).cdf).pvalue > 1e-4
    # the peak given α = 1 (all its λ equal) is uniform among peaks 1 … 20
    flat = np.ptp(lam[:, 1:], axis=2) == 0
    assert np.all(flat.sum(axis=1) == 1)
    assert stats.chisquare(np.bincount(np.argmax(flat, axis=1), minlength=20)).pvalue > 1e-4
    # each peak's Λ entries in uniformly random order: where the largest sits (not defined
    # for the flat peak)
    for k in (0, 9):
        counts = np.bincount(np.argmax(lam[~flat[:, k - 1] if k else slice(None), k], axis=1),
                             minlength=5)
        assert stats.chisquare(counts).pvalue > 1e-4, k
    # and the order is independent between peaks
    same = np.mean(np.argmax(lam[:, 0], axis=1) == np.argmax(lam[:, 3], axis=1))
    assert abs(same - 0.2) < 5 * math.sqrt(0.16 / n)


# --------------------------------------------------------------------------------------------
# Bank.minimum
# --------------------------------------------------------------------------------------------

LISTED = [(n, f) for n, f in VARIANTS if f.instance(SEED, 0).minima is not None]


@pytest.mark.parametrize("fam", [f for _, f in LISTED], ids=[n for n, _ in LISTED])
def test_bank_minimum_is_the_listed_minimum(fam):
    lo, hi = 500, 540
    bank = fam.bank(SEED, lo, hi)
    lists = [bank.instance(i).minima for i in range(lo, hi)]
    for k in range(max(len(m) for m in lists) + 1):
        if all(len(m) > k for m in lists):
            want = np.stack([m[k] for m in lists])
            assert np.array_equal(bank.minimum(k), want), k
        else:
            first = next(i for i, m in enumerate(lists) if len(m) <= k)
            with pytest.raises(ValueError, match=f"index={lo + first},"):
                bank.minimum(k)
    assert np.array_equal(bank.minimum(0), bank.gmin[:, 0])
    with pytest.raises(ValueError, match=f"index={lo},"):
        bank.minimum(2 ** 70)
    assert fam.bank(SEED, 3, 3).minimum(1).shape == (0, fam.dim)


def test_bank_minimum_without_listed_minima_raises():
    for fam in (landscapes.ackley(2), landscapes.rastrigin(20)):
        with pytest.raises(ValueError, match="needs listed minima"):
            fam.bank(SEED, 0, 4).minimum(0)


def test_bank_minimum_sorted_by_distance():
    """Separable families list x* first, then the other minima inside the domain by distance."""
    fam = landscapes.rastrigin(2, rotate=True)
    bank = fam.bank(SEED, 0, 30)
    for i in range(30):
        m = bank.instance(i).minima
        dist = np.linalg.norm(m - m[0], axis=1)
        assert np.all(np.diff(dist[1:]) >= -1e-12) and dist[0] == 0
        assert np.all(np.abs(m) <= fam.half_width)
        np.testing.assert_array_equal(m[0], bank.gmin[i, 0])


def test_bank_validates_its_range():
    fam = landscapes.rastrigin(2)
    for lo, hi, field in ((-1, 2, "index"), (5, 4, "index"), (0, 2 ** 32 + 1, "index"),
                          (0.5, 3, "index")):
        with pytest.raises(ValueError, match=field):
            fam.bank(0, lo, hi)
    with pytest.raises(ValueError, match="seed"):
        fam.bank(2 ** 64, 0, 1)
    with pytest.raises(ValueError, match="index"):
        fam.bank(0, 0, 3).instance(3)
    assert len(fam.bank(0, 7, 7)) == 0


def test_banks_drawn_in_threads_are_the_same():
    """The kernels release the GIL: halves drawn in two threads concatenate to the bank."""
    from concurrent.futures import ThreadPoolExecutor
    fam = landscapes.gaussian_peaks(6, 9)
    one = fam.bank(SEED, 0, 2000)
    with ThreadPoolExecutor(2) as ex:
        parts = list(ex.map(lambda r: fam.bank(SEED, *r), [(0, 1000), (1000, 2000)]))
    assert np.array_equal(np.concatenate([p.lp for p in parts]), one.lp)
    assert np.array_equal(np.concatenate([p.gmin for p in parts]), one.gmin)
