import os

# tests/cudasim runs only inside Numba's CUDA simulator, which must be switched on before
# numba.cuda is imported: tests/test_cuda.py runs it in a subprocess with the variable set.
collect_ignore = [] if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" else ["cudasim"]


def pytest_configure(config):
    """Under pytest-xdist, the controller compiles the CPU kernel sets once, in two processes
    (tests/_warm.py), before the workers start: otherwise both workers' first tests compile
    the same kernels side by side. Skipped inside a worker, without xdist and in the CUDA
    simulator's own run."""
    import subprocess
    import sys
    if hasattr(config, "workerinput") or os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return
    if not getattr(config.option, "numprocesses", None):
        return
    warm = os.path.join(os.path.dirname(__file__), "_warm.py")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    procs = [subprocess.Popen([sys.executable, warm, g], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for g in ("a", "b")]
    for g, p in zip(("a", "b"), procs):
        err = p.communicate()[1]
        if p.returncode:     # only speed is lost: the tests compile what they need themselves
            print(f"tests/_warm.py {g} failed (exit {p.returncode}): {err[-500:]}",
                  file=sys.stderr)
