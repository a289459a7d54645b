"""Bootstrap intervals over problems: seeded, around the mean, degenerate cases."""

import pytest

from mathforge.evaluation.bootstrap import bootstrap_interval


def test_interval_is_seeded_and_brackets_the_mean():
    values = [1.0] * 30 + [0.0] * 70
    low, high = bootstrap_interval(values, 2000, 0.95, seed=1)
    assert low < 0.3 < high and high - low < 0.25
    assert (low, high) == bootstrap_interval(values, 2000, 0.95, seed=1)
    assert (low, high) != bootstrap_interval(values, 2000, 0.95, seed=2)
    wider = bootstrap_interval(values, 2000, 0.99, seed=1)
    assert wider[0] <= low and wider[1] >= high


def test_degenerate_cases():
    assert bootstrap_interval([], 100, 0.95, 0) is None
    assert bootstrap_interval([0.5, 0.5, 0.5], 100, 0.95, 0) == pytest.approx((0.5, 0.5))
