"""Label-to-label attention per layer (Figure 3 of the paper): head-averaged attention
between the label state tokens ([MASK-i] at inference), summed over texts."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import nn


@torch.no_grad()
def label_attention(network: nn.Module, batches: Iterable, device: torch.device) -> np.ndarray:
    """(num_layers, L, L): entry [k, i, j] = attention of label i's token to label j's in
    layer k, averaged over heads and summed over the texts of ``batches``."""
    encoder = network.encoder
    previous = encoder.config._attn_implementation
    encoder.set_attn_implementation("eager")  # sdpa returns no attention weights
    was_training = network.training
    network.eval()
    total = None
    try:
        for _, batch in batches:
            pos = batch.state_pos.to(device)  # (B, L)
            out = network.encode(
                batch.input_ids.to(device),
                batch.attention_mask.to(device),
                state_pos=pos,
                output_attentions=True,
            )
            maps = []
            for layer in out.attentions:  # (B, heads, T, T)
                mean = layer.float().mean(1)  # (B, T, T)
                rows = mean.gather(1, pos.unsqueeze(-1).expand(-1, -1, mean.shape[-1]))  # (B,L,T)
                maps.append(rows.gather(2, pos.unsqueeze(1).expand(-1, pos.shape[1], -1)).sum(0))
            stacked = torch.stack(maps).cpu()  # (layers, L, L)
            total = stacked if total is None else total + stacked
    finally:
        encoder.set_attn_implementation(previous)
        network.train(was_training)
    return total.numpy()
