"""Seeded split helpers: sizes, reproducibility, order within parts."""

from __future__ import annotations

from data_prep.splits import carve_dev, fraction_count, hold_out, three_way


def test_hold_out_sizes_and_order():
    items = list(range(100))
    rest, held = hold_out(items, 0.3, seed=0)
    assert len(held) == 30 and sorted(rest + held) == items
    assert rest == sorted(rest) and held == sorted(held)  # source order kept
    assert hold_out(items, 0.3, seed=0) == (rest, held)
    assert hold_out(items, 0.3, seed=1) != (rest, held)


def test_counts_of_the_paper_splits():
    assert len(hold_out(list(range(16225)), 0.3, seed=0)[1]) == 4868  # Toxic 11,357 / 4,868
    assert [len(p) for p in three_way(list(range(30000)), 3000, 3000, seed=0)] == [
        24000,
        3000,
        3000,
    ]
    assert len(carve_dev(list(range(8630)), seed=0)[1]) == 863
    assert fraction_count(10788, 2158 / 10788) == 2158
    assert fraction_count(7172, 0.70) == 5020 and fraction_count(7172, 0.09) == 645
