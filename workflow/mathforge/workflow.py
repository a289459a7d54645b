"""Helpers the Snakefile and rules call: paths, source lists, process environment, hooks.

Kept here (tested without Snakemake) so the .smk files stay declarative.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path

from mathforge.inference.models import managed_state_dirs
from mathforge.inference.processes import is_ancestor
from mathforge.inference.server import OWNER_ENV, stop_session_servers

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
# A source's own shard count of a per-source stage (null: the stage's n_shards).
PART_SHARD_KEYS = {"solutions": "solution_shards", "formal": "formal_shards"}


def prepare_environment() -> None:
    """Make the package importable by every job and mark this process as the run's owner.

    Jobs inherit the environment of the Snakemake process, so jobs of one run find the server
    that run owns. An inherited owner that is not an ancestor (e.g. a stale value) is replaced.
    """
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if str(PACKAGE_ROOT) not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in [str(PACKAGE_ROOT), *paths] if p)
    if str(PACKAGE_ROOT) not in sys.path:
        sys.path.insert(0, str(PACKAGE_ROOT))
    owner = os.environ.get(OWNER_ENV, "")
    if not (owner.isdigit() and is_ancestor(int(owner))):
        os.environ[OWNER_ENV] = str(os.getpid())


def stop_servers(config: dict) -> None:
    """onsuccess/onerror hook: stop the inference servers this Snakemake process owns."""
    if os.environ.get(OWNER_ENV) != str(os.getpid()):
        return
    # one managed server per distinct model: each model's state_dir holds the ones it started
    n = sum(stop_session_servers(Path(d)) for d in managed_state_dirs(config))
    if n:
        logging.getLogger("mathforge").info("stopped %d inference server(s)", n)


class Paths:
    """Every artifact path of one dataset, in one place (see shared notes: artifacts.md)."""

    def __init__(self, config: dict):
        self.config = config
        self.results = f"{config['results_dir']}/{config['dataset']}"
        self.logs = f"{config['logs_dir']}/{config['dataset']}"
        self.bench = f"{config['logs_dir']}/{config['dataset']}/benchmarks"
        self.cache = f"{self.results}/.requests"

    def sources(self, *formats: str) -> list[dict]:
        return [s for s in self.config["sources"] if not formats or s["format"] in formats]

    def source_names(self, *formats: str) -> list[str]:
        return [s["name"] for s in self.sources(*formats)]

    def source(self, name: str) -> dict:
        for s in self.config["sources"]:
            if s["name"] == name:
                return s
        raise KeyError(f"no source named {name!r} in config")

    def shard_files(self, pattern: str) -> list[str]:
        """`pattern` with {source} and {shard} filled for every source and its shards."""
        return [
            pattern.format(results=self.results, source=s["name"], shard=i)
            for s in self.config["sources"]
            for i in range(s["shards"])
        ]

    def part_shards(self, source: dict, stage: str) -> int:
        """Shards of one source in `stage` (solutions or formal): the source's own
        `solution_shards` / `formal_shards`, else the stage's `n_shards`."""
        own = source.get(PART_SHARD_KEYS[stage])
        return self.config[stage]["n_shards"] if own is None else own

    def parts(self, stage: str) -> list[tuple[str, int]]:
        """(source, shard) of every job of a per-source stage: `solutions`, `formal`, or `proofs`
        (formal's parts, then each statement table's formal.n_shards shards), sources in config
        order. A new source adds parts and changes none (new data never reruns old shards)."""
        base = "formal" if stage == "proofs" else stage
        parts = [(s["name"], k) for s in self.config["sources"] for k in range(self.part_shards(s, base))]
        if stage == "proofs":
            n = self.config["formal"]["n_shards"]
            parts += [(t["name"], k) for t in self.config["proofs"]["statement_tables"] for k in range(n)]
        return parts

    def part_files(self, pattern: str, stage: str) -> list[str]:
        """`pattern` (with {source} and {shard}; relative to results/<dataset>/) for every part of `stage`."""
        return [f"{self.results}/{pattern.format(source=s, shard=k)}" for s, k in self.parts(stage)]

    def earlier_sources(self, name: str) -> list[str]:
        """The sources listed before `name`: their kept problems win semantic dedup over its own."""
        names = self.source_names()
        return names[: names.index(name)]

    def wildcard_pattern(self, names: list[str]) -> str:
        """A regex matching exactly these names (or nothing, when there are none)."""
        return "|".join(map(re.escape, names)) or "(?!x)x"
