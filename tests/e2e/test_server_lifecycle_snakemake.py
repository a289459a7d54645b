"""The managed-server lifecycle under real Snakemake: one server per run, shared by every LLM job,
stopped on success, on failure and on Ctrl-C. The server module is the scripted stub here (cheap
to start); test_workflow_vllm.py runs the same lifecycle with the real vLLM engine.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import PRELUDE_LEAN, SMALL_FORMAL, run_snakemake, snakemake_command

from mathforge.inference.processes import is_alive

pytestmark = pytest.mark.e2e


def write_workdir(tmp_path: Path, script: dict, threads: int = 4) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "forum.jsonl").write_text(
        "".join(
            json.dumps(
                {"thread_id": f"t{i}", "forum_post": f"Compute {i}+{i}.", "forum_discussions": "Post 1:\nok"}
            )
            + "\n"
            for i in range(threads)
        )
    )
    (tmp_path / "script.json").write_text(json.dumps(script))
    config = {
        "dataset": "t",
        "sources": [{"name": "forum", "format": "aops_jsonl", "path": "data/forum.jsonl", "shards": 2}],
        "lean": PRELUDE_LEAN,
        "formal": SMALL_FORMAL,
        "inference": {
            "backend": "vllm",
            "model": "scripted",
            "max_concurrent_requests": 4,
            "server": {
                "module": "mathforge.inference.stub_server",
                "device": "cpu",
                "extra_args": ["--script", str(tmp_path / "script.json")],
                "startup_timeout_s": 60,
            },
        },
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    return tmp_path


def server_logs(wd: Path) -> list[Path]:
    return sorted((wd / "logs" / "servers").glob("server-*.log"))


def assert_no_server_left(wd: Path) -> None:
    logs = server_logs(wd)
    assert logs, "no server was started"
    for log in logs:
        text = log.read_text()
        stopped = re.findall(r"stopped server (\d+)", text)
        assert stopped, f"{log} has no 'stopped server' line:\n{text[-2000:]}"
        for pid in stopped:
            assert not is_alive(int(pid)), f"server {pid} outlived Snakemake"
    assert not list((wd / ".mathforge" / "servers").glob("*.json"))


def test_one_shared_server_per_run_stopped_on_success(tmp_path):
    wd = write_workdir(tmp_path, {"default_reply": "Problem 1: Compute it."})
    run_snakemake(wd, wd / "config.yaml")
    assert len(server_logs(wd)) == 1  # 2 shards x 3 LLM rules, one server
    assert_no_server_left(wd)


def test_server_stopped_when_a_job_fails(tmp_path):
    wd = write_workdir(tmp_path, {"default_reply": "Problem 1: Compute it."})
    # A second source with a broken line: its ingest job fails while the good source's LLM jobs
    # (--keep-going) run on the shared server.
    config = yaml.safe_load((wd / "config.yaml").read_text())
    (wd / "data" / "bad.jsonl").write_text('{"forum_post": "Compute 9+9."}\n{broken\n')
    config["sources"].append({"name": "bad", "format": "aops_jsonl", "path": "data/bad.jsonl"})
    (wd / "config.yaml").write_text(yaml.safe_dump(config))
    proc = run_snakemake(wd, wd / "config.yaml", "--keep-going", check=False)
    assert proc.returncode != 0
    assert "bad.jsonl:line 2" in (wd / "logs" / "t" / "ingest_forum" / "bad.log").read_text()
    assert_no_server_left(wd)


def test_server_stopped_on_ctrl_c(tmp_path):
    wd = write_workdir(tmp_path, {"default_reply": "Problem 1: Compute it.", "delay_s": 30}, threads=2)
    cmd = snakemake_command(wd, wd / "config.yaml")
    log = (tmp_path / "snakemake.log").open("w")
    # SIGINT at its default, as in a terminal: run from a background shell (nohup ... &) the test
    # runner has SIGINT ignored, Snakemake would inherit that and never see the Ctrl-C
    proc = subprocess.Popen(
        cmd, stdout=log, stderr=log, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    state_dir = wd / ".mathforge" / "servers"
    deadline = time.monotonic() + 60
    while not list(state_dir.glob("*.json")):
        assert proc.poll() is None and time.monotonic() < deadline, "no server came up"
        time.sleep(0.2)
    state = json.loads(next(state_dir.glob("*.json")).read_text())
    time.sleep(2)  # requests are now in flight (the stub takes 30 s to answer)
    # Snakemake can miss a Ctrl-C that lands while it starts a job (seen under load: the run went on
    # to the end); as a user would, press it again until Snakemake says it is terminating.
    for _ in range(6):
        proc.send_signal(signal.SIGINT)
        acknowledged = time.monotonic() + 10
        while time.monotonic() < acknowledged and proc.poll() is None:
            if "Terminating processes on user request" in (tmp_path / "snakemake.log").read_text():
                break
            time.sleep(0.2)
        else:
            if proc.poll() is None:
                continue
        break
    proc.wait(timeout=90)
    deadline = time.monotonic() + 30
    while is_alive(state["server_pid"]) or is_alive(state["supervisor_pid"]):
        assert time.monotonic() < deadline, "server outlived Ctrl-C"
        time.sleep(0.2)


def test_one_server_per_distinct_model_each_recorded_in_its_state_dir_all_stopped(tmp_path):
    wd = write_workdir(tmp_path, {"default_reply": "Problem 1: Compute it."})
    config = yaml.safe_load((wd / "config.yaml").read_text())
    second = {**config["inference"], "served_model_name": "second", "max_concurrent_requests": 2}
    second["server"] = {**second["server"], "state_dir": ".mathforge/servers-second"}
    config["models"] = {"second": second}
    config["problems"] = {"answers": {"model": "second"}}  # extraction and classification: default
    (wd / "config.yaml").write_text(yaml.safe_dump(config))
    run_snakemake(wd, wd / "config.yaml", "results/t/problems/problems.summary.json")
    logs = server_logs(wd)
    assert len(logs) == 2  # two models, one server each, shared by both shards' jobs
    rows = pq.read_table(wd / "results" / "t" / "problems" / "problems.parquet").to_pylist()
    assert rows and {r["extraction"]["model"] for r in rows} == {"scripted"}
    assert {r["answer_extraction"]["model"] for r in rows} == {"second"}  # answered by the second server
    assert_no_server_left(wd)
    assert not list((wd / ".mathforge" / "servers-second").glob("*.json"))
