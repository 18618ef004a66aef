"""torch.optim as the oracle: every registry row, at its defaults and with every option, fed
the same gradients as the naive reference (tests/naive.py) and the compiled kernel, position by
position in float64 over 100 steps.

The table is ``test_optimizers.TABLE`` (every row's defaults and the variants: weight decay L2
and decoupled, AMSGrad, dampening, Nesterov, centered RMSprop, Adagrad's initial accumulator,
clipping by norm and by value, learning-rate schedules) plus a few schedule cases here; torch
steps ``clip_grad_norm_`` / ``clip_grad_value_`` before ``optimizer.step()`` and its
``lr_scheduler`` after it. swarm's options that torch lacks (``bias_correction=False``,
``eps_inside``, RMSprop's bias correction) and the optimizers torch lacks (Lion, signSGD,
Signum) are checked against the naive reference only, and against optax where it is
installed. End to end, ``swarm.path`` on two landscapes is replayed through torch with the
gradients the kernel saw.
"""
import inspect
import os
import sys

import numpy as np
import pytest
import torch

import swarm
from swarm import landscapes, optimizers
from swarm import schedules as S

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import naive  # noqa: E402
from test_optimizers import (TABLE, _id, full_hyper, gradient_sequence,  # noqa: E402
                             kernel_positions_lanes, reference, spec)
from test_schedules import torch_schedule  # noqa: E402

STEPS = 100
RTOL = 1e-12            # max relative error of a position (float64)
DIMS = (1, 2, 5)        # one kernel block of 3 lanes each, its own start and gradients per lane
START_SCALES = (1.0, 0.1, 0.01)

# registry name → (torch class, torch arguments the row implies)
TORCH = {
    "sgd": (torch.optim.SGD, {}),
    "momentum": (torch.optim.SGD, {}),
    "nesterov": (torch.optim.SGD, {"nesterov": True}),
    "adagrad": (torch.optim.Adagrad, {}),
    "rmsprop": (torch.optim.RMSprop, {}),
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
    "adamax": (torch.optim.Adamax, {}),
    "nadam": (torch.optim.NAdam, {}),
    "radam": (torch.optim.RAdam, {}),
    "adadelta": (torch.optim.Adadelta, {}),
    "rprop": (torch.optim.Rprop, {}),
}
NO_TORCH = {
    "lion": "torch.optim has no Lion (Chen et al. 2023; optax.lion)",
    "signsgd": "torch.optim has no signSGD (Bernstein et al. 2018)",
    "signum": "torch.optim has no Signum (Bernstein et al. 2018)",
}
# swarm names → torch's where they differ: renamed, or one element of a torch tuple
RENAMED = {"initial_accumulator": "initial_accumulator_value"}
GROUPED = {"b1": ("betas", 0), "b2": ("betas", 1), "etaminus": ("etas", 0),
           "etaplus": ("etas", 1), "step_min": ("step_sizes", 0), "step_max": ("step_sizes", 1)}
PIPELINE = ("schedule", "clip_norm", "clip_value")      # not constructor arguments


def torch_form(kind, cfg):
    """(torch class, keyword arguments) of a configuration, or None where it has no torch
    equivalent (the row, or a swarm-only option away from torch's form)."""
    if kind not in TORCH:
        return None
    cls, kw = TORCH[kind]
    kw, grouped = dict(kw), {}
    for name, value in cfg.items():
        if name in PIPELINE:
            continue
        if name == "bias_correction":             # torch: Adam's on, RMSprop's off
            if value != (kind != "rmsprop"):
                return None
        elif name == "eps_inside":
            if value:
                return None
        elif name in GROUPED:
            key, i = GROUPED[name]
            grouped.setdefault(key, [None, None])[i] = value
        else:
            kw[RENAMED.get(name, name)] = value
    kw.update({k: tuple(v) for k, v in grouped.items()})
    return cls, kw


def torch_scheduler(opt, schedule):
    """torch.optim.lr_scheduler's form of a swarm schedule (test_schedules.torch_schedule), or
    None for the constant one."""
    s = S.parse(schedule)
    return None if s == S.constant() else torch_schedule(s)(opt)


@pytest.fixture(autouse=True)
def torch_float64():
    """torch keeps NAdam's μ product (and the step counters) in the default dtype: with
    float32 its positions differ from a float64 computation by ~1e-10, so the default is
    float64 here, as a float64 user would set it."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def torch_positions(kind, cfg, x0, G):
    """torch.optim's positions (steps, dim) from x0 fed the gradients G (steps, dim): p.grad
    set, clipped, ``optimizer.step()``, then ``scheduler.step()``."""
    cls, kw = torch_form(kind, cfg)
    p = torch.tensor(np.asarray(x0, dtype=np.float64), requires_grad=True)
    opt = cls([p], **kw)
    sched = torch_scheduler(opt, cfg["schedule"])
    out = np.empty((len(G), len(x0)))
    for t, g in enumerate(np.asarray(G, dtype=np.float64)):
        p.grad = torch.tensor(g)
        if cfg["clip_norm"] is not None:
            torch.nn.utils.clip_grad_norm_([p], cfg["clip_norm"])
        if cfg["clip_value"] is not None:
            torch.nn.utils.clip_grad_value_([p], cfg["clip_value"])
        opt.step()
        if sched is not None:
            sched.step()
        out[t] = p.detach().numpy()
    return out


def assert_close(got, want, what):
    """Position by position: |got − want| ≤ RTOL·size, the size being the largest coordinate
    of the trajectory so far (rounding errors are those of the largest numbers a step has
    handled; a coordinate that shrinks to 0 keeps their absolute size)."""
    size = np.maximum.accumulate(np.max(np.abs(want), axis=-1, keepdims=True), axis=0)
    rel = np.abs(got - want) / size
    assert np.all(np.isfinite(got)), f"{what}: not finite"
    t, j = np.unravel_index(np.argmax(rel), rel.shape)
    assert rel[t, j] <= RTOL, (f"{what}: max relative error {rel[t, j]:.3g} at step {t + 1}, "
                               f"coordinate {j}: {got[t, j]!r} vs {want[t, j]!r}")


def trajectories(dim, seed=0):
    """Starts (3, dim) at three scales and their gradient sequences (STEPS, 3, dim)."""
    rng = np.random.default_rng(100 + dim + seed)
    X0 = rng.uniform(-1, 1, (3, dim)) * np.array(START_SCALES)[:, None]
    G = np.stack([gradient_sequence(STEPS, dim, seed=1000 * seed + 10 * dim + r)
                  for r in range(3)], axis=1)
    return X0, G


# cases beyond test_optimizers.TABLE: schedules past their period, warm-ups into decays
EXTRA = [
    ("adam", {"lr": 0.01, "schedule": S.cosine(T_max=30, eta_min=1e-4)}),
    ("sgd", {"lr": 0.1, "schedule": S.warmup(10, then=S.step(20, gamma=0.5),
                                              start_factor=0.5)}),
    ("radam", {"lr": 0.01, "schedule": S.exponential(0.95), "clip_norm": 0.5}),
    ("adadelta", {"schedule": S.inverse_time(0.1), "clip_value": 0.1}),
    ("adamax", {"schedule": S.warmup(20, then=S.multistep([30, 60], gamma=0.2))}),
    ("rmsprop", {"alpha": 0.9, "schedule": S.cosine(T_max=100)}),
]
CASES = TABLE + EXTRA
TORCH_CASES = [c for c in CASES if torch_form(c[0], full_hyper(*c)) is not None]
NAIVE_ONLY = [c for c in CASES if torch_form(c[0], full_hyper(*c)) is None]


def test_every_row_is_compared_with_torch_or_says_why_not():
    rows = set(optimizers.REGISTRY)
    missing = sorted(rows - set(TORCH) - set(NO_TORCH))
    assert not missing, f"registry rows neither in TORCH nor in NO_TORCH: {missing}"
    assert not (set(TORCH) | set(NO_TORCH)) - rows
    for name in TORCH:           # at its defaults and with some option, against torch
        assert (name, {}) in TORCH_CASES, f"{name}: no torch case at its defaults"
        assert any(k == name and hp for k, hp in TORCH_CASES), f"{name}: no torch variant"
    for h in optimizers.COMMON:
        assert any(h.name in hp for _, hp in TORCH_CASES), f"{h.name}: no torch case"


def test_registry_defaults_are_torchs():
    """Every default of a row with a torch class is that class's signature default, except
    the differences listed here (the row's own meaning, or a documented choice)."""
    known = {("momentum", "momentum"), ("nesterov", "momentum"), ("nesterov", "nesterov"),
             # torch.optim.SGD's lr default became 1e-3 in torch 2.x; swarm keeps 0.01
             ("sgd", "lr"), ("momentum", "lr"), ("nesterov", "lr")}
    diffs = []
    for name in TORCH:
        cls, kw = torch_form(name, full_hyper(name, {}))
        params = inspect.signature(cls.__init__).parameters
        for k, v in kw.items():
            assert k in params, f"{name}: torch.optim.{cls.__name__} has no argument {k!r}"
            if (name, k) not in known and v != params[k].default:
                diffs.append(f"{name}.{k}: swarm {v!r}, torch {params[k].default!r}")
    assert not diffs, "\n".join(diffs)


def _torch_check(kind, hp, X0, G):
    cfg = full_hyper(kind, hp)
    got = kernel_positions_lanes(kind, hp, X0, G)
    for r in range(len(X0)):
        want = torch_positions(kind, cfg, X0[r], G[:, r])
        assert_close(reference(kind, hp, X0[r], G[:, r]), want, f"naive vs torch, lane {r}")
        assert_close(got[:, r], want, f"kernel vs torch, lane {r}")


@pytest.mark.parametrize("case", TORCH_CASES, ids=_id)
def test_naive_and_kernel_match_torch(case):
    kind, hp = case
    for dim in DIMS:
        _torch_check(kind, hp, *trajectories(dim))


@pytest.mark.parametrize("case", NAIVE_ONLY, ids=_id)
def test_kernel_matches_naive_where_torch_has_no_equivalent(case):
    kind, hp = case
    for dim in DIMS:
        X0, G = trajectories(dim)
        got = kernel_positions_lanes(kind, hp, X0, G)
        for r in range(len(X0)):
            assert_close(got[:, r], reference(kind, hp, X0[r], G[:, r]),
                         f"kernel vs naive, lane {r}")


@pytest.mark.parametrize("gamma", [0.05, 1.0])
def test_adagrad_lr_decay_is_the_inverse_time_schedule(gamma):
    """torch's Adagrad(lr_decay=γ) is swarm's adagrad(schedule=inverse_time(γ))."""
    hp = {"lr": 0.1, "schedule": S.inverse_time(gamma)}
    X0, G = trajectories(3)
    got = kernel_positions_lanes("adagrad", hp, X0, G)
    cfg = {**full_hyper("adagrad", {"lr": 0.1}), "lr_decay": gamma}
    for r in range(len(X0)):
        want = torch_positions("adagrad", cfg, X0[r], G[:, r])
        assert_close(got[:, r], want, f"kernel vs torch lr_decay, lane {r}")
        assert_close(naive.adagrad(X0[r], cfg, G[:, r]), want, f"naive lr_decay, lane {r}")


def test_torch_refuses_nesterov_with_dampening_and_so_does_swarm():
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError):
        torch.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, dampening=0.1)
    with pytest.raises(ValueError, match="dampening"):
        optimizers.nesterov(dampening=0.1)


# ---- optax, for the rows torch lacks ----------------------------------------------------------

def _optax_transform(kind, cfg):
    import optax
    if kind == "lion":
        return optax.lion(cfg["lr"], b1=cfg["b1"], b2=cfg["b2"],
                          weight_decay=cfg["weight_decay"])
    decay = optax.add_decayed_weights(cfg["weight_decay"])
    if kind == "signsgd":
        return optax.chain(decay, optax.scale_by_sign(), optax.scale(-cfg["lr"]))
    return optax.chain(decay, optax.ema(cfg["momentum"], debias=False),
                       optax.scale_by_sign(), optax.scale(-cfg["lr"]))


OPTAX_CASES = [c for c in CASES if c[0] in NO_TORCH and full_hyper(*c)["schedule"] is None
               and full_hyper(*c)["clip_norm"] is None and full_hyper(*c)["clip_value"] is None]


@pytest.mark.parametrize("case", OPTAX_CASES, ids=_id)
def test_sign_methods_match_optax(case):
    optax = pytest.importorskip(
        "optax", reason="optax is not installed: Lion, signSGD and Signum are checked against "
                        "the naive reference only (test_kernel_matches_naive_where_torch_…)")
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    kind, hp = case
    cfg = full_hyper(kind, hp)
    X0, G = trajectories(3)
    got = kernel_positions_lanes(kind, hp, X0, G)
    for r in range(len(X0)):
        tx = _optax_transform(kind, cfg)
        x = jnp.asarray(X0[r], dtype=jnp.float64)
        state = tx.init(x)
        want = []
        for g in G[:, r]:
            u, state = tx.update(jnp.asarray(g, dtype=jnp.float64), state, x)
            x = optax.apply_updates(x, u)
            want.append(np.asarray(x))
        assert_close(got[:, r], np.array(want), f"kernel vs optax, lane {r}")


# ---- end to end: swarm.path replayed through torch ---------------------------------------------

PATH_LANDSCAPES = [
    ("rastrigin", lambda: landscapes.rastrigin(dim=2).instance(0, 0)),
    ("gaussian_peaks", lambda: landscapes.gaussian_peaks(dim=3).instance(0, 0)),
]
PATH_STEPS = 60
PATH_CASES = [(name, {}) for name in optimizers.REGISTRY] + [
    ("adamw", {"lr": 0.01, "schedule": S.cosine(T_max=40), "clip_norm": 1.0}),
    ("momentum", {"dampening": 0.5, "weight_decay": 0.01, "clip_value": 0.5}),
    ("adam", {"lr": 0.01, "amsgrad": True, "schedule": S.warmup(10)}),
]


@pytest.mark.parametrize("land", PATH_LANDSCAPES, ids=[n for n, _ in PATH_LANDSCAPES])
@pytest.mark.parametrize("case", PATH_CASES, ids=_id)
def test_path_replayed_through_torch(land, case):
    """swarm.path's positions are torch's (or, for the rows torch lacks, the naive
    reference's) fed the gradients the kernel saw: the kernels' own gradient at the kernel's
    positions."""
    kind, hp = case
    inst = land[1]()
    x0 = inst.x_star + np.random.default_rng(7).uniform(-0.4, 0.4, inst.dim)
    got = swarm.path(inst, spec(kind, hp), x0, steps=PATH_STEPS)
    assert np.all(np.isfinite(got)) and np.array_equal(got[0], x0)
    G = inst.grad(got[:-1])
    want = reference(kind, hp, x0, G)
    if kind in TORCH:
        want_torch = torch_positions(kind, full_hyper(kind, hp), x0, G)
        assert_close(want, want_torch, "naive vs torch")
        want = want_torch
    assert_close(got[1:], want, "swarm.path vs torch" if kind in TORCH else
                 "swarm.path vs naive")
    assert np.max(np.abs(got[-1] - x0)) > 1e-6        # it moved
