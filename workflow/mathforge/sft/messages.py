"""A judged solution as chat `messages` for SFT.

The prompt is the one the solution was generated with, without its few-shot examples. TIR
solutions are written either `inline` (code and output blocks inside the assistant text, as
Qwen-style TIR models are trained) or as `tool_calls` (assistant turns calling a `python` tool
and `tool` turns holding the outputs, as chat templates with tool support expect). A reasoning
model's thinking rides on the assistant turns as `reasoning_content` (vLLM's and NeMo-Skills'
chat format; gpt-oss templates render it as the analysis channel), or inline in `<think>`
(`sft.reasoning_format`).
"""

from __future__ import annotations

import json

from mathforge.prompts import Prompt
from mathforge.solving.code_tags import CodeTags


def prompt_messages(prompt: Prompt, problem: str, effort_instruction: str, system: bool) -> list[dict]:
    rendered = Prompt(prompt.name, prompt.system, prompt.user).render(
        problem=problem, effort_instruction=effort_instruction
    )
    return rendered if system else [m for m in rendered if m["role"] != "system"]


def split_tool_turns(generation: str, tags: CodeTags) -> list[dict]:
    """Assistant/tool turns of an inline TIR generation (each code cell becomes a tool call)."""
    turns: list[dict] = []
    pos, calls = 0, 0
    while True:
        begin = tags.begin_span(generation, pos)
        if begin is None:
            break
        begin_start, begin_end = begin
        end = generation.find(tags.code_end, begin_end)
        out_start = generation.find(tags.output_begin, end) if end >= 0 else -1
        if end < 0 or out_start != end + len(tags.code_end):
            break  # code that was never run (budget exhausted): stays in the text
        out_end = generation.find(tags.output_end, out_start + len(tags.output_begin))
        if out_end < 0:
            break
        calls += 1
        call_id = f"call_{calls}"
        code = generation[begin_end:end]
        turns.append({
            "role": "assistant",
            "content": generation[pos:begin_start].strip() or None,
            "tool_calls": [{"id": call_id, "type": "function",
                            "function": {"name": "python", "arguments": json.dumps({"code": code})}}],
        })  # fmt: skip
        output = generation[out_start + len(tags.output_begin) : out_end]
        turns.append({"role": "tool", "content": output, "tool_call_id": call_id})
        pos = out_end + len(tags.output_end)
    turns.append({"role": "assistant", "content": generation[pos:].strip()})
    return turns


def _thinking_turns(reasoning: str, tags: CodeTags) -> list[dict]:
    """Tool turns of the thinking: each call's preceding thought goes in `reasoning_content`."""
    turns = split_tool_turns(reasoning, tags)
    for turn in turns:
        if turn["role"] == "assistant":
            turn["reasoning_content"] = turn.pop("content")
            turn["content"] = None
    return turns


def solution_messages(
    prompt_turns: list[dict], generation: str, tags: CodeTags | None, tir_format: str,
    reasoning: str | None = None,
) -> list[dict]:  # fmt: skip
    """The conversation of a solution; its thinking, if any, in `reasoning_content` on the
    assistant turns (between tool calls for TIR as `tool_calls`)."""
    if tags is None or tir_format == "inline":
        turn = {"role": "assistant", "content": generation.strip()}
        return [*prompt_turns, {**turn, "reasoning_content": reasoning.strip()} if reasoning else turn]
    answer = split_tool_turns(generation, tags)
    if not reasoning:
        return [*prompt_turns, *answer]
    thinking = _thinking_turns(reasoning, tags)
    last = thinking.pop()  # the thought after the last tool output opens the answer's first turn
    return [
        *prompt_turns,
        *thinking,
        {**answer[0], "reasoning_content": last["reasoning_content"]},
        *answer[1:],
    ]
