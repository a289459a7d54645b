"""Semantic dedup of the training set: near-duplicate problems collapse to one representative.

A pair is a duplicate when its embedding similarity is at least `certain`, or at least
`threshold` and the normalized texts agree lexically (rapidfuzz token-set ratio >= `lexical_min`).
Pairs are joined into clusters (union-find); the representative is chosen deterministically:
a row with an expected answer first, then the smallest problem_id. The neighbours examined come
from `neighbours.self_neighbours`: exact all-pairs search for small N, an approximate (IVF) index
above `exact_max_rows`; nothing here is quadratic in N or in a cluster's size.

Sources are deduplicated one at a time, in config order: a source's problems are also searched
against the kept problems of the sources before it (`neighbours.cross_neighbours`), and a cluster
that holds one of those keeps it. Earlier decisions never change, so a new source (new data) is
deduplicated without rerunning the old ones, and the result equals a rebuild from scratch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz

from mathforge.decontam.neighbours import cross_neighbours, self_neighbours
from mathforge.normalized_text import normalize_text


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


def _default_search() -> dict:
    """The schema's dedup search defaults (a call without config: tests, benchmarks)."""
    from mathforge.config import validate_config

    return validate_config({})["decontam"]["dedup"]


def near_duplicates(
    texts: list[str],
    vectors: np.ndarray,
    rank_keys: list[tuple],
    *,
    threshold: float,
    certain: float,
    lexical_min: float,
    k: int = 10,
    search: dict | None = None,
    earlier_texts: list[str] = (),
    earlier_vectors: np.ndarray | None = None,
) -> list[Duplicate]:
    """Rows to drop, each with the row it duplicates; `rank_keys[i]` orders representatives (min wins).

    `earlier_texts`/`earlier_vectors` are problems already kept (earlier sources'): they are never
    dropped, and a row in a cluster with one of them is dropped in favour of the first of them
    (its `representative` is then len(texts) + its index among the earlier rows). `search` is the
    dedup config's search part (method, exact_max_rows, memory_mb, ann).
    """
    search = search or _default_search()
    n_earlier = len(earlier_texts)
    if len(texts) < 2 and not (texts and n_earlier):
        return []
    scores, neighbours, _method = self_neighbours(vectors, k + 1, search)
    if n_earlier:
        cross_scores, cross_rows, _ = cross_neighbours(vectors, earlier_vectors, k, search)
        scores = np.concatenate([scores, cross_scores], axis=1)
        neighbours = np.concatenate(
            [neighbours, np.where(cross_rows >= 0, cross_rows + len(texts), -1)], axis=1
        )
    return duplicates_from_neighbours(
        [*texts, *earlier_texts], scores, neighbours, rank_keys,
        threshold=threshold, certain=certain, lexical_min=lexical_min, n_earlier=n_earlier,
    )  # fmt: skip


def duplicates_from_neighbours(
    texts: list[str],
    scores: np.ndarray,
    neighbours: np.ndarray,
    rank_keys: list[tuple],
    *,
    threshold: float,
    certain: float,
    lexical_min: float,
    n_earlier: int = 0,
) -> list[Duplicate]:
    """`near_duplicates` given each new row's neighbours (rows and cosines, as `self_neighbours`
    gives); the last `n_earlier` of `texts` are the earlier, kept rows (no neighbour lists)."""
    n = len(texts)
    n_new = n - n_earlier
    parent = list(range(n))
    best = _duplicate_evidence(texts, scores, neighbours, parent, threshold, certain, lexical_min)
    clusters: dict[int, list[int]] = {}
    for i in range(n_new):
        clusters.setdefault(_find(parent, i), []).append(i)
    earliest: dict[int, int] = {}  # roots are new rows (a union keeps the smaller root)
    for e in range(n_new, n):
        root = _find(parent, e)
        if root in clusters:
            earliest[root] = min(earliest.get(root, e), e)
    drops = []
    for root, members in clusters.items():
        if root in earliest:
            rep, dropped = earliest[root], members
        elif len(members) < 2:
            continue
        else:
            rep = min(members, key=lambda m: rank_keys[m])
            dropped = [m for m in members if m != rep]
        for m in dropped:
            score, lexical = best[m][:2]
            drops.append(Duplicate(row=m, representative=rep, score=score, lexical=lexical))
    return sorted(drops, key=lambda d: d.row)


def _duplicate_evidence(texts, scores, neighbours, parent, threshold, certain, lexical_min) -> dict:
    """Union the duplicate pairs into `parent`; per row, its strongest pair (score, lexical, partner).

    The strongest pair is the highest cosine, ties to the smaller partner row: every pair of a row
    lies inside its cluster, so this is the best evidence between the row and its cluster.
    """
    normalized: dict[int, str] = {}
    seen: set[tuple[int, int]] = set()
    best: dict[int, tuple[float, float, int]] = {}
    for i in range(len(scores)):  # the new rows (earlier rows have no neighbour lists)
        for score, j in zip(scores[i], neighbours[i], strict=True):
            j = int(j)
            if j < 0 or j == i or score < threshold:
                continue
            a, b = min(i, j), max(i, j)
            if (a, b) in seen:
                continue
            seen.add((a, b))
            for row in (a, b):
                if row not in normalized:
                    normalized[row] = normalize_text(texts[row])
            lexical = fuzz.token_set_ratio(normalized[a], normalized[b]) / 100.0
            if score >= certain or lexical >= lexical_min:
                for row, partner in ((a, b), (b, a)):
                    held = best.get(row)
                    if held is None or (score, -partner) > (held[0], -held[2]):
                        best[row] = (float(score), lexical, partner)
                ra, rb = _find(parent, a), _find(parent, b)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    return best
