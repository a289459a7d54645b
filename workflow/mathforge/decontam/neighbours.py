"""Nearest neighbours of every row among all rows (the self-search of semantic dedup).

exact: chunked all-pairs top-k (`dense.top_k`): time O(N^2); memory bounded by `memory_mb`
(one chunk of chunk x N scores), never an N x N matrix.
ann: a faiss inverted-file index (IVF): k-means cells trained on a seeded sample, every row is
stored in its cell, and each query scans its `nprobe` nearest cells. The index stores vectors as
float16 or float32; the candidates it returns are re-scored in float32 from the input, so a pair's
score is the exact cosine whichever way it was found. Time ~O(N * nprobe * N / nlist).
auto: exact up to `exact_max_rows` (results identical to exact search), ann above.

Rows must be unit-norm (cosine = inner product). `vectors` may be a float16/float32 memory-map:
it is read in chunks, so only the index and one chunk are held in memory.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from mathforge.decontam.dense import top_k

log = logging.getLogger(__name__)

# Bytes per score cell of one exact chunk: float32 scores + the int64 argpartition result.
_EXACT_CELL_BYTES = 12


def resolve_method(n: int, cfg: dict) -> str:
    """`exact` or `ann` for `n` rows under the dedup config's `method` / `exact_max_rows`."""
    method = cfg["method"]
    if method == "auto":
        return "exact" if n <= cfg["exact_max_rows"] else "ann"
    if method not in ("exact", "ann"):
        raise ValueError(f"decontam.dedup.method: expected exact, ann or auto, got {method!r}")
    return method


def exact_chunk_rows(n: int, memory_mb: int) -> int:
    """Query rows per exact chunk so that one chunk's scores fit in `memory_mb`."""
    return max(1, int(memory_mb * 2**20 // (_EXACT_CELL_BYTES * max(n, 1))))


def auto_nlist(n: int) -> int:
    """About 4 * sqrt(N) cells (faiss' guidance for IVF), at least ~40 training rows per cell."""
    return max(1, min(int(4 * math.sqrt(n)), n // 40))


def self_neighbours(vectors: np.ndarray, k: int, cfg: dict) -> tuple[np.ndarray, np.ndarray, str]:
    """Top-k (cosine, row) per row among all rows (itself included), best first, ties by row.

    Returns (scores float32 [N, k], rows int64 [N, k], method used). With ann, a row may have
    fewer than k neighbours found; missing slots hold row -1 and score -inf.
    """
    n = vectors.shape[0]
    method = resolve_method(n, cfg)
    start = time.perf_counter()
    if method == "exact":
        full = np.ascontiguousarray(vectors, dtype=np.float32)
        scores, rows = top_k(full, full, k, chunk=exact_chunk_rows(n, cfg["memory_mb"]))
    else:
        scores, rows = ann_self_neighbours(vectors, k, cfg["ann"], cfg["memory_mb"])
    log.info(
        "dedup neighbours: %s search of %d rows, k=%d, %.1f s", method, n, k, time.perf_counter() - start
    )
    return scores, rows, method


def _chunks(n: int, size: int):
    for start in range(0, n, size):
        yield start, min(n, start + size)


def _as_f32(block: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(block, dtype=np.float32)


def train_ivf_index(vectors: np.ndarray, acfg: dict):
    """An empty faiss IVF index (inner product) with its cells trained on a seeded sample."""
    import faiss

    n, dim = vectors.shape
    nlist = min(acfg["nlist"] or auto_nlist(n), n)
    quantizer = faiss.IndexFlatIP(dim)
    if acfg["storage"] == "float16":
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, dim, nlist, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
    else:
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = acfg["seed"]
    index.cp.niter = acfg["kmeans_iterations"]
    # The training sample is drawn here (seeded, sorted) so faiss never subsamples on its own.
    train_rows = min(n, max(acfg["train_rows"], 40 * nlist))
    index.cp.max_points_per_centroid = math.ceil(train_rows / nlist)
    sample = np.sort(np.random.default_rng(acfg["seed"]).choice(n, size=train_rows, replace=False))
    index.train(_as_f32(vectors[sample]))
    index.nprobe = min(acfg["nprobe"], nlist)
    log.info("dedup ann index: nlist=%d nprobe=%d trained on %d rows", nlist, index.nprobe, train_rows)
    return index


def fill_ivf_index(index, vectors: np.ndarray, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """Add every row to its nearest cell; returns each row's `nprobe` nearest cells (ids, cosines).

    Every row is also a query: its cells are computed once, for adding and for searching.
    """
    from faiss import swig_ptr

    n = vectors.shape[0]
    cells = np.empty((n, index.nprobe), dtype=np.int64)
    cell_scores = np.empty((n, index.nprobe), dtype=np.float32)
    for start, end in _chunks(n, chunk):
        block = _as_f32(vectors[start:end])
        cell_scores[start:end], cells[start:end] = index.quantizer.search(block, index.nprobe)
        nearest = np.ascontiguousarray(cells[start:end, 0])
        index.add_core(end - start, swig_ptr(block), None, swig_ptr(nearest))
    return cells, cell_scores


def _rescore(queries: np.ndarray, vectors: np.ndarray, found: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact float32 cosines of the found rows, sorted best first, ties by row; -1 slots last."""
    valid = found >= 0
    flat = np.where(valid, found, 0).ravel()
    order = np.argsort(flat, kind="stable")  # ascending rows: sequential reads of a memory-map
    gathered = np.empty((flat.size, queries.shape[1]), dtype=np.float32)
    gathered[order] = vectors[flat[order]]
    gathered = gathered.reshape(*found.shape, queries.shape[1])
    scores = np.einsum("qd,qkd->qk", queries, gathered)
    scores = np.where(valid, scores, -np.inf).astype(np.float32)
    rows = np.where(valid, found, np.iinfo(np.int64).max)
    order = np.lexsort((rows, -scores), axis=1)
    rows = np.take_along_axis(rows, order, axis=1)
    return np.take_along_axis(scores, order, axis=1), np.where(rows == np.iinfo(np.int64).max, -1, rows)


def ann_chunk_rows(memory_mb: int, k: int, dim: int) -> int:
    """Query rows per approximate chunk: each holds its float32 rows and the k float32 neighbour
    rows gathered to re-score them, within `memory_mb`."""
    return max(1, int(memory_mb * 2**20 // ((k + 1) * dim * 4 * 2)))


def cross_neighbours(
    queries: np.ndarray, index_vectors: np.ndarray, k: int, cfg: dict
) -> tuple[np.ndarray, np.ndarray, str]:
    """Top-k (cosine, row of `index_vectors`) per query row, best first, ties by row: the new
    problems against the kept problems of earlier sources. Exact up to `exact_max_rows` index rows
    (method auto), else an IVF index of `index_vectors`, candidates re-scored in float32."""
    n, q = index_vectors.shape[0], queries.shape[0]
    if n == 0 or q == 0:
        return np.zeros((q, 0), np.float32), np.zeros((q, 0), np.int64), "none"
    method = resolve_method(n, cfg)
    start = time.perf_counter()
    k = min(k, n)
    if method == "exact":
        scores, rows = top_k(
            _as_f32(queries), _as_f32(index_vectors), k, chunk=exact_chunk_rows(n, cfg["memory_mb"])
        )
    else:
        chunk = ann_chunk_rows(cfg["memory_mb"], k, index_vectors.shape[1])
        index = train_ivf_index(index_vectors, cfg["ann"])
        fill_ivf_index(index, index_vectors, chunk)
        scores, rows = np.empty((q, k), np.float32), np.empty((q, k), np.int64)
        for begin, end in _chunks(q, chunk):
            block = _as_f32(queries[begin:end])
            _approx, found = index.search(block, k)
            scores[begin:end], rows[begin:end] = _rescore(block, index_vectors, found)
    log.info("dedup against earlier sources: %s search of %d rows in %d, k=%d, %.1f s",
             method, q, n, k, time.perf_counter() - start)  # fmt: skip
    return scores, rows, method


def ann_self_neighbours(vectors: np.ndarray, k: int, acfg: dict, memory_mb: int):
    """Approximate top-k per row over an IVF index of all rows, scores re-scored exactly."""
    n, dim = vectors.shape
    k = min(k, n)
    chunk = ann_chunk_rows(memory_mb, k, dim)
    index = train_ivf_index(vectors, acfg)
    cells, cell_scores = fill_ivf_index(index, vectors, chunk)
    scores_out = np.empty((n, k), dtype=np.float32)
    rows_out = np.empty((n, k), dtype=np.int64)
    for start, end in _chunks(n, chunk):
        queries = _as_f32(vectors[start:end])
        _approx, found = index.search_preassigned(queries, k, cells[start:end], cell_scores[start:end])
        scores_out[start:end], rows_out[start:end] = _rescore(queries, vectors, found)
    return scores_out, rows_out
