"""Stable identifiers and shard assignment.

Ids are content hashes, created once and carried everywhere. Shards are chosen from ids with a
modulus, so adding problems never moves an existing problem to another shard.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata

_WS = re.compile(r"\s+")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_json(value: object) -> str:
    """JSON with sorted keys and no whitespace: equal values give equal strings (and hashes)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def normalize_for_id(text: str) -> str:
    """Unicode NFKC, case-folded, whitespace collapsed: formatting noise must not change an id."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def thread_uid(source: str, thread_id: str) -> str:
    return f"{source}:{thread_id}"


def problem_id(problem: str, source: str, thread_id: str) -> str:
    """Hash of the normalized problem text plus its provenance (16 hex chars = 64 bits)."""
    key = "\x1f".join([source, thread_id, normalize_for_id(problem)])
    return sha256_hex(key)[:16]


def shard_of(key: str, n_shards: int) -> int:
    """The shard a key belongs to; depends only on the key and the shard count."""
    if n_shards < 1:
        raise ValueError(f"n_shards must be >= 1, got {n_shards}")
    return int(sha256_hex(key)[:16], 16) % n_shards
