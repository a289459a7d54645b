"""Deterministic train / validation / test splits by problem id.

A row's split depends only on its problem id and the configured seed and fractions: every solution
of a problem lands in the same split, and the same problem lands in the same split on every run
(and in every variant), so a validation problem is never trained on in another variant.
"""

from __future__ import annotations

import hashlib

from mathforge.errors import ConfigError

SPLITS = ("train", "validation", "test")


def check_split_sizes(splits: dict[str, float], key: str = "publish.splits") -> None:
    """Fractions in [0, 1] that leave a non-empty share for train."""
    for name, fraction in splits.items():
        if not 0 <= fraction <= 1:
            raise ConfigError(f"{key}.{name}: a fraction of the problems in [0, 1] expected, got {fraction}")
    if sum(splits.values()) >= 1:
        raise ConfigError(
            f"{key}: validation + test must be below 1 (train takes the rest), got {sum(splits.values())}"
        )


def problem_unit(problem_id: str, seed: str) -> float:
    """A problem's position in [0, 1), uniform over problem ids (sha256 of seed and id)."""
    digest = hashlib.sha256(f"{seed}\x00{problem_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_of(problem_id: str, splits: dict[str, float], seed: str) -> str:
    """`validation` for the first `splits['validation']` of [0, 1), then `test`, else `train`."""
    unit, edge = problem_unit(problem_id, seed), 0.0
    for name in ("validation", "test"):
        edge += splits.get(name, 0.0)
        if unit < edge:
            return name
    return "train"
