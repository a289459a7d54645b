"""Chunked top-k is exact and deterministic; dedup clusters and picks representatives by rule."""

from __future__ import annotations

import numpy as np

from mathforge.decontam.dedup import near_duplicates
from mathforge.decontam.dense import EmbeddingCache, top_k


def unit(rows):
    a = np.asarray(rows, dtype=np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_top_k_matches_brute_force_in_any_chunking():
    rng = np.random.default_rng(0)
    q, idx = unit(rng.standard_normal((50, 16))), unit(rng.standard_normal((200, 16)))
    brute = np.argsort(-(q @ idx.T), axis=1, kind="stable")[:, :5]
    for chunk in (1, 7, 50, 1000):
        scores, found = top_k(q, idx, 5, chunk=chunk)
        assert (found == brute).all()
        assert np.all(np.diff(scores, axis=1) <= 0)


def test_top_k_ties_come_out_by_index():
    idx = unit([[1, 0], [1, 0], [0, 1], [1, 0]])
    _scores, found = top_k(unit([[1, 0]]), idx, 3)
    assert found.tolist() == [[0, 1, 3]]


def test_near_duplicates_cluster_and_representative_rule():
    texts = [
        "Find the remainder when 3^100 is divided by 7.",
        "Find the remainder when 3^100 is divided by 7 (homework).",
        "Compute the area of a circle of radius 2.",
        "Find the remainder when 3^100 is divided by 7!",
    ]
    vectors = unit([[1, 0.01, 0], [1, 0.02, 0], [0, 0, 1], [1, 0.015, 0]])
    # Row 1 has an expected answer: it represents the cluster although its id is larger.
    keys = [(True, "a"), (False, "d"), (True, "b"), (True, "c")]
    drops = near_duplicates(texts, vectors, keys, threshold=0.9, certain=0.999, lexical_min=0.7)
    assert [(d.row, d.representative) for d in drops] == [(0, 1), (3, 1)]


def test_similar_vectors_but_different_text_are_kept():
    texts = ["Find the remainder when 3^100 is divided by 7.", "How many ways can 5 people sit in a row?"]
    vectors = unit([[1, 0.01], [1, 0.02]])
    drops = near_duplicates(
        texts, vectors, [(False, "a"), (False, "b")], threshold=0.9, certain=0.99999, lexical_min=0.7
    )
    assert drops == []


def test_embedding_cache_round_trip(tmp_path):
    cache = EmbeddingCache(tmp_path / "e.db")
    cache.put_many([("k1", np.array([1.0, 2.0], dtype=np.float32))])
    got = cache.get_many(["k1", "k2"])
    cache.close()
    assert list(got) == ["k1"] and got["k1"].tolist() == [1.0, 2.0]
