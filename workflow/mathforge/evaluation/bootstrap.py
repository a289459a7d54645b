"""Percentile bootstrap confidence intervals of a benchmark mean, resampling problems."""

from __future__ import annotations

import numpy as np


def bootstrap_interval(
    values: list[float], samples: int, confidence: float, seed: int
) -> tuple[float, float] | None:
    """The `confidence` percentile interval of the mean of `values` over `samples` resamples of the
    problems (with replacement, seeded); None without values. Metrics of one benchmark that use
    the same seed resample the same problems (paired intervals)."""
    if not values:
        return None
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(samples, len(data)))].mean(axis=1)
    tail = (1 - confidence) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))
