"""Integer ids and array layouts shared by the host (swarm) and the kernels.

A launch carries one landscape family id and one optimizer kind id, so every trajectory of a
launch (and every GPU warp) takes the same branch; everything numeric travels in arrays.
"""

# landscape families
RASTRIGIN, ACKLEY, GRIEWANK, LEVY, STYBLINSKI_TANG, HIMMELBLAU, DOUBLE_WELL, GAUSSIAN_PEAKS = range(8)
# COCO's 24 noiseless BBOB functions (swarm.bbob; kernels/bbob.py f1–f12, kernels/bbob_multi.py
# f13–f24): function n has id 7 + n. They run in their own CPU kernel set (kernels/cpu.py)
BBOB_F1, BBOB_F2, BBOB_F3, BBOB_F4, BBOB_F5, BBOB_F6, BBOB_F7, BBOB_F8, BBOB_F9, BBOB_F10, \
    BBOB_F11, BBOB_F12, BBOB_F13, BBOB_F14, BBOB_F15, BBOB_F16, BBOB_F17, BBOB_F18, BBOB_F19, \
    BBOB_F20, BBOB_F21, BBOB_F22, BBOB_F23, BBOB_F24 = range(8, 32)
BBOB_FAMILIES = tuple(range(8, 32))
LANDSCAPE_FAMILIES = tuple(range(32))  # every id needs an entry in the kernels' family tables
# (kernels.families, kernels.labels, kernels.layout) and a row in swarm.landscapes.REGISTRY
NATIVE_FAMILIES = tuple(range(8))      # the families of the main CPU kernels (no BBOB)
SHIFTED_FAMILIES = (RASTRIGIN, ACKLEY, GRIEWANK, LEVY, STYBLINSKI_TANG, HIMMELBLAU)   # h(R(x − s))

# optimizer rules (kernel ids; the registry ``swarm.optimizers.REGISTRY`` maps names to them:
# ``adamw`` runs ADAM's rule with decoupled weight decay, ``signsgd`` SIGNUM's with momentum 0)
SGD, MOMENTUM, NESTEROV, ADAGRAD, RMSPROP, ADAM, ADAMAX, NADAM, RADAM, ADADELTA, RPROP, LION, \
    SIGNUM = range(13)
OPTIMIZER_RULES = tuple(range(13))   # every id needs a rule in kernels.optimizers.RULES

# learning-rate schedules (``hp[HP_SCHED]``; ``swarm.schedules``), each torch.optim.lr_scheduler's
# per-step sequence at update t = 1, 2, … (scheduler epoch e = t − 1, after the warm-up)
SCHED_CONSTANT, SCHED_STEP, SCHED_MULTISTEP, SCHED_EXPONENTIAL, SCHED_COSINE, \
    SCHED_INVERSE_TIME = range(6)
MAX_MILESTONES = 8

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
HP_C = 11        # momentum_decay (NAdam) | smallest step size (Rprop)
HP_D = 12        # largest step size (Rprop)
HP_WD = 13       # weight decay λ (0: none)
HP_WD_DECOUPLED = 14   # 1.0: x ← x·(1 − lr·λ) before the rule (AdamW, Lion); else g ← g + λ·x
HP_AMSGRAD = 15  # 1.0: Adam's denominator from the running maximum of v (AMSGrad)
HP_DAMPENING = 16      # momentum's dampening d: b ← μ·b + (1 − d)·g from step 2 (torch)
HP_CLIP_NORM = 17      # > 0: the trajectory's gradient (noise included) clipped to this 2-norm
HP_CLIP_VALUE = 18     # > 0: each coordinate of the gradient clipped to [−c, c]
HP_SCHED = 19          # schedule kind (SCHED_*)
HP_SCH_GAMMA = 20      # decay factor γ (step, multistep, exponential, inverse_time)
HP_SCH_PERIOD = 21     # step_size (step) | T_max (cosine)
HP_SCH_ETA_MIN = 22    # eta_min (cosine)
HP_WARMUP = 23         # linear warm-up steps W (0: none); the schedule starts after them
HP_WARMUP_START = 24   # the warm-up's start factor (torch LinearLR's start_factor)
HP_MILESTONES = 25     # MAX_MILESTONES milestones (multistep), unused ones +inf
HP_NOISE_KIND = HP_MILESTONES + MAX_MILESTONES   # noise model (NOISE_*; swarm.noise)
HP_NOISE_PARAM = HP_NOISE_KIND + 1   # ν (Student-t) | α (α-stable)
HP_NOISE_VEC = HP_NOISE_KIND + 2     # 1.0: per-coordinate σ_j in hp[HP_SIZE + j] (the row is
                                     # then HP_SIZE + dim wide); HP_SIGMA ≠ 0 still gates noise
HP_SIZE = HP_NOISE_KIND + 3

# gradient-noise models (``hp[HP_NOISE_KIND]``): σ·ξ added per coordinate
NOISE_GAUSSIAN, NOISE_STUDENT_T, NOISE_STABLE, NOISE_CURVATURE = range(4)

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
LS_OPT = LS_T0 + 4     # the optimizer's per-step scalar state (NAdam's running μ product)
NLS = LS_T0 + 5
# rows of the per-lane integer array ``li[NLI, L]``
LI_SB, LI_EB, LI_HIT, LI_K = range(4)
NLI = 4
# with n_targets > 0 precision targets (swarm.targets), ``li`` has NLI + 1 + n_targets rows:
# LI_NEXT the index of each lane's next target not yet hit, then each target's first-hit step
LI_NEXT = NLI
LI_TARGETS = NLI + 1
MAX_TARGETS = 64

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
