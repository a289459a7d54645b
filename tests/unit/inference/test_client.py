"""OpenAIClient against a real local HTTP server (the scripted stub, in its own process)."""

from __future__ import annotations

import asyncio

import pytest

from mathforge.errors import InferenceError
from mathforge.inference.client import OpenAIClient, RequestRejected, SamplingParams
from mathforge.inference.processes import free_port

MESSAGES = [{"role": "user", "content": "What is 2+2?"}]


def run(coro):
    return asyncio.run(coro)


def fast_client(urls, **kw) -> OpenAIClient:
    kw.setdefault("backoff_initial_s", 0.01)
    kw.setdefault("backoff_max_s", 0.05)
    return OpenAIClient(urls, "stub", **kw)


def test_chat_returns_text_usage_and_finish_reason(stub_server):
    server = stub_server({"rules": [{"contains": "2+2", "reply": "\\boxed{4}"}]})

    async def go():
        async with fast_client(server.base_url) as client:
            return await client.chat(MESSAGES, SamplingParams(max_tokens=8, seed=3))

    result = run(go())
    assert result.text == "\\boxed{4}"
    assert result.finish_reason == "stop"
    assert (result.prompt_tokens, result.completion_tokens) == (10, 5)
    assert result.attempts == 1


def test_payload_carries_sampling_seed_and_chat_template_kwargs(stub_server):
    server = stub_server({"keep_bodies": True})
    params = SamplingParams(
        temperature=0.7,
        top_p=0.9,
        max_tokens=33,
        seed=11,
        stop=("\n\n",),
        chat_template_kwargs={"reasoning_effort": "low"},
    )

    async def go():
        async with fast_client(server.base_url) as client:
            await client.chat(MESSAGES, params)

    run(go())
    body = server.stats()["bodies"][0]
    assert body["seed"] == 11 and body["temperature"] == 0.7 and body["top_p"] == 0.9
    assert body["max_tokens"] == 33 and body["stop"] == ["\n\n"]
    assert body["chat_template_kwargs"] == {"reasoning_effort": "low"}
    assert body["model"] == "stub" and body["messages"] == MESSAGES


def test_retries_5xx_with_backoff_then_succeeds(stub_server):
    server = stub_server({"fail_first": 2, "fail_status": 503})

    async def go():
        async with fast_client(server.base_url, max_retries=3) as client:
            return await client.chat(MESSAGES, SamplingParams())

    result = run(go())
    assert result.attempts == 3
    assert server.stats()["requests"] == 3


def test_gives_up_after_max_retries(stub_server):
    server = stub_server({"fail_first": 100, "fail_status": 502})

    async def go():
        async with fast_client(server.base_url, max_retries=2) as client:
            await client.chat(MESSAGES, SamplingParams())

    with pytest.raises(InferenceError, match="after 3 attempts"):
        run(go())
    assert server.stats()["requests"] == 3


def test_4xx_is_final_and_not_retried(stub_server):
    server = stub_server({"reject_contains": "2+2"})

    async def go():
        async with fast_client(server.base_url, max_retries=3) as client:
            await client.chat(MESSAGES, SamplingParams())

    with pytest.raises(RequestRejected) as info:
        run(go())
    assert info.value.status == 400
    assert server.stats()["requests"] == 1


def test_timeout_is_retried_then_fails(stub_server):
    server = stub_server({"delay_s": 1.0})

    async def go():
        async with fast_client(server.base_url, max_retries=1, request_timeout_s=0.2) as client:
            await client.chat(MESSAGES, SamplingParams())

    with pytest.raises(InferenceError, match=r"Timeout"):
        run(go())
    assert server.stats()["requests"] == 2


def test_concurrency_is_bounded(stub_server):
    server = stub_server({"delay_s": 0.05})

    async def go():
        async with fast_client(server.base_url, max_concurrent=8) as client:
            await asyncio.gather(*(client.chat(MESSAGES, SamplingParams(seed=i)) for i in range(64)))

    run(go())
    stats = server.stats()
    assert stats["requests"] == 64
    assert 2 <= stats["max_in_flight"] <= 8


def test_fails_over_from_a_dead_endpoint(stub_server):
    server = stub_server()
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    async def go():
        async with fast_client([dead, server.base_url], max_retries=2) as client:
            return await asyncio.gather(*(client.chat(MESSAGES, SamplingParams(seed=i)) for i in range(10)))

    results = run(go())
    assert all(r.endpoint == server.base_url for r in results)
    assert server.stats()["requests"] == 10


def test_n_samples_come_back_in_index_order(stub_server):
    server = stub_server({"default_reply": "x"})

    async def go():
        async with fast_client(server.base_url) as client:
            return await client.chat(MESSAGES, SamplingParams(n=4))

    result = run(go())
    assert [c.text for c in result.choices] == ["x"] * 4


def test_needs_an_endpoint():
    with pytest.raises(InferenceError, match="no inference endpoint"):
        OpenAIClient([], "m")
