"""Did-you-mean hints for unknown names (methods, experiments, profiles)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import TypeVar

T = TypeVar("T")


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the closest known names, or ``""`` when none is close."""
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.5)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def lookup(table: Mapping[str, T], name: str, kind: str) -> T:
    """``table[name]``; an unknown name is a ValueError naming the ``kind``, the closest
    known names and all of them (profiles, experiments, readings)."""
    if name in table:
        return table[name]
    hint = did_you_mean(name, table)
    raise ValueError(f"unknown {kind} {name!r}.{hint} Known: {', '.join(table)}")
