"""swarm.kernels — the Numba layer.

Everything here works on flat arrays, scalars and integer ids; nothing imports the rest of
swarm. The maths (Philox, optimizer rules, landscapes, basin labels, the per-trajectory step
loop) is written once as plain Python functions inside ``make(jit, F)`` factories and compiled
for each target: ``numba.njit(inline="always")`` for the CPU kernel (:mod:`.cpu`) and
``numba.cuda.jit(device=True)`` for the CUDA kernel.
"""
from . import ids  # noqa: F401
