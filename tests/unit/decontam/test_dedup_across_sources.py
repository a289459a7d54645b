"""Dedup source by source: a source's problems against each other and against the kept problems
of the sources before it; earlier decisions never change (issue 22, new data as new shards)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_neighbours import planted, search_cfg

from mathforge.decontam.dedup import near_duplicates
from mathforge.decontam.neighbours import cross_neighbours
from mathforge.decontam.stage import load_earlier, write_vectors
from mathforge.errors import InputError

pytest.importorskip("faiss")

SAME = "Find the remainder when 3^100 is divided by 7."


def unit(rows):
    a = np.asarray(rows, dtype=np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_a_new_problem_duplicating_an_earlier_kept_one_is_dropped_in_its_favour():
    earlier_texts = ["Compute the area of a circle of radius 2.", SAME]
    earlier = unit([[0, 0, 1], [1, 0.01, 0]])
    texts = [SAME + " (homework)", "Solve x^2 = 4.", SAME + "!"]
    vectors = unit([[1, 0.02, 0], [0, 1, 0], [1, 0.015, 0]])
    # row 2 would represent the new cluster by its key: the earlier problem wins regardless
    keys = [(True, "z"), (True, "b"), (False, "a")]
    drops = near_duplicates(texts, vectors, keys, threshold=0.9, certain=0.999, lexical_min=0.7,
                            earlier_texts=earlier_texts, earlier_vectors=earlier)  # fmt: skip
    assert [(d.row, d.representative) for d in drops] == [(0, 3 + 1), (2, 3 + 1)]
    alone = near_duplicates(texts, vectors, keys, threshold=0.9, certain=0.999, lexical_min=0.7)
    assert [(d.row, d.representative) for d in alone] == [(0, 2)]  # without the earlier source


def test_a_new_problem_bridging_two_earlier_ones_drops_only_itself_for_the_first():
    earlier = unit([[1, 0.3, 0], [1, -0.3, 0]])  # cosine ~0.83: both kept by their own source
    drops = near_duplicates(["bridge"], unit([[1, 0, 0]]), [(True, "n")], threshold=0.9, certain=0.9,
                            lexical_min=2.0, earlier_texts=["a", "b"], earlier_vectors=earlier)  # fmt: skip
    assert [(d.row, d.representative) for d in drops] == [(0, 1)]  # 1 + index 0: the first earlier row


@pytest.mark.parametrize("method", ["exact", "ann"])
def test_source_by_source_leaves_no_duplicate_pair_among_all_kept_problems(method):
    vectors, pairs = planted(3000, share=0.2, seed=3)
    texts = [f"problem {i}" for i in range(len(vectors))]
    cfg = search_cfg(method=method, ann={"nprobe": 32})
    kept: list[int] = []
    for part in np.array_split(np.arange(len(vectors)), 3):
        rows = part.tolist()
        drops = near_duplicates([texts[i] for i in rows], vectors[rows], [(False, f"{i:05d}") for i in rows],
                                threshold=0.9, certain=0.9, lexical_min=2.0, search=cfg,
                                earlier_texts=[texts[i] for i in kept], earlier_vectors=vectors[kept])  # fmt: skip
        dropped = {rows[d.row] for d in drops}
        kept += [i for i in rows if i not in dropped]
    assert len(kept) < len(vectors) - len(pairs) // 2  # the planted duplicates went
    scores = vectors[kept] @ vectors[kept].T
    np.fill_diagonal(scores, 0)
    left = int((scores >= 0.9).sum() // 2)
    assert left <= (0 if method == "exact" else len(pairs) // 100), left


def test_cross_neighbours_ann_finds_what_exact_finds():
    vectors, _ = planted(4000, share=0.2, seed=5)
    queries, index = vectors[3000:], vectors[:3000]
    exact_scores, exact_rows, used = cross_neighbours(queries, index, 5, search_cfg(method="exact"))
    ann_scores, ann_rows, used_ann = cross_neighbours(queries, index, 5, search_cfg(method="ann"))
    assert (used, used_ann) == ("exact", "ann")
    truth = {
        (q, int(r))
        for q in range(len(queries))
        for s, r in zip(exact_scores[q], exact_rows[q], strict=True)
        if s >= 0.9
    }
    found = {
        (q, int(r))
        for q in range(len(queries))
        for s, r in zip(ann_scores[q], ann_rows[q], strict=True)
        if s >= 0.9
    }
    assert truth and len(truth & found) >= 0.99 * len(truth)
    empty_scores, empty_rows, _ = cross_neighbours(queries, index[:0], 5, search_cfg())
    assert empty_scores.shape == (len(queries), 0) and empty_rows.shape == (len(queries), 0)


def test_earlier_sets_must_match_their_vectors_row_for_row(tmp_path):
    pq.write_table(pa.table({"problem_id": ["a", "b"], "problem": ["x", "y"]}), tmp_path / "set.parquet")
    write_vectors(unit([[1, 0], [0, 1]]), str(tmp_path / "vectors.npy"))
    earlier = load_earlier([str(tmp_path / "set.parquet")], [str(tmp_path / "vectors.npy")])
    assert earlier.ids == ["a", "b"] and earlier.vectors.shape == (2, 2)
    write_vectors(unit([[1, 0]]), str(tmp_path / "vectors.npy"))
    with pytest.raises(
        InputError, match=r"vectors\.npy.*2 vectors \(one per row of .*set\.parquet\), found 1"
    ):
        load_earlier([str(tmp_path / "set.parquet")], [str(tmp_path / "vectors.npy")])
