"""Nested-mapping helpers (below mathforge.config, which merges config files with them)."""

from __future__ import annotations

import copy


def deep_update(base: dict, other: dict) -> dict:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_update(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base
