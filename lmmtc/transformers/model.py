"""The network shared by bert, bert_mlm, lm and lm_mlm: an encoder, a label readout and an
optional MLM head whose logits are computed only at the masked positions."""

from __future__ import annotations

import torch
from torch import nn

from lmmtc.transformers.template import label_token_types

READOUTS = ("cls", "label")
LABEL_HEADS = ("per_label", "shared")
MLM_HEADS = ("bert", "linear")


class MLMHead(nn.Module):
    """A plain untied linear layer H -> V' (``linear``: eq. 3's O_m = O W_m + b_m, "one
    layer of full connection"), or a BertForMaskedLM-style head (``bert``: dense, GELU,
    LayerNorm, decoder tied to the input embeddings, bias over the extended vocabulary V')."""

    def __init__(
        self, hidden: int, get_embeddings, kind: str, eps: float = 1e-12, std: float = 0.02
    ):
        super().__init__()
        if kind not in MLM_HEADS:
            raise ValueError(f"mlm_head must be one of {MLM_HEADS}, got {kind!r}")
        self.kind = kind
        vocab = get_embeddings().num_embeddings
        if kind == "bert":
            self.dense = nn.Linear(hidden, hidden)
            self.norm = nn.LayerNorm(hidden, eps=eps)
            # tied decoder: the encoder's input embeddings (V', H), looked up, not registered
            self._get_embeddings = get_embeddings
            self.bias = nn.Parameter(torch.zeros(vocab))
        else:  # W_m (H, V') and b_m, initialised as BERT initialises a new linear layer
            self.decoder = nn.Linear(hidden, vocab)
            nn.init.normal_(self.decoder.weight, std=std)
            nn.init.zeros_(self.decoder.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """(N, H) hidden states at masked positions -> (N, V') logits."""
        if self.kind == "linear":
            return self.decoder(hidden)
        x = self.norm(nn.functional.gelu(self.dense(hidden)))
        return x @ self._get_embeddings().weight.T + self.bias

    def load_checkpoint_head(self, state: dict[str, torch.Tensor]) -> bool:
        """Copy a BertForMaskedLM ``cls.predictions.*`` head in (bias padded to V')."""
        if self.kind != "bert" or "transform.dense.weight" not in state:
            return False
        with torch.no_grad():
            self.dense.weight.copy_(state["transform.dense.weight"])
            self.dense.bias.copy_(state["transform.dense.bias"])
            ln_w = state.get("transform.LayerNorm.weight", state.get("transform.LayerNorm.gamma"))
            ln_b = state.get("transform.LayerNorm.bias", state.get("transform.LayerNorm.beta"))
            if ln_w is not None and ln_b is not None:
                self.norm.weight.copy_(ln_w)
                self.norm.bias.copy_(ln_b)
            bias = state.get("bias", state.get("decoder.bias"))
            if bias is not None:
                self.bias[: bias.numel()].copy_(bias)
        return True


class LabelMaskNetwork(nn.Module):
    """Encoder + label logits (B, L) + MLM logits at gathered positions (N, V')."""

    def __init__(
        self,
        encoder: nn.Module,
        num_labels: int,
        *,
        readout: str,
        label_head: str,
        mlm_head: str | None,
        dropout: float,
        label_types: bool = False,
    ):
        super().__init__()
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
        if label_head not in LABEL_HEADS:
            raise ValueError(f"label_head must be one of {LABEL_HEADS}, got {label_head!r}")
        self.encoder = encoder
        self.label_types = label_types  # type 2 + i at label i's template tokens
        self.readout = readout
        self.label_head = label_head
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        if readout == "cls":  # eq. 3: O_l = O W_l + b_l at [CLS], W_l (H, L)
            self.classifier = nn.Linear(hidden, num_labels)
        elif label_head == "shared":  # one unit applied at every label's state position
            self.classifier = nn.Linear(hidden, 1)
        else:  # eq. 3's W_l column i read at label i's own position
            self.classifier = nn.Linear(hidden, num_labels)
        std = getattr(encoder.config, "initializer_range", 0.02)
        nn.init.normal_(self.classifier.weight, std=std)
        nn.init.zeros_(self.classifier.bias)
        self.mlm = None
        if mlm_head is not None:
            eps = getattr(encoder.config, "layer_norm_eps", 1e-12)
            # drawn on a fork of the global RNG: the head leaves every later draw (dropout)
            # as it is without it, so lm_mlm with lambda 0 trains exactly as lm does
            with torch.random.fork_rng(devices=[]):
                self.mlm = MLMHead(hidden, encoder.get_input_embeddings, mlm_head, eps, std)

    def encode(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        state_pos: torch.Tensor | None = None,
        output_attentions: bool = False,
    ):
        """Run the encoder: (B, T) ids -> its output (``last_hidden_state`` (B, T, H)).
        Token types are 0, or with ``label_types`` 2 + i at label i's template tokens
        (``state_pos`` (B, L), repeated when ``input_ids`` stacks several views)."""
        types = torch.zeros_like(input_ids)
        if self.label_types and state_pos is not None:
            views = input_ids.shape[0] // state_pos.shape[0]
            types = label_token_types(input_ids, state_pos.repeat(views, 1))
        return self.encoder(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=types,
            output_attentions=output_attentions,
        )

    def label_logits(self, hidden: torch.Tensor, state_pos: torch.Tensor | None) -> torch.Tensor:
        """(B, T, H) hidden states -> (B, L) label logits."""
        if self.readout == "cls":
            return self.classifier(self.dropout(hidden[:, 0]))
        idx = state_pos.unsqueeze(-1).expand(-1, -1, hidden.shape[-1])  # (B, L, H)
        at_labels = self.dropout(hidden.gather(1, idx))  # (B, L, H)
        if self.label_head == "shared":
            return self.classifier(at_labels).squeeze(-1)
        # per label: logit_i = h_i . W[i] + b_i
        return (at_labels * self.classifier.weight).sum(-1) + self.classifier.bias

    def mlm_logits(self, hidden: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """(B, T, H) hidden, (N, 2) (row, column) masked positions -> (N, V') logits.
        Gathering first keeps the vocabulary projection to the N masked tokens only."""
        return self.mlm(hidden[positions[:, 0], positions[:, 1]])
