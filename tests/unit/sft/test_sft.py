"""SFT rows: filters, trimming, dedup, messages (inline and tool calls), length buckets, shards that
pandas and `datasets` load, and the card."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mathforge.config import REPO_ROOT, validate_config
from mathforge.schemas.solutions import SOLUTIONS_SCHEMA
from mathforge.sft.filters import trim_after_answer
from mathforge.sft.messages import split_tool_turns
from mathforge.sft.stage import build_rows, write_shards
from mathforge.solving.code_tags import load_code_tags

TAGS = load_code_tags(REPO_ROOT / "config" / "prompts", "markdown")
TIR_TEXT = (
    "Compute it.\n```python\nx = 6 * 7\nprint(x)\n```\n```output\n42\n```\n"
    "Then check.\n```python\nprint(x + 1)\n```\n```output\n43\n```\nSo \\boxed{43}."
)


def sol(pid="p1", mode="plain", effort="high", seed=0, generation="So \\boxed{43}.", judgement=True, **kw):
    row = {name: None for name in SOLUTIONS_SCHEMA.names}
    cells = [{"code": "x = 6 * 7\nprint(x)\n", "output": "42\n", "status": "ok", "error": None,
              "truncated": False, "restarted": False, "seconds": 0.0}] if mode == "tir" else []  # fmt: skip
    row.update(
        problem_id=pid, problem="What is 6*7+1?", expected_answer="43", mode=mode, effort=effort, seed=seed,
        generation=generation, finish_reason="stop", completion_tokens=100, code_cells=cells,
        prompt_name="solve_tir" if mode == "tir" else "solve_plain", code_tags="markdown@x" if mode == "tir" else None,
        judgement=judgement, answer_rule="forum_agrees", source="demo", license="CC0-1.0", model="m",
        request_key=f"k{pid}{mode}{effort}{seed}",
    )  # fmt: skip
    row.update(kw)
    return row


PROBLEMS = {"p1": {"problem_id": "p1", "difficulty_ok": True, "solve_rate": 0.5, "expected_answer": "43"}}


@pytest.fixture
def cfg():
    return validate_config({"sft": {"length_buckets": [150, 1000], "shard_rows": 2}})


def test_filters_drop_with_reasons_and_keep_the_rest(cfg):
    rows = [
        sol(seed=0),
        sol(seed=1, judgement=False),
        sol(seed=2, finish_reason="length"),
        sol(seed=3, generation="\\boxed{43} or maybe \\boxed{44}"),
        sol(
            seed=4, generation="So \\boxed{43}.\nAnd more rambling after the answer."
        ),  # trimmed: a duplicate of 0
        sol(seed=5, mode="tir", generation=TIR_TEXT),
        sol(seed=6, mode="tir", code_cells=[]),
        sol(
            seed=7,
            mode="tir",
            generation=TIR_TEXT + " ",
            code_cells=[
                {
                    "code": "1/0",
                    "output": "",
                    "status": "error",
                    "error": "ZeroDivisionError",
                    "truncated": False,
                    "restarted": False,
                    "seconds": 0.0,
                }
            ],
        ),
        sol(seed=8, completion_tokens=5000),
    ]
    cfg["sft"]["max_tokens"] = 4000
    out, stats = build_rows(rows, PROBLEMS, cfg)
    assert [r["seed"] for r in out] == [0, 5]
    assert stats.dropped == {
        "incorrect": 1, "unfinished": 1, "multiple_boxed": 1, "duplicate": 1, "tir_without_code": 1,
        "code_error": 1, "too_long": 1,
    }  # fmt: skip
    assert stats.counters["variants"]["high_with_tool"] == {
        "rows": 1,
        "dropped:tir_without_code": 1,
        "dropped:code_error": 1,
    }
    assert set(stats.counters["variants"]) == {
        f"{e}_{t}_tool" for e in ("high", "medium", "low") for t in ("with", "without")
    }


def test_problem_level_drops(cfg):
    problems = {"p1": {**PROBLEMS["p1"], "difficulty_ok": False}}
    out, stats = build_rows([sol()], problems, cfg)
    assert out == [] and stats.dropped == {"difficulty": 1}
    out, stats = build_rows([sol(expected_answer=None)], PROBLEMS, cfg)
    assert stats.dropped == {"no_expected_answer": 1}
    stated = {"p1": {**PROBLEMS["p1"], "answer_in_statement": "= 43 closes the statement"}}
    out, stats = build_rows([sol()], stated, cfg)
    assert out == [] and stats.dropped == {"answer_in_statement": 1}


def test_messages_inline_and_as_tool_calls(cfg):
    [inline], _ = build_rows([sol(mode="tir", generation=TIR_TEXT)], PROBLEMS, cfg)
    roles = [m["role"] for m in inline["messages"]]
    assert roles == ["system", "user", "assistant"]
    assert inline["messages"][1]["content"] == "What is 6*7+1?"
    assert inline["messages"][2]["content"] == TIR_TEXT
    assert "How many positive divisors" not in json.dumps(inline["messages"])  # few-shot examples left out
    turns = split_tool_turns(TIR_TEXT, TAGS)
    assert [t["role"] for t in turns] == ["assistant", "tool", "assistant", "tool", "assistant"]
    assert json.loads(turns[0]["tool_calls"][0]["function"]["arguments"]) == {"code": "x = 6 * 7\nprint(x)\n"}
    assert turns[1] == {"role": "tool", "content": "42\n", "tool_call_id": "call_1"}
    assert turns[-1]["content"] == "So \\boxed{43}."
    cfg["sft"]["tir_format"] = "tool_calls"
    cfg["sft"]["system_prompt"] = False
    [calls], _ = build_rows([sol(mode="tir", generation=TIR_TEXT)], PROBLEMS, cfg)
    assert [m["role"] for m in calls["messages"]] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]


def test_code_that_never_ran_stays_in_the_text():
    text = "```python\nprint(1)\n```\n```output\n1\n```\nOne more:\n```python\nprint(2)\n```\n"
    turns = split_tool_turns(text, TAGS)
    assert [t["role"] for t in turns] == ["assistant", "tool", "assistant"]
    assert turns[-1]["content"].endswith("```python\nprint(2)\n```")


def test_trim_after_answer():
    assert trim_after_answer("a\nSo \\boxed{4}.\nExtra words.") == "a\nSo \\boxed{4}."
    assert trim_after_answer("no box") == "no box"


def test_shards_per_variant_and_bucket_load_with_pandas_and_datasets(cfg, tmp_path):
    rows = [
        sol(seed=i, generation=f"Try {i}: \\boxed{{43}}", completion_tokens=100 if i < 3 else 500)
        for i in range(5)
    ]
    rows += [sol(seed=9, effort="low", mode="tir", generation=TIR_TEXT, completion_tokens=2000)]
    out, _ = build_rows(rows, PROBLEMS, cfg)
    manifest = write_shards(out, tmp_path / "data", shard_rows=2)
    assert manifest["high_without_tool"]["le150"] == {
        "rows": 3, "files": ["high_without_tool/le150/shard-00000.parquet", "high_without_tool/le150/shard-00001.parquet"]}  # fmt: skip
    assert manifest["high_without_tool"]["le1000"]["rows"] == 2
    assert manifest["low_with_tool"]["gt1000"]["rows"] == 1
    df = pd.read_parquet(tmp_path / "data" / "high_without_tool")
    assert len(df) == 5 and set(df["bucket"]) == {"le150", "le1000"}
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset("parquet", data_files=str(tmp_path / "data" / "*" / "*" / "shard-*.parquet"), split="train",
                               cache_dir=str(tmp_path / "hf"))  # fmt: skip
    assert ds.num_rows == 6
    assert ds[0]["messages"][-1]["role"] == "assistant"
    assert not list(tmp_path.glob(".data.tmp-*"))  # written beside, then renamed into place
