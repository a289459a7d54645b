"""The problems stages end to end at the function level, against the scripted stub server.

Deterministic replies let us check routing, drops, answers, provenance and LLM metadata exactly;
the real model runs the same code in tests/e2e.
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from conftest import summary_fields

from mathforge.config import validate_config
from mathforge.forum.stage import run as ingest_source
from mathforge.funnel import by_step, read_summaries, read_summary
from mathforge.problems.classify import classify_problems
from mathforge.problems.forum_answers import extract_answers
from mathforge.problems.merge import merge_problems
from mathforge.problems.stage import run as extract_problems
from mathforge.schemas.problems import ANSWERS_SCHEMA, CLASSIFIED_SCHEMA, EXTRACTED_SCHEMA

THREADS = [
    {"thread_id": "a1", "forum_post": "Find $x$ if $2x=8$.", "forum_discussions": "Post 1:\n$x=4$."},
    {"thread_id": "a2", "forum_post": "Prove that $n^2 \\ge 0$.", "forum_discussions": "Post 1:\nSquares."},
    {"thread_id": "a3", "forum_post": "Is 7 prime? Also compute $3+4$.", "forum_discussions": ""},
    {"thread_id": "a4", "forum_post": "Meeting moved to Friday.", "forum_discussions": ""},
    {"thread_id": "a5", "forum_post": "What is 1+1? (A) 1 (B) 2", "forum_discussions": "Post 1:\n(B)"},
    {"thread_id": "a6", "forum_post": "Garbled reply thread", "forum_discussions": ""},
    # the extraction copies the reply's "= 385" into the problem: unfaithful
    {"thread_id": "a7", "forum_post": "Compute $\\sum_{k=1}^{10} k^2$.",
     "forum_discussions": "Post 1:\n$1^2 + \\dots + 10^2 = 385$"},
    # the post itself states the answer the discussion confirms: faithful, but answer in statement
    {"thread_id": "a8", "forum_post": "Evaluate $2^{10}$. My book says $2^{10} = 1024$.",
     "forum_discussions": "Post 1:\nYes, $1024$."},
]  # fmt: skip
LEAKED = "Compute $\\sum_{k=1}^{10} k^2$.\nSum: $1^2 + \\dots + 10^2 = 385$"
STATED = "Evaluate $2^{10}$. My book says $2^{10} = 1024$."

SCRIPT = {
    "rules": [
        # extraction (the last user message is "Forum post:\n<post>")
        {"contains": "Forum post:\nFind $x$", "reply": "Problem 1: Find $x$ if $2x=8$."},
        {"contains": "Forum post:\nProve", "reply": "Problem 1: Prove that $n^2 \\ge 0$."},
        {"contains": "Forum post:\nIs 7", "reply": "Problem 1: Is 7 prime?\nProblem 2: Compute $3+4$."},
        {"contains": "Forum post:\nMeeting", "reply": "No problems identified."},
        {"contains": "Forum post:\nWhat is 1+1", "reply": "Problem 1: What is 1+1? (A) 1 (B) 2"},
        {"contains": "Forum post:\nGarbled", "reply": "I am not sure what you mean."},
        {"contains": "Forum post:\nCompute $\\sum", "reply": f"Problem 1: {LEAKED}"},
        {"contains": "Forum post:\nEvaluate", "reply": f"Problem 1: {STATED}"},
        # the retry (problems.faithfulness.retry): the reason is sent back once
        {"contains": "not in the forum post", "reply": "Problem 1: Compute $\\sum_{k=1}^{10} k^2$."},
        # answers (the last user message starts with "Problem: ...")
        {"contains": "Problem: Find $x$", "reply": "\\boxed{4}"},
        {"contains": "Problem: Evaluate", "reply": "\\boxed{1024}"},
        # classifiers: the last user message is the bare problem
        {"contains": "Prove that", "reply": "proof"},
        {"contains": "(A) 1 (B) 2", "reply": "choices"},
        {"contains": "Is 7 prime?", "reply": "yesno"},
    ],
    "default_reply": "other",
    "keep_bodies": True,
}


@pytest.fixture
def stage_env(tmp_path, stub_server):
    """(validated config pointing at a scripted stub, the stub)."""
    server = stub_server(SCRIPT)
    src = tmp_path / "threads.jsonl"
    src.write_text("".join(json.dumps(t) + "\n" for t in THREADS))
    config = validate_config(
        {
            "sources": [
                {
                    "name": "forum",
                    "format": "aops_jsonl",
                    "path": str(src),
                    "site": "example.org",
                    "license": "CC0-1.0",
                }
            ],
            "inference": {
                "backend": "openai",
                "model": "stub",
                "openai": {"base_urls": [server.base_url], "api_key_env": None},
            },
        }
    )
    return config, server


def run_all(cfg, tmp_path):
    out = tmp_path / "out"
    ingest_source(cfg["sources"][0], cfg["problems"], out / "raw.parquet", out / "raw.stats.json")
    extract_problems(
        str(out / "raw.parquet"),
        0,
        1,
        cfg,
        out / "ext.parquet",
        out / "ext.dropped.parquet",
        out / "ext.stats.json",
        out / "store" / "ext.jsonl",
    )
    classify_problems(
        str(out / "ext.parquet"),
        cfg,
        out / "cls.parquet",
        out / "cls.proofs.parquet",
        out / "cls.dropped.parquet",
        out / "cls.stats.json",
        out / "store" / "cls.jsonl",
    )
    extract_answers(
        str(out / "cls.parquet"),
        cfg,
        out / "ans.parquet",
        out / "ans.dropped.parquet",
        out / "ans.stats.json",
        out / "store" / "ans.jsonl",
    )
    merge_problems(
        [str(out / "ans.parquet")],
        [str(out / "cls.proofs.parquet")],
        [str(out / f"{step}.dropped.parquet") for step in ("ext", "cls", "ans")],
        out / "problems.parquet",
        out / "proofs.parquet",
        out / "dropped.parquet",
        out / "summary.json",
    )
    return out


def test_problems_stages_route_drop_and_answer(stage_env, tmp_path):
    cfg, _server = stage_env
    out = run_all(cfg, tmp_path)
    extracted = pq.read_table(out / "ext.parquet")
    assert extracted.schema.equals(EXTRACTED_SCHEMA)
    assert sorted(extracted.column("problem").to_pylist()) == sorted(
        [
            "Find $x$ if $2x=8$.",
            "Prove that $n^2 \\ge 0$.",
            "Is 7 prime?",
            "Compute $3+4$.",
            "What is 1+1? (A) 1 (B) 2",
            STATED,
        ]
    )
    ext_stats = summary_fields(out / "ext.stats.json")
    assert ext_stats["n_in"] == 8 and ext_stats["n_out"] == 6
    assert ext_stats["dropped"] == {
        "extraction:unfaithful": 1,
        "no_problem:none": 1,
        "no_problem:unparseable": 1,
    }

    problems = pq.read_table(out / "problems.parquet")
    assert problems.schema.equals(ANSWERS_SCHEMA)
    rows = {r["problem"]: r for r in problems.to_pylist()}
    assert set(rows) == {"Find $x$ if $2x=8$.", "Compute $3+4$."}
    assert rows["Find $x$ if $2x=8$."]["expected_answer"] == "4"
    assert rows["Find $x$ if $2x=8$."]["answer_status"] == "found"
    assert rows["Compute $3+4$."]["expected_answer"] is None
    assert rows["Compute $3+4$."]["answer_status"] == "no_discussion"

    proofs = pq.read_table(out / "proofs.parquet")
    assert proofs.schema.equals(CLASSIFIED_SCHEMA)
    assert proofs.column("problem").to_pylist() == ["Prove that $n^2 \\ge 0$."]
    # A proof leaves the chain at its first classifier: only one call was made for it.
    assert [c["class"] for c in proofs.to_pylist()[0]["classification"]] == ["proof"]

    dropped = pq.read_table(out / "dropped.parquet").to_pylist()
    reasons = sorted(d["reason"] for d in dropped)
    assert reasons == [
        "answer_in_statement", "class:binary", "class:mcq", "extraction:unfaithful", "none", "unparseable"
    ]  # fmt: skip
    unfaithful = next(d for d in dropped if d["reason"] == "extraction:unfaithful")
    assert unfaithful["problem"] == LEAKED and unfaithful["step"] == "extract_problems"
    assert unfaithful["detail"] == "385 in $1^2 + \\dots + 10^2 = 385$" and unfaithful["problem_id"]
    stated = next(d for d in dropped if d["reason"] == "answer_in_statement")
    assert stated["problem"] == STATED and stated["step"] == "extract_answers"
    assert stated["detail"] == "answer 1024: = 1024 closes the statement"
    summary = read_summary(out / "summary.json")
    assert summary.step == "merge_problems" and summary.n_in == summary.n_out == 3
    assert summary.counters["problems"] == 2 and summary.counters["proof_problems"] == 1
    assert summary.counters["dropped_by_the_problem_steps"] == len(dropped)
    steps = by_step(read_summaries([str(out / f) for f in ("raw.stats.json", "ext.stats.json", "cls.stats.json",
                                                           "ans.stats.json")]))  # fmt: skip
    assert list(steps) == ["ingest", "extract_problems", "classify_problems", "extract_answers"]
    assert steps["classify_problems"].dropped == {"class:binary": 1, "class:mcq": 1}
    assert steps["extract_problems"].dropped["extraction:unfaithful"] == 1
    assert steps["extract_answers"].dropped == {"answer_in_statement": 1}
    assert steps["extract_answers"].n_in == 3 and steps["extract_answers"].n_out == 2


def test_unfaithful_extraction_is_sent_back_once_when_configured(stage_env, tmp_path):
    cfg, server = stage_env
    cfg["problems"]["faithfulness"]["retry"] = True
    out = run_all(cfg, tmp_path)
    ext_stats = summary_fields(out / "ext.stats.json")
    assert "extraction:unfaithful" not in ext_stats["dropped"] and ext_stats["n_out"] == 7
    assert ext_stats["faithfulness"] == {"retried": 1, "recovered": 1, "unfaithful": 0}
    rows = pq.read_table(out / "ext.parquet").to_pylist()
    fixed = next(r for r in rows if r["thread_id"] == "a7")
    assert fixed["problem"] == "Compute $\\sum_{k=1}^{10} k^2$."
    assert fixed["extraction"]["prompt_name"] == "extract_problems_retry"
    retry = next(b for b in server.stats()["bodies"] if "not in the forum post" in json.dumps(b))
    assert "385" in retry["messages"][-1]["content"]  # the reason is sent back
    assert retry["messages"][-2] == {"role": "assistant", "content": f"Problem 1: {LEAKED}"}


def test_faithfulness_check_can_be_turned_off(stage_env, tmp_path):
    cfg, _server = stage_env
    cfg["problems"]["faithfulness"]["enabled"] = False
    out = run_all(cfg, tmp_path)
    assert LEAKED in pq.read_table(out / "ext.parquet").column("problem").to_pylist()


def test_rows_carry_provenance_and_llm_metadata(stage_env, tmp_path):
    cfg, _server = stage_env
    out = run_all(cfg, tmp_path)
    row = next(r for r in pq.read_table(out / "problems.parquet").to_pylist() if r["expected_answer"])
    assert row["source"] == "forum" and row["site"] == "example.org" and row["license"] == "CC0-1.0"
    assert row["thread_id"] == "a1" and row["source_record"] == "line 1"
    assert row["source_file"].endswith("threads.jsonl")
    assert len(row["problem_id"]) == 16
    meta = row["extraction"]
    assert meta["prompt_name"] == "extract_problems" and len(meta["prompt_hash"]) == 16
    assert meta["model"] == "stub" and meta["endpoint_kind"] == "openai"
    assert json.loads(meta["sampling"])["temperature"] == 0.0 and meta["seed"] == 0
    assert meta["finish_reason"] == "stop" and meta["completion_tokens"] == 5
    assert [c["class"] for c in row["classification"]] == ["proof", "mcq", "binary", "invalid"]
    assert row["answer_extraction"]["raw_output"] == "\\boxed{4}"


def test_rerun_is_served_from_the_request_store(stage_env, tmp_path):
    cfg, server = stage_env
    run_all(cfg, tmp_path)
    sent = server.stats()["requests"]
    run_all(cfg, tmp_path)
    assert server.stats()["requests"] == sent
