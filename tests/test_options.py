"""The runner's options are stated once: each flag is a field of RunOptions, the parser
is generated from the fields, and the launcher ships them to a job as JSON."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from benchmarks.running.options import (
    RunOptions,
    _flags,
    build_parser,
    option,
    options_from_namespace,
    parse_options,
)
from benchmarks.running.scaleout import cell_options
from benchmarks.store.records import Cell

#: a command line that sets every flag away from its default, but --list (which runs
#: nothing and so goes with no other flag: tested alone)
EVERY_FLAG = [
    "--experiment", "figure5", "--table", "3", "--figure", "1",
    "--dataset", "synthetic-small", "--method", "br", "--variant", "default",
    "--seeds", "3", "4", "--profile", "cpu", "--set", "epochs=2", "--set", "lr=1e-3",
    "--data-dir", "/d", "--raw-dir", "/r", "--results-dir", "/o", "--allow-nonstandard",
    "--overwrite", "--dry-run", "--fail-fast", "--no-report", "--debug",
    "--priority", "--budget", "60",
    "--launcher", "slurm", "--partition", "gpu", "--gpus-per-node", "2", "--time", "9",
    "--array-parallelism", "3", "--cpus-per-task", "5", "--mem-gb", "7.5",
    "--slurm-option", "account=lab", "--log-dir", "/l",
    "--track", "tensorboard", "--track-dir", "/t",
]  # fmt: skip


def _leaves(options) -> dict[str, object]:
    out = {}
    for f in dataclasses.fields(options):
        value = getattr(options, f.name)
        if dataclasses.is_dataclass(value):
            out |= {f"{f.name}.{k}": v for k, v in _leaves(value).items()}
        else:
            out[f.name] = value
    return out


def test_every_field_is_a_flag_and_every_flag_reaches_its_field():
    default, parsed = _leaves(RunOptions()), _leaves(parse_options(EVERY_FLAG))
    assert {dest for dest, *_ in _flags(RunOptions)} == set(default)
    unchanged = [name for name in default if parsed[name] == default[name]]
    assert unchanged == ["list"], f"flags that did not reach their field: {unchanged}"
    assert parse_options(["--list"]).list is True
    assert parsed["experiments"] == ["figure5", "table3", "figure1"]
    assert parsed["overrides"] == {"epochs": 2, "lr": 0.001}
    assert parsed["seeds"] == [3, 4] and parsed["launch.mem_gb"] == 7.5
    assert parsed["launch.log_dir"] == Path("/l") and parsed["track.directory"] == Path("/t")


def test_the_defaults_are_the_fields_defaults():
    assert parse_options([]) == RunOptions()
    assert parse_options([], default_launcher="local").launch.launcher == "local"


def test_adding_a_flag_is_adding_a_field():
    """A new field with ``option`` is on the command line, in --help and in the JSON."""

    @dataclasses.dataclass
    class WithWarmup(RunOptions):
        warmup_minutes: int = option(5, help="minutes to warm up")

    parser = build_parser(options_class=WithWarmup)
    assert "minutes to warm up" in parser.format_help()
    options = options_from_namespace(parser.parse_args(["--warmup-minutes", "7"]), WithWarmup)
    assert options.warmup_minutes == 7
    assert WithWarmup.from_json(options.to_json()).warmup_minutes == 7


@pytest.mark.parametrize("argv", [[], EVERY_FLAG])
def test_options_survive_json(argv):
    options = parse_options(argv)
    assert RunOptions.from_json(options.to_json()) == options


def test_unknown_json_key_is_refused():
    with pytest.raises(ValueError, match=r"RunOptions has no option \['nope'\]"):
        RunOptions.from_json('{"nope": 1}')


def test_a_cell_spec_is_the_options_narrowed_to_its_cell(tmp_path):
    options = parse_options(EVERY_FLAG)
    spec = cell_options(Cell("cpu", "synthetic-small", "br", "same", 4), options, {})
    assert (spec.datasets, spec.methods, spec.variants, spec.seeds) == (
        ["synthetic-small"],
        ["br"],
        ["same"],
        [4],
    )
    assert spec.no_report and not spec.dry_run and not spec.list and spec.budget is None
    assert spec.launch.launcher is None
    assert spec.overrides == options.overrides and spec.overwrite and spec.debug
    assert spec.experiments == options.experiments and spec.track.backend == "tensorboard"
