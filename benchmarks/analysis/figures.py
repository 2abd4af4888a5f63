"""The paper's figures from run files: 1 (label correlation), 3 (correlation beside
label-to-label attention), 4 (loss curves), 5 (the lambda sweep). PNG and PDF each.

Each builder takes the experiment that declares the figure (its data sets, methods and
variants) and the run index, and returns ``{key: [png, pdf]}``. Files carry no creation
date, so the same data gives byte-identical figures. matplotlib is imported only when a
figure is drawn, so that planning a run does not pay for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmarks.analysis.tables import SAME_AS_DEFAULT, RunIndex
from benchmarks.store.scores import artefact_path
from lmmtc.stats import top_correlated_labels

if TYPE_CHECKING:  # the experiment declarations import the builders of this module
    from benchmarks.suite.experiments import Experiment

TOP_K = 11  # the paper's Figure 3 shows the top-11 labels
#: No creation date or producer version in the files: unchanged data, unchanged bytes.
METADATA = {"png": {"Software": None}, "pdf": {"CreationDate": None, "Producer": None}}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, out_dir: Path, name: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
    for path in paths:
        fig.savefig(path, dpi=130, bbox_inches="tight", metadata=METADATA[path.suffix[1:]])
    _pyplot().close(fig)
    return paths


def _heatmap(ax: Any, matrix: np.ndarray, labels: list[str], title: str) -> None:
    import seaborn as sns

    annotate = len(labels) <= 12
    sns.heatmap(
        matrix,
        ax=ax,
        cmap="viridis",
        square=True,
        annot=annotate,
        fmt=".2f",
        annot_kws={"size": 6},
        xticklabels=labels,
        yticklabels=labels,
        cbar_kws={"shrink": 0.6},
    )
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=5 if len(labels) > 30 else 7)


def _data_records(index: RunIndex, experiment: Experiment):
    """(data set, data record) of an experiment's data sets that have a record."""
    for dataset in experiment.datasets:
        record = index.data.get(dataset)
        if record is not None:
            yield dataset, record


def figure1(experiment: Experiment, index: RunIndex, out_dir: Path) -> dict[str, list[Path]]:
    """Pearson correlation of every label pair on the training labels, one per data set."""
    written = {}
    for dataset, record in _data_records(index, experiment):
        corr = np.asarray(record.pearson_train)
        names = record.label_names
        size = min(14, 4 + 0.12 * len(names))
        fig, ax = _pyplot().subplots(figsize=(size, size * 0.85))
        stamp = record.dataset.stamp
        _heatmap(
            ax,
            corr,
            names,
            f"Figure 1: Pearson correlation of label pairs, {dataset} "
            f"(train, {stamp}, profile {index.profile})",
        )
        written[dataset] = _save(fig, out_dir, f"figure1_{dataset}")
    return written


def _attention(index: RunIndex, dataset: str, method: str) -> np.ndarray | None:
    """The first run's attention maps: in its scores file, or an older run's seedN.npz."""
    for run in index.runs(dataset, method):
        npz = artefact_path(run, "attention")
        if npz is not None:
            with np.load(npz) as arrays:
                if "attention" in arrays:
                    return arrays["attention"]  # (layers, L, L)
    return None


def figure3(experiment: Experiment, index: RunIndex, out_dir: Path) -> dict[str, list[Path]]:
    """Spearman correlation of the top-11 labels on the test set beside the summed
    label-to-label attention of the experiment's method (LM+MLM) at layer 2, layer 6 and
    the last layer."""
    written = {}
    for dataset, record in _data_records(index, experiment):
        corr = np.asarray(record.spearman_test)
        top = top_correlated_labels(corr, TOP_K)
        names = [record.label_names[i] for i in top]
        attention = _attention(index, dataset, experiment.methods[0])
        panels = [("(a) Spearman, test labels", corr[np.ix_(top, top)])]
        if attention is not None:
            layers = attention.shape[0]
            for label, layer in (
                ("(b) layer 2", 2),
                ("(c) layer 6", 6),
                ("(d) last layer", layers),
            ):
                if layer <= layers:
                    panels.append((label, attention[layer - 1][np.ix_(top, top)]))
        fig, axes = _pyplot().subplots(1, len(panels), figsize=(4.2 * len(panels), 4))
        for ax, (title, matrix) in zip(np.atleast_1d(axes), panels):
            _heatmap(ax, matrix, names, title)
        note = "" if attention is not None else " (no attention maps in the run files)"
        fig.suptitle(f"Figure 3: {dataset}, profile {index.profile}{note}", fontsize=10)
        written[dataset] = _save(fig, out_dir, f"figure3_{dataset}")
    return written


def figure4(experiment: Experiment, index: RunIndex, out_dir: Path) -> dict[str, list[Path]]:
    """MTC and MLM loss every 10 batches of the experiment's method (LM+MLM)."""
    written = {}
    for dataset in experiment.datasets:
        runs = [r for r in index.runs(dataset, experiment.methods[0]) if r.loss_curve]
        if not runs:
            continue
        curve = runs[0].loss_curve
        steps = [point["step"] for point in curve]
        fig, ax = _pyplot().subplots(figsize=(6, 3.5))
        ax.plot(steps, [p.get("mtc_loss") for p in curve], marker=".", label="MTC loss (BCE)")
        mlm = [p.get("mlm_loss") for p in curve]
        if any(v is not None for v in mlm):
            ax.plot(steps, [np.nan if v is None else v for v in mlm], marker=".", label="MLM loss")
        ax.set_xlabel("batch")
        ax.set_ylabel("loss")
        ax.legend()
        ax.set_title(
            f"Figure 4: {dataset}, seed {runs[0].cell.seed}, profile "
            f"{index.profile} ({runs[0].dataset.stamp})",
            fontsize=9,
        )
        written[dataset] = _save(fig, out_dir, f"figure4_{dataset}")
    return written


def figure5(experiment: Experiment, index: RunIndex, out_dir: Path) -> dict[str, list[Path]]:
    """Micro-F1 of the experiment's method (LM+MLM) for each lambda variant (mean over
    seeds, std as error bars)."""
    plt = _pyplot()
    method = experiment.methods[0]
    ticks = [f"{variant.params['mlm_lambda']:g}" for variant in experiment.variants]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    plotted = False
    for dataset in experiment.datasets:
        points = []
        for i, variant in enumerate(experiment.variants):
            # a variant that is the default cell (lambda 0.05) shows that cell's runs
            if index.same_as_default(dataset, method, variant.name, variant.params):
                ticks[i] = f"{variant.params['mlm_lambda']:g}\n{SAME_AS_DEFAULT}"
            shown = index.shown_variant(dataset, method, variant.name, variant.params)
            points.append((i, index.value(dataset, method, "micro_f1", shown)))
        points = [(i, v) for i, v in points if v is not None]
        if not points:
            continue
        ax.errorbar(
            [i for i, _ in points],
            [v.mean for _, v in points],
            yerr=[v.std for _, v in points],
            marker="o",
            capsize=3,
            label=dataset,
        )
        plotted = True
    if not plotted:
        plt.close(fig)
        return {}
    ax.set_xticks(range(len(ticks)), ticks)
    ax.set_xlabel("lambda (MLM loss weight)")
    ax.set_ylabel("micro-F1 (%)")
    ax.legend()
    ax.set_title(
        f"Figure 5: performance under different lambda, profile {index.profile}", fontsize=9
    )
    return {"all": _save(fig, out_dir, "figure5")}
