"""The training loop shared by every transformer method (paper, section 5.4).

AdamW, linear warm-up over ``warmup_ratio`` of the steps then linear decay, gradient
clipping, evaluation on dev after each epoch and the best-dev checkpoint (a state_dict
copy kept in memory) restored at the end; bf16 autocast on CUDA; losses logged every
``log_every`` batches into a loss curve (Figure 4).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

PRECISIONS = ("auto", "fp32", "bf16")
DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str) -> torch.device:
    """``auto`` -> cuda when available, else cpu."""
    if device not in DEVICES and not device.startswith("cuda:"):
        raise ValueError(f"device must be one of {DEVICES} (or cuda:N), got {device!r}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} asked for but torch sees no CUDA device")
    return torch.device(device)


def autocast(device: torch.device, precision: str):
    """bf16 autocast on CUDA for ``auto``/``bf16``; plain fp32 otherwise (CPU bf16 is slow)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    use_bf16 = device.type == "cuda" and precision in ("auto", "bf16")
    if precision == "bf16" and device.type != "cuda":
        use_bf16 = True  # asked for explicitly: honour it on CPU as well
    if not use_bf16:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


@dataclass
class StepLosses:
    """The losses of one batch: ``loss`` is what is back-propagated."""

    loss: torch.Tensor
    mtc: torch.Tensor
    mlm: torch.Tensor | None = None


@dataclass
class LoopConfig:
    lr: float = 5e-5
    epochs: int = 40
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    max_steps: int | None = None
    log_every: int = 10
    progress: bool = True


@dataclass
class LoopResult:
    loss_curve: list[dict] = field(default_factory=list)
    dev_micro_f1: list[float] = field(default_factory=list)  # one per evaluation (epoch)
    best_epoch: int | None = None
    best_dev_micro_f1: float | None = None
    steps: int = 0
    train_samples: int = 0
    train_seconds: float = 0.0

    @property
    def samples_per_s(self) -> float:
        return self.train_samples / self.train_seconds if self.train_seconds > 0 else 0.0


def make_optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW with no weight decay on biases and LayerNorm weights (BERT's recipe)."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim < 2 or "norm" in name.lower() else decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return torch.optim.AdamW(groups, lr=lr)


def linear_warmup_decay(optimizer, warmup: int, total: int) -> torch.optim.lr_scheduler.LambdaLR:
    """lr x step/warmup during warm-up, then linearly down to 0 at ``total``."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def train_loop(
    model: nn.Module,
    batches: Callable[[int], Iterator],
    batches_per_epoch: int,
    step: Callable[[object, float], StepLosses],
    evaluate: Callable[[], float] | None,
    config: LoopConfig,
) -> LoopResult:
    """Train ``model``; ``batches(epoch)`` yields (batch, size) pairs, ``step(batch, epoch)``
    computes the losses, ``evaluate()`` gives dev micro-F1 (best epoch restored)."""
    total = config.epochs * batches_per_epoch
    if config.max_steps is not None:
        total = min(total, int(config.max_steps))
    epochs = math.ceil(total / max(1, batches_per_epoch))
    optimizer = make_optimizer(model, config.lr, config.weight_decay)
    scheduler = linear_warmup_decay(optimizer, int(config.warmup_ratio * total), total)
    result = LoopResult()
    best_state = None
    bar = _progress(total, config.progress)
    params = [p for p in model.parameters() if p.requires_grad]
    for epoch in range(epochs):
        model.train()
        start = time.perf_counter()
        for i, (batch, size) in enumerate(batches(epoch)):
            if result.steps >= total:
                break
            losses = step(batch, epoch + i / batches_per_epoch)
            optimizer.zero_grad(set_to_none=True)
            losses.loss.backward()
            torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            result.steps += 1
            result.train_samples += size
            if result.steps % config.log_every == 0:
                result.loss_curve.append(
                    _log_entry(result.steps, epoch, i, batches_per_epoch, losses)
                )
            bar.update(1)
        result.train_seconds += time.perf_counter() - start
        if evaluate is not None:
            score = float(evaluate())
            result.dev_micro_f1.append(score)
            if result.best_dev_micro_f1 is None or score > result.best_dev_micro_f1:
                result.best_dev_micro_f1, result.best_epoch = score, epoch + 1
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            bar.set_postfix(dev_micro_f1=f"{score:.4f}")
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    elif evaluate is None:
        result.best_epoch = epochs
    return result


def _log_entry(step: int, epoch: int, i: int, per_epoch: int, losses: StepLosses) -> dict:
    return {
        "step": step,
        "epoch": round(epoch + (i + 1) / per_epoch, 4),
        "mtc_loss": float(losses.mtc.detach()),
        "mlm_loss": None if losses.mlm is None else float(losses.mlm.detach()),
        "loss": float(losses.loss.detach()),
    }


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="train", disable=not enabled, leave=False, dynamic_ncols=True)
