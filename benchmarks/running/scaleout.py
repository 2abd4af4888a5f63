"""Scale-out with submitit: each planned cell becomes one job on Slurm or this machine.

The parent plans the cells, prepares every data set once (conversion and synthetic
generation are not safe to run from many jobs at once), writes the data records, and
submits one job per cell that is not done. A job runs the runner's ``main`` on a
command line restricted to its cell, with ``--no-report``; run files are one per cell
and written atomically, so jobs share the results folder without clobbering each other.
The parent waits, names each failed job with its log, and rebuilds the report once.
Rerunning the same command submits only the cells still missing, so a cancelled array
resumes. ``python -m benchmarks.launch`` is the runner with ``--launcher local``.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.running.execute import DataCache, cells_to_run, finish, write_data_records
from benchmarks.running.options import (
    DEFAULT_SLURM_MINUTES,
    DEFAULT_SLURM_PARALLELISM,
    LaunchOptions,
    RunOptions,
)
from benchmarks.running.plan import Planned, dataset_key, planned_datasets
from benchmarks.store.records import Cell
from benchmarks.store.summary import summary_table
from benchmarks.suite.experiments import get_experiment
from benchmarks.suite.profiles import get_profile

LOCAL_MINUTES = 7 * 24 * 60  # submitit's local default is 2 minutes: no limit in practice

#: A job's entry point: the runner given the job's cell spec (``RunOptions`` as JSON).
JobMain = Callable[[str], int]


@dataclass(frozen=True)
class Job:
    """One submitted job: its cell spec (the runner's options as JSON) and its cells."""

    spec: str
    cells: tuple[Cell, ...]

    def label(self) -> str:
        return ", ".join(cell.label() for cell in self.cells)


def parallelism(launch: LaunchOptions) -> int:
    """How many jobs may run at once."""
    if launch.array_parallelism:
        return launch.array_parallelism
    if launch.launcher == "slurm":
        return DEFAULT_SLURM_PARALLELISM
    return max(1, (os.cpu_count() or 1) // max(1, launch.cpus_per_task))


def executor_parameters(options: RunOptions) -> dict[str, Any]:
    """submitit's parameters (generic ones apply everywhere; ``slurm_`` ones on Slurm)."""
    launch = options.launch
    params: dict[str, Any] = {
        "name": f"lmmtc-{options.profile}",
        "gpus_per_node": launch.gpus_per_node,
        "cpus_per_task": launch.cpus_per_task,
        "mem_gb": launch.mem_gb,
        "slurm_array_parallelism": parallelism(launch),
    }
    default_minutes = DEFAULT_SLURM_MINUTES if launch.launcher == "slurm" else LOCAL_MINUTES
    params["timeout_min"] = launch.time or default_minutes
    if launch.partition:
        params["slurm_partition"] = launch.partition
    extra = dict(option.split("=", 1) for option in launch.slurm_options)
    if extra:
        params["slurm_additional_parameters"] = extra
    return params


def make_executor(options: RunOptions) -> Any:
    """A submitit executor for ``options.launch.launcher``; a clear error without submitit."""
    try:
        import submitit
    except ImportError:
        raise SystemExit("error: --launcher needs submitit: pip install submitit") from None
    log_dir = Path(options.launch.log_dir or Path(options.results_dir) / "launch_logs").resolve()
    executor = submitit.AutoExecutor(folder=log_dir / "%j", cluster=options.launch.launcher)
    executor.update_parameters(**executor_parameters(options))
    return executor


def cell_options(
    cell: Cell, options: RunOptions, paths: Mapping[str, str], aliases: Sequence[Cell] = ()
) -> RunOptions:
    """The options that plan exactly ``cell``: ``options`` narrowed to its data set (a
    folder by its absolute path), method, variant and seed, folders made absolute, run in
    the job's own process (no launcher, no report, no listing, no budget). A default cell
    planned for its ``aliases`` (:func:`benchmarks.running.plan.fold_aliases`) is asked
    for by their variants too, which the job's plan folds back into it (the selected
    experiments may not declare ``default``: Figure 5 alone)."""
    declared = {v.name for name in options.experiments for v in get_experiment(name).variants}
    own = [cell.variant] if cell.variant in declared or not aliases else []
    variants = [name or "default" for name in own + [a.variant for a in aliases]]
    dataset = paths.get(cell.dataset, cell.dataset)
    if Path(dataset).is_dir():
        dataset = str(Path(dataset).resolve())
    track = options.track
    if track.directory:
        track = dataclasses.replace(track, directory=Path(track.directory).resolve())
    return dataclasses.replace(
        options,
        datasets=[dataset],
        methods=[cell.method],
        variants=variants if options.experiments else [],
        seeds=[cell.seed],
        profile=cell.profile,
        data_dir=Path(options.data_dir).resolve(),
        raw_dir=Path(options.raw_dir).resolve(),
        results_dir=Path(options.results_dir).resolve(),
        dry_run=False,
        list=False,
        no_report=True,
        priority=False,
        budget=None,
        launch=LaunchOptions(),
        track=track,
    )


def plan_jobs(
    planned: Sequence[Planned], options: RunOptions, paths: Mapping[str, str]
) -> list[Job]:
    """Group the cells by the spec that runs them: one job per cell, never two jobs
    writing the same run file."""
    groups: dict[str, list[Cell]] = {}
    for item in planned:
        spec = cell_options(item.cell, options, paths, item.aliases).to_json()
        groups.setdefault(spec, []).append(item.cell)
    return [Job(spec, tuple(cells)) for spec, cells in groups.items()]


def submit_and_wait(
    executor: Any, jobs: Sequence[Job], options: RunOptions, job_main: JobMain
) -> list[str]:
    """Submit ``jobs`` (a Slurm array; locally in waves of ``parallelism``), wait for all,
    and return one line per failed job naming its log."""
    launch = options.launch
    wave = len(jobs) if launch.launcher == "slurm" else parallelism(launch)
    failures: list[str] = []
    for start in range(0, len(jobs), max(1, wave)):
        chunk = jobs[start : start + wave]
        with executor.batch():
            handles = [executor.submit(job_main, job.spec) for job in chunk]
        print(f"submitted {len(handles)} jobs: {', '.join(str(h.job_id) for h in handles)}")
        for job, handle in zip(chunk, handles):
            try:
                status = handle.result()
            except Exception as err:  # submitit: FailedJobError, UncompletedJobError
                reason = str(err).strip().splitlines()[0] if str(err).strip() else repr(err)
                failures.append(f"{job.label()}: job {handle.job_id}: {reason}")
                continue
            if status != 0:
                error = job_error_line(handle)
                failures.append(
                    f"{job.label()}: job {handle.job_id} exited with {status}"
                    f"{': ' + error if error else ''}; log: {handle.paths.stdout}"
                )
    return failures


def job_error_line(handle: Any) -> str:
    """The last ``FAILED ...`` or ``error: ...`` line a job printed (its logs), or ""."""
    found = ""
    for attr in ("stdout", "stderr"):
        try:
            text = Path(getattr(handle.paths, attr)).read_text(encoding="utf-8", errors="replace")
        except (OSError, AttributeError, TypeError):
            continue
        for line in text.splitlines():
            line = line.strip()
            if line.startswith(("FAILED ", "error: ")) or line.startswith("interrupted"):
                found = line
    return found[:300]


def launch(planned: Sequence[Planned], options: RunOptions, job_main: JobMain) -> int:
    """Run ``planned`` as submitit jobs, each calling ``job_main`` (the runner) on its cell
    spec; 0 when every job succeeded, 1 otherwise."""
    profile = get_profile(options.profile)
    try:
        executor = make_executor(options)
    except (ValueError, RuntimeError) as err:  # no srun on this machine, ...
        print(f"error: {err}", file=sys.stderr)
        return 2
    data = DataCache(options, profile)
    write_data_records(planned_datasets(options, planned), data, options, profile)
    pending = [item for item, _, _ in cells_to_run(planned, options, data)]
    jobs = plan_jobs(pending, options, data.paths)
    print(f"{len(planned)} cells planned, {sum(len(j.cells) for j in jobs)} to run")
    failures = submit_and_wait(executor, jobs, options, job_main) if jobs else []
    print(summary_table(options.results_dir, [item.cell for item in planned]))
    return finish(options, data, failures, "jobs")


def print_jobs(planned: Sequence[Planned], options: RunOptions) -> None:
    """``--dry-run``: the jobs and the cell spec of each (data not touched)."""
    jobs = plan_jobs(planned, options, {dataset_key(d): d for d in options.datasets})
    for job in jobs:
        print(f"  {job.label()}\n    {job.spec}")
    print(f"{len(jobs)} jobs on {options.launch.launcher}: {executor_parameters(options)}")
