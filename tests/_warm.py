"""Compile the CPU kernel sets into the disk cache before a parallel test run (``conftest.py``).

With ``pytest -n 2`` both workers start with tests that need the same kernels; each would
compile them (a minute or more apiece) when neither finds them in the cache. The controller
runs this module in two processes first, each compiling half of the sets with tiny studies
(the same kernels and argument types as the tests' studies), so the workers load them.
``python tests/_warm.py GROUP`` with GROUP ``a`` or ``b``; a failure only costs the time saved.
"""
import sys

import numpy as np

# split by compile time (idle 2-core VM, one process: main float64 ~ BBOB float32,
# main float32 ~ BBOB float64)
GROUPS = {"a": ("main64", "bbob32"), "b": ("main32", "bbob64")}


def warm(part):
    import swarm
    from swarm import landscapes as L
    from swarm import optimizers as O
    fam, dtype = {"main64": (L.rastrigin(dim=2), "float64"),
                  "main32": (L.rastrigin(dim=2), "float32"),
                  "bbob64": (L.bbob(21, 2), "float64"),
                  "bbob32": (L.bbob(3, 2), "float32")}[part]
    swarm.run(fam, [O.adam()], instances=1, starts=4, steps=2, dtype=dtype)
    inst = fam.instance(0, 0)
    swarm.path(inst, O.adam(), np.zeros(inst.dim), steps=2, dtype=dtype)


if __name__ == "__main__":
    for part in GROUPS[sys.argv[1]]:
        warm(part)
