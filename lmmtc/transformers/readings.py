"""The readings of LM-MTC: each one named, declared set of the options that the paper's
text leaves open, with the sentence or the file it follows.

The paper's text is ambiguous on how many label tokens a training input masks, what the
"+MLM" task predicts and whether inference is one pass (DESIGN.md, "LM-MTC: what the paper
says, what its authors' code does"). The suite keeps every reading runnable and measured
side by side (the ``ablation`` experiment); the default follows one rule: **the paper's
text where it is clear, the authors' code (DunZhang/LM-MLC, whose GAIC numbers are the
paper's Table 2 GAIC row) where the text is ambiguous or silent, then evidence.**

A reading declares the label-mask part (``options``) and what "+MLM" means in it
(``mlm``). ``lm`` takes a reading's options without its MLM; ``lm_mlm`` takes both. A
method's params may still override any single option (``--set mask_count=all``); the
method YAML files set none of these keys (tests/test_lmmtc_readings.py checks), so that a
reading is what it says.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lmmtc.suggest import lookup

#: The label-mask options a reading decides (``mlm`` keys are separate, see MLM_KEYS).
READING_KEYS = (
    "mask_count",
    "label_noise",
    "bce_on",
    "token_types",
    "readout",
    "label_head",
    "inference",
)
#: The options of "+MLM" (lm_mlm only; lm has no MLM).
MLM_KEYS = ("mlm_target", "mlm_view", "mlm_head", "mlm_lambda", "mlm_until")

#: Where each choice comes from: the paper's sentence or the authors' file.
SOURCES = {
    "paper-4.2": 'paper 4.2: "When inferring, mask all the labels"',
    "paper-5.6.2": 'paper 5.6.2: "we set lambda = 0.05 for all datasets"',
    "paper-eq3": "paper eq. 3: O_l = O W_l + b_l with W_l in R^{768 x |L|} (a weight column a label)",
    "paper-abstract": 'paper abstract and 5.4: "randomly mask the token with a certain '
    'probability", "set the mask probability of MLM to 0.15"',
    "paper-4.2-vprime": 'paper 4.2: "we need to extend V to V\'" (MLM over the label tokens)',
    "code-part": "LM-MLC code/DataIter.py, label_mask_type 'part': k ~ U{1..L} per batch, "
    "k random labels a row (run_train_gaic_labelmask_mlm.py)",
    "code-noise": "LM-MLC run_train_gaic_labelmask_mlm.py: wrong_label_ratio = 0.01 "
    "(DataIter.py flips each visible label with it)",
    "code-bce": "LM-MLC LabelMaskModel.py: logits gathered at the masked labels' positions only",
    "code-types": "LM-MLC run_train_gaic_labelmask_mlm.py: token_type_strategy 'diff' "
    "(type 2+i for label i's tokens; LabelMaskModel.py grows the type embeddings)",
    "code-shared-head": "LM-MLC LabelMaskModel.py: clf = Linear(hidden, 1), one unit at "
    "every masked label's position",
    "code-top-p": "LM-MLC Evaluate.py, pred_strategy 'top-p': L passes, each fixes the most "
    "confident remaining label and writes its YES/NO into the template",
    "code-text-mlm": "LM-MLC DataIter.py: DataUtil.mask_ids on the text only (template "
    "positions get no MLM target), mlm_clf = Linear(hidden, |V'|)",
    "code-mlm-schedule": "LM-MLC run_train_gaic_labelmask_mlm.py: num_mlm_steps_or_epochs "
    "'epoch-30' of 50 epochs, loss weight 1",
    "suite-same-aux": "the paper is silent on the head: BERT's own MLM head, the one "
    "bert_mlm uses, so that Bert+MLM and LM+MLM add the same auxiliary",
    "code-one-view": "LM-MLC LabelMaskModel.py: one forward; the BCE and the MLM read the "
    "same output",
    "ctran": "C-Tran (Lanchantin et al., 2021): 25%-100% of the labels unknown a training "
    "example, loss on the unknown ones, all unknown at inference",
    "suite-two-view": "the suite's earlier default: BCE on an all-masked view, the label MLM "
    "on a second view with the gold labels shown",
}


@dataclass(frozen=True)
class Reading:
    """One reading of LM-MTC: its label-mask options, its "+MLM" and where each comes
    from (``sources``: option -> key of :data:`SOURCES`)."""

    name: str
    summary: str
    options: dict
    mlm: dict
    sources: dict = field(default_factory=dict)
    #: Where the suite still differs from what the reading cites.
    deviations: tuple[str, ...] = ()

    def params(self, with_mlm: bool) -> dict:
        """The method params this reading sets: its options, plus its MLM for lm_mlm or
        no MLM at all for lm."""
        if with_mlm:
            return {**self.options, **self.mlm}
        return {**self.options, "mlm_target": None}


_DEFAULT_OPTIONS = {
    "mask_count": "random",
    "label_noise": 0.01,
    "bce_on": "masked",
    "token_types": "per_label",
    "readout": "label",
    "label_head": "per_label",
    "inference": "one_pass",
}
_DEFAULT_MLM = {
    "mlm_target": "text",
    "mlm_view": "single",
    "mlm_head": "bert",
    "mlm_lambda": 0.05,
    "mlm_until": None,
}
_DEFAULT_SOURCES = {
    "mask_count": "code-part",
    "label_noise": "code-noise",
    "bce_on": "code-bce",
    "token_types": "code-types",
    "readout": "code-bce",
    "label_head": "paper-eq3",
    "inference": "paper-4.2",
    "mlm_target": "code-text-mlm",
    "mlm_view": "code-one-view",
    "mlm_head": "suite-same-aux",
    "mlm_lambda": "paper-5.6.2",
}
_AUTHORS_OPTIONS = {**_DEFAULT_OPTIONS, "label_head": "shared", "inference": "top_p"}
_AUTHORS_MLM = {**_DEFAULT_MLM, "mlm_head": "linear", "mlm_lambda": 1.0, "mlm_until": 0.6}
_AUTHORS_SOURCES = {
    **_DEFAULT_SOURCES,
    "label_head": "code-shared-head",
    "inference": "code-top-p",
    "mlm_head": "code-text-mlm",
    "mlm_lambda": "code-mlm-schedule",
    "mlm_until": "code-mlm-schedule",
}
_AUTHORS_DEVIATIONS = (
    "the code shares one [MASK]/[YES]/[NO] across labels and tells labels apart by "
    "[LABEL-i-S]/[LABEL-i-E] and the token type; the suite keeps eq. 2's per-label states",
    "the code puts the template before [CLS] ('begin'); the suite right after [CLS]",
    "the code initialises new token and type rows with randn (std 1); the suite with the "
    "backbone's initializer_range",
)

READINGS: dict[str, Reading] = {
    r.name: r
    for r in (
        Reading(
            "default",
            "the suite's default: the authors' label-mask training (k ~ U{1..L} masked, "
            "1% of the visible labels flipped, per-label token types), the paper's one "
            "all-masked inference pass, and for +MLM the text MLM at the paper's lambda 0.05",
            _DEFAULT_OPTIONS,
            _DEFAULT_MLM,
            _DEFAULT_SOURCES,
        ),
        Reading(
            "paper-literal",
            "the paper read literally: each label token masked with p 0.15 (at least one), "
            "the others gold; +MLM predicts the masked label tokens over V' (one view); "
            "one pass",
            {
                **_DEFAULT_OPTIONS,
                "mask_count": "bernoulli",
                "label_noise": 0.0,
                "token_types": "none",
            },
            {**_DEFAULT_MLM, "mlm_target": "label", "mlm_head": "linear"},
            {
                **_DEFAULT_SOURCES,
                "mask_count": "paper-abstract",
                "mlm_target": "paper-4.2-vprime",
            },
        ),
        Reading(
            "two-view",
            "the suite's earlier default: the BCE on an all-masked view, +MLM predicts label "
            "tokens on a second view with the gold labels shown (each masked with p 0.15)",
            {**_DEFAULT_OPTIONS, "mask_count": "all", "label_noise": 0.0, "token_types": "none"},
            {
                **_DEFAULT_MLM,
                "mlm_target": "label",
                "mlm_view": "separate",
                "mlm_head": "linear",
            },
            {**_DEFAULT_SOURCES, "mask_count": "suite-two-view", "mlm_view": "suite-two-view"},
        ),
        Reading(
            "authors-code",
            "the authors' LM-MLC recipe complete: k ~ U{1..L} masked, 1% flips, per-label "
            "token types, one shared label unit, +MLM the text MLM at weight 1 for the first "
            "60% of the epochs (30 of 50), top-p iterative inference",
            _AUTHORS_OPTIONS,
            _AUTHORS_MLM,
            _AUTHORS_SOURCES,
            _AUTHORS_DEVIATIONS,
        ),
        Reading(
            "authors-code-one-pass",
            "authors-code's training with the paper's one all-masked inference pass",
            {**_AUTHORS_OPTIONS, "inference": "one_pass"},
            _AUTHORS_MLM,
            {**_AUTHORS_SOURCES, "inference": "paper-4.2"},
            _AUTHORS_DEVIATIONS,
        ),
        Reading(
            "ctran",
            "C-Tran's label mask training: 25%-100% of the labels masked a row, no flips; "
            "otherwise the default",
            {**_DEFAULT_OPTIONS, "mask_count": "ctran", "label_noise": 0.0},
            _DEFAULT_MLM,
            {**_DEFAULT_SOURCES, "mask_count": "ctran", "label_noise": "ctran"},
        ),
        Reading(
            "all-masked",
            "every label masked in training, as at inference (no gold label ever shown: "
            "correlations only through the encoder); otherwise the default",
            {**_DEFAULT_OPTIONS, "mask_count": "all", "label_noise": 0.0},
            _DEFAULT_MLM,
            {**_DEFAULT_SOURCES, "mask_count": "paper-4.2"},
        ),
    )
}
DEFAULT_READING = "default"


def get_reading(name: str) -> Reading:
    """The reading called ``name``; an unknown name lists the known ones."""
    return lookup(READINGS, name, "reading")


def decision_table() -> str:
    """A Markdown table: one row an option, one column a reading, each cell the value
    (and, for the default, the source it follows). docs/readings.md is this table."""
    keys = READING_KEYS + MLM_KEYS
    names = list(READINGS)
    lines = [
        "| option | " + " | ".join(f"`{n}`" for n in names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    for key in keys:
        cells = [_fmt(READINGS[n].params(True).get(key)) for n in names]
        lines.append(f"| `{key}` | " + " | ".join(cells) + " |")
    out = ["\n".join(lines), "", "Sources of the default (`default` column):", ""]
    default = READINGS[DEFAULT_READING]
    for key in keys:
        if key in default.sources:
            out.append(
                f"- `{key}` = {_fmt(default.params(True)[key])}: {SOURCES[default.sources[key]]}"
            )
    out += ["", "The readings:", ""]
    for reading in READINGS.values():
        out.append(f"- `{reading.name}`: {reading.summary}.")
        for note in reading.deviations:
            out.append(f"  - deviation: {note}")
    return "\n".join(out) + "\n"


def _fmt(value) -> str:
    return "-" if value is None else f"`{value}`"
