"""The report: tables and figures from run files only, and ``REPORT.md`` linking them.

``python -m benchmarks.report [--results-dir results] [--profile cpu ...]`` rebuilds it
without running anything; the runner calls it at the end of a run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.experiments import EXPERIMENTS
from benchmarks.paths import DEFAULT_RESULTS
from benchmarks.profiles import PROFILES
from benchmarks.tables import RunIndex, Table, all_runs_table, to_markdown, write_table

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


def profiles_with_runs(results_dir: Path) -> list[str]:
    root = results_dir / "runs"
    return [p for p in PROFILES if (root / p).is_dir() and any((root / p).iterdir())]


def build_profile(results_dir: Path, profile: str) -> tuple[list[Table], dict[str, list[Path]]]:
    """Write one profile's tables and figures (each experiment's builders, in declaration
    order, then the table of all runs); return them for REPORT.md."""
    index = RunIndex(results_dir, profile)
    tables = [e.table(e, index) for e in EXPERIMENTS.values() if e.table is not None]
    tables.append(all_runs_table(index))
    for table in tables:
        write_table(table, results_dir / "tables" / profile)
    fig_dir = results_dir / "figures" / profile
    figures: dict[str, list[Path]] = {}
    for experiment in EXPERIMENTS.values():
        if experiment.figure is None:
            continue
        for key, paths in experiment.figure(experiment, index, fig_dir).items():
            figures[f"{experiment.name} {key}"] = paths
    return tables, figures


def render_section(
    results_dir: Path, profile: str, tables: Sequence[Table], figures: dict[str, list[Path]]
) -> str:
    lines = [f"## Profile `{profile}`", "", f"> {PROFILE_WARNING[profile]}", ""]
    lines += [
        "Values: paper (as printed), ours as mean ± std over seeds (percent; Hamming loss "
        "as a fraction), Δ = ours − paper; **bold** Δ: the difference exceeds both twice the "
        "seed spread and 1 point (0.002 for Hamming loss). `data`: full, subset or synthetic; "
        "`missing`: no run file (data unavailable or not run).",
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


def build_report(results_dir: Path, profiles: Sequence[str] | None = None) -> Path:
    """Rebuild tables, figures and REPORT.md for ``profiles`` (default: all with runs)."""
    results_dir = Path(results_dir)
    chosen = list(profiles or profiles_with_runs(results_dir))
    sections = []
    for profile in chosen:
        tables, figures = build_profile(results_dir, profile)
        sections.append(render_section(results_dir, profile, tables, figures))
    report = results_dir / "REPORT.md"
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
    tmp = report.with_name(".REPORT.md.tmp")
    results_dir.mkdir(parents=True, exist_ok=True)
    tmp.write_text("\n".join(header + sections), encoding="utf-8")
    tmp.replace(report)
    return report


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
    args = parser.parse_args(argv)
    report = build_report(args.results_dir, args.profile)
    print(f"wrote {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
