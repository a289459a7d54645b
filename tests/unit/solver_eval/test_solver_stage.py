"""evaluate_solver and its summary at the function level against the scripted stub: samples from
the solution machinery (plain and TIR), judged against gold, the metrics, cached reruns, and bad
input stopped before any request."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from conftest import openai_inference_config, summary_fields

from mathforge.config import validate_config
from mathforge.errors import InputError
from mathforge.solver_eval.report import write_solver_summary
from mathforge.solver_eval.stage import SOLVER_EVAL_SCHEMA
from mathforge.solver_eval.stage import run as evaluate_solver_stage

BENCH = [
    {"problem": "QA: compute 2+2.", "answer": "4"},  # answered right
    {"problem": "QB: half of one?", "answer": "\\frac{1}{2}"},  # right, another spelling (symbolic)
    {"problem": "QC: hard one.", "answer": "3"},  # no \boxed answer at all
]
SCRIPT = {
    "rules": [
        {"contains": "QA:", "system_contains": "checks computations with Python",
         "turns": ["```python\nprint(2 + 2)\n```\n", "So \\boxed{4}."]},
        {"contains": "QA:", "reply": "\\boxed{4}"},
        {"contains": "QB:", "reply": "It is \\boxed{0.5}."},
    ],
    "default_reply": "I do not know.",
    "keep_bodies": True,
}  # fmt: skip


@pytest.fixture
def env(tmp_path, stub_server):
    stub = stub_server(SCRIPT)
    bench = tmp_path / "bench.jsonl"
    bench.write_text("".join(json.dumps(r) + "\n" for r in BENCH))
    cfg = validate_config(
        {
            "inference": openai_inference_config(stub.base_url),
            "answers": {"judge": {"enabled": False}, "comparison": {"timeout_s": 120}},
            "eval": {
                "answer_benchmarks": [{"name": "mini", "path": str(bench)}],
                "solver": {"n_samples": 2, "efforts": ["low"], "sampling": {"max_tokens": 128, "seed": 5}},
            },
            "sandbox": {"max_sessions": 2, "prestart": 1},
        }
    )
    return cfg, stub, tmp_path


def run(cfg, tmp, mode):
    out, summary = tmp / f"{mode}.parquet", tmp / f"{mode}.json"
    evaluate_solver_stage(
        "mini", "main", "low", mode, cfg, str(out), str(summary),
        str(tmp / f"{mode}.store.jsonl"), str(tmp / f"{mode}.judge.jsonl"),
    )  # fmt: skip
    return pq.read_table(out), summary_fields(summary)


@pytest.mark.parametrize("mode", ["no_tool", "tool"])
def test_samples_are_judged_and_scored(env, mode):
    cfg, _stub, tmp = env
    table, summary = run(cfg, tmp, mode)
    assert table.schema.equals(SOLVER_EVAL_SCHEMA)
    rows = table.to_pylist()
    assert len(rows) == 3 * 2 and {r["eval_mode"] for r in rows} == {mode}
    assert [r["seed"] for r in rows[:2]] == [5, 6]  # sample i: seed + i
    methods = {r["problem_id"]: r["judge_method"] for r in rows}
    assert methods["mini/1"] in {"exact", "integer"} and methods["mini/3"] == "missing"
    assert methods["mini/2"] == "symbolic"
    assert summary["accuracy"] == pytest.approx(2 / 3)
    assert summary["maj_at_k"] == {"1": pytest.approx(2 / 3), "2": pytest.approx(2 / 3)}
    assert summary["pass_at_k"]["2"] == pytest.approx(2 / 3)
    assert summary["no_answer_share"] == pytest.approx(1 / 3)
    low, high = summary["headline"]["pass@1"]["ci"]
    assert 0 <= low <= 2 / 3 <= high <= 1
    assert summary["per_problem"]["mini/2"]["majority_answer"] == "0.5"
    if mode == "tool":
        assert summary["code_cells_per_sample"] == pytest.approx(1 / 3, abs=1e-3)  # QA runs one cell
        assert all(r["mode"] == "tir" for r in rows)


def test_raising_n_sends_only_the_new_samples(env):
    cfg, stub, tmp = env
    run(cfg, tmp, "no_tool")
    before = stub.stats()["requests"]
    assert before == 3 * 2
    cfg["eval"]["solver"]["n_samples"] = 3
    _table, summary = run(cfg, tmp, "no_tool")
    assert stub.stats()["requests"] - before == 3  # one new sample per problem
    assert summary["requests"]["cached"] == 6 and len(summary["maj_at_k"]) == 3
    run(cfg, tmp, "no_tool")
    assert stub.stats()["requests"] - before == 3  # an unchanged rerun sends nothing


def test_bad_benchmark_fails_before_any_request(env):
    cfg, stub, tmp = env
    bad = tmp / "bad.jsonl"
    bad.write_text(
        json.dumps({"problem": "QA: x", "answer": "1"}) + "\n" + json.dumps({"problem": "QB: y"}) + "\n"
    )
    cfg["eval"]["answer_benchmarks"][0]["path"] = str(bad)
    with pytest.raises(InputError, match="line 2"):
        run(cfg, tmp, "tool")
    assert stub.stats()["requests"] == 0


def test_summary_table_tsv_and_plot(env):
    cfg, _stub, tmp = env
    run(cfg, tmp, "no_tool")
    run(cfg, tmp, "tool")
    paths = [str(tmp / "no_tool.json"), str(tmp / "tool.json")]
    write_solver_summary(paths, 0.95, str(tmp / "s.md"), str(tmp / "s.tsv"), str(tmp / "s.svg"))
    md = (tmp / "s.md").read_text()
    assert "| mini | main | low | no_tool | 3 | 2 | 66.7% [" in md and "| mini | main | low | tool |" in md
    tsv = (tmp / "s.tsv").read_text().splitlines()
    assert len(tsv) == 1 + 2 * 2 * 2  # header + (maj, pass) x k=1..2 x two modes
    assert tsv[0].split("\t")[:6] == ["benchmark", "model", "effort", "mode", "metric", "k"]
    assert (tmp / "s.svg").read_text().lstrip().startswith("<?xml")
