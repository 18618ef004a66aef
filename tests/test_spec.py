"""Study specs (TOML): parsing, grids and matched sweeps, located errors, running."""
import dataclasses
import textwrap
from pathlib import Path

import pytest

import swarm
from swarm import cli
from swarm import engine
from swarm import landscapes as L
from swarm import optimizers as O
from swarm.spec import SpecError, load_spec, loads_spec, render

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

BASE = textwrap.dedent("""\
    seed = 1
    instances = 2
    starts = 16

    [landscape]
    family = "double_well"
    dim = 1

    [[optimizers]]
    kind = "sgd"
    lr = 0.01
""")


def spec(text, name="study.toml"):
    return loads_spec(textwrap.dedent(text), name)


# ---------------------------------------------------------------- parsing

def test_minimal_spec_takes_swarm_run_defaults():
    s = spec("""\
        [landscape]
        family = "rastrigin"

        [[optimizers]]
        kind = "adam"
    """)
    assert s.landscape == L.rastrigin()
    assert s.optimizers == (O.adam(),)
    for k in ("instances", "starts", "steps", "seed", "dtype", "backend", "tol_x", "tol_f",
              "chunk_size", "device"):
        assert getattr(s, k) == engine.run.__kwdefaults__[k], k
    assert s.noise == (0.0,)
    assert s.start == swarm.starts.uniform()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.seed = 3


def test_full_spec_maps_every_key():
    s = spec("""\
        name = "n"
        description = "d"
        instances = 3
        starts = 50
        steps = 70
        noise = [0, 0.5]
        seed = 9
        dtype = "float32"
        backend = "auto"
        tol_x = 0.1
        tol_f = false
        chunk_size = 64
        device = 0

        [landscape]
        family = "gaussian_peaks"
        dim = 3
        peaks = 5
        rotate = false

        [start]
        rule = "gaussian"
        mu = [0, 1, 2]
        sd = 0.5

        [[optimizers]]
        kind = "rmsprop"
        lr = 0.02
        centered = [true, false]
        label = "RMS"
    """)
    assert (s.name, s.description) == ("n", "d")
    assert (s.instances, s.starts, s.steps, s.seed) == (3, 50, 70, 9)
    assert s.noise == (0.0, 0.5)
    assert (s.dtype, s.backend, s.tol_x, s.tol_f, s.chunk_size) == \
        ("float32", "auto", 0.1, None, 64)
    assert s.landscape == L.gaussian_peaks(dim=3, peaks=5, rotate=False)
    assert s.start == swarm.starts.gaussian([0, 1, 2], 0.5)
    assert s.optimizers == (O.rmsprop(lr=0.02, centered=[True, False], label="RMS"),)
    assert s.n_arms == 4 and s.n_trajectories == 4 * 3 * 50


def test_grids_are_cross_products():
    s = spec(BASE + """
        [[optimizers]]
        kind = "momentum"
        lr = [0.001, 0.002, 0.004]
        momentum = [0.5, 0.9]
    """)
    grid = s.optimizers[1]
    cfgs = [(c["lr"], c["momentum"]) for c in grid.configs()]
    assert cfgs == [(lr, m) for lr in (0.001, 0.002, 0.004) for m in (0.5, 0.9)]
    assert s.n_arms == 1 + 6


def test_matched_sweep_sets_lr_from_lr_eff_per_momentum():
    s = spec(BASE + """
        [[optimizers]]
        kind = "nesterov"
        label = "matched"
        momentum = [0.0, 0.5, 0.9, 0.99]
        lr_eff = [0.01, 0.04]
    """)
    matched = s.optimizers[1:]
    assert [o.label for o in matched] == ["matched"] * 4
    got = [(c["momentum"], c["lr"]) for o in matched for c in o.configs()]
    want = [(m, le * (1 - m)) for m in (0.0, 0.5, 0.9, 0.99) for le in (0.01, 0.04)]
    assert [m for m, _ in got] == [m for m, _ in want]
    for (_, lr), (_, ref) in zip(got, want):
        assert lr == pytest.approx(ref, rel=1e-14)
    assert got[4][1] == 0.001 and got[6][1] == 0.0001      # no binary noise: 0.01·(1 − 0.9)
    assert s.n_arms == 1 + 8


def test_matched_sweep_default_momentum_and_scalar_lr_eff():
    s = spec(BASE + """
        [[optimizers]]
        kind = "momentum"
        lr_eff = 0.05
    """)
    (cfg,) = s.optimizers[1].configs()
    assert (cfg["lr"], cfg["momentum"]) == (0.005, 0.9)


def test_start_forms_and_grid_sets_starts():
    s = spec(BASE.replace("starts = 16\n", 'start = {rule = "grid", n = 7}\n'))
    assert s.start == swarm.starts.grid(7) and s.starts == 7
    s = spec(BASE.replace("seed = 1\n", 'seed = 1\nstart = "at_minimum"\n'))
    assert s.start == swarm.starts.at_minimum()
    s = spec(BASE + '\n[start]\nrule = "at_minimum"\nk = 1\nsd = 0.1\n')
    assert s.start == swarm.starts.at_minimum(1, 0.1)
    s = spec(BASE + '\n[start]\nlow = -1\nhigh = [2]\n')
    assert s.start == swarm.starts.uniform(-1, [2])


def test_locations_survive_inline_tables_multiline_arrays_comments_crlf():
    text = ('landscape = {family = "gaussian_peaks", dim = 2}   # [not a table]\r\n'
            'optimizers = [\r\n'
            '  {kind = "sgd"},  # {\r\n'
            '  {kind = "adam", lr = [0.1,\r\n'
            '                        -2]},\r\n'
            ']\r\n')
    with pytest.raises(SpecError) as e:
        loads_spec(text, "s.toml")
    assert (e.value.line, e.value.key) == (5, "optimizers[1].lr[1]")
    assert str(e.value) == "s.toml:5: optimizers[1].lr[1] must be in (0.0, inf), got -2"


# ---------------------------------------------------------------- bad specs

BAD = [
    # (what, text, line, key, message fragment)
    ("unknown top-level key", "sed = 3\n" + BASE, 1, "sed",
     "sed is not a spec key (did you mean 'seed'?)"),
    ("top-level key after a table", BASE + "steps = 10\n", 12, "optimizers[0].steps",
     "top-level keys must come before the first [table] header"),
    ("unknown hyperparameter", BASE + '\n[[optimizers]]\nkind = "adam"\nbeta1 = 0.9\n', 15,
     "optimizers[1].beta1", "is not a hyperparameter of adam"),
    ("bad hyperparameter value", BASE + '\n[[optimizers]]\nkind = "momentum"\nmomentum = 1.2\n',
     15, "optimizers[1].momentum", "optimizers[1].momentum must be in [0.0, 1.0), got 1.2"),
    ("bad value in a grid", BASE.replace("lr = 0.01", "lr = [0.01, 0, 0.1]"), 11,
     "optimizers[0].lr[1]", "optimizers[0].lr[1] must be in (0.0, inf), got 0"),
    ("hyperparameter of the wrong type", BASE.replace("lr = 0.01", 'lr = "0.01"'), 11,
     "optimizers[0].lr", "optimizers[0].lr must be a real number, got '0.01'"),
    ("flag of the wrong type", BASE + '\n[[optimizers]]\nkind = "adam"\neps_inside = 1\n', 15,
     "optimizers[1].eps_inside", "must be True or False, got 1"),
    ("integer setting of the wrong type", BASE.replace("starts = 16", "starts = 16.0"), 3,
     "starts", "starts must be an integer, got 16.0"),
    ("setting out of range", BASE.replace("instances = 2", "instances = 0"), 2, "instances",
     "instances must be an integer in [1, "),
    ("string setting of the wrong type", "dtype = 64\n" + BASE, 1, "dtype",
     "dtype must be a string"),
    ("bad choice", 'backend = "gpu"\n' + BASE, 1, "backend",
     "backend must be one of ['auto', 'cpu', 'cuda'], got 'gpu'"),
    ("negative noise", "noise = [0.1, -1]\n" + BASE, 1, "noise[1]",
     "noise[1] must be in [0.0, inf), got -1"),
    ("unknown landscape", BASE.replace('"double_well"', '"double_wel"'), 6,
     "landscape.family", "landscape.family must be one of ["),
    ("unknown landscape parameter", BASE.replace("dim = 1", "dim = 1\npeaks = 3"), 8,
     "landscape.peaks", "landscape.peaks is not a parameter of double_well"),
    ("bad landscape parameter", BASE.replace("dim = 1", "dim = 1\ntilt = 0.5"), 8,
     "landscape.tilt", "landscape.tilt must be in (-0.3849"),
    ("unknown optimizer kind", BASE.replace('kind = "sgd"', 'kind = "lbfgs"'), 10,
     "optimizers[0].kind", "optimizers[0].kind must be one of ['adadelta', 'adagrad', 'adam'"),
    ("missing kind", BASE.replace('kind = "sgd"\n', ""), 9, "optimizers[0]",
     "optimizers[0].kind is missing"),
    ("lr_eff without momentum", BASE + "lr_eff = 0.1\n", 12, "optimizers[0].lr_eff",
     "lr_eff, a matched sweep, needs heavy-ball momentum: kinds momentum and nesterov"),
    ("lr_eff with lr", BASE + '\n[[optimizers]]\nkind = "momentum"\nlr = 0.1\nlr_eff = 1\n',
     16, "optimizers[1].lr_eff", "are exclusive"),
    ("bad lr_eff", BASE + '\n[[optimizers]]\nkind = "momentum"\nlr_eff = [1, -1]\n', 15,
     "optimizers[1].lr_eff[1]", "optimizers[1].lr_eff[1] must be in (0.0, inf), got -1"),
    ("optimizers as one table", BASE.replace("[[optimizers]]", "[optimizers]"), 9,
     "optimizers", "optimizers must be an array of tables"),
    ("start vector of the wrong length", BASE + '\n[start]\nrule = "point"\nx = [1, 2]\n', 15,
     "start.x", "start.x must be 1 finite numbers (dim = 1)"),
    ("missing start parameter", BASE + '\n[start]\nrule = "gaussian"\nmu = 0\n', 13, "start",
     "start.sd is required for rule = 'gaussian'"),
    ("unknown start rule", BASE + '\n[start]\nrule = "sobol"\n', 14, "start.rule",
     "start.rule must be one of"),
    ("grid start with the wrong count", BASE + '\n[start]\nrule = "grid"\nn = 5\n', 3,
     "starts", "starts must be n**dim = 5"),
    ("tol_f true", "tol_f = true\n" + BASE, 1, "tol_f", "or false to disable"),
    ("name not a string", "name = 3\n" + BASE, 1, "name", "name must be a string"),
    ("invalid TOML", BASE + "lr = 2\n", 12, "", "invalid TOML: Cannot overwrite a value"),
]


@pytest.mark.parametrize("what,text,line,key,fragment", BAD, ids=[b[0] for b in BAD])
def test_bad_spec_names_file_line_and_key(what, text, line, key, fragment):
    with pytest.raises(ValueError) as e:
        loads_spec(text, "study.toml")
    err = e.value
    assert isinstance(err, SpecError)
    assert (err.line, err.key) == (line, key), str(err)
    assert str(err).startswith(f"study.toml:{line}: "), str(err)
    assert fragment in str(err)
    if key and key != "optimizers[0]":        # a missing key is named after its table
        assert str(err).split(": ", 1)[1].startswith(key), str(err)
    assert "\n" not in str(err)


def test_missing_sections_name_the_file():
    with pytest.raises(SpecError, match=r"^study\.toml: landscape is missing"):
        loads_spec("seed = 1\n", "study.toml")
    with pytest.raises(SpecError, match=r"^study\.toml: optimizers is missing"):
        loads_spec('[landscape]\nfamily = "levy"\n', "study.toml")


def test_load_spec_file_errors(tmp_path):
    with pytest.raises(ValueError, match="nope.toml: no such spec file"):
        load_spec(tmp_path / "nope.toml")
    with pytest.raises(ValueError, match="is a directory"):
        load_spec(tmp_path)
    p = tmp_path / "bad.toml"
    p.write_text(BASE.replace("lr = 0.01", "lr = -1"))
    with pytest.raises(SpecError) as e:
        load_spec(p)
    assert str(e.value).startswith(f"{p}:11: optimizers[0].lr must be in (0.0, inf)")


def test_render():
    assert render(("optimizers", 1, "momentum", 0)) == "optimizers[1].momentum[0]"


# ---------------------------------------------------------------- examples

def test_examples_parse():
    files = sorted(EXAMPLES.glob("*.toml"))
    assert len(files) >= 3
    for f in files:
        s = load_spec(f)
        assert s.name and s.description and s.n_trajectories > 0, f


def test_six_optimizer_example_is_the_demo_at_any_size():
    s = load_spec(EXAMPLES / "six_optimizers.toml")
    tiny = dict(instances=2, starts=24, steps=30)
    res = s.run(**tiny)
    ref = swarm.run(L.gaussian_peaks(dim=2, peaks=21), cli.demo_optimizers(), noise=0.5,
                    seed=0, **tiny)
    assert res.hash == ref.hash
    assert [a["label"] for a in res.arms] == ["SGD", "Momentum", "Nesterov", "Adagrad",
                                              "RMSprop", "Adam"]


def test_matched_example_runs_tiny():
    s = load_spec(EXAMPLES / "double_well_noise.toml")
    res = s.run(starts=20, steps=20)
    assert len(res.arms) == s.n_arms == 24
    assert res.outcomes["diverged"].size == 24 * 20


# ---------------------------------------------------------------- running

def test_run_records_the_spec_and_round_trips(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(BASE)
    s = load_spec(p)
    calls = []
    res = s.run(steps=10, progress=calls.append)
    assert sum(calls) == s.n_trajectories
    assert res.study["file"] == str(p)
    assert res.study["toml"]["optimizers"] == [{"kind": "sgd", "lr": 0.01}]
    assert res.study["overrides"] == {"steps": 10}
    assert res.provenance["wall_s"] > 0
    assert res.spec["steps"] == 10 and res.spec["seed"] == 1
    back = swarm.load(res.save(tmp_path / "r"))
    assert back.study == res.study and back.hash == res.hash
    assert s.run(steps=10).hash == res.hash


def test_run_errors_are_located_unless_an_override_caused_them():
    s = spec(BASE + '\n[start]\nrule = "at_minimum"\nk = 5\n')   # the double well lists two
    with pytest.raises(SpecError) as e:
        s.run()
    assert (e.value.line, e.value.key) == (15, "start.k")
    assert "start.k must be in [0, 1]" in str(e.value)
    with pytest.raises(ValueError) as e:
        spec(BASE).run(instances=0)
    assert not isinstance(e.value, SpecError)
    assert str(e.value).startswith("instances must be an integer")
    with pytest.raises(ValueError, match="unknown override 'instance'"):
        spec(BASE).run(instance=3)


# ---------------------------------------------------------------- every registry row, schedules

def _toml(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v)


OPT = BASE.replace('kind = "sgd"\nlr = 0.01\n', "")


@pytest.mark.parametrize("kind", list(O.REGISTRY))
def test_every_registry_row_is_a_spec_kind_with_its_hyperparameters_as_keys(kind):
    row = O.REGISTRY[kind]
    keys = [f"{h.name} = {_toml(h.default)}" for h in row.hypers if h.default is not None]
    text = (OPT + f'kind = "{kind}"\n' + "\n".join(keys)
            + '\nschedule = "cosine(T_max=10)"\nclip_norm = 1.0\nclip_value = 2.0\n')
    (o,) = loads_spec(text, "s.toml").optimizers
    assert o.kind == kind
    cfg = o.hyper
    assert str(cfg["schedule"]) == "cosine(T_max=10, eta_min=0.0)", kind
    assert (cfg["clip_norm"], cfg["clip_value"]) == (1.0, 2.0)
    for h in row.hypers:
        assert cfg[h.name] == h.default, (kind, h.name)
    # a key the row lacks is refused, naming the row's keys
    with pytest.raises(SpecError, match=rf"not a hyperparameter of {kind}; allowed: kind, "
                                        rf"label, lr"):
        loads_spec(OPT + f'kind = "{kind}"\nnot_a_key = 1\n', "s.toml")


def test_schedule_as_string_table_and_grid():
    s = spec(OPT + 'kind = "sgd"\nlr = 0.1\nschedule = "cosine(T_max=1000)"\n')
    t = spec(OPT + 'kind = "sgd"\nlr = 0.1\nschedule = {kind = "cosine", T_max = 1000}\n')
    assert s.optimizers == t.optimizers == (O.sgd(lr=0.1, schedule="cosine(T_max=1000)"),)
    g = spec(OPT + 'kind = "adam"\nschedule = ["constant()", {kind = "warmup", steps = 5, '
                   'then = {kind = "step", step_size = 3}}, "exponential(gamma=0.99)"]\n')
    (o,) = g.optimizers
    assert o.n_configs == 3
    assert [str(c["schedule"]) for c in o.configs()] == [
        "constant()", "warmup(steps=5, start_factor=0.3333333333333333, then=step(step_size=3, "
                      "gamma=0.1))", "exponential(gamma=0.99)"]
    assert "schedule=[constant(), warmup(" in g.describe()
    w = spec(OPT + 'kind = "adamw"\nweight_decay = [0.0, 0.1]\namsgrad = true\n'
                   'clip_value = 1.0\n')
    assert w.optimizers == (O.adamw(weight_decay=[0.0, 0.1], amsgrad=True, clip_value=1.0),)
    assert "adamw(lr=0.001, b1=0.9, b2=0.999, amsgrad=True, weight_decay=[0, 0.1], " \
           "clip_value=1)" in w.describe()


@pytest.mark.parametrize("value,key,message", [
    ('"cos(T_max=10)"', "optimizers[0].schedule", r"kind must be one of \['constant'"),
    ('{kind = "cosine"}', "optimizers[0].schedule", r"'cosine' needs T_max .*table such as"),
    ('["constant()", {kind = "step"}]', "optimizers[0].schedule[1]", r"needs step_size"),
    ('[[1]]', "optimizers[0].schedule[0]", r"must be a single value"),
    ("3", "optimizers[0].schedule", r"a string such as"),
])
def test_bad_schedules_name_the_key_and_the_allowed_values(value, key, message):
    with pytest.raises(SpecError, match=message) as e:
        spec(OPT + f'kind = "sgd"\nschedule = {value}\n')
    assert e.value.key == key and e.value.line == 11
    assert str(e.value).startswith(f"study.toml:11: {key}")


def test_a_table_is_refused_for_other_hyperparameters():
    with pytest.raises(SpecError, match=r"optimizers\[0\]\.clip_norm must be a single value.*"
                                        r"allowed: \(0, inf\)"):
        spec(OPT + 'kind = "sgd"\nclip_norm = {a = 1}\n')


def test_matched_sweep_covers_every_row_with_a_momentum():
    from swarm.spec import MATCHED_KINDS, NOT_MATCHED
    with_momentum = {r.name for r in O.REGISTRY.values()
                     if "momentum" in [h.name for h in r.hypers]}
    assert with_momentum == set(MATCHED_KINDS) | set(NOT_MATCHED), \
        f"rows with a momentum but no matched-sweep decision: " \
        f"{sorted(with_momentum - set(MATCHED_KINDS) - set(NOT_MATCHED))}"
    for kind in MATCHED_KINDS:
        s = spec(OPT + f'kind = "{kind}"\nmomentum = 0.5\nlr_eff = [0.1, 0.2]\n')
        assert s.optimizers == (O.FACTORIES[kind](lr=[0.05, 0.1], momentum=0.5),)
    with pytest.raises(SpecError, match=r"lr_eff is not a hyperparameter of signum.*sign is "
                                        r"taken"):
        spec(OPT + 'kind = "signum"\nlr_eff = 0.1\n')
    # dampening d: the buffer adds (1 − d)·g, so lr = lr_eff·(1 − μ)/(1 − d)
    s = spec(OPT + 'kind = "momentum"\nmomentum = 0.5\ndampening = [0.0, 0.5]\nlr_eff = 0.1\n')
    assert s.optimizers == (O.momentum(lr=0.05, momentum=0.5),
                            O.momentum(lr=0.1, momentum=0.5, dampening=0.5))
    with pytest.raises(SpecError, match=r"dampening = 1 leaves no gradient"):
        spec(OPT + 'kind = "momentum"\ndampening = 1.0\nlr_eff = 0.1\n')
