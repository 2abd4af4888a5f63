"""BERT and BERT+MLM baselines (Table 2): the LM-MTC method class without a template."""

from __future__ import annotations

from lmmtc.registry import register_method
from lmmtc.transformers.methods import TransformerMTC


@register_method("bert", family="transformer")
class Bert(TransformerMTC):
    """BERT fine-tuned with BCE on [CLS] through one linear layer."""

    DEFAULTS = {"template": None, "readout": "cls", "mlm_target": None}


@register_method("bert_mlm", family="transformer")
class BertMLM(TransformerMTC):
    """BERT + text-token MLM (lambda 0.05, mask probability 0.15) on the same pass."""

    DEFAULTS = {"template": None, "readout": "cls", "mlm_target": "text"}
