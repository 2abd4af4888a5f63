"""Is this process one of several started by ``accelerate launch`` (or torchrun)?

Torch-free helpers for the runner: under a distributed launch every process runs the
cells (training and prediction are collective), only the main one writes files.
"""

from __future__ import annotations

import contextlib
import os


def launched_distributed() -> bool:
    """True when ``accelerate launch``/torchrun started this process among several and
    ``accelerate`` is importable."""
    if int(os.environ.get("WORLD_SIZE", "1") or 1) <= 1:
        return False
    try:
        import accelerate  # noqa: F401
    except ImportError:
        return False
    return True


def partial_state():
    """Accelerate's process state (it sets up the process group once); over gloo on CPU
    where torch sees no CUDA device (Accelerate needs ``cpu=True`` to see MULTI_CPU)."""
    import torch
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def is_main_process() -> bool:
    """False only on the non-main processes of a distributed launch."""
    if not launched_distributed():
        return True
    return partial_state().is_main_process


def main_process_first():
    """A context in which the main process runs first (data preparation), the others
    after it; a no-op in a plain process."""
    if not launched_distributed():
        return contextlib.nullcontext()
    return partial_state().main_process_first()
