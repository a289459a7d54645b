"""Reaching a sandbox: the in-process pool, or the HTTP service on another node, behind one interface.

Both offer `open_session()`, `execute(session_id, code, timeout_s)` -> CellResult,
`close_session(session_id)` and `isolation(session_id)`, so the TIR loop does not care where
the code runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aiohttp

from mathforge.errors import InferenceError
from mathforge.sandbox.isolation import Limits
from mathforge.sandbox.pool import CellResult, SandboxPool


class HTTPSandbox:
    """Client of `python -m mathforge.sandbox.server` (see that module for the API)."""

    def __init__(self, url: str, request_timeout_s: float = 120.0):
        self.url = url.rstrip("/")
        self.request_timeout_s = request_timeout_s
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> HTTPSandbox:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.request_timeout_s))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        assert self._session is not None, "use HTTPSandbox inside `async with`"
        try:
            async with self._session.request(method, self.url + path, json=body) as resp:
                data = await resp.json(content_type=None)
                if resp.status != 200:
                    raise InferenceError(f"sandbox {self.url}{path}: HTTP {resp.status}: {data}")
                return data
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise InferenceError(f"sandbox {self.url}{path} unreachable: {exc}") from exc

    async def open_session(self) -> str:
        return (await self._call("POST", "/sessions"))["session_id"]

    async def execute(self, session_id: str, code: str, timeout_s: float = 10.0) -> CellResult:
        reply = await self._call(
            "POST", f"/sessions/{session_id}/execute", {"code": code, "timeout_s": timeout_s}
        )
        return CellResult(**{k: reply[k] for k in CellResult.__dataclass_fields__ if k in reply})

    async def close_session(self, session_id: str) -> None:
        await self._call("DELETE", f"/sessions/{session_id}")

    def isolation(self, session_id: str) -> list[str]:
        return ["remote"]


def limits_from_config(cfg: dict) -> Limits:
    return Limits(
        memory_mb=cfg["memory_mb"],
        cpu_seconds=cfg["cpu_seconds"],
        processes=cfg["processes"],
        open_files=cfg["open_files"],
        file_size_mb=cfg["file_size_mb"],
    )


@contextlib.asynccontextmanager
async def open_sandbox(cfg: dict) -> AsyncIterator[SandboxPool | HTTPSandbox]:
    """The sandbox of config section `sandbox`: a local pool, or the HTTP service at `url`."""
    if cfg["url"]:
        async with HTTPSandbox(cfg["url"]) as sandbox:
            yield sandbox
        return
    pool = SandboxPool(
        max_sessions=cfg["max_sessions"],
        prestart=cfg["prestart"],
        limits=limits_from_config(cfg),
        max_output=cfg["max_output_bytes"],
        uid_base=cfg["uid_base"],
        uid_count=cfg["uid_count"],
        lease_dir=cfg["uid_lease_dir"],
    )
    async with pool:
        yield pool
