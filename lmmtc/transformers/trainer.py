"""The training loop shared by every transformer method (paper, section 5.4).

AdamW, linear warm-up over ``warmup_ratio`` of the steps then linear decay, gradient
clipping, evaluation on dev after each epoch and the best-dev checkpoint (a state_dict
copy kept in memory) restored at the end; bf16 autocast on CUDA; losses logged every
``log_every`` batches into a loss curve (Figure 4).

No host-device synchronisation per step: the logged losses stay on the device until the
epoch ends (one read an epoch, the same values as a read at each logged step), the
gradient clipping and the LR schedule need no value from the device, and AdamW is the
fused kernel (on CUDA and on the CPU).

Data parallel: when ``accelerate`` is installed and the process was started by
``accelerate launch`` (or torchrun) with more than one process, :func:`make_accelerator`
returns an ``Accelerator`` and the loop runs through it (DDP model, prepared optimiser,
scheduler and a sharded data loader; ``batch_size`` stays the global batch, split over the
processes, so steps and schedule are those of one process). Otherwise the loop is the
plain single-process one.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

from lmmtc import deadline
from lmmtc.distributed import launched_distributed, partial_state

PRECISIONS = ("auto", "fp32", "bf16")
DEVICES = ("auto", "cpu", "cuda")
DISTRIBUTED = ("auto", "off")


def make_accelerator(distributed: str, device: str, precision: str):
    """An ``Accelerator`` for a distributed launch, or None (plain process, ``off``,
    accelerate not installed). bf16 mixed precision where :func:`autocast` would use it."""
    if distributed not in DISTRIBUTED:
        raise ValueError(f"distributed must be one of {DISTRIBUTED}, got {distributed!r}")
    if distributed == "off" or not launched_distributed():
        return None
    from accelerate import Accelerator, DataLoaderConfiguration, DistributedDataParallelKwargs
    from accelerate.state import AcceleratorState

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    state = partial_state()  # the process group, shared by every fit of this process
    cpu = state.device.type == "cpu"
    if device == "cpu" and not cpu:
        raise ValueError(
            "device 'cpu' under a GPU launch: hide the GPUs (CUDA_VISIBLE_DEVICES=) to "
            "train on CPU processes, or leave device at 'auto'"
        )
    bf16 = compute_precision(state.device, precision) == "bf16"
    AcceleratorState._reset_state()  # each fit may ask for its own precision
    return Accelerator(
        cpu=cpu,
        mixed_precision="bf16" if bf16 else "no",
        # batch_size is the global batch: the steps and the schedule of one process.
        dataloader_config=DataLoaderConfiguration(split_batches=True),
        # The pooler, and the MLM head in steps without MLM, get no gradient.
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
    )


def resolve_device(device: str) -> torch.device:
    """``auto`` -> cuda when available, else cpu."""
    if device not in DEVICES and not device.startswith("cuda:"):
        raise ValueError(f"device must be one of {DEVICES} (or cuda:N), got {device!r}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} asked for but torch sees no CUDA device")
    return torch.device(device)


@functools.cache
def cpu_supports_bf16() -> bool:
    """Whether this CPU has native bf16 arithmetic (x86 AVX512-BF16 or AMX-BF16, Arm BF16),
    read from /proc/cpuinfo's flags once a process (:func:`autocast` asks on every step).
    Without it, bf16 autocast is emulated and slower than fp32, so ``auto`` stays in fp32
    there. Anything unreadable counts as no."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            words = set(info.read().split())
    except OSError:
        return False
    return bool(words & {"avx512_bf16", "amx_bf16", "bf16"})


def compute_precision(device: torch.device, precision: str) -> str:
    """What the forward passes compute in: 'bf16' for ``bf16``, and for ``auto`` on CUDA
    and on a CPU with native bf16 (:func:`cpu_supports_bf16`: measured on the 2-core AMD
    EPYC machines, a MiniLM training step took 0.65-0.72 s under bf16 autocast against
    0.93-1.05 s in fp32, 1.43-1.46x); 'fp32' otherwise (see :func:`precision_note`)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "bf16":
        return "bf16"
    if precision == "auto" and (device.type == "cuda" or cpu_supports_bf16()):
        return "bf16"
    return "fp32"


def precision_note(device: torch.device, precision: str) -> str | None:
    """Why ``auto`` chose fp32 on a CPU (recorded in the run file), or None."""
    if precision == "auto" and device.type == "cpu" and not cpu_supports_bf16():
        return "auto: fp32, this CPU has no native bf16 (no avx512_bf16/amx_bf16/bf16 flag)"
    return None


def autocast(device: torch.device, precision: str):
    """bf16 autocast where :func:`compute_precision` says bf16; plain fp32 otherwise."""
    if compute_precision(device, precision) == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


@dataclass(frozen=True)
class DevScore:
    """One dev evaluation: micro-F1 at the 0.5 threshold, and the threshold-free LRAP that
    breaks its ties (every epoch at micro-F1 0, say, when no score has crossed 0.5 yet)."""

    micro_f1: float
    lrap: float = 0.0

    def key(self) -> tuple[float, float]:
        """What model selection maximises: micro-F1 first, LRAP on a tie."""
        return (self.micro_f1, self.lrap)


def selection_criterion(scores: list[DevScore], best: int) -> str:
    """In words, what chose epoch ``best`` (0-based) among ``scores`` (recorded in the
    run file): micro-F1 alone, or LRAP on a tie or when micro-F1 is 0 throughout."""
    top = scores[best].micro_f1
    if top <= 0.0:
        return "dev lrap (dev micro_f1 0 at every epoch)"
    if sum(s.micro_f1 == top for s in scores) > 1:
        return f"dev lrap (tie on dev micro_f1 {top:.4f})"
    return "dev micro_f1"


@dataclass
class StepLosses:
    """The losses of one batch: ``loss`` is what is back-propagated."""

    loss: torch.Tensor
    mtc: torch.Tensor
    mlm: torch.Tensor | None = None


@dataclass
class LoopConfig:
    lr: float = 5e-5
    head_lr: float | None = None  # lr of the parameters named ``head_prefix``; None: lr
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
    dev_lrap: list[float] = field(default_factory=list)  # the same evaluations' LRAP
    best_epoch: int | None = None
    best_dev_micro_f1: float | None = None
    selected_by: str | None = None  # what chose best_epoch (selection_criterion)
    steps: int = 0
    train_samples: int = 0
    train_seconds: float = 0.0

    @property
    def samples_per_s(self) -> float:
        return self.train_samples / self.train_seconds if self.train_seconds > 0 else 0.0


def make_optimizer(
    model: nn.Module,
    lr: float,
    weight_decay: float,
    head_lr: float | None = None,
    head_prefix: str = "classifier.",
    fused: bool | None = None,
) -> torch.optim.AdamW:
    """AdamW with no weight decay on biases and LayerNorm weights (BERT's recipe); the
    parameters whose names start with ``head_prefix`` learn at ``head_lr`` when it is set.
    The warm-up/decay schedule scales every group alike. ``fused`` None: the fused
    kernel (one launch for all parameters) when every parameter is on CUDA or the CPU,
    else torch's default implementation."""
    groups: dict[tuple[bool, bool], list] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        no_decay = param.ndim < 2 or "norm" in name.lower()
        head = head_lr is not None and name.startswith(head_prefix)
        groups.setdefault((head, no_decay), []).append(param)
    if fused is None:
        params = [p for ps in groups.values() for p in ps]
        # One fused kernel for all parameters, on CUDA and (torch >= 2.4) on the CPU too:
        # measured on the 2-core EPYC machine for MiniLM's 22.7 M parameters, an AdamW
        # step took 0.098 s in torch's default CPU implementation and 0.016 s fused.
        devices = {p.device.type for p in params}
        fused = bool(params) and devices <= {"cuda", "cpu"}
    return torch.optim.AdamW(
        [
            {
                "params": params,
                "weight_decay": 0.0 if no_decay else weight_decay,
                "lr": head_lr if head else lr,
            }
            for (head, no_decay), params in sorted(groups.items())
        ],
        lr=lr,
        fused=True if fused else None,
    )


def compile_module(module: nn.Module) -> None:
    """``torch.compile`` ``module`` in place (``Module.compile``: its state_dict keys, and
    so save/load and the best-dev copy, are unchanged). Automatic dynamic shapes: a second
    (batch, length) shape recompiles once with that dimension symbolic, then is reused."""
    import torch._dynamo

    config = torch._dynamo.config
    name = "recompile_limit" if hasattr(config, "recompile_limit") else "cache_size_limit"
    setattr(config, name, max(getattr(config, name), 32))  # train + eval, a few shapes each
    module.compile()


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
    accelerator=None,
    loader=None,
) -> LoopResult:
    """Train ``model``; ``batches(epoch)`` yields (batch, size) pairs, ``step(batch, epoch)``
    computes the losses, ``evaluate()`` gives a :class:`DevScore` (or a plain dev
    micro-F1); the best epoch by :meth:`DevScore.key` is restored.

    With an ``accelerator`` the batches come from ``loader`` (a DataLoader of (batch,
    size) pairs, sharded here) and ``evaluate`` must gather over the processes."""
    if accelerator is not None:
        return _train_loop_distributed(
            model, loader, batches_per_epoch, step, evaluate, config, accelerator
        )
    total, epochs, optimizer, scheduler = _plan(model, batches_per_epoch, config)
    result = LoopResult()
    best_state = None
    bar = _progress(total, config.progress)
    params = [p for p in model.parameters() if p.requires_grad]
    log = LossLog(config.log_every, batches_per_epoch)
    for epoch in range(epochs):
        model.train()
        start = time.perf_counter()
        for i, (batch, size) in enumerate(batches(epoch)):
            if result.steps >= total:
                break
            deadline.check()  # the runner's --budget: a cut-off cell stops here
            losses = train_step(
                step, batch, epoch + i / batches_per_epoch, optimizer, scheduler, params, config
            )
            result.steps += 1
            result.train_samples += size
            log.add(result.steps, epoch, i, losses)
            bar.update(1)
        result.loss_curve += log.flush()  # the epoch's one device read
        _wait_for_device(model)  # train_seconds counts the GPU's work, not just the launches
        result.train_seconds += time.perf_counter() - start
        best_state = _evaluate_epoch(evaluate, result, model, best_state, epoch, bar)
    bar.close()
    _restore_best(model, best_state, evaluate, result, epochs)
    return result


def train_step(
    step: Callable[[object, float], StepLosses],
    batch,
    epoch: float,
    optimizer,
    scheduler,
    params: list[torch.Tensor],
    config: LoopConfig,
) -> StepLosses:
    """One optimiser step of :func:`train_loop` (also timed by tools/speed_transformers):
    losses, backward, clipping, AdamW, schedule. Nothing here reads a device value."""
    losses = step(batch, epoch)
    optimizer.zero_grad(set_to_none=True)
    losses.loss.backward()
    torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
    optimizer.step()
    scheduler.step()
    return losses


class LossLog:
    """The loss curve (Figure 4): every ``log_every``-th step's own losses, kept as device
    tensors and read in one transfer by :meth:`flush` (at the end of each epoch), so that
    logging never waits for the GPU in the middle of an epoch. The values are those a read
    at the logged step would give: the tensors are that step's results, never modified."""

    def __init__(self, log_every: int, batches_per_epoch: int) -> None:
        self.log_every, self.per_epoch = log_every, batches_per_epoch
        self._pending: list[tuple[int, float, bool, torch.Tensor]] = []

    def add(self, step: int, epoch: int, i: int, losses: StepLosses) -> None:
        """Keep step ``step``'s losses (the i-th batch of ``epoch``) when it is logged."""
        if step % self.log_every:
            return
        parts = [losses.loss, losses.mtc] + ([] if losses.mlm is None else [losses.mlm])
        values = torch.stack([t.detach().float().reshape(()) for t in parts])  # (2,) or (3,)
        epoch_at = round(epoch + (i + 1) / self.per_epoch, 4)
        self._pending.append((step, epoch_at, losses.mlm is not None, values))

    def flush(self) -> list[dict]:
        """The kept entries as loss-curve dicts (``step``, ``epoch``, ``mtc_loss``,
        ``mlm_loss``, ``loss``), read from the device at once; the log is emptied."""
        if not self._pending:
            return []
        width = 3
        rows = [torch.nn.functional.pad(v, (0, width - v.numel())) for *_, v in self._pending]
        table = torch.stack(rows).tolist()  # (entries, 3): the one host-device transfer
        out = []
        for (step, epoch_at, has_mlm, _), (loss, mtc, mlm) in zip(self._pending, table):
            out.append(
                {
                    "step": step,
                    "epoch": epoch_at,
                    "mtc_loss": mtc,
                    "mlm_loss": mlm if has_mlm else None,
                    "loss": loss,
                }
            )
        self._pending = []
        return out


def _plan(model: nn.Module, batches_per_epoch: int, config: LoopConfig):
    """(total steps, epochs, optimizer, scheduler) of a loop: ``epochs`` x batches, capped
    by ``max_steps``; warm-up over ``warmup_ratio`` of the steps."""
    total = config.epochs * batches_per_epoch
    if config.max_steps is not None:
        total = min(total, int(config.max_steps))
    epochs = math.ceil(total / max(1, batches_per_epoch))
    optimizer = make_optimizer(model, config.lr, config.weight_decay, config.head_lr)
    scheduler = linear_warmup_decay(optimizer, int(config.warmup_ratio * total), total)
    return total, epochs, optimizer, scheduler


class _StepModule(nn.Module):
    """Runs the step inside ``forward`` so that DDP sees it (gradient all-reduce)."""

    def __init__(self, model: nn.Module, step: Callable[[object, float], StepLosses]) -> None:
        super().__init__()
        self.model = model
        self._step = step

    def forward(self, batch, epoch: float):
        losses = self._step(batch, epoch)
        return losses.loss, losses.mtc, losses.mlm


def _train_loop_distributed(
    model: nn.Module,
    loader,
    batches_per_epoch: int,
    step: Callable[[object, float], StepLosses],
    evaluate: Callable[[], float] | None,
    config: LoopConfig,
    accelerator,
) -> LoopResult:
    """:func:`train_loop` through ``accelerator``: same steps, schedule and best-dev rule;
    every rank sees the same gathered dev scores, so all keep the same checkpoint."""
    total, epochs, optimizer, scheduler = _plan(model, batches_per_epoch, config)
    wrapped, optimizer, scheduler = accelerator.prepare(
        _StepModule(model, step), optimizer, scheduler
    )
    # Batches stay on the CPU: the step draws its masks with a CPU generator.
    loader = accelerator.prepare_data_loader(loader, device_placement=False)
    result = LoopResult()
    best_state = None
    bar = _progress(total, config.progress and accelerator.is_main_process)
    params = [p for p in model.parameters() if p.requires_grad]
    world = accelerator.num_processes
    log = LossLog(config.log_every, batches_per_epoch)
    for epoch in range(epochs):
        wrapped.train()
        loader.set_epoch(epoch)
        start = time.perf_counter()
        for i, (batch, size) in enumerate(loader):
            if result.steps >= total:
                break  # the same step on every rank: the shards have equal lengths
            loss, mtc, mlm = wrapped(batch, epoch + i / batches_per_epoch)
            optimizer.zero_grad(set_to_none=True)
            accelerator.backward(loss)
            accelerator.clip_grad_norm_(params, config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            result.steps += 1
            result.train_samples += int(size) * world
            if result.steps % config.log_every == 0:  # the mean over the ranks
                mean = [accelerator.reduce(t.detach().float(), "mean") for t in (loss, mtc)]
                mlm_mean = None if mlm is None else accelerator.reduce(mlm.detach().float(), "mean")
                log.add(result.steps, epoch, i, StepLosses(mean[0], mean[1], mlm_mean))
            bar.update(1)
        result.loss_curve += log.flush()
        _wait_for_device(model)
        result.train_seconds += time.perf_counter() - start
        best_state = _evaluate_epoch(evaluate, result, model, best_state, epoch, bar)
    bar.close()
    _restore_best(model, best_state, evaluate, result, epochs)
    accelerator.wait_for_everyone()
    return result


def _wait_for_device(model: nn.Module) -> None:
    """Block until the CUDA work queued for ``model`` is done (no-op on CPU)."""
    param = next(model.parameters(), None)
    if param is not None and param.device.type == "cuda":
        torch.cuda.synchronize(param.device)


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="train", disable=not enabled, leave=False, dynamic_ncols=True)


def _evaluate_epoch(evaluate, result, model: nn.Module, best_state, epoch: int, bar):
    """Score the dev split after an epoch; keep a copy of the weights when it is the best
    so far: the higher dev micro-F1, LRAP on a tie (strictly better: an exact tie on both
    keeps the earlier epoch). Returns the best state dict (or None)."""
    if evaluate is None:
        return best_state
    score = evaluate()
    if not isinstance(score, DevScore):
        score = DevScore(float(score))
    scores = [DevScore(f, r) for f, r in zip(result.dev_micro_f1, result.dev_lrap)]
    result.dev_micro_f1.append(float(score.micro_f1))
    result.dev_lrap.append(float(score.lrap))
    best = None if result.best_epoch is None else scores[result.best_epoch - 1]
    if best is None or score.key() > best.key():
        result.best_dev_micro_f1, result.best_epoch = float(score.micro_f1), epoch + 1
        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    result.selected_by = selection_criterion([*scores, score], result.best_epoch - 1)
    bar.set_postfix(dev_micro_f1=f"{score.micro_f1:.4f}", dev_lrap=f"{score.lrap:.4f}")
    return best_state


def _restore_best(model: nn.Module, best_state, evaluate, result, epochs: int) -> None:
    """Load the best dev epoch's weights; without a dev split the last epoch counts."""
    if best_state is not None:
        model.load_state_dict(best_state)
    elif evaluate is None:
        result.best_epoch = epochs
