"""swarm: how often does each optimizer escape local minima and find the global minimum?

  swarm run SPEC.toml -o DIR   run a study described by a TOML spec (docs/specs.md), print its
                               summary and write the results directory
  swarm check SPEC.toml        validate a spec and say how big the study is, without running it
                               (--half-width W: and plan it, as swarm plan does)
  swarm plan SPEC.toml --half-width W
                               run a small pilot of the spec and say how many instances (and
                               starts per instance) give P(global) ± W for a landscape drawn
                               from the family, and how long that takes here
  swarm extras DIR             run the extra runs behind the report's 2-D figures (basin maps,
                               trajectories) of a results directory and save them there as
                               figures.npz (swarm run and swarm demo do this themselves)
  swarm report DIR             (re)write report.md, report.html and figures/ of a results
                               directory; it only reads (never runs an optimizer)
  swarm export DIR [DIR ...] --format coco|ioh OUT
                               write the runs of results directories (kept outcomes, precision
                               targets) in COCO's format (python -m cocopp OUT/*) or
                               IOHprofiler's (IOHanalyzer, iohinspector); docs/coco.md
  swarm demo                   a small real study on the CPU, written to ./swarm-demo/
  swarm optimizers [NAME]      the optimizers (name, defaults, source); with NAME, its
                               hyperparameters with defaults and allowed values
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
import time
from pathlib import Path

import swarm
from swarm import landscapes as L
from swarm import optimizers as O


def demo_optimizers():
    """The seed article's six optimizers, each at a learning rate that suits the landscape."""
    return [O.sgd(lr=0.02), O.momentum(lr=0.02, momentum=0.9),
            O.nesterov(lr=0.02, momentum=0.9), O.adagrad(lr=0.5), O.rmsprop(lr=0.02),
            O.adam(lr=0.05)]


def demo(out="swarm-demo", instances=20, starts=500, steps=1000, noise=0.5, seed=0,
         threads=None, progress=None):
    """How often does each optimizer reach the global minimum of random 2-D Gaussian-peak
    landscapes (21 peaks), with gradient noise σ = 0.5? Returns the Result, its summary text
    and the results directory (outcomes, manifest, summary.csv/.txt and the report)."""
    fam = L.gaussian_peaks(dim=2, peaks=21)
    writable(out)                     # an unusable directory fails now, not after the study
    t0 = time.perf_counter()
    res = swarm.run(fam, demo_optimizers(), instances=instances, starts=starts, steps=steps,
                    noise=noise, seed=seed, threads=threads, progress=progress)
    res.provenance["wall_s"] = time.perf_counter() - t0
    text, _ = write_results(res, out)
    d = Path(out)
    return res, text, d


# ---------------------------------------------------------------- helpers of the commands

PROGRESS_DELAY_S = 1.0      # the bar appears only on runs longer than this


class CommandError(Exception):
    """A user-facing error of a command: printed as one line, exit status 2."""


def _report_module():
    """``swarm.report``, imported on use (matplotlib is slow to import); a seam for tests."""
    from swarm import report
    return report


def _extras_module():
    """``swarm.extras`` (the figure data's extra runs); a seam for tests."""
    from swarm import extras
    return extras


@contextlib.contextmanager
def progress_bar(total, quiet=False, stream=None):
    """A tqdm bar over ``total`` trajectories (rate, ETA) on stderr, only when stderr is a
    terminal and not ``quiet``; yields the callback for ``swarm.run(progress=…)`` (or None)."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    if quiet or not (isatty and isatty()):
        yield None
        return
    from tqdm import tqdm
    with tqdm(total=total, unit="traj", unit_scale=True, delay=PROGRESS_DELAY_S, file=stream,
              dynamic_ncols=True, desc="trajectories", smoothing=0.1) as bar:
        yield bar.update


def progress_chunk(total, updates=200):
    """A CPU chunk size giving about ``updates`` progress updates, within [2¹⁴, default]."""
    from swarm.engine import DEFAULT_CHUNK
    return int(min(DEFAULT_CHUNK, max(1 << 14, -(-total // updates))))


def writable(out) -> Path:
    """``out`` created if needed and checked writable (a temporary file made and removed
    there), else ValueError naming it — before a study runs, not after."""
    import tempfile
    d = Path(out)
    try:
        d.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=d):
            pass
    except OSError as e:
        raise ValueError(f"{d}: cannot write results there ({e.strerror or e})") from None
    return d


def write_results(res, out, spec=None, report=True, saved=None) -> tuple[str, list[str]]:
    """Write a results directory: outcomes.npz, manifest.json, summary.csv, summary.txt, the
    spec file as spec.toml and (unless ``report`` is False) the figure data (figures.npz: the
    extra runs behind the 2-D figures, :func:`swarm.extras.prepare`) and the report; every
    file atomically and never through a symbolic link. ``saved()``, when given, is called
    once the results are written and before the figure data and the report (which may fail
    without costing them).
    Returns the summary text and the names in the directory (swarm's hidden files left out)."""
    from swarm.files import atomic_write
    d = res.save(out)
    rows = res.table()
    text = res.summary(rows=rows)
    res.to_csv(d / "summary.csv", rows=rows)
    atomic_write(d / "summary.txt", (text + "\n").encode("utf-8"))
    if spec is not None:
        atomic_write(d / "spec.toml", spec.text.encode("utf-8"))
    if saved is not None:
        saved()
    if report:
        failed = None
        try:
            _extras_module().prepare(res, d)
        except Exception as e:     # the report is still written, without the 2-D figures
            failed = e
        report = _report_module()
        try:
            report.write(res, d)
        except Exception as e:     # the results are safe: say so, and how to retry
            raise CommandError(f"results written to {d}/, but the report failed "
                               f"({type(e).__name__}: {e}); retry with: swarm report "
                               f"{shlex.quote(str(d))}") from e
        if failed is not None:
            q = shlex.quote(str(d))
            raise CommandError(f"results and report written to {d}/, but the extra runs behind "
                               f"the basin maps and trajectories failed "
                               f"({type(failed).__name__}: {failed}); add them with: swarm "
                               f"extras {q} && swarm report {q}") from failed
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in d.iterdir()
                   if not p.name.startswith("."))
    return text, names


def _finished(out, spec):
    """Whether ``out`` holds the finished results of ``spec`` (same spec file contents)."""
    import hashlib

    from swarm.files import read_json
    try:
        m = read_json(out / "manifest.json", "manifest")
        return m["study"]["sha256"] == hashlib.sha256(spec.text.encode()).hexdigest()
    except (OSError, ValueError, KeyError, TypeError):
        return False



def cmd_run(args):
    from swarm import files
    from swarm.spec import load_spec
    spec = load_spec(args.spec)
    cluster = args.scheduler if args.scheduler is not None else args.workers
    where = None
    if cluster is not None:
        from swarm import distributed       # imports Dask only in check()
        flag = "--scheduler" if args.scheduler is not None else "--workers"
        try:
            distributed.check(cluster)
        except ValueError as e:
            raise CommandError(f"{flag} {cluster}: {e}") from None
        where = [flag, str(cluster)]
    out = Path(args.out) if args.out else Path(f"swarm-{Path(args.spec).stem}")
    again = " ".join(shlex.quote(x) for x in ["swarm", "run", str(args.spec), "-o", str(out),
                                               "--resume"] + (where or []))
    writable(out)                      # an unusable DIR fails now, not after the run
    # one writer at a time, from the first look at DIR to its last file (a second swarm run
    # into DIR is refused with one line); the engine's checkpoint takes the same lock
    with files.lock(out):
        return _run_into(args, spec, out, cluster, again)


def _run_into(args, spec, out, cluster, again):
    from swarm import checkpoint
    from swarm.distributed import ChunkFailed
    from swarm.collect import Interrupted
    if args.resume and not (out / checkpoint.STATE).exists() and \
            (out / "manifest.json").exists():
        if not _finished(out, spec):
            raise CommandError(f"{out} holds the results of a different study; refusing to "
                               f"resume into it (use another -o DIR)")
        if not args.quiet:
            print(f"{out} already holds the finished results of {args.spec}; nothing to "
                  f"resume")
        return 0
    overrides = {"checkpoint": out, "resume": args.resume}
    if args.threads is not None:
        overrides["threads"] = args.threads
    if args.backend is not None:
        overrides["backend"] = args.backend
    if args.keep_limit is not None:
        overrides["keep_limit"] = args.keep_limit
    if cluster is not None:
        overrides["cluster"] = cluster
        if args.workers is not None and not args.quiet:
            print(f"swarm: starting a local Dask cluster of {args.workers} worker "
                  f"process{'es' if args.workers != 1 else ''}", file=sys.stderr)
    with progress_bar(spec.n_trajectories, args.quiet) as cb:
        backend = overrides.get("backend", spec.backend)
        if cb is not None and spec.chunk_size is None and backend == "cpu":
            # smaller chunks (never smaller than 2¹⁴) so that the bar moves; the outcomes do
            # not depend on the chunk size
            overrides["chunk_size"] = progress_chunk(spec.n_trajectories)
        try:
            with _cluster_log(cluster is not None and not args.quiet):
                res = spec.run(progress=cb, **overrides)
        except Interrupted as e:
            print(f"swarm: {e}\nresume with: {again}", file=sys.stderr)
            return 130
        except ChunkFailed as e:
            raise CommandError(f"{e}; resume with: {again}") from e
    # where the chunks ran does not change the results: kept in provenance["cluster"], not
    # among the study's overrides
    (getattr(res, "study", None) or {}).get("overrides", {}).pop("cluster", None)
    # the checkpoint goes once the results are written, before the report: a failed report
    # leaves finished results (swarm report DIR retries it), not an unfinished run
    text, names = write_results(res, out, spec, report=not args.no_report,
                                saved=lambda: checkpoint.clear(out))
    if not args.quiet:
        print(text)
        names = [n for n in names if n not in (checkpoint.CHUNKS + "/", checkpoint.STATE)]
        print(f"\nresults written to {out.resolve()}/ ({', '.join(names)})")
    return 0


@contextlib.contextmanager
def _cluster_log(show):
    """While ``show``: the Dask scheduler and dashboard addresses (``swarm.distributed``'s
    INFO messages) on stderr."""
    if not show:
        yield
        return
    import logging
    logger = logging.getLogger("swarm.distributed")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("swarm: %(message)s"))
    old = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


def cmd_check(args):
    from swarm.spec import load_spec
    spec = load_spec(args.spec)
    kw = _plan_args(args) if args.half_width is not None else None   # bad options: fail first
    print(spec.describe())
    if kw is not None:
        from swarm import plan
        print()
        print(plan.plan(spec, **kw).text())
    return 0


def _plan_args(args):
    """The planner's options, checked (one-line errors)."""
    from swarm import plan
    if args.half_width is None:
        raise CommandError("plan needs --half-width W: the wanted half-width of the "
                           "family-level interval of P(global), in (0, 0.5]")
    return dict(half_width=plan.check_half_width(args.half_width),
                confidence=plan._check_confidence(args.confidence),
                pilot_instances=plan._check_count("--pilot-instances", args.pilot_instances, 2),
                pilot_starts=None if args.pilot_starts is None else
                plan._check_count("--pilot-starts", args.pilot_starts, 2),
                threads=None if args.threads is None else
                plan._check_count("--threads", args.threads, 1),
                backend=args.backend, timing=not args.no_timing)


def cmd_plan(args):
    from swarm import plan
    from swarm.spec import load_spec
    kw = _plan_args(args)
    print(plan.plan(load_spec(args.spec), **kw).text())
    return 0


def _saved(args):
    """(directory, result) of a command's DIR argument."""
    d = Path(args.dir)
    if not d.is_dir():
        raise CommandError(f"{d}: no such results directory")
    return d, swarm.load(d)


def cmd_report(args):
    report = _report_module()
    d, res = _saved(args)
    path = report.write(res, d)
    print(f"report written to {Path(path).resolve() if path else d.resolve()}")
    extras = _extras_module()
    if extras.reason_none(res) is None and not os.path.lexists(d / extras.FILE):
        print(f"without basin maps and trajectories: {d} has no figure data; add it with: "
              f"swarm extras {shlex.quote(str(d))}, then swarm report again")
    return 0


def cmd_extras(args):
    extras = _extras_module()
    d, res = _saved(args)
    path = extras.prepare(res, d)
    if path is None:
        print(f"{d}: no figure data for this study ({extras.reason_none(res)})")
    else:
        print(f"figure data written to {Path(path).resolve()}; rewrite the report with: "
              f"swarm report {shlex.quote(str(d))}")
    return 0


def cmd_export(args):
    from swarm import export
    out = export.export(args.dirs, args.format, args.out, force=args.force)
    algs = sorted(p.name for p in Path(out).iterdir() if p.is_dir())
    shown = " ".join(shlex.quote(str(Path(out) / a)) for a in algs[:3])
    print(f"{len(algs)} algorithm(s) written to {Path(out).resolve()}/ in "
          f"{'COCO' if args.format == 'coco' else 'IOHprofiler'}'s format (budgets in gradient "
          f"evaluations)"
          + (f"; compare them with: python -m cocopp {shown}{' …' if len(algs) > 3 else ''}"
             if args.format == "coco" else ""))
    return 0


def cmd_demo(args):
    with progress_bar(6 * args.instances * args.starts, args.quiet) as cb:
        res, text, out = demo(args.out, args.instances, args.starts, args.steps, args.noise,
                              args.seed, args.threads, progress=cb)
    if not args.quiet:
        print(text)
        print(f"\nresults written to {Path(out).resolve()}/ (outcomes.npz, manifest.json, "
              f"summary.csv, summary.txt, figures.npz, report.md, report.html, figures/)")
    return 0


def optimizer_lines(name=None) -> list[str]:
    """What ``swarm optimizers [NAME]`` prints, read from ``swarm.optimizers.REGISTRY``: one
    line per optimizer (name, the defaults of its hyperparameters that are on, source); with
    ``name``, that optimizer's formula and every hyperparameter (its own, then schedule and
    clipping) with default, allowed values and meaning."""
    from swarm import schedules as S
    from swarm.spec import MATCHED_KINDS
    if name is None:
        width = max(map(len, O.REGISTRY))
        out = []
        for row in O.REGISTRY.values():
            defaults = ", ".join(f"{h.name}={_value(h.default)}" for h in row.hypers
                                 if not h.optional)
            out.append(f"{row.name:<{width}}  {defaults}  [{row.source}]")
        out.append("every optimizer also takes schedule (default constant), clip_norm and "
                   "clip_value (default off); swarm optimizers NAME lists one's hyperparameters")
        return out
    if name not in O.REGISTRY:
        import difflib
        near = difflib.get_close_matches(name, list(O.REGISTRY), n=1)
        raise CommandError(f"no optimizer {name!r}" + (f" (did you mean {near[0]!r}?)" if near
                                                       else "")
                           + f"; one of {', '.join(O.REGISTRY)}")
    row = O.REGISTRY[name]
    out = [f"{row.name}: {row.summary}", f"  one step: {row.formula}",
           f"  state: {', '.join(row.state) or 'none'}; semantics and defaults: {row.source}",
           "  hyperparameters (a list in a spec, or a sequence in Python, is a grid):"]
    hs = row.all_hypers
    width = max(len(h.name) for h in hs)
    for h in hs:
        default = "constant" if h.name == "schedule" else _value(h.default)
        allowed = ("a schedule: a string such as 'cosine(T_max=1000)' or a table/dict with "
                   f"kind ({', '.join(S.KINDS)})") if h.name == "schedule" else h.allowed()
        out.append(f"    {h.name:<{width}}  default {default}; allowed {allowed}; {h.doc}")
    if name in MATCHED_KINDS:
        out.append("  in a spec, lr_eff (a matched sweep) may replace lr: "
                   "lr = lr_eff·(1 − momentum)")
    return out


def _value(v):
    if v is None:
        return "off"
    return f"{v:g}" if isinstance(v, float) and not isinstance(v, bool) else str(v)


def cmd_optimizers(args):
    print("\n".join(optimizer_lines(args.name)))
    return 0


def build_parser():
    ap = argparse.ArgumentParser(prog="swarm", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    r = sub.add_parser("run", help="run a study described by a TOML spec file",
                       description="Run the study of SPEC (a TOML file, see docs/specs.md), "
                                   "print its summary and write the results directory.")
    r.add_argument("spec", metavar="SPEC.toml")
    r.add_argument("-o", "--out", metavar="DIR", default=None,
                   help="results directory (default: ./swarm-<spec name>/)")
    r.add_argument("--quiet", action="store_true",
                   help="no progress bar and no summary on stdout (errors only)")
    r.add_argument("--threads", type=int, default=None, metavar="N",
                   help="CPU threads (default: all Numba threads; with --scheduler or "
                        "--workers: per task, default the host's cores shared among its "
                        "tasks); never changes the outcomes")
    r.add_argument("--backend", choices=["cpu", "cuda", "auto"], default=None,
                   help="override the spec's backend")
    r.add_argument("--resume", action="store_true",
                   help="continue an interrupted run in DIR: chunks already saved there are "
                        "loaded, not recomputed (the result is identical to an uninterrupted "
                        "run); DIR must hold this spec's checkpoint")
    r.add_argument("--keep-limit", type=int, default=None, metavar="N",
                   help="keep per-trajectory outcomes only for studies of at most N "
                        "trajectories (default 10,000,000); larger studies keep exact "
                        "aggregates only")
    where = r.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="run the chunks as Dask tasks on the running Dask scheduler at "
                            "ADDRESS (tcp://host:8786); needs pip install "
                            "'swarm[distributed]'; never changes the outcomes")
    where.add_argument("--workers", type=int, default=None, metavar="N",
                       help="start a local Dask cluster of N worker processes and run the "
                            "chunks there (with --backend cuda and dask-cuda installed: one "
                            "worker per GPU, N GPUs); never changes the outcomes")
    r.add_argument("--no-report", action="store_true",
                   help="skip the figure data's extra runs and report.md/report.html/figures "
                        "(swarm extras DIR, then swarm report DIR, add them later)")
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("check", help="validate a spec and show the size of its study")
    c.add_argument("spec", metavar="SPEC.toml")
    _plan_options(c, required=False)
    c.set_defaults(func=cmd_check)

    pl = sub.add_parser(
        "plan", help="how many instances give a wanted family-level half-width of P(global)",
        description="Run a small pilot of SPEC, estimate per arm the spread of P(global) "
                    "between landscape instances and on one instance, and print how many "
                    "instances (at 1 start per instance, the spec's starts, and the "
                    "cost-optimal number) bring the family-level interval of P(global) to "
                    "± W, with the expected run time on this machine.")
    pl.add_argument("spec", metavar="SPEC.toml")
    _plan_options(pl, required=True)
    pl.set_defaults(func=cmd_plan)

    p = sub.add_parser("report", help="(re)write the report of a results directory",
                       description="(Re)write report.md, report.html, figures/ and tables/ of "
                                   "DIR from its saved results and figure data (figures.npz); "
                                   "nothing is run.")
    p.add_argument("dir", metavar="DIR")
    p.set_defaults(func=cmd_report)

    e = sub.add_parser("extras", help="run the extra runs behind the report's 2-D figures and "
                                      "save them in a results directory",
                       description="Run the extra runs behind the report's basin maps and "
                                   "trajectories (2-D landscapes: a grid of starts on instance "
                                   "0 and a few paths, σ = 0) for the study saved in DIR and "
                                   "write them to DIR/figures.npz; then swarm report DIR draws "
                                   "them. swarm run and swarm demo do this themselves.")
    e.add_argument("dir", metavar="DIR")
    e.set_defaults(func=cmd_extras)

    x = sub.add_parser("export", help="write results in COCO's or IOHprofiler's data format",
                       description="Write the runs of one or more results directories (studies "
                                   "run with targets = \"coco\" and kept outcomes) into OUT, "
                                   "one algorithm per arm and one run per trajectory, budgets "
                                   "in gradient evaluations: --format coco for cocopp "
                                   "(BBOB families only), --format ioh for IOHanalyzer and "
                                   "iohinspector (any family). See docs/coco.md.")
    x.add_argument("dirs", metavar="DIR", nargs="+", help="results directory")
    x.add_argument("out", metavar="OUT", help="export directory (new, or empty)")
    x.add_argument("--format", choices=["coco", "ioh"], required=True)
    x.add_argument("--force", action="store_true",
                   help="write into a non-empty OUT (files of the same names are replaced; "
                        "others are left)")
    x.set_defaults(func=cmd_export)

    d = sub.add_parser("demo", help="run a small real study on the CPU and write its results")
    d.add_argument("-o", "--out", default="swarm-demo", help="results directory")
    d.add_argument("--instances", type=int, default=20)
    d.add_argument("--starts", type=int, default=500)
    d.add_argument("--steps", type=int, default=1000)
    d.add_argument("--noise", type=float, default=0.5)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--threads", type=int, default=None)
    d.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    d.set_defaults(func=cmd_demo)

    o = sub.add_parser("optimizers", help="list the optimizers, or one optimizer's "
                                          "hyperparameters",
                       description="Without NAME: one line per optimizer (name, defaults, "
                                   "source). With NAME: its update, state, and every "
                                   "hyperparameter with its default and allowed values (the "
                                   "keys of a spec's [[optimizers]] table).")
    o.add_argument("name", metavar="NAME", nargs="?", default=None)
    o.set_defaults(func=cmd_optimizers)
    return ap


def _plan_options(p, required):
    """Options of swarm plan (and of swarm check's plan section). Values are parsed by the
    planner, so that a bad one is a one-line error."""
    from swarm import plan
    p.add_argument("--half-width", metavar="W", default=None,
                   help="wanted half-width of the family-level interval of P(global), in "
                        "(0, 0.5]" + ("" if required else "; plans the study as swarm plan "
                                      "does (runs a pilot)"))
    p.add_argument("--confidence", metavar="C", default="0.95",
                   help="confidence of the interval (default 0.95)")
    p.add_argument("--pilot-instances", metavar="N", default=str(plan.DEFAULT_PILOT_INSTANCES),
                   help=f"instances of the pilot (default {plan.DEFAULT_PILOT_INSTANCES})")
    p.add_argument("--pilot-starts", metavar="N", default=None,
                   help="starts per instance of the pilot (default: the spec's, at least 2, at "
                        f"most {plan.MAX_PILOT_STARTS})")
    p.add_argument("--no-timing", action="store_true",
                   help="no timing runs: expected times from the pilot alone")
    if required:
        p.add_argument("--threads", metavar="N", default=None, help="CPU threads")
        p.add_argument("--backend", choices=["cpu", "cuda", "auto"], default=None,
                       help="override the spec's backend")
    else:
        p.set_defaults(threads=None, backend=None)


def _one_line(e):
    return " ".join(str(e).split()) or type(e).__name__


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, CommandError) as e:      # SpecError is a ValueError
        print(f"swarm: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except OSError as e:                         # unwritable results directory, disk full …
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        print(f"swarm: error: {where}{e.strerror or _one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("swarm: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
