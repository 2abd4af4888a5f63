"""The runner's options, parsed once from the command line into typed objects.

:func:`build_parser` is the one argparse parser of ``python -m benchmarks.run`` (and of
``python -m benchmarks.launch``, which only changes the default launcher);
:func:`parse_options` turns its namespace into a :class:`RunOptions`, checking what can
be checked before any work (a malformed ``--set``, an unknown experiment). Planning,
execution, the launcher and tracking take these objects, never an ``argparse.Namespace``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.running.tracking import BACKENDS as TRACKING_BACKENDS
from benchmarks.suite.config import parse_override
from benchmarks.suite.experiments import EXPERIMENTS, FIGURES, TABLES, get_experiment
from benchmarks.suite.paths import DEFAULT_DATA, DEFAULT_RAW, DEFAULT_RESULTS
from benchmarks.suite.profiles import PROFILES

LAUNCHERS = ("local", "slurm", "debug")
DEFAULT_SLURM_PARALLELISM = 32
DEFAULT_SLURM_MINUTES = 240


@dataclass
class LaunchOptions:
    """Scale-out through submitit (``launcher`` None: run in this process)."""

    launcher: str | None = None
    partition: str | None = None
    gpus_per_node: int = 0
    time: int | None = None  # minutes per job
    array_parallelism: int | None = None
    cpus_per_task: int = 4
    mem_gb: float = 32.0
    slurm_options: list[str] = field(default_factory=list)  # KEY=VALUE
    log_dir: Path | None = None


@dataclass
class TrackOptions:
    """Experiment tracking (``backend`` None: off)."""

    backend: str | None = None
    directory: Path | None = None


@dataclass
class RunOptions:
    """Everything a run of ``python -m benchmarks.run`` was asked to do."""

    experiments: list[str] = field(default_factory=list)  # names, in the order asked
    datasets: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    variants: list[str] = field(default_factory=list)
    seeds: list[int] | None = None
    profile: str = "smoke"
    overrides: dict[str, Any] = field(default_factory=dict)  # --set, parsed
    set_texts: list[str] = field(default_factory=list)  # --set as typed, for job commands
    data_dir: Path = Path(DEFAULT_DATA)
    raw_dir: Path = Path(DEFAULT_RAW)
    results_dir: Path = Path(DEFAULT_RESULTS)
    allow_nonstandard: bool = False
    overwrite: bool = False
    dry_run: bool = False
    list: bool = False
    fail_fast: bool = False
    no_report: bool = False
    debug: bool = False  # full tracebacks instead of one-line messages
    priority: bool = False  # plan the profile's priority list (benchmarks/running/budget.py)
    budget: float | None = None  # seconds; None: no limit
    launch: LaunchOptions = field(default_factory=LaunchOptions)
    track: TrackOptions = field(default_factory=TrackOptions)

    @property
    def track_dir(self) -> Path:
        """Where tracking writes: ``--track-dir`` or ``<results-dir>/tracking/<backend>``."""
        backend = self.track.backend or "none"
        return Path(self.track.directory or Path(self.results_dir) / "tracking" / backend)


MAX_SEED = 2**32 - 1  # NumPy's legacy seeding takes 0 .. 2**32 - 1


def seed_argument(text: str) -> int:
    """A ``--seeds`` value: a whole number from 0 to :data:`MAX_SEED` (0 is a valid seed
    of every generator the suite seeds; a negative one is refused by NumPy)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{value} is out of range; seeds are 0 to {MAX_SEED}")
    return value


def build_parser(default_launcher: str | None = None) -> argparse.ArgumentParser:
    """The runner's argument parser (``default_launcher``: ``local`` for the launcher)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=(
            "Run lmmtc-bench cells: each (data set, method, variant, seed) is fitted, "
            "evaluated at the 0.5 threshold and written to one run file. Cells whose run "
            "file exists (from the same data and config) are skipped, so an interrupted run "
            "resumes; a changed config or --set reruns the cells it touches."
        ),
        epilog=(
            "examples:\n"
            "  python -m benchmarks.run --all --profile smoke\n"
            "  python -m benchmarks.run --dataset synthetic-small --method prior br --seeds 1 2\n"
            "  python -m benchmarks.run --table 3 --profile cpu --raw-dir ../shared/data/raw\n"
            "  python -m benchmarks.run --dataset my/folder --method mypkg.mod:MyMethod\n"
            "  python -m benchmarks.run --list\n"
            "\n"
            "exit status:\n"
            "  0  everything asked for ran or was already done\n"
            "  1  a data set, cell or the report failed; the others still ran. A data set\n"
            "     named with --dataset that cannot be had is a failure; one an experiment\n"
            "     lists whose files are absent is skipped with how to get it (name it with\n"
            "     --dataset to require it)\n"
            "  2  bad options (a malformed --set, a seed < 0, filters that match nothing);\n"
            "     nothing ran"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    what = parser.add_argument_group("what to run")
    what.add_argument("--all", action="store_true", help="every experiment (Tables 1-4, figures)")
    what.add_argument("--experiment", nargs="+", default=[], metavar="NAME", help="by name")
    what.add_argument("--table", nargs="+", type=int, default=[], choices=sorted(TABLES))
    what.add_argument("--figure", nargs="+", type=int, default=[], choices=sorted(FIGURES))
    what.add_argument(
        "--dataset",
        nargs="+",
        default=[],
        metavar="D",
        help="data set names or folders (a folder, e.g. ./reuters or ., is filed under its "
        "name and a hash of its path, e.g. reuters-1a2b3c4d); with experiments: keep only these",
    )
    what.add_argument(
        "--method",
        nargs="+",
        default=[],
        metavar="M",
        help="registered names or package.module:Class; with experiments: keep only these",
    )
    what.add_argument(
        "--variant",
        nargs="+",
        default=[],
        metavar="V",
        help="with experiments: keep only these variants ('default': the default configuration)",
    )
    what.add_argument(
        "--seeds",
        nargs="+",
        type=seed_argument,
        metavar="S",
        help=f"integers 0 to {MAX_SEED}; default: the profile's seeds",
    )
    what.add_argument("--profile", default="smoke", choices=sorted(PROFILES))
    what.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a method parameter for every cell (value parsed as YAML)",
    )
    where = parser.add_argument_group("where")
    where.add_argument("--data-dir", type=Path, default=Path(DEFAULT_DATA), help="converted data")
    where.add_argument(
        "--raw-dir",
        type=Path,
        default=Path(DEFAULT_RAW),
        help="raw files, one folder per data set (e.g. ../shared/data/raw)",
    )
    where.add_argument("--results-dir", type=Path, default=Path(DEFAULT_RESULTS))
    where.add_argument(
        "--allow-nonstandard",
        action="store_true",
        help="convert raw files that differ from the public release (rows, sha256); the "
        "data and every run file are stamped nonstandard",
    )
    how = parser.add_argument_group("how")
    how.add_argument("--overwrite", action="store_true", help="redo cells that have a run file")
    how.add_argument("--dry-run", action="store_true", help="list the planned cells; run nothing")
    how.add_argument("--list", action="store_true", help="list data sets, methods, experiments")
    how.add_argument("--fail-fast", action="store_true", help="stop at the first failing cell")
    how.add_argument("--no-report", action="store_true", help="do not rebuild the report")
    how.add_argument(
        "--debug",
        action="store_true",
        help="show the full traceback of an error instead of its one-line message",
    )
    how.add_argument(
        "--priority",
        action="store_true",
        help="the profile's priority list of cells, in order (the gpu profile: GoEmotions "
        "bert/lm/lm_mlm seeds 1-3, Figure 5, Table 4, the ablation, then Reuters); "
        "--dataset/--method/--variant/--seeds narrow it",
    )
    how.add_argument(
        "--budget",
        type=float,
        metavar="SECONDS",
        help="run cells in priority order while their estimated cost fits in SECONDS (from "
        "the start of this command), stop a cell that would overrun without writing its run "
        "file, and list the cells left; exit 75 when cells are left and none failed",
    )
    _add_launcher_arguments(parser, default_launcher)
    _add_tracking_arguments(parser)
    return parser


def _add_launcher_arguments(parser: argparse.ArgumentParser, default: str | None) -> None:
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
    group.add_argument(
        "--gpus-per-node", type=non_negative_int, default=0, metavar="N", help="GPUs per job"
    )
    group.add_argument(
        "--time",
        type=positive_int,
        metavar="MIN",
        help=f"time limit per job, minutes (Slurm default {DEFAULT_SLURM_MINUTES}; local: a week)",
    )
    group.add_argument(
        "--array-parallelism",
        type=positive_int,
        metavar="N",
        help=f"jobs running at once (Slurm default {DEFAULT_SLURM_PARALLELISM}; "
        "local default: CPU cores / --cpus-per-task)",
    )
    group.add_argument("--cpus-per-task", type=positive_int, default=4, metavar="N")
    group.add_argument("--mem-gb", type=positive_float, default=32.0, metavar="GB")
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


def _add_tracking_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("tracking (off by default)")
    group.add_argument(
        "--track",
        choices=TRACKING_BACKENDS,
        help="also log each finished cell's loss curve and metrics to TensorBoard or MLflow",
    )
    group.add_argument(
        "--track-dir", type=Path, help="where to log (default <results-dir>/tracking/<backend>)"
    )


def options_from_namespace(args: argparse.Namespace) -> RunOptions:
    """The typed options of a parsed command line; a malformed ``--set`` or an unknown
    experiment is a ValueError (the runner exits with 2 before any work)."""
    check_conflicts(args)
    names = list(args.experiment)
    names += [TABLES[n] for n in args.table] + [FIGURES[n] for n in args.figure]
    if args.all:
        names += list(EXPERIMENTS)
    experiments = [get_experiment(name).name for name in dict.fromkeys(names)]
    overrides = dict(parse_override(text) for text in args.overrides)
    for flag, folder in (("--results-dir", args.results_dir), ("--data-dir", args.data_dir)):
        if Path(folder).exists() and not Path(folder).is_dir():
            raise ValueError(f"{flag} {folder}: a file, not a folder; give a folder")
    bad = [option for option in args.slurm_option if "=" not in option]
    if bad:
        raise ValueError(f"--slurm-option takes KEY=VALUE, got {bad}")
    return RunOptions(
        experiments=experiments,
        datasets=list(args.dataset),
        methods=list(args.method),
        variants=list(args.variant),
        seeds=list(args.seeds) if args.seeds else None,
        profile=args.profile,
        overrides=overrides,
        set_texts=list(args.overrides),
        data_dir=Path(args.data_dir),
        raw_dir=Path(args.raw_dir),
        results_dir=Path(args.results_dir),
        allow_nonstandard=args.allow_nonstandard,
        overwrite=args.overwrite,
        dry_run=args.dry_run,
        list=args.list,
        fail_fast=args.fail_fast,
        no_report=args.no_report,
        debug=args.debug,
        priority=args.priority,
        budget=_budget(args.budget),
        launch=LaunchOptions(
            launcher=args.launcher,
            partition=args.partition,
            gpus_per_node=args.gpus_per_node,
            time=args.time,
            array_parallelism=args.array_parallelism,
            cpus_per_task=args.cpus_per_task,
            mem_gb=args.mem_gb,
            slurm_options=list(args.slurm_option),
            log_dir=args.log_dir,
        ),
        track=TrackOptions(backend=args.track, directory=args.track_dir),
    )


def check_conflicts(args: argparse.Namespace) -> None:
    """Flags that cannot go together are a ValueError (exit 2), never silently merged:
    ``--all`` with named experiments, ``--list`` with anything that selects or runs."""
    named = [
        flag
        for flag, given in (
            ("--experiment", args.experiment),
            ("--table", args.table),
            ("--figure", args.figure),
        )
        if given
    ]
    if args.all and named:
        raise ValueError(
            f"--all runs every experiment: drop {' and '.join(named)} (or drop --all to run "
            f"only those)"
        )
    if args.list:
        extra = [
            flag
            for flag, given in (
                ("--all", args.all),
                *((flag, True) for flag in named),
                ("--dataset", args.dataset),
                ("--method", args.method),
                ("--variant", args.variant),
                ("--seeds", args.seeds),
                ("--set", args.overrides),
                ("--dry-run", args.dry_run),
                ("--priority", args.priority),
                ("--budget", args.budget is not None),
                ("--overwrite", args.overwrite),
            )
            if given
        ]
        if extra:
            raise ValueError(
                f"--list lists what exists and runs nothing: drop {', '.join(extra)} (or "
                f"drop --list to run them)"
            )


def positive_int(text: str) -> int:
    """A flag value that is a whole number >= 1 (minutes, CPUs, jobs)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not >= 1")
    return value


def non_negative_int(text: str) -> int:
    """A flag value that is a whole number >= 0 (GPUs per job)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is not >= 0")
    return value


def positive_float(text: str) -> float:
    """A flag value that is a number > 0 (memory in GB)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{value:g} is not > 0")
    return value


def _budget(seconds: float | None) -> float | None:
    if seconds is not None and not seconds > 0:
        raise ValueError(f"--budget takes a positive number of seconds, got {seconds:g}")
    return seconds


def parse_options(
    argv: Sequence[str] | None = None, default_launcher: str | None = None
) -> RunOptions:
    """Parse a command line into :class:`RunOptions` (argparse exits 2 on a bad flag)."""
    return options_from_namespace(build_parser(default_launcher).parse_args(argv))
