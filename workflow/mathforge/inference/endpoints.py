"""From the `inference` config section to live endpoints: embedded, managed vLLM, or external."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mathforge.errors import ConfigError
from mathforge.inference import embedded_model
from mathforge.inference.pool_registry import pool_endpoints
from mathforge.inference.server import VLLMServerSpec, managed_server

BACKENDS = ("embedded", "vllm", "openai", "pool")


@dataclass
class InferenceTarget:
    base_urls: list[str]
    model: str
    api_key: str | None
    endpoint_kind: str


def served_model_name(cfg: dict) -> str:
    if cfg["backend"] == "embedded":
        # a second name lets one run serve the embedded model twice, with different settings
        return cfg.get("served_model_name") or embedded_model.SERVED_NAME
    if not cfg.get("model"):
        raise ConfigError(f"inference.model must be set for backend {cfg['backend']!r}")
    return cfg.get("served_model_name") or cfg["model"]


def model_identity(cfg: dict) -> str:
    """What the request hash keys on: changes whenever a different model would answer, or the
    same answer would be split differently (a reasoning parser moves the thinking out of the
    content, so rows made without it must not be served from the cache)."""
    if cfg["backend"] == "embedded":
        identity = f"embedded:{embedded_model.MODEL_NAME}:{embedded_model.GGUF_SHA256[:16]}"
    else:
        identity = f"{cfg['backend']}:{cfg['model']}"
    parser = reasoning_parser(cfg)
    return f"{identity}+reasoning_parser={parser}" if parser else identity


def reasoning_parser(cfg: dict) -> str | None:
    """The reasoning parser of the servers this config starts (none for external endpoints)."""
    if cfg["backend"] == "openai":
        return None
    return (cfg.get("server") or {}).get("reasoning_parser")


def server_scope(cfg: dict) -> str:
    scope = cfg["server"]["scope"]
    if scope == "auto":
        # In a Slurm job the Snakemake process may live on another node: own the server.
        return "job" if os.environ.get("SLURM_JOB_ID") else "session"
    return scope


def server_spec(cfg: dict) -> VLLMServerSpec:
    server = cfg["server"]
    common = {
        "host": server["host"],
        "port": server["port"],
        "python": server.get("python") or sys.executable,
        "extra_args": list(server.get("extra_args") or []),
        "env": {str(k): str(v) for k, v in (server.get("env") or {}).items()},
        "startup_timeout_s": server["startup_timeout_s"],
        "cpu_kvcache_space_gb": server["cpu_kvcache_space_gb"],
        "cpu_threads": server.get("cpu_threads"),
        "module": server["module"],
        "reasoning_parser": server.get("reasoning_parser"),
    }
    if cfg["backend"] == "embedded":
        # Built once and cached (a minute); later jobs and runs find the finished folder.
        path = embedded_model.ensure_embedded_model(cfg["embedded"].get("cache_dir"))
        return VLLMServerSpec(
            model=str(path),
            served_model_name=served_model_name(cfg),
            device="cpu",
            dtype=embedded_model.cpu_dtype(cfg["embedded"]["dtype"]),
            enforce_eager=True,
            max_model_len=cfg["embedded"]["max_model_len"],
            **common,
        )
    return VLLMServerSpec(
        model=cfg["model"],
        served_model_name=served_model_name(cfg),
        device=server["device"],
        dtype=server["dtype"],
        enforce_eager=server["enforce_eager"],
        max_model_len=server.get("max_model_len"),
        tensor_parallel_size=server["tensor_parallel_size"],
        **common,
    )


@contextlib.contextmanager
def open_target(cfg: dict) -> Iterator[InferenceTarget]:
    """Yield endpoints to send requests to; a managed server lives exactly as long as needed."""
    backend = cfg["backend"]
    if backend not in BACKENDS:
        raise ConfigError(f"inference.backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "openai":
        urls = list(cfg["openai"]["base_urls"])
        if not urls:
            raise ConfigError("inference.openai.base_urls is empty: list at least one endpoint URL")
        key_env = cfg["openai"].get("api_key_env")
        api_key = os.environ.get(key_env) if key_env else None
        yield InferenceTarget(urls, served_model_name(cfg), api_key, "openai")
        return
    if backend == "pool":
        urls = pool_endpoints(Path(cfg["pool"]["dir"]), cfg["pool"]["wait_s"])
        yield InferenceTarget(urls, served_model_name(cfg), None, "pool")
        return
    server = cfg["server"]
    spec = server_spec(cfg)
    with managed_server(
        spec, server_scope(cfg), Path(server["state_dir"]), Path(server["log_dir"])
    ) as base_url:
        yield InferenceTarget([base_url], spec.served_model_name, None, f"managed-vllm-{spec.device}")
