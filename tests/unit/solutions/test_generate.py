"""generate_solutions at the function level against the scripted stub (the real model runs in tests/e2e)."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import openai_inference_config, summary_fields

from mathforge.config import validate_config
from mathforge.ids import shard_of
from mathforge.io import write_parquet
from mathforge.schemas.solutions import SOLUTIONS_SCHEMA
from mathforge.solutions.stage import run as generate_solutions

PROBLEMS = [
    {"problem_id": f"p{i}", "problem": f"PROBLEM-{i}: compute {i}*{i}.", "expected_answer": str(i * i),
     "source": "demo", "license": "CC0-1.0"}
    for i in range(6)
]  # fmt: skip
TIR_TURNS = ["```python\nv = {i} * {i}\nprint(v)\n```\n", "So \\boxed{{{sq}}}."]


def script():
    rules = []
    for i in range(8):
        turns = [t.format(i=i, sq=i * i) for t in TIR_TURNS]
        rules.append({"contains": f"PROBLEM-{i}:", "turns": turns})
    return {"rules": rules, "keep_bodies": True}


def write_set(path, problems):
    write_parquet(pa.Table.from_pylist(problems), path)


@pytest.fixture
def env(tmp_path, stub_server):
    stub = stub_server(script())
    cfg = validate_config(
        {
            "inference": openai_inference_config(stub.base_url),
            "solutions": {"n_shards": 3, "n_tir": 2, "n_plain": 1, "efforts": ["high", "low"],
                          "sampling": {"max_tokens": 256, "seed": 100}},
            "sandbox": {"max_sessions": 4, "prestart": 1},
        }
    )  # fmt: skip
    write_set(tmp_path / "set.parquet", PROBLEMS)
    return cfg, stub, tmp_path


def run_shard(cfg, tmp_path, shard, set_name="set.parquet"):
    out = tmp_path / f"shard-{shard}.parquet"
    summary = tmp_path / f"shard-{shard}.summary.json"
    generate_solutions(
        str(tmp_path / set_name), shard, cfg, str(out), str(summary), str(tmp_path / f"store-{shard}.jsonl")
    )
    return pq.read_table(out), summary_fields(summary)


def test_every_problem_gets_its_solutions_in_exactly_one_shard(env):
    cfg, _stub, tmp = env
    tables = [run_shard(cfg, tmp, k)[0] for k in range(3)]
    assert all(t.schema.equals(SOLUTIONS_SCHEMA) for t in tables)
    seen = [row["problem_id"] for t in tables for row in t.to_pylist()]
    assert sorted(set(seen)) == sorted(p["problem_id"] for p in PROBLEMS)
    assert len(seen) == len(PROBLEMS) * 2 * (2 + 1)
    for k, table in enumerate(tables):
        assert {shard_of(pid, 3) for pid in table.column("problem_id").to_pylist()} <= {k}


def test_rows_carry_mode_effort_distinct_seeds_answers_and_cells(env):
    cfg, stub, tmp = env
    shard = shard_of("p2", 3)
    rows = [r for r in run_shard(cfg, tmp, shard)[0].to_pylist() if r["problem_id"] == "p2"]
    assert sorted((r["effort"], r["mode"], r["sample_index"]) for r in rows) == sorted(
        [(e, "tir", i) for e in ("high", "low") for i in range(2)]
        + [(e, "plain", 0) for e in ("high", "low")]
    )
    assert sorted(r["seed"] for r in rows) == list(range(100, 106))  # each solution its own seed
    tir = [r for r in rows if r["mode"] == "tir"]
    assert all(r["predicted_answer"] == "4" and r["num_code_executions"] == 1 for r in tir)
    assert all(r["code_cells"][0]["output"] == "4\n" and r["code_cells"][0]["status"] == "ok" for r in tir)
    assert all(r["expected_answer"] == "4" and r["license"] == "CC0-1.0" for r in rows)
    plain = [r for r in rows if r["mode"] == "plain"]
    assert all(r["num_code_executions"] == 0 and r["code_tags"] is None for r in plain)
    assert all(
        json.loads(r["sampling"])["chat_template_kwargs"]["reasoning_effort"] == r["effort"] for r in rows
    )
    bodies = [b for b in stub.stats()["bodies"] if "PROBLEM-2:" in json.dumps(b)]
    assert {b["chat_template_kwargs"]["reasoning_effort"] for b in bodies} == {"high", "low"}


def test_a_rerun_reuses_every_stored_solution(env):
    cfg, stub, tmp = env
    first, _ = run_shard(cfg, tmp, 0)
    sent = stub.stats()["requests"]
    again, summary = run_shard(cfg, tmp, 0)
    assert stub.stats()["requests"] == sent
    assert again.equals(first)
    assert summary["requests"]["cached"] == summary["requests"]["total"] == first.num_rows


def test_adding_problems_keeps_existing_ones_in_their_shard_and_reuses_them(env):
    cfg, stub, tmp = env
    before = {k: set(run_shard(cfg, tmp, k)[0].column("problem_id").to_pylist()) for k in range(3)}
    write_set(
        tmp / "bigger.parquet",
        [
            *PROBLEMS,
            {**PROBLEMS[0], "problem_id": "p6", "problem": "PROBLEM-6: x"},
            {**PROBLEMS[0], "problem_id": "p7", "problem": "PROBLEM-7: y"},
        ],
    )
    sent = stub.stats()["requests"]
    after = {
        k: set(run_shard(cfg, tmp, k, "bigger.parquet")[0].column("problem_id").to_pylist()) for k in range(3)
    }
    assert all(before[k] <= after[k] for k in range(3))
    assert set().union(*after.values()) - set().union(*before.values()) == {"p6", "p7"}
    # Only the new problems are generated: 2 problems x 2 efforts x (2 TIR solutions of two
    # calls each + 1 plain solution of one call).
    assert stub.stats()["requests"] - sent == 2 * 2 * (2 * 2 + 1)


def test_effort_in_the_prompt_for_models_without_an_effort_control(env):
    cfg, stub, tmp = env
    cfg["solutions"]["effort_via"] = "prompt"
    run_shard(cfg, tmp, shard_of("p1", 3))
    systems = {b["messages"][0]["content"] for b in stub.stats()["bodies"] if "PROBLEM-1:" in json.dumps(b)}
    assert any("Think thoroughly" in s for s in systems) and any("Be brief" in s for s in systems)
    assert all("chat_template_kwargs" not in b for b in stub.stats()["bodies"])


def test_an_empty_shard_still_writes_a_typed_table(env):
    cfg, stub, tmp = env
    write_set(tmp / "empty.parquet", [PROBLEMS[0]])
    shard = (shard_of("p0", 3) + 1) % 3
    table, summary = run_shard(cfg, tmp, shard, "empty.parquet")
    assert table.num_rows == 0 and table.schema.equals(SOLUTIONS_SCHEMA)
    assert summary["n_in"] == 0 and stub.stats()["requests"] == 0
