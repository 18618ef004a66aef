"""Results directories you can trust (issue 19): symlinks, crafted files, concurrent writers,
float32 hit tests, sizes checked before reading, errors instead of tracebacks.

Each test reproduces one defect of the issue (it failed before the fix); the hypothesis test
at the end writes random corruptions of a small results directory and of a checkpoint and
asserts that loading and resuming give the original result or a ValueError naming the file —
never a traceback, another number, or a write outside the directory."""
import contextlib
import errno
import hashlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import swarm
from swarm import checkpoint, files
from swarm import landscapes as L
from swarm import optimizers as O
from swarm import result as R
from swarm import starts as S
from swarm.aggregate import arrays_hash
from swarm.kernels.cpu import LANES

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_resume import Stop, stop_after  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FAM = L.rastrigin(dim=2)
OPTS = [O.sgd(lr=0.01), O.adam(lr=0.05)]
SMALL = dict(instances=3, starts=20, steps=40, noise=0.3, seed=5)


def small(**kw):
    return swarm.run(FAM, OPTS, **{**SMALL, **kw})


def chunked(**kw):
    """3 key blocks per instance, one per chunk: 9 chunks."""
    args = dict(instances=3, starts=2 * LANES + 8, steps=30, noise=0.3, seed=7,
                chunk_size=len(OPTS) * LANES)
    args.update(kw)
    return swarm.run(FAM, OPTS, **args)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Reference results (kept outcomes and aggregates only), saved once; tests copy them."""
    base = tmp_path_factory.mktemp("saved")
    out = {}
    for keep in (True, False):
        res = small(keep_outcomes=keep)
        d = base / ("kept" if keep else "agg")
        res.save(d)
        out[keep] = (res, d)
    return out


def copy_of(saved, keep, tmp_path, name="r"):
    res, src = saved[keep]
    d = tmp_path / name
    shutil.copytree(src, d)
    return res, d


def npz_of(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def forge(d):
    """Rewrite manifest.json's hash so that it matches the files as they are now: what
    someone who crafts a directory (and knows how the hash is computed) would do."""
    m = json.loads((d / "manifest.json").read_text())
    spec = m["spec"]
    kept = m["kept_outcomes"]
    z = npz_of(d / ("outcomes.npz" if kept else "aggregate.npz"))
    study = {"n_global": int(np.asarray(z["n_global"]).ravel()[0]),
             "instances": spec["instances"], "starts": spec["starts"], "steps": spec["steps"],
             "arms": len(m["arms"])}
    if kept:
        m["outcome_hash"] = R.outcome_hash(z, study)
    else:
        h = arrays_hash({k: v for k, v in z.items() if k != "n_global"})
        m["outcome_hash"] = "aggregate:" + hashlib.sha256(
            (h + json.dumps(study, sort_keys=True)).encode()).hexdigest()
    m["manifest_hash"] = R.manifest_hash(m)
    (d / "manifest.json").write_text(json.dumps(m))


def rewrite(path, compressed=True, **arrays):
    z = npz_of(path)
    z.update(arrays)
    (np.savez_compressed if compressed else np.savez)(path, **z)


def tree(d):
    """{relative path: bytes} of every file under d (links as their target)."""
    out = {}
    for p in sorted(Path(d).rglob("*")):
        if p.is_symlink():
            out[str(p.relative_to(d))] = "-> " + os.readlink(p)
        elif p.is_file():
            out[str(p.relative_to(d))] = p.read_bytes()
    return out


# ------------------------------------------------------------- 1. symlinks (High)

def test_store_refuses_a_symlinked_chunks_folder_and_deletes_nothing_there(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "00000000.npz").write_bytes(b"precious")
    (victim / "data.npz").write_bytes(b"precious too")
    d = tmp_path / "out"
    d.mkdir()
    (d / checkpoint.CHUNKS).symlink_to(victim)
    before = tree(victim)
    with pytest.raises(ValueError, match="symbolic link"):
        small(checkpoint=d)
    assert tree(victim) == before


def test_results_are_never_written_through_symlinks(tmp_path, saved):
    res = saved[True][0]
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target").write_text("keep me")
    for name in ("manifest.json", "outcomes.npz", "aggregate.npz", "summary.csv", "figures"):
        d = tmp_path / f"r-{name}"
        d.mkdir()
        (d / name).symlink_to(outside / "target")
        with pytest.raises(ValueError, match="symbolic link"):
            res.save(d)
        assert (outside / "target").read_text() == "keep me"
        assert (d / name).is_symlink()
    d = tmp_path / "csv"
    d.mkdir()
    (d / "summary.csv").symlink_to(outside / "target")
    with pytest.raises(ValueError, match="symbolic link"):
        res.to_csv(d / "summary.csv")
    assert (outside / "target").read_text() == "keep me"
    # a temporary name planted as a link is not followed either
    d = tmp_path / "tmp-link"
    d.mkdir()
    (d / f".manifest.json.{os.getpid()}.tmp").symlink_to(outside / "target")
    res.save(d)
    assert (outside / "target").read_text() == "keep me"
    assert swarm.load(d).hash == res.hash


def test_clear_deletes_only_swarms_own_files(tmp_path):
    d = tmp_path / "ck"
    with pytest.raises(Stop):
        chunked(checkpoint=d, progress=stop_after(2))
    chunks = d / checkpoint.CHUNKS
    (chunks / "mine.npz").write_bytes(b"user data")
    (chunks / "notes.txt").write_text("user notes")
    outside = tmp_path / "outside.npz"
    outside.write_bytes(b"x")
    (chunks / "99999999.npz").symlink_to(outside)
    checkpoint.clear(d)
    assert sorted(p.name for p in chunks.iterdir()) == ["99999999.npz", "mine.npz",
                                                         "notes.txt"]
    assert outside.read_bytes() == b"x"
    assert not (d / checkpoint.STATE).exists()


def test_chunks_without_checkpoint_json_are_refused_not_deleted(tmp_path):
    d = tmp_path / "ck"
    with pytest.raises(Stop):
        chunked(checkpoint=d, progress=stop_after(3))
    (d / checkpoint.STATE).unlink()
    before = tree(d / checkpoint.CHUNKS)
    for resume in (False, True):
        with pytest.raises(ValueError, match="checkpoint.json is missing"):
            chunked(checkpoint=d, resume=resume)
    assert tree(d / checkpoint.CHUNKS) == before


# ------------------------------------------------------------- 2. crafted arrays (High)

def test_crafted_hit_steps_are_refused_before_the_tally(tmp_path, saved):
    res, d = copy_of(saved, True, tmp_path)
    hs = npz_of(d / "outcomes.npz")["hit_step"].copy()
    hs[0] = res.spec["steps"] + 50                     # past the histogram
    rewrite(d / "outcomes.npz", hit_step=hs)
    forge(d)
    with pytest.raises(ValueError, match=r"outcomes\.npz.*'hit_step'"):
        swarm.load(d)


def test_crafted_n_global_is_refused(tmp_path, saved):
    for keep, name in ((True, "outcomes.npz"), (False, "aggregate.npz")):
        res, d = copy_of(saved, keep, tmp_path, f"r{keep}")
        for bad in (np.array([2], np.int64), np.array([1, 1, 1], np.int64),
                    np.array([1.0]), np.array([0], np.int64)):
            rewrite(d / name, n_global=bad)
            forge(d)
            with pytest.raises(ValueError, match=rf"{name}.*n_global"):
                swarm.load(d)


def test_crafted_outcome_dtypes_and_shapes_are_refused(tmp_path, saved):
    res, d = copy_of(saved, True, tmp_path)
    z = npz_of(d / "outcomes.npz")
    for field, value in (("end_basin", z["end_basin"].astype(np.int32)),
                         ("diverged", z["diverged"].astype(np.int8)),
                         ("best_f", z["best_f"].astype(np.float32)),
                         ("start_basin", z["start_basin"][:-1]),
                         ("hit_step", z["hit_step"].reshape(2, -1))):
        shutil.rmtree(d)
        res, d = copy_of(saved, True, tmp_path)
        rewrite(d / "outcomes.npz", **{field: value})
        forge(d)
        with pytest.raises(ValueError, match=rf"outcomes\.npz.*{field}"):
            swarm.load(d)


AGG_EDITS = {
    "agg_hits": lambda z: z["agg_hits"][:, :-1],                        # a bin short
    "agg_counts": lambda z: z["agg_counts"][:1],                        # an arm missing
    "agg_i0": lambda z: np.array(2),                                    # rows past the end
    "agg_pairs": lambda z: z["agg_pairs"] - 1,                          # negative
    "agg_basins": lambda z: z["agg_basins"] + np.array([5, 0, 0, 0, 0]),  # arm 5 of 2
    "agg_grid": lambda z: z["agg_grid"][::-1].copy(),
    "agg_sum_best_f": lambda z: np.array(["1e5", "2"]),
    "agg_n_instances": lambda z: np.array(10 ** 6),
}


@pytest.mark.parametrize("field", sorted(AGG_EDITS))
def test_crafted_aggregate_arrays_are_refused_naming_the_field(tmp_path, saved, field):
    res, d = copy_of(saved, False, tmp_path)
    z = npz_of(d / "aggregate.npz")
    rewrite(d / "aggregate.npz", compressed=False, **{field: AGG_EDITS[field](z)})
    forge(d)
    with pytest.raises(ValueError, match=rf"aggregate\.npz.*{field}"):
        swarm.load(d)


def _forge_chunk(path, **changes):
    z = npz_of(path)
    z.pop("digest")
    z.update(changes)
    z["digest"] = np.array(files.digest(z))
    np.savez(path, **z)


def test_crafted_checkpoint_chunk_is_refused_before_the_tally(tmp_path):
    d = tmp_path / "ck"
    with pytest.raises(Stop):
        chunked(checkpoint=d, progress=stop_after(2), keep_outcomes=True)
    f = d / checkpoint.CHUNKS / "00000000.npz"
    hs = npz_of(f)["out_hit_step"].copy()
    hs[1, 3] = 10 ** 6
    _forge_chunk(f, out_hit_step=hs)
    with pytest.raises(ValueError, match=r"00000000\.npz.*hit_step"):
        chunked(checkpoint=d, resume=True, keep_outcomes=True)


# ------------------------------------------------------------- 3. one writer at a time (High)

HOLD = """
import sys, time
from swarm import files
lock = files.lock(sys.argv[1])
print("locked", flush=True)
time.sleep(60)
"""


@contextlib.contextmanager
def held(d):
    """Another process holding the lock of directory d."""
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(d)], stdout=subprocess.PIPE,
                         text=True, cwd=d.parent)
    try:
        assert p.stdout.readline().strip() == "locked"
        yield p
    finally:
        p.kill()
        p.wait()


def test_a_second_writer_is_refused_with_one_readable_line(tmp_path):
    d = tmp_path / "busy"
    d.mkdir()
    with held(d) as p:
        with pytest.raises(files.DirectoryBusy) as e:
            small(checkpoint=d)
        msg = str(e.value)
        assert "\n" not in msg and f"pid {p.pid}" in msg and "in use by another" in msg
        res = small()
        with pytest.raises(ValueError, match="in use by another swarm process"):
            res.save(d)
        assert sorted(x.name for x in d.iterdir()) == [files.LOCK]
    small(checkpoint=d)                       # the lock died with its holder
    res.save(d)
    assert swarm.load(d).hash == res.hash


CLI_SPEC = """
name = "race {k}"
instances = 2
starts = 600
steps = {steps}
seed = {k}
chunk_size = 300

[landscape]
family = "rastrigin"
dim = 2

[[optimizers]]
kind = "sgd"
lr = 0.01
"""


def _cli(args, cwd):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "swarm.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_runs_started_together_never_mix_their_results(tmp_path):
    specs = []
    for k in (1, 2):
        p = tmp_path / f"s{k}.toml"
        p.write_text(CLI_SPEC.format(k=k, steps=20000))
        specs.append(p)
    for attempt in range(4):
        d = tmp_path / f"out{attempt}"
        procs = [_cli(["run", str(s), "-o", str(d), "--quiet", "--no-report"], tmp_path)
                 for s in specs]
        results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
        codes = sorted(rc for rc, _ in results)
        for rc, err in results:
            assert "Traceback" not in err, err
            if rc:
                assert rc == 2 and len(err.strip().splitlines()) == 1, err
                assert "in use by another swarm process" in err or "different study" in err
        assert codes[0] == 0, results
        m = json.loads((d / "manifest.json").read_text())
        winner = [s for s in specs if hashlib.sha256(s.read_bytes()).hexdigest()
                  == m["study"]["sha256"]]
        assert len(winner) == 1
        assert swarm.load(d).hash == swarm.load_spec(winner[0]).run().hash
        assert not list(d.rglob("*.tmp"))
    # two --resume of one interrupted study at once: no crash, the study is whole
    d = tmp_path / "resumed"
    procs = [_cli(["run", str(specs[0]), "-o", str(d), "--quiet", "--no-report", "--resume"],
                  tmp_path) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    for rc, err in results:
        assert "Traceback" not in err and rc in (0, 2), err
    assert 0 in [rc for rc, _ in results]
    assert swarm.load(d).hash == swarm.load_spec(specs[0]).run().hash


# ------------------------------------------------------------- 4. the hash covers n_global

def test_editing_n_global_is_caught_by_the_hash(tmp_path, saved):
    for keep, name in ((True, "outcomes.npz"), (False, "aggregate.npz")):
        res, d = copy_of(saved, keep, tmp_path, f"r{keep}")
        rewrite(d / name, n_global=np.array([2], np.int64))
        with pytest.raises(ValueError, match="does not match the outcome hash"):
            swarm.load(d)


def test_the_hash_covers_n_global_and_the_study_sizes(saved):
    res = saved[True][0]
    other = R.Result(res.spec, res.arms, res.outcomes, np.full(res.instances, 2))
    assert other.hash != res.hash
    spec = dict(res.spec, steps=res.spec["steps"] + 1)
    assert R.Result(spec, res.arms, res.outcomes, res.n_global).hash != res.hash


# ------------------------------------------------------------- 5. sizes before reading

def _npy_header(shape, dtype="<i8"):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue()


def _maxrss_mb():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_huge_declared_arrays_and_zip_bombs_allocate_nothing(tmp_path, saved):
    res, d = copy_of(saved, True, tmp_path)
    good = npz_of(d / "outcomes.npz")
    before = _maxrss_mb()
    # a header declaring 10¹¹ elements, in a file of a few bytes
    with zipfile.ZipFile(d / "outcomes.npz", "w") as zf:
        for k, v in good.items():
            zf.writestr(f"{k}.npy", _npy_header((10 ** 11,)) if k == "hit_step"
                        else _npy_header(v.shape, v.dtype.str) + v.tobytes())
    with pytest.raises(ValueError, match=r"outcomes\.npz.*hit_step"):
        swarm.load(d)
    # a zip bomb: 1 GiB of zeros in a 1 MB member
    with zipfile.ZipFile(d / "outcomes.npz", "w", zipfile.ZIP_DEFLATED) as zf:
        for k, v in good.items():
            if k == "best_f":
                with zf.open("best_f.npy", "w", force_zip64=True) as w:
                    w.write(_npy_header((2 ** 27,), "<f8"))
                    block = bytes(1 << 24)
                    for _ in range(2 ** 30 // len(block)):
                        w.write(block)
            else:
                zf.writestr(f"{k}.npy", _npy_header(v.shape, v.dtype.str) + v.tobytes())
    assert (d / "outcomes.npz").stat().st_size < 8 << 20
    with pytest.raises(ValueError, match=r"outcomes\.npz.*best_f"):
        swarm.load(d)
    assert _maxrss_mb() - before < 200


def test_a_huge_manifest_is_refused_unread(tmp_path, saved):
    res, d = copy_of(saved, True, tmp_path)
    with open(d / "manifest.json", "r+b") as f:
        f.truncate(files.MAX_JSON_BYTES + 1)
    with pytest.raises(ValueError, match=r"manifest\.json.*bytes"):
        swarm.load(d)


def test_wide_gaussian_peaks_fit_their_memory_estimate(tmp_path):
    script = """
import resource, swarm
from swarm import landscapes as L, optimizers as O, engine as E
fam = L.gaussian_peaks(dim=16, peaks=10000)
r0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
swarm.run(fam, [O.sgd()], instances=2, starts=4, steps=2)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - r0) * 1024)
print(E._study_bytes(fam, 2, 4, 1, True, 8, True)[0])
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=tmp_path, timeout=600)
    assert out.returncode == 0, out.stderr
    grew, estimate = (int(x) for x in out.stdout.split())
    # was 2 × 11.9 GiB against an estimate of 7.9 MB; the process's own start-up (Numba's
    # compiled kernels) takes a few dozen MB
    assert grew < estimate + (300 << 20), (grew, estimate)


def test_huge_grids_are_refused_at_once(tmp_path):
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="100,000,000 configurations"):
        O.adam(lr=list(np.linspace(1e-3, 1e-1, 100)), b1=list(np.linspace(0, 0.9, 100)),
               b2=list(np.linspace(0.9, 0.99, 100)), eps=list(np.linspace(1e-9, 1e-7, 100)))
    with pytest.raises(ValueError, match="arms"):
        swarm.run(FAM, [O.sgd(lr=list(np.linspace(0.01, 0.1, 5000)))], noise=[0.0, 0.1, 0.2],
                  instances=1, starts=1, steps=1)
    assert time.perf_counter() - t0 < 5
    from swarm import cli
    grid = ", ".join(str(x) for x in np.linspace(1e-3, 1e-1, 100))
    p = tmp_path / "grid.toml"
    p.write_text(f'[landscape]\nfamily = "rastrigin"\n[[optimizers]]\nkind = "adam"\n'
                 f'lr = [{grid}]\nb1 = [{", ".join(str(x) for x in np.linspace(0, .9, 100))}]\n'
                 f'eps = [{", ".join(str(x) for x in np.linspace(1e-9, 1e-7, 100))}]\n')
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"grid\.toml:3: optimizers\[0\]: adam: a grid of "
                                         r"1,000,000 configurations"):
        swarm.load_spec(p)
    assert cli.main(["check", str(p)]) == 2
    assert cli.main(["check", "/dev/zero"]) == 2
    assert time.perf_counter() - t0 < 5


def test_check_of_dev_zero_is_one_line(capsys):
    from swarm import cli
    assert cli.main(["check", "/dev/zero"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a regular file" in err[0]


# ------------------------------------------------------------- 6. float32 hit tests

@pytest.mark.parametrize("dim", [2, 10, 30, 100])
def test_float32_hits_agree_with_float64_on_styblinski_tang(dim):
    """f criterion alone (tol_x = 0): float32 hit steps against float64 at the same tol_f —
    the default, which float32 resolves at f* (before: P(hit) 0 at d = 30, hits about 2×
    early at d = 2, 10 and 100)."""
    fam = L.styblinski_tang(dim=dim)
    inst = fam.instance(3, 0)
    kw = dict(instances=1, starts=128, steps=2000, seed=3, tol_x=0.0,
              start=S.gaussian(inst.x_star.tolist(), 0.3))
    r32 = swarm.run(fam, [O.adam(lr=0.01), O.sgd(lr=0.002)], dtype="float32", **kw)
    tol = r32.spec["tol_f"]
    eps = float(np.finfo(np.float32).eps)
    assert tol == max(1e-8, 4 * math.sqrt(dim) * eps * abs(inst.f_star))
    r64 = swarm.run(fam, [O.adam(lr=0.01), O.sgd(lr=0.002)], dtype="float64", tol_f=tol, **kw)
    for a in range(2):
        h32 = r32.arm(a)["hit_step"].ravel()
        h64 = r64.arm(a)["hit_step"].ravel()
        assert (h32 >= 0).mean() == (h64 >= 0).mean() == 1.0
        assert abs(np.median(h32) - np.median(h64)) <= 0.1 * np.median(h64), (a, dim)


def test_a_tol_f_below_the_dtypes_resolution_is_refused():
    fam = L.styblinski_tang(dim=100)
    with pytest.raises(ValueError) as e:
        swarm.run(fam, OPTS, instances=1, starts=4, steps=5, dtype="float32", tol_f=1e-8)
    msg = str(e.value)
    for part in ("tol_f = 1e-08", "float32", "f* = -3916.6", "smallest allowed", "0.0187",
                 "float64", "tol_f=None"):
        assert part in msg, (part, msg)
    # float64 resolves it, and tol_f=None (the x criterion only) is always allowed
    swarm.run(fam, OPTS, instances=1, starts=4, steps=5, dtype="float64", tol_f=1e-8)
    res = swarm.run(fam, OPTS, instances=1, starts=4, steps=5, dtype="float32", tol_f=None)
    assert res.spec["tol_f"] is None
    # the default in float64 is unchanged where f* is moderate
    assert small().spec["tol_f"] == 1e-8


def test_hyperparameters_are_checked_after_the_cast_to_the_dtype():
    with pytest.raises(ValueError, match=r"adam\.b2 = 0\.99999999 becomes 1\.0 in float32"):
        swarm.run(FAM, [O.adam(b2=0.99999999)], instances=1, starts=4, steps=5,
                  dtype="float32")
    with pytest.raises(ValueError, match=r"sgd\.lr = 1e-50 becomes 0\.0 in float32"):
        swarm.path(FAM.instance(0, 0), O.sgd(lr=1e-50), [0.1, 0.1], dtype="float32")
    swarm.run(FAM, [O.adam(b2=0.99999999)], instances=1, starts=4, steps=5)


# ------------------------------------------------------------- 7. forged checkpoints

def test_a_forged_chunk_aggregate_with_a_recomputed_digest_is_refused(tmp_path):
    ref = chunked(keep_outcomes=True)
    d = tmp_path / "ck"
    with pytest.raises(Stop):
        chunked(checkpoint=d, progress=stop_after(3), keep_outcomes=True)
    f = d / checkpoint.CHUNKS / "00000001.npz"
    z = npz_of(f)
    total = z["agg_sum_best_f"].copy()            # mean best f of arm 0 changed
    total[0] = str(int(total[0]) + (1 << 1200))
    _forge_chunk(f, agg_sum_best_f=total)
    with pytest.raises(ValueError, match=r"00000001\.npz.*aggregate does not match"):
        chunked(checkpoint=d, resume=True, keep_outcomes=True)
    _forge_chunk(f, agg_sum_best_f=z["agg_sum_best_f"])   # put back: resumes exactly
    assert chunked(checkpoint=d, resume=True, keep_outcomes=True).hash == ref.hash


def test_checkpoint_layout_edits_are_refused(tmp_path):
    d = tmp_path / "ck"
    with pytest.raises(Stop):
        chunked(checkpoint=d, progress=stop_after(2))
    state = json.loads((d / checkpoint.STATE).read_text())
    edits = [("keep", not state["layout"]["keep"]), ("keys_per_chunk", "x"),
             ("n_chunks", None), ("extra", 1), ("n_chunks", state["layout"]["n_chunks"] + 1)]
    for k, v in edits:
        s = json.loads(json.dumps(state))
        s["layout"][k] = v
        (d / checkpoint.STATE).write_text(json.dumps(s))
        with pytest.raises(ValueError, match=r"checkpoint\.json: damaged checkpoint"):
            chunked(checkpoint=d, resume=True)
    (d / checkpoint.STATE).write_text(json.dumps(state["layout"]))     # not even a state
    with pytest.raises(ValueError, match=r"checkpoint\.json"):
        chunked(checkpoint=d, resume=True)
    (d / checkpoint.STATE).write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(ValueError, match=r"checkpoint\.json.*nested too deeply"):
        chunked(checkpoint=d, resume=True)


# ------------------------------------------------------------- 9. stale products

def test_a_reused_directory_loses_the_previous_results_products(tmp_path):
    d = tmp_path / "r"
    a = small()
    a.save(d)
    for name in R.PRODUCTS:
        (d / name).write_text("of a")
    (d / "figures").mkdir()
    (d / "figures" / "p_global.png").write_bytes(b"png of a")
    (d / "figures" / "mine.svg").write_text("user's")
    (d / "notes.txt").write_text("user's")
    a.save(d)                                       # the same result: products kept
    assert all((d / name).exists() for name in R.PRODUCTS)
    b = small(seed=6)
    b.save(d)
    assert not any((d / name).exists() for name in R.PRODUCTS)
    assert sorted(p.name for p in (d / "figures").iterdir()) == ["mine.svg"]
    assert (d / "notes.txt").read_text() == "user's"
    assert swarm.load(d).hash == b.hash


# ------------------------------------------------------------- 10, 11. errors, validation

def test_bad_inputs_give_value_errors_not_tracebacks(tmp_path, saved):
    res, d = copy_of(saved, True, tmp_path)
    m = (d / "manifest.json").read_text()
    (d / "manifest.json").write_text('{"a": ' + "[" * 100000 + "]" * 100000 + "}")
    with pytest.raises(ValueError, match=r"manifest\.json.*nested too deeply"):
        swarm.load(d)
    for edit in ({"spec": 3}, {"arms": []}, {"kept_outcomes": "yes"},
                 {"spec": {**json.loads(m)["spec"], "instances": "3"}},
                 {"spec": {**json.loads(m)["spec"], "landscape": {"name": "nope"}}}):
        (d / "manifest.json").write_text(json.dumps({**json.loads(m), **edit}))
        with pytest.raises(ValueError, match=r"manifest\.json"):
            swarm.load(d)
    with pytest.raises(ValueError, match="checkpoint must be a directory path"):
        small(checkpoint=123)
    with pytest.raises(ValueError, match="load_spec needs the path"):
        swarm.load_spec(42)
    with pytest.raises(ValueError, match="instance must be a landscape instance"):
        swarm.path("x", O.sgd(), [0, 0])
    with pytest.raises(ValueError, match="GiB"):
        swarm.path(FAM.instance(0, 0), O.sgd(), [0, 0], steps=2 ** 31)


def test_path_seeds_and_labels_are_validated():
    inst = FAM.instance(0, 0)
    for seed in (-1, 1.7, 2 ** 64, True):
        with pytest.raises(ValueError, match="seed"):
            swarm.path(inst, O.sgd(), [0.1, 0.1], steps=3, seed=seed)
    for label in (5, ["a"], b"x"):
        with pytest.raises(ValueError, match="label must be a string"):
            O.sgd(label=label)


def test_overflowing_or_huge_landscapes_are_refused():
    with pytest.raises(ValueError, match=r"gaussian_peaks\(.*cond=1e\+200.*overflow"):
        swarm.run(L.gaussian_peaks(cond=1e200), OPTS, instances=1, starts=4, steps=5)
    with pytest.raises(ValueError, match="too wide for float64"):
        swarm.run(L.gaussian_peaks(half_width=1e300), OPTS, instances=1, starts=4, steps=5)
    with pytest.raises(ValueError, match="too wide for float32"):
        swarm.run(L.gaussian_peaks(half_width=1e19), OPTS, instances=1, starts=4, steps=5,
                  dtype="float32")


def test_deep_toml_is_a_spec_error_and_fast():
    base = '[landscape]\nfamily = "rastrigin"\n[[optimizers]]\nkind = "sgd"\n'
    for text in ("x" + ".a" * 20000 + " = 1\n" + base,
                 "[" + ".".join(["a"] * 20000) + "]\n" + base,
                 "noise = " + "[" * 600 + "]" * 600 + "\n" + base,
                 "start = " + "{a = " * 600 + "1" + "}" * 600 + "\n" + base):
        t0 = time.perf_counter()
        with pytest.raises(swarm.spec.SpecError, match="dotted key|nested too deeply"):
            swarm.spec.loads_spec(text, "deep.toml")
        assert time.perf_counter() - t0 < 1


# ------------------------------------------------------------- 12. output injection

def test_labels_cannot_drive_a_terminal_or_a_spreadsheet(tmp_path):
    res = swarm.run(FAM, [O.sgd(label="=HYPERLINK(\"http://x\")"),
                          O.adam(lr=0.05, label="\x1b[31mred\x1b[0m")],
                    instances=2, starts=8, steps=5)
    text = res.summary()
    assert "\x1b" not in text and "\\x1b[31mred" in text
    res.to_csv(tmp_path / "s.csv")
    import csv
    rows = list(csv.DictReader((tmp_path / "s.csv").open()))
    assert rows[0]["label"] == "'=HYPERLINK(\"http://x\")"
    assert float(rows[0]["p_global"]) == res.table()[0]["p_global"]
    p = tmp_path / "s.toml"
    p.write_text('name = "\\u001b[2J cleared"\n[landscape]\nfamily = "rastrigin"\n'
                 '[[optimizers]]\nkind = "sgd"\nlabel = "\\u001b]0;title\\u0007"\n')
    desc = swarm.load_spec(p).describe()
    assert "\x1b" not in desc and "\x07" not in desc


# ------------------------------------------------------------- 13. housekeeping

FULL = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
from swarm import files
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
try:
    files.atomic_write(sys.argv[1] + "/big.bin", bytes(100000))
except OSError as e:
    print(e.errno, e.filename)
"""


def test_a_full_disk_names_the_file_and_leaves_no_temporary(tmp_path):
    out = subprocess.run([sys.executable, "-c", FULL, str(tmp_path)], capture_output=True,
                         text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    code, name = out.stdout.split()
    assert int(code) == errno.EFBIG and name == str(tmp_path / "big.bin")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_failed_fsync_names_the_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(OSError) as e:
        files.atomic_write(tmp_path / "f.bin", b"abc")
    assert e.value.filename == str(tmp_path / "f.bin") and e.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------- random corruptions

def _flip(rng_bytes, path):
    data = bytearray(path.read_bytes())
    i = rng_bytes[0] % len(data)
    data[i] ^= 1 << (rng_bytes[1] % 8)
    path.write_bytes(bytes(data))


OUT_OF_RANGE = {
    "outcomes.npz": {"hit_step": lambda v: v + 10 ** 6, "end_basin": lambda v: v * 0 - 5,
                     "n_global": lambda v: v + 1, "diverged": lambda v: v.astype(np.int64),
                     "best_f": lambda v: v[:-1]},
    "aggregate.npz": {"agg_counts": lambda v: v + 10 ** 6, "agg_hits": lambda v: -v,
                      "agg_basins": lambda v: v[::-1].copy(), "n_global": lambda v: v * 3,
                      "agg_pairs": lambda v: v + 10 ** 9, "agg_i0": lambda v: v + 1},
}


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keep=st.booleans(), kind=st.sampled_from(["flip", "truncate", "edit", "link"]),
       which=st.integers(0, 10 ** 6), where=st.binary(min_size=2, max_size=2))
def test_random_corruptions_of_a_results_directory(tmp_path_factory, saved, keep, kind, which,
                                                    where):
    tmp = tmp_path_factory.mktemp("c")
    res, d = copy_of(saved, keep, tmp)
    outside = tmp / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret")
    data = "outcomes.npz" if keep else "aggregate.npz"
    names = [data, "manifest.json"]
    target = d / names[which % 2]
    if kind == "flip":
        _flip(where, target)
    elif kind == "truncate":
        size = target.stat().st_size
        with open(target, "r+b") as f:
            f.truncate(which % size)
    elif kind == "edit":
        edits = OUT_OF_RANGE[data]
        field = sorted(edits)[which % len(edits)]
        z = npz_of(d / data)
        z[field] = edits[field](z[field])
        np.savez(d / data, **z)
        forge(d)
    else:
        target.unlink()
        target.symlink_to(outside / "secret")
    try:
        back = swarm.load(d)
    except ValueError as e:
        assert str(d) in str(e), e
    else:
        assert back.hash == res.hash and back.table() == res.table() or \
            _same_table(back.table(), res.table())
        back.save(d)
        back.to_csv(d / "summary.csv")
        from swarm import report
        report.write(back, d, extra_runs=False)
    assert tree(outside) == {"secret": b"secret"}


def _same_table(a, b):
    def same(x, y):
        return x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y))
    return all(r.keys() == s.keys() and all(same(r[k], s[k]) for k in r) for r, s in zip(a, b))


@pytest.fixture(scope="module")
def checkpointed(tmp_path_factory):
    d = tmp_path_factory.mktemp("ck") / "ck"
    with pytest.raises(Stop):
        chunked(checkpoint=d, progress=stop_after(4), keep_outcomes=True)
    return chunked(keep_outcomes=True), d


CHUNK_EDITS = {"out_hit_step": lambda v: v + 10 ** 6, "out_end_basin": lambda v: v * 0 - 7,
               "out_diverged": lambda v: ~v, "agg_counts": lambda v: v * 2,
               "agg_hits": lambda v: v[:, ::-1].copy(), "out_start_basin": lambda v: v[:, :-1],
               "agg_sum_final_f": lambda v: np.array(["0"] * v.size), "chunk": lambda v: v + 1,
               "layout": lambda v: np.array(str(v).replace("true", "false"))}


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["flip", "truncate", "edit", "link", "state"]),
       which=st.integers(0, 10 ** 6), where=st.binary(min_size=2, max_size=2))
def test_random_corruptions_of_a_checkpoint(tmp_path_factory, checkpointed, kind, which, where):
    ref, src = checkpointed
    tmp = tmp_path_factory.mktemp("k")
    d = tmp / "ck"
    shutil.copytree(src, d, symlinks=True)
    outside = tmp / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret")
    chunks = sorted((d / checkpoint.CHUNKS).iterdir())
    target = chunks[which % len(chunks)]
    if kind == "flip":
        _flip(where, target)
    elif kind == "truncate":
        with open(target, "r+b") as f:
            f.truncate(which % target.stat().st_size)
    elif kind == "edit":
        field = sorted(CHUNK_EDITS)[which % len(CHUNK_EDITS)]
        z = npz_of(target)
        z[field] = CHUNK_EDITS[field](z[field])
        z.pop("digest")
        z["digest"] = np.array(files.digest(z))
        np.savez(target, **z)
    elif kind == "link":
        target.unlink()
        target.symlink_to(outside / "secret")
    else:
        s = json.loads((d / checkpoint.STATE).read_text())
        k = sorted(s)[which % len(s)]
        s[k] = [None, 0, "x", {"a": 1}, -1][which % 5]
        (d / checkpoint.STATE).write_text(json.dumps(s))
    try:
        res = chunked(checkpoint=d, resume=True, keep_outcomes=True)
    except ValueError as e:
        assert str(d) in str(e), e
    else:
        assert res.hash == ref.hash
    assert tree(outside) == {"secret": b"secret"}


# ------------------------------------------------------------- the CLI and the report

def test_heatmap_figure_names_are_unique(tmp_path):
    """Labels "m 1" and "m_1" both made heatmap_m_1.png: one figure overwrote the other."""
    from swarm import report
    opts = [O.momentum(lr=[0.01, 0.02], momentum=[0.5, 0.9], label="m 1"),
            O.momentum(lr=[0.01, 0.03], momentum=[0.0, 0.8], label="m_1")]
    res = swarm.run(FAM, opts, instances=2, starts=8, steps=10)
    d = report.write(res, tmp_path / "r", extra_runs=False)
    figs = sorted(p.name for p in (d / "figures").glob("heatmap_*"))
    assert figs == ["heatmap_m_1-2.png", "heatmap_m_1.png"]
    md = (d / "report.md").read_text()
    assert "figures/heatmap_m_1.png" in md and "figures/heatmap_m_1-2.png" in md


def test_the_report_never_writes_through_links_and_drops_stale_figures(tmp_path, saved):
    from swarm import report
    res = saved[True][0]
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(b"secret")
    for name in ("figures", "tables", "report.md", "report.html"):
        d = tmp_path / f"r-{name}"
        d.mkdir()
        (d / name).symlink_to(outside if name in ("figures", "tables")
                              else outside / "secret.png")
        with pytest.raises(ValueError, match="symbolic link"):
            report.write(res, d, extra_runs=False)
    d = tmp_path / "r"
    (d / "figures").mkdir(parents=True)
    (d / "figures" / "p_global.png").symlink_to(outside / "secret.png")
    with pytest.raises(ValueError, match="symbolic link"):
        report.write(res, d, extra_runs=False)
    assert tree(outside) == {"secret.png": b"secret"}
    (d / "figures" / "p_global.png").unlink()
    (d / "figures" / "heatmap_old.png").write_bytes(b"stale")
    (d / "figures" / "mine.svg").write_text("user's")
    report.write(res, d, extra_runs=False)
    names = {p.name for p in (d / "figures").iterdir()}
    assert "heatmap_old.png" not in names and "mine.svg" in names and "p_global.png" in names


def test_labels_cannot_inject_markup_into_report_md(tmp_path):
    from swarm import report
    res = swarm.run(FAM, [O.sgd(label="<script>alert(1)</script>"),
                          O.adam(lr=0.05, label="<img src=x onerror=alert(2)>")],
                    instances=2, starts=8, steps=5)
    d = report.write(res, tmp_path / "r", extra_runs=False)
    html = (d / "report.html").read_text()
    assert "<script>alert" not in html and "<img src=x" not in html
    md = (d / "report.md").read_text()
    body = md.split("```")[::2]                  # outside fenced blocks …
    outside_code = "".join("".join(b.split("`")[::2]) for b in body)   # … and code spans
    assert "<script" not in outside_code and "<img" not in outside_code
    assert "&lt;script>" in outside_code


def test_a_second_swarm_run_into_a_busy_directory_is_one_line(tmp_path, capsys):
    from swarm import cli
    spec = tmp_path / "s.toml"
    spec.write_text(CLI_SPEC.format(k=1, steps=10))
    d = tmp_path / "busy"
    d.mkdir()
    with held(d) as p:
        assert cli.main(["run", str(spec), "-o", str(d), "--quiet"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "in use by another swarm process" in err[0], err
        assert f"pid {p.pid}" in err[0]
        assert cli.main(["report", str(d)]) == 2          # not a results directory yet
    assert cli.main(["run", str(spec), "-o", str(d), "--quiet", "--no-report"]) == 0


def test_the_printed_resume_command_is_shell_quoted(tmp_path, monkeypatch, capsys):
    import shlex

    from swarm import cli
    from swarm.engine import Interrupted
    spec = tmp_path / "my study $HOME.toml"
    spec.write_text(CLI_SPEC.format(k=1, steps=10))
    out = tmp_path / "out dir; rm -rf x"

    def interrupted(self, **kw):
        raise Interrupted(1, 3, out)
    monkeypatch.setattr(swarm.spec.Spec, "run", interrupted)
    assert cli.main(["run", str(spec), "-o", str(out)]) == 130
    line = [x for x in capsys.readouterr().err.splitlines() if x.startswith("resume with: ")]
    argv = shlex.split(line[0][len("resume with: "):])
    assert argv == ["swarm", "run", str(spec), "-o", str(out), "--resume"]


def test_after_a_failed_report_a_plain_rerun_is_not_refused(tmp_path, monkeypatch, capsys):
    from swarm import cli
    spec = tmp_path / "s.toml"
    spec.write_text(CLI_SPEC.format(k=1, steps=10))

    class Broken:
        @staticmethod
        def write(res, d):
            raise RuntimeError("no fonts")
    monkeypatch.setattr(cli, "_report_module", lambda: Broken)
    d = tmp_path / "r"
    assert cli.main(["run", str(spec), "-o", str(d), "--quiet"]) == 2
    assert "retry with: swarm report" in capsys.readouterr().err
    assert not (d / checkpoint.STATE).exists()
    monkeypatch.undo()
    assert cli.main(["run", str(spec), "-o", str(d), "--quiet", "--no-report"]) == 0
    assert cli.main(["run", str(spec), "-o", str(d), "--quiet", "--no-report",
                     "--resume"]) == 0


def test_demo_and_run_check_the_output_directory_before_running(tmp_path, monkeypatch,
                                                                capsys):
    from swarm import cli

    def no_study(*a, **kw):
        raise AssertionError("the study ran before the directory was checked")
    monkeypatch.setattr(swarm, "run", no_study)
    monkeypatch.setattr(swarm.spec.Spec, "run", no_study)
    (tmp_path / "file").write_text("")
    bad = tmp_path / "file" / "out"
    assert cli.main(["demo", "-o", str(bad), "--quiet"]) == 2
    spec = tmp_path / "s.toml"
    spec.write_text(CLI_SPEC.format(k=1, steps=10))
    assert cli.main(["run", str(spec), "-o", str(bad), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("cannot write results there" in e for e in err), err


def test_absurd_local_worker_counts_are_refused(tmp_path, capsys):
    from swarm import cli
    spec = tmp_path / "s.toml"
    spec.write_text(CLI_SPEC.format(k=1, steps=10))
    t0 = time.perf_counter()
    assert cli.main(["run", str(spec), "-o", str(tmp_path / "r"), "--workers", "100000"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--workers 100000: at most" in err[0]
    assert time.perf_counter() - t0 < 5


def test_absurd_local_worker_counts_are_refused_by_the_python_api_too():
    from swarm import distributed
    pytest.importorskip("distributed")
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"at most \d+ local worker processes"):
        swarm.run(L.rastrigin(dim=2), [O.sgd()], instances=1, starts=4, steps=2,
                  cluster=100_000)
    assert distributed.check(distributed.MAX_LOCAL_WORKERS) == distributed.MAX_LOCAL_WORKERS
    assert time.perf_counter() - t0 < 5
