"""Resumable generation: the request store, resume after failure and after SIGKILL, no duplicates."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import openai_inference_config

from mathforge.errors import InferenceError
from mathforge.inference.client import SamplingParams
from mathforge.inference.generation import Generator, make_request, request_key
from mathforge.inference.store import RequestStore


def requests_for(cfg, n):
    return [
        make_request(cfg, [{"role": "user", "content": f"question {i}"}], SamplingParams(seed=i))
        for i in range(n)
    ]


def store_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_request_key_depends_on_model_messages_and_sampling():
    msgs = [{"role": "user", "content": "q"}]
    base = request_key("m", msgs, SamplingParams(seed=1))
    assert base == request_key("m", [{"content": "q", "role": "user"}], SamplingParams(seed=1))
    assert base != request_key("m2", msgs, SamplingParams(seed=1))
    assert base != request_key("m", msgs, SamplingParams(seed=2))
    assert base != request_key("m", msgs, SamplingParams(seed=1, temperature=0.5))
    assert base != request_key("m", [{"role": "user", "content": "q2"}], SamplingParams(seed=1))


def test_second_run_sends_nothing(stub_server, tmp_path):
    server = stub_server({"default_reply": "hello"})
    cfg = openai_inference_config(server.base_url)
    reqs = requests_for(cfg, 12)
    with Generator(cfg, tmp_path / "store.jsonl") as gen:
        first = gen.run(reqs)
    assert server.stats()["requests"] == 12
    with Generator(cfg, tmp_path / "store.jsonl") as gen:
        second = gen.run(reqs)
    assert server.stats()["requests"] == 12  # all answered from the store
    assert gen.totals.cached == 12 and gen.totals.sent == 0
    assert {k: v["text"] for k, v in first.items()} == {k: v["text"] for k, v in second.items()}


def test_duplicate_requests_are_sent_once(stub_server, tmp_path):
    server = stub_server()
    cfg = openai_inference_config(server.base_url)
    reqs = requests_for(cfg, 3) * 3
    with Generator(cfg, tmp_path / "store.jsonl") as gen:
        results = gen.run(reqs)
    assert len(results) == 3
    assert server.stats()["requests"] == 3


def test_rejected_request_is_recorded_and_not_resent(stub_server, tmp_path):
    server = stub_server({"reject_contains": "question 1"})
    cfg = openai_inference_config(server.base_url)
    reqs = requests_for(cfg, 3)
    for _ in range(2):
        with Generator(cfg, tmp_path / "store.jsonl") as gen:
            results = gen.run(reqs)
    rejected = results[reqs[1].key]
    assert rejected["finish_reason"] == "rejected" and "HTTP 400" in rejected["error"]
    assert server.stats()["requests"] == 3


def test_failures_keep_completed_work_and_resume_sends_only_the_rest(stub_server, tmp_path):
    # The first server dies for good after answering some requests (every later call 503s).
    cfg_fast = {"max_retries": 1, "backoff_initial_s": 0.01, "backoff_max_s": 0.01}
    flaky = stub_server({"default_reply": "a"})
    cfg = openai_inference_config(flaky.base_url, max_concurrent_requests=1, **cfg_fast)
    reqs = requests_for(cfg, 10)
    with Generator(cfg, tmp_path / "store.jsonl") as gen:
        gen.run(reqs[:6])
    flaky.stop()
    with (
        pytest.raises(InferenceError, match="rerun to resume"),
        Generator(cfg, tmp_path / "store.jsonl") as gen,
    ):
        gen.run(reqs)
    assert len(store_lines(tmp_path / "store.jsonl")) == 6

    healthy = stub_server({"default_reply": "a"})
    cfg = openai_inference_config(healthy.base_url, **cfg_fast)
    with Generator(cfg, tmp_path / "store.jsonl") as gen:
        results = gen.run(reqs)
    assert healthy.stats()["requests"] == 4
    assert len(results) == 10
    assert len(store_lines(tmp_path / "store.jsonl")) == 10


def test_torn_last_line_is_dropped_and_appends_stay_valid(tmp_path):
    path = tmp_path / "store.jsonl"
    path.write_text(json.dumps({"key": "a", "text": "x"}) + "\n" + '{"key": "b", "te')
    with RequestStore(path) as store:
        assert "a" in store and "b" not in store
        assert store.torn_lines == 1
        store.add({"key": "c", "text": "z"})
    assert [r["key"] for r in store_lines(path)] == ["a", "c"]


KILLABLE = textwrap.dedent(
    """
    import sys
    sys.path[:0] = [{tests!r}, {here!r}]
    from conftest import openai_inference_config
    from test_generation import requests_for
    from mathforge.inference.generation import Generator
    cfg = openai_inference_config({url!r}, max_concurrent_requests=4)
    with Generator(cfg, {store!r}) as gen:
        gen.run(requests_for(cfg, 60))
    """
)


def test_sigkill_mid_run_loses_and_duplicates_nothing(stub_server, tmp_path):
    slow = stub_server({"delay_s": 0.1, "default_reply": "r"})
    store = tmp_path / "store.jsonl"
    here = Path(__file__).resolve().parent
    code = KILLABLE.format(tests=str(here.parents[1]), here=str(here), url=slow.base_url, store=str(store))
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 30
    while not store.exists() or len(store.read_text().splitlines()) < 12:
        assert proc.poll() is None, "the generating process died on its own"
        assert time.monotonic() < deadline, "the generating process made no progress"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = {r["key"] for r in store_lines(store) if r}
    assert 12 <= len(done_before) < 60

    fresh = stub_server({"default_reply": "r"})
    cfg = openai_inference_config(fresh.base_url)
    with Generator(cfg, store) as gen:
        results = gen.run(requests_for(cfg, 60))
    assert fresh.stats()["requests"] == 60 - len(done_before)  # only the unfinished ones
    keys = [r["key"] for r in store_lines(store)]
    assert len(keys) == len(set(keys)) == 60  # zero lost, zero duplicated
    assert set(results) == set(keys)
