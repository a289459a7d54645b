"""The embedding backends behind `Embedder`: fp32 torch (CPU or CUDA), int8 ONNX Runtime on CPU,
and an OpenAI-compatible `/v1/embeddings` endpoint (e.g. vLLM's pooling runner on a GPU node).

Every encoder returns unit-norm float32 rows in input order (`Embedder` caches them, keyed by
backend, so vectors of different backends are never mixed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from pathlib import Path

import aiohttp
import numpy as np

from mathforge.errors import ConfigError, InferenceError
from mathforge.inference.client import RETRYABLE_STATUS, OpenAIClient, RequestRejected

log = logging.getLogger(__name__)

BACKENDS = ("torch", "onnx_int8", "endpoint")
TOKENIZE_CHUNK = 8192  # texts tokenized and length-sorted together (bounds memory at any N)


def job_threads(configured: int = 0) -> int:
    """`configured`, else the job's cores: Snakemake sets OMP_NUM_THREADS to the rule's threads."""
    if configured:
        return configured
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return len(os.sched_getaffinity(0))


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def length_sorted_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Indices in batches of similar length (longest first), so padding wastes little compute."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    return [order[s : s + batch_size] for s in range(0, len(order), batch_size)]


class TorchEncoder:
    """sentence-transformers in fp32 on `device` (which sorts each call's texts by length itself)."""

    def __init__(self, model_path: str, batch_size: int, threads: int, device: str = "cpu"):
        import torch
        from sentence_transformers import SentenceTransformer

        if device == "cpu":
            torch.set_num_threads(threads)
        self.model = SentenceTransformer(model_path, device=device)
        self.batch_size = batch_size

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )  # fmt: skip
        return np.asarray(vectors, dtype=np.float32)


def _pooling(model_dir: Path) -> tuple[str, int]:
    """The model's pooling mode (mean or cls) and max sequence length, from its ST configs."""
    modules = json.loads((model_dir / "modules.json").read_text())
    pool = next((m for m in modules if m["type"].endswith("Pooling")), None)
    mode = "mean"
    if pool:
        config = json.loads((model_dir / pool["path"] / "config.json").read_text())
        modes = [k for k, v in config.items() if k.startswith("pooling_mode_") and v]
        if modes not in (["pooling_mode_mean_tokens"], ["pooling_mode_cls_token"]):
            raise ConfigError(f"{model_dir}: pooling {modes} is not supported by the onnx_int8 backend")
        mode = "mean" if modes == ["pooling_mode_mean_tokens"] else "cls"
    bert = model_dir / "sentence_bert_config.json"
    max_len = json.loads(bert.read_text()).get("max_seq_length", 512) if bert.exists() else 512
    return mode, max_len


class OnnxInt8Encoder:
    """The int8 ONNX Runtime model (see mathforge.decontam.onnx_int8) with the same tokenizer,
    pooling and truncation as sentence-transformers; batches sorted by token count."""

    def __init__(self, model_path: str, batch_size: int, threads: int, build_dir: str | Path):
        import onnxruntime as ort
        from transformers import AutoTokenizer

        from mathforge.decontam.onnx_int8 import MODEL_FILE, ensure_int8_model

        folder = ensure_int8_model(model_path, build_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.pooling, self.max_len = _pooling(Path(model_path))
        self.batch_size = batch_size

    def encode(self, texts: list[str]) -> np.ndarray:
        out = []
        for start in range(0, len(texts), TOKENIZE_CHUNK):
            out.append(self._encode_chunk(texts[start : start + TOKENIZE_CHUNK]))
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)

    def _encode_chunk(self, texts: list[str]) -> np.ndarray:
        encoded = self.tokenizer(texts, truncation=True, max_length=self.max_len)
        ids = encoded["input_ids"]
        result: np.ndarray | None = None
        for batch in length_sorted_batches([len(x) for x in ids], self.batch_size):
            width = len(ids[batch[0]])
            feed = {name: np.zeros((len(batch), width), np.int64) for name in self.inputs}
            mask = feed.setdefault("attention_mask", np.zeros((len(batch), width), np.int64))
            feed["input_ids"][:] = self.tokenizer.pad_token_id or 0
            for row, i in enumerate(batch):
                feed["input_ids"][row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1
            hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]
            vectors = self._pool(hidden, mask)
            if result is None:
                result = np.zeros((len(texts), vectors.shape[1]), np.float32)
            result[batch] = vectors
        return result

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.pooling == "cls":
            return normalize_rows(hidden[:, 0])
        weights = mask[..., None].astype(np.float32)
        return normalize_rows((hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9))


class EmbeddingsClient(OpenAIClient):
    """`POST /v1/embeddings` with the chat client's endpoints, timeouts, retries and backoff."""

    async def embed(self, texts: list[str], extra: dict) -> np.ndarray:
        if self._session is None or self._semaphore is None:
            raise RuntimeError("EmbeddingsClient must be used inside `async with`")
        body = json.dumps({"model": self.model, "input": texts, **extra}).encode()
        last_error = ""
        async with self._semaphore:
            for attempt in range(self.max_retries + 1):
                endpoint = self._pick_endpoint()
                self.stats["requests"] += 1
                try:
                    async with self._session.post(
                        endpoint.base_url + "/v1/embeddings", data=body, headers=self._headers,
                        timeout=self._timeout,
                    ) as resp:  # fmt: skip
                        raw, status = await resp.read(), resp.status
                except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                    endpoint.down_until = time.monotonic() + self.endpoint_cooldown_s
                    last_error = f"{type(exc).__name__}: {exc}"
                else:
                    if status == 200:
                        return _parse_embeddings(raw, len(texts), endpoint.base_url)
                    text = raw.decode("utf-8", "replace")
                    if status not in RETRYABLE_STATUS:
                        raise RequestRejected(status, text)
                    last_error = f"HTTP {status}: {text[:300]}"
                if attempt < self.max_retries:
                    self.stats["retries"] += 1
                    await asyncio.sleep(self._backoff(attempt))
        raise InferenceError(f"/v1/embeddings failed after {self.max_retries + 1} attempts: {last_error}")


def _parse_embeddings(raw: bytes, n: int, endpoint: str) -> np.ndarray:
    try:
        data = sorted(json.loads(raw)["data"], key=lambda d: d["index"])
        vectors = np.array([d["embedding"] for d in data], dtype=np.float32)
    except (ValueError, KeyError, TypeError) as exc:
        raise InferenceError(f"malformed /v1/embeddings response from {endpoint}: {raw[:300]!r}") from exc
    if vectors.ndim != 2 or len(vectors) != n:
        raise InferenceError(f"{endpoint}: /v1/embeddings returned {len(vectors)} vectors for {n} texts")
    return normalize_rows(vectors)


class EndpointEncoder:
    """Texts sent in batches, several in flight, to the endpoint of a model in the `models` map."""

    def __init__(self, model_cfg: dict, batch_size: int, truncate_prompt_tokens: int | None):
        self.model_cfg = model_cfg
        self.batch_size = batch_size
        self.extra = {"truncate_prompt_tokens": truncate_prompt_tokens} if truncate_prompt_tokens else {}
        self._stack = contextlib.ExitStack()
        self._target = None

    def encode(self, texts: list[str]) -> np.ndarray:
        from mathforge.inference.endpoints import open_target

        if self._target is None:  # a managed server stays up until close(): one start per job
            self._target = self._stack.enter_context(open_target(self.model_cfg))
        return asyncio.run(self._encode(self._target, texts))

    def close(self) -> None:
        self._stack.close()
        self._target = None

    async def _encode(self, target, texts: list[str]) -> np.ndarray:
        cfg = self.model_cfg
        client = EmbeddingsClient(
            target.base_urls, target.model, api_key=target.api_key,
            max_concurrent=min(cfg["max_concurrent_requests"], 8),
            request_timeout_s=cfg["request_timeout_s"], connect_timeout_s=cfg["connect_timeout_s"],
            max_retries=cfg["max_retries"], backoff_initial_s=cfg["backoff_initial_s"],
            backoff_max_s=cfg["backoff_max_s"],
        )  # fmt: skip
        batches = length_sorted_batches([len(t) for t in texts], self.batch_size)
        async with client:
            parts = await asyncio.gather(*(client.embed([texts[i] for i in b], self.extra) for b in batches))
        result = np.zeros((len(texts), parts[0].shape[1]), np.float32)
        for batch, vectors in zip(batches, parts, strict=True):
            result[batch] = vectors
        return result
