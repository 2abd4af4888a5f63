"""Seeded splitting helpers shared by the converters.

All random splits go through scikit-learn's ``train_test_split`` with ``random_state``
set to the recorded seed, so a split is reproducible from meta.json alone. A ``size``
is either an int (that many items) or a float fraction; a fraction follows
scikit-learn's rounding (the held-out part gets ``ceil(fraction * n)`` items). Each
part keeps the input order of its items, so outputs read in source order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

#: Fraction of the training part carved out as dev where a data set has no dev split.
DEV_FRACTION = 0.1


def hold_out(items: Sequence[T], size: int | float, seed: int) -> tuple[list[T], list[T]]:
    """Split ``items`` into (rest, held_out) where held_out has ``size`` items, seeded."""
    from sklearn.model_selection import train_test_split

    if len(items) < 2:
        raise ValueError(f"cannot split {len(items)} item(s)")
    rest_idx, held_idx = train_test_split(
        list(range(len(items))), test_size=size, random_state=seed, shuffle=True
    )
    return [items[i] for i in sorted(rest_idx)], [items[i] for i in sorted(held_idx)]


def carve_dev(
    train: Sequence[T], seed: int, fraction: float = DEV_FRACTION
) -> tuple[list[T], list[T]]:
    """Split ``train`` into (train, dev), dev holding ``fraction`` of it (seeded)."""
    return hold_out(train, fraction, seed)


def three_way(
    items: Sequence[T], dev_size: int | float, test_size: int | float, seed: int
) -> tuple[list[T], list[T], list[T]]:
    """Split ``items`` into (train, dev, test): test is held out first, then dev from the rest.

    Float sizes are fractions of the whole of ``items`` (not of the rest).
    """
    n = len(items)
    n_test = test_size if isinstance(test_size, int) else fraction_count(n, test_size)
    n_dev = dev_size if isinstance(dev_size, int) else fraction_count(n, dev_size)
    rest, test = hold_out(items, n_test, seed)
    train, dev = hold_out(rest, n_dev, seed)
    return train, dev, test


def fraction_count(n: int, fraction: float) -> int:
    """``round(fraction * n)``, at least 1: the size of a part given as a fraction of ``n``."""
    return max(1, int(round(fraction * n)))
