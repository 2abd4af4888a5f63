"""``python -m benchmarks.compare``: a new method beside the paper and the suite's baselines.

Runs the method (through :func:`benchmarks.run.main`, with the same directories, profile
and seeds, so its run files are ordinary run files) on every available data set, then
writes one table: per data set, the new method's test metrics (mean ± std over seeds),
the suite's own baselines from their run files, and the paper's rows (Table 2, and
Table 3 where the paper has one for the data set), each with Δ = new − that row.
Nothing in the suite is edited to add the method.

A paper data set is available when its converted folder or its raw files exist; in a
profile with synthetic stand-ins (``smoke``) every paper data set is, as a stand-in
stamped ``synthetic`` (its Δ against the paper then only tests the pipeline).

``--against B`` is the other mode: ``--dataset D --method A --against B [--profile P]
[--json]`` runs nothing and compares A with B from their run files and stored scores:
per metric the difference A − B (mean over the seeds both have), its 95% interval by a
paired bootstrap over test documents and a two-sided p-value
(:mod:`benchmarks.analysis.significance`).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.analysis.report import PROFILE_WARNING, warnings_as_lines
from benchmarks.analysis.significance import NotPaired, compare_runs
from benchmarks.analysis.tables import (
    RunIndex,
    Table,
    Value,
    compare_cells,
    to_markdown,
    write_table,
)
from benchmarks.run import main as run_main
from benchmarks.running.plan import dataset_key
from benchmarks.running.tasks import NOT_AVAILABLE, availability
from benchmarks.store.records import Cell, RecordWarning
from benchmarks.store.thresholds import DEFAULT_POLICY, POLICIES
from benchmarks.suite.experiments import EXPERIMENTS, PAPER_DATASETS
from benchmarks.suite.paths import DEFAULT_DATA, DEFAULT_RAW, DEFAULT_RESULTS
from benchmarks.suite.profiles import PROFILES, Profile, get_profile
from benchmarks.suite.reference import Reference
from lmmtc.metrics import METRICS, PAPER_METRICS

#: The experiments whose paper rows the comparison shows, with the label of their source.
PAPER_SOURCES = (("table2", "paper Table 2"), ("table3", "paper Table 3"))
NEW = "new"  # the ``source`` of the new method's rows


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.compare",
        description=(
            "Run a method of your own on every available data set and write a table of it "
            "beside the paper's rows and the suite's baselines, with Δ = new − each row "
            "(results/tables/<profile>/compare_<method>.md and .csv)."
        ),
        epilog=(
            "examples:\n"
            "  python -m benchmarks.compare --method mypkg.mod:MyMethod\n"
            "  python -m benchmarks.compare --method mypkg.mod:MyMethod --baselines br cc "
            "--profile cpu --raw-dir ../shared/data/raw\n"
            "  python -m benchmarks.compare --method my_entry_point --dataset my/folder --no-paper\n"
            "  python -m benchmarks.compare --profile cpu --dataset goemotions --method cc "
            "--against br --json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--method", required=True, metavar="M", help="package.module:Class or a registered name"
    )
    parser.add_argument(
        "--dataset",
        nargs="+",
        default=[],
        metavar="D",
        help="more data sets: folders in the canonical format or suite names",
    )
    parser.add_argument(
        "--no-paper", action="store_true", help="only the --dataset sets, not the paper's"
    )
    parser.add_argument(
        "--baselines",
        nargs="+",
        metavar="M",
        help="suite methods to run as well and show (default: show every other method "
        "that already has run files for the data set, run nothing more)",
    )
    parser.add_argument("--profile", default="smoke", choices=sorted(PROFILES))
    parser.add_argument("--seeds", nargs="+", type=int, help="default: the profile's seeds")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a parameter of the new method (not of the baselines)",
    )
    parser.add_argument("--data-dir", type=Path, default=Path(DEFAULT_DATA))
    parser.add_argument("--raw-dir", type=Path, default=Path(DEFAULT_RAW))
    parser.add_argument("--results-dir", type=Path, default=Path(DEFAULT_RESULTS))
    parser.add_argument("--overwrite", action="store_true", help="redo cells with run files")
    parser.add_argument(
        "--no-run", action="store_true", help="only build the table from existing run files"
    )
    paired = parser.add_argument_group(
        "paired significance (--against: reads run files and their scores, runs nothing)"
    )
    paired.add_argument(
        "--against",
        metavar="B",
        help="compare --method with B on one --dataset: per metric the difference, its 95%% "
        "paired bootstrap interval over test documents and a two-sided p-value "
        "(method[+variant] names, e.g. lm_mlm+same)",
    )
    paired.add_argument(
        "--thresholds",
        default=DEFAULT_POLICY,
        choices=POLICIES,
        help="the threshold policy of both methods' decisions (default 0.5, the paper's)",
    )
    paired.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


@dataclass
class CompareOptions:
    """What ``python -m benchmarks.compare`` was asked to do (see :func:`build_parser`)."""

    method: str
    datasets: list[str] = field(default_factory=list)
    no_paper: bool = False
    baselines: list[str] | None = None
    profile: str = "smoke"
    seeds: list[int] | None = None
    set_texts: list[str] = field(default_factory=list)
    data_dir: Path = Path(DEFAULT_DATA)
    raw_dir: Path = Path(DEFAULT_RAW)
    results_dir: Path = Path(DEFAULT_RESULTS)
    overwrite: bool = False
    no_run: bool = False
    against: str | None = None  # the --against mode: compare with this method's runs
    thresholds: str = DEFAULT_POLICY
    json: bool = False


def parse_options(argv: Sequence[str] | None = None) -> CompareOptions:
    """The command line as :class:`CompareOptions` (argparse exits 2 on a bad flag)."""
    args = build_parser().parse_args(argv)
    return CompareOptions(
        method=args.method,
        datasets=list(args.dataset),
        no_paper=args.no_paper,
        baselines=list(args.baselines) if args.baselines else None,
        profile=args.profile,
        seeds=list(args.seeds) if args.seeds else None,
        set_texts=list(args.overrides),
        data_dir=args.data_dir,
        raw_dir=args.raw_dir,
        results_dir=args.results_dir,
        overwrite=args.overwrite,
        no_run=args.no_run,
        against=args.against,
        thresholds=args.thresholds,
        json=args.json,
    )


def available_datasets(options: CompareOptions, profile: Profile) -> list[str]:
    """Paper data sets with converted or raw files (all of them where the profile stands
    synthetic sets in), then the ``--dataset`` entries, without repeats."""
    names: list[str] = []
    if not options.no_paper:
        for name in PAPER_DATASETS:
            state = availability(name, options.data_dir, options.raw_dir)
            if state != NOT_AVAILABLE or profile.synthetic_fallback:
                names.append(name)
    return list(dict.fromkeys([*names, *options.datasets]))


def runner_argv(
    options: CompareOptions, datasets: Sequence[str], methods: Sequence[str], *, new: bool
) -> list[str]:
    """The ``benchmarks.run`` command line for ``methods`` on ``datasets`` (``--set`` only
    for the new method, so that its parameters never reach a baseline)."""
    argv = ["--dataset", *datasets, "--method", *methods, "--profile", options.profile]
    argv += ["--data-dir", str(options.data_dir), "--raw-dir", str(options.raw_dir)]
    argv += ["--results-dir", str(options.results_dir), "--no-report"]
    if options.seeds:
        argv += ["--seeds", *map(str, options.seeds)]
    if options.overwrite:
        argv.append("--overwrite")
    for override in options.set_texts if new else ():
        argv += ["--set", override]
    return argv


def split_method_dir(method_dir: str) -> tuple[str, str]:
    """``lm_mlm+same`` -> (``lm_mlm``, ``same``): a run-file folder as (method, variant)."""
    method, _, variant = method_dir.partition("+")
    return method, variant


def baseline_runs(
    index: RunIndex, dataset: str, method: str, baselines: Sequence[str] | None
) -> list[tuple[str, str]]:
    """(method, variant) of the suite's rows: the chosen baselines, or every other
    method folder with run files for ``dataset``."""
    if baselines is not None:
        return [(name, "") for name in baselines]
    new_dir = Cell(index.profile, dataset, method).method_dir
    return [
        split_method_dir(method_dir)
        for (_, name, method_dir) in sorted(index.groups)
        if name == dataset and method_dir != new_dir
    ]


@dataclass(frozen=True)
class PaperRow:
    """One of the paper's rows for a data set: its model name as printed, where it is."""

    model: str
    reference: Reference
    method: str
    variant: str
    source: str


def paper_rows(dataset: str) -> list[PaperRow]:
    """The paper's rows for ``dataset``: Table 2's four transformers, then Table 3's other
    models (Table 3 repeats Table 2's)."""
    rows: list[PaperRow] = []
    for experiment, source in PAPER_SOURCES:
        reference = EXPERIMENTS[experiment].reference
        for method, variant in reference.rows(dataset):
            if method not in {row.method for row in rows}:
                model = str(reference.row(dataset, method, variant)["model"])
                rows.append(PaperRow(model, reference, method, variant, source))
    return rows


#: One metric of one row: (display text, mean in display units or None, std or None).
Shown = tuple[str, float | None, float | None]


def _from_runs(metric: str, value: Value | None) -> Shown:
    """A run-file value as the report writes it: ``mean ± std`` (``missing`` without runs)."""
    text = compare_cells(metric, None, value)[0][1]
    return (text, value.mean, value.std) if value else (text, None, None)


def _from_paper(metric: str, paper: float | None) -> Shown:
    """A paper value (a fraction, or None where the paper has none) as the report writes it."""
    display = METRICS[metric].display(paper) if paper is not None else None
    return compare_cells(metric, paper, None)[0][0], display, None


def _row(
    table: Table,
    key: dict[str, Any],
    new: dict[str, Value | None],
    shown: dict[str, Shown],
    stamp: str,
) -> None:
    """Append one row: per metric its value and Δ = new − this row.

    The Δ and its bold mark come from :func:`benchmarks.analysis.tables.compare_cells`, the
    report's own rule; the new method's own row has no Δ.
    """
    display = [key["dataset"], key["method"], key["source"], str(key["seeds"] or "-")]
    numbers = dict(key)
    for metric in PAPER_METRICS:
        text, mean, std = shown[metric]
        delta_text, delta = "-", None
        if key["source"] != NEW and mean is not None:
            cells, nums = compare_cells(metric, METRICS[metric].from_display(mean), new[metric])
            delta_text, delta = cells[2], nums.get(f"{metric}_diff")
        display += [text, delta_text]
        numbers.update({metric: mean, f"{metric}_std": std, f"{metric}_delta": delta})
    table.rows.append([*display, stamp])
    numbers["data"] = stamp
    table.numbers.append(numbers)


def compare_table(
    index: RunIndex, method: str, datasets: Sequence[str], baselines: Sequence[str] | None
) -> Table:
    """The comparison table of ``method`` on ``datasets`` (suite names or folder names)."""
    method_dir = Cell(index.profile, "-", method).method_dir
    columns = ["data set", "method", "source", "seeds"]
    for metric in PAPER_METRICS:
        columns += [METRICS[metric].label, f"{METRICS[metric].label} Δ"]
    table = Table(
        f"compare_{method_dir}",
        f"{method} beside the paper and the suite's baselines (profile {index.profile}, "
        f"test split)",
        [*columns, "data"],
    )
    for dataset in datasets:
        new = {m: index.value(dataset, method, m) for m in PAPER_METRICS}
        seeds = next((v.seeds for v in new.values() if v), 0)
        key = {"dataset": dataset, "method": method, "source": NEW, "seeds": seeds}
        shown = {m: _from_runs(m, new[m]) for m in PAPER_METRICS}
        _row(table, key, new, shown, index.stamp(dataset, method))
        for base, variant in baseline_runs(index, dataset, method, baselines):
            values = {m: index.value(dataset, base, m, variant) for m in PAPER_METRICS}
            name = base + (f"+{variant}" if variant else "")
            seeds = next((v.seeds for v in values.values() if v), 0)
            key = {"dataset": dataset, "method": name, "source": "suite", "seeds": seeds}
            shown = {m: _from_runs(m, values[m]) for m in PAPER_METRICS}
            _row(table, key, new, shown, index.stamp(dataset, base, variant))
        for row in paper_rows(dataset):
            key = {"dataset": dataset, "method": row.model, "source": row.source, "seeds": None}
            shown = {}
            for metric in PAPER_METRICS:
                paper = row.reference.value(dataset, row.method, row.variant, metric)
                shown[metric] = _from_paper(metric, paper.value)
                entry = f"{dataset} {row.model} ({row.source}): {paper.note}"
                if paper.note and entry not in table.notes:
                    table.notes.append(entry)
            _row(table, key, new, shown, "paper")
    table.notes.insert(
        0,
        "Δ = new − this row (percent points; Hamming loss as a fraction, lower is better); "
        "**bold**: beyond twice the new method's seed spread and 1 point (0.002 for HL). "
        "`data`: full, subset or synthetic (a synthetic stand-in's Δ against the paper "
        "only tests the pipeline).",
    )
    return table


def render(table: Table, profile: str) -> str:
    """The table as Markdown with its profile warning and notes."""
    lines = [f"# {table.title}", "", f"> {PROFILE_WARNING[profile]}", "", to_markdown(table), ""]
    lines += [f"- {note}" for note in table.notes]
    return "\n".join(lines) + "\n"


def against_problem(options: CompareOptions) -> str | None:
    """Why ``--against`` cannot run with these options (None: it can)."""
    if len(options.datasets) != 1:
        return f"--against compares on one data set: give exactly one --dataset (got {len(options.datasets)})"
    extra = [
        flag
        for flag, given in (
            ("--set", options.set_texts),
            ("--baselines", options.baselines),
            ("--overwrite", options.overwrite),
            ("--no-paper", options.no_paper),
            ("--no-run", options.no_run),
        )
        if given
    ]
    if extra:
        return f"--against reads run files only and runs nothing: drop {', '.join(extra)}"
    return None


def index_of_dataset(results_dir: Path, profile: str, dataset: str) -> RunIndex:
    """A profile's :class:`RunIndex`, its skipped-file warnings shown as one line each
    for ``dataset``'s files and one count for those of other data sets."""
    folder = f"{Path(results_dir) / 'runs' / profile / dataset}/"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RecordWarning)
        index = RunIndex(results_dir, profile)
    other = 0
    for seen in caught:
        if not issubclass(seen.category, RecordWarning):
            warnings.warn_explicit(seen.message, seen.category, seen.filename, seen.lineno)
        elif folder in str(seen.message):
            print(f"warning: {seen.message}", file=sys.stderr)
        else:
            other += 1
    if other:
        print(
            f"note: {other} unreadable run or data files of other data sets skipped "
            f"(python -m benchmarks.report names them)",
            file=sys.stderr,
        )
    return index


def against_main(options: CompareOptions) -> int:
    """The ``--against`` mode: A against B on one data set from run files; exit 0 when it
    printed the comparison, 1 when the run files cannot give one (the reason on stderr)."""
    dataset = dataset_key(options.datasets[0])
    if split_method_dir(options.method) == split_method_dir(options.against):
        print(
            f"note: --against {options.against} is the method itself: its runs compared with "
            f"themselves differ by 0 with p = 1 by construction; name another method to "
            f"compare",
            file=sys.stderr,
        )
    index = index_of_dataset(options.results_dir, options.profile, dataset)
    sides = []
    for name in (options.method, options.against):
        method, variant = split_method_dir(name)
        runs = index.runs(dataset, method, variant)
        folder = Cell(options.profile, dataset, method, variant).path(options.results_dir)
        if options.seeds:
            have = sorted(run.cell.seed for run in runs)
            absent = [seed for seed in options.seeds if seed not in have]
            if absent:
                print(
                    f"error: --seeds {' '.join(map(str, options.seeds))}: {name} on {dataset} "
                    f"has no readable run file for seeds {absent} (it has "
                    f"{have or 'none'}) in {folder.parent}; run them, or give the seeds it has",
                    file=sys.stderr,
                )
                return 1
            runs = [run for run in runs if run.cell.seed in options.seeds]
        if not runs:
            if any(folder.parent.glob("seed*.json")):  # files there, none readable: kept
                print(
                    f"error: no readable run file for {name} on {dataset} in {folder.parent} "
                    f"(see the warnings above); they are kept: the runner never replaces "
                    f"them without --overwrite",
                    file=sys.stderr,
                )
                return 1
            seeds = f" with seeds {options.seeds}" if options.seeds else ""
            print(
                f"error: no run files for {name} on {dataset}{seeds} in {folder.parent}; run "
                f"python -m benchmarks.run --profile {options.profile} --dataset {dataset} "
                f"--method {method}",
                file=sys.stderr,
            )
            return 1
        sides.append(runs)
    try:
        comparison = compare_runs(*sides, list(METRICS), thresholds=options.thresholds)
    except NotPaired as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    head = {
        "profile": options.profile,
        "dataset": dataset,
        "method": options.method,
        "against": options.against,
        "thresholds": comparison.thresholds,
        "seeds": comparison.seeds,
        "test_documents": comparison.documents,
        "resamples": comparison.resamples,
        "bootstrap_seed": comparison.bootstrap_seed,
        "confidence": comparison.confidence,
        "bootstrap_seconds": round(comparison.seconds, 3),
    }
    if options.json:
        payload = {
            **head,
            "units": "fractions, as in run files (difference = method - against)",
            "metrics": {
                name: {k: v for k, v in paired.to_json().items() if k != "metric"}
                for name, paired in comparison.results.items()
            },
            "skipped": comparison.skipped,
        }
        print(json.dumps(payload, indent=2))
        return 0
    print(render_against(head, comparison))
    return 0


def render_against(head: dict[str, Any], comparison: Any) -> str:
    """The ``--against`` result as a plain-text table in display units."""
    a, b = head["method"], head["against"]
    lines = [
        f"{a} against {b} on {head['dataset']} (profile {head['profile']}, thresholds "
        f"{head['thresholds']}): {head['test_documents']} test documents, seeds "
        f"{head['seeds']}, {head['resamples']:,} paired bootstrap resamples (seed "
        f"{head['bootstrap_seed']}), {head['bootstrap_seconds']:.2f} s",
        "",
    ]
    rows = [["metric", a, b, f"{a} − {b}", f"{head['confidence']:.0%} interval", "p"]]
    for name, paired in comparison.results.items():
        spec = METRICS[name]
        low, high = (
            spec.format_diff(spec.display(paired.low)),
            spec.format_diff(spec.display(paired.high)),
        )
        rows.append(
            [
                spec.label,
                spec.format(spec.display(paired.a)),
                spec.format(spec.display(paired.b)),
                spec.format_diff(spec.display(paired.difference)),
                f"[{low}, {high}]",
                f"{paired.p_value:.4f}",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines += [f"{name}: not tested ({why})" for name, why in comparison.skipped.items()]
    lines.append(
        "percent points (Hamming loss as a fraction, lower is better); p: two-sided, from "
        "the bootstrap distribution shifted to no difference"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    if options.against is not None:
        problem = against_problem(options)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        return against_main(options)
    profile = get_profile(options.profile)  # a known name: argparse checked the choice
    datasets = available_datasets(options, profile)
    if not datasets:
        print(
            "error: no data set available: give --dataset, convert data sets into "
            f"{options.data_dir} or put raw files under {options.raw_dir}",
            file=sys.stderr,
        )
        return 2
    status = 0
    if not options.no_run:
        status = run_main(runner_argv(options, datasets, [options.method], new=True))
        if status == 2:  # unknown method or bad option: nothing was run
            return status
        if options.baselines:
            baseline_argv = runner_argv(options, datasets, options.baselines, new=False)
            status = max(status, run_main(baseline_argv))
    with warnings_as_lines():  # a skipped file: one line naming it
        index = RunIndex(options.results_dir, profile.name)
    keys = [dataset_key(d) for d in datasets]
    table = compare_table(index, options.method, keys, options.baselines)
    paths = write_table(table, options.results_dir / "tables" / profile.name)
    text = render(table, profile.name)
    paths["md"].write_text(text, encoding="utf-8")  # with the profile warning and notes
    print(text)
    print(f"wrote {paths['md']} and {paths['csv']}")
    return status


if __name__ == "__main__":
    sys.exit(main())
