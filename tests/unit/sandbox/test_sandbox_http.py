"""The sandbox HTTP service, as a real server process on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from conftest import wait_healthy

from mathforge.inference.processes import free_port


def call(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


@pytest.fixture
def service():
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mathforge.sandbox.server",
            "--port",
            str(port),
            "--prestart",
            "1",
            "--max-sessions",
            "2",
        ]
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_sessions_over_http(service):
    status, opened = call("POST", f"{service}/sessions")
    assert status == 200
    sid = opened["session_id"]
    assert call("POST", f"{service}/sessions/{sid}/execute", {"code": "a = 20"})[1]["status"] == "ok"
    status, result = call("POST", f"{service}/sessions/{sid}/execute", {"code": "a + 22"})
    assert (status, result["output"], result["restarted"]) == (200, "42\n", False)
    status, result = call(
        "POST", f"{service}/sessions/{sid}/execute", {"code": "while True: pass", "timeout_s": 0.5}
    )
    assert result["status"] == "timeout"
    assert call("POST", f"{service}/sessions/{sid}/execute", {"code": "a"})[1]["output"] == "20\n"
    assert call("POST", f"{service}/sessions/{sid}/execute", {"nope": 1})[0] == 400
    assert call("DELETE", f"{service}/sessions/{sid}")[1] == {"closed": sid}
    assert call("POST", f"{service}/sessions/{sid}/execute", {"code": "1"})[0] == 404


def test_session_limit_is_reported(service):
    assert call("POST", f"{service}/sessions")[0] == 200
    assert call("POST", f"{service}/sessions")[0] == 200
    status, body = call("POST", f"{service}/sessions")
    assert status == 503 and "in use" in body["error"]


def test_the_tir_loop_runs_its_cells_on_the_remote_service(service, stub_server):
    """Generation here, execution on the HTTP service: `open_sandbox` with a `url`."""
    import asyncio

    from mathforge.config import REPO_ROOT, validate_config
    from mathforge.inference.client import OpenAIClient, SamplingParams
    from mathforge.sandbox.remote import open_sandbox
    from mathforge.solving.code_tags import load_code_tags
    from mathforge.solving.task import SolutionTask, TIRSettings
    from mathforge.solving.tir import generate_solution

    turns = [
        "```python\nimport socket\nz = 20\nprint(z)\n```\n",
        "```python\nprint(z + 1)\n```\n",
        "\\boxed{21}",
    ]
    stub = stub_server({"rules": [{"contains": "REMOTE", "turns": turns}]})
    tags = load_code_tags(REPO_ROOT / "config" / "prompts", "markdown")
    task = SolutionTask("r", [{"role": "user", "content": "REMOTE"}], SamplingParams(), TIRSettings(tags))
    sandbox_cfg = validate_config({"sandbox": {"url": service}})["sandbox"]

    async def go():
        async with OpenAIClient(stub.base_url, "stub") as client, open_sandbox(sandbox_cfg) as sandbox:
            return await generate_solution(client, task, sandbox)

    result = asyncio.run(go())
    assert [c["output"] for c in result.code_cells] == ["20\n", "21\n"]
    assert result.sandbox_isolation == ["remote"]
    # The solution closed its session: both of the service's two slots are free again.
    assert [call("POST", service + "/sessions")[0] for _ in range(2)] == [200, 200]
