"""Real Snakemake runs of the problems DAG with the scripted stub as an external endpoint.

Fast and deterministic: the DAG shape, incremental reruns, bring-your-own tables, bad input.
The same DAG with the real vLLM engine runs in test_workflow_vllm.py.
"""

from __future__ import annotations

import json
import os
import re
import time
import zipfile

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import (
    LEAKED_EXTRACTION,
    STATED_POST,
    STUB_WORKFLOW_SCRIPT,
    planned_jobs,
    run_snakemake,
    summary_fields,
    write_stub_workflow,
)

from mathforge.funnel import read_summary

pytestmark = pytest.mark.e2e

# The solutions parts (<source>/shard-K) of the stub workflow: forum's solution_shards: 2, and one
# shard each (solutions.n_shards: 1) for se and byo.
SOLUTION_PARTS = ("forum/shard-0", "forum/shard-1", "se/shard-0", "byo/shard-0")

# What a changed answer extraction (problems/<source>/answers/shard-K.parquet of every source) reruns:
# each source's answer decontamination and its solutions parts (forum 2, se 1, byo 1; SOLUTION_PARTS)
# and the math SFT side. The proof problems (classified/*.proofs.parquet) come before answer
# extraction, so no proof decontamination, autoformalize or prove job reruns.
DOWNSTREAM_OF_ANSWERS = {
    "decontaminate": 3,  # answers x (forum, se, byo)
    "generate_solutions": 4,
    "judge_answers": 4,
    "fill_majority_answer": 4,
    "write_sft_part": 4,
    "write_sft_shards": 1,
    "dataset_folder": 1,  # publish: the math SFT dataset folder
    "export_dataset": 2,  # and its exports in the default formats (chat, nemo_skills)
    "summarize_run": 1,
    "all": 1,
}
# What a changed se problem reruns: se's jobs and those of the sources listed after it (byo), whose
# decontamination deduplicates against se's kept problems; forum (listed first) reruns nothing.
# One formal shard per source (formal.n_shards: 1); the statement table's prove part is untouched.
DOWNSTREAM_OF_SE_PROBLEMS = {
    "decontaminate": 4,  # (answers, proofs) x (se, byo)
    "generate_solutions": 2,  # se/shard-0, byo/shard-0
    "judge_answers": 2,
    "fill_majority_answer": 2,
    "write_sft_part": 2,
    "write_sft_shards": 1,
    "autoformalize": 2,  # se/shard-0, byo/shard-0
    "prove": 2,
    "write_proof_sft_shards": 1,
    "dataset_folder": 3,  # publish: the math, the proof and the formal statements dataset folders
    "export_dataset": 4,  # and their exports in the default formats (chat, nemo_skills)
    "summarize_run": 1,
    "all": 1,
}


@pytest.fixture
def workdir(tmp_path, stub_server):
    server = stub_server(STUB_WORKFLOW_SCRIPT)
    write_stub_workflow(tmp_path, server.base_url)
    return tmp_path, server


def test_full_run_then_nothing_to_do(workdir):
    wd, _server = workdir
    config = yaml.safe_load((wd / "config.yaml").read_text())
    config["problems"] = {"language": {"enabled": True}, "problem_type": {"enabled": True}}
    # se listed first: a source's problems are deduplicated against those of the sources before it,
    # so se keeps the "Compute $1+1$." that forum's thread c1 duplicates, and an SE row (with its
    # attribution) reaches the SFT data
    config["sources"] = sorted(config["sources"], key=lambda s: s["name"] != "se")
    (wd / "config.yaml").write_text(yaml.safe_dump(config))
    run_snakemake(wd, wd / "config.yaml")
    results = wd / "results" / "t" / "problems"
    problems = pq.read_table(results / "problems.parquet").to_pylist()
    proofs = pq.read_table(results / "proof_problems.parquet").to_pylist()
    assert {p["source"] for p in problems} == {"forum", "se", "byo"}
    byo = next(p for p in problems if p["source"] == "byo")
    assert byo["expected_answer"] == "4" and byo["answer_status"] == "provided"
    assert byo["thread_id"] == "b1" and byo["extraction"] is None
    assert [p["thread_id"] for p in proofs if p["source"] == "forum"] == ["p1"]
    summary = read_summary(results / "problems.summary.json")
    assert summary.counters["per_source"]["byo"]["problems"] == 1
    # one summary shape under one name: every step's `<artifact>.summary.json` reads as a StepStats
    summaries = sorted((wd / "results" / "t").rglob("*.summary.json"))
    assert len({read_summary(p).step for p in summaries}) >= 16
    assert not list((wd / "results" / "t").rglob("*.stats.json"))
    assert (wd / "logs" / "t" / "benchmarks" / "merge_problems.tsv").exists()
    solution_files = sorted((wd / "results" / "t" / "solutions").glob("*/shard-*.parquet"))
    assert sorted(f"{f.parent.name}/{f.stem}" for f in solution_files) == sorted(SOLUTION_PARTS)
    solutions = [row for path in solution_files for row in pq.read_table(path).to_pylist()]
    kept_sets = [
        wd / "results" / "t" / "decontam" / "answers" / s / "set.parquet" for s in ("forum", "se", "byo")
    ]
    kept = [row for path in kept_sets for row in pq.read_table(path).to_pylist()]
    assert sorted((s["problem_id"], s["mode"]) for s in solutions) == sorted(
        (p["problem_id"], mode) for p in kept for mode in ("tir", "plain")
    )
    assert (
        "extract_problems" in (wd / "logs" / "t" / "extract_problems" / "forum" / "shard-0.log").read_text()
    )

    # every prove part: one per source (formal.n_shards: 1) and the statement table's own part
    proof_files = sorted((wd / "results" / "t" / "proofs").glob("*/shard-*.parquet"))
    assert sorted(f.parent.name for f in proof_files) == ["byo", "forum", "mine", "se"]
    proved = [r for path in proof_files for r in pq.read_table(path).to_pylist()]
    assert [(r["statement_id"], r["verified"]) for r in proved] == [("mine:e2e_and", True)] * 2
    mine = pq.read_table(wd / "results" / "t" / "proofs" / "mine" / "shard-0.parquet").to_pylist()
    assert len(mine) == 2
    manifest = json.loads((wd / "results" / "t" / "sft" / "proofs" / "manifest.json").read_text())
    assert manifest["variants"]["single_turn"]["all"]["rows"] == 1  # the same proof twice is kept once
    assert "| 1 | 100.0% | 100.0% |" in (wd / "results" / "t" / "eval" / "summary.md").read_text()
    assert (wd / "results" / "t" / "eval" / "pass_at_k.svg").exists()

    # licences and attribution reach the SFT rows (no licence configured: "unknown", never 'None')
    assert {p["source"]: p["license"] for p in problems if p["source"] != "se"} == {
        "forum": "unknown", "byo": "unknown"
    }  # fmt: skip
    se = {p["problem_id"]: p for p in problems if p["source"] == "se"}
    assert all(p["source_url"] == f"https://se.example.org/q/{p['thread_id']}" for p in se.values())
    assert [
        (a["role"], a["post_id"]) for a in next(p for p in se.values() if p["thread_id"] == "101")["authors"]
    ] == [("question", "101"), ("answer", "103"), ("answer", "102")]  # accepted answer first
    sft = pq.read_table(wd / "results" / "t" / "sft" / "data").to_pylist()
    assert any(r["source"] == "se" for r in sft)  # the deduplicated "Compute $1+1$." (plain solution)
    forum_audit = pq.read_table(wd / "results" / "t" / "decontam" / "answers" / "forum" / "audit.parquet")
    duplicates_of = {a["duplicate_of"] for a in forum_audit.to_pylist()}
    assert duplicates_of and duplicates_of <= set(se)  # forum's c1 dropped against se's kept row
    by_id = {p["problem_id"]: p for p in problems}
    for row in sft:
        problem = by_id[row["problem_id"]]
        assert row["license"] == problem["license"] and row["license"] not in (None, "None")
        assert (row["source_url"], row["authors"]) == (problem["source_url"], problem["authors"])
        labels = ("language", "question_type", "problem_type")
        assert [row[k] for k in labels] == [problem[k] for k in labels] and row["language"] == "en"
    proof_sft = pq.read_table(wd / "results" / "t" / "sft" / "proofs" / "data").to_pylist()
    assert proof_sft and all(r["license"] == "unknown" and "source_url" in r for r in proof_sft)
    assert "## Licences and attribution" in (wd / "results" / "t" / "sft" / "card.md").read_text()

    funnel = (wd / "results" / "t" / "report" / "funnel.md").read_text()
    assert "| extract_problems |" in funnel and "| prove |" in funnel and "| write_sft_shards |" in funnel
    # thread l1's extraction copied the reply's "= 385"; thread s1's post states its answer
    assert re.search(r"^\| extract_problems \|.*extraction:unfaithful: 1\b", funnel, re.MULTILINE), funnel
    assert re.search(r"^\| extract_answers \|.*answer_in_statement: 1\b", funnel, re.MULTILINE), funnel
    hygiene = {d["reason"]: d for d in pq.read_table(results / "dropped.parquet").to_pylist()}
    assert hygiene["extraction:unfaithful"]["problem"] == LEAKED_EXTRACTION
    assert hygiene["extraction:unfaithful"]["detail"].startswith("385 in ")
    assert hygiene["answer_in_statement"]["problem"] == STATED_POST
    assert not {LEAKED_EXTRACTION, STATED_POST} & {p["problem"] for p in problems}
    statistics = (wd / "results" / "t" / "report" / "statistics.md").read_text()
    assert "| plain/" in statistics and "## Majority answers" in statistics and "| answers |" in statistics
    assert (wd / "results" / "t" / "report" / "solve_rates.svg").exists()
    assert "## Problems by language, question type and subject" in statistics and "| answer |" in statistics
    assert "<svg" in (wd / "results" / "t" / "report" / "problem_types.svg").read_text()
    check_sft_hygiene(wd / "results" / "t", solutions, funnel, statistics)
    check_published(wd / "results" / "t", len(sft), len(proof_sft))

    dry = run_snakemake(wd, wd / "config.yaml", "-n")
    assert "Nothing to be done" in dry.output + dry.stderr
    run_snakemake(wd, wd / "config.yaml", "--report", str(wd / "report.zip"))
    assert (wd / "report.zip").stat().st_size > 10_000  # the HTML report with the funnel and eval
    with zipfile.ZipFile(wd / "report.zip") as report:
        names = report.namelist()
    assert any(n.endswith("statistics.md") for n in names) and any(
        n.endswith("solve_rates.svg") for n in names
    )


def check_published(results, sft_rows, proof_rows):
    """Every variant of both dataset folders loads with `datasets` as the Hub would, all rows in
    their splits; the default exports exist for both."""
    datasets = pytest.importorskip("datasets")
    for kind, rows in (("sft", sft_rows), ("proofs", proof_rows)):
        folder = results / "publish" / kind
        meta = yaml.safe_load((folder / "README.md").read_text().split("---\n")[1])
        assert meta["configs"] and meta["license"]
        loaded = 0
        for config in meta["configs"]:
            ds = datasets.load_dataset(str(folder), config["config_name"], cache_dir=str(results / ".hf"))
            loaded += sum(ds[split].num_rows for split in ds)
        assert loaded == rows
        for fmt in ("chat", "nemo_skills"):
            assert json.loads((results / "exports" / kind / fmt / "manifest.json").read_text())["variants"]
    formal = [
        r
        for path in sorted((results / "formal").glob("*/shard-*.parquet"))
        for r in pq.read_table(path).to_pylist()
    ]
    statements = json.loads((results / "publish" / "statements" / "manifest.json").read_text())
    accepted = sum(r["status"] == "accepted" for r in formal)
    assert statements["funnel"]["n_in"] == len(formal) and statements["funnel"]["n_out"] == accepted
    if accepted:
        ds = datasets.load_dataset(
            str(results / "publish" / "statements"), "statements", cache_dir=str(results / ".hf")
        )
        assert sum(ds[split].num_rows for split in ds) == accepted


def check_sft_hygiene(results, solutions, funnel, statistics):
    """The stub's no-tool solution with a made-up ```output block is dropped and counted; every
    shipped row passed the audit, and each TIR row shows exactly its cells' sandbox outputs."""
    invented = re.search(r"invented_tool_output: (\d+)", funnel)
    assert invented and int(invented.group(1)) >= 1
    hygiene = json.loads((results / "sft" / "hygiene.json").read_text())
    assert hygiene["total"]["failing"]["invented_tool_output"] == int(invented.group(1))
    assert hygiene["shipped_audit"]["checked"] == hygiene["total"]["shipped"] > 0
    assert not any(hygiene["shipped_audit"]["failing"].values())
    shipped = pq.read_table(results / "sft" / "data").to_pylist()
    assert not any("```output" in row["generation"] for row in shipped if not row["tool"])
    cells = {s["request_key"]: s["code_cells"] for s in solutions}
    tir = [row for row in shipped if row["tool"]]
    assert tir
    for row in tir:
        blocks = [b.split("```\n", 1)[0] for b in row["generation"].split("```output\n")[1:]]
        assert blocks == [c["output"] for c in cells[row["request_key"]]][: len(blocks)] and blocks
    assert "## Hygiene audit" in (results / "sft" / "card.md").read_text()
    assert "## SFT hygiene audit" in statistics


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
        **DOWNSTREAM_OF_SE_PROBLEMS,
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
        **DOWNSTREAM_OF_ANSWERS,
    }


def test_bad_input_fails_with_file_and_line_and_writes_nothing(workdir):
    wd, _server = workdir
    bad_line = len((wd / "data" / "forum.jsonl").read_text().splitlines()) + 1
    with (wd / "data" / "forum.jsonl").open("a") as fh:
        fh.write("{not json\n")
    proc = run_snakemake(wd, wd / "config.yaml", check=False)
    assert proc.returncode != 0
    log = (wd / "logs" / "t" / "ingest_forum" / "forum.log").read_text()
    assert f"data/forum.jsonl:line {bad_line}: expected one JSON object per line" in log
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


def test_forum_cot_rewrites_vote_before_the_majority_when_asked(workdir):
    wd, server = workdir
    config = yaml.safe_load((wd / "config.yaml").read_text())
    # the stub threads' replies are short ("2"): any reply with a digit is a worked answer here
    config["forum_cot"] = {"enabled": True, "min_answer_chars": 1}
    (wd / "config.yaml").write_text(yaml.safe_dump(config))
    after_vote = planned_jobs(run_snakemake(wd, wd / "config.yaml", "-n").output)
    # one job per solutions part: forum's 2 shards, se's 1 and byo's 1
    assert after_vote["rewrite_forum_solutions"] == len(SOLUTION_PARTS)
    assert not {"rewrite_forum_votes", "judge_forum_votes"} & set(after_vote)
    config["forum_cot"]["count_as_votes"] = True
    (wd / "config.yaml").write_text(yaml.safe_dump(config))
    dry = run_snakemake(wd, wd / "config.yaml", "-n").output
    jobs = planned_jobs(dry)
    assert (jobs["rewrite_forum_votes"], jobs["judge_forum_votes"]) == (len(SOLUTION_PARTS),) * 2
    assert "rewrite_forum_solutions" not in jobs
    run_snakemake(wd, wd / "config.yaml")
    results = wd / "results" / "t" / "answers"
    ballots = [summary_fields(results / "forum_cot_votes" / "rewrites" / f"{part}.summary.json")
               for part in SOLUTION_PARTS]  # fmt: skip
    votes = [summary_fields(results / "majority" / f"{part}.summary.json")["rewrite_votes"]
             for part in SOLUTION_PARTS]  # fmt: skip
    sent = sum(b["requests"]["sent"] for b in ballots)
    assert sent >= 1 and sum(v["ballots"] for v in votes) == sum(b["n_out"] for b in ballots) >= 1
    majority = [
        r
        for part in SOLUTION_PARTS
        for r in pq.read_table(results / "majority" / f"{part}.parquet").to_pylist()
    ]
    voted = [r for r in majority if r["rewrite_votes"]]
    assert voted and all(sum(c["votes"] for c in r["vote_classes"]) > r["n_solutions"] for r in voted)
    kept = [r for part in SOLUTION_PARTS
            for r in pq.read_table(results / "forum_cot_votes" / f"{part}.parquet").to_pylist()
            if r["forum_cot_status"] == "kept"]  # fmt: skip
    sft = pq.read_table(wd / "results" / "t" / "sft" / "data").to_pylist()
    assert kept and sorted(r["problem_id"] for r in sft if r["variant"] == "forum_cot") == sorted(
        r["problem_id"] for r in kept
    )
    funnel = (wd / "results" / "t" / "report" / "funnel.md").read_text()
    assert "| rewrite_forum_solutions |" in funnel
    # resumable: the outputs gone, a rerun rebuilds them from the request stores
    requests = server.stats()["requests"]
    for path in (results / "forum_cot_votes").rglob("*.parquet"):
        path.unlink()
    run_snakemake(wd, wd / "config.yaml")
    assert server.stats()["requests"] == requests
