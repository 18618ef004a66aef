"""Learning-rate schedules: the kernel's ``lr_at`` against torch.optim.lr_scheduler (every kind,
after a warm-up too), float32, the host-side ``Schedule.lrs``, text/dict round trips, and the
messages for bad input."""
import json
import math
import warnings

import numba
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.optim import lr_scheduler as TL

from swarm import schedules as S
from swarm.kernels import ids
from swarm.kernels import schedules as ks

STEPS = 300
LR = 0.05


@pytest.fixture(scope="module")
def lr64():
    return ks.make(numba.njit, np.float64)


@pytest.fixture(scope="module")
def lr32():
    return ks.make(numba.njit, np.float32)


def row(cols, lr=LR, dtype=np.float64):
    hp = np.zeros(ids.HP_SIZE)
    hp[ids.HP_LR] = lr
    for c, v in cols.items():
        hp[c] = v
    return hp.astype(dtype)


def kernel_lrs(lr_at, hp, steps=STEPS):
    return np.array([lr_at(hp, t) for t in range(1, steps + 1)], dtype=np.float64)


def _after(opt, s):
    """The torch scheduler of a non-warm-up Schedule."""
    if s.kind == "constant":
        return TL.LambdaLR(opt, lambda e: 1.0)
    if s.kind == "step":
        return TL.StepLR(opt, step_size=s.step_size, gamma=s.gamma)
    if s.kind == "multistep":
        return TL.MultiStepLR(opt, milestones=list(s.milestones), gamma=s.gamma)
    if s.kind == "exponential":
        return TL.ExponentialLR(opt, gamma=s.gamma)
    if s.kind == "cosine":
        return TL.CosineAnnealingLR(opt, T_max=s.T_max, eta_min=s.eta_min)
    g = s.gamma
    return TL.LambdaLR(opt, lambda e: 1.0 / (1.0 + g * e))


def torch_lrs(make_scheduler, lr=LR, steps=STEPS):
    """``optimizer.param_groups[0]["lr"]`` before each ``scheduler.step()``: the rate of
    updates 1 … steps."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr)
    sched = make_scheduler(opt)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # no deprecated path of torch's may be taken
        for _ in range(steps):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
    return np.array(out)


def torch_schedule(s):
    if s.kind != "warmup":
        return lambda opt: _after(opt, s)

    def make(opt):
        warm = TL.LinearLR(opt, start_factor=s.start_factor, end_factor=1.0,
                           total_iters=s.steps)
        return TL.SequentialLR(opt, [warm, _after(opt, s.then)], milestones=[s.steps])
    return make


PLAIN = [
    S.constant(),
    S.step(1, 0.9), S.step(7, 0.5), S.step(30), S.step(299, 0.3), S.step(300, 0.3),
    S.multistep([1], 0.5), S.multistep([10, 50, 299], 0.3), S.multistep([300, 301]),
    S.multistep([1, 2, 3, 4, 5, 6, 7, 8], 0.9), S.multistep([2, 40], 2.0),
    S.exponential(0.99), S.exponential(0.5), S.exponential(1.01),
    S.cosine(300), S.cosine(50), S.cosine(37, eta_min=0.01), S.cosine(1), S.cosine(2, 0.02),
    S.cosine(299, eta_min=0.2 * LR),
    S.inverse_time(0.01), S.inverse_time(2.0), S.inverse_time(1e-5),
]
THEN = [S.constant(), S.step(7, 0.5), S.multistep([10, 50], 0.3), S.exponential(0.99),
        S.cosine(50, eta_min=0.01), S.inverse_time(0.1)]
WARM = [S.warmup(W, then=t, start_factor=sf)
        for t in THEN for W, sf in [(10, 1 / 3), (37, 0.1), (1, 0.1)]]
WARM += [S.warmup(5), S.warmup(299, S.cosine(10)), S.warmup(400, S.cosine(10), 0.5),
         S.warmup(3, S.step(1, 0.5), 1.0)]
CASES = PLAIN + WARM


@pytest.mark.parametrize("s", CASES, ids=str)
def test_kernel_matches_torch(s, lr64):
    want = torch_lrs(torch_schedule(s))
    got = kernel_lrs(lr64, row(s.columns()))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * LR)


@pytest.mark.parametrize("milestones", [[5, 5, 20], [0, 3], [1, 1, 1], [299, 299]])
def test_repeated_milestones_count_twice_like_torch(milestones, lr64):
    """Schedule.multistep takes increasing milestones; the kernel counts a repeated one once
    per occurrence, and a milestone 0 from the start, as torch's Counter does."""
    cols = {ids.HP_SCHED: ids.SCHED_MULTISTEP, ids.HP_SCH_GAMMA: 0.5}
    for i in range(ids.MAX_MILESTONES):
        cols[ids.HP_MILESTONES + i] = milestones[i] if i < len(milestones) else math.inf
    want = torch_lrs(lambda opt: TL.MultiStepLR(opt, milestones=milestones, gamma=0.5))
    np.testing.assert_allclose(kernel_lrs(lr64, row(cols)), want, rtol=0, atol=1e-12 * LR)


def test_sequential_lr_restarts_the_schedule_at_its_epoch_0():
    """torch's SequentialLR hands over at epoch W with the next scheduler's closed form at its
    epoch 0 (``_update_lr(0)``), not at epoch W: the schedule after a warm-up starts afresh.
    (Were it otherwise, exponential(0.5) after 3 warm-up steps would start at lr/8.)"""
    s = S.warmup(3, S.exponential(0.5), start_factor=0.1)
    got = torch_lrs(torch_schedule(s), lr=1.0, steps=8)
    np.testing.assert_allclose(got, [0.1, 0.4, 0.7, 1.0, 0.5, 0.25, 0.125, 0.0625],
                               rtol=0, atol=1e-15)


def test_constant_is_the_hot_path(lr64):
    """The constant schedule without warm-up leaves HP_SCHED and HP_WARMUP at 0 (the kernel's
    one compare), so does an all-zero row of a caller that sets no schedule, and columns()
    never sets the learning rate."""
    cols = S.constant().columns()
    assert cols[ids.HP_SCHED] == 0 and cols[ids.HP_WARMUP] == 0
    for s in CASES:
        c = s.columns()
        assert ids.HP_LR not in c
        assert set(c) == set(range(ids.HP_SCHED, ids.HP_MILESTONES + ids.MAX_MILESTONES))
    hp = np.zeros(ids.HP_SIZE)
    hp[ids.HP_LR] = 0.3
    assert lr64(hp, 1) == lr64(hp, 10 ** 9) == 0.3


def test_float32_compiles_and_is_close(lr32, lr64):
    for s in CASES:
        hp32 = row(s.columns(), dtype=np.float32)
        got = kernel_lrs(lr32, hp32)
        want = kernel_lrs(lr64, hp32.astype(np.float64))    # the same (rounded) parameters
        scale = np.maximum(np.abs(want), LR)
        assert np.all(np.abs(got - want) <= 1e-6 * scale), str(s)
    assert all(sig.return_type == numba.float32 for sig in lr32.nopython_signatures)


def test_float32_stays_exact_in_long_runs(lr32, lr64):
    """The step count and the cosine's phase are integers: float32 keeps them exact at
    t ~ 10^7, where π·e/T in float32 would be off by whole periods."""
    for s in [S.cosine(100, 0.001), S.step(1000, 0.5), S.warmup(10, S.cosine(7))]:
        hp32 = row(s.columns(), dtype=np.float32)
        for t in [10 ** 7 + 1, 10 ** 7 + 37, 2 ** 31 + 5]:
            want = lr64(hp32.astype(np.float64), t)
            assert abs(lr32(hp32, t) - want) <= 1e-6 * LR, (str(s), t)


@pytest.mark.parametrize("s", CASES, ids=str)
def test_host_lrs_equal_the_kernel(s, lr64):
    for lr in (LR, 3.0):
        got = s.lrs(lr, STEPS)
        assert got.dtype == np.float64 and got.shape == (STEPS,)
        np.testing.assert_allclose(got, kernel_lrs(lr64, row(s.columns(), lr)),
                                   rtol=1e-14, atol=1e-15 * lr)
    assert s.lrs(LR, 0).shape == (0,)


# The CUDA build of lr_at is compiled (and checked free of local memory) with the whole kernel
# by tests/test_cuda.py's PTX tests.


# ------------------------------------------------------------------ text, dicts, round trips


def test_text_and_dict_forms():
    s = S.warmup(10, then=S.cosine(100), start_factor=0.25)
    assert str(S.cosine(100)) == "cosine(T_max=100, eta_min=0.0)"
    assert str(s) == "warmup(steps=10, start_factor=0.25, then=cosine(T_max=100, eta_min=0.0))"
    assert s.to_dict() == {"kind": "warmup", "steps": 10, "start_factor": 0.25,
                           "then": {"kind": "cosine", "T_max": 100, "eta_min": 0.0}}
    assert S.parse("warmup(10, then=cosine(100), start_factor=0.25)") == s
    assert S.parse({"kind": "warmup", "steps": 10, "start_factor": 0.25,
                    "then": "cosine(T_max=100)"}) == s
    assert S.parse(" constant ") == S.parse(None) == S.constant() == S.Schedule()
    assert S.parse(s) is s
    assert S.warmup(4).then == S.constant() and S.warmup(4).start_factor == 1 / 3
    assert S.step(3) == S.step(3, 0.1) and S.step(3, gamma=1).gamma == 1.0
    assert str(S.multistep([3, 9], 0.5)) == "multistep(milestones=[3, 9], gamma=0.5)"
    assert hash(s) == hash(S.parse(str(s)))
    for c in CASES:
        assert S.parse(str(c)) == c
        assert S.from_dict(json.loads(json.dumps(c.to_dict()))) == c


_pos = st.floats(min_value=0.0, exclude_min=True, allow_infinity=False, allow_nan=False)
_period = st.integers(1, S.MAX_PERIOD)
_plain = st.one_of(
    st.just(S.constant()),
    st.builds(S.step, _period, _pos),
    st.builds(S.multistep, st.lists(_period, min_size=1, max_size=ids.MAX_MILESTONES,
                                    unique=True).map(sorted), _pos),
    st.builds(S.exponential, _pos),
    st.builds(S.cosine, _period, st.floats(min_value=0.0, allow_infinity=False)),
    st.builds(S.inverse_time, _pos),
)
_schedules = st.one_of(_plain, st.builds(S.warmup, _period, _plain,
                                         st.floats(0.0, 1.0, exclude_min=True)))


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(s=_schedules)
def test_round_trips(s):
    assert S.parse(str(s)) == s
    assert str(S.parse(str(s))) == str(s)
    assert S.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    assert S.parse(s.to_dict()) == s


@pytest.mark.parametrize("bad, match", [
    ("exponential(gamma=0)", r"gamma must be in \(0.0, inf\)"),
    ("step(10, gamma=-0.5)", r"gamma must be in"),
    ({"kind": "inverse_time", "gamma": 0.0}, r"gamma must be in"),
    ("step(0)", r"step_size must be an integer in \[1, 16777216\]"),
    ("step(2.5)", r"step_size must be an integer"),
    ("multistep([3, 3])", r"milestones must be 1 to 8 increasing"),
    ("multistep([5, 2])", r"milestones must be 1 to 8 increasing"),
    ("multistep([])", r"milestones must be 1 to 8 increasing"),
    ("multistep([1, 2, 3, 4, 5, 6, 7, 8, 9])", r"got 9 of them"),
    ("multistep([0, 4])", r"milestones must be an integer in \[1,"),
    ("multistep(5)", r"milestones must be 1 to 8"),
    ("cosine(T_max=0)", r"T_max must be an integer in \[1,"),
    ("cosine(10, eta_min=-1)", r"eta_min must be in \[0.0, inf\)"),
    ("cosine", r"schedule 'cosine' takes the parameters T_max, eta_min: missing"),
    ({"kind": "cosine"}, r"schedule 'cosine' needs T_max"),
    ("warmup(0)", r"warmup steps must be an integer in \[1,"),
    ("warmup(3, start_factor=0)", r"start_factor must be in \(0.0, 1.0\]"),
    ("warmup(3, start_factor=1.5)", r"start_factor must be in"),
    ("warmup(3, then=warmup(2))", r"a warm-up's then must be one of .*not another warm-up"),
    ({"kind": "warmup", "steps": 2, "then": {"kind": "warmup", "steps": 1}}, r"not another"),
    ("cosinus(T_max=10)", r"schedule kind must be one of \['constant', 'step', 'multistep'"),
    ({"kind": "linear"}, r"schedule kind must be one of"),
    ({"T_max": 3}, r"a schedule dict needs a 'kind'"),
    ({"kind": "cosine", "T_max": 3, "period": 4}, r"takes the parameters T_max, eta_min; "
                                                  r"unknown: period"),
    ("step(1, 2, 3)", r"schedule 'step' takes the parameters step_size, gamma"),
    ("step(size=3)", r"schedule 'step' takes the parameters step_size, gamma"),
    ("step(foo)", r"a schedule parameter must be a number"),
    ("step(True)", r"a schedule parameter must be a number"),
    ("step('3')", r"a schedule parameter must be a number"),
    ("__import__('os').system('true')", r"a schedule is written kind\(parameters\)"),
    ("cosine(T_max=100", r"a schedule is written kind\(parameters\)"),
    ("", r"a schedule is written kind\(parameters\)"),
    ("step(" * 300 + ")" * 300, r"schedule"),
    ("x" * 5000, r"at most 2000 characters"),
    (3.0, r"a schedule must be a string .* or a Schedule"),
    (["cosine"], r"a schedule must be a string"),
])
def test_bad_input_is_a_clear_value_error(bad, match):
    with pytest.raises(ValueError, match=match):
        S.parse(bad)


def test_bad_fields_of_a_direct_schedule():
    with pytest.raises(ValueError, match=r"schedule 'constant' takes no gamma"):
        S.Schedule("constant", gamma=0.5)
    with pytest.raises(ValueError, match=r"schedule kind must be one of"):
        S.Schedule("warm-up")
    with pytest.raises(ValueError, match=r"lr must be in \(0.0, inf\)"):
        S.constant().lrs(0.0, 5)
    with pytest.raises(ValueError, match=r"steps must be an integer"):
        S.constant().lrs(0.1, -1)


def test_an_unknown_schedule_kind_gives_nan_not_another_schedule(lr64):
    """The kernel's last branch is inverse_time only for its own id: a row with a kind no
    schedule has (which swarm.schedules never writes) yields NaN, so the trajectory diverges."""
    hp = row({ids.HP_SCHED: 99.0, ids.HP_SCH_GAMMA: 0.5})
    assert np.isnan(lr64(hp, 3))
    assert lr64(row({ids.HP_SCHED: float(ids.SCHED_INVERSE_TIME), ids.HP_SCH_GAMMA: 0.5}), 3) \
        == LR / (1 + 0.5 * 2)
