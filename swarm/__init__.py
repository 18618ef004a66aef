"""swarm — how often does each optimizer escape local minima and find the global minimum?

Runs very many independent optimizer trajectories in parallel (Numba kernels) over random
landscapes whose global minimum is known exactly, and turns the outcomes into statistics.

>>> import swarm
>>> from swarm import landscapes, optimizers
>>> res = swarm.run(landscapes.rastrigin(dim=2), [optimizers.sgd(), optimizers.adam(lr=0.05)],
...                 instances=4, starts=500, steps=300, seed=0)    # doctest: +SKIP
>>> print(res.summary())                                           # doctest: +SKIP
"""
from swarm._version import __version__  # noqa: E402,F401

from swarm import landscapes, optimizers, starts, stats, theory  # noqa: E402,F401
from swarm.engine import path, run  # noqa: E402,F401
from swarm.result import Result, load  # noqa: E402,F401
from swarm.spec import load_spec  # noqa: E402,F401

__all__ = ["run", "path", "load", "load_spec", "Result", "landscapes", "optimizers", "starts",
           "stats", "theory"]
