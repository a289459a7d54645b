"""Resumable batch generation: send only what is not already in the request store.

Requests are keyed by a hash of (model identity, messages, sampling parameters incl. seed); the
caller's bookkeeping is not part of the key. Completed requests are appended to the store as they
finish. Final 4xx rejections (e.g. a prompt longer than the context) are stored as failed
records, so a rerun does not resend them; transient failures that outlive the retries abort
the job *after* every other in-flight request has finished and been stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from mathforge.errors import InferenceError
from mathforge.ids import canonical_json, sha256_hex
from mathforge.inference.client import OpenAIClient, RequestRejected, SamplingParams
from mathforge.inference.endpoints import InferenceTarget, model_identity, open_target
from mathforge.inference.store import RequestStore

log = logging.getLogger(__name__)


@dataclass
class LLMRequest:
    key: str
    messages: list[dict]
    params: SamplingParams


def request_key(
    model_id: str, messages: list[dict], params: SamplingParams, extra: dict | None = None
) -> str:
    """The store key of a request; `extra` adds what else shapes the stored result (e.g. TIR settings)."""
    return sha256_hex(
        canonical_json({"model": model_id, "messages": messages, **params.to_payload(), **(extra or {})})
    )


def make_request(cfg: dict, messages: list[dict], params: SamplingParams) -> LLMRequest:
    return LLMRequest(request_key(model_identity(cfg), messages, params), messages, params)


@dataclass
class RunStats:
    total: int = 0
    cached: int = 0
    sent: int = 0
    rejected: int = 0
    failed: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        rate = self.completion_tokens / self.seconds if self.seconds else 0.0
        return (
            f"requests: total={self.total} cached={self.cached} sent={self.sent} "
            f"rejected={self.rejected} failed={self.failed}; "
            f"{self.completion_tokens} completion tokens in {self.seconds:.1f}s ({rate:.1f} tok/s)"
        )


def _record(key: str, target: InferenceTarget, result=None, error: str | None = None) -> dict:
    if result is None:
        return {
            "key": key, "text": "", "reasoning": None, "finish_reason": "rejected", "choices": [],
            "prompt_tokens": None, "completion_tokens": None, "model": target.model,
            "endpoint_kind": target.endpoint_kind, "latency_s": None, "attempts": None, "error": error,
        }  # fmt: skip
    return {
        "key": key,
        "text": result.text,
        "reasoning": result.reasoning,  # the thinking, apart from the answer in `text` (or None)
        "finish_reason": result.finish_reason,
        "choices": [
            {"text": c.text, "reasoning": c.reasoning, "finish_reason": c.finish_reason}
            for c in result.choices
        ],
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "model": result.model or target.model,
        "endpoint_kind": target.endpoint_kind,
        "latency_s": round(result.latency_s, 4),
        "attempts": result.attempts,
        "error": None,
    }


def make_client(target: InferenceTarget, cfg: dict) -> OpenAIClient:
    """The client for `target`, with the timeouts, retries and concurrency of `cfg` (inference)."""
    return OpenAIClient(
        target.base_urls,
        target.model,
        api_key=target.api_key,
        max_concurrent=cfg["max_concurrent_requests"],
        request_timeout_s=cfg["request_timeout_s"],
        connect_timeout_s=cfg["connect_timeout_s"],
        max_retries=cfg["max_retries"],
        backoff_initial_s=cfg["backoff_initial_s"],
        backoff_max_s=cfg["backoff_max_s"],
    )


async def run_concurrently(
    items: list, n_workers: int, handle: Callable[[object], Awaitable[None]], what: str
) -> list[str]:
    """Await `handle(item)` for every item, at most `n_workers` at once (the workers share one
    iterator). An InferenceError (a transient failure that outlived the retries) does not stop
    the others: every item is tried and the error messages are returned, so everything that
    finished has been stored before the caller gives up."""
    queue: Iterator = iter(items)
    errors: list[str] = []
    done = 0
    last_log = time.monotonic()

    async def worker() -> None:
        nonlocal done, last_log
        for item in queue:
            try:
                await handle(item)
            except InferenceError as exc:
                errors.append(str(exc))
                continue
            done += 1
            if time.monotonic() - last_log > 30:
                last_log = time.monotonic()
                log.info("progress: %d/%d %s done", done, len(items), what)

    await asyncio.gather(*(worker() for _ in range(max(1, min(n_workers, len(items))))))
    return errors


def retries_exhausted(errors: list[str], what: str) -> InferenceError:
    return InferenceError(
        f"{len(errors)} {what}(s) failed after retries (finished ones are saved; rerun to resume). "
        f"First error: {errors[0]}"
    )


async def _send_all(
    pending: list[LLMRequest], target: InferenceTarget, cfg: dict, store: RequestStore, stats: RunStats
) -> None:
    client = make_client(target, cfg)

    async def send(request: LLMRequest) -> None:
        try:
            result = await client.chat(request.messages, request.params)
        except RequestRejected as exc:
            store.add(_record(request.key, target, error=str(exc)))
            stats.rejected += 1
            return
        store.add(_record(request.key, target, result))
        stats.sent += 1
        stats.completion_tokens += result.completion_tokens or 0

    async with client:
        errors = await run_concurrently(pending, cfg["max_concurrent_requests"], send, "request")
    stats.failed += len(errors)
    if errors:
        raise retries_exhausted(errors, "request")


class Generator:
    """Holds the request store and (lazily) the endpoints for one job.

    The server is acquired only when some request is not in the store, so rebuilding an
    artifact whose requests are all cached needs no model at all; it is released on exit.
    """

    def __init__(self, cfg: dict, store_path: str | os.PathLike):
        self.cfg = cfg
        self.store_path = store_path
        self.totals = RunStats()
        self._stack = contextlib.ExitStack()
        self._target: InferenceTarget | None = None
        self.store: RequestStore | None = None

    def __enter__(self) -> Generator:
        self.store = self._stack.enter_context(RequestStore(self.store_path))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def run(self, requests: list[LLMRequest]) -> dict[str, dict]:
        """Return {request key: record} for every request, sending only the ones not yet stored."""
        assert self.store is not None, "use Generator inside `with`"
        unique = {r.key: r for r in requests}
        stats = RunStats(total=len(unique))
        started = time.monotonic()
        pending = [r for key, r in unique.items() if key not in self.store]
        stats.cached = stats.total - len(pending)
        if pending:
            if self._target is None:
                self._target = self._stack.enter_context(open_target(self.cfg))
            asyncio.run(_send_all(pending, self._target, self.cfg, self.store, stats))
        stats.seconds = time.monotonic() - started
        log.info(stats.summary())
        for name in ("total", "cached", "sent", "rejected", "failed", "completion_tokens", "seconds"):
            setattr(self.totals, name, getattr(self.totals, name) + getattr(stats, name))
        return {key: self.store.get(key) for key in unique}
