"""Counting what every step keeps and drops, and why (the report draws the funnel from these)."""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa

from mathforge.io import write_json, write_parquet

log = logging.getLogger(__name__)


@dataclass
class StepStats:
    step: str
    n_in: int = 0
    n_out: int = 0
    dropped: Counter = field(default_factory=Counter)
    extra: dict = field(default_factory=dict)

    def drop(self, reason: str, n: int = 1) -> None:
        self.dropped[reason] += n

    def to_dict(self) -> dict:
        return {
            "step": self.step,
            "n_in": self.n_in,
            "n_out": self.n_out,
            "dropped": dict(sorted(self.dropped.items())),
            **self.extra,
        }

    def summary(self) -> str:
        drops = ", ".join(f"{k}={v}" for k, v in sorted(self.dropped.items())) or "none"
        return f"{self.step}: in={self.n_in} out={self.n_out} dropped: {drops}"

    def write(self, path: str | os.PathLike) -> None:
        write_json(self.to_dict(), path)


def write_step(stats: StepStats, stats_path: str | os.PathLike, *tables: tuple) -> StepStats:
    """Write a step's tables, each `(rows, arrow schema, path)`, then its stats; log the summary."""
    for rows, schema, path in tables:
        write_parquet(pa.Table.from_pylist(rows, schema=schema), path)
    stats.write(stats_path)
    log.info(stats.summary())
    return stats
