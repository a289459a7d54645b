"""Semantic dedup of the training set: near-duplicate problems collapse to one representative.

A pair is a duplicate when its embedding similarity is at least `certain`, or at least
`threshold` and the normalized texts agree lexically (rapidfuzz token-set ratio >= `lexical_min`).
Pairs are joined into clusters (union-find); the representative is chosen deterministically:
a row with an expected answer first, then the smallest problem_id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz

from mathforge.decontam.dense import top_k
from mathforge.decontam.normalize import normalize_text


@dataclass
class Duplicate:
    row: int
    representative: int
    score: float
    lexical: float


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def near_duplicates(
    texts: list[str],
    vectors: np.ndarray,
    rank_keys: list[tuple],
    *,
    threshold: float,
    certain: float,
    lexical_min: float,
    k: int = 10,
    chunk: int = 4096,
) -> list[Duplicate]:
    """Rows to drop, each with the row it duplicates; `rank_keys[i]` orders representatives (min wins)."""
    n = len(texts)
    if n < 2:
        return []
    scores, neighbours = top_k(vectors, vectors, k + 1, chunk=chunk)
    normalized: dict[int, str] = {}
    parent = list(range(n))
    evidence: dict[tuple[int, int], tuple[float, float]] = {}
    for i in range(n):
        for score, j in zip(scores[i], neighbours[i], strict=True):
            j = int(j)
            if j == i or score < threshold:
                continue
            a, b = min(i, j), max(i, j)
            if (a, b) in evidence:
                continue
            for row in (a, b):
                if row not in normalized:
                    normalized[row] = normalize_text(texts[row])
            lexical = fuzz.token_set_ratio(normalized[a], normalized[b]) / 100.0
            if score >= certain or lexical >= lexical_min:
                evidence[(a, b)] = (float(score), lexical)
                ra, rb = _find(parent, a), _find(parent, b)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    clusters: dict[int, list[int]] = {}
    for i in range(n):
        clusters.setdefault(_find(parent, i), []).append(i)
    drops = []
    for members in clusters.values():
        if len(members) < 2:
            continue
        rep = min(members, key=lambda m: rank_keys[m])
        for m in sorted(members):
            if m == rep:
                continue
            best = max(
                (evidence.get((min(m, o), max(m, o))) for o in members if o != m),
                key=lambda e: e[0] if e else -1.0,
            )
            score, lexical = best if best else (float(vectors[m] @ vectors[rep]), 0.0)
            drops.append(Duplicate(row=m, representative=rep, score=score, lexical=lexical))
    return sorted(drops, key=lambda d: d.row)
