"""A reply cut by the token limit loses its last (possibly half-written) problem: that problem is
dropped with a reason and a count, never silently."""

from __future__ import annotations

import json

import pyarrow.parquet as pq

from mathforge.config import validate_config
from mathforge.forum.stage import run as ingest_source
from mathforge.problems.stage import run as extract_problems

THREADS = [
    {"thread_id": "c1", "forum_post": "Compute $2+3$. Also find $x$ with $x+1=5$.", "forum_discussions": ""},
    {"thread_id": "c2", "forum_post": "Find $y$ with $3y=9$.", "forum_discussions": ""},
    {"thread_id": "c3", "forum_post": "Compute $7 \\cdot 6$.", "forum_discussions": ""},
]  # fmt: skip
SCRIPT = {
    "rules": [
        # cut mid-way through problem 2: problem 1 survives, problem 2 is dropped as cut
        {"contains": "Forum post:\nCompute $2+3$", "finish_reason": "length",
         "reply": "Problem 1: Compute $2+3$.\nProblem 2: Also find $x$ with"},
        # cut inside the only problem: the thread has no problem left
        {"contains": "Forum post:\nFind $y$", "finish_reason": "length", "reply": "Problem 1: Find $y$ wi"},
        {"contains": "Forum post:\nCompute $7", "reply": "Problem 1: Compute $7 \\cdot 6$."},
    ],
    "default_reply": "other",
}  # fmt: skip


def test_the_problem_cut_by_the_token_limit_is_dropped_and_counted(tmp_path, stub_server):
    server = stub_server(SCRIPT)
    src = tmp_path / "threads.jsonl"
    src.write_text("".join(json.dumps(t) + "\n" for t in THREADS))
    cfg = validate_config(
        {
            "sources": [{"name": "forum", "format": "aops_jsonl", "path": str(src), "site": "example.org"}],
            "inference": {"backend": "openai", "model": "stub",
                          "openai": {"base_urls": [server.base_url], "api_key_env": None}},
        }
    )  # fmt: skip
    out = tmp_path / "out"
    ingest_source(cfg["sources"][0], cfg["problems"], out / "raw.parquet", out / "raw.json")
    stats = extract_problems(str(out / "raw.parquet"), 0, 1, cfg, out / "ext.parquet", out / "ext.d.parquet",
                             out / "ext.json", out / "store.jsonl")  # fmt: skip
    kept = sorted(r["problem"] for r in pq.read_table(out / "ext.parquet").to_pylist())
    assert kept == ["Compute $2+3$.", "Compute $7 \\cdot 6$."]
    dropped = pq.read_table(out / "ext.d.parquet").to_pylist()
    cut = sorted((d["reason"], d["problem"]) for d in dropped)
    assert cut == [
        ("extraction:cut_by_token_limit", "Also find $x$ with"),
        ("extraction:cut_by_token_limit", "Find $y$ wi"),
    ]
    assert all(d["thread_uid"] and d["problem_id"] for d in dropped)
    assert stats.dropped == {"extraction:cut_by_token_limit": 2}
    summary = json.loads((out / "ext.json").read_text())
    assert summary["dropped"] == {"extraction:cut_by_token_limit": 2}
