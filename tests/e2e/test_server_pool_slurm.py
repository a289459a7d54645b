"""The server pool on a real Slurm: `start_pool` submits two server jobs with submitit, the
client spreads requests over both, and keeps answering when one server's job is cancelled.
The servers run the scripted stub (it takes vLLM's flags), since no GPU exists here. Skipped
where no Slurm answers, unless MATHFORGE_REQUIRE_SLURM=1 (CI)."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request

import pytest
from conftest import PRELUDE_LEAN, require_slurm

from mathforge.config import validate_config
from mathforge.inference.client import SamplingParams
from mathforge.inference.generation import Generator, make_request
from mathforge.inference.pool import start_pool, stop_pool
from mathforge.inference.pool_registry import pool_endpoints

pytestmark = pytest.mark.e2e


require_slurm()


def served(url: str) -> int:
    with urllib.request.urlopen(f"{url}/stats", timeout=5) as resp:
        return json.load(resp)["requests"]


def wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def test_pool_spreads_requests_and_survives_a_cancelled_server(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"default_reply": "pooled"}))
    cfg = validate_config(
        {
            "inference": {
                "backend": "pool",
                "model": "stub",
                "max_retries": 4,
                "backoff_initial_s": 0.1,
                "server": {"module": "mathforge.inference.stub_server", "extra_args": ["--script", str(script)]},
                "pool": {"dir": str(tmp_path / "pool"), "servers": 2, "partition": "cpu", "account": "root",
                         "gpus_per_server": 0, "cpus_per_server": 1, "mem_gb": 1, "timeout_min": 10, "wait_s": 60},
            }
        }
    )["inference"]  # fmt: skip
    ids = start_pool(cfg)
    try:
        endpoints = tmp_path / "pool" / "endpoints"
        wait(lambda: len(list(endpoints.glob("*.json"))) == 2, 180, "two pool servers")
        urls = pool_endpoints(tmp_path / "pool", wait_s=0)
        assert len(urls) == 2
        params = SamplingParams(max_tokens=8)
        with Generator(cfg, tmp_path / "store.jsonl") as gen:
            first = gen.run(
                [make_request(cfg, [{"role": "user", "content": f"a{i}"}], params) for i in range(24)]
            )
            assert all(r["text"] == "pooled" and r["error"] is None for r in first.values())
            assert all(served(url) > 0 for url in urls)  # both servers took a share
            dead = json.loads((endpoints / f"{ids[0]}.json").read_text())["url"]
            subprocess.run(["scancel", ids[0]], check=True)
            wait(lambda: not (endpoints / f"{ids[0]}.json").exists(), 60, "the cancelled server to leave")
            # same generator, same endpoint list: the dead server is cooled down, nothing is lost
            second = gen.run(
                [make_request(cfg, [{"role": "user", "content": f"b{i}"}], params) for i in range(24)]
            )
            assert all(r["text"] == "pooled" and r["error"] is None for r in second.values())
        assert pool_endpoints(tmp_path / "pool", wait_s=0) == [u for u in urls if u != dead]
    finally:
        stop_pool(tmp_path / "pool")


def test_lean_checks_fan_out_to_slurm_array_tasks(tmp_path):
    import sys

    from mathforge.lean.checker import ProofChecker
    from mathforge.lean.verify import LeanFileBackend

    statement = "theorem t (a b : Prop) (ha : a) (hb : b) : And a b :="
    proofs = [
        f"{statement} ⟨ha, hb⟩",
        f"{statement} ⟨hb, ha⟩",
        f"{statement} And.intro ha hb",
        f"{statement} sorry",
    ]
    lean = validate_config(
        {"lean": {**PRELUDE_LEAN, "command": [sys.executable, "-m", "mathforge.lean.elpi_lean"],
                  "fanout": {"enabled": True, "min_items": 2, "jobs": 2, "dir": str(tmp_path / "fanout"),
                             "partition": "cpu", "account": "root", "cpus_per_job": 1, "mem_gb": 1, "timeout_min": 10}}}
    )["lean"]  # fmt: skip
    items = [(lean["header"], statement, p) for p in proofs]
    local = ProofChecker(LeanFileBackend(lean["command"], memory_mb=8192), {**lean, "fanout": {}})
    expected = [v.status for v in local.check_many(items)]
    assert expected == ["ok", "error", "ok", "has_sorry"]
    checker = ProofChecker(
        LeanFileBackend(lean["command"], memory_mb=8192), lean, tmp_path / "verdicts.jsonl"
    )
    assert [v.status for v in checker.check_many(items)] == expected
    assert (
        checker.checked == 4 and len(list((tmp_path / "fanout").glob("*/*_result.pkl"))) == 2
    )  # two array tasks
    assert [
        v.status for v in checker.check_many(items)
    ] == expected and checker.cached == 4  # then from the cache
    checker.close()
