"""The pieces of ``scripts/bench.py``, which is the command line and re-exports the names below.

- :mod:`.workloads`: workloads W and P (parameters, instances; defined in ``docs/benchmark.md``);
- :mod:`.references`: the NumPy vectorised references (trajectories alone, and the same
  per-trajectory outcomes as swarm's study), the same maths as the kernels, one thread;
- :mod:`.measure`: the machine's description and the timing helpers shared by the benchmarks;
- one module per benchmark: :mod:`.workload_w`, :mod:`.workload_p`, :mod:`.scaling`,
  :mod:`.peers` (JAX, PyTorch), :mod:`.peak` (the machine's FMA peak);
- :mod:`.features`: W with AdamW, a cosine schedule and clipping against W (the features' cost);
- :mod:`.bbob_speed`: BBOB's Gallagher f21/f22 (20-D) against workload P;
- :mod:`.noise`: W under Student-t and α-stable noise against W (the samplers' cost);
- :mod:`.report`: the tables and lines printed.
"""
from .bbob_speed import report_bbob, run_bbob
from .features import FEATURES, report_features, run_features
from .measure import machine, time_numpy, time_swarm
from .noise import report_noise, run_noise
from .peak import W_FLOPS, fma_peak, run_peak
from .peers import (PEERS, available_peers, bench_peer, bench_peer_subprocess, jax_adam_rastrigin,
                    run_peers, torch_adam_rastrigin)
from .references import (P_BLOCK, W_BLOCK, in_blocks, numpy_adam_rastrigin, numpy_nesterov_peaks,
                         numpy_peaks_study, numpy_rastrigin_study, rastrigin_f, rastrigin_labels,
                         unpack_peaks)
from .report import report, report_extras, table
from .scaling import SCALE_DIMS, run_scaling
from .workload_p import peaks_correctness, run_peaks
from .workload_w import WARM_START_LIMIT_S, bench_numpy, bench_swarm, correctness, run, startup
from .workloads import (ADAM, NESTEROV, PEAKS, PEAKS_SIGMA, PEAKS_WORKLOAD, SIGMA, WORKLOAD,
                        instance, peaks_instance, shift)

__all__ = ["ADAM", "FEATURES", "NESTEROV", "PEAKS", "PEAKS_SIGMA", "PEAKS_WORKLOAD", "PEERS",
           "P_BLOCK", "SCALE_DIMS", "SIGMA", "WARM_START_LIMIT_S", "WORKLOAD", "W_BLOCK", "W_FLOPS",
           "available_peers", "bench_numpy", "bench_peer", "bench_peer_subprocess",
           "bench_swarm", "correctness", "fma_peak", "in_blocks", "instance",
           "jax_adam_rastrigin", "machine", "numpy_adam_rastrigin", "numpy_nesterov_peaks",
           "numpy_peaks_study", "numpy_rastrigin_study", "peaks_correctness", "peaks_instance",
           "rastrigin_f", "rastrigin_labels", "report", "report_bbob", "report_extras",
           "report_features", "report_noise", "run", "run_bbob", "run_features", "run_noise",
           "run_peak",
           "run_peaks", "run_peers", "run_scaling", "shift", "startup", "table", "time_numpy",
           "time_swarm", "torch_adam_rastrigin", "unpack_peaks"]
