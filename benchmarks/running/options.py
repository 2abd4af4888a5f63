"""The runner's options, each stated once: a field of a typed dataclass that carries its
flag, default, type and help.

:func:`build_parser` generates the one argparse parser of ``python -m benchmarks.run``
(and of ``python -m benchmarks.launch``, which only changes the default launcher) from
the fields of :class:`RunOptions`; :func:`options_from_namespace` turns its namespace
back into a :class:`RunOptions`, checking what can be checked before any work (a
malformed ``--set``, an unknown experiment). Adding a flag is adding a field with
:func:`option`. The launcher ships a job its cell's options as JSON
(:meth:`RunOptions.to_json`), never a command line. Planning, execution, the launcher and
tracking take these objects, never an ``argparse.Namespace``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from collections.abc import Callable, Sequence
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
MAX_SEED = 2**32 - 1  # NumPy's legacy seeding takes 0 .. 2**32 - 1

#: group key -> (title, description) of the ``--help`` sections, in this order
GROUPS: dict[str, tuple[str, str | None]] = {
    "what": ("what to run", None),
    "where": ("where", None),
    "how": ("how", None),
    "launch": (
        "scale-out (submitit)",
        "one job per cell on Slurm or this machine; the parent waits and rebuilds the report",
    ),
    "track": ("tracking (off by default)", None),
}


@dataclass(frozen=True)
class Flag:
    """How one field appears on the command line. Unset parts come from the field:
    ``--field-name``, the argparse type from its annotation (``bool``: a switch; a
    list: ``nargs="+"``), the default from its default."""

    help: str | None = None
    group: str = "how"
    flag: str | None = None
    dest: str | None = None  # an extra flag in ``also``: its namespace name
    kind: Any = None  # an extra flag in ``also``: its annotation (a field's flag: the field's)
    metavar: str | None = None
    type: Callable[[str], Any] | None = None
    choices: Sequence[Any] | None = None
    action: str | None = None  # "append": repeatable, the values in a list
    #: the parsed value -> the field's value (a ValueError is a bad option, exit 2)
    convert: Callable[[Any], Any] | None = None
    #: more flags whose values the field gathers (``--all``, ``--table`` for experiments)
    also: tuple[Flag, ...] = ()
    #: the whole namespace -> the field's value (a field with ``also``)
    gather: Callable[[argparse.Namespace], Any] | None = None


def option(default: Any = None, **flag: Any) -> Any:
    """A dataclass field that is also a command-line flag (see :class:`Flag`)."""
    if isinstance(default, list | dict):
        return field(
            default_factory=lambda: type(default)(default), metadata={"flag": Flag(**flag)}
        )
    return field(default=default, metadata={"flag": Flag(**flag)})


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


def _experiments(args: argparse.Namespace) -> list[str]:
    """--experiment, --table, --figure and --all, in the order asked, each once."""
    names = list(args.experiments)
    names += [TABLES[n] for n in args.table] + [FIGURES[n] for n in args.figure]
    if args.all:
        names += list(EXPERIMENTS)
    return [get_experiment(name).name for name in dict.fromkeys(names)]


def _overrides(texts: list[str]) -> dict[str, Any]:
    return dict(parse_override(text) for text in texts)


def _budget(seconds: float | None) -> float | None:
    if seconds is not None and not seconds > 0:
        raise ValueError(f"--budget takes a positive number of seconds, got {seconds:g}")
    return seconds


def _slurm_options(options: list[str]) -> list[str]:
    bad = [option for option in options if "=" not in option]
    if bad:
        raise ValueError(f"--slurm-option takes KEY=VALUE, got {bad}")
    return list(options)


def _bounded(convert: Callable[[str], Any], low: float, strict: bool, what: str):
    """A flag-value parser: ``convert`` the text (else "is not ``what``"), then require
    value > low (``strict``) or value >= low; argparse prints the message with the flag."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(f"{value:g} is not {'>' if strict else '>='} {low:g}")
        return value

    return parse


#: A whole number >= 1 (minutes, CPUs, jobs).
positive_int = _bounded(int, 1, False, "a whole number")
#: A whole number >= 0 (GPUs per job).
non_negative_int = _bounded(int, 0, False, "a whole number")
#: A number > 0 (memory in GB).
positive_float = _bounded(float, 0, True, "a number")


@dataclass
class LaunchOptions:
    """Scale-out through submitit (``launcher`` None: run in this process)."""

    launcher: str | None = option(
        None,
        group="launch",
        choices=LAUNCHERS,
        help="local: subprocesses on this machine; slurm: a Slurm job array; debug: in this "
        "process, one after the other (for pdb)",
    )
    partition: str | None = option(None, group="launch", help="Slurm partition")
    gpus_per_node: int = option(
        0, group="launch", metavar="N", type=non_negative_int, help="GPUs per job"
    )
    time: int | None = option(
        None,
        group="launch",
        metavar="MIN",
        type=positive_int,
        help=f"time limit per job, minutes (Slurm default {DEFAULT_SLURM_MINUTES}; local: a week)",
    )
    array_parallelism: int | None = option(
        None,
        group="launch",
        metavar="N",
        type=positive_int,
        help=f"jobs running at once (Slurm default {DEFAULT_SLURM_PARALLELISM}; "
        "local default: CPU cores / --cpus-per-task)",
    )
    cpus_per_task: int = option(4, group="launch", metavar="N", type=positive_int)
    mem_gb: float = option(32.0, group="launch", metavar="GB", type=positive_float)
    slurm_options: list[str] = option(
        [],
        group="launch",
        flag="--slurm-option",
        action="append",
        metavar="KEY=VALUE",
        convert=_slurm_options,
        help="any other sbatch option, e.g. account=abc or constraint=a100 (repeatable)",
    )
    log_dir: Path | None = option(
        None, group="launch", help="job logs and pickles (default <results-dir>/launch_logs)"
    )


@dataclass
class TrackOptions:
    """Experiment tracking (``backend`` None: off)."""

    backend: str | None = option(
        None,
        group="track",
        flag="--track",
        choices=TRACKING_BACKENDS,
        help="also log each finished cell's loss curve and metrics to TensorBoard or MLflow",
    )
    directory: Path | None = option(
        None,
        group="track",
        flag="--track-dir",
        help="where to log (default <results-dir>/tracking/<backend>)",
    )


@dataclass
class RunOptions:
    """Everything a run of ``python -m benchmarks.run`` was asked to do: one field per
    flag (a field without a flag is a nested group of them)."""

    experiments: list[str] = option(
        [],
        group="what",
        flag="--experiment",
        metavar="NAME",
        help="by name",
        also=(
            Flag(
                flag="--all", dest="all", kind=bool, help="every experiment (Tables 1-4, figures)"
            ),
            Flag(flag="--table", dest="table", kind=list[int], choices=sorted(TABLES)),
            Flag(flag="--figure", dest="figure", kind=list[int], choices=sorted(FIGURES)),
        ),
        gather=_experiments,
    )
    datasets: list[str] = option(
        [],
        group="what",
        flag="--dataset",
        metavar="D",
        help="data set names or folders (a folder, e.g. ./reuters or ., is filed under its "
        "name and a hash of its path, e.g. reuters-1a2b3c4d); with experiments: keep only these",
    )
    methods: list[str] = option(
        [],
        group="what",
        flag="--method",
        metavar="M",
        help="registered names or package.module:Class; with experiments: keep only these",
    )
    variants: list[str] = option(
        [],
        group="what",
        flag="--variant",
        metavar="V",
        help="with experiments: keep only these variants ('default': the default configuration)",
    )
    seeds: list[int] | None = option(
        None,
        group="what",
        type=seed_argument,
        metavar="S",
        help=f"integers 0 to {MAX_SEED}; default: the profile's seeds",
    )
    profile: str = option("smoke", group="what", choices=sorted(PROFILES))
    overrides: dict[str, Any] = option(
        {},
        group="what",
        flag="--set",
        action="append",
        metavar="KEY=VALUE",
        convert=_overrides,
        help="override a method parameter for every cell (value parsed as YAML)",
    )
    data_dir: Path = option(Path(DEFAULT_DATA), group="where", help="converted data")
    raw_dir: Path = option(
        Path(DEFAULT_RAW),
        group="where",
        help="raw files, one folder per data set (e.g. ../shared/data/raw)",
    )
    results_dir: Path = option(Path(DEFAULT_RESULTS), group="where")
    allow_nonstandard: bool = option(
        False,
        group="where",
        help="convert raw files that differ from the public release (rows, sha256); the "
        "data and every run file are stamped nonstandard",
    )
    overwrite: bool = option(False, help="redo cells that have a run file")
    dry_run: bool = option(False, help="list the planned cells; run nothing")
    list: bool = option(False, help="list data sets, methods, experiments")
    fail_fast: bool = option(False, help="stop at the first failing cell")
    no_report: bool = option(False, help="do not rebuild the report")
    debug: bool = option(
        False, help="show the full traceback of an error instead of its one-line message"
    )
    priority: bool = option(  # benchmarks/running/budget.py
        False,
        help="the profile's priority list of cells, in order (the gpu profile: GoEmotions "
        "bert/lm/lm_mlm seeds 1-3, Figure 5, Table 4, the ablation, then Reuters); "
        "--dataset/--method/--variant/--seeds narrow it",
    )
    budget: float | None = option(
        None,
        metavar="SECONDS",
        convert=_budget,
        help="run cells in priority order while their estimated cost fits in SECONDS (from "
        "the start of this command), stop a cell that would overrun without writing its run "
        "file, and list the cells left; exit 75 when cells are left and none failed",
    )
    launch: LaunchOptions = field(default_factory=LaunchOptions)
    track: TrackOptions = field(default_factory=TrackOptions)

    @property
    def track_dir(self) -> Path:
        """Where tracking writes: ``--track-dir`` or ``<results-dir>/tracking/<backend>``."""
        backend = self.track.backend or "none"
        return Path(self.track.directory or Path(self.results_dir) / "tracking" / backend)

    def to_json(self) -> str:
        """The options as JSON (paths as strings): what the launcher ships to a job."""
        return json.dumps(_to_plain(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunOptions:
        """The options :meth:`to_json` wrote; an unknown key is a ValueError."""
        return _from_plain(cls, json.loads(text))


def _to_plain(options: Any) -> dict[str, Any]:
    return {
        f.name: _to_plain(value)
        if dataclasses.is_dataclass(value := getattr(options, f.name))
        else str(value)
        if isinstance(value, Path)
        else value
        for f in dataclasses.fields(options)
    }


def _from_plain(cls: type, plain: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls, localns={})  # not the class: its field `list`
    unknown = set(plain) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise ValueError(f"{cls.__name__} has no option {sorted(unknown)}")
    values = {}
    for name, value in plain.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            value = _from_plain(hint, value)
        elif value is not None and Path in (hint, *typing.get_args(hint)):
            value = Path(value)
        values[name] = value
    return cls(**values)


def _flags(cls: type, prefix: str = "") -> list[tuple[str, Any, Flag, Any]]:
    """``(dest, annotation, flag, default)`` of every field of ``cls`` that is a flag, nested
    groups flattened (dest ``launch.partition``)."""
    hints = typing.get_type_hints(cls, localns={})  # not the class: its field `list`
    found = []
    for f in dataclasses.fields(cls):
        if "flag" in f.metadata:
            default = (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            )
            found.append((prefix + f.name, hints[f.name], f.metadata["flag"], default))
        elif dataclasses.is_dataclass(hints[f.name]):
            found += _flags(hints[f.name], f"{prefix}{f.name}.")
    return found


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def _argument(dest: str, annotation: Any, flag: Flag, default: Any) -> tuple[str, dict[str, Any]]:
    """The ``add_argument`` call of one flag, its parts read from the field: ``--name`` from
    the field's name, a switch for ``bool``, ``nargs="+"`` for a list, the type of its items
    (``int``, ``float``, ``Path``) unless the flag names one."""
    name = flag.flag or "--" + dest.rsplit(".", 1)[-1].replace("_", "-")
    kwargs: dict[str, Any] = {"dest": dest, "help": flag.help}
    base = _unwrap(annotation)
    if flag.action == "append":
        kwargs.update(action="append", default=[])
    elif base is bool:
        kwargs.update(action="store_true", default=bool(default))
    else:
        item = base
        if typing.get_origin(base) is list:
            kwargs["nargs"] = "+"
            item = typing.get_args(base)[0]
        kwargs["default"] = default
        kind = flag.type or (item if item in (int, float, Path) else None)
        if kind is not None:
            kwargs["type"] = kind
    if flag.metavar:
        kwargs["metavar"] = flag.metavar
    elif "." in dest and kwargs.get("action") is None and flag.choices is None:
        kwargs["metavar"] = name.lstrip("-").replace("-", "_").upper()  # not LAUNCH.LOG_DIR
    if flag.choices is not None:
        kwargs["choices"] = flag.choices
    return name, kwargs


EXIT_STATUS = (
    "exit status:\n"
    "  0  everything asked for ran or was already done\n"
    "  1  a data set, cell or the report failed; the others still ran. A data set\n"
    "     named with --dataset that cannot be had is a failure; one an experiment\n"
    "     lists whose files are absent is skipped with how to get it (name it with\n"
    "     --dataset to require it)\n"
    "  2  bad options (a malformed --set, a seed < 0, filters that match nothing);\n"
    "     nothing ran\n"
    "  75 --budget left cells for the next window, none failed"
)


def build_parser(
    default_launcher: str | None = None, options_class: type[RunOptions] = RunOptions
) -> argparse.ArgumentParser:
    """The runner's argument parser, generated from the fields of ``options_class``
    (``default_launcher``: ``local`` for the launcher)."""
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
            "\n" + EXIT_STATUS
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    groups = {key: parser.add_argument_group(*text) for key, text in GROUPS.items()}
    for dest, annotation, flag, default in _flags(options_class):
        for extra in flag.also:  # (dest, annotation, default) of an extra flag: its kind
            assert extra.dest and extra.kind is not None, f"{dest}: an extra flag needs dest, kind"
            empty = [] if typing.get_origin(extra.kind) is list else None
            name, kwargs = _argument(extra.dest, extra.kind, extra, empty)
            groups[flag.group].add_argument(name, **kwargs)
        name, kwargs = _argument(dest, annotation, flag, default)
        groups[flag.group].add_argument(name, **kwargs)
    parser.set_defaults(**{"launch.launcher": default_launcher})
    return parser


def check_conflicts(args: argparse.Namespace) -> None:
    """Flags that cannot go together are a ValueError (exit 2), never silently merged:
    ``--all`` with named experiments, ``--list`` with anything that selects or runs."""
    named = [
        flag
        for flag, given in (
            ("--experiment", args.experiments),
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
                ("--dataset", args.datasets),
                ("--method", args.methods),
                ("--variant", args.variants),
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


def options_from_namespace(
    args: argparse.Namespace, options_class: type[RunOptions] = RunOptions
) -> RunOptions:
    """The typed options of a parsed command line; a malformed ``--set`` or an unknown
    experiment is a ValueError (the runner exits with 2 before any work)."""
    check_conflicts(args)
    for flag, folder in (("--results-dir", args.results_dir), ("--data-dir", args.data_dir)):
        if Path(folder).exists() and not Path(folder).is_dir():
            raise ValueError(f"{flag} {folder}: a file, not a folder; give a folder")
    plain: dict[str, Any] = {}
    for dest, _, flag, _ in _flags(options_class):
        value = flag.gather(args) if flag.gather else getattr(args, dest)
        if flag.convert:
            value = flag.convert(value)
        *outer, name = dest.split(".")
        target = plain
        for part in outer:
            target = target.setdefault(part, {})
        target[name] = list(value) if isinstance(value, list) else value
    return _from_plain(options_class, plain)


def parse_options(
    argv: Sequence[str] | None = None, default_launcher: str | None = None
) -> RunOptions:
    """Parse a command line into :class:`RunOptions` (argparse exits 2 on a bad flag)."""
    return options_from_namespace(build_parser(default_launcher).parse_args(argv))
