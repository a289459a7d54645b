"""Decontamination through the real workflow with the real embedding model, on a hard test set
made at run time from the shared benchmarks (verbatim copies, copies inside forum posts, LaTeX
rewrites, hand-written rewordings) and same-style negatives: recall and precision before the
judge must both reach 0.98, and the audit must name the right benchmark item.
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import REPO, SHARED, run_snakemake

from mathforge.decontam.evaluation import ANSWER_BENCHMARKS, build_examples, score
from mathforge.funnel import read_summary

pytestmark = pytest.mark.e2e

BENCHMARKS = SHARED / "data" / "benchmarks"
DATA = REPO / "tests" / "data" / "decontam"


@pytest.mark.skipif(not BENCHMARKS.exists(), reason="needs ../shared/data/benchmarks")
def test_decontamination_recall_precision_and_audit(tmp_path, stub_server):
    examples, _index = build_examples(
        BENCHMARKS, DATA / "rewordings.jsonl", DATA / "negatives.jsonl", per_kind=100
    )
    table = tmp_path / "problems.jsonl"
    table.write_text(
        "".join(json.dumps({"id": f"ex{k}", "problem": e.text}) + "\n" for k, e in enumerate(examples))
    )
    # Every classifier hears its negative label, so all rows stay in the answer set.
    server = stub_server({"default_reply": "answer open other valid"})
    config = {
        "dataset": "decon",
        "sources": [{"name": "eval", "format": "problem_table", "path": str(table), "site": "test"}],
        "inference": {"backend": "openai", "model": "stub", "openai": {"base_urls": [server.base_url], "api_key_env": None}},
        "decontam": {
            "benchmarks": [
                {"name": name, "path": str(BENCHMARKS / f"{name}.jsonl"), "field": field, "applies_to": ["answers"]}
                for name, field in ANSWER_BENCHMARKS.items()
            ],
            "judge": {"enabled": False},  # measure retrieval itself
            "embedding": {"cache_dir": str(tmp_path.parent / "decontam-embeddings")},
        },
    }  # fmt: skip
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    run_snakemake(tmp_path, tmp_path / "config.yaml", timeout=1800)

    out = tmp_path / "results" / "decon" / "decontam" / "answers" / "eval"  # the one source's set
    audit = pq.read_table(out / "audit.parquet").to_pylist()
    problems = pq.read_table(tmp_path / "results" / "decon" / "problems" / "problems.parquet").to_pylist()
    assert len(problems) == len(examples)
    example_of = {p["problem_id"]: examples[int(p["thread_id"][2:])] for p in problems}
    matched = {a["problem_id"]: a for a in audit if a["reason"] == "benchmark_match"}
    flagged = [pid in matched for pid in example_of]
    result = score(list(example_of.values()), flagged)
    assert result["recall"] >= 0.98, result
    assert result["precision"] >= 0.98, result
    # A verbatim or wrapped copy is attributed to the very item it copies.
    for pid, a in matched.items():
        e = example_of[pid]
        if e.kind in {"verbatim", "wrapped"}:
            assert (a["benchmark"], a["benchmark_item_id"]) == (e.benchmark, e.item_id)
    summary = read_summary(out / "set.summary.json")
    assert summary.dropped["benchmark_match"] == len(matched)
    assert sum(summary.counters["removed_per_benchmark"].values()) == len(matched)
    kept = pq.read_table(out / "set.parquet").num_rows
    assert kept == len(problems) - len(audit)
