"""A pool of long-lived vLLM servers on Slurm, started once with submitit.

When to use it (instead of each rule's own server, `server.scope: job`): a per-job server pays
the model load (minutes for a large model) in every job and holds its GPUs only while that job
runs; a pool loads each server once and serves every job of every run, so many short LLM jobs,
CPU-only rule jobs (they need no GPU at all: the GPUs are in the pool) and reruns cost no start-up.
Use per-job servers when jobs are few and long, or when GPUs must be released between stages.

`start_pool` submits `pool.servers` Slurm jobs; each runs `serve` (on its node): it starts the
configured server on a free port bound to all interfaces, waits for health, writes
`<dir>/endpoints/<job id>.json` with its URL, and removes it when the server stops or the job is
cancelled. Rules read the files (`pool_registry.pool_endpoints`) and the client spreads requests over all
servers, cooling down one that stops answering.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from mathforge.inference.endpoints import server_spec
from mathforge.inference.processes import free_port
from mathforge.inference.server import is_healthy
from mathforge.io import write_json

log = logging.getLogger(__name__)


def serve(cfg: dict, pool_dir: str) -> int:
    """Run one pool server until it exits or the job is cancelled (runs inside a Slurm job)."""
    spec = server_spec(cfg)
    spec.host = "0.0.0.0"  # reachable from the nodes that run the rules
    port = free_port()
    job = os.environ.get("SLURM_JOB_ID", str(os.getpid()))
    endpoint = Path(pool_dir) / "endpoints" / f"{job}.json"
    proc = subprocess.Popen(spec.command(port), env=spec.environment(), start_new_session=True)

    def stop(*_: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)  # scancel / the job's time limit
    signal.signal(signal.SIGUSR2, stop)  # submitit's pre-emption signal
    url = f"http://{socket.getfqdn()}:{port}"
    try:
        deadline = time.monotonic() + spec.startup_timeout_s
        while not is_healthy(f"http://127.0.0.1:{port}"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pool server did not start (exit code {proc.poll()})")
            time.sleep(1)
        write_json({"url": url, "job_id": job, "model": spec.served_model_name}, endpoint)
        log.info("pool server %s ready at %s", job, url)
        return proc.wait()
    finally:
        endpoint.unlink(missing_ok=True)
        stop()


def _executor(cfg: dict):
    import submitit

    pool = cfg["pool"]
    executor = submitit.AutoExecutor(folder=str(Path(pool["dir"]) / "submitit"), cluster="slurm")
    extra = {"account": pool["account"]} if pool["account"] else {}
    executor.update_parameters(
        name="mathforge-pool", timeout_min=pool["timeout_min"], slurm_partition=pool["partition"],
        cpus_per_task=pool["cpus_per_server"], mem_gb=pool["mem_gb"],
        slurm_gpus_per_node=pool["gpus_per_server"] or None, slurm_additional_parameters=extra,
    )  # fmt: skip
    return executor


def start_pool(cfg: dict) -> list[str]:
    """Submit the pool's server jobs; their ids are recorded in <dir>/jobs.json."""
    pool_dir = Path(cfg["pool"]["dir"])
    (pool_dir / "endpoints").mkdir(parents=True, exist_ok=True)
    executor = _executor(cfg)
    jobs = [executor.submit(serve, cfg, str(pool_dir)) for _ in range(cfg["pool"]["servers"])]
    ids = [job.job_id for job in jobs]
    write_json({"jobs": ids, "model": cfg["model"]}, pool_dir / "jobs.json")
    return ids


def stop_pool(pool_dir: str | Path) -> list[str]:
    """Cancel every server job of the pool."""
    path = Path(pool_dir) / "jobs.json"
    ids = json.loads(path.read_text())["jobs"] if path.exists() else []
    if ids:
        subprocess.run(["scancel", *ids], check=False)
    return ids
