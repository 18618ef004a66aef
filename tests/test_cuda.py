"""The CUDA backend without a GPU: simulator parity (in a subprocess), PTX compilation, the
write-once rule, and clear errors. Tests that need a real GPU skip with the reason."""
import ast
import os
import re
import subprocess
import sys
from pathlib import Path
from unittest import mock

import numba
import numpy as np
import pytest
from numba import cuda

import swarm
from swarm import landscapes as L
from swarm import optimizers as O
from swarm import starts as S
from swarm.engine import Inputs
from swarm.kernels import cuda as kcuda
from swarm.kernels import ids, philox
from swarm.optimizers import hyper_row

ROOT = Path(__file__).resolve().parents[1]
SIMULATED = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
HAVE_GPU = (not SIMULATED) and cuda.is_available()


def test_simulator_parity_suite():
    """tests/cudasim (every landscape × optimizer, every registry row, schedule kind, clipping,
    weight decay, AMSGrad and dampening: float64 bit-identical to the CPU kernel) runs in its
    own process: the simulator must be on before numba.cuda is imported."""
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(ROOT / "tests" / "cudasim")], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout


class _Device:
    """Stands in for the current device while compiling to PTX without a GPU (numba-cuda asks
    the driver for the compute capability when a kernel calls device functions)."""

    def __init__(self, cc):
        self.compute_capability = cc


def _signature(F, dim, nt=0):
    pk = Inputs(L.gaussian_peaks(dim=dim, peaks=3), 0, 0, 1, S.uniform(), F)
    lp, sp, box, gmin, tab = pk.lp, pk.sp, pk.box, pk.gmin, pk.tab
    hp = hyper_row("adam", {"lr": 0.1, "b1": 0.9, "b2": 0.99}, 0.1)[None].astype(F)
    k0, k1 = philox.split_seed(0)
    args = (0, 0, lp, pk.skind, sp, box, gmin, hp, tab, pk.ctype, pk.gk, k0, k1, 10, F(0.1),
            F(0.1), nt, np.ones(max(nt, 1), F), 1, 0, 1, 0, 1, 0, np.empty(1, np.int64),
            np.empty(1, np.int64), np.empty(1, np.int64), np.empty(1, F), np.empty(1, F),
            np.empty(1, np.bool_), np.empty((1, max(nt, 1)), np.int64))
    return tuple(numba.typeof(a) for a in args)


@pytest.mark.skipif(SIMULATED, reason="PTX compilation needs the real CUDA target, not the "
                                      "simulator")
@pytest.mark.parametrize("F,dim,cc,fid", [(np.float32, 2, (8, 0), None),
                                          (np.float64, 20, (9, 0), None),
                                          (np.float32, 20, (9, 0), 7)],
                         ids=["generic-f32-d2-cc80", "generic-f64-d20-cc90", "peaks-f32-d20-cc90"])
def test_kernel_compiles_to_ptx(F, dim, cc, fid):
    """The generic kernel (every family and optimizer: the benchmark's baseline) and a kernel
    for a dimension above EXACT_DIM (bucket-sized local arrays, dimension read at run time),
    with the launch bounds that bucketed kernels declare."""
    run = kcuda.build(F, kcuda.bucket(dim), fid)
    with mock.patch("numba.cuda.dispatcher.get_current_device", return_value=_Device(cc)):
        ptx, _ = cuda.compile_ptx(run.py_func, _signature(F, dim), cc=cc,
                                  **kcuda.jit_options(F, bounds=True))
    assert f".target sm_{cc[0]}{cc[1]}" in ptx
    assert ".entry" in ptx
    assert f".maxntid {kcuda.THREADS}, 1, 1" in ptx         # bucketed: launch bounds


# one dtype per family (PTX's local arrays are a matter of indexing, not of the dtype: each
# compilation is 10-30 s on 2 cores), chosen so that every (dtype, target) pair occurs
_PTX_FIDS = list(ids.NATIVE_FAMILIES) + [ids.BBOB_F1, ids.BBOB_F3, ids.BBOB_F7, ids.BBOB_F12]


@pytest.mark.skipif(SIMULATED, reason="PTX compilation needs the real CUDA target, not the "
                                      "simulator")
@pytest.mark.parametrize("fid,F", [(f, (np.float32, np.float64)[(f // 2) % 2]) for f in _PTX_FIDS],
                         ids=lambda v: f"fid{v}" if isinstance(v, int) else np.dtype(v).name)
def test_family_kernel_compiles_to_ptx_without_local_memory(fid, F):
    """What the engine launches: the kernel built for one family and (up to EXACT_DIM) the
    exact dimension, with the optimizer read at run time, so that compiling it types every
    optimizer with that family: every landscape × optimizer × dtype compiles. At 2-D its
    per-thread arrays are indexed by constants only, so nothing is left in local memory
    (``.local`` in PTX); an array chosen at run time (say ``z if rotated else g``) would put
    them back there. Compiled with the kernels' own options (``jit_options``): no launch
    bounds at 2-D, and in float32 only approximate division and square root (every kernel has
    Adam's), while float64 keeps IEEE's (its results follow the CPU's rounding rules)."""
    cc = ((8, 0), (9, 0))[fid % 2]
    run = kcuda.kernel(F, 2, fid)
    with mock.patch("numba.cuda.dispatcher.get_current_device", return_value=_Device(cc)):
        ptx, _ = cuda.compile_ptx(run.py_func, _signature(F, 2), cc=cc,
                                  **kcuda.jit_options(F, bounds=kcuda.bounded(2)))
    assert f".target sm_{cc[0]}{cc[1]}" in ptx
    assert not kcuda.bounded(2) and ".maxntid" not in ptx      # no launch bounds at 2-D
    # (libdevice's exact routines seed Newton's iteration with rcp.approx in either dtype:
    # not counted)
    approx = re.findall(r"\b(?:div\.(?:approx|full)|sqrt\.approx)\.", ptx)
    bits = 32 if F is np.float32 else 64
    exact = re.findall(rf"\b(?:div|sqrt)\.rn\.f{bits}", ptx)
    if F is np.float32:
        assert approx and not exact, (len(approx), exact[:3])
    else:
        assert exact and not approx, (len(exact), approx[:3])
    depot = [ln.strip() for ln in ptx.splitlines() if ".local" in ln and "__local_depot" in ln]
    hint = ("; __cudart_i2opi is libdevice's sin/cos argument reduction for large |x|, which "
            "keeps its words in a local array: use kmath.sincos2pi, not math.sin/math.cos"
            if "__cudart_i2opi" in ptx else "")
    assert ".local" not in ptx, f"local memory {depot}{hint}"


@pytest.mark.slow           # about 23 s on the 2-core VM: one PTX compilation
@pytest.mark.skipif(SIMULATED, reason="PTX compilation needs the real CUDA target, not the "
                                      "simulator")
def test_target_kernel_compiles_to_ptx():
    """The kernel that records precision targets (its threads' li has MAX_TARGETS more rows)."""
    run = kcuda.kernel(np.float64, 2, ids.GAUSSIAN_PEAKS, targets=True)
    assert run is not kcuda.kernel(np.float64, 2, ids.GAUSSIAN_PEAKS)
    with mock.patch("numba.cuda.dispatcher.get_current_device", return_value=_Device((9, 0))):
        ptx, _ = cuda.compile_ptx(run.py_func, _signature(np.float64, 2, 51), cc=(9, 0))
    assert ".entry" in ptx


def test_kernels_are_built_per_family_and_small_dimension():
    assert kcuda.kernel(np.float32, 2, 0) is kcuda.kernel(np.float32, 2, 0)
    assert kcuda.kernel(np.float32, 2, 0) is not kcuda.kernel(np.float32, 2, 1)
    assert kcuda.kernel(np.float32, 2, 0) is not kcuda.kernel(np.float32, 3, 0)
    assert kcuda.kernel(np.float32, 2, 0) is not kcuda.kernel(np.float64, 2, 0)
    assert kcuda.kernel(np.float32, 20, 0) is kcuda.kernel(np.float32, 30, 0)     # bucket 32
    with pytest.raises(ValueError, match="does not fit"):
        kcuda.build(np.float32, 2, 0, 3)
    assert kcuda.kernel(np.float32, 2, 0, wide=True) is not kcuda.kernel(np.float32, 2, 0)


def test_launches_that_overflow_32_bit_indices_get_the_wide_kernel():
    """The kernel's step counter and thread index are 32-bit; a launch whose step counter
    (to steps + 1) or thread index (n rounded up to whole blocks) would not fit gets the kernel
    with 64-bit ones (the engine allows up to 2³² − 2 steps and any chunk size)."""
    top = int(np.iinfo(np.int32).max)
    assert not kcuda.wide(100, 1 << 22)
    assert not kcuda.wide(top - 2, top - kcuda.THREADS)
    assert kcuda.wide(top - 1, 1) and kcuda.wide(2 ** 32 - 2, 1)
    assert kcuda.wide(1, top - kcuda.THREADS + 1)


def test_cuda_module_writes_no_maths():
    """The GPU kernel must reuse the shared functions: kernels/cuda.py defines only the launch
    plumbing and contains no elementary maths or landscape/optimizer ids."""
    tree = ast.parse((ROOT / "kernels" / "cuda.py").read_text())
    defs = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert defs == {"bucket", "build", "run", "kernel", "inputs", "outputs", "prepare", "start",
                    "staging", "copy_out", "dtypes", "names", "_dummy", "bounded", "jit_options",
                    "wide", "launch_args"}
    names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    forbidden = {"sin", "cos", "exp", "log", "sqrt", "RASTRIGIN", "ACKLEY", "GRIEWANK", "LEVY",
                 "STYBLINSKI_TANG", "HIMMELBLAU", "DOUBLE_WELL", "GAUSSIAN_PEAKS", "SGD",
                 "MOMENTUM", "NESTEROV", "ADAGRAD", "RMSPROP", "ADAM"}
    assert not names & forbidden
    assert "trajectory" in {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def test_dimension_buckets():
    assert kcuda.bucket(1) == 2 and kcuda.bucket(3) == 8 and kcuda.bucket(1024) == 1024
    with pytest.raises(ValueError, match="dim"):
        kcuda.bucket(1025)


@pytest.mark.skipif(HAVE_GPU or SIMULATED, reason="a CUDA device is available")
def test_cuda_requested_without_a_gpu_is_a_clear_error():
    with pytest.raises(ValueError, match="backend='cuda' needs an NVIDIA GPU"):
        swarm.run(L.rastrigin(), [O.sgd()], instances=1, starts=2, steps=2, backend="cuda")
    res = swarm.run(L.rastrigin(), [O.sgd()], instances=1, starts=2, steps=2, backend="auto")
    assert res.provenance["backend"] == "cpu"


@pytest.mark.gpu
@pytest.mark.skipif(not HAVE_GPU, reason="needs a real NVIDIA GPU (none visible)")
def test_gpu_matches_cpu_statistically():
    """On a real GPU, FMA contraction and libdevice make long runs differ bitwise; success
    probabilities must agree within their intervals."""
    from scipy.stats import binomtest
    fam = L.rastrigin(dim=2)
    kw = dict(instances=4, starts=5000, steps=500, noise=0.5, seed=2)
    a = swarm.run(fam, [O.adam(lr=0.05)], backend="cpu", **kw)
    b = swarm.run(fam, [O.adam(lr=0.05)], backend="cuda", **kw)
    ka, kb = int(a.arm(0)["success"].sum()), int(b.arm(0)["success"].sum())
    n = a.arm(0)["success"].size
    ci = binomtest(ka, n).proportion_ci(0.999)
    assert ci.low <= kb / n <= ci.high
    short = dict(kw, steps=3, starts=64)
    c = swarm.run(fam, [O.sgd(lr=0.001)], backend="cpu", **short)
    d = swarm.run(fam, [O.sgd(lr=0.001)], backend="cuda", **short)
    np.testing.assert_allclose(c.outcomes["final_f"], d.outcomes["final_f"], rtol=1e-12)


@pytest.mark.gpu
@pytest.mark.skipif(not HAVE_GPU, reason="needs a real NVIDIA GPU (none visible)")
def test_gpu_float32_fast_maths_matches_cpu_statistically():
    """float32 kernels divide and take square roots approximately and flush subnormals
    (``kcuda.jit_options``): their success probability must still be the CPU's, within its
    99.9 % interval."""
    from scipy.stats import binomtest
    kw = dict(instances=4, starts=5000, steps=500, noise=0.5, seed=3, dtype="float32")
    a = swarm.run(L.rastrigin(dim=2), [O.adam(lr=0.05)], backend="cpu", **kw)
    b = swarm.run(L.rastrigin(dim=2), [O.adam(lr=0.05)], backend="cuda", **kw)
    ka, kb = int(a.arm(0)["success"].sum()), int(b.arm(0)["success"].sum())
    ci = binomtest(ka, a.arm(0)["success"].size).proportion_ci(0.999)
    assert ci.low <= kb / b.arm(0)["success"].size <= ci.high


@pytest.mark.gpu
@pytest.mark.skipif(not HAVE_GPU, reason="needs a real NVIDIA GPU (none visible)")
def test_gpu_chunking_is_exact():
    fam = L.gaussian_peaks(dim=4, peaks=8)
    kw = dict(instances=3, starts=1000, steps=50, noise=0.2, seed=4, backend="cuda")
    a = swarm.run(fam, [O.momentum(lr=0.01)], chunk_size=777, **kw)
    b = swarm.run(fam, [O.momentum(lr=0.01)], **kw)
    assert a.hash == b.hash


@pytest.mark.skipif(HAVE_GPU or SIMULATED, reason="a CUDA device is available")
def test_gpu_benchmark_without_a_gpu_says_so(capsys):
    from scripts import bench_gpu
    assert bench_gpu.run(n=10, steps=1) == []
    assert bench_gpu.main(["--n", "10", "--steps", "1"]) == 0
    assert "no CUDA GPU available" in capsys.readouterr().out


def test_numba_cuda_with_numpy_2_5_is_a_clear_error(monkeypatch):
    """numba-cuda ≤ 0.30.4 fails on numpy 2.5 (np.row_stack removed) with an AttributeError
    deep in its first compilation (seen on a real H200 image): the engine says so up front."""
    from importlib import metadata
    from swarm import engine
    monkeypatch.delattr(np, "row_stack", raising=False)
    monkeypatch.setattr(metadata, "version", lambda name: "0.30.4")
    with mock.patch("numba.cuda.is_available", return_value=True):
        with pytest.raises(ValueError, match=r"numba-cuda 0\.30\.4 does not work with numpy"):
            swarm.run(L.rastrigin(), [O.sgd()], instances=1, starts=2, steps=2, backend="cuda")
    monkeypatch.setattr(metadata, "version", lambda name: "0.31.0")
    engine._check_numba_cuda_numpy()                   # a newer numba-cuda: no complaint


def _aggregate_signatures(F):
    i8, b1 = numba.int64[::1], numba.boolean[::1]
    f = numba.from_dtype(np.dtype(F))[::1]
    n = numba.int64
    i2 = numba.int64[:, ::1]
    tally = (n, i8, i8, i8, f, f, b1, n, n, n, n, n, n, i8, i2, i8, numba.int64[:, :, ::1],
             numba.boolean, n, i2, i2, i8)
    return tally, (i2, n, n, n, i2), (i2, i2, i2, i8)


@pytest.mark.skipif(SIMULATED, reason="PTX compilation needs the real CUDA target, not the "
                                      "simulator")
@pytest.mark.parametrize("F", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("cc", [(8, 0), (9, 0)], ids=["cc80", "cc90"])
def test_device_aggregation_compiles_to_ptx_without_local_memory(cc, F):
    """The device aggregation's kernels (kernels/cuda_aggregate.py) compile for sm_80 and
    sm_90, keep their per-thread counts in registers (no ``.local``) and their shared arrays
    within the 48 KiB a block may declare statically (ptxas, when installed, says how much)."""
    import shutil
    import tempfile

    from swarm.kernels import cuda_aggregate as kagg
    tally, pairs, compact = _aggregate_signatures(F)
    with mock.patch("numba.cuda.dispatcher.get_current_device", return_value=_Device(cc)):
        ptxs = [cuda.compile_ptx(k.py_func, s, cc=cc)[0]
                for k, s in ((kagg.tally, tally), (kagg.pairs, pairs),
                             (kagg.compact, compact))]
    shared = 8 * (kagg.NC + kagg.GMAX + 2 * kagg.NBINS + 3 * kagg.SEG)
    assert shared <= 48 * 1024
    for ptx in ptxs:
        assert f".target sm_{cc[0]}{cc[1]}" in ptx and ".entry" in ptx
        assert ".local" not in ptx
    if shutil.which("ptxas"):
        with tempfile.NamedTemporaryFile("w", suffix=".ptx") as f:
            f.write(ptxs[0])
            f.flush()
            info = subprocess.run(["ptxas", "-v", f"-arch=sm_{cc[0]}{cc[1]}", f.name, "-o",
                                   os.devnull], capture_output=True, text=True).stderr
        assert f"{shared} bytes smem" in info and "0 bytes spill" in info, info


def test_device_aggregation_columns_and_exponent_split_are_the_cpus():
    """kernels/cuda_aggregate.py names the COUNTS columns as swarm.outcomes does, its plain
    per-trajectory predicates are swarm.outcomes's, and its exponent split puts every float64
    (normal, subnormal, either sign) in swarm.aggregate._exact_bins's bin with its mantissa."""
    from swarm import outcomes as OC
    from swarm.kernels import cuda_aggregate as kagg
    assert [getattr(kagg, k.upper()) for k in OC.COUNTS] == list(range(len(OC.COUNTS)))
    assert kagg.NC == len(OC.COUNTS)
    for e in range(-1, 4):
        for s in range(-1, 4):
            for d in (False, True):
                succ, sg, esc, etg = kagg.outcome_counts(e, s, d, 2)
                assert succ == bool(OC.is_global(e, 2)) and sg == bool(OC.is_global(s, 2))
                assert esc == bool(OC.escaped(s, e, d))
                assert etg == bool(OC.escaped_to_global(s, e, 2))
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2 ** 63 - 1, 20000, dtype=np.int64)
    bits[:8] = [0, 1, 2 ** 52 - 1, 2 ** 52, 2 ** 52 + 1, 0x7FEFFFFFFFFFFFFF, 2 ** 62, 12345]
    for b in bits:
        for x in (b.view(np.float64), (-b.view(np.float64)) if b else 1.0):
            if not np.isfinite(x):
                continue
            E, M = kagg.exact_split(float(x))
            if x == 0:                      # ±0: nothing to add (the kernel skips M = 0)
                assert M == 0
                continue
            raw = np.float64(x).view(np.int64)
            e = (raw >> 52) & 0x7FF
            m = (raw & ((1 << 52) - 1)) | ((1 << 52) if e else 0)
            assert E == max(e, 1) - 1 and abs(M) == m and (M < 0) == (x < 0), x


def test_kernel_stats_counts_the_step_loop_of_a_sass_listing():
    """scripts/kernel_stats.py's SASS counts on a hand-written listing: the longest backward
    branch is the step loop, and 64-bit carry halves, FCHK, calls and local accesses are
    counted where they are (not a forward branch, not the code after the loop)."""
    from scripts import kernel_stats as ks
    text = """
        /*0000*/                   MOV R1, c[0x0][0x28] ;
        /*0010*/                   STL [R1], R2 ;
        /*0020*/                   IADD3 R4, P0, R4, 0x1, RZ ;
        /*0030*/                   IADD3.X R5, RZ, R5, RZ, P0, !PT ;
        /*0040*/              @!P1 BRA 0x60 ;
        /*0050*/                   FCHK P0, R6, R7 ;
        /*0060*/                   CALL.REL.NOINC 0x100 ;
        /*0070*/                   ISETP.GE.AND.EX P0, PT, R5, RZ, PT, P0 ;
        /*0080*/               @P0 BRA 0x20 ;
        /*0090*/                   LDL R2, [R1] ;
        /*00a0*/                   IMAD.X R9, R9, 0x1, R8, P2 ;
        /*00b0*/                   EXIT ;
    """
    ins = ks.parse_sass(text)
    assert [a for a, _ in ins] == list(range(0, 0xc0, 0x10))
    loop = ks.step_loop(ins)
    assert loop[0].startswith("IADD3 R4") and loop[-1].startswith("@P0 BRA")
    c, whole = ks.counts(loop), ks.counts([i for _, i in ins])
    assert (c["insns"], c["wide64"], c["fchk"], c["call"], c["ldl"], c["stl"]) == (7, 2, 1, 1, 0, 0)
    assert (whole["wide64"], whole["ldl"], whole["stl"]) == (3, 1, 1)
    ptx = "div.full.f32 %f1, %f2, %f3;\nsqrt.approx.ftz.f32 %f4, %f5;\ndiv.rn.f64 %fd1, %fd2, %fd3;"
    p = ks.ptx_counts(ptx)
    assert (p["div_approx"], p["sqrt_approx"], p["div_rn"], p["sqrt_rn"]) == (1, 1, 1, 0)
