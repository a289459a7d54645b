"""Real Snakemake runs of the problems DAG with the scripted stub as an external endpoint.

Fast and deterministic: the DAG shape, incremental reruns, bring-your-own tables, bad input.
The same DAG with the real vLLM engine runs in test_workflow_vllm.py.
"""

from __future__ import annotations

import json
import os
import time

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import PRELUDE_LEAN, REPO, SMALL_FORMAL, planned_jobs, run_snakemake

pytestmark = pytest.mark.e2e

# The jobs a change to problems.parquet reruns (with this file's 2 solution shards, 1 formal shard).
DOWNSTREAM_OF_PROBLEMS = {
    "decontaminate": 2,
    "generate_solutions": 2,
    "judge_answers": 2,
    "fill_majority_answer": 2,
    "write_sft_shards": 1,
    "autoformalize": 1,
    "all": 1,
}

SCRIPT = {
    "rules": [
        {"contains": "Forum post:\nProve", "reply": "Problem 1: Prove that $n^3-n$ is divisible by $6$."},
        {"contains": "Forum post:", "reply": "Problem 1: Compute $1+1$."},
        {"contains": "Problem: Compute", "reply": "\\boxed{2}"},
        {"contains": "Prove that", "reply": "proof"},
    ],
    "default_reply": "open",
}


@pytest.fixture
def workdir(tmp_path, stub_server):
    server = stub_server(SCRIPT)
    data = tmp_path / "data"
    data.mkdir()
    (data / "forum.jsonl").write_text(
        json.dumps(
            {
                "thread_id": "p1",
                "forum_post": "Prove that $n^3-n$ is divisible by 6.",
                "forum_discussions": "Post 1:\nThree consecutive integers.",
            }
        )
        + "\n"
        + json.dumps({"thread_id": "c1", "forum_post": "Compute 1+1.", "forum_discussions": "Post 1:\n2"})
        + "\n"
    )
    (data / "Posts.xml").write_bytes((REPO / "config" / "demo" / "Posts.xml").read_bytes())
    (data / "table.jsonl").write_text(
        json.dumps({"id": "b1", "problem": "Compute $2+2$.", "expected_answer": 4}) + "\n"
    )
    config = {
        "dataset": "t",
        "sources": [
            {"name": "forum", "format": "aops_jsonl", "path": "data/forum.jsonl", "site": "f", "shards": 2},
            {"name": "se", "format": "stackexchange_xml", "path": "data/Posts.xml", "site": "se"},
            {"name": "byo", "format": "problem_table", "path": "data/table.jsonl", "site": "mine"},
        ],
        "inference": {
            "backend": "openai",
            "model": "stub",
            "max_concurrent_requests": 8,
            "openai": {"base_urls": [server.base_url], "api_key_env": None},
        },
        "solutions": {"n_shards": 2, "n_tir": 1, "n_plain": 1, "efforts": ["low"]},
        "lean": PRELUDE_LEAN,
        "formal": SMALL_FORMAL,
        "sandbox": {"prestart": 1},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    return tmp_path, server


def test_full_run_then_nothing_to_do(workdir):
    wd, _server = workdir
    run_snakemake(wd, wd / "config.yaml")
    results = wd / "results" / "t" / "problems"
    problems = pq.read_table(results / "problems.parquet").to_pylist()
    proofs = pq.read_table(results / "proof_problems.parquet").to_pylist()
    assert {p["source"] for p in problems} == {"forum", "se", "byo"}
    byo = next(p for p in problems if p["source"] == "byo")
    assert byo["expected_answer"] == "4" and byo["answer_status"] == "provided"
    assert byo["thread_id"] == "b1" and byo["extraction"] is None
    assert [p["thread_id"] for p in proofs if p["source"] == "forum"] == ["p1"]
    summary = json.loads((results / "summary.json").read_text())
    assert summary["per_source"]["byo"]["problems"] == 1
    assert (wd / "logs" / "t" / "benchmarks" / "merge_problems.tsv").exists()
    solutions = [
        row
        for k in range(2)
        for row in pq.read_table(wd / "results" / "t" / "solutions" / f"shard-{k}.parquet").to_pylist()
    ]
    kept = pq.read_table(wd / "results" / "t" / "decontam" / "answers" / "set.parquet").to_pylist()
    assert sorted((s["problem_id"], s["mode"]) for s in solutions) == sorted(
        (p["problem_id"], mode) for p in kept for mode in ("tir", "plain")
    )
    assert (
        "extract_problems" in (wd / "logs" / "t" / "extract_problems" / "forum" / "shard-0.log").read_text()
    )

    dry = run_snakemake(wd, wd / "config.yaml", "-n")
    assert "Nothing to be done" in dry.output + dry.stderr


def test_touching_one_input_reruns_only_what_depends_on_it(workdir):
    wd, server = workdir
    run_snakemake(wd, wd / "config.yaml")
    sent = server.stats()["requests"]
    time.sleep(1.1)
    posts = wd / "data" / "Posts.xml"
    os.utime(posts)
    # Same content, newer mtime: Snakemake compares the recorded checksum and rebuilds nothing.
    assert "Nothing to be done" in run_snakemake(wd, wd / "config.yaml", "-n").output
    posts.write_text(posts.read_text().replace("</posts>", "<!-- edited -->\n</posts>"))
    dry = run_snakemake(wd, wd / "config.yaml", "-n")
    jobs = planned_jobs(dry.output)
    assert jobs == {
        "ingest_forum": 1,
        "extract_problems": 1,
        "classify_problems": 1,
        "extract_answers": 1,
        "merge_problems": 1,
        **DOWNSTREAM_OF_PROBLEMS,
    }
    assert "se/raw.parquet" in dry.output and "forum/raw.parquet" not in dry.output
    run_snakemake(wd, wd / "config.yaml")
    assert server.stats()["requests"] == sent  # rebuilt from the request store: no new LLM calls


def test_changing_a_stage_parameter_reruns_that_stage_and_downstream(workdir):
    wd, _server = workdir
    run_snakemake(wd, wd / "config.yaml")
    config = yaml.safe_load((wd / "config.yaml").read_text())
    config["problems"] = {"answers": {"prompt": "extract_answer", "max_tokens": 99}}
    (wd / "config.yaml").write_text(yaml.safe_dump(config))
    jobs = planned_jobs(run_snakemake(wd, wd / "config.yaml", "-n").output)
    assert jobs == {
        "extract_answers": 4,
        "merge_problems": 1,
        **DOWNSTREAM_OF_PROBLEMS,
    }


def test_bad_input_fails_with_file_and_line_and_writes_nothing(workdir):
    wd, _server = workdir
    with (wd / "data" / "forum.jsonl").open("a") as fh:
        fh.write("{not json\n")
    proc = run_snakemake(wd, wd / "config.yaml", check=False)
    assert proc.returncode != 0
    log = (wd / "logs" / "t" / "ingest_forum" / "forum.log").read_text()
    assert "data/forum.jsonl:line 3: expected one JSON object per line" in log
    assert not (wd / "results" / "t" / "problems" / "forum" / "raw.parquet").exists()
    assert not list((wd / "results" / "t" / "problems" / "forum").glob(".*tmp*"))


def test_invalid_config_is_rejected_before_any_job(workdir):
    wd, _server = workdir
    config = yaml.safe_load((wd / "config.yaml").read_text())
    config["inference"]["backend"] = "llamafile"
    (wd / "config.yaml").write_text(yaml.safe_dump(config))
    proc = run_snakemake(wd, wd / "config.yaml", "-n", check=False)
    assert proc.returncode != 0
    assert "inference.backend" in proc.output
