"""write_sft_part and write_sft_shards with the hygiene audit, on real input files: invented or mismatched tool output,
benchmark copies and duplicate conversations are dropped and counted (stats, manifest, hygiene.json,
card); a contaminated or not-correct row fails the run with an error naming it; every row written
passes every check."""

from __future__ import annotations

import json

import pytest
from sft_runs import run_assembly, run_part_job, write_part_inputs

from mathforge.config import validate_config
from mathforge.funnel import read_summary
from mathforge.hygiene.audit import SFTAuditError
from mathforge.schemas.judged import FINAL_JUDGED_SCHEMA, MAJORITY_SCHEMA

PROBLEM = "What is $6 \\cdot 7 + 1$?"
TIR_TEXT = (
    "Compute.\n```python\nx = 6 * 7\nprint(x)\n```\n```output\n42\n```\n"
    "Then.\n```python\nprint(x + 1)\n```\n```output\n43\n```\nSo \\boxed{43}."
)
CELLS = [
    {"code": "x = 6 * 7\nprint(x)\n", "output": "42\n", "status": "ok", "error": None, "truncated": False,
     "restarted": False, "seconds": 0.0},
    {"code": "print(x + 1)\n", "output": "43\n", "status": "ok", "error": None, "truncated": False,
     "restarted": False, "seconds": 0.0},
]  # fmt: skip
INVENTED = "Let me check.\n```python\nprint(6*7+1)\n```\n```output\n43\n```\nSo \\boxed{43}."


def sol(pid="p1", mode="plain", effort="high", seed=0, generation="So \\boxed{43}.", **kw) -> dict:
    row = {name: None for name in FINAL_JUDGED_SCHEMA.names}
    row.update(
        problem_id=pid, problem=PROBLEM, expected_answer="43", mode=mode, effort=effort, seed=seed,
        sample_index=seed, generation=generation, finish_reason="stop", completion_tokens=100,
        code_cells=CELLS if mode == "tir" else [], prompt_name=f"solve_{mode}",
        code_tags="markdown@x" if mode == "tir" else None, judgement=True, answer_rule="forum_agrees",
        source="demo", license="CC0-1.0", model="m", request_key=f"k-{pid}-{mode}-{effort}-{seed}",
    )  # fmt: skip
    row.update(kw)
    return row


def problem_row(pid: str, answer: str = "43", problem: str = PROBLEM) -> dict:
    row = {name: None for name in MAJORITY_SCHEMA.names}
    row.update(problem_id=pid, problem=problem, expected_answer=answer, solve_rate=0.5, difficulty_ok=True)
    return row


def run(tmp_path, solutions, problems=None, kept=None, removed=(), benchmark=None, **sft):
    """One part of all `solutions` (write_sft_part), then the assembly (write_sft_shards)."""
    bench = tmp_path / "bench.jsonl"
    bench.write_text(
        json.dumps({"problem": benchmark or "An unrelated benchmark problem about triangles."}) + "\n"
    )
    cfg = validate_config(
        {"sft": sft, "decontam": {"benchmarks": [{"name": "bench", "path": str(bench), "field": "problem"}]}}
    )
    pids = sorted({s["problem_id"] for s in solutions})
    problems = problems or [problem_row(pid, problem=next(s["problem"] for s in solutions if s["problem_id"] == pid)) for pid in pids]  # fmt: skip
    inputs = write_part_inputs(
        tmp_path / "in", solutions, problems, kept if kept is not None else pids, removed
    )
    part = run_part_job(cfg, inputs, tmp_path)
    return run_assembly(cfg, [part], [inputs["majority"]], tmp_path)


def test_a_solution_without_the_tool_that_invents_an_output_block_does_not_ship(tmp_path):
    solutions = [
        sol(seed=0),
        sol(seed=1, generation=INVENTED),
        sol(seed=2, effort="low", generation="<tool_response>43</tool_response> so \\boxed{43}."),
        sol(seed=3, mode="tir", generation=TIR_TEXT),
    ]
    stats, rows, hygiene = run(tmp_path, solutions)
    assert sorted(r["seed"] for r in rows) == [0, 3]
    assert stats.dropped == {"invented_tool_output": 2}
    assert stats.n_out == 2 and stats.counters["variants"]["high_without_tool"] == {
        "rows": 1, "dropped:invented_tool_output": 1}  # fmt: skip
    assert set(json.loads((tmp_path / "manifest.json").read_text())) == {"variants"}  # the files, no stats
    assert read_summary(tmp_path / "data.summary.json").dropped == {"invented_tool_output": 2}
    assert hygiene["variants"]["high_without_tool"]["failing"]["invented_tool_output"] == 1
    assert hygiene["variants"]["low_without_tool"] == {
        "checked": 1, "failing": {**dict.fromkeys(hygiene["variants"]["low_without_tool"]["failing"], 0),
                                  "invented_tool_output": 1}, "shipped": 0}  # fmt: skip
    assert hygiene["total"]["shipped"] == 2 and hygiene["shipped_audit"]["checked"] == 2
    assert sum(hygiene["shipped_audit"]["failing"].values()) == 0
    card = (tmp_path / "card.md").read_text()
    assert "## Hygiene audit" in card and "invented_tool_output" in card


def test_tir_output_blocks_must_equal_the_sandbox_outputs(tmp_path):
    fake_after = TIR_TEXT.replace("So \\boxed{43}.", "Check:\n```python\nprint(43)\n```\n```output\n43\n```\nSo \\boxed{43}.")  # fmt: skip
    solutions = [
        sol(seed=0, mode="tir", generation=TIR_TEXT),
        sol(seed=1, mode="tir", generation=fake_after),
        sol(seed=2, mode="tir", generation=TIR_TEXT.replace("```output\n42\n", "```output\n41\n")),
    ]
    stats, rows, _ = run(tmp_path, solutions)
    assert [r["seed"] for r in rows] == [0]
    assert stats.dropped == {"tool_output_mismatch": 2}
    cells_by_seed = {s["seed"]: s["code_cells"] for s in solutions}
    for row in rows:  # every shipped block is the recorded output of its cell, in order
        blocks = [b.split("\n```\n", 1)[0] + "\n" for b in row["generation"].split("```output\n")[1:]]
        assert blocks == [c["output"] for c in cells_by_seed[row["seed"]]][: len(blocks)]


def test_a_problem_near_identical_to_a_benchmark_item_is_dropped(tmp_path):
    copied = "Find the number of ordered pairs (a, b) of positive integers with a + b = 100 and a < b."
    solutions = [sol(pid="p1", problem=copied), sol(pid="p2", seed=1)]
    stats, rows, hygiene = run(tmp_path, solutions, benchmark=copied.replace("100", "$100$").upper())
    assert [r["problem_id"] for r in rows] == ["p2"]
    assert stats.dropped == {"benchmark_near_identical": 1}
    assert hygiene["settings"]["benchmark_edit_ratio"] == 0.9 and hygiene["settings"]["benchmarks"] == [
        "bench"
    ]


def test_the_same_conversation_under_two_problem_ids_ships_once(tmp_path):
    stats, rows, _ = run(tmp_path, [sol(pid="p1"), sol(pid="p2")])
    assert len(rows) == 1 and stats.dropped == {"duplicate_messages": 1}
    stats, rows, hygiene = run(tmp_path, [sol(pid="p1"), sol(pid="p2")], dedup=False)
    assert len(rows) == 2 and hygiene["settings"]["dedup"] is False


def test_a_removed_or_missing_problem_fails_the_run_naming_the_row(tmp_path):
    with pytest.raises(SFTAuditError, match=r"problem p1 \(high_without_tool, seed 0\): decontaminated: removed by decontamination \(benchmark_match\)"):  # fmt: skip
        run(tmp_path, [sol(pid="p1"), sol(pid="p2", seed=1)], removed=["p1"])
    with pytest.raises(
        SFTAuditError, match=r"1 SFT row\(s\) must never ship: problem p2 .*not in the decontaminated set"
    ):
        run(tmp_path, [sol(pid="p1"), sol(pid="p2", seed=1)], kept=["p1"])
    assert not (tmp_path / "data").exists() and not list((tmp_path / "parts").glob("*.parquet"))


def test_a_row_not_correct_against_the_final_answer_fails_the_run(tmp_path):
    # a stale majority shard: the final answer is 44, the solution was judged against 43
    with pytest.raises(
        SFTAuditError, match=r"problem p1 \(high_without_tool, seed 0\): judged_correct: .*'44'"
    ):
        run(tmp_path, [sol()], problems=[problem_row("p1", answer="44")])
