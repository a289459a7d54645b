"""Incremental rebuilds, counted at the server: new threads cost requests for the new problems
only; a solutions-only change costs no upstream request (and a prover-context change plans the
prover's jobs only); a SIGKILLed generation job loses and
duplicates nothing when rerun. Real Snakemake, the scripted stub as the endpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import STUB_WORKFLOW_SCRIPT, planned_jobs, run_snakemake, snakemake_command, write_stub_workflow

from mathforge.schemas.measured import decided

pytestmark = pytest.mark.e2e


def new_bodies(server, before: int) -> list[str]:
    return [json.dumps(b.get("messages") or b.get("prompt")) for b in server.stats()["bodies"][before:]]


# The new thread's post gets its own problem, so every request it causes names "40+2".
NEW_THREAD_RULE = {"contains": "Forum post:\nCompute 40+2", "reply": "Problem 1: Compute $40+2$."}


@pytest.fixture
def finished(tmp_path, stub_server):
    rules = [NEW_THREAD_RULE, *STUB_WORKFLOW_SCRIPT["rules"]]
    server = stub_server({**STUB_WORKFLOW_SCRIPT, "rules": rules, "keep_bodies": True})
    config = write_stub_workflow(tmp_path, server.base_url)
    run_snakemake(tmp_path, config)
    return tmp_path, config, server


def test_new_threads_cost_requests_for_the_new_problems_only(finished):
    wd, config, server = finished
    before = server.stats()["requests"]
    with (wd / "data" / "forum.jsonl").open("a") as fh:
        fh.write(
            json.dumps({"thread_id": "n1", "forum_post": "Compute 40+2.", "forum_discussions": ""}) + "\n"
        )
    run_snakemake(wd, config)
    sent = new_bodies(server, before)
    # extraction, classification, answer extraction and solutions of the new problem, nothing else
    assert len(sent) >= 4 and all("40+2" in b for b in sent), [b[:200] for b in sent if "40+2" not in b]
    assert "Nothing to be done" in run_snakemake(wd, config, "-n").output


def test_a_solutions_parameter_reruns_solutions_and_downstream_only(finished):
    wd, config, server = finished
    before = server.stats()["requests"]
    cfg = yaml.safe_load(config.read_text())
    cfg["solutions"]["sampling"] = {"temperature": 0.5, "max_tokens": 256, "seed": 0}
    config.write_text(yaml.safe_dump(cfg))
    jobs = planned_jobs(run_snakemake(wd, config, "-n").output)
    assert set(jobs) == {
        "generate_solutions",
        "judge_answers",
        "fill_majority_answer",
        "write_sft_part",
        "write_sft_shards",
        "dataset_folder",  # the math SFT dataset folder and its exports, not the proof ones
        "export_dataset",
        "summarize_run",
        "all",
    }
    assert jobs["dataset_folder"] == 1 and jobs["export_dataset"] == 2
    run_snakemake(wd, config)
    sent = new_bodies(server, before)
    assert sent and all("Forum post:" not in b for b in sent)  # nothing upstream was asked again

    # what the prover's refinement requests hold (proofs.context) is the prover's contract only:
    # prove and evaluate_prover rerun, nothing upstream (checked on the plan: a cheap dry run)
    cfg["proofs"]["context"] = {"delete_wrong_turns": False}
    config.write_text(yaml.safe_dump(cfg))
    jobs = planned_jobs(run_snakemake(wd, config, "-n").output)
    assert {"prove", "evaluate_prover"} <= set(jobs), jobs
    prover_and_downstream = {"prove", "write_proof_sft_shards", "evaluate_prover", "summarize_eval",
                             "dataset_folder", "export_dataset"}  # fmt: skip
    assert set(jobs) <= prover_and_downstream | {"summarize_run", "all"}, jobs


def test_a_killed_generation_job_loses_and_duplicates_nothing(tmp_path, stub_server):
    server = stub_server({**STUB_WORKFLOW_SCRIPT, "delay_s": 0.4})
    config = write_stub_workflow(tmp_path, server.base_url)
    cfg = yaml.safe_load(config.read_text())
    cfg["solutions"].update({"n_tir": 0, "n_plain": 12})
    # solutions shards are per source: one forum shard holds all of forum's kept problems
    next(s for s in cfg["sources"] if s["name"] == "forum")["solution_shards"] = 1
    cfg["inference"]["max_concurrent_requests"] = 2
    config.write_text(yaml.safe_dump(cfg))
    target = "results/t/solutions/forum/shard-0.parquet"
    run_snakemake(tmp_path, config, "results/t/decontam/answers/forum/set.parquet")
    store = tmp_path / "results" / "t" / ".requests" / "generate_solutions" / "forum" / "shard-0.jsonl"
    proc = subprocess.Popen(
        snakemake_command(tmp_path, config, target), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and (not store.exists() or len(store.read_text().splitlines()) < 5):
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    stored_at_kill = len(store.read_text().splitlines())
    problems = pq.read_table(
        tmp_path / "results" / "t" / "decontam" / "answers" / "forum" / "set.parquet"
    ).num_rows
    assert 5 <= stored_at_kill < problems * 12, "the job must be killed mid-way"
    sent_before_rerun = server.stats()["requests"]

    run_snakemake(tmp_path, config, "--unlock")  # a SIGKILL leaves Snakemake's lock behind
    run_snakemake(tmp_path, config, target, "--rerun-incomplete")
    rows = pq.read_table(tmp_path / target).to_pylist()
    keys = [(r["problem_id"], r["mode"], r["effort"], r["sample_index"]) for r in rows]
    assert len(rows) == problems * 12 and len(set(keys)) == len(keys)  # nothing lost, nothing twice
    lines = [json.loads(line)["key"] for line in store.read_text().splitlines()]
    assert len(lines) == len(set(lines)) == len(rows)  # each request stored exactly once
    resent = server.stats()["requests"] - sent_before_rerun
    assert resent == len(rows) - stored_at_kill  # only what was not stored at the kill


def test_changing_the_provers_model_reruns_only_the_prover_and_its_evaluation(finished):
    wd, config, server = finished
    cfg = yaml.safe_load(config.read_text())
    cfg["models"] = {"prover": {**cfg["inference"], "model": "stub-prover"}}
    cfg["proofs"]["model"] = "prover"
    config.write_text(yaml.safe_dump(cfg))
    jobs = planned_jobs(run_snakemake(wd, config, "-n").output)
    # prove and the evaluation of the prover's own model (`main`), and what gathers their outputs
    assert set(jobs) == {
        "prove",
        "evaluate_prover",
        "write_proof_sft_shards",
        "dataset_folder",
        "export_dataset",
        "summarize_eval",
        "summarize_run",
        "all",
    }
    before = server.stats()["requests"]
    run_snakemake(wd, config)
    bodies = server.stats()["bodies"][before:]
    assert bodies and {b["model"] for b in bodies} == {"stub-prover"}  # no other stage asked again
    sent = [json.dumps(b["messages"]) for b in bodies]
    assert all("theorem" in b for b in sent) and not any("Forum post:" in b for b in sent)
    assert "Nothing to be done" in run_snakemake(wd, config, "-n").output


def jobs_by_source(dry_run_output: str) -> dict[str, list[str]]:
    """{source wildcard (or "" for jobs without one): [rule, ...]} of a dry run's jobs."""
    jobs: dict[str, list[str]] = {}
    rule = None
    for line in dry_run_output.splitlines():
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
            jobs.setdefault("", []).append(rule)
        elif line.strip().startswith("wildcards:") and rule:
            found = dict(kv.split("=", 1) for kv in line.split(":", 1)[1].strip().split(", "))
            if "source" in found:
                jobs[""].remove(rule)
                jobs.setdefault(found["source"], []).append(rule)
    return jobs


def table_rows(root, pattern: str) -> dict[str, list[dict]]:
    """Every Parquet file under `root` matching `pattern`, as rows without their measurements."""
    return {
        str(p.relative_to(root)): decided(pq.read_table(p).to_pylist()) for p in sorted(root.glob(pattern))
    }


NEW_SOURCE_THREADS = [
    {"thread_id": "n1", "forum_post": "Compute 40+2.", "forum_discussions": "Post 1:\n42"},
    # extracted as "Compute $1+1$." (the stub's default): a duplicate of the first source's problem
    {"thread_id": "n2", "forum_post": "What is one plus one?", "forum_discussions": "Post 1:\n2"},
]


def test_new_data_as_a_new_source_reruns_none_of_the_old_jobs_and_equals_a_full_rebuild(
    finished, tmp_path_factory
):
    """New data arrives as a new input file (a new source): only that source's jobs and the
    run-wide aggregates (merge, SFT writers, report, publish) run; no job of an old source reruns;
    its duplicate of an old problem is dropped against the old source; and every artifact equals
    a rebuild from scratch of the grown config."""
    wd, config, _server = finished
    all_jobs = sum(planned_jobs(run_snakemake(wd, config, "-n", "--forceall").output).values())
    (wd / "data" / "forum_new.jsonl").write_text("".join(json.dumps(t) + "\n" for t in NEW_SOURCE_THREADS))
    cfg = yaml.safe_load(config.read_text())
    cfg["sources"].append({"name": "forum_new", "format": "aops_jsonl", "path": "data/forum_new.jsonl",
                           "site": "f", "shards": 1, "solution_shards": 1, "formal_shards": 1})  # fmt: skip
    config.write_text(yaml.safe_dump(cfg))
    planned = jobs_by_source(run_snakemake(wd, config, "-n").output)
    old_sources = {s["name"] for s in cfg["sources"][:-1]} | {
        t["name"] for t in cfg["proofs"]["statement_tables"]
    }
    assert not old_sources & set(planned), {s: planned[s] for s in old_sources & set(planned)}
    new_jobs = len(planned["forum_new"]) + len(planned[""])
    aggregates = {"merge_problems", "write_sft_shards", "write_proof_sft_shards", "summarize_run", "dataset_folder",
                  "export_dataset", "all"}  # fmt: skip
    assert set(planned[""]) <= aggregates, planned[""]
    # the SFT rows of the new source's one solutions shard; the old parts are only read again
    assert planned["forum_new"].count("write_sft_part") == 1 and planned[""].count("write_sft_shards") == 1
    assert new_jobs < all_jobs / 2, (new_jobs, all_jobs)
    run_snakemake(wd, config)
    audit = pq.read_table(wd / "results/t/decontam/answers/forum_new/audit.parquet").to_pylist()
    assert [(a["reason"], a["duplicate_of"]) for a in audit] == [("duplicate_of", audit[0]["duplicate_of"])]
    old_ids = (
        pq.read_table(wd / "results/t/decontam/answers/forum/set.parquet").column("problem_id").to_pylist()
    )
    assert audit[0]["duplicate_of"] in old_ids

    fresh = tmp_path_factory.mktemp("rebuild")
    (fresh / "data").mkdir()
    for f in (wd / "data").iterdir():
        (fresh / "data" / f.name).write_bytes(f.read_bytes())
    (fresh / "config.yaml").write_text(config.read_text())
    run_snakemake(fresh, fresh / "config.yaml")
    for pattern in ("decontam/*/*/*.parquet", "solutions/*/*.parquet", "answers/*/*/*.parquet", "sft/parts/*/*.parquet",
                    "sft/data/**/*.parquet", "sft/proofs/data/**/*.parquet", "formal/*/*.parquet", "proofs/*/*.parquet",
                    "publish/sft/**/*.parquet"):  # fmt: skip
        incremental, rebuilt = table_rows(wd / "results/t", pattern), table_rows(fresh / "results/t", pattern)
        assert incremental and incremental.keys() == rebuilt.keys(), pattern
        for path in incremental:
            assert incremental[path] == rebuilt[path], path
