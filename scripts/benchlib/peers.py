"""Peers on workload W, when installed (``pip install -e '.[bench]'``): JAX (``jit`` +
``lax.scan``, optax.adam, ``jax.random``), PyTorch ``Adam(fused=True)`` with a hand-written
gradient and a ``torch.compile``d step; each in a fresh process (``scripts/bench.py
--peer-worker``: numba's and torch's OpenMP pools in one process slow torch ~10×), each checked
against ``swarm.path`` without noise."""
from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import swarm
from swarm import optimizers

from .references import rastrigin_f
from .workload_w import bench_swarm
from .workloads import ADAM, SIGMA, instance, shift

# the script whose hidden ``--peer-worker`` option runs :func:`bench_peer` in a fresh process
BENCH_PY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench.py")


def _have(mod):
    import importlib.util
    return importlib.util.find_spec(mod) is not None


def jax_adam_rastrigin(x0, s, steps, sigma=0.0, dtype="float64", seed=0):
    """JAX peer on W: ``jit`` + ``lax.scan`` over steps, ``optax.adam``, ``jax.random`` noise.
    Returns a callable ``go(key_seed) -> final positions`` (compiled on first call)."""
    import jax
    import jax.numpy as jnp
    import optax
    jax.config.update("jax_enable_x64", True)     # float64 needs it; float32 stays float32
    F = jnp.dtype(dtype)
    s = jnp.asarray(s, F)
    x0 = jnp.asarray(x0, F)
    opt = optax.adam(ADAM["lr"], b1=ADAM["b1"], b2=ADAM["b2"], eps=ADAM["eps"])
    two_pi, c20pi = F.type(2.0 * math.pi), F.type(20.0) * F.type(math.pi)

    @jax.jit
    def simulate(x, key):
        def body(carry, _):
            x, st, key = carry
            key, sub = jax.random.split(key)
            z = x - s
            g = 2 * z + c20pi * jnp.sin(two_pi * z)
            if sigma:
                g = g + F.type(sigma) * jax.random.normal(sub, x.shape, F)
            upd, st = opt.update(g, st, x)
            return (optax.apply_updates(x, upd), st, key), None
        (x, _, _), _ = jax.lax.scan(body, (x, opt.init(x), key), None, length=steps)
        return x

    def go(r=0):
        return np.asarray(simulate(x0, jax.random.PRNGKey(seed * 1000 + r)).block_until_ready())
    return go


def torch_adam_rastrigin(x0, s, steps, sigma=0.0, dtype="float64", seed=0, compiled=False):
    """PyTorch peer on W, hand-written gradient. ``compiled=False``: ``torch.optim.Adam(fused=
    True)`` on an (N, 2) leaf tensor, ``x.grad`` set by hand each step; ``compiled=True``: one
    ``torch.compile``d step (gradient + Adam, bias corrections passed as 0-d tensors), noise drawn
    outside it. Returns ``go(r) -> final positions``."""
    import torch
    T = getattr(torch, dtype)
    s_t = torch.as_tensor(np.asarray(s), dtype=T)
    x0_t = torch.as_tensor(np.asarray(x0), dtype=T)
    lr, b1, b2, eps = ADAM["lr"], ADAM["b1"], ADAM["b2"], ADAM["eps"]
    two_pi, c20pi = 2.0 * math.pi, 20.0 * math.pi

    if not compiled:
        def go(r=0):
            gen = torch.Generator().manual_seed(seed * 1000 + r)
            x = x0_t.clone().requires_grad_(True)
            opt = torch.optim.Adam([x], lr=lr, betas=(b1, b2), eps=eps, fused=True)
            z, g, noise = torch.empty_like(x0_t), torch.empty_like(x0_t), torch.empty_like(x0_t)
            with torch.no_grad():
                for _ in range(steps):
                    torch.sub(x, s_t, out=z)
                    torch.mul(z, two_pi, out=g)
                    g.sin_().mul_(c20pi).add_(z, alpha=2.0)
                    if sigma:
                        torch.randn(x0_t.shape, generator=gen, dtype=T, out=noise)
                        g.add_(noise, alpha=sigma)
                    x.grad = g
                    opt.step()
            return x.detach().numpy().copy()
        return go

    @torch.compile(dynamic=False)
    def step(x, m, v, noise, bc1, bc2):
        z = x - s_t
        g = 2.0 * z + c20pi * torch.sin(two_pi * z) + sigma * noise
        m = b1 * m + (1.0 - b1) * g
        v = b2 * v + ((1.0 - b2) * g) * g
        x = x - lr * (m / bc1) / (torch.sqrt(v / bc2) + eps)
        return x, m, v

    def go(r=0):
        gen = torch.Generator().manual_seed(seed * 1000 + r)
        x, m, v = x0_t.clone(), torch.zeros_like(x0_t), torch.zeros_like(x0_t)
        noise = torch.zeros_like(x0_t)
        with torch.no_grad():
            for t in range(1, steps + 1):
                if sigma:
                    torch.randn(x0_t.shape, generator=gen, dtype=T, out=noise)
                bc1 = torch.tensor(1.0 - b1 ** t, dtype=T)
                bc2 = torch.tensor(1.0 - b2 ** t, dtype=T)
                x, m, v = step(x, m, v, noise, bc1, bc2)
        return x.numpy().copy()
    return go


PEERS = {"jax": ("JAX jit + lax.scan, optax.adam, jax.random", ("jax", "optax"),
                 jax_adam_rastrigin, {}),
         "torch": ("PyTorch Adam(fused=True), hand-written grad", ("torch",),
                   torch_adam_rastrigin, {}),
         "torch_compile": ("PyTorch torch.compile step, noise outside", ("torch",),
                           torch_adam_rastrigin, {"compiled": True})}


def available_peers(names=tuple(PEERS)):
    return [p for p in names if all(_have(m) for m in PEERS[p][1])]


def bench_peer(name, n, steps, dtype, repeats, seed=0, check_steps=100, check_starts=8):
    """Throughput of one peer on W (wall time of the whole loop after a warm-up / compile call)
    and its noiseless final positions from the correctness starts (``check_x``). Runs in the
    calling process: call it through :func:`bench_peer_subprocess` after swarm has run, since
    numba's and torch's OpenMP thread pools in one process slow torch down ~10×."""
    label, _, make, kw = PEERS[name]
    inst = instance(seed)
    s = shift(inst)
    row = {"peer": name, "label": label, "dtype": dtype, "n": n, "steps": steps}
    xc = np.random.default_rng(12345).uniform(inst.domain[0], inst.domain[1],
                                              (check_starts, inst.dim))
    t0 = time.perf_counter()
    row["check_x"] = make(xc, s, check_steps, 0.0, dtype, seed, **kw)().astype(float).tolist()
    row["check_first_call_s"] = time.perf_counter() - t0
    x0 = np.random.default_rng(seed).uniform(inst.domain[0], inst.domain[1], (n, inst.dim))
    go = make(x0, s, steps, SIGMA, dtype, seed, **kw)
    t0 = time.perf_counter()
    go(-1)                                         # warm-up (compiles)
    row["first_call_s"] = time.perf_counter() - t0
    times, x = [], None
    for r in range(repeats):
        t0 = time.perf_counter()
        x = go(r)
        times.append(time.perf_counter() - t0)
    f = rastrigin_f(x, s)
    row.update(seconds=statistics.median(times), mtsps=n * steps / 1e6 / statistics.median(times),
               mean_final_f=float(np.mean(f)), sem_final_f=float(np.std(f) / math.sqrt(f.size)))
    return row


def _peer_worker(spec):
    name, n, steps, dtype, repeats, seed, check_steps, check_starts = json.loads(spec)
    row = bench_peer(name, n, steps, dtype, repeats, seed, check_steps, check_starts)
    print("PEER" + json.dumps(row), flush=True)


def bench_peer_subprocess(name, n, steps, dtype, repeats, seed=0, check_steps=100,
                          check_starts=8, timeout=900):
    """:func:`bench_peer` in a fresh Python process; adds ``check_rel_dev`` = max |Δx| / max |x|
    between the peer's and swarm.path's noiseless final positions."""
    args = [name, n, steps, dtype, repeats, seed, check_steps, check_starts]
    out = subprocess.run([sys.executable, BENCH_PY, "--peer-worker",
                          json.dumps(args)], capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("PEER")]
    if out.returncode or not lines:
        err = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"peer process failed: {err[:300]}")
    row = json.loads(lines[-1][4:])
    inst = instance(seed)
    xc = np.random.default_rng(12345).uniform(inst.domain[0], inst.domain[1],
                                              (check_starts, inst.dim))
    opt = optimizers.adam(**ADAM)
    ours = np.stack([swarm.path(inst, opt, x, check_steps, dtype=dtype)[-1] for x in xc])
    dev = np.abs(ours - np.asarray(row.pop("check_x")))
    row["check_rel_dev"] = (float(np.max(dev) / np.max(np.abs(ours)))
                            if np.all(np.isfinite(dev)) else float("inf"))
    return row


def run_peers(n=1_000_000, steps=100, dtypes=("float64", "float32"), repeats=3, *, seed=0,
              peers=None, swarm_rows=None, check_steps=100, threads=None, log=None):
    """Optional peers on W (those installed, each in a fresh process); ``ratio`` = swarm /
    peer, swarm taken from ``swarm_rows`` (rows of :func:`run`) when they have the same n and
    steps, else measured here at this n."""
    log = log or (lambda msg: None)
    out = []
    sw = {r["dtype"]: r["swarm_mtsps"] for r in (swarm_rows or [])
          if r["n"] == n and r["steps"] == steps}
    for name in available_peers(peers or tuple(PEERS)):
        for dtype in dtypes:
            log(f"[peer {name} {dtype}] N={n:,}, {steps} steps, {repeats} repeats")
            try:
                row = bench_peer_subprocess(name, n, steps, dtype, repeats, seed, check_steps)
            except Exception as e:             # noqa: BLE001 - a peer that fails is reported
                row = {"peer": name, "label": PEERS[name][0], "dtype": dtype, "n": n,
                       "steps": steps,
                       "error": f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:300]}"}
            if "mtsps" in row:
                if dtype not in sw:
                    b = bench_swarm(n, steps, dtype, repeats, seed, threads)
                    sw[dtype] = n * steps / 1e6 / b["swarm_kernel_s"]
                row["swarm_mtsps"] = sw[dtype]
                row["ratio"] = sw[dtype] / row["mtsps"]
            out.append(row)
    return out
