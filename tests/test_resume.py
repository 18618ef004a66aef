"""Checkpoint and resume: chunks written atomically, a killed study resumed gives exactly the
uninterrupted result, Ctrl-C stops at a chunk boundary, other studies' checkpoints refused."""
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import swarm
import swarm.spec
from swarm import checkpoint, files
from swarm import landscapes as L
from swarm import optimizers as O
from swarm import result as R
from swarm.kernels.cpu import LANES             # trajectories per key block

ROOT = Path(__file__).resolve().parents[1]
OPTS = [O.sgd(lr=0.01), O.adam(lr=0.05)]


def study(**kw):
    # 3 key blocks per instance, one per chunk: 9 chunks
    args = dict(instances=3, starts=2 * LANES + 8, steps=100, noise=0.3, seed=7,
                chunk_size=len(OPTS) * LANES)
    args.update(kw)
    return swarm.run(L.rastrigin(dim=2), OPTS, **args)


class Stop(Exception):
    pass


def stop_after(n):
    seen = []

    def cb(m):
        seen.append(m)
        if len(seen) == n:
            raise Stop
    return cb


@pytest.mark.parametrize("keep", [True, False])
def test_resume_after_a_crash_gives_the_same_result(tmp_path, keep):
    ref = study(keep_outcomes=keep)
    d = tmp_path / "ck"
    for n in (1, 3, 4):                           # crash after 1, then 3, then 4 more chunks
        with pytest.raises(Stop):
            study(keep_outcomes=keep, checkpoint=d, resume=True, progress=stop_after(n))
    # progress is reported for loaded chunks too: 1, then 3 (1 loaded), then 4 (3 loaded)
    assert len(list((d / checkpoint.CHUNKS).glob("*.npz"))) == 4
    res = study(keep_outcomes=keep, checkpoint=d, resume=True)
    assert res.hash == ref.hash and res.aggregate == ref.aggregate


def test_chunk_layout_comes_from_the_checkpoint(tmp_path):
    d = tmp_path / "ck"
    with pytest.raises(Stop):
        study(checkpoint=d, progress=stop_after(2))
    res = study(checkpoint=d, resume=True, chunk_size=10 ** 6)     # other chunking asked
    assert res.hash == study().hash


def test_unfinished_checkpoint_needs_resume_and_other_studies_are_refused(tmp_path):
    d = tmp_path / "ck"
    with pytest.raises(Stop):
        study(checkpoint=d, progress=stop_after(2))
    with pytest.raises(ValueError, match="unfinished run of this study.*resume"):
        study(checkpoint=d)
    with pytest.raises(ValueError, match="different study"):
        study(checkpoint=d, resume=True, seed=8)
    with pytest.raises(ValueError, match="different study"):
        study(checkpoint=d, resume=True, steps=101)


def test_tampered_chunk_is_detected(tmp_path):
    d = tmp_path / "ck"
    with pytest.raises(Stop):
        study(checkpoint=d, progress=stop_after(2))
    f = sorted((d / checkpoint.CHUNKS).glob("*.npz"))[0]
    z = dict(np.load(f))
    z["out_end_basin"] = z["out_end_basin"].copy()
    z["out_end_basin"][0, 0] += 1
    np.savez(f, **z)
    with pytest.raises(ValueError, match="does not match its digest"):
        study(checkpoint=d, resume=True)
    f.write_bytes(f.read_bytes()[:50])
    with pytest.raises(ValueError, match="damaged checkpoint chunk"):
        study(checkpoint=d, resume=True)


def test_atomic_write_leaves_whole_files_only(tmp_path):
    p = tmp_path / "x.bin"
    files.atomic_write(p, b"abc")
    files.atomic_write(p, b"defg")
    assert p.read_bytes() == b"defg"
    assert [f.name for f in tmp_path.iterdir()] == ["x.bin"]


# ---------------------------------------------------------------------------- the CLI

# 3 blocks of LANES starts per instance and one block per chunk: 12 chunks, so that a signal
# sent after the second lands mid-study (with one block per instance, 4 chunks, the study could
# finish before Ctrl-C arrived)
SPEC = """
name = "kill test"
instances = 4
starts = {starts}
steps = {steps}
seed = 3
noise = 0.4
chunk_size = 32

[landscape]
family = "rastrigin"
dim = 2

[[optimizers]]
kind = "sgd"
lr = 0.005

[[optimizers]]
kind = "adam"
lr = 0.05
"""


def _cli(args, **kw):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "swarm.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _chunks_done(d):
    return len(list((d / checkpoint.CHUNKS).glob("*.npz"))) if (d / checkpoint.CHUNKS).is_dir() \
        else 0


def test_sigkill_at_random_points_then_resume_is_identical(tmp_path):
    """≥ 10 SIGKILLs at random moments (start-up, mid-chunk, while writing), resuming each
    time: the final outcomes and hash equal those of an uninterrupted run."""
    spec = tmp_path / "kill.toml"
    # about 7.7·10⁶ trajectory-steps per chunk, whatever the lane count
    spec.write_text(SPEC.format(steps=60000 * 128 // LANES, starts=2 * LANES + 44))
    ref = tmp_path / "ref"
    t0 = time.perf_counter()
    p = _cli(["run", str(spec), "-o", str(ref), "--quiet", "--no-report"])
    assert p.wait(timeout=600) == 0, p.stderr.read()
    t_ref = time.perf_counter() - t0               # start-up + study, on this machine now
    d = tmp_path / "killed"
    rng = random.Random(11)
    kills, progress = 0, []
    while kills < 10:
        p = _cli(["run", str(spec), "-o", str(d), "--quiet", "--no-report", "--resume"])
        time.sleep(rng.uniform(0.3, 0.95) * t_ref)
        if p.poll() is not None:                  # finished before the kill: start over
            assert p.returncode == 0, p.stderr.read()
            checkpoint.clear(d)
            for f in d.iterdir():
                if f.is_file():
                    f.unlink()
            continue
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
        kills += 1
        progress.append(_chunks_done(d))
    p = _cli(["run", str(spec), "-o", str(d), "--quiet", "--no-report", "--resume"])
    assert p.wait(timeout=600) == 0, p.stderr.read()
    print("chunks on disk at each kill:", progress)
    assert any(0 < c for c in progress), progress            # kills landed mid-study
    a, b = R.load(ref), R.load(d)
    assert a.hash == b.hash
    for k in R.FIELDS:
        np.testing.assert_array_equal(a.outcomes[k], b.outcomes[k])
    assert not (d / checkpoint.STATE).exists() and not (d / checkpoint.CHUNKS).exists()
    # resuming a finished study is a no-op; resuming into another study's results is refused
    p = _cli(["run", str(spec), "-o", str(d), "--resume"])
    assert p.wait(timeout=120) == 0 and "nothing to resume" in p.stdout.read()
    other = tmp_path / "other.toml"
    other.write_text(SPEC.format(steps=10, starts=2 * LANES + 44))
    p = _cli(["run", str(other), "-o", str(d), "--resume"])
    assert p.wait(timeout=120) == 2
    err = p.stderr.read().strip().splitlines()
    assert len(err) == 1 and "different study" in err[0]


def test_ctrl_c_stops_at_a_chunk_boundary_and_says_how_to_resume(tmp_path):
    spec = tmp_path / "int.toml"
    spec.write_text(SPEC.format(steps=20000 * 128 // LANES, starts=2 * LANES + 44))
    d = tmp_path / "out"
    p = _cli(["run", str(spec), "-o", str(d), "--quiet", "--no-report"])
    deadline = time.time() + 120
    while _chunks_done(d) < 2 and time.time() < deadline and p.poll() is None:
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=120) == 130
    err = p.stderr.read()
    assert "--resume" in err and "Traceback" not in err
    n = _chunks_done(d)
    assert 2 <= n < json.loads((d / checkpoint.STATE).read_text())["layout"]["n_chunks"]
    assert not list((d / checkpoint.CHUNKS).glob(".*.tmp"))
    p = _cli(["run", str(spec), "-o", str(d), "--quiet", "--no-report", "--resume"])
    assert p.wait(timeout=600) == 0, p.stderr.read()
    ref = swarm.spec.load_spec(spec).run()
    assert R.load(d).hash == ref.hash
