"""The report: tables and figures from run files only, and ``REPORT.md`` linking them.

``python -m benchmarks.report [--results-dir results] [--profile cpu ...]`` rebuilds it
without running anything; the runner calls it at the end of a run for the run's
profile. The smoke profile has its own report, ``REPORT.smoke.md`` (git-ignored, like
smoke's tables and figures), so a smoke run in a checkout never rewrites the committed
``REPORT.md`` of the cpu and paper profiles. ``--rescore`` recomputes every metric from
the stored scores files (a metric added to the registry gets values without a rerun);
``--thresholds dev-per-label`` (or ``dev-global``) also writes each paper table under
that threshold policy beside it (``table2_dev-per-label``), the run files unchanged.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

from benchmarks.analysis.builders import figure_builder, table_builder
from benchmarks.analysis.tables import RunIndex, Table, all_runs_table, to_markdown, write_table
from benchmarks.store.records import run_file_paths
from benchmarks.store.thresholds import DEFAULT_POLICY, DEV_IN_FIT, MIN_DEV_POSITIVES, POLICIES
from benchmarks.suite.experiments import EXPERIMENTS
from benchmarks.suite.paths import DEFAULT_RESULTS
from benchmarks.suite.profiles import PROFILES

PROFILE_WARNING = {
    "smoke": "SMOKE PROFILE: tiny models, a few hundred rows, synthetic stand-ins where raw "
    "data is absent. These numbers test the pipeline; they are not a reproduction.",
    "cpu": "CPU PROFILE: full data for the classical baselines; transformer methods on "
    "stated subsets with all-MiniLM-L6-v2 and few epochs, so they are not the paper's "
    "setting (bert-base, 40 epochs).",
    "gpu": "GPU PROFILE: full training sets and the paper's recipe (lr 5e-5, batch 16, "
    "warm-up 0.1, 3 seeds), but all-MiniLM-L6-v2 (6 layers, 22M parameters; the only "
    "pre-trained encoder that installs without the hub) instead of bert-base, and 1 epoch "
    "on GoEmotions, 5 on Reuters, instead of 40; transformer methods only (the baselines' "
    "numbers are the cpu profile's). Cells run in short GPU windows (--budget), so a "
    "table may hold fewer seeds than planned.",
    "paper": "PAPER PROFILE: the paper's setting (bert-base backbones, 40 epochs, 3 seeds).",
}


#: profile -> its report file under the results folder (others: ``REPORT.md``).
REPORT_FILES = {"smoke": "REPORT.smoke.md"}
DEFAULT_REPORT_FILE = "REPORT.md"


def report_path(results_dir: Path, profile: str) -> Path:
    """The report file that holds ``profile``'s section."""
    return Path(results_dir) / REPORT_FILES.get(profile, DEFAULT_REPORT_FILE)


@contextlib.contextmanager
def warnings_as_lines() -> Iterator[None]:
    """Show each warning raised inside (a skipped run file, ...) as one ``warning:``
    line on stderr, without Python's source-line echo."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        yield
    shown: set[str] = set()
    for seen in caught:
        if issubclass(seen.category, UserWarning):
            line = f"warning: {seen.message}"
            if line not in shown:  # a file read by several tables: named once
                shown.add(line)
                print(line, file=sys.stderr)
        else:  # a library's deprecation: as Python shows it
            warnings.showwarning(seen.message, seen.category, seen.filename, seen.lineno)


def profiles_with_runs(results_dir: Path) -> list[str]:
    root = results_dir / "runs"
    return [p for p in PROFILES if (root / p).is_dir() and any((root / p).iterdir())]


#: What each tuned threshold policy does, for the notes under its tables.
POLICY_TEXT = {
    "dev-global": "one cut-off for every label, the best for micro-F1 on dev",
    "dev-per-label": f"one cut-off per label, the best for its F1 on dev; labels with fewer "
    f"than {MIN_DEV_POSITIVES} dev positives take the dev-global one",
}


def paper_tables(index: RunIndex, suffix: str) -> list[Table]:
    """The tables compared with the paper (experiments with runs and paper values), their
    names and titles marked with ``suffix`` (a threshold policy)."""
    tables = []
    for experiment in EXPERIMENTS.values():
        build = table_builder(experiment)
        if build is None or experiment.reference is None or not experiment.methods:
            continue
        table = build(experiment, index)
        table.name = f"{table.name}_{suffix}"
        table.title = f"{table.title} (thresholds: {suffix}, chosen on dev)"
        table.notes.insert(
            0,
            f"ours: every run re-scored from its stored scores with cut-offs chosen on its "
            f"dev scores only ({POLICY_TEXT[suffix]}); the paper used 0.5. `{DEV_IN_FIT}`: "
            f"the method trained on the dev rows (the linear baselines refit on train + "
            f"dev), so its dev scores are in-sample and no cut-off is tuned on them (rerun "
            f"it with --set refit=false)",
        )
        tables.append(table)
    return tables


def build_profile(
    results_dir: Path,
    profile: str,
    *,
    rescore: bool = False,
    thresholds: Sequence[str] = (),
    refresh: Sequence[str] = (),
) -> tuple[list[Table], dict[str, list[Path]]]:
    """Write one profile's tables and figures (each experiment's builders, in declaration
    order, then the table of all runs, then the paper tables under each threshold policy
    asked for); return them for REPORT.md."""
    index = RunIndex(results_dir, profile, rescore=rescore)
    tables = [
        build(e, index) for e in EXPERIMENTS.values() if (build := table_builder(e)) is not None
    ]
    tables.append(all_runs_table(index))
    for policy in thresholds:
        tables += paper_tables(RunIndex(results_dir, profile, thresholds=policy), policy)
    for table in tables:
        write_table(table, results_dir / "tables" / profile)
    for policy in refresh:  # files kept in step with the runs, not in the report's text
        for table in paper_tables(RunIndex(results_dir, profile, thresholds=policy), policy):
            write_table(table, results_dir / "tables" / profile)
    fig_dir = results_dir / "figures" / profile
    figures: dict[str, list[Path]] = {}
    for experiment in EXPERIMENTS.values():
        draw = figure_builder(experiment)
        if draw is None:
            continue
        for key, paths in draw(experiment, index, fig_dir).items():
            figures[f"{experiment.name} {key}"] = paths
    return tables, figures


def render_section(
    results_dir: Path, profile: str, tables: Sequence[Table], figures: dict[str, list[Path]]
) -> str:
    lines = [f"## Profile `{profile}`", "", f"> {PROFILE_WARNING[profile]}", ""]
    lines += [
        "Values: paper (as printed), ours as mean ± std over seeds (`n=1`: one seed, no "
        "spread) (percent; Hamming loss as a fraction), Δ = ours − paper; **bold** Δ: the "
        "difference exceeds both twice the seed spread and 1 point (0.002 for Hamming loss). "
        "`vs ref`: ours − the table's reference row on the same test documents with its 95% "
        "paired bootstrap interval; † where Holm-corrected p < 0.05 (see each table's note). "
        "`data`: full, subset or synthetic; `missing`: no run file (data unavailable or not "
        "run); `(other config)`: the runs were made with another config than the experiment "
        "declares now (an edited default or a --set): rerun the cell to bring it up to date.",
        "",
    ]
    for table in tables:
        rel = Path("tables") / profile
        lines += [
            f"### {table.title}",
            "",
            f"[Markdown]({rel / (table.name + '.md')}) · [LaTeX]({rel / (table.name + '.tex')})"
            f" · [CSV]({rel / (table.name + '.csv')})",
            "",
            to_markdown(table) if table.rows else "(no rows)",
            "",
        ]
        lines += [f"- {note}" for note in table.notes]
        lines.append("")
    lines += ["### Figures", ""]
    if not figures:
        lines.append("(no figure: the run files hold no data records, attention maps or curves)")
    for name, paths in sorted(figures.items()):
        png = paths[0].relative_to(results_dir)
        pdf = paths[1].relative_to(results_dir)
        lines.append(f"- {name}: [PNG]({png}) · [PDF]({pdf})")
    lines.append("")
    return "\n".join(lines)


def build_report(
    results_dir: Path,
    profiles: Sequence[str] | None = None,
    *,
    rescore: bool = False,
    thresholds: Sequence[str] = (),
) -> list[Path]:
    """Rebuild the report files that hold ``profiles`` (default: every profile with
    runs): each file gets the tables, figures and section of every profile it holds that
    has runs (and of those asked for); ``rescore`` and ``thresholds`` as in
    :func:`build_profile`. Returns the report files written."""
    results_dir = Path(results_dir)
    with_runs = profiles_with_runs(results_dir)
    chosen = list(profiles or with_runs)
    asked = [policy for policy in dict.fromkeys(thresholds) if policy != DEFAULT_POLICY]
    files: dict[Path, list[str]] = {}
    for profile in chosen or [""]:  # no runs at all: REPORT.md says so
        files.setdefault(report_path(results_dir, profile), [])
    for profile in PROFILES:
        path = report_path(results_dir, profile)
        if path in files and (profile in with_runs or profile in chosen):
            files[path].append(profile)
    for path, members in files.items():
        sections = []
        for profile in members:
            tables, figures = build_profile(
                results_dir,
                profile,
                rescore=rescore,
                thresholds=asked,
                refresh=written_policies(results_dir, profile, asked),
            )
            sections.append(render_section(results_dir, profile, tables, figures))
        _write_report(path, sections)
    return list(files)


def written_policies(results_dir: Path, profile: str, asked: Sequence[str]) -> list[str]:
    """The threshold policies whose tables a profile's folder already holds, beyond those
    ``asked``: rebuilt with the others, so that they never fall behind its run files (a
    table made before a run had its scores would go on saying ``no scores``)."""
    folder = Path(results_dir) / "tables" / profile
    return [
        policy
        for policy in POLICIES
        if policy != DEFAULT_POLICY and policy not in asked and any(folder.glob(f"*_{policy}.md"))
    ]


def _write_report(report: Path, sections: list[str]) -> None:
    """Write one report file (atomically) from its profiles' sections."""
    header = [
        "# lmmtc-bench report",
        "",
        "Made by `python -m benchmarks.report` from the run files under `runs/` only. "
        "Each number traces back to a run file holding its config, seed, data hashes, "
        "package versions and commit.",
        "",
    ]
    if not sections:
        sections = ["(no run files yet: run `python -m benchmarks.run --all`)\n"]
    tmp = report.with_name(f".{report.name}.tmp")
    report.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text("\n".join(header + sections), encoding="utf-8")
    tmp.replace(report)


def no_runs_problem(results_dir: Path, profiles: Sequence[str] | None) -> str | None:
    """Why the report of ``results_dir`` would be empty (a mistyped --results-dir or
    --profile), or None when it has run files to show."""
    if not results_dir.exists():
        return f"{results_dir}: no such folder; give --results-dir the folder that holds runs/"
    if not results_dir.is_dir():
        return f"{results_dir}: not a folder; give --results-dir the folder that holds runs/"
    with_runs = profiles_with_runs(results_dir)
    if not with_runs or not any(run_file_paths(results_dir, p) for p in with_runs):
        return (
            f"no run files under {results_dir / 'runs'}; check --results-dir, or run cells "
            f"first (python -m benchmarks.run --all)"
        )
    empty = [p for p in profiles or [] if not run_file_paths(results_dir, p)]
    if empty:
        return (
            f"--profile {' '.join(empty)}: no run files under {results_dir / 'runs'} for it; "
            f"profiles with runs: {', '.join(with_runs)}"
        )
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.report",
        description="Rebuild the tables (Markdown, LaTeX, CSV), figures (PNG, PDF) and "
        "REPORT.md from run files; runs nothing.",
    )
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=Path(DEFAULT_RESULTS),
        help="default: $LMMTC_RESULTS_DIR or the checkout's results/",
    )
    parser.add_argument(
        "--profile",
        nargs="+",
        choices=sorted(PROFILES),
        help="default: every profile that has run files",
    )
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="recompute every metric from the runs' stored scores (.scores.npz), so that a "
        "metric added to the registry appears without a rerun; runs without scores keep "
        "their stored metrics",
    )
    parser.add_argument(
        "--thresholds",
        nargs="+",
        default=[],
        choices=[policy for policy in POLICIES if policy != DEFAULT_POLICY],
        metavar="POLICY",
        help="also write each paper table with cut-offs chosen on dev scores: dev-global "
        "(one for micro-F1) or dev-per-label (one per label; the global one for labels with "
        "fewer than 5 dev positives), as <table>_<policy>; run files unchanged",
    )
    args = parser.parse_args(argv)
    problem = no_runs_problem(Path(args.results_dir), args.profile)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    try:
        with warnings_as_lines():
            reports = build_report(
                args.results_dir, args.profile, rescore=args.rescore, thresholds=args.thresholds
            )
    except KeyboardInterrupt:
        print("\ninterrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except OSError as err:
        print(
            f"error: cannot write under {args.results_dir}: {err.strerror or err}", file=sys.stderr
        )
        return 1
    except Exception as err:  # noqa: BLE001 - one line, never a traceback
        first = (str(err).strip().splitlines() or [""])[0]
        print(f"error: report not written: {type(err).__name__}: {first}", file=sys.stderr)
        return 1
    for report in reports:
        print(f"wrote {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
