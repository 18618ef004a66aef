"""Integer ids and array layouts shared by the host (swarm) and the kernels.

A launch carries one landscape family id and one optimizer kind id, so every trajectory of a
launch (and every GPU warp) takes the same branch; everything numeric travels in arrays.
"""

# landscape families
RASTRIGIN, ACKLEY, GRIEWANK, LEVY, STYBLINSKI_TANG, HIMMELBLAU, DOUBLE_WELL, GAUSSIAN_PEAKS = range(8)

# optimizer kinds
SGD, MOMENTUM, NESTEROV, ADAGRAD, RMSPROP, ADAM = range(6)

# columns of the per-configuration hyperparameter row ``hp[c, :]``
HP_LR = 0        # learning rate
HP_A = 1         # momentum (Momentum, Nesterov) | alpha (RMSprop) | b1 (Adam)
HP_B = 2         # b2 (Adam)
HP_EPS = 3       # eps (Adagrad, RMSprop, Adam)
HP_S0 = 4        # initial accumulator (Adagrad)
HP_BIAS = 5      # 1.0: bias-corrected moments (Adam, RMSprop)
HP_EPS_IN = 6    # 1.0: eps inside the square root
HP_CENTERED = 7  # 1.0: centered RMSprop
HP_SIGMA = 8     # std of the additive Gaussian gradient noise
HP_LOG_A = 9     # log(HP_A): bias corrections 1 − exp(t·log β) (host-computed)
HP_LOG_B = 10    # log(HP_B)
HP_SIZE = 11

# header of the per-instance landscape parameter row ``lp[i, :]``
LP_FSTAR = 0          # exact global minimum value f*
LP_POLISH_STEPS = 1   # normalised gradient steps before labelling a point
LP_POLISH_H = 2       # length of one polish step
LP_QUANT = 3          # lattice spacing used to label a polished point (non-separable families)
LP_ROTATED = 4        # 1.0 when the instance carries a rotation matrix
LP_HEAD = 8           # family parameters start here

# start kinds (per-instance start parameters ``sp[i, 3, dim]``)
START_UNIFORM = 0     # sp[i, 0] = lower corner, sp[i, 1] = upper corner
START_GAUSSIAN = 1    # sp[i, 0] = mean, sp[i, 1] = standard deviation per coordinate (0: a point)
START_GRID = 2        # cell centres of a grid on [sp[i, 0], sp[i, 1]] with sp[i, 2] cells per
                      # axis; start s is the cell with mixed-radix index s (first axis fastest)

# A kernel works on a *block* of L trajectories (lanes) at once: the same configuration and
# instance, consecutive start indices. Vectors are (dim, L) arrays, lanes innermost.
# rows of the per-block work array ``w[NSCRATCH, dim, L]``
W_X, W_G, W_Z, W_GZ, W_S1, W_S2, W_S3, W_P, W_CC, W_LAM = range(10)
NSCRATCH = 10
# rows of the per-lane float array ``t[NLS, L]`` (rows T0… are scratch for the maths)
LS_F, LS_BEST, LS_FINAL, LS_ALIVE, LS_T0 = range(5)
NLS = LS_T0 + 4
# rows of the per-lane integer array ``li[NLI, L]``
LI_SB, LI_EB, LI_HIT, LI_K = range(4)
NLI = 4

# outcome labels
DIVERGED = -1      # basin label of a diverged trajectory
NEVER = -1         # hit step of a trajectory that never hit the global target

LP_NGLOBAL = 5        # labels 0 … n_global−1 are global basins (Himmelblau: 4)


def lane_count(jit, L):
    """``lanes(a)``: the lane count of a block array ``a`` (lanes are its last axis).

    On the CPU (``L > 1``) it is read from the array at run time, on purpose: with a
    compile-time count LLVM fully unrolls the lane loops before its loop vectoriser runs, and
    the unrolled straight-line code is left to the SLP vectoriser, which gives up where it
    cannot prove that the block's arrays do not overlap (a plain ``a[k] -= c * b[k]`` over 16
    lanes stays scalar). A run-time count keeps them loops, which the loop vectoriser turns
    into SIMD code behind one run-time overlap check, and keeps the code small. On the GPU
    (``L = 1``, one thread per trajectory) it is the constant 1."""
    if L > 1:
        @jit
        def lanes(a):
            return a.shape[-1]
    else:
        @jit
        def lanes(a):
            return 1
    return lanes
