"""Static figures of the CUDA kernels, without a GPU: what ``ptxas -v`` and the machine code say.

For each workload (Rastrigin + Adam, the kernel ``scripts/bench_gpu.py`` launches, at 2-D and
20-D, float32 and float64) and target (sm_80, sm_90): the kernel as the engine builds it
(:func:`kernels.cuda.kernel`, with :func:`kernels.cuda.jit_options`) is compiled to PTX by
numba-cuda's ``compile_ptx``, assembled by ``ptxas -v`` (registers, stack frame, spill bytes),
and, where ``cuobjdump`` or ``nvdisasm`` is found, its SASS is counted: all instructions, and
in the *step loop* (the longest backward branch: the loop over steps, which contains the
others) its instructions, 64-bit integer operations (``IMAD.X``, ``IADD3.X``, ``ISETP.*.EX``,
``LEA.HI.X``, ``SHF`` with ``.HI``/``.S64``… as ``.X``/``.EX`` carry forms), IEEE division and
square-root machinery (``FCHK``, ``MUFU.RCP``/``RCP64H``, ``MUFU.RSQ``/``RSQ64H``, ``CALL``:
the slow paths), and local loads/stores (``LDL``/``STL``). Also the PTX's approximate
instructions (``div.approx``/``div.full``, ``sqrt.approx``) and IEEE ones (``div.rn``,
``sqrt.rn``).

Usage::

    python scripts/kernel_stats.py [--dims 2,20] [--dtypes float32,float64] [--cc 80,90]
                                   [--json out.json] [--save DIR] [--no-fast]
                                   [--bounds auto|on|off] [--wide]

``--no-fast`` / ``--bounds on|off`` / ``--wide``: build without the float32 approximate
maths / with launch bounds always or never (default: as the engine, above ``EXACT_DIM``) / with
64-bit indices (``--no-fast --bounds off --wide``: the kernel before issue 24's kernel
items). ``ptxas`` is looked up on PATH, then in the nvidia-cuda-nvcc wheel;
``cuobjdump``/``nvdisasm`` on PATH and in the directories of ``$CUDA_TOOLS`` (``:``-separated).
Without ptxas only the PTX columns are printed.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from unittest import mock

import numba
import numpy as np

WORKLOADS = ((2, "float32"), (2, "float64"), (20, "float32"), (20, "float64"))
ADAM = dict(lr=0.05, b1=0.9, b2=0.999, eps=1e-8)


class _Device:
    """Stands in for the current device: numba-cuda asks the driver for the compute capability
    when a kernel calls device functions, and there may be no GPU."""

    def __init__(self, cc):
        self.compute_capability = cc


def tool(name):
    """The path of a CUDA tool (PATH, ``$CUDA_TOOLS``, the pip wheels), or None."""
    dirs = [d for d in os.environ.get("CUDA_TOOLS", "").split(":") if d]
    for d in dirs:
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    p = shutil.which(name)
    if p:
        return p
    for pat in (f"{sys.prefix}/lib/python3*/site-packages/nvidia/*/bin/{name}",
                f"{sys.prefix}/lib/python3*/site-packages/nvidia/cu*/bin/{name}"):
        hits = sorted(glob.glob(pat))
        if hits:
            return hits[0]
    return None


def signature(dim, dtype):
    """numba types of the launch arguments of bench_gpu.py's kernel (2^20 trajectories; the
    sizes do not matter, only the types)."""
    from swarm import landscapes, optimizers, starts
    from swarm.engine import Inputs
    from swarm.kernels import cuda as kcuda
    from swarm.kernels import philox
    from swarm.optimizers import hyper_row
    F = np.dtype(dtype).type
    fam, opt = landscapes.rastrigin(dim=dim), optimizers.adam(**ADAM)
    pk = Inputs(fam, 0, 0, 1, starts.uniform(), F)
    hp = hyper_row(opt.kind, next(iter(opt.configs())), 0.5)[None].astype(F)
    k0, k1 = philox.split_seed(0)
    n = 1 << 20
    out = [np.empty(1, dt) for dt in kcuda.dtypes(F)]
    tv, th = np.zeros(1, F), np.empty((1, 1), np.int64)
    args = kcuda.launch_args(pk.fid, opt.kind_id, (pk.lp, pk.sp, pk.box, pk.gmin, pk.tab,
                                                   pk.ctype, pk.gk), hp, pk.skind, k0, k1, 100,
                             0.1, -np.inf, 1, 0, n, 0, n, F, out, False, 0, tv, th)
    return pk.fid, tuple(numba.typeof(a) for a in args)


def compile_ptx(dim, dtype, cc, fast=True, bounds=None, wide=False):
    """The PTX of the kernel the engine launches for this workload on compute capability cc."""
    from numba import cuda

    from swarm.kernels import cuda as kcuda
    F = np.dtype(dtype).type
    fid, sig = signature(dim, dtype)
    run = kcuda.kernel(F, dim, fid, fast=fast, bounds=bounds, wide=wide)
    with mock.patch("numba.cuda.dispatcher.get_current_device", return_value=_Device(cc)):
        ptx, _ = cuda.compile_ptx(run.py_func, sig, cc=cc,
                                  **kcuda.jit_options(F, fast, kcuda.bounded(dim)
                                                      if bounds is None else bounds))
    return ptx


_PTXAS = re.compile(r"Used (\d+) registers")
_STACK = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")


def assemble(ptx, cc, workdir):
    """``ptxas -v``: (registers, stack bytes, spill store bytes, spill load bytes, cubin path),
    or None without ptxas."""
    exe = tool("ptxas")
    if exe is None:
        return None
    src = os.path.join(workdir, f"k{cc}.ptx")
    cubin = os.path.join(workdir, f"k{cc}.cubin")
    with open(src, "w") as fh:
        fh.write(ptx)
    res = subprocess.run([exe, "-v", f"-arch=sm_{cc}", src, "-o", cubin], capture_output=True,
                         text=True, check=True)
    info = res.stdout + res.stderr
    regs = int(_PTXAS.search(info).group(1))
    st = _STACK.search(info)
    stack, sst, sld = (int(v) for v in st.groups()) if st else (0, 0, 0)
    return regs, stack, sst, sld, cubin


_INSN = re.compile(r"/\*([0-9a-f]{4,})\*/\s+(.*?);")


def sass(cubin):
    """[(address, instruction text)] of the cubin's kernel, or None without the tools."""
    exe = tool("cuobjdump")
    if exe is not None:
        text = subprocess.run([exe, "-sass", cubin], capture_output=True, text=True,
                              check=True).stdout
    else:
        exe = tool("nvdisasm")
        if exe is None:
            return None
        text = subprocess.run([exe, "-c", cubin], capture_output=True, text=True,
                              check=True).stdout
    return parse_sass(text)


def parse_sass(text):
    """[(address, instruction text)] of a cuobjdump/nvdisasm listing."""
    out = []
    for m in _INSN.finditer(text):
        ins = m.group(2).strip()
        if ins:
            out.append((int(m.group(1), 16), ins))
    return out


def step_loop(insns):
    """The instructions of the longest loop (a backward branch and its target)."""
    best = (0, 0)
    for addr, ins in insns:
        m = re.search(r"\bBRA\b.*?(0x[0-9a-f]+)", ins)
        if m:
            target = int(m.group(1), 16)
            if target < addr and addr - target > best[1] - best[0]:
                best = (target, addr)
    return [ins for a, ins in insns if best[0] <= a <= best[1]]


def is_wide(ins):
    """A 64-bit integer operation's carry/extension half (``.X`` / ``.EX``)."""
    op = ins.split()[1] if ins.startswith("@") else ins.split()[0]
    parts = op.split(".")
    return parts[0] in ("IMAD", "IADD3", "LEA", "ISETP", "IADD", "SHF", "LOP3", "IMNMX",
                        "VIADDMNMX") and ("X" in parts[1:] or "EX" in parts[1:] or
                                          "HI" in parts[1:] and parts[0] == "LEA")


def opcode(ins):
    op = ins.split()[1] if ins.startswith("@") else ins.split()[0]
    return op


def counts(insns):
    ops = [opcode(i) for i in insns]
    return {"insns": len(insns),
            "wide64": sum(is_wide(i) for i in insns),
            "fchk": sum(o.startswith("FCHK") for o in ops),
            "rcp": sum(o.startswith("MUFU.RCP") for o in ops),
            "rsq": sum(o.startswith("MUFU.RSQ") or o.startswith("MUFU.SQRT") for o in ops),
            "call": sum(o.startswith("CALL") for o in ops),
            "ldl": sum(o.startswith("LDL") for o in ops),
            "stl": sum(o.startswith("STL") for o in ops)}


def ptx_counts(ptx):
    """Approximate and IEEE division / square root in the PTX (libdevice's ``rcp.approx``
    seeds of its exact routines are not counted), and whether it uses local memory."""
    return {"div_approx": len(re.findall(r"\bdiv\.(?:approx|full)\.(?:ftz\.)?f32", ptx)),
            "sqrt_approx": len(re.findall(r"\bsqrt\.approx\.", ptx)),
            "div_rn": len(re.findall(r"\bdiv\.rn\.", ptx)),
            "sqrt_rn": len(re.findall(r"\bsqrt\.rn\.", ptx)),
            "local": ".local" in ptx}


def measure(dim, dtype, cc, fast=True, bounds=None, wide=False, save=None):
    """One row of the table (``save``: a directory for the PTX and the SASS listing)."""
    ptx = compile_ptx(dim, dtype, (cc // 10, cc % 10), fast, bounds, wide)
    row = {"dim": dim, "dtype": dtype, "cc": cc, "fast": fast, "bounds": bounds, "wide": wide,
           **ptx_counts(ptx)}
    with tempfile.TemporaryDirectory() as tmp:
        asm = assemble(ptx, cc, tmp)
        if asm is not None:
            row.update(zip(("regs", "stack", "spill_st", "spill_ld"), asm[:4]))
            ins = sass(asm[4])
            if ins is not None:
                row.update({"all_" + k: v for k, v in counts([i for _, i in ins]).items()})
                if save:
                    name = os.path.join(save, f"d{dim}-{dtype}-sm{cc}")
                    with open(name + ".ptx", "w") as fh:
                        fh.write(ptx)
                    with open(name + ".sass", "w") as fh:
                        fh.write("\n".join(f"{a:06x} {i}" for a, i in ins))
                row.update({"loop_" + k: v for k, v in counts(step_loop(ins)).items()})
    return row


COLS = [("dim", "dim", 3), ("dtype", "dtype", 7), ("cc", "sm", 3), ("regs", "regs", 4),
        ("stack", "stack B", 7), ("spill_st", "spill st", 8), ("spill_ld", "spill ld", 8),
        ("all_insns", "SASS", 6), ("loop_insns", "loop", 5), ("loop_wide64", "loop 64-bit", 11),
        ("loop_fchk", "FCHK", 4), ("loop_rcp", "RCP", 3), ("loop_rsq", "RSQ", 3),
        ("loop_call", "CALL", 4), ("all_ldl", "LDL", 4), ("all_stl", "STL", 4),
        ("div_approx", "div.approx", 10), ("sqrt_approx", "sqrt.approx", 11),
        ("div_rn", "div.rn", 6), ("sqrt_rn", "sqrt.rn", 7)]


def table(rows):
    head = " ".join(f"{h:>{w}}" for _, h, w in COLS)
    lines = [head]
    for r in rows:
        lines.append(" ".join(f"{str(r.get(k, '–')):>{w}}" for k, _, w in COLS))
    lines.append("Rastrigin + Adam (scripts/bench_gpu.py's kernel). regs, stack, spill: ptxas -v; "
                 "SASS: all machine instructions; loop: the step loop's (longest backward "
                 "branch), its 64-bit integer carry halves (.X/.EX), FCHK / MUFU.RCP / "
                 "MUFU.RSQ|SQRT / CALL (IEEE division and sqrt slow paths); LDL/STL: local "
                 "loads/stores in the whole kernel; div.approx…sqrt.rn: PTX instruction counts; "
                 "– : the tool was not found")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dims", default="2,20")
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--cc", default="80,90")
    ap.add_argument("--json", default=None)
    ap.add_argument("--save", default=None, help="write each kernel's PTX and SASS here")
    ap.add_argument("--no-fast", action="store_true")
    ap.add_argument("--bounds", choices=("auto", "on", "off"), default="auto",
                    help="launch bounds: as the engine builds them (auto: above EXACT_DIM), "
                         "always, never")
    ap.add_argument("--wide", action="store_true", help="64-bit indices (the kernel before)")
    a = ap.parse_args(argv)
    if a.save:
        os.makedirs(a.save, exist_ok=True)
    rows = []
    for dim in (int(d) for d in a.dims.split(",")):
        for dtype in a.dtypes.split(","):
            for cc in (int(c) for c in a.cc.split(",")):
                bounds = {"auto": None, "on": True, "off": False}[a.bounds]
                rows.append(measure(dim, dtype, cc, not a.no_fast, bounds, a.wide,
                                    a.save))
                print(table(rows[-1:]).splitlines()[1], flush=True, file=sys.stderr)
    print(table(rows))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
