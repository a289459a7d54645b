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

    def wildcard_pattern(self, names: list[str]) -> str:
        """A regex matching exactly these names (or nothing, when there are none)."""
        return "|".join(map(re.escape, names)) or "(?!x)x"
