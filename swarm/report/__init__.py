"""A study's report: ``report.md``, a self-contained ``report.html`` and ``figures/*.png``.

>>> swarm.report.write(result, "out/")          # doctest: +SKIP

The report draws; it does not simulate. Every number in the tables is a value of
:mod:`swarm.analysis`, formatted with fixed decimals (:func:`fmt_prob` and friends); the
figures draw the same values, and the 2-D figures the study's figure data
(:mod:`swarm.extras`, ``figures.npz``, run once as a step of the study). Figures (matplotlib,
Agg, no pyplot state touched):

1. ``p_global.png``      P(global) per arm with the family-level (cluster-robust t over
                         instances) and the pooled Wilson intervals
2. ``p_vs_lr.png``       P(global) against the learning rate, one curve per optimizer (when a
                         label has several lr); ``p_vs_noise.png`` against σ (several σ)
3. ``heatmap_<label>.png`` P(global) over two hyperparameters of one optimizer that form a grid
4. ``ecdf.png``          fraction of trajectories at the global target by each step (log x)
5. ``basin_maps.png``    2-D only, from the figure data: end basin of every cell of a grid of
                         starts on instance 0, σ = 0, one panel per optimizer configuration
                         (≤ 6)
6. ``trajectories.png``  2-D only, from the figure data: paths (:func:`swarm.path`, σ = 0) of
                         every configuration from a few starts where their outcomes differ
                         (first, if there is one, a start where momentum reaches the global
                         basin and SGD stops in a local minimum; "rolls through" only when
                         momentum's path passes SGD's end point)

The headline is the per-arm table of :func:`swarm.analysis.overall` — the same rows as
``summary.csv`` / ``summary.txt`` (``tables/overall.csv`` is written by the same
:meth:`~swarm.result.Result.to_csv`, so the two files are identical); its columns are listed in
``docs/columns.md``. ``tables/*.csv`` hold the full tables (the report shows at most 60 pairs of
the paired table).

The report depends only on the results directory: regenerating it (``swarm report DIR``) gives
the same bytes (no generation time or timing of the report itself is written; the study's
provenance, from its manifest, is).

The package: :mod:`~swarm.report.build` (:func:`write`: tables, figures, document),
:mod:`~swarm.report.document` (Markdown and HTML rendering), :mod:`~swarm.report.tables`
(number formats, tables, CSV), :mod:`~swarm.report.text` (findings, definitions, provenance),
:mod:`~swarm.report.style` (colours, figure helpers), :mod:`~swarm.report.figures` (figures
1–4) and :mod:`~swarm.report.maps` (figures 5–6).
"""
from swarm.report.build import FAILED, write  # noqa: F401
from swarm.report.figures import heatmap_groups  # noqa: F401
from swarm.report.maps import trajectory_caption  # noqa: F401
from swarm.report.style import arm_colours  # noqa: F401
from swarm.report.tables import (fmt_ci, fmt_prob, fmt_pvalue, fmt_signed,  # noqa: F401
                                 fmt_signed_ci, fmt_steps)

__all__ = ["write", "fmt_prob", "fmt_ci", "fmt_pvalue", "fmt_steps", "fmt_signed",
           "fmt_signed_ci", "arm_colours", "heatmap_groups", "trajectory_caption"]
