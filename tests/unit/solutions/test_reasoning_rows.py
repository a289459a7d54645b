"""Solution rows keep the thinking in `reasoning` and read the answer from the answer only."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import openai_inference_config

from mathforge.config import validate_config
from mathforge.funnel import read_summary
from mathforge.io import write_parquet
from mathforge.solutions.stage import run as generate_solutions


def solve(tmp_path, stub, fmt="auto", **solutions):
    cfg = validate_config(
        {
            "inference": openai_inference_config(stub.base_url),
            "solutions": {
                "n_shards": 1,
                "n_tir": 0,
                "n_plain": 1,
                "efforts": ["high"],
                "reasoning_format": fmt,
                **solutions,
            },
        }
    )
    problems = [{"problem_id": "p1", "problem": "PROBLEM-1: compute 1+1.", "expected_answer": "2"}]
    write_parquet(pa.Table.from_pylist(problems), tmp_path / "set.parquet")
    out = tmp_path / "out.parquet"
    generate_solutions(str(tmp_path / "set.parquet"), 0, cfg, str(out), str(tmp_path / "s.json"),
                       str(tmp_path / "store.jsonl"))  # fmt: skip
    [row] = pq.read_table(out).to_pylist()
    return row


def test_the_chat_reasoning_field_is_kept_and_its_boxed_is_not_the_answer(tmp_path, stub_server):
    rule = {"contains": "PROBLEM-1", "reply": "So \\boxed{2}.", "reasoning": "Is it \\boxed{3}? No: 1+1 = 2."}
    row = solve(tmp_path, stub_server({"rules": [rule]}))
    assert row["reasoning"] == "Is it \\boxed{3}? No: 1+1 = 2."
    assert row["generation"] == "So \\boxed{2}." and row["predicted_answer"] == "2"


@pytest.mark.parametrize(("fmt", "reasoning", "answer"), [
    ("think", "Is it \\boxed{3}? No.", "2"),
    ("auto", None, "2"),  # markdown tags: no split, the text is all answer (its last box: 2)
])  # fmt: skip
def test_think_blocks_split_only_when_configured(tmp_path, stub_server, fmt, reasoning, answer):
    rule = {"contains": "PROBLEM-1", "reply": "<think>\nIs it \\boxed{3}? No.\n</think>\n\nSo \\boxed{2}."}
    row = solve(tmp_path, stub_server({"rules": [rule]}), fmt)
    assert row["reasoning"] == reasoning and row["predicted_answer"] == answer
    if reasoning:
        assert row["generation"] == "So \\boxed{2}."


def test_without_reasoning_the_row_is_as_before(tmp_path, stub_server):
    row = solve(tmp_path, stub_server({"rules": [{"contains": "PROBLEM-1", "reply": "So \\boxed{2}."}]}))
    assert (
        row["reasoning"] is None and row["generation"] == "So \\boxed{2}." and row["predicted_answer"] == "2"
    )


def test_a_box_written_while_thinking_is_never_the_answer(tmp_path, stub_server):
    rule = {"contains": "PROBLEM-1", "reply": "<think>\nMaybe \\boxed{3}.\n</think>\n\nI cannot tell."}
    row = solve(tmp_path, stub_server({"rules": [rule]}), "think")
    assert row["predicted_answer"] is None and row["reasoning"] == "Maybe \\boxed{3}."


def test_an_assistant_prefix_opens_the_think_block_for_the_model(tmp_path, stub_server):
    """solve_think starts the answer with `<think>` (as R1/Qwen3 generation prompts do): the
    model continues inside the block, and only its own text comes back to be split."""
    rule = {"contains": "PROBLEM-1", "reply": "Is it \\boxed{3}? No.\n</think>\n\nSo \\boxed{2}."}
    stub = stub_server({"rules": [rule], "keep_bodies": True})
    row = solve(tmp_path, stub, "think", prompts={"plain": "solve_think"})
    [body] = stub.stats()["bodies"]
    assert body["messages"][-1] == {"role": "assistant", "content": "<think>"}
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    assert row["reasoning"] == "Is it \\boxed{3}? No." and row["generation"] == "So \\boxed{2}."
    assert row["predicted_answer"] == "2" and row["prompt_name"] == "solve_think"


def test_thinking_that_goes_on_past_a_forced_close_is_kept_as_returned_and_counted(tmp_path, stub_server):
    # vLLM's thinking_token_budget closes the block mid-thought (replacing a sampled token); the
    # model thinks on in the answer and closes the block itself. The row keeps what the server
    # returned (the SFT audit drops such a turn); the answer is what follows the model's own close.
    rule = {"contains": "PROBLEM-1", "reasoning": "Since $\\cos 9",
            "reply": "= 0$, maybe \\boxed{3}? No: 2.\n</think>\n\nSo \\boxed{2}."}  # fmt: skip
    summary = tmp_path / "s.json"
    row = solve(tmp_path, stub_server({"rules": [rule]}))
    assert row["reasoning"] == "Since $\\cos 9" and row["generation"] == rule["reply"]
    assert row["predicted_answer"] == "2"
    assert read_summary(summary).counters["thinking_continued_after_forced_close"] == 1


def test_a_box_before_the_models_own_close_is_not_the_answer(tmp_path, stub_server):
    rule = {"contains": "PROBLEM-1", "reasoning": "First", "reply": " step: \\boxed{2}\n</think>"}
    row = solve(tmp_path, stub_server({"rules": [rule]}))
    assert row["predicted_answer"] is None
