import os

# tests/cudasim runs only inside Numba's CUDA simulator, which must be switched on before
# numba.cuda is imported: tests/test_cuda.py runs it in a subprocess with the variable set.
collect_ignore = [] if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" else ["cudasim"]
