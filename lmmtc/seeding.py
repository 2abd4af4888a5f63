"""One place to seed every random number generator the suite uses."""

from __future__ import annotations

import os
import random

import numpy as np


def set_seed(seed: int, *, deterministic: bool = True) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA); ask torch for deterministic kernels.

    With ``deterministic`` the same seed gives the same metrics on CPU; on CUDA a few
    kernels have no deterministic version and torch only warns for those.
    """
    random.seed(seed)
    np.random.seed(seed % (2**32))
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    try:
        import torch
    except ImportError:  # the linear baselines do not need torch
        return
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        # Deterministic mode also fills every new tensor with NaN (a debugging aid against
        # reads of uninitialised memory, not part of determinism; results are the same
        # without it, tests/test_transformers_training.py). Useless work: under heavy load
        # the profiler put a third of a CPU step in it (aten::fill_ under empty_strided);
        # on the quiet machine steps with and without it differ within noise
        # (results/sweeps/speed-cpu, run4).
        torch.utils.deterministic.fill_uninitialized_memory = False
