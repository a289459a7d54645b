"""SFT messages carry a reasoning model's thinking: as `reasoning_content` (default), inline in
<think>, or not at all; rows without reasoning are unchanged."""

from __future__ import annotations

import pytest
from test_sft import PROBLEMS, TIR_TEXT, sol

from mathforge.config import validate_config
from mathforge.sft.stage import SFT_SCHEMA, build_rows, write_shards

THINKING = "Try 6*7 = 42, then add one. Not \\boxed{42}."


@pytest.fixture
def cfg():
    return validate_config({})


def assistant(rows):
    return [m for m in rows[0]["messages"] if m["role"] == "assistant"]


def test_reasoning_rides_on_the_assistant_turn_as_a_field(cfg):
    rows, _ = build_rows([sol(reasoning=THINKING)], PROBLEMS, cfg)
    [turn] = assistant(rows)
    assert turn == {"role": "assistant", "content": "So \\boxed{43}.", "reasoning_content": THINKING}
    assert rows[0]["reasoning"] == THINKING and rows[0]["generation"] == "So \\boxed{43}."


def test_think_format_renders_it_inline_and_none_drops_it(cfg):
    cfg["sft"]["reasoning_format"] = "think"
    rows, _ = build_rows([sol(reasoning=THINKING)], PROBLEMS, cfg)
    assert assistant(rows) == [
        {"role": "assistant", "content": f"<think>\n{THINKING}\n</think>\n\nSo \\boxed{{43}}."}
    ]
    cfg["sft"]["reasoning_format"] = "none"
    rows, _ = build_rows([sol(reasoning=THINKING)], PROBLEMS, cfg)
    assert assistant(rows) == [{"role": "assistant", "content": "So \\boxed{43}."}]


def test_without_reasoning_every_format_gives_the_same_messages(cfg):
    out = []
    for fmt in ("field", "think", "none"):
        cfg["sft"]["reasoning_format"] = fmt
        out.append(build_rows([sol()], PROBLEMS, cfg)[0][0]["messages"])
    assert out[0] == out[1] == out[2]
    assert "reasoning_content" not in out[0][-1]


def test_two_traces_to_the_same_answer_are_not_duplicates(cfg):
    rows, stats = build_rows(
        [sol(seed=0, reasoning="one way"), sol(seed=1, reasoning="another way")], PROBLEMS, cfg
    )
    assert len(rows) == 2 and stats.dropped == {}


def test_tir_thinking_between_tool_calls(cfg):
    """Code run while thinking: each call's preceding thought is that turn's reasoning_content."""
    cfg["sft"]["tir_format"] = "tool_calls"
    rows, _ = build_rows([sol(mode="tir", reasoning=TIR_TEXT.split("So ")[0] + "Checked.", generation="So \\boxed{43}.")],
                         PROBLEMS, cfg)  # fmt: skip
    turns = rows[0]["messages"][2:]
    assert [t["role"] for t in turns] == ["assistant", "tool", "assistant", "tool", "assistant"]
    assert turns[0]["reasoning_content"] == "Compute it." and turns[0]["content"] is None
    assert turns[2]["reasoning_content"] == "Then check." and turns[2]["tool_calls"]
    assert turns[4] == {"role": "assistant", "content": "So \\boxed{43}.", "reasoning_content": "Checked."}


def test_shards_store_the_field(cfg, tmp_path):
    rows, _ = build_rows([sol(reasoning=THINKING)], PROBLEMS, cfg)
    write_shards(rows, tmp_path / "data", 10)
    import pyarrow.parquet as pq

    [path] = (tmp_path / "data").rglob("*.parquet")
    table = pq.read_table(path)
    assert table.schema.equals(SFT_SCHEMA)
    assert table.to_pylist()[0]["messages"][-1]["reasoning_content"] == THINKING
