"""Contract: TIR with gpt-oss's python tool, against replies in the form vLLM returns them
(written from the harmony format, since openai-harmony cannot load its vocabulary offline).

- completions transport: harmony text, the python call on the analysis channel with a
  recipient (both placements: `<|channel|>analysis to=python code` and `to=python<|channel|>
  analysis code`), ended by the stop token `<|call|>` (dropped from the text, or kept), the
  tool's reply rendered back as a `python to=assistant` message, the answer on the final channel.
- chat_tools transport: `reasoning_content` + `tool_calls` (a `functions.python` call), the
  output sent back as a `tool` message.
At three efforts, with real sandbox outputs; then the rows' SFT messages.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from chat_templates import HARMONY_TEMPLATE, tiny_tokenizer
from conftest import openai_inference_config

from mathforge.config import validate_config
from mathforge.io import write_parquet
from mathforge.sft.stage import build_rows
from mathforge.solutions.stage import run as generate_solutions

EFFORTS = ("high", "medium", "low")
OUT = "<|start|>python to=assistant<|channel|>analysis<|message|>"
CALL = "<|channel|>analysis to=python code<|message|>"


def harmony_turns(effort: str) -> list[str]:
    """Three completions: a call, a call with the recipient before the channel, the answer."""
    return [
        f"<|channel|>analysis<|message|>[{effort}] 6*7+1: guess \\boxed{{41}}? Compute."
        "<|end|><|start|>assistant<|channel|>analysis to=python code<|message|>x = 6 * 7\nprint(x + 1)<|call|>",
        "<|channel|>analysis<|message|>43. Check x.<|end|>"
        "<|start|>assistant to=python<|channel|>analysis code<|message|>print(x)<|call|>",
        "<|channel|>analysis<|message|>x is 42, so 43.<|end|>"
        "<|start|>assistant<|channel|>final<|message|>The answer is \\boxed{43}.<|return|>",
    ]


CHAT_TURNS = [
    "<|channel|>analysis<|message|>6*7+1: guess \\boxed{41}? Compute.<|end|>"
    "<|start|>assistant<|channel|>commentary to=functions.python <|constrain|>json<|message|>"
    '{"code": "x = 6 * 7\\nprint(x + 1)"}<|call|>',
    "<|channel|>analysis<|message|>x + 1 is 43.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>The answer is \\boxed{43}.<|return|>",
]


def run(tmp_path, stub, tir: dict, extra_body=None):
    cfg = validate_config(
        {
            "inference": openai_inference_config(stub.base_url),
            "solutions": {
                "n_shards": 1, "n_tir": 1, "n_plain": 0, "efforts": list(EFFORTS),
                "sampling": {"max_tokens": 4096, "seed": 1, "chat_template_kwargs": {"builtin_tools": ["python"]},
                             "extra_body": extra_body or {}},
                "tir": {"code_tags": "gpt-oss", **tir},
            },
            "sandbox": {"max_sessions": 2, "prestart": 0},
        }
    )  # fmt: skip
    problems = [{"problem_id": "p1", "problem": "PROBLEM-1: what is 6*7+1?", "expected_answer": "43"}]
    write_parquet(pa.Table.from_pylist(problems), tmp_path / "set.parquet")
    out = tmp_path / "out.parquet"
    generate_solutions(str(tmp_path / "set.parquet"), 0, cfg, str(out), str(tmp_path / "s.json"),
                       str(tmp_path / "store.jsonl"))  # fmt: skip
    return cfg, pq.read_table(out).to_pylist()


def sft_messages(cfg, rows, tir_format, reasoning_format):
    # dedup off: the chat stub answers every effort alike (it cannot see the template kwargs)
    cfg["sft"].update(
        tir_format=tir_format, reasoning_format=reasoning_format, system_prompt=False, dedup=False
    )
    judged = [{**r, "judgement": True, "answer_rule": "forum_agrees"} for r in rows]
    problem = {"p1": {"problem_id": "p1", "difficulty_ok": True, "solve_rate": 1.0}}
    out, stats = build_rows(judged, problem, cfg)
    assert stats.dropped == {}
    return {r["reasoning_effort"]: r["messages"] for r in out}


@pytest.mark.parametrize("keep_stop_tokens", [False, True])
def test_completions_harmony_python_tool(tmp_path, stub_server, keep_stop_tokens):
    rules = [
        {"contains": f"Reasoning: {e}\n", "turns": harmony_turns(e), "turn_marker": OUT} for e in EFFORTS
    ]
    stub = stub_server(
        {"rules": rules, "keep_bodies": True, "gpt_oss": True, "keep_stop_tokens": keep_stop_tokens}
    )
    tok = tiny_tokenizer(tmp_path / "tok", HARMONY_TEMPLATE)
    cfg, rows = run(
        tmp_path, stub, {"transport": "completions", "tokenizer": tok}, {"skip_special_tokens": False}
    )
    bodies = stub.stats()["bodies"]
    assert len(bodies) == 9 and all(
        b["stop"] == ["<|call|>"] and b["skip_special_tokens"] is False for b in bodies
    )
    assert all("## python" in b["prompt"] for b in bodies)  # the built-in tool is declared
    by_effort = {r["effort"]: r for r in rows}
    assert set(by_effort) == set(EFFORTS)
    for effort, row in by_effort.items():
        assert [c["output"] for c in row["code_cells"]] == ["43\n", "42\n"]  # the sandbox ran them, x kept
        assert [c["status"] for c in row["code_cells"]] == ["ok", "ok"]
        assert row["generation"] == "The answer is \\boxed{43}."
        assert row["predicted_answer"] == "43"  # not the 41 guessed while thinking
        assert row["reasoning"] == (
            f"[{effort}] 6*7+1: guess \\boxed{{41}}? Compute.{CALL}x = 6 * 7\nprint(x + 1)<|call|>"
            f"{OUT}43\n<|end|><|start|>assistant43. Check x.{CALL}print(x)<|call|>"
            f"{OUT}42\n<|end|><|start|>assistantx is 42, so 43."
        )
        assert row["finish_reason"] == "stop" and row["num_llm_calls"] == 3
    # Each call continued the transcript with the tool's reply as a harmony message.
    second = [b["prompt"] for b in bodies if b["prompt"].count(OUT) == 1]
    assert len(second) == 3 and all(p.endswith(f"{OUT}43\n<|end|><|start|>assistant") for p in second)
    assert all(p.split(OUT)[0].endswith("print(x + 1)<|call|>") for p in second)

    calls = sft_messages(cfg, rows, "tool_calls", "field")["low"]
    assert [m["role"] for m in calls] == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert (
        calls[1]["content"] is None
        and calls[1]["reasoning_content"] == "[low] 6*7+1: guess \\boxed{41}? Compute."
    )
    assert json.loads(calls[1]["tool_calls"][0]["function"]["arguments"]) == {
        "code": "x = 6 * 7\nprint(x + 1)"
    }
    assert calls[2]["content"] == "43\n" and calls[2]["tool_call_id"] == calls[1]["tool_calls"][0]["id"]
    assert calls[3]["reasoning_content"] == "43. Check x."
    assert json.loads(calls[3]["tool_calls"][0]["function"]["arguments"]) == {"code": "print(x)"}
    assert calls[5] == {
        "role": "assistant",
        "content": "The answer is \\boxed{43}.",
        "reasoning_content": "x is 42, so 43.",
    }
    inline = sft_messages(cfg, rows, "inline", "think")["high"]
    assert inline[-1]["content"].startswith("<think>\n[high] 6*7+1")
    assert inline[-1]["content"].endswith("x is 42, so 43.\n</think>\n\nThe answer is \\boxed{43}.")


def test_chat_reasoning_content_and_tool_calls(tmp_path, stub_server):
    stub = stub_server(
        {"rules": [{"contains": "PROBLEM-1", "turns": CHAT_TURNS}], "keep_bodies": True, "gpt_oss": True}
    )
    cfg, rows = run(tmp_path, stub, {"transport": "chat_tools"})
    bodies = stub.stats()["bodies"]
    assert len(bodies) == 6
    assert sorted(b["chat_template_kwargs"]["reasoning_effort"] for b in bodies) == sorted(EFFORTS * 2)
    assert all(b["tools"][0]["function"]["name"] == "python" for b in bodies)
    followups = [b["messages"] for b in bodies if any(m["role"] == "tool" for m in b["messages"])]
    assert len(followups) == 3
    for messages in followups:
        call, reply = messages[-2:]
        assert call["reasoning_content"] == "6*7+1: guess \\boxed{41}? Compute."
        assert call["tool_calls"][0]["function"]["name"] == "python"
        assert reply == {"role": "tool", "tool_call_id": call["tool_calls"][0]["id"], "content": "43\n"}
    for row in rows:
        assert row["code_cells"][0]["output"] == "43\n" and row["predicted_answer"] == "43"
        assert row["generation"] == "The answer is \\boxed{43}."
        assert row["reasoning"] == (
            f"6*7+1: guess \\boxed{{41}}? Compute.{CALL}x = 6 * 7\nprint(x + 1)<|call|>"
            f"{OUT}43\n<|end|><|start|>assistantx + 1 is 43."
        )
    calls = sft_messages(cfg, rows, "tool_calls", "field")["medium"]
    assert [m["role"] for m in calls] == ["user", "assistant", "tool", "assistant"]
    assert calls[1]["reasoning_content"] == "6*7+1: guess \\boxed{41}? Compute."
    assert calls[3] == {
        "role": "assistant",
        "content": "The answer is \\boxed{43}.",
        "reasoning_content": "x + 1 is 43.",
    }
