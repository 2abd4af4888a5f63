"""tools/step_breakdown.py: operators land in the right group and the groups add up to
the step's wall time (the times themselves belong to the script, not to tests)."""

from __future__ import annotations

import pytest

from tools.step_breakdown import OTHER, OUTSIDE, breakdown, group_of


@pytest.mark.parametrize(
    ("op", "group"),
    [
        ("aten::addmm", "matmul"),
        ("aten::bmm", "matmul"),
        ("aten::_scaled_dot_product_attention_math", "attention"),
        ("aten::_softmax_backward_data", "attention"),
        ("aten::log_softmax", "loss"),
        ("aten::binary_cross_entropy_with_logits", "loss"),
        ("aten::bernoulli_", "dropout"),
        ("aten::native_dropout_backward", "dropout"),
        ("aten::native_layer_norm_backward", "layer norm"),
        ("aten::gelu_backward", "activation"),
        ("aten::embedding_dense_backward", "embedding"),
        ("aten::_fused_adamw_", "optimiser"),
        ("aten::_to_copy", "copies and casts"),
        ("aten::fill_", OTHER),
    ],
)
def test_each_operator_lands_in_its_group(op, group):
    assert group_of(op) == group


def test_groups_and_the_time_outside_operators_add_up_to_the_wall_time():
    ops = [("aten::addmm", 600.0), ("aten::mm", 200.0), ("aten::bernoulli_", 200.0)]
    ops += [("aten::fill_", 100.0)]
    rows = breakdown(ops, wall_us=1200.0, steps=2)
    by_group = {r["group"]: r for r in rows}
    assert [r["group"] for r in rows] == ["matmul", "dropout", OTHER, OUTSIDE]
    assert by_group["matmul"]["ms_per_step"] == pytest.approx(0.4)  # 800 us over 2 steps
    assert by_group["matmul"]["share"] == pytest.approx(800 / 1200)
    assert by_group[OUTSIDE]["ms_per_step"] == pytest.approx(0.05)  # 100 us unaccounted
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)
