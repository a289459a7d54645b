"""One async client for OpenAI-compatible chat/completions endpoints.

What `vllm serve`, llama.cpp's server and hosted APIs speak. Built on a single aiohttp session
(the `openai` SDK tops out at a few hundred requests/s on two cores, which would starve a GPU
server at 512 concurrent requests). Bounded concurrency, per-request timeout, retries with
exponential backoff and jitter on connection errors, timeouts, 429 and 5xx; other 4xx are final.
Several base URLs may be given: requests go to the least-loaded endpoint that is not cooling
down after a connection failure, so the client survives one server dying.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from mathforge.errors import InferenceError
from mathforge.inference.reasoning import message_reasoning

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 512
    seed: int | None = 0
    n: int = 1
    stop: tuple[str, ...] = ()
    chat_template_kwargs: dict | None = None
    extra_body: dict | None = None

    def to_payload(self) -> dict:
        payload: dict[str, Any] = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "n": self.n,
        }
        if self.seed is not None:
            payload["seed"] = self.seed
        if self.stop:
            payload["stop"] = list(self.stop)
        if self.chat_template_kwargs:
            payload["chat_template_kwargs"] = dict(self.chat_template_kwargs)
        if self.extra_body:
            payload.update(self.extra_body)
        return payload

    def with_reasoning_effort(self, effort: str, via: str) -> SamplingParams:
        """These parameters carrying `effort` the way the backend takes it: in the chat template's
        kwargs (gpt-oss), as the request's top-level `reasoning_effort` (vLLM/OpenAI), or not at
        all (`prompt` and `none`: the caller states it in the prompt, or nowhere)."""
        if via == "chat_template_kwargs":
            kwargs = {**(self.chat_template_kwargs or {}), "reasoning_effort": effort}
            return dataclasses.replace(self, chat_template_kwargs=kwargs)
        if via == "request":
            return dataclasses.replace(
                self, extra_body={**(self.extra_body or {}), "reasoning_effort": effort}
            )
        return self

    @classmethod
    def from_config(cls, cfg: dict, **overrides: Any) -> SamplingParams:
        values = {
            "temperature": cfg.get("temperature", 0.0),
            "top_p": cfg.get("top_p", 1.0),
            "max_tokens": cfg.get("max_tokens", 512),
            "seed": cfg.get("seed", 0),
            "n": cfg.get("n", 1),
            "stop": tuple(cfg.get("stop") or ()),
            "chat_template_kwargs": cfg.get("chat_template_kwargs") or None,
            "extra_body": cfg.get("extra_body") or None,
        }
        values.update(overrides)
        return cls(**values)


@dataclass
class Choice:
    text: str
    finish_reason: str | None
    stop_reason: str | int | None = None  # vLLM: the stop string (or token id) that ended it
    reasoning: str | None = None  # a reasoning model's thinking (chat API), apart from `text`
    tool_calls: list[dict] | None = None  # the chat API's tool calls ({id, type, function})


@dataclass
class CompletionResult:
    choices: list[Choice]
    prompt_tokens: int | None
    completion_tokens: int | None
    model: str | None
    endpoint: str
    latency_s: float
    attempts: int

    @property
    def text(self) -> str:
        return self.choices[0].text if self.choices else ""

    @property
    def finish_reason(self) -> str | None:
        return self.choices[0].finish_reason if self.choices else None

    @property
    def stop_reason(self) -> str | int | None:
        return self.choices[0].stop_reason if self.choices else None

    @property
    def reasoning(self) -> str | None:
        return self.choices[0].reasoning if self.choices else None


class RequestRejected(InferenceError):
    """The server answered with a final 4xx (e.g. prompt longer than the context): retrying won't help."""

    def __init__(self, status: int, body: str):
        self.status = status
        self.body = body
        super().__init__(f"HTTP {status}: {body[:500]}")


@dataclass
class _Endpoint:
    base_url: str
    in_flight: int = 0
    down_until: float = 0.0
    failures: int = field(default=0)


class OpenAIClient:
    """Use as `async with OpenAIClient(...) as client: await client.chat(messages, params)`."""

    def __init__(
        self,
        base_urls: list[str] | str,
        model: str,
        *,
        api_key: str | None = None,
        max_concurrent: int = 512,
        request_timeout_s: float = 600.0,
        connect_timeout_s: float = 10.0,
        max_retries: int = 3,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 30.0,
        endpoint_cooldown_s: float = 5.0,
    ):
        urls = [base_urls] if isinstance(base_urls, str) else list(base_urls)
        if not urls:
            raise InferenceError("no inference endpoint configured (empty base_urls)")
        self.endpoints = [_Endpoint(u.rstrip("/")) for u in urls]
        self.model = model
        self.api_key = api_key
        self.max_concurrent = max_concurrent
        self.request_timeout_s = request_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.max_retries = max_retries
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.endpoint_cooldown_s = endpoint_cooldown_s
        self._session: aiohttp.ClientSession | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self.stats = {"requests": 0, "retries": 0, "failures": 0}

    async def __aenter__(self) -> OpenAIClient:
        connector = aiohttp.TCPConnector(limit=self.max_concurrent, limit_per_host=0, ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(connector=connector)
        self._semaphore = asyncio.Semaphore(self.max_concurrent)
        self._timeout = aiohttp.ClientTimeout(
            total=self.request_timeout_s, sock_connect=self.connect_timeout_s
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def chat(self, messages: list[dict], params: SamplingParams) -> CompletionResult:
        payload = {"model": self.model, "messages": messages, **params.to_payload()}
        return await self._request("/v1/chat/completions", payload, chat=True)

    async def complete(self, prompt: str, params: SamplingParams) -> CompletionResult:
        payload = {"model": self.model, "prompt": prompt, **params.to_payload()}
        return await self._request("/v1/completions", payload, chat=False)

    def _pick_endpoint(self) -> _Endpoint:
        now = time.monotonic()
        up = [e for e in self.endpoints if e.down_until <= now] or self.endpoints
        return min(up, key=lambda e: e.in_flight)

    def _backoff(self, attempt: int) -> float:
        delay = min(self.backoff_max_s, self.backoff_initial_s * (2**attempt))
        return delay * (0.5 + random.random() / 2)

    async def _request(self, path: str, payload: dict, chat: bool) -> CompletionResult:
        if self._session is None or self._semaphore is None:
            raise RuntimeError("OpenAIClient must be used inside `async with`")
        body = json.dumps(payload).encode()
        last_error = ""
        async with self._semaphore:
            for attempt in range(self.max_retries + 1):
                endpoint = self._pick_endpoint()
                endpoint.in_flight += 1
                started = time.monotonic()
                self.stats["requests"] += 1
                try:
                    async with self._session.post(
                        endpoint.base_url + path, data=body, headers=self._headers, timeout=self._timeout
                    ) as resp:
                        raw = await resp.read()
                        status = resp.status
                except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                    endpoint.down_until = time.monotonic() + self.endpoint_cooldown_s
                    endpoint.failures += 1
                    last_error = f"{type(exc).__name__}: {exc}"
                else:
                    if status == 200:
                        return _parse_response(raw, chat, endpoint.base_url, started, attempt + 1)
                    text = raw.decode("utf-8", "replace")
                    if status not in RETRYABLE_STATUS:
                        self.stats["failures"] += 1
                        raise RequestRejected(status, text)
                    last_error = f"HTTP {status}: {text[:300]}"
                finally:
                    endpoint.in_flight -= 1
                if attempt < self.max_retries:
                    self.stats["retries"] += 1
                    await asyncio.sleep(self._backoff(attempt))
        self.stats["failures"] += 1
        raise InferenceError(f"request to {path} failed after {self.max_retries + 1} attempts: {last_error}")


def _parse_response(raw: bytes, chat: bool, endpoint: str, started: float, attempts: int) -> CompletionResult:
    try:
        data = json.loads(raw)
        choices = [
            Choice(
                text=(c["message"].get("content") or "") if chat else c.get("text", ""),
                finish_reason=c.get("finish_reason"),
                stop_reason=c.get("stop_reason"),
                reasoning=message_reasoning(c["message"]) if chat else None,
                tool_calls=(c["message"].get("tool_calls") or None) if chat else None,
            )
            for c in sorted(data["choices"], key=lambda c: c.get("index", 0))
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InferenceError(f"malformed response from {endpoint}: {raw[:300]!r}") from exc
    usage = data.get("usage") or {}
    return CompletionResult(
        choices=choices,
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        model=data.get("model"),
        endpoint=endpoint,
        latency_s=time.monotonic() - started,
        attempts=attempts,
    )
