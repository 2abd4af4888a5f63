"""A cooperative time limit for the training and evaluation loops (the runner's --budget).

The runner sets a deadline around a cell (:func:`time_limit`); the loops call
:func:`check` once a step or batch, which raises :class:`DeadlineReached` once the
deadline has passed. A cell stopped so returns nothing, and the runner writes no run file
for it: a cut-off cell leaves no output behind.

:class:`DeadlineReached` derives from ``BaseException``, as ``KeyboardInterrupt`` does, so
that no ``except Exception`` on the way (the runner's one-bad-cell guard, a method's own
recovery) mistakes a stop for a failure. Methods that never call :func:`check` (the
classical baselines) are not stopped: the runner only avoids starting them when their
estimate does not fit. One deadline per process (the runner runs cells one at a time);
outside :func:`time_limit` :func:`check` costs one comparison.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

_deadline: float | None = None  # time.monotonic() value, or None: no limit


class DeadlineReached(BaseException):  # noqa: N818 - a stop, like KeyboardInterrupt
    """The time limit set by :func:`time_limit` has passed."""


@contextmanager
def time_limit(deadline: float | None) -> Iterator[None]:
    """Within the block, :func:`check` raises once ``time.monotonic()`` reaches ``deadline``
    (None: no limit). Nested limits keep the earlier deadline."""
    global _deadline
    previous = _deadline
    if deadline is not None:
        _deadline = deadline if previous is None else min(previous, deadline)
    try:
        yield
    finally:
        _deadline = previous


def remaining() -> float | None:
    """Seconds until the current deadline (negative once passed), or None without one."""
    return None if _deadline is None else _deadline - time.monotonic()


def check() -> None:
    """Raise :class:`DeadlineReached` when the current deadline has passed."""
    if _deadline is not None and time.monotonic() >= _deadline:
        over = time.monotonic() - _deadline
        raise DeadlineReached(f"the time limit passed {over:.1f} s ago")
