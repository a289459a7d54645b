"""Managed server lifecycle (start, share, stop, die with the owner) with the stub as the server module.

The same code path starts the real vLLM engine in the end-to-end tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from mathforge.errors import InferenceError
from mathforge.inference.processes import is_alive
from mathforge.inference.server import (
    OWNER_ENV,
    VLLMServerSpec,
    acquire_server,
    managed_server,
    stop_session_servers,
)

STUB = "mathforge.inference.stub_server"


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


def stub_spec(tmp_path, **kw) -> VLLMServerSpec:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(kw.pop("script", {})))
    return VLLMServerSpec(
        model="none",
        served_model_name="stub",
        module=kw.pop("module", STUB),
        extra_args=["--script", str(script)],
        startup_timeout_s=kw.pop("startup_timeout_s", 30),
        **kw,
    )


def wait_until(predicate, timeout_s=15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_vllm_command_line_and_cpu_environment():
    spec = VLLMServerSpec(
        model="/m",
        served_model_name="name",
        device="cpu",
        dtype="bfloat16",
        enforce_eager=True,
        max_model_len=4096,
        cpu_threads=2,
        extra_args=["--seed", "0"],
    )
    cmd = spec.command(8000)
    assert cmd[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    joined = " ".join(cmd)
    for flag in (
        "--model /m",
        "--served-model-name name",
        "--port 8000",
        "--dtype bfloat16",
        "--max-model-len 4096",
        "--enforce-eager",
        "--seed 0",
    ):
        assert flag in joined
    env = spec.environment()
    assert env["VLLM_CPU_OMP_THREADS_BIND"] == "0-1"
    assert env["HF_HUB_OFFLINE"] == "1"
    gpu = VLLMServerSpec(model="m", served_model_name="m", tensor_parallel_size=4)
    assert "--tensor-parallel-size 4" in " ".join(gpu.command(1))


def test_job_scope_starts_and_stops(tmp_path):
    spec = stub_spec(tmp_path)
    with managed_server(spec, "job", tmp_path / "state", tmp_path / "logs") as url:
        assert healthy(url)
        state = json.loads(next((tmp_path / "state").glob("*.json")).read_text())
    assert not healthy(url)
    assert not is_alive(state["server_pid"])
    assert not is_alive(state["supervisor_pid"])
    assert not list((tmp_path / "state").glob("*.json"))


def test_session_scope_shares_one_server_until_the_owner_stops_it(tmp_path, monkeypatch):
    monkeypatch.setenv(OWNER_ENV, str(os.getpid()))
    spec = stub_spec(tmp_path)
    first = acquire_server(spec, "session", tmp_path / "state", tmp_path / "logs")
    second = acquire_server(spec, "session", tmp_path / "state", tmp_path / "logs")
    assert first.base_url == second.base_url
    assert not first.owned and not second.owned
    first.close()  # a job finishing does not stop the shared server
    assert healthy(first.base_url)
    assert stop_session_servers(tmp_path / "state") == 1
    assert not healthy(first.base_url)


OWNER = """
import os, sys, time
from pathlib import Path
from mathforge.inference.server import acquire_server, VLLMServerSpec
os.environ["MATHFORGE_OWNER_PID"] = str(os.getpid())
spec = VLLMServerSpec(**{spec!r})
handle = acquire_server(spec, "session", Path({state!r}), Path({logs!r}))
print(handle.base_url, flush=True)
time.sleep(600)
"""


def default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_server_dies_with_its_owner(tmp_path, sig):
    spec = stub_spec(tmp_path)
    fields = {k: v for k, v in spec.__dict__.items() if k != "env"}
    code = OWNER.format(spec=fields, state=str(tmp_path / "state"), logs=str(tmp_path / "logs"))
    # SIGINT at its default, as from a terminal: a background shell (nohup ... &) starts the
    # test runner with SIGINT ignored, and a child would inherit that and never see the Ctrl-C
    owner = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, preexec_fn=default_sigint
    )
    url = owner.stdout.readline().strip()
    assert healthy(url)
    state = json.loads(next((tmp_path / "state").glob("*.json")).read_text())
    owner.send_signal(sig)
    owner.wait(timeout=10)
    assert wait_until(lambda: not is_alive(state["server_pid"]) and not is_alive(state["supervisor_pid"]))
    assert not healthy(url)


def test_start_failure_reports_the_server_log(tmp_path):
    spec = stub_spec(tmp_path, module="mathforge.no_such_server_module")
    with pytest.raises(InferenceError, match="No module named"):
        acquire_server(spec, "job", tmp_path / "state", tmp_path / "logs")


def test_start_timeout_stops_the_server(tmp_path):
    spec = stub_spec(tmp_path, script={"startup_delay_s": 30}, startup_timeout_s=2)
    t0 = time.monotonic()
    with pytest.raises(InferenceError, match="not healthy after 2s"):
        acquire_server(spec, "job", tmp_path / "state", tmp_path / "logs")
    assert time.monotonic() - t0 < 20
    assert not list((tmp_path / "state").glob("*.json"))
