"""The optimizer kernels against the naive NumPy references (tests/naive.py), end to end through
``swarm.path``, in float32, and the validation of optimizer specs.

Parametrised over a table of optimizer configurations (as optax's tests are): every row of
``swarm.optimizers.REGISTRY`` is tested at its defaults automatically, and the variants table
adds the real choices (weight decay L2 and decoupled, AMSGrad, dampening, bias correction, ε
inside the root, centered RMSprop, initial accumulator, clipping, schedules, …); the
completeness test names whatever a row lacks. ``test_torch_oracle.py`` checks the same table
against torch.optim.
"""
import math
import os
import sys

import numba
import numpy as np
import pytest

import swarm
from swarm import landscapes, optimizers
from swarm import schedules as S
from swarm.kernels import ids
from swarm.kernels import optimizers as kopt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import naive  # noqa: E402

# (registry name, keyword arguments of its factory)
VARIANTS = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.1, "weight_decay": 0.1}),
    ("sgd", {"lr": 0.1, "clip_norm": 0.5}),
    ("sgd", {"lr": 0.1, "clip_value": 0.2}),
    ("sgd", {"lr": 0.1, "clip_norm": 1.0, "clip_value": 0.3, "weight_decay": 0.05}),
    ("sgd", {"lr": 0.1, "schedule": S.cosine(T_max=20, eta_min=0.01)}),
    ("momentum", {"lr": 0.05, "momentum": 0.5}),
    ("momentum", {"lr": 0.05, "momentum": 0.5, "dampening": 0.3}),
    ("momentum", {"dampening": 1.0, "weight_decay": 0.1}),
    ("momentum", {"schedule": S.step(7, gamma=0.5), "clip_norm": 2.0}),
    ("nesterov", {"lr": 0.05, "momentum": 0.5}),
    ("nesterov", {"weight_decay": 0.1, "clip_value": 1.0}),
    ("adagrad", {"lr": 0.1, "initial_accumulator": 0.1}),
    ("adagrad", {"lr": 0.1, "eps_inside": True}),
    ("adagrad", {"lr": 0.1, "eps": 1e-3, "initial_accumulator": 0.5, "eps_inside": True}),
    ("adagrad", {"lr": 0.1, "weight_decay": 0.1, "schedule": S.inverse_time(0.05)}),
    ("rmsprop", {"lr": 0.01, "alpha": 0.9}),
    ("rmsprop", {"centered": True}),
    ("rmsprop", {"bias_correction": True}),
    ("rmsprop", {"eps_inside": True}),
    ("rmsprop", {"centered": True, "eps_inside": True, "alpha": 0.8}),
    ("rmsprop", {"centered": True, "bias_correction": True, "eps_inside": True}),
    ("rmsprop", {"lr": 1e-9, "centered": True, "bias_correction": True}),
    ("rmsprop", {"bias_correction": True, "eps_inside": True, "eps": 1e-4}),
    ("rmsprop", {"centered": True, "weight_decay": 0.1, "schedule": S.exponential(0.97)}),
    ("adam", {"lr": 0.01, "bias_correction": False}),
    ("adam", {"lr": 0.01, "eps_inside": True}),
    ("adam", {"lr": 0.01, "bias_correction": False, "eps_inside": True}),
    ("adam", {"lr": 0.02, "b1": 0.5, "b2": 0.9, "eps": 1e-4}),
    ("adam", {"lr": 0.01, "amsgrad": True}),
    ("adam", {"lr": 0.01, "amsgrad": True, "eps_inside": True, "bias_correction": False}),
    ("adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True,
              "amsgrad": True}),
    ("adam", {"lr": 0.01, "schedule": S.multistep([5, 20], gamma=0.3)}),
    ("adamw", {"lr": 0.01, "weight_decay": 0.1}),
    ("adamw", {"lr": 0.01, "amsgrad": True, "b1": 0.8, "b2": 0.99, "eps": 1e-6}),
    ("adamw", {"lr": 0.01, "bias_correction": False, "eps_inside": True}),
    ("adamw", {"lr": 0.01, "schedule": S.warmup(10, then=S.cosine(T_max=40),
                                                 start_factor=0.25)}),
    ("adamax", {"lr": 0.01, "b1": 0.5, "b2": 0.9, "eps": 1e-3}),
    ("adamax", {"lr": 0.01, "weight_decay": 0.1, "clip_value": 0.5}),
    ("nadam", {"lr": 0.01, "momentum_decay": 0.01, "b1": 0.8, "b2": 0.99, "eps": 1e-6}),
    ("nadam", {"lr": 0.01, "momentum_decay": 0.0}),
    ("nadam", {"lr": 0.01, "weight_decay": 0.1}),
    ("nadam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True,
               "schedule": S.warmup(3)}),
    ("radam", {"lr": 0.01, "b1": 0.8, "b2": 0.9, "eps": 1e-6}),    # ρₜ > 5 from step 6
    ("radam", {"lr": 0.01, "b2": 0.99, "weight_decay": 0.1}),
    ("radam", {"lr": 0.01, "b2": 0.9, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("adadelta", {"lr": 0.5, "rho": 0.5, "eps": 1e-4}),
    ("adadelta", {"weight_decay": 0.1, "clip_norm": 1.0}),
    ("rprop", {"etaminus": 0.3, "etaplus": 1.5}),
    ("rprop", {"lr": 0.1, "step_min": 1e-3, "step_max": 0.2}),
    ("rprop", {"lr": 0.1, "schedule": S.warmup(5, start_factor=0.1)}),  # Δ₀ = the first lr
    ("lion", {"lr": 1e-3, "weight_decay": 0.0}),
    ("lion", {"lr": 0.01, "b1": 0.5, "b2": 0.9, "weight_decay": 0.1}),
    ("lion", {"lr": 0.01, "schedule": S.cosine(T_max=30), "clip_norm": 0.1}),
    ("signsgd", {"lr": 0.1, "weight_decay": 0.1}),
    ("signsgd", {"lr": 0.1, "clip_value": 0.01, "schedule": S.step(10)}),
    ("signum", {"lr": 0.1, "momentum": 0.5}),
    ("signum", {"momentum": 0.0, "weight_decay": 0.1}),
]
DEFAULTS = [(kind, {}) for kind in optimizers.REGISTRY]
TABLE = DEFAULTS + VARIANTS


def _id(case):
    kind, hp = case
    return kind + "".join(f"-{k}={v}" for k, v in hp.items())


def spec(kind, hp):
    return optimizers.FACTORIES[kind](**hp)


def full_hyper(kind, hp):
    """Every hyperparameter of the configuration, defaults filled in (as the engine sees it)."""
    (cfg,) = spec(kind, hp).configs()
    return cfg


def hp_row(kind, hp, F=np.float64):
    return optimizers.hyper_row(kind, full_hyper(kind, hp), 0.0).astype(F)


def naive_lrs(cfg, steps):
    """The configuration's learning rate at steps 1 … steps from naive.lr_sequence (torch's
    closed forms), or None without a schedule."""
    s = cfg.get("schedule")
    if s is None:
        return None
    s = S.parse(s)
    kw = {}
    if s.kind == "warmup":
        kw = {"warmup": s.steps, "start_factor": s.start_factor}
        s = s.then
    kw.update(s.params())
    return naive.lr_sequence(cfg["lr"], steps, kind=s.kind, **kw)


def reference(kind, hp, x0, grads, steps=None):
    """The naive reference's positions (steps, dim) for the factory arguments ``hp``."""
    cfg = full_hyper(kind, hp)
    n = len(grads) if steps is None else steps
    return naive.optimize(kind, x0, cfg, grads, steps, lrs=naive_lrs(cfg, n))


_jit = numba.njit(error_model="numpy")   # as the CPU kernels
# ``kernels.optimizers.make(jit, F, L)`` works on L trajectories at once (arrays (dim, L)) with a
# per-lane float array ``t`` (ids.NLS, L); every lane gets its own start and gradients and is
# checked on its own.
LANES = 3
_KERNELS = {F: kopt.make(_jit, F, LANES) for F in (np.float64, np.float32)}


def kernel_positions_lanes(kind, hp, X0, G, F=np.float64):
    """Drive the compiled ``init``/``update`` with fixed gradients: X0 (n, dim) starts,
    G (steps, n, dim) gradients; returns positions (steps, n, dim) in float64. ``kind`` is a
    registry name; ``hp`` the factory's keyword arguments (schedule, clipping included): the
    update applies the schedule, clipping and weight decay itself."""
    init, update = _KERNELS[F]
    X0 = np.asarray(X0, dtype=F)
    G = np.asarray(G, dtype=F)
    n, dim = X0.shape
    kid = optimizers.REGISTRY[kind].rule
    row = hp_row(kind, hp, F)
    out = np.empty((len(G), n, dim))
    for r0 in range(0, n, LANES):
        m = min(LANES, n - r0)
        x = np.zeros((dim, LANES), dtype=F)
        x[:, :m] = X0[r0:r0 + m].T
        s1, s2, s3 = (np.full((dim, LANES), np.nan, dtype=F) for _ in range(3))  # init sets
        lane = np.full((ids.NLS, LANES), np.nan, dtype=F)                          # them
        init(kid, row, s1, s2, s3, lane, dim)
        for t in range(1, len(G) + 1):
            g = np.zeros((dim, LANES), dtype=F)
            g[:, :m] = G[t - 1, r0:r0 + m].T
            update(kid, row, t, x, g, s1, s2, s3, lane, dim)
            out[t - 1, r0:r0 + m] = x[:, :m].T
    return out


def kernel_positions(kind, hp, x0, grads, F=np.float64):
    """One trajectory from x0 (dim,) fed grads (steps, dim): positions (steps, dim)."""
    grads = np.asarray(grads, dtype=np.float64)
    return kernel_positions_lanes(kind, hp, np.asarray(x0)[None], grads[:, None], F)[:, 0]


def gradient_sequence(n, dim, seed):
    rng = np.random.default_rng(seed)
    # magnitudes over several decades, both signs, a few exact zeros
    g = rng.standard_normal((n, dim)) * 10.0 ** rng.uniform(-3, 1, (n, dim))
    g[rng.random((n, dim)) < 0.03] = 0.0
    # the first row in signed powers of two: g² and (1−β)·g are then exact, so first steps whose
    # exact value is a cancellation (centered, bias-corrected RMSprop: v̂ − ḡ̂² = 0 at t = 1) do
    # not depend on the order of rounding
    g[0] = rng.choice([-1.0, 1.0], dim) * 2.0 ** rng.integers(-8, 4, dim)
    return g


# --------------------------------------------------------------------------------------------
# the table itself
# --------------------------------------------------------------------------------------------


def registry_gaps(table, references):
    """What the tests lack for each registry row, one line each: its naive reference, a variant
    case, a variant that sets each of its own hyperparameters; and each common option
    (schedule, clipping) somewhere in the table."""
    gaps = []
    for name, row in optimizers.REGISTRY.items():
        if name not in references:
            gaps.append(f"{name}: no naive reference (naive.OPTIMIZERS[{name!r}] in "
                        f"tests/naive.py)")
        cases = [hp for k, hp in table if k == name and hp]
        if not cases:
            gaps.append(f"{name}: no variant case (a ({name!r}, {{...}}) row of VARIANTS in "
                        f"tests/test_optimizers.py)")
        for h in row.hypers:
            if not any(h.name in hp for hp in cases):
                gaps.append(f"{name}.{h.name}: no variant case sets it (VARIANTS in "
                            f"tests/test_optimizers.py)")
    for h in optimizers.COMMON:
        if not any(h.name in hp for _, hp in table):
            gaps.append(f"{h.name}: no variant case sets it (VARIANTS)")
    for name in sorted(set(references) - set(optimizers.REGISTRY)):
        gaps.append(f"{name}: a naive reference for no registry row")
    return gaps


def test_every_registry_row_has_a_naive_reference_and_variant_cases():
    gaps = registry_gaps(TABLE, naive.OPTIMIZERS)
    assert not gaps, "missing:\n" + "\n".join(gaps)
    assert set(optimizers.FACTORIES) == set(optimizers.REGISTRY) == set(optimizers.KINDS)
    assert {k for k, _ in DEFAULTS} == set(optimizers.REGISTRY)


def test_the_completeness_check_names_the_missing_piece():
    refs = {k: v for k, v in naive.OPTIMIZERS.items() if k != "lion"}
    table = [c for c in TABLE if c[0] != "rprop"
             and not (c[0] == "adam" and "amsgrad" in c[1])]
    gaps = registry_gaps(table, refs)
    assert any(g.startswith("lion: no naive reference") for g in gaps)
    assert any(g.startswith("rprop: no variant case") for g in gaps)
    assert any(g.startswith("adam.amsgrad: no variant case") for g in gaps)


@pytest.mark.parametrize("case", TABLE, ids=_id)
def test_spec_hyperparameters_reach_their_kernel_columns(case):
    kind, hp = case
    cfg = full_hyper(kind, hp)
    for name, value in hp.items():
        assert cfg[name] == value
    reg = optimizers.REGISTRY[kind]
    row = hp_row(kind, hp)
    cols = [h.column for h in reg.all_hypers if h.column is not None]
    assert len(cols) == len(set(cols)), "two hyperparameters of one row share a column"
    assert row[ids.HP_LR] == cfg["lr"]
    for h in reg.all_hypers:
        if h.column is not None:
            v = cfg[h.name]
            assert row[h.column] == (0.0 if v is None else float(v)), h.name
    for col, value in reg.fixed:
        assert col not in cols and row[col] == value
    sched = S.parse(cfg["schedule"])
    main = sched.then if sched.kind == "warmup" else sched
    assert row[ids.HP_SCHED] == S.SCHED_IDS[main.kind]
    assert row[ids.HP_WARMUP] == (sched.steps if sched.kind == "warmup" else 0.0)
    assert row[ids.HP_SIGMA] == 0.0


def test_torch_defaults():
    """The registry's defaults are torch.optim's (test_torch_oracle.py reads them from torch's
    signatures), Lion's optax's, Signum's Bernstein et al.'s."""
    h = {k: full_hyper(k, {}) for k in optimizers.REGISTRY}
    assert h["sgd"]["lr"] == 0.01
    assert h["momentum"]["momentum"] == 0.9 and h["nesterov"]["momentum"] == 0.9
    assert h["momentum"]["dampening"] == 0.0
    assert (h["adagrad"]["eps"], h["adagrad"]["initial_accumulator"]) == (1e-10, 0.0)
    assert (h["rmsprop"]["alpha"], h["rmsprop"]["eps"], h["rmsprop"]["centered"]) == \
        (0.99, 1e-8, False)
    assert (h["adam"]["lr"], h["adam"]["b1"], h["adam"]["b2"], h["adam"]["eps"],
            h["adam"]["bias_correction"], h["adam"]["amsgrad"]) == \
        (0.001, 0.9, 0.999, 1e-8, True, False)
    assert (h["adamw"]["lr"], h["adamw"]["weight_decay"]) == (0.001, 0.01)
    assert (h["adamax"]["lr"], h["adamax"]["eps"]) == (0.002, 1e-8)
    assert (h["nadam"]["lr"], h["nadam"]["momentum_decay"]) == (0.002, 0.004)
    assert h["radam"]["lr"] == 0.001
    assert (h["adadelta"]["lr"], h["adadelta"]["rho"], h["adadelta"]["eps"]) == (1.0, 0.9, 1e-6)
    assert (h["rprop"]["lr"], h["rprop"]["etaminus"], h["rprop"]["etaplus"],
            h["rprop"]["step_min"], h["rprop"]["step_max"]) == (0.01, 0.5, 1.2, 1e-6, 50.0)
    assert (h["lion"]["lr"], h["lion"]["b1"], h["lion"]["b2"], h["lion"]["weight_decay"]) == \
        (1e-4, 0.9, 0.99, 1e-3)
    assert h["signum"]["momentum"] == 0.9
    for k in optimizers.REGISTRY:
        assert (h[k]["schedule"], h[k]["clip_norm"], h[k]["clip_value"]) == (None, None, None)
        if k not in ("adamw", "lion"):
            assert h[k].get("weight_decay", 0.0) == 0.0


# --------------------------------------------------------------------------------------------
# compiled update vs naive, float64
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", TABLE, ids=_id)
def test_single_step_matches_naive(case):
    kind, hp = case
    dim, n = 7, 4
    X0 = np.random.default_rng(1).uniform(-3, 3, (n, dim))
    G = np.stack([gradient_sequence(1, dim, seed=2 + r) for r in range(n)], axis=1)
    got = kernel_positions_lanes(kind, hp, X0, G)
    for r in range(n):                               # each trajectory on its own
        want = reference(kind, hp, X0[r], G[:, r])
        np.testing.assert_allclose(got[:, r], want, rtol=1e-12, atol=0)
        assert not np.array_equal(got[0, r], X0[r])  # a step was taken


@pytest.mark.parametrize("case", TABLE, ids=_id)
def test_fifty_steps_match_naive(case):
    kind, hp = case
    dim, n = 5, 4
    X0 = np.random.default_rng(3).uniform(-3, 3, (n, dim))
    G = np.stack([gradient_sequence(50, dim, seed=40 + r) for r in range(n)], axis=1)
    got = kernel_positions_lanes(kind, hp, X0, G)
    for r in range(n):
        want = reference(kind, hp, X0[r], G[:, r])
        np.testing.assert_allclose(got[:, r], want, rtol=1e-12, atol=1e-14)


def test_first_steps_are_the_documented_ones():
    """Hand-computed first steps (independent of both implementations' loops)."""
    g = np.array([[0.5, -2.0, 0.0]])
    x0 = np.zeros(3)
    # Adagrad, S0 = 0: lr·sign(g) (up to ε)
    got = kernel_positions("adagrad", {"lr": 0.1}, x0, g)[0]
    np.testing.assert_allclose(got, [-0.1, 0.1, 0.0], rtol=1e-9)
    # Adam with bias correction: the first step is lr·sign(g)
    got = kernel_positions("adam", {"lr": 0.1}, x0, g)[0]
    np.testing.assert_allclose(got, [-0.1, 0.1, 0.0], rtol=1e-7)
    # Adam without bias correction: (1−β1)/√(1−β2) · lr·sign(g) = 0.1/√0.001 · lr
    got = kernel_positions("adam", {"lr": 0.1, "bias_correction": False}, x0, g)[0]
    k = 0.1 / math.sqrt(0.001)
    np.testing.assert_allclose(got, [-0.1 * k, 0.1 * k, 0.0], rtol=1e-5)  # ε/(√v) ≈ 6e-7
    # RMSprop: lr·g/(√((1−α)g²) + ε) = lr·sign(g)/√(1−α)
    got = kernel_positions("rmsprop", {"lr": 0.01}, x0, g)[0]
    np.testing.assert_allclose(got, [-0.1, 0.1, 0.0], rtol=1e-6)
    # Nesterov: x1 = −lr·(1 + μ)·g
    got = kernel_positions("nesterov", {"lr": 0.1, "momentum": 0.5}, x0, g)[0]
    np.testing.assert_allclose(got, -0.1 * 1.5 * g[0], rtol=1e-15)
    # Momentum, two steps of a constant g: x2 = −lr·(1 + (1 + μ))·g
    got = kernel_positions("momentum", {"lr": 0.1, "momentum": 0.5}, x0, np.vstack([g, g]))[1]
    np.testing.assert_allclose(got, -0.1 * 2.5 * g[0], rtol=1e-15)


def test_bias_correction_uses_the_absolute_step():
    """Adam at step t must use 1 − β1ᵗ, 1 − β2ᵗ: with a constant gradient every bias-corrected
    step is lr·g/(|g| + ε), at t = 1 and at t = 200 alike."""
    g = np.tile([1.0, -3.0, 0.25], (200, 1))
    x = kernel_positions("adam", {"lr": 0.01}, np.zeros(3), g)
    steps = np.diff(np.vstack([np.zeros(3), x]), axis=0)
    want = -0.01 * g / (np.abs(g) + 1e-8)
    np.testing.assert_allclose(steps, want, rtol=1e-9)


# --------------------------------------------------------------------------------------------
# end to end: swarm.path on real landscapes, driven by the naive landscape gradient
# --------------------------------------------------------------------------------------------

PATH_LANDSCAPES = [
    ("rastrigin", lambda: landscapes.rastrigin(2, rotate=True)),
    ("styblinski_tang", lambda: landscapes.styblinski_tang(3)),
    ("himmelblau", lambda: landscapes.himmelblau(rotate=True)),
    ("double_well", lambda: landscapes.double_well(3, -0.1)),
    ("gaussian_peaks", lambda: landscapes.gaussian_peaks(4, 21)),
    ("levy", lambda: landscapes.levy(2)),
]
PATH_OPTIMIZERS = [
    ("sgd", {"lr": 1e-3}),
    ("momentum", {"lr": 1e-3, "momentum": 0.9}),
    ("nesterov", {"lr": 1e-3, "momentum": 0.9}),
    ("adagrad", {"lr": 0.05}),
    ("rmsprop", {"lr": 1e-3, "centered": True}),
    ("adam", {"lr": 0.01}),
    ("adam", {"lr": 0.01, "bias_correction": False, "eps_inside": True}),
    ("adamw", {"lr": 0.01, "amsgrad": True}),
    ("nadam", {"weight_decay": 0.01}),
    ("radam", {"lr": 0.01, "b2": 0.9, "decoupled_weight_decay": True, "weight_decay": 0.1}),
    ("adadelta", {}),
    ("momentum", {"lr": 1e-3, "dampening": 0.5, "clip_norm": 5.0,
                  "schedule": S.warmup(5, then=S.cosine(T_max=50))}),
]


@pytest.mark.parametrize("land", PATH_LANDSCAPES, ids=[n for n, _ in PATH_LANDSCAPES])
@pytest.mark.parametrize("case", PATH_OPTIMIZERS, ids=_id)
def test_path_matches_naive_end_to_end(land, case):
    _, make = land
    kind, hp = case
    inst = make().instance(seed=11, index=2)
    rng = np.random.default_rng(5)
    x0 = inst.x_star + rng.uniform(-0.3, 0.3, inst.dim)
    got = swarm.path(inst, spec(kind, hp), x0, steps=50)
    assert got.shape == (51, inst.dim)
    np.testing.assert_array_equal(got[0], x0)
    _, grad = naive.for_instance(inst)
    want = reference(kind, hp, x0, grad, steps=50)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got[1:], want, rtol=1e-10, atol=1e-12)
    assert np.max(np.abs(got[-1] - x0)) > 1e-4       # it moved


def test_path_from_a_minimum_stays_put_for_sgd():
    inst = landscapes.styblinski_tang(2).instance(0, 0)
    got = swarm.path(inst, optimizers.sgd(lr=0.001), inst.x_star, steps=20)
    np.testing.assert_allclose(got, np.broadcast_to(inst.x_star, got.shape), atol=1e-12)


# --------------------------------------------------------------------------------------------
# float32 kernels agree with float64
# --------------------------------------------------------------------------------------------

# centered + bias-corrected RMSprop divides by √(v̂ − ḡ̂²) = √0 on the first step (exactly 0 in
# exact arithmetic): rounding noise, not a precision question; it is left out here.
FLOAT32_TABLE = [c for c in TABLE
                 if not (c[0] == "rmsprop" and c[1].get("centered")
                         and c[1].get("bias_correction"))]


@pytest.mark.parametrize("case", FLOAT32_TABLE, ids=_id)
def test_float32_update_agrees_with_float64(case):
    kind, hp = case
    dim = 6
    # from x0 = 0, so that the error measured is the optimizer's, not the rounding of a large
    # position (ulp(3) in float32 is already 1e-4 of a 1e-3 move)
    x0 = np.zeros(dim)
    for seed in (7, 8, 9):
        grads = gradient_sequence(5, dim, seed=seed).astype(np.float32).astype(np.float64)
        grads[grads == 0] = 0.3                  # no 0/ε steps: those are exact in both
        p64 = kernel_positions(kind, hp, x0, grads, np.float64)
        p32 = kernel_positions(kind, hp, x0, grads, np.float32)
        # relative to the largest move so far (a sign method can come back to x0 exactly)
        moved = np.maximum.accumulate(np.max(np.abs(p64 - x0), axis=1))
        err = np.max(np.abs(p32 - p64), axis=1) / moved
        assert np.all(err <= 1e-5), err
        assert np.any(p32 != p64)                # really ran in float32


@pytest.mark.parametrize("case", [("sgd", {"lr": 1e-3}), ("adam", {"lr": 0.01}),
                                  ("momentum", {"lr": 1e-3})], ids=_id)
def test_float32_path_agrees_with_float64(case):
    kind, hp = case
    inst = landscapes.styblinski_tang(2, rotate=True).instance(3, 1)
    x0 = inst.x_star + 0.25
    p64 = swarm.path(inst, spec(kind, hp), x0, steps=5)
    p32 = swarm.path(inst, spec(kind, hp), x0, steps=5, dtype="float32")
    assert p32.dtype == np.float64 and np.all(np.isfinite(p32))
    np.testing.assert_allclose(p32, p64, rtol=1e-5, atol=1e-5)
    assert not np.array_equal(p32, p64)          # really ran in float32


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------

BAD_SPECS = [
    (lambda: optimizers.adam(lr=0), "lr"),
    (lambda: optimizers.adam(lr=-1), "lr"),
    (lambda: optimizers.adam(lr=float("nan")), "lr"),
    (lambda: optimizers.sgd(lr=float("inf")), "lr"),
    (lambda: optimizers.momentum(momentum=1.0), "momentum.momentum"),
    (lambda: optimizers.nesterov(momentum=-0.5), "nesterov.momentum"),
    (lambda: optimizers.adam(b1=1.0), "b1"),
    (lambda: optimizers.adam(b2=-0.1), "b2"),
    (lambda: optimizers.rmsprop(alpha=1.5), "alpha"),
    (lambda: optimizers.adagrad(eps=-1e-10), "eps"),
    (lambda: optimizers.adagrad(initial_accumulator=-0.1), "initial_accumulator"),
    (lambda: optimizers.rmsprop(centered="yes"), "centered"),
    (lambda: optimizers.adam(bias_correction=1), "bias_correction"),
    (lambda: optimizers.adam(lr=[0.1, -0.1]), "lr"),
    (lambda: optimizers.adam(lr=[]), "lr"),
    (lambda: optimizers.Optimizer("adam", (("momentum", 0.9),)), "momentum"),
    (lambda: optimizers.Optimizer("sgd", (("foo", 1.0),)), "foo"),
    (lambda: optimizers.Optimizer("lbfgs"), "lbfgs"),
    (lambda: optimizers.from_dict({"kind": "adam", "params": {"foo": 1.0}}), "foo"),
    (lambda: optimizers.from_dict({"kind": "sgd", "params": {"momentum": 0.9}}), "momentum"),
    # the registry's new hyperparameters: torch's ranges
    (lambda: optimizers.rprop(etaminus=1.5), "rprop.etaminus"),
    (lambda: optimizers.rprop(etaminus=0.0), "rprop.etaminus"),
    (lambda: optimizers.rprop(etaplus=1.0), "rprop.etaplus"),
    (lambda: optimizers.rprop(step_min=1.0, step_max=0.5), "step_min"),
    (lambda: optimizers.rprop(step_max=0.0), "rprop.step_max"),
    (lambda: optimizers.rprop(weight_decay=0.1), "weight_decay"),   # torch's Rprop has none
    (lambda: optimizers.lion(b2=1.0), "lion.b2"),
    (lambda: optimizers.lion(weight_decay=-0.1), "lion.weight_decay"),
    (lambda: optimizers.adam(weight_decay=-1), "adam.weight_decay"),
    (lambda: optimizers.adamw(weight_decay=float("nan")), "adamw.weight_decay"),
    (lambda: optimizers.adamw(decoupled_weight_decay=True), "decoupled_weight_decay"),
    (lambda: optimizers.adam(amsgrad="yes"), "adam.amsgrad"),
    (lambda: optimizers.radam(decoupled_weight_decay=1), "radam.decoupled_weight_decay"),
    (lambda: optimizers.momentum(dampening=1.5), "momentum.dampening"),
    (lambda: optimizers.momentum(dampening=-0.1), "momentum.dampening"),
    (lambda: optimizers.nesterov(dampening=0.1), "dampening"),     # torch refuses it too
    (lambda: optimizers.adadelta(rho=1.5), "adadelta.rho"),
    (lambda: optimizers.nadam(momentum_decay=-1), "nadam.momentum_decay"),
    (lambda: optimizers.signum(momentum=1.0), "signum.momentum"),
    (lambda: optimizers.signsgd(momentum=0.5), "momentum"),
    (lambda: optimizers.adamax(b1=1.0), "adamax.b1"),
    (lambda: optimizers.sgd(clip_norm=0), "sgd.clip_norm"),
    (lambda: optimizers.sgd(clip_norm=float("nan")), "sgd.clip_norm"),
    (lambda: optimizers.adam(clip_value=-1), "adam.clip_value"),
    (lambda: optimizers.adam(schedule="bogus"), "adam.schedule"),
    (lambda: optimizers.sgd(schedule=[S.cosine(10), "step(0)"]), "sgd.schedule"),
]


def _bad_id(i):
    return f"{i}-{BAD_SPECS[i][1]}"


@pytest.mark.parametrize("make,field", BAD_SPECS, ids=[_bad_id(i) for i in range(len(BAD_SPECS))])
def test_bad_hyperparameters_raise_value_error_naming_the_field(make, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        make()


def test_lr_message_states_the_range_that_is_accepted():
    # inf is refused, so the range is open at both ends
    for bad in (0, -1.0, float("inf")):
        with pytest.raises(ValueError, match=r"sgd\.lr must be (finite, )?in \(0\.0, inf\)"):
            optimizers.sgd(lr=bad)
    assert optimizers.sgd(lr=1e300).hyper["lr"] == 1e300       # any finite lr > 0 is accepted
    with pytest.raises(ValueError, match=r"adam\.eps must be in \[0\.0, inf\), got -1"):
        optimizers.adam(eps=-1)


@pytest.mark.parametrize("case", TABLE, ids=_id)
def test_valid_specs_round_trip_through_dict(case):
    kind, hp = case
    o = spec(kind, hp)
    assert optimizers.from_dict(o.to_dict()).configs() == o.configs()


def test_grid_expands_to_configs():
    o = optimizers.adam(lr=[0.1, 0.01], b1=(0.8, 0.9))
    cfgs = o.configs()
    assert len(cfgs) == 4
    assert {(c["lr"], c["b1"]) for c in cfgs} == {(0.1, 0.8), (0.1, 0.9), (0.01, 0.8),
                                                  (0.01, 0.9)}
    with pytest.raises(ValueError, match="one configuration"):
        swarm.path(landscapes.double_well().instance(0, 0), o, [0.0], steps=3)
