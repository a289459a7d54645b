"""license / source_url / authors and the truncation record travel from the forum rows through
extraction, classification and answers into problems.parquet and proof_problems.parquet; the
merged funnel counts the cuts."""

from __future__ import annotations

import json

import pyarrow.parquet as pq

from mathforge.config import validate_config
from mathforge.forum.stage import run as ingest_source
from mathforge.funnel import read_summary
from mathforge.problems.classify import classify_problems
from mathforge.problems.forum_answers import extract_answers
from mathforge.problems.merge import merge_problems
from mathforge.problems.stage import run as extract_problems

THREADS = [
    {"topic_id": 1, "forum_post": "Find $x$ if $2x=8$. " + "x" * 200, "forum_discussions": "Post 1:\n$x=4$.",
     "author": "Ann", "url": "https://example.org/t/1"},
    {"topic_id": 2, "forum_post": "Prove that $n^2 \\ge 0$.", "forum_discussions": ""},
]  # fmt: skip
SCRIPT = {
    "rules": [
        {"contains": "Forum post:\nFind $x$", "reply": "Problem 1: Find $x$ if $2x=8$."},
        {"contains": "Forum post:\nProve", "reply": "Problem 1: Prove that $n^2 \\ge 0$."},
        {"contains": "Problem: Find $x$", "reply": "\\boxed{4}"},
        {"contains": "Prove that", "reply": "proof"},
    ],
    "default_reply": "other",
}


def test_attribution_and_truncation_reach_the_merged_problems(tmp_path, stub_server):
    server = stub_server(SCRIPT)
    src = tmp_path / "threads.jsonl"
    src.write_text("".join(json.dumps(t) + "\n" for t in THREADS))
    cfg = validate_config(
        {
            "sources": [{"name": "forum", "format": "aops_jsonl", "path": str(src), "site": "example.org"}],
            "problems": {"max_post_chars": 100},
            "inference": {"backend": "openai", "model": "stub",
                          "openai": {"base_urls": [server.base_url], "api_key_env": None}},
        }
    )  # fmt: skip
    out = tmp_path / "out"
    store = out / "store"
    ingest_source(cfg["sources"][0], cfg["problems"], out / "raw.parquet", out / "raw.json")
    extract_problems(str(out / "raw.parquet"), 0, 1, cfg, out / "ext.parquet", out / "ext.d.parquet",
                     out / "ext.json", store / "e.jsonl")  # fmt: skip
    classify_problems(str(out / "ext.parquet"), cfg, out / "cls.parquet", out / "cls.p.parquet",
                      out / "cls.d.parquet", out / "cls.json", store / "c.jsonl")  # fmt: skip
    extract_answers(
        str(out / "cls.parquet"),
        cfg,
        out / "ans.parquet",
        out / "ans.d.parquet",
        out / "ans.json",
        store / "a.jsonl",
    )
    merge_problems([str(out / "ans.parquet")], [str(out / "cls.p.parquet")],
                   [str(out / f) for f in ("ext.d.parquet", "cls.d.parquet", "ans.d.parquet")],
                   out / "problems.parquet", out / "proofs.parquet", out / "dropped.parquet",
                   out / "summary.json")  # fmt: skip
    (answer,) = pq.read_table(out / "problems.parquet").to_pylist()
    (proof,) = pq.read_table(out / "proofs.parquet").to_pylist()
    assert answer["license"] == proof["license"] == "unknown"  # no licence configured
    assert answer["source_url"] == "https://example.org/t/1" and proof["source_url"] is None
    assert answer["authors"] == [{"role": "question", "post_id": "1", "user_id": None, "name": "Ann",
                                  "license": "unknown"}]  # fmt: skip
    assert proof["authors"] == []
    assert answer["truncated"] == [{"field": "forum_post", "original_chars": 220, "kept_chars": 100,
                                    "original_posts": None, "kept_posts": None}]  # fmt: skip
    assert proof["truncated"] == []
    ingest = read_summary(out / "raw.json")
    assert ingest.step == "ingest" and ingest.dropped == {} and ingest.n_out == 2
    assert ingest.counters["truncated"]["forum_post"] == {"rows": 1, "chars_cut": 120}
