"""The runner: ``python -m benchmarks.run``.

The command line is parsed once into :class:`benchmarks.running.options.RunOptions`; the cells
are planned by :mod:`benchmarks.running.plan` (experiments, or an ad-hoc --dataset x --method
grid), and run by :mod:`benchmarks.running.execute` in this process or by
:mod:`benchmarks.running.scaleout` as submitit jobs. Finished cells are never redone unless
--overwrite: a killed run resumes where it stopped.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from benchmarks.running.budget import (
    BudgetOutcome,
    check_budget_options,
    print_budget_dry_run,
    priority_plan,
    run_within_budget,
)
from benchmarks.running.execute import (
    INTERRUPTED,
    DataCache,
    finish,
    one_line,
    run_planned,
    watch_interrupts,
    write_data_records,
)
from benchmarks.running.filters import check_filters
from benchmarks.running.harness import check_method_params
from benchmarks.running.options import RunOptions, build_parser, options_from_namespace
from benchmarks.running.plan import PlanError, Planned, plan_cells, planned_datasets, print_dry_run
from benchmarks.running.provenance import git_state
from benchmarks.running.tasks import availability
from benchmarks.running.tracking import check_backend
from benchmarks.store.summary import summary_table
from benchmarks.suite.experiments import EXPERIMENTS
from benchmarks.suite.profiles import PROFILES, Profile, get_profile
from data_prep.registry import DATASETS
from data_prep.synthetic import PRESETS
from lmmtc.distributed import is_main_process, main_process_first
from lmmtc.registry import UnknownMethodError, get_method, list_methods

__all__ = ["build_parser", "main"]


def print_listing(options: RunOptions) -> None:
    print("Data sets (named):")
    for name, spec in DATASETS.items():
        state = availability(name, options.data_dir, options.raw_dir)
        paper = spec.paper.name if spec.paper else "(not in the paper)"
        labels = f"{spec.paper.labels:>3} labels" if spec.paper else ""
        print(f"  {name:<12} {paper:<14} {labels}  [{state}]")
    print("Data sets (synthetic):")
    for name, preset in PRESETS.items():
        print(f"  {name:<22} {preset.num_labels} labels, {preset.n_train} train")
    print("Methods:")
    for spec in list_methods():
        print(f"  {spec.name:<12} [{spec.family}] {spec.description}")
    print("Experiments:")
    for experiment in EXPERIMENTS.values():
        print(f"  {experiment.name:<10} {experiment.title}")
    print("Profiles:")
    for profile in PROFILES.values():
        print(f"  {profile.name:<6} {profile.description}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv``; return the exit code (2: bad options, nothing run;
    1: a data set, cell or job failed; 75: --budget left cells to run, none failed;
    0: everything asked for ran or was already done). An unexpected error is one line too,
    unless ``--debug`` asks for its traceback."""
    started = time.monotonic()  # --budget counts from here
    args = build_parser().parse_args(argv)
    git_state()  # stamp run files with the checkout as it was when this code was imported
    try:
        options = options_from_namespace(args)
    except ValueError as err:
        if args.debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    watch_interrupts()
    try:
        return run(options, started)
    except KeyboardInterrupt:
        if options.debug:
            raise
        print(f"\n{INTERRUPTED}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (``--list | head -1``): stop quietly
        quiet_stdout()
        return 0
    except Exception as err:
        if options.debug:
            raise
        print(f"error: {one_line(err)} (--debug shows the traceback)", file=sys.stderr)
        return 1


def quiet_stdout() -> None:
    """Point stdout at /dev/null, so that Python's flush at exit into a closed pipe
    prints nothing."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def check_method_options(planned: Sequence[Planned], options: RunOptions, profile: Profile) -> None:
    """Every planned cell's method parameters (YAML, variant, --set) checked against the
    method's declared options before any cell runs: a MethodConfigError (exit 2)."""
    seen: set[tuple[str, str, str]] = set()
    for item in planned:
        key = (item.cell.method, item.cell.dataset, item.cell.variant)
        if key in seen:
            continue
        seen.add(key)
        spec, resolved = item.resolve(profile, options.overrides)
        bad = check_method_params
        sets = {k: v for k, v in resolved.params.items() if k in options.overrides}
        for name, value in sets.items():  # --set first: the flag the user typed
            bad(spec, {name: value}, f"--set {name}={value}")
        where = f"config of {item.cell.label()}" + (
            f" ({item.cell.variant})" if item.cell.variant else ""
        )
        bad(spec, resolved.params, where)


def run_spec(spec: str) -> int:
    """A launched job: run the cell spec (``RunOptions`` as JSON) the launcher shipped; the
    exit code as :func:`main` says."""
    options = RunOptions.from_json(spec)
    git_state()
    try:
        return run(options)
    except Exception as err:
        if options.debug:
            raise
        print(f"error: {one_line(err)} (--debug shows the traceback)", file=sys.stderr)
        return 1


def run(options: RunOptions, started: float | None = None) -> int:
    """Plan and run what ``options`` ask for; the exit code as :func:`main` says.
    ``started`` is the ``time.monotonic()`` that ``--budget`` counts from (default: now)."""
    started = time.monotonic() if started is None else started
    try:
        profile = get_profile(options.profile)
        if options.list:
            print_listing(options)
            return 0
        planned = (
            priority_plan(options, profile) if options.priority else plan_cells(options, profile)
        )
        check_filters(options, planned)
        check_budget_options(options)
        for method in dict.fromkeys(item.cell.method for item in planned):
            get_method(method)  # fail before any work on a misspelt method
        check_method_options(planned, options, profile)
        if options.track.backend:
            check_backend(options.track.backend)  # TrackingUnavailable is a ValueError
    except (UnknownMethodError, PlanError, ValueError, TypeError) as err:
        if options.debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    if options.launch.launcher:
        from benchmarks.running import scaleout

        if options.dry_run:
            scaleout.print_jobs(planned, options)
            return 0
        return scaleout.launch(planned, options, job_main=run_spec)
    if options.dry_run:
        if options.budget is not None:
            print_budget_dry_run(planned, options, profile)
        else:
            print_dry_run(planned, options, profile)
        return 0
    data = DataCache(options, profile)
    names = planned_datasets(options, planned)
    with main_process_first():  # converted/generated once, by the main process
        for name in names:
            data.get(name)
    if not is_main_process():  # a non-main rank of ``accelerate launch``: no files
        run_planned(planned, options, profile, data)
        return 0
    write_data_records(names, data, options, profile)
    if options.budget is None:
        written, failures = run_planned(planned, options, profile, data)
        outcome = BudgetOutcome()
    else:
        outcome = run_within_budget(planned, options, profile, data, started)
        written, failures = outcome.written, outcome.failures
    print(summary_table(options.results_dir, [item.cell for item in planned]))
    print(f"{len(written)} cells run, {len(planned) - len(written)} skipped or missing data")
    return outcome.exit_code(finish(options, data, failures, "cells"))


if __name__ == "__main__":
    sys.exit(main())
