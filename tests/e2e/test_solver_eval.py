"""The solver evaluation with real Snakemake on the scripted stub: the rule family builds the
table, TSV and plot; adding a benchmark or a model, or raising n, only adds requests (counted at
the stub), and reruns nothing else."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import planned_jobs, run_snakemake, summary_fields, write_stub_workflow

pytestmark = pytest.mark.e2e

TARGET = "results/t/eval/solver/summary.md"
SCRIPT = {
    "rules": [
        {"contains": "SOLVE-A1:", "reply": "So \\boxed{4}."},
        {"contains": "SOLVE-A2:", "reply": "So \\boxed{0.25}."},  # gold 1/4: right (symbolic)
        {"contains": "SOLVE-B1:", "reply": "So \\boxed{8}."},  # gold 7: wrong
    ],
    "default_reply": "no idea",
    "keep_bodies": True,
}


def write_benchmark(path, problems):
    path.write_text("".join(json.dumps({"problem": p, "answer": a}) + "\n" for p, a in problems))


def new_bodies(server, before):
    return server.stats()["bodies"][before:]


@pytest.fixture
def evaluated(tmp_path, stub_server):
    server = stub_server(SCRIPT)
    config = write_stub_workflow(tmp_path, server.base_url)
    write_benchmark(
        tmp_path / "data" / "a.jsonl", [("SOLVE-A1: 2+2?", "4"), ("SOLVE-A2: a quarter?", "\\frac{1}{4}")]
    )
    write_benchmark(tmp_path / "data" / "b.jsonl", [("SOLVE-B1: 3+4?", "7")])
    cfg = yaml.safe_load(config.read_text())
    cfg["eval"]["answer_benchmarks"] = [{"name": "a", "path": "data/a.jsonl"}]
    cfg["eval"]["solver"] = {"n_samples": 2, "efforts": ["low"], "modes": ["no_tool", "tool"]}
    # a symbolic comparison that times out on a loaded machine would go to the LLM judge (one more request)
    cfg["answers"] = {"comparison": {"timeout_s": 120}}
    config.write_text(yaml.safe_dump(cfg))
    run_snakemake(tmp_path, config, TARGET)
    return tmp_path, config, server, cfg


def test_the_table_and_what_each_change_costs(evaluated):
    wd, config, server, cfg = evaluated
    assert server.stats()["requests"] == 2 * 2 * 2  # problems x samples x modes
    md = (wd / TARGET).read_text()
    assert "| a | main | low | no_tool | 2 | 2 | 100.0% [" in md and "| a | main | low | tool |" in md
    assert (wd / "results/t/eval/solver/summary.tsv").read_text().count("\n") == 1 + 2 * 2 * 2
    assert (wd / "results/t/eval/solver/accuracy_at_k.svg").exists()
    assert "Nothing to be done" in run_snakemake(wd, config, TARGET, "-n").output

    # a benchmark: its own jobs and the summary, requests for its problem only
    cfg["eval"]["answer_benchmarks"].append({"name": "b", "path": "data/b.jsonl"})
    config.write_text(yaml.safe_dump(cfg))
    assert planned_jobs(run_snakemake(wd, config, TARGET, "-n").output) == {
        "evaluate_solver": 2, "summarize_solver_eval": 1,
    }  # fmt: skip
    before = server.stats()["requests"]
    run_snakemake(wd, config, TARGET)
    sent = new_bodies(server, before)
    assert len(sent) == 1 * 2 * 2 and all("SOLVE-B1" in json.dumps(b["messages"]) for b in sent)
    summary = summary_fields(wd / "results/t/eval/solver/b/main/low/no_tool/results.summary.json")
    assert summary["accuracy"] == 0.0 and summary["judge_method"] == {"integer": 2}

    # a model: requests of that model only
    cfg["eval"]["models"] = [
        {"name": "main", "inference": {}},
        {"name": "other", "inference": {"model": "stub-other"}},
    ]
    config.write_text(yaml.safe_dump(cfg))
    assert planned_jobs(run_snakemake(wd, config, TARGET, "-n").output) == {
        "evaluate_solver": 4, "summarize_solver_eval": 1,
    }  # fmt: skip
    before = server.stats()["requests"]
    run_snakemake(wd, config, TARGET)
    sent = new_bodies(server, before)
    assert len(sent) == 3 * 2 * 2 and {b["model"] for b in sent} == {"stub-other"}

    # n = 3: every job reruns, each sends one sample per problem
    cfg["eval"]["solver"]["n_samples"] = 3
    config.write_text(yaml.safe_dump(cfg))
    before = server.stats()["requests"]
    run_snakemake(wd, config, TARGET)
    assert server.stats()["requests"] - before == 3 * 2 * 2  # problems x models x modes, one each
    assert "| a | other | low | tool | 2 | 3 | 100.0% [" in (wd / TARGET).read_text()
