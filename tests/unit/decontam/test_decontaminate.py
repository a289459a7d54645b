"""decontaminate() with the real embedding model and a scripted judge: every branch, the audit,
the summary and byte-identical reruns."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import openai_inference_config

from mathforge.config import validate_config
from mathforge.decontam.stage import AUDIT_SCHEMA
from mathforge.decontam.stage import run as decontaminate
from mathforge.funnel import read_summary

BENCH = [
    {
        "id": "b1",
        "problem": "A train travels 120 kilometres in 2 hours. What is its average speed in kilometres per hour?",
    },
    {"id": "b2", "problem": "How many positive divisors does $360$ have?"},
    {"id": "b3", "problem": "Find the sum of the interior angles of a convex octagon, in degrees."},
]
PROBLEMS = [
    # verbatim copy inside a forum post -> certain (lexical)
    (
        "p1",
        "Hi all! A train travels 120 kilometres in 2 hours. What is its average speed in kilometres per hour? Thanks",
        None,
    ),
    # a rewording -> dense candidate -> judge says same
    ("p2", "Compute the number of positive integers that divide 360.", None),
    # a rewording the judge answers with garbage -> unparseable
    ("p3", "In degrees, what do the interior angles of a convex eight-sided polygon add up to?", None),
    # clean problems, two of them near-duplicates of each other
    ("p4", "Prove that the square of every odd integer is one more than a multiple of 8.", None),
    ("p5", "Prove that the square of every odd integer is one more than a multiple of 8!", "true"),
    ("p6", "What is the probability of rolling a sum of 7 with two fair dice?", None),
]
SCRIPT = {
    "rules": [
        {"contains": "divide 360", "reply": "same"},
        {"contains": "eight-sided", "reply": "I cannot tell."},
    ],
    "default_reply": "different",
}


@pytest.fixture
def decontam_env(tmp_path, stub_server):
    server = stub_server(SCRIPT)
    bench = tmp_path / "bench.jsonl"
    bench.write_text("".join(json.dumps(b) + "\n" for b in BENCH))
    problems = tmp_path / "problems.parquet"
    pq.write_table(
        pa.table(
            {
                "problem_id": [p[0] for p in PROBLEMS],
                "problem": [p[1] for p in PROBLEMS],
                "source": ["forum"] * len(PROBLEMS),
                "expected_answer": [p[2] for p in PROBLEMS],
            }
        ),
        problems,
    )
    cfg = validate_config(
        {
            "decontam": {
                "benchmarks": [{"name": "toy", "path": str(bench), "field": "problem", "id_field": "id"}]
            }
        }
    )
    cfg["inference"] = openai_inference_config(server.base_url)
    return tmp_path, problems, cfg, server


def run(tmp_path, problems, cfg, tag="a"):
    out = tmp_path / tag
    summary = decontaminate(
        [str(problems)], "answers", cfg, out / "set.parquet", out / "audit.parquet", out / "summary.json",
        out / "candidates.parquet", out / "vectors.npy",
        str(tmp_path / "store.jsonl"), tmp_path / "emb.sqlite",
    )  # fmt: skip
    return out, summary


def test_every_branch_is_audited(decontam_env):
    tmp_path, problems, cfg, _server = decontam_env
    out, summary = run(tmp_path, problems, cfg)
    kept = pq.read_table(out / "set.parquet").column("problem_id").to_pylist()
    audit = {a["problem_id"]: a for a in pq.read_table(out / "audit.parquet").to_pylist()}
    assert pq.read_table(out / "audit.parquet").schema.equals(AUDIT_SCHEMA)
    assert kept == ["p5", "p6"]  # input order kept
    assert audit["p1"]["method"] == "certain_lexical" and audit["p1"]["benchmark_item_id"] == "b1"
    assert audit["p2"]["method"] == "judge" and audit["p2"]["judge_verdict"] == "yes"
    assert audit["p2"]["benchmark_item_id"] == "b2" and audit["p2"]["dense_score"] >= 0.75
    assert audit["p3"]["judge_verdict"] == "unparseable" and audit["p3"]["judge_raw"] == "I cannot tell."
    assert audit["p4"]["reason"] == "duplicate_of" and audit["p4"]["duplicate_of"] == "p5"  # p5 has an answer
    assert summary.step == "decontaminate:answers" and summary.notes["target"] == "answers"
    assert summary.dropped == {"benchmark_match": 3, "duplicate_of": 1}
    assert summary.counters["removed_per_benchmark"] == {"toy": 3}
    assert summary.n_in == 6 and summary.n_out == 2
    assert read_summary(out / "summary.json") == summary
    candidates = pq.read_table(out / "candidates.parquet").to_pylist()
    by_pair = {(c["problem_id"], c["benchmark_item_id"]): c for c in candidates}
    assert by_pair[("p1", "b1")]["decision"] == "certain_lexical" and by_pair[("p1", "b1")]["removed"]
    assert by_pair[("p2", "b2")]["judge_verdict"] == "yes"
    # Candidates the judge rejected are kept in the candidates table, marked as not removed.
    cleared = [c for c in candidates if c["judge_verdict"] == "no"]
    assert all(not c["removed"] or c["problem_id"] in audit for c in cleared)


def test_unparseable_judge_answers_can_count_as_clean(decontam_env):
    tmp_path, problems, cfg, _server = decontam_env
    cfg["decontam"]["judge"]["unparseable_as"] = "clean"
    out, _summary = run(tmp_path, problems, cfg)
    assert "p3" in pq.read_table(out / "set.parquet").column("problem_id").to_pylist()


def test_without_judge_every_candidate_counts(decontam_env):
    tmp_path, problems, cfg, server = decontam_env
    cfg["decontam"]["judge"]["enabled"] = False
    out, _summary = run(tmp_path, problems, cfg)
    audit = {a["problem_id"]: a["method"] for a in pq.read_table(out / "audit.parquet").to_pylist()}
    assert audit["p2"] == "retrieval" and audit["p3"] == "retrieval"
    assert server.stats()["requests"] == 0


def test_same_inputs_give_byte_identical_outputs(decontam_env):
    tmp_path, problems, cfg, server = decontam_env
    first, _ = run(tmp_path, problems, cfg, "a")
    sent = server.stats()["requests"]
    second, _ = run(tmp_path, problems, cfg, "b")
    for name in ("set.parquet", "audit.parquet", "summary.json", "candidates.parquet"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    assert server.stats()["requests"] == sent  # judge answers came from the request store
