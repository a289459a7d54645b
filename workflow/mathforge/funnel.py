"""Counting what every step keeps and drops, and why: the one summary type every stage writes
(`<artifact>.summary.json`), and the one reader the funnel, the run statistics and the cards use.

A summary adds up over the shards of its step (`a + b`, like datatrove's `Stats`): rows in and
out, drops per reason and the stage's `counters` (numbers, or nested mappings of numbers) add;
`notes` (settings, hashes, reports: what does not add) are kept where the shards agree."""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa

from mathforge.errors import InputError
from mathforge.io import write_json, write_parquet

log = logging.getLogger(__name__)

SUFFIX = ".summary.json"  # every step's summary is `<artifact>.summary.json`
KEYS = ("step", "n_in", "n_out", "dropped", "counters", "notes")


def add_counts(total: dict, more: dict) -> dict:
    """`total` plus `more`, key by key (numbers add, mappings recurse), in first-seen key order."""
    out = dict(total)
    for key, value in more.items():
        if key not in out:
            out[key] = value
        elif isinstance(value, dict) and isinstance(out[key], dict):
            out[key] = add_counts(out[key], value)
        elif _is_number(value) and _is_number(out[key]):
            out[key] = out[key] + value
        else:
            raise ValueError(f"counter {key!r}: cannot add {out[key]!r} and {value!r}")
    return out


def _is_number(value) -> bool:
    return isinstance(value, int | float)  # bool too: a Counter started with a flag holds True/False


@dataclass
class StepStats:
    step: str
    n_in: int = 0
    n_out: int = 0
    dropped: Counter = field(default_factory=Counter)
    counters: dict = field(default_factory=dict)  # numbers or nested mappings of numbers: they add
    notes: dict = field(default_factory=dict)  # what does not add (settings, hashes, one job's report)

    def drop(self, reason: str, n: int = 1) -> None:
        self.dropped[reason] += n

    def details(self) -> dict:
        """The stage's own numbers and notes in one mapping (for reports that read them by name)."""
        return {**self.counters, **self.notes}

    def __add__(self, other: StepStats) -> StepStats:
        """Two shards of one step added up; notes the shards disagree on describe one shard, so
        the sum leaves them out."""
        if other.step != self.step:
            raise ValueError(f"cannot add summaries of different steps: {self.step!r} + {other.step!r}")
        notes = {k: v for k, v in self.notes.items() if k not in other.notes or other.notes[k] == v}
        notes.update({k: v for k, v in other.notes.items() if k not in self.notes})
        return StepStats(
            self.step,
            self.n_in + other.n_in,
            self.n_out + other.n_out,
            self.dropped + other.dropped,
            add_counts(self.counters, other.counters),
            notes,
        )

    def to_dict(self) -> dict:
        return {
            "step": self.step,
            "n_in": self.n_in,
            "n_out": self.n_out,
            "dropped": dict(sorted(self.dropped.items())),
            "counters": self.counters,
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, data: dict, where: str = "summary") -> StepStats:
        if not isinstance(data, dict) or set(data) != set(KEYS):
            got = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise InputError(where, None, f"not a step summary (want keys {list(KEYS)}, got {got})")
        counts = Counter(data["dropped"])
        return cls(data["step"], data["n_in"], data["n_out"], counts, data["counters"], data["notes"])

    def summary(self) -> str:
        drops = ", ".join(f"{k}={v}" for k, v in sorted(self.dropped.items())) or "none"
        return f"{self.step}: in={self.n_in} out={self.n_out} dropped: {drops}"

    def write(self, path: str | os.PathLike) -> None:
        write_json(self.to_dict(), path)


def summary_path(artifact: str | os.PathLike) -> str:
    """The summary file of a step's artifact: `shard-0.parquet` -> `shard-0.summary.json`."""
    root, ext = os.path.splitext(str(artifact))
    return (root if ext in (".parquet", ".json") else str(artifact)) + SUFFIX


def read_summary(path: str | os.PathLike) -> StepStats:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as e:
        raise InputError(path, f"line {e.lineno}", f"not JSON ({e.msg})") from e
    return StepStats.from_dict(data, str(path))


def read_summaries(paths: list[str]) -> list[StepStats]:
    return [read_summary(p) for p in paths]


def by_step(summaries: list[StepStats]) -> dict[str, StepStats]:
    """{step: the step's shards added up}, in the order the steps first appear."""
    steps: dict[str, StepStats] = {}
    for s in summaries:
        steps[s.step] = steps[s.step] + s if s.step in steps else s
    return steps


def write_step(stats: StepStats, stats_path: str | os.PathLike, *tables: tuple) -> StepStats:
    """Write a step's tables, each `(rows, arrow schema, path)`, then its stats; log the summary."""
    for rows, schema, path in tables:
        write_parquet(pa.Table.from_pylist(rows, schema=schema), path)
    stats.write(stats_path)
    log.info(stats.summary())
    return stats
