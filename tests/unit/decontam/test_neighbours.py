"""Dedup's neighbour search: auto is exact on small data, the ANN index finds planted duplicates,
is deterministic, reads memory-maps in chunks, and never changes a found pair's score."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from mathforge.config import validate_config
from mathforge.decontam.dedup import near_duplicates
from mathforge.decontam.dense import top_k
from mathforge.decontam.neighbours import auto_nlist, exact_chunk_rows, resolve_method, self_neighbours

pytest.importorskip("faiss")


def search_cfg(**over) -> dict:
    cfg = copy.deepcopy(validate_config({})["decontam"]["dedup"])
    ann = over.pop("ann", {})
    cfg.update(over)
    cfg["ann"].update(ann)
    return cfg


def planted(n: int, dim: int = 32, share: float = 0.1, seed: int = 0):
    """Clustered unit vectors; about `share` of rows are moved to cosine 0.90-0.995 of an earlier row."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(2, n // 100), dim))
    vectors = 0.6 * centres[rng.integers(0, len(centres), n)] / np.sqrt(dim) + 0.8 * rng.standard_normal(
        (n, dim)
    ) / np.sqrt(dim)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    pairs = []
    for row in np.flatnonzero(rng.random(n) < share):
        if row == 0:
            continue
        original = int(rng.integers(0, row))
        cos = rng.uniform(0.90, 0.995)
        noise = rng.standard_normal(dim)
        noise -= (noise @ vectors[original]) * vectors[original]
        moved = vectors[original] + np.sqrt(1 / cos**2 - 1) * noise / np.linalg.norm(noise)
        vectors[row] = moved / np.linalg.norm(moved)
        pairs.append((original, int(row)))
    return vectors.astype(np.float32), pairs


def pairs_above(scores, rows, threshold) -> set[tuple[int, int]]:
    found = set()
    for i in range(len(rows)):
        for s, j in zip(scores[i], rows[i], strict=True):
            if j >= 0 and j != i and s >= threshold:
                found.add((min(i, int(j)), max(i, int(j))))
    return found


def test_auto_is_exact_up_to_the_threshold_and_identical_to_top_k():
    vectors, _ = planted(500)
    cfg = search_cfg(exact_max_rows=500)
    assert resolve_method(500, cfg) == "exact" and resolve_method(501, cfg) == "ann"
    scores, rows, method = self_neighbours(vectors, 11, cfg)
    want_scores, want_rows = top_k(vectors, vectors, 11)
    assert method == "exact"
    assert (rows == want_rows).all() and (scores == want_scores).all()


def test_exact_chunking_by_memory_does_not_change_results():
    vectors, _ = planted(300)
    assert exact_chunk_rows(300, 16) > 300 and exact_chunk_rows(10**6, 16) == 1
    a = self_neighbours(vectors, 5, search_cfg(method="exact", memory_mb=16))
    b = top_k(vectors, vectors, 5, chunk=7)
    assert (a[1] == b[1]).all() and (a[0] == b[0]).all()


def test_ann_recall_of_planted_duplicates_and_exact_scores():
    vectors, truth = planted(6000, share=0.05)
    exact_scores, exact_rows, _ = self_neighbours(vectors, 11, search_cfg(method="exact"))
    scores, rows, method = self_neighbours(vectors, 11, search_cfg(method="ann", ann={"nprobe": 8}))
    assert method == "ann" and auto_nlist(6000) == 150
    exact_pairs, ann_pairs = pairs_above(exact_scores, exact_rows, 0.9), pairs_above(scores, rows, 0.9)
    assert set(truth) <= exact_pairs
    assert len(ann_pairs & exact_pairs) / len(exact_pairs) >= 0.99
    # Found pairs carry their exact float32 cosine, best first (ties by row).
    valid = rows >= 0
    direct = np.einsum("nd,nkd->nk", vectors, vectors[np.where(valid, rows, 0)])
    assert np.allclose(scores[valid], direct[valid], atol=1e-6)
    assert np.all(np.diff(np.where(valid, scores, -2.0), axis=1) <= 0)


def test_ann_is_deterministic_and_reads_a_float16_memory_map(tmp_path):
    vectors, _ = planted(3000, share=0.05, seed=1)
    cfg = search_cfg(method="ann", memory_mb=16, ann={"train_rows": 1000})
    first = self_neighbours(vectors, 6, cfg)
    second = self_neighbours(vectors.copy(), 6, cfg)
    assert (first[1] == second[1]).all() and (first[0] == second[0]).all()
    path = tmp_path / "v.npy"
    np.save(path, vectors.astype(np.float16))
    mapped = np.load(path, mmap_mode="r")
    half = self_neighbours(mapped, 6, search_cfg(method="ann", memory_mb=16, ann={"storage": "float32"}))
    exact = self_neighbours(vectors, 6, search_cfg(method="exact"))
    assert len(pairs_above(*half[:2], 0.9) & pairs_above(*exact[:2], 0.9)) >= 0.99 * len(
        pairs_above(*exact[:2], 0.9)
    )


def test_near_duplicates_ann_matches_exact_on_planted_set():
    vectors, truth = planted(4000, share=0.05, seed=2)
    texts = [f"Problem {i}: solve x^2 = {i} mod {i % 7 + 3}." for i in range(len(vectors))]
    for original, row in truth:
        texts[row] = texts[original] + " Thanks!"
    keys = [(False, i) for i in range(len(vectors))]
    kwargs = {"threshold": 0.9, "certain": 0.97, "lexical_min": 0.7}
    exact = near_duplicates(texts, vectors, keys, **kwargs, search=search_cfg(method="exact"))
    ann = near_duplicates(texts, vectors, keys, **kwargs, search=search_cfg(method="ann"))
    exact_drops = {(d.row, d.representative) for d in exact}
    assert {row for _, row in truth} <= {d.row for d in exact}
    assert len({(d.row, d.representative) for d in ann} & exact_drops) >= 0.99 * len(exact_drops)
    assert all(d.representative < d.row and d.score >= 0.9 for d in ann)


def reference_near_duplicates(texts, vectors, keys, threshold, certain, lexical_min, k=10):
    """The pre-ANN implementation (all-pairs top-k, best evidence scanned per cluster member)."""
    from rapidfuzz import fuzz

    from mathforge.normalized_text import normalize_text

    n = len(texts)
    scores, neighbours = top_k(vectors, vectors, k + 1)
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    evidence = {}
    for i in range(n):
        for score, j in zip(scores[i], neighbours[i], strict=True):
            a, b = min(i, int(j)), max(i, int(j))
            if a == b or score < threshold or (a, b) in evidence:
                continue
            lexical = fuzz.token_set_ratio(normalize_text(texts[a]), normalize_text(texts[b])) / 100.0
            if score >= certain or lexical >= lexical_min:
                evidence[(a, b)] = (float(score), lexical)
                ra, rb = find(a), find(b)
                parent[max(ra, rb)] = min(ra, rb)
    clusters = {}
    for i in range(n):
        clusters.setdefault(find(i), []).append(i)
    drops = []
    for members in clusters.values():
        rep = min(members, key=lambda m: keys[m])
        for m in members:
            if m != rep:
                best = max(
                    (evidence.get((min(m, o), max(m, o))) for o in members if o != m),
                    key=lambda e: e[0] if e else -1.0,
                )
                drops.append((m, rep, *best))
    return sorted(drops)


def test_small_data_gives_exactly_the_pre_ann_result():
    vectors, truth = planted(1500, share=0.15, seed=3)
    texts = [f"Problem {i}: solve x^2 = {i} mod {i % 7 + 3}." for i in range(len(vectors))]
    for original, row in truth[::2]:
        texts[row] = texts[original] + " Thanks!"  # the other half fails the lexical check
    keys = [(i % 3 == 0, f"id{i % 11}-{i}") for i in range(len(vectors))]
    kwargs = {"threshold": 0.9, "certain": 0.97, "lexical_min": 0.7}
    got = near_duplicates(texts, vectors, keys, **kwargs)  # schema defaults: auto -> exact here
    want = reference_near_duplicates(texts, vectors, keys, **kwargs)
    assert len(want) > 50
    assert [(d.row, d.representative, d.score, d.lexical) for d in got] == want
