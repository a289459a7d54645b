"""Proof checks at scale: `check_proof` over a thread pool, with a resumable verdict cache.

Lean is the slow part of the prover loop (seconds per check with Mathlib), so every verdict is
appended to a side file keyed by what decides it (Lean setup, header, statement, proof); a
killed job, or a rebuild after a downstream change, re-checks nothing it has already checked.
Infrastructure failures are never cached.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from mathforge.ids import canonical_json, sha256_hex
from mathforge.inference.store import RequestStore
from mathforge.lean.messages import LeanMessage
from mathforge.lean.source import DEFAULT_DENYLIST
from mathforge.lean.verify import PROOF_CHECK_VERSION, LeanVerdict, check_proof


def lean_identity(lean_cfg: dict) -> dict:
    """The Lean settings a verdict depends on."""
    keys = (
        "backend",
        "command",
        "repl_command",
        "url",
        "project_dir",
        "timeout_s",
        "memory_mb",
        "allowed_axioms",
    )
    return {k: lean_cfg.get(k) for k in keys}


def verdict_from_dict(data: dict) -> LeanVerdict:
    return LeanVerdict(
        data["status"], [LeanMessage(**m) for m in data["messages"]], data.get("reason"),
        data.get("axioms"), data.get("seconds", 0.0), data.get("source", ""), data.get("code"),
        data.get("code_offset"),
    )  # fmt: skip


class ProofChecker:
    def __init__(self, backend, lean_cfg: dict, cache_path: str | os.PathLike | None = None):
        self.backend = backend
        self.allowed_axioms = tuple(lean_cfg["allowed_axioms"])
        self.denylist = DEFAULT_DENYLIST
        self.lean_cfg = lean_cfg
        self.workers = lean_cfg["workers"]
        self.timeout_s = lean_cfg["timeout_s"]
        self._lock = threading.Lock()  # checks run in threads; the store and counters are shared
        self.identity = lean_identity(lean_cfg)
        self.store = RequestStore(cache_path) if cache_path else None
        self.cached = self.checked = 0
        self.seconds = 0.0  # Lean time of the checks run here (not of cached ones)

    def key(self, header: str, statement: str, proof: str) -> str:
        return sha256_hex(
            canonical_json(
                [PROOF_CHECK_VERSION, self.identity, list(self.denylist), header, statement, proof]
            )
        )

    def check(self, header: str, statement: str, proof: str) -> LeanVerdict:
        key = self.key(header, statement, proof)
        with self._lock:
            if self.store is not None and key in self.store:
                self.cached += 1
                return verdict_from_dict(self.store.get(key))
        verdict = check_proof(self.backend, header, statement, proof, self.allowed_axioms, self.denylist)
        with self._lock:
            self.checked += 1
            self.seconds += verdict.seconds
            if self.store is not None and verdict.status != "infra_error":
                self.store.add({"key": key, **verdict.to_dict(), "source": verdict.source})
        return verdict

    def check_many(self, items: list[tuple[str, str, str]]) -> list[LeanVerdict]:
        """Verdicts for (header, statement, proof) items, `lean.workers` checks at a time, or on
        Slurm array tasks for a large batch when `lean.fanout` is enabled."""
        fanout = self.lean_cfg.get("fanout") or {}
        if fanout.get("enabled"):
            keys = [self.key(*item) for item in items]
            todo = sorted(
                {k: i for i, k in enumerate(keys) if self.store is None or k not in self.store}.values()
            )
            if len(todo) >= fanout["min_items"]:
                from mathforge.lean.fanout import check_on_slurm

                done = check_on_slurm(self.lean_cfg, [items[i] for i in todo])
                fresh = dict(zip([keys[i] for i in todo], done, strict=True))
                with self._lock:
                    for key, data in fresh.items():
                        self.checked += 1
                        self.seconds += data.get("seconds", 0.0)
                        if self.store is not None and data["status"] != "infra_error":
                            self.store.add({"key": key, **data})
                return [
                    verdict_from_dict(fresh[k]) if k in fresh else self.check(*item)
                    for k, item in zip(keys, items, strict=True)
                ]
        if len(items) <= 1 or self.workers <= 1:
            return [self.check(*item) for item in items]
        with ThreadPoolExecutor(self.workers) as pool:
            return list(pool.map(lambda item: self.check(*item), items))

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
