"""The options of the transformer methods, with their defaults and why.

Defaults are the paper's settings (section 5.4) where it states one; where it is silent
(DESIGN.md, "LM-MTC: what the paper says, and where it is silent") the default is the
reading stated next to each field. The method classes override a few defaults
(``bert`` has no template, ``lm_mlm`` adds the label MLM, ...). Options left None
resolve in :meth:`TransformerOptions.build` to the value the rest implies, so a run's
recorded options never hold None for ``mask_count``, ``mlm_view`` or (with an MLM)
``mlm_head``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from lmmtc.suggest import did_you_mean
from lmmtc.transformers.readings import get_reading


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
    # --- the reading (lmmtc/transformers/readings.py) -----------------------------------
    #: A declared reading of LM-MTC whose options are the base of this config (under the
    #: class's own defaults and the user's params): 'default', 'paper-literal',
    #: 'two-view', 'authors-code', 'authors-code-one-pass', 'ctran', 'all-masked'. None:
    #: no reading (bert).
    reading: str | None = None
    # --- template ---------------------------------------------------------------------
    #: None: no template (bert); 'diff': per-label tokens (eq. 2); 'same': shared (Table 4).
    template: str | None = "diff"
    #: 'after_cls': the prefix of eq. 1 right after [CLS]; 'end': after the text.
    template_position: str = "after_cls"
    #: 'random' N(0, initializer_range) like any new BERT row (the paper is silent; it also
    #: breaks the symmetry between labels); 'mean' of the vocabulary; 'label_name': mean
    #: of the label name's word pieces (YES/NO rows also average in 'yes'/'no').
    new_token_init: str = "random"
    # --- readout -----------------------------------------------------------------------
    #: 'label': label i's logit read at its own state position ([MASK-i] at inference):
    #: eq. 3's W_l (H x L) applied where the paper masks the label (the paper is silent on
    #: where O_l is read); 'cls': W_l on [CLS] (bert always uses cls).
    readout: str = "label"
    #: With readout 'label': 'per_label' weights (column i of W_l for label i, eq. 3's
    #: W_l in R^{768 x |L|}) or one 'shared' linear unit for all labels (the public
    #: implementation).
    label_head: str = "per_label"
    # --- the training input: which label tokens are masked -----------------------------
    #: How the label tokens of a training example are masked; the others show the gold
    #: YES-i/NO-i. None resolves (in ``build``) to the reading's own value:
    #:   'bernoulli' (single view): each label independently with ``mask_prob``, at least
    #:       one per example (a row with none gets one label chosen uniformly). Follows
    #:       "randomly mask the token with a certain probability" (abstract), "set the
    #:       mask probability of MLM to 0.15" (5.4) and "for label sequence with mask
    #:       [1,0,mask]" (4.1): one input with visible gold labels and masked ones.
    #:   'all' (separate view, and bert): every label MASK in the BCE input, the inference
    #:       input ("mask all the labels", 4.2); changes: no gold label is ever visible,
    #:       so label correlations are learnt only through the shared encoder.
    #:   'random': k ~ U{1..L} labels per batch, k random labels a row (the authors'
    #:       code, label_mask_type 'part'); changes: the number masked is uniform, not
    #:       ~ 0.15 L, and the all-masked inference input is seen in 1/L of the batches.
    #:   'ctran': k ~ U{ceil(L/4)..L} a row, k random labels (C-Tran's 25%-100% unknown).
    mask_count: str | None = None
    #: Probability that a visible (unmasked) gold label is shown flipped, YES <-> NO (the
    #: authors' wrong_label_ratio, 0.01; "quite key" in their README): the model cannot
    #: trust a visible label blindly. 0: shown as they are.
    label_noise: float = 0.0
    #: 'none': every token type id 0; 'per_label': label i's three template tokens get
    #: type 2 + i (the authors' token_type_strategy 'diff'), the backbone's type
    #: embeddings grown by L rows (recorded as 'none' when the backbone has no types).
    token_types: str = "none"
    #: 'one_pass': every label masked, one forward (the paper: "When inferring, mask all
    #: the labels", 4.2); 'top_p': L passes, each fixing in each row the remaining label
    #: whose probability is farthest from 0.5 and writing its YES/NO (> 0.5) into the
    #: template; a label's score is its probability when fixed (the authors' pred_strategy
    #: 'top-p', Evaluate.py). L times the inference cost.
    inference: str = "one_pass"
    #: BCE over the 'masked' labels only (default; the paper is silent on it and eq. 4
    #: sums over all |L| labels, but a visible gold label would simply be copied to its
    #: own logit; with mask_count 'all' both are the same), or over 'all' labels (eq. 4
    #: read literally: the visible labels then teach copying).
    bce_on: str = "masked"
    # --- MLM ---------------------------------------------------------------------------
    #: None: no MLM (lm, bert); 'label': predict the masked label tokens YES-i/NO-i over
    #: the extended vocabulary V' ("we need to extend V to V'", 4.2); 'text': BERT's
    #: text-token MLM on the same pass (bert_mlm, the public implementation).
    mlm_target: str | None = None
    #: 'single' (default): one input per example and one encoder pass; the BCE and the
    #: label MLM read the same output O (eq. 3) at the same masked label positions
    #: (Algorithm 1, line 2: "generate templates T as Eq 2 and input tokens with masks
    #: X'"). 'separate': the BCE on a view masked by mask_count (resolved: all) and the
    #: label MLM on a second view with the gold labels visible, masked as 'bernoulli',
    #: stacked as (2B, T) in one forward (the suite's earlier default; changes:
    #: the BCE never sees a visible label, and a step costs two views). None resolves to
    #: 'single'.
    mlm_view: str | None = None
    #: lambda of eq. 5 (paper: 0.05, "we set lambda = 0.05 for all datasets", 5.6.2).
    mlm_lambda: float = 0.05
    #: [[epoch_until, lambda], ...]: lambda while epoch < epoch_until, then mlm_lambda
    #: (e.g. [[3, 1.0]] = weight 1 for the first 3 epochs).
    mlm_schedule: list | None = None
    #: The MLM is on for this fraction of the epochs, then off (the authors: the first 30
    #: of 50 epochs, 0.6; their README: MLM to the end makes the training and prediction
    #: inputs differ). None: throughout.
    mlm_until: float | None = None
    #: Mask probability of the label tokens (and of the text MLM's word pieces): "set the
    #: mask probability of MLM to 0.15" (5.4).
    mask_prob: float = 0.15
    #: 'linear': one untied linear layer H -> V' ("one layer of full connection", eq. 3's
    #: W_m in R^{768 x |V'|}); 'bert': BertForMaskedLM-style head (dense, GELU, LayerNorm,
    #: decoder tied to the input embeddings; the checkpoint's own head is loaded when it
    #: has one). None resolves to 'linear' for the label MLM and 'bert' for the text MLM
    #: (BERT's own pre-training head, what bert_mlm has always used).
    mlm_head: str | None = None
    #: bert only (template None): give the text lm's budget max_len - 3L - 2, as if the
    #: 3L template tokens were there. The paper's LM and Bert both take 512 tokens, so on
    #: Reuters (L = 90) LM reads 240 word pieces of text against Bert's 510; this option
    #: measures Bert at LM's text length (the paper is silent).
    reserve_template: bool = False
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
    #: 'auto': bf16 autocast on CUDA and on a CPU with native bf16 (AVX512-BF16, AMX or
    #: Arm BF16; 1.4x a MiniLM step on the 2-core EPYC machines), else fp32 (the run file
    #: records which, and why); 'fp32'; 'bf16'.
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
    def build(cls, defaults: dict, params: dict, with_mlm: bool = False) -> TransformerOptions:
        """Options from, in rising precedence, the reading's options (``reading`` from the
        params or the class's defaults; its MLM only ``with_mlm``), the class's defaults
        and the user's params; unknown names fail; None-valued choices are resolved (see
        :meth:`resolve`)."""
        names = {f.name for f in dataclasses.fields(cls)}
        for key in params:
            if key in _FOLDED:
                raise TypeError(_FOLDED[key])
            if key not in names:
                raise TypeError(f"unknown parameter {key!r}.{did_you_mean(key, names)}")
        name = params.get("reading", defaults.get("reading"))
        base = {} if name is None else get_reading(name).params(with_mlm)
        options = cls(**{**base, **defaults, **params})
        options.validate()
        options.resolve()
        return options

    def resolve(self) -> None:
        """Fill the None-valued choices with what the other options imply."""
        self.mlm_view = self.effective_mlm_view()
        self.mask_count = self.effective_mask_count()
        if self.mlm_target is None:
            self.mlm_head = None  # no MLM, no head: the record says what is built
        elif self.mlm_head is None:
            self.mlm_head = "linear" if self.mlm_target == "label" else "bert"

    def effective_mlm_view(self) -> str:
        """'single' unless set: one input, one pass (Algorithm 1)."""
        return self.mlm_view or "single"

    def effective_mask_count(self) -> str:
        """The masking of the training input: 'all' without a template (nothing to mask:
        bert trains on its inference input) and in the separate view's BCE input,
        'bernoulli' in the single view (Algorithm 1)."""
        if self.mask_count is not None:
            return self.mask_count
        if self.template is None or self.effective_mlm_view() == "separate":
            return "all"
        return "bernoulli"

    def lambda_at(self, epoch: float) -> float:
        """The MLM weight at a (fractional) epoch, following ``mlm_schedule`` and, after
        ``mlm_until`` of the epochs, 0."""
        if self.mlm_until is not None and epoch >= self.mlm_until * self.epochs:
            return 0.0
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
            "mask_count": (None, "bernoulli", "random", "ctran", "all"),
            "token_types": ("none", "per_label"),
            "inference": ("one_pass", "top_p"),
            "bce_on": ("masked", "all"),
            "mlm_target": (None, "label", "text"),
            "mlm_view": (None, "single", "separate"),
            "mlm_head": (None, "linear", "bert"),
            "distributed": ("auto", "off"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.reading is not None:
            get_reading(self.reading)  # an unknown name lists the known ones
        if self.template is None:
            if self.reading is not None:
                raise ValueError(
                    f"reading {self.reading!r} needs label tokens: readings are for lm and "
                    "lm_mlm, not bert (template None)"
                )
            if self.token_types != "none" or self.inference != "one_pass":
                raise ValueError(
                    "token_types 'per_label' and inference 'top_p' need label tokens: "
                    "without a template (bert) they must be 'none' and 'one_pass'"
                )
            if self.readout == "label" or self.mlm_target == "label":
                raise ValueError(
                    "without a template (bert) readout must be 'cls' and mlm_target None or 'text'"
                )
            if self.mask_count not in (None, "all"):
                raise ValueError(
                    f"mask_count {self.mask_count!r} needs label tokens: without a template "
                    "(bert) the training input is the inference input (mask_count 'all')"
                )
        elif self.reserve_template:
            raise ValueError("reserve_template is for bert (template None): lm has its template")
        view = self.effective_mlm_view()
        if view == "separate" and self.mlm_target != "label":
            raise ValueError(
                f"mlm_view 'separate' puts the label MLM on a second view: it needs "
                f"mlm_target 'label', got {self.mlm_target!r}"
            )
        if view == "single" and self.mlm_target == "label" and self.mask_count == "all":
            raise ValueError(
                "mask_count 'all' with the single-view label MLM leaves no visible label to "
                "predict from: use mlm_view 'separate' (MLM on a second view) or mask_count "
                "'bernoulli'"
            )
        for name in ("lr", "head_lr"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        if self.inference == "top_p" and self.readout != "label":
            raise ValueError(
                "inference 'top_p' writes each fixed label into its template state: it needs "
                "readout 'label' (each label read at its own position)"
            )
        if not 0.0 <= float(self.label_noise) < 0.5:
            raise ValueError(f"label_noise must be in [0, 0.5), got {self.label_noise!r}")
        if self.mlm_until is not None and not 0.0 < float(self.mlm_until) <= 1.0:
            raise ValueError(f"mlm_until must be in (0, 1] or null, got {self.mlm_until!r}")
        if not 0.0 < self.mask_prob < 1.0:
            raise ValueError(f"mask_prob must be in (0, 1), got {self.mask_prob}")
        if self.pad_to not in ("auto", "longest", "buckets"):
            raise ValueError(f"pad_to must be one of auto, longest, buckets, got {self.pad_to!r}")
        if int(self.bucket_count) < 1:
            raise ValueError(f"bucket_count must be >= 1, got {self.bucket_count}")
        for name in ("epochs", "batch_size", "eval_batch_size", "max_len", "max_steps", "text_len"):
            value = getattr(self, name)
            if value is not None and not value >= 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
        for name in ("warmup_ratio", "dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")
        for name in ("weight_decay", "max_grad_norm", "mlm_lambda"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")


#: Options that were folded into others: naming one fails with the replacement.
_FOLDED = {
    "bce_input": (
        "bce_input was folded into mask_count: bce_input 'all_masked' -> mask_count 'all', "
        "'some_visible' -> mask_count 'random' (with bce_on 'masked' to keep the BCE on the "
        "masked labels)"
    ),
}
