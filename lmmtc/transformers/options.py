"""The options of the transformer methods, with their defaults and why.

Defaults are the paper's settings (section 5.4) where it states one; where it is silent
(DESIGN.md, "LM-MTC: what the paper says, and where it is silent") the default is the
reading stated next to each field. The method classes override a few defaults
(``bert`` has no template, ``lm_mlm`` adds the label MLM, ...).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from lmmtc.suggest import did_you_mean


@dataclass
class TransformerOptions:
    # --- backbone -------------------------------------------------------------------
    #: HF folder or name, 'minilm' (offline all-MiniLM-L6-v2), 'tiny-random' (tests) or
    #: 'pretrain:<size>' (BERT pre-trained with MLM on the training texts, for GAIC).
    backbone: str = "bert-base-uncased"
    #: Where 'pretrain:' backbones are cached (default ~/.cache/lmmtc-bench/backbones).
    cache_dir: str | None = None
    #: Overrides of the GAIC pre-training (layers, hidden, epochs, max_len, ...).
    pretrain: dict | None = None
    #: Overrides of the tiny random BERT's config (hidden_size, num_hidden_layers, ...).
    tiny_config: dict | None = None
    #: Sequence length incl. [CLS], [SEP] and the 3L template tokens (paper: BERT's 512).
    max_len: int = 512
    #: When set, max_len becomes text_len + 2 + 3L: the same text as bert at max_len
    #: text_len + 2, with the template on top (cpu/smoke profiles; the paper keeps 512).
    text_len: int | None = None
    # --- template ---------------------------------------------------------------------
    #: None: no template (bert); 'diff': per-label tokens (eq. 2); 'same': shared (Table 4).
    template: str | None = "diff"
    #: 'after_cls': the prefix of eq. 1 right after [CLS]; 'end': after the text.
    template_position: str = "after_cls"
    #: 'random' N(0, initializer_range) like any new BERT row (the paper is silent; it also
    #: breaks the symmetry between labels); 'mean' of the vocabulary; 'label_name': mean
    #: of the label name's word pieces (YES/NO rows also average in 'yes'/'no').
    new_token_init: str = "random"
    # --- readout and BCE ------------------------------------------------------------
    #: 'label': label i's logit read at its own [MASK-i] position: eq. 3's W_l (H x L)
    #: applied where the paper masks the label; 'cls': W_l on [CLS] (bert always uses cls).
    readout: str = "label"
    #: With readout 'label': 'per_label' weights (column i of W_l for label i) or one
    #: 'shared' linear unit for all labels (the public implementation).
    label_head: str = "per_label"
    #: 'all_masked': the BCE pass sees every label as MASK, the inference input (a visible
    #: gold label would leak its target); 'some_visible': a random number of labels masked.
    bce_input: str = "all_masked"
    #: 'all' or 'random' (k ~ U{1..L} labels masked per batch); None: follows bce_input.
    mask_count: str | None = None
    #: BCE over 'all' labels (eq. 4) or only the 'masked' ones (public implementation).
    bce_on: str = "all"
    # --- MLM ---------------------------------------------------------------------------
    #: None: no MLM; 'label': a second view with the gold labels visible, each masked with
    #: mask_prob, predicting YES-i/NO-i over V' (the paper's label MLM); 'text': BERT's
    #: text-token MLM on the BCE pass itself (bert_mlm).
    mlm_target: str | None = None
    #: lambda of eq. 5 (paper: 0.05, Figure 5).
    mlm_lambda: float = 0.05
    #: [[epoch_until, lambda], ...]: lambda while epoch < epoch_until, then mlm_lambda
    #: (e.g. [[3, 1.0]] = weight 1 for the first 3 epochs).
    mlm_schedule: list | None = None
    #: Mask probability of the MLM (paper: 0.15).
    mask_prob: float = 0.15
    #: 'bert': BertForMaskedLM-style head (dense, GELU, LayerNorm, decoder tied to the
    #: input embeddings; the checkpoint's own head is loaded when it has one), or 'linear'.
    mlm_head: str = "bert"
    # --- optimisation (paper 5.4: AdamW, lr 5e-5, batch 16, 40 epochs, warm-up 0.1) ----
    lr: float = 5e-5
    #: Learning rate of the label classifier, the one layer that starts untrained (None:
    #: ``lr``; the paper is silent). At an encoder's lr (5e-5 to 2e-4) a fresh linear layer
    #: on MiniLM's features needs thousands of steps before any score crosses 0.5
    #: (measured on GoEmotions: a 2,000-example, 250-step run at lr 2e-4 predicted
    #: nothing), so the cpu profile raises it.
    head_lr: float | None = None
    batch_size: int = 16
    epochs: int = 40
    #: Linear warm-up over this fraction of the steps, then linear decay to 0.
    warmup_ratio: float = 0.1
    #: AdamW weight decay, not on biases/LayerNorm (BERT's recipe; the paper is silent).
    weight_decay: float = 0.01
    #: Gradient clipping (BERT's recipe; the paper is silent).
    max_grad_norm: float = 1.0
    #: Classifier dropout (BERT's hidden_dropout_prob).
    dropout: float = 0.1
    #: Stop after this many optimiser steps (quick runs); None: all epochs.
    max_steps: int | None = None
    eval_batch_size: int = 64
    #: 'auto': bf16 autocast on CUDA, fp32 on CPU; 'fp32'; 'bf16'.
    precision: str = "auto"
    device: str = "auto"
    #: 'auto': data parallel through Hugging Face Accelerate when started by
    #: ``accelerate launch`` with several processes (batch_size is then the global batch,
    #: split over the processes; dev/test scores are gathered); 'off': never.
    distributed: str = "auto"
    #: torch.set_num_threads for fit/predict (None: leave torch's setting).
    num_threads: int | None = None
    progress: bool = True
    # --- speed path (issue 15): the same code on CPU and CUDA ------------------------
    #: torch.compile the encoder in place (state_dict keys unchanged). PyTorch's automatic
    #: dynamic shapes: the first (batch, length) compiles static, a second shape recompiles
    #: with that dimension symbolic, so a run compiles a handful of graphs whatever the
    #: buckets. Off by default: a compile costs tens of seconds per graph (a minute on
    #: 2 CPU cores for a tiny BERT) and pays only over long runs.
    compile: bool = False
    #: 'longest': pad each batch to its longest row (dynamic padding, the least arithmetic,
    #: the default on CPU where arithmetic dominates); 'buckets': to the next of
    #: ``bucket_count`` fixed lengths (few shapes for compile and the CUDA allocator);
    #: 'auto': buckets on CUDA or with compile, longest on CPU eager (CPU results
    #: unchanged by this option).
    pad_to: str = "auto"
    #: Number of evenly spaced bucket lengths up to max_len (multiples of 8, plus max_len).
    bucket_count: int = 8
    #: Batches of rows of similar length (the seeded permutation cut into windows of 50
    #: batches, each sorted by length, batch order shuffled; HF's group_by_length). Off by
    #: default: it cut a CPU epoch of MiniLM on 2,000 GoEmotions rows by 27% (bert) and 20%
    #: (lm), but it builds other batches than the plain shuffle, and where length follows
    #: the labels it costs accuracy (tiny BERT, synthetic set whose length grows with the
    #: label count: bert micro-F1 -0.034 averaged over 3 seeds).
    group_by_length: bool = False
    #: Folder of the on-disk token cache (each split's word-piece ids, keyed by tokenizer,
    #: text budget and texts, written atomically); None: in-process cache only.
    token_cache_dir: str | None = None

    @classmethod
    def build(cls, defaults: dict, params: dict) -> TransformerOptions:
        """Options from a class's defaults and the user's params; unknown names fail."""
        names = {f.name for f in dataclasses.fields(cls)}
        for key in params:
            if key not in names:
                raise TypeError(f"unknown parameter {key!r}.{did_you_mean(key, names)}")
        options = cls(**{**defaults, **params})
        options.validate()
        return options

    def effective_mask_count(self) -> str:
        derived = "all" if self.bce_input == "all_masked" else "random"
        return self.mask_count or derived

    def lambda_at(self, epoch: float) -> float:
        """The MLM weight at a (fractional) epoch, following ``mlm_schedule``."""
        for until, lam in self.mlm_schedule or []:
            if epoch < until:
                return float(lam)
        return float(self.mlm_lambda)

    def validate(self) -> None:
        """Fail early on values that cannot work together."""
        choices = {
            "template": (None, "diff", "same"),
            "template_position": ("after_cls", "end"),
            "new_token_init": ("random", "mean", "label_name"),
            "readout": ("cls", "label"),
            "label_head": ("per_label", "shared"),
            "bce_input": ("all_masked", "some_visible"),
            "mask_count": (None, "all", "random"),
            "bce_on": ("all", "masked"),
            "mlm_target": (None, "label", "text"),
            "mlm_head": ("bert", "linear"),
            "distributed": ("auto", "off"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.template is None and (
            self.readout == "label" or self.mlm_target == "label" or self.bce_input != "all_masked"
        ):
            raise ValueError(
                "without a template (bert) readout must be 'cls', bce_input 'all_masked' and "
                "mlm_target None or 'text'"
            )
        expected = "all" if self.bce_input == "all_masked" else "random"
        if self.mask_count is not None and self.mask_count != expected:
            raise ValueError(
                f"mask_count {self.mask_count!r} contradicts bce_input {self.bce_input!r} "
                f"(all_masked <-> all, some_visible <-> random)"
            )
        for name in ("lr", "head_lr"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        if not 0.0 < self.mask_prob < 1.0:
            raise ValueError(f"mask_prob must be in (0, 1), got {self.mask_prob}")
        if self.pad_to not in ("auto", "longest", "buckets"):
            raise ValueError(f"pad_to must be one of auto, longest, buckets, got {self.pad_to!r}")
        if int(self.bucket_count) < 1:
            raise ValueError(f"bucket_count must be >= 1, got {self.bucket_count}")
