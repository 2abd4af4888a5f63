"""Scale-out with submitit: each planned cell becomes one job on Slurm or this machine.

``python -m benchmarks.launch <benchmarks.run arguments> [--launcher local|slurm|debug]``
(or ``python -m benchmarks.run ... --launcher slurm`` once wired into the runner).

The parent plans the cells (:func:`benchmarks.run.plan_cells`), prepares every data set
once (conversion and synthetic generation are not safe to run from many jobs at once),
writes the data records, and submits one job per cell that is not done. A job runs
``benchmarks.run.main`` on a command line restricted to its cell, with ``--no-report``;
run files are one per cell and written atomically, so jobs share the results folder
without clobbering each other. The parent waits, names each failed job with its log,
and rebuilds the report once. Rerunning the same command submits only the cells still
missing, so a cancelled array resumes.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.profiles import get_profile
from benchmarks.run import (
    DataCache,
    Planned,
    build_parser,
    cell_reason,
    dataset_key,
    finish,
    planned_datasets,
    selected_experiments,
    set_overrides,
    write_data_records,
)
from benchmarks.runfiles import Cell
from benchmarks.summary import summary_table

LAUNCHERS = ("local", "slurm", "debug")
DEFAULT_SLURM_PARALLELISM = 32
DEFAULT_SLURM_MINUTES = 240
LOCAL_MINUTES = 7 * 24 * 60  # submitit's local default is 2 minutes: no limit in practice


@dataclass(frozen=True)
class Job:
    """One submitted job: the runner's command line and the cells it runs."""

    argv: tuple[str, ...]
    cells: tuple[Cell, ...]

    def label(self) -> str:
        return ", ".join(cell.label() for cell in self.cells)


def add_launcher_arguments(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    """The scale-out options (``--launcher`` off by default: the runner runs in-process)."""
    group = parser.add_argument_group(
        "scale-out (submitit)",
        "one job per cell on Slurm or this machine; the parent waits and rebuilds the report",
    )
    group.add_argument(
        "--launcher",
        choices=LAUNCHERS,
        default=default,
        help="local: subprocesses on this machine; slurm: a Slurm job array; debug: in this "
        "process, one after the other (for pdb)",
    )
    group.add_argument("--partition", help="Slurm partition")
    group.add_argument("--gpus-per-node", type=int, default=0, metavar="N", help="GPUs per job")
    group.add_argument(
        "--time",
        type=int,
        metavar="MIN",
        help=f"time limit per job, minutes (Slurm default {DEFAULT_SLURM_MINUTES}; local: a week)",
    )
    group.add_argument(
        "--array-parallelism",
        type=int,
        metavar="N",
        help=f"jobs running at once (Slurm default {DEFAULT_SLURM_PARALLELISM}; "
        "local default: CPU cores / --cpus-per-task)",
    )
    group.add_argument("--cpus-per-task", type=int, default=4, metavar="N")
    group.add_argument("--mem-gb", type=float, default=32.0, metavar="GB")
    group.add_argument(
        "--slurm-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other sbatch option, e.g. account=abc or constraint=a100 (repeatable)",
    )
    group.add_argument(
        "--log-dir", type=Path, help="job logs and pickles (default <results-dir>/launch_logs)"
    )


def parallelism(args: argparse.Namespace) -> int:
    """How many jobs may run at once."""
    if args.array_parallelism:
        return args.array_parallelism
    if args.launcher == "slurm":
        return DEFAULT_SLURM_PARALLELISM
    return max(1, (os.cpu_count() or 1) // max(1, args.cpus_per_task))


def executor_parameters(args: argparse.Namespace) -> dict[str, Any]:
    """submitit's parameters (generic ones apply everywhere; ``slurm_`` ones on Slurm)."""
    params: dict[str, Any] = {
        "name": f"lmmtc-{args.profile}",
        "gpus_per_node": args.gpus_per_node,
        "cpus_per_task": args.cpus_per_task,
        "mem_gb": args.mem_gb,
        "slurm_array_parallelism": parallelism(args),
    }
    default_minutes = DEFAULT_SLURM_MINUTES if args.launcher == "slurm" else LOCAL_MINUTES
    params["timeout_min"] = args.time or default_minutes
    if args.partition:
        params["slurm_partition"] = args.partition
    extra = dict(option.split("=", 1) for option in args.slurm_option if "=" in option)
    bad = [option for option in args.slurm_option if "=" not in option]
    if bad:
        raise ValueError(f"--slurm-option takes KEY=VALUE, got {bad}")
    if extra:
        params["slurm_additional_parameters"] = extra
    return params


def make_executor(args: argparse.Namespace) -> Any:
    """A submitit executor for ``args.launcher``; a clear error when submitit is absent."""
    try:
        import submitit
    except ImportError:
        raise SystemExit("error: --launcher needs submitit: pip install submitit") from None
    log_dir = Path(args.log_dir or Path(args.results_dir) / "launch_logs").resolve()
    executor = submitit.AutoExecutor(folder=log_dir / "%j", cluster=args.launcher)
    executor.update_parameters(**executor_parameters(args))
    return executor


def cell_argv(cell: Cell, args: argparse.Namespace, paths: Mapping[str, str]) -> list[str]:
    """The runner's command line that plans exactly ``cell``."""
    dataset = paths.get(cell.dataset, cell.dataset)
    if Path(dataset).is_dir():
        dataset = str(Path(dataset).resolve())
    argv = [
        "--dataset",
        dataset,
        "--method",
        cell.method,
        "--seeds",
        str(cell.seed),
        "--profile",
        cell.profile,
    ]
    experiments = [experiment.name for experiment in selected_experiments(args)]
    if experiments:
        argv += ["--experiment", *experiments, "--variant", cell.variant or "default"]
    for option in ("data_dir", "raw_dir", "results_dir"):
        argv += [f"--{option.replace('_', '-')}", str(Path(getattr(args, option)).resolve())]
    for override in args.overrides:
        argv += ["--set", override]
    if args.overwrite:
        argv.append("--overwrite")
    if getattr(args, "track", None):
        argv += ["--track", args.track]
        if getattr(args, "track_dir", None):
            argv += ["--track-dir", str(Path(args.track_dir).resolve())]
    return [*argv, "--no-report"]


def plan_jobs(
    planned: Sequence[Planned], args: argparse.Namespace, paths: Mapping[str, str]
) -> list[Job]:
    """Group the cells by the command line that runs them: one job per cell, never two
    jobs writing the same run file."""
    groups: dict[tuple[str, ...], list[Cell]] = {}
    for item in planned:
        argv = tuple(cell_argv(item.cell, args, paths))
        groups.setdefault(argv, []).append(item.cell)
    return [Job(argv, tuple(cells)) for argv, cells in groups.items()]


def pending(planned: Sequence[Planned], args: argparse.Namespace, data: DataCache) -> list[Planned]:
    """The cells to submit: their data set is available and their run file is not fresh
    (same data, same config; see ``run.cell_reason``)."""
    overrides = set_overrides(args)
    todo = []
    for item in planned:
        dataset = data.get(item.cell.dataset)
        if dataset is None:
            continue
        path = item.cell.path(args.results_dir)
        if args.overwrite or cell_reason(item, data.profile, overrides, path, dataset):
            todo.append(item)
    return todo


def submit_and_wait(executor: Any, jobs: Sequence[Job], args: argparse.Namespace) -> list[str]:
    """Submit ``jobs`` (a Slurm array; locally in waves of ``parallelism``), wait for all,
    and return one line per failed job naming its log."""
    from benchmarks.run import main as run_main

    wave = len(jobs) if args.launcher == "slurm" else parallelism(args)
    failures: list[str] = []
    for start in range(0, len(jobs), max(1, wave)):
        chunk = jobs[start : start + wave]
        with executor.batch():
            handles = [executor.submit(run_main, list(job.argv)) for job in chunk]
        print(f"submitted {len(handles)} jobs: {', '.join(str(h.job_id) for h in handles)}")
        for job, handle in zip(chunk, handles):
            try:
                status = handle.result()
            except Exception as err:  # submitit: FailedJobError, UncompletedJobError
                reason = str(err).strip().splitlines()[0] if str(err).strip() else repr(err)
                failures.append(f"{job.label()}: job {handle.job_id}: {reason}")
                continue
            if status != 0:
                failures.append(
                    f"{job.label()}: job {handle.job_id} exited with {status}; "
                    f"log: {handle.paths.stdout}"
                )
    return failures


def launch(planned: Sequence[Planned], args: argparse.Namespace) -> int:
    """Run ``planned`` as submitit jobs (``args`` from the runner's parser plus
    :func:`add_launcher_arguments`); 0 when every job succeeded, 1 otherwise."""
    profile = get_profile(args.profile)
    try:
        executor = make_executor(args)
    except (ValueError, RuntimeError) as err:  # bad --slurm-option; no srun on this machine
        print(f"error: {err}", file=sys.stderr)
        return 2
    data = DataCache(args, profile)
    write_data_records(planned_datasets(args, planned), data, args, profile)
    jobs = plan_jobs(pending(planned, args, data), args, data.paths)
    print(f"{len(planned)} cells planned, {sum(len(j.cells) for j in jobs)} to run")
    failures = submit_and_wait(executor, jobs, args) if jobs else []
    print(summary_table(args.results_dir, [item.cell for item in planned]))
    return finish(args, data, failures, "jobs")


def print_jobs(planned: Sequence[Planned], args: argparse.Namespace) -> None:
    """``--dry-run``: the jobs and the command line of each (data not touched)."""
    jobs = plan_jobs(planned, args, {dataset_key(d): d for d in args.dataset})
    for job in jobs:
        print(f"  {job.label()}\n    python -m benchmarks.run {' '.join(job.argv)}")
    print(f"{len(jobs)} jobs on {args.launcher}: {executor_parameters(args)}")


def launch_parser() -> argparse.ArgumentParser:
    """The runner's options, with ``--launcher local`` as the default."""
    parser = build_parser()
    parser.prog = "python -m benchmarks.launch"
    parser.set_defaults(launcher="local")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks.launch ARGS`` = ``python -m benchmarks.run ARGS --launcher
    local`` unless ARGS name another launcher."""
    from benchmarks.run import main as run_main

    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(arg == "--launcher" or arg.startswith("--launcher=") for arg in argv):
        argv += ["--launcher", "local"]
    return run_main(argv)


if __name__ == "__main__":
    sys.exit(main())
