"""The unbiased pass@k estimator against hand-computed values."""

import pytest

from mathforge.evaluation.passk import mean_pass_at_k, pass_at_k
from mathforge.proofs.evaluate import pass_at_k_table


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (4, 0, 1, 0.0),
        (4, 4, 1, 1.0),
        (4, 1, 1, 0.25),  # c/n
        (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
        (4, 2, 2, 5 / 6),  # 1 - C(2,2)/C(4,2) = 1 - 1/6
        (4, 1, 4, 1.0),
        (5, 2, 3, 0.9),  # 1 - C(3,3)/C(5,3) = 1 - 1/10
        (10, 3, 5, 11 / 12),  # 1 - C(7,5)/C(10,5) = 1 - 21/252
        (32, 1, 8, 0.25),  # 1 - C(31,8)/C(32,8) = 8/32
    ],
)
def test_hand_computed(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_large_n_stays_exact():
    assert pass_at_k(4096, 1, 1) == pytest.approx(1 / 4096)
    assert 0 < pass_at_k(4096, 1, 2048) < 1


def test_invalid_arguments():
    for n, c, k in [(4, 5, 1), (4, 1, 0), (4, 1, 5), (4, -1, 1)]:
        with pytest.raises(ValueError):
            pass_at_k(n, c, k)


def test_benchmark_mean_and_turn_budgets():
    assert mean_pass_at_k([(4, 1), (4, 0)], 2) == pytest.approx(0.25)
    assert mean_pass_at_k([], 1) == 0.0
    # problem a: attempts verified at turns 1, 3, never, never; problem b: never
    table = pass_at_k_table({"a": [1, 3, None, None], "b": [None] * 4}, n=4, max_turns=3)
    assert table["turns=1"]["1"] == pytest.approx(0.125)  # (1/4 + 0) / 2
    assert table["turns=2"] == table["turns=1"]
    assert table["turns=3"]["1"] == pytest.approx(0.25)  # (2/4 + 0) / 2
    assert table["turns=3"]["2"] == pytest.approx((5 / 6) / 2)
    assert set(table) == {"turns=1", "turns=2", "turns=3"} and set(table["turns=1"]) == {"1", "2", "3", "4"}
