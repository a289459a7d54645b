"""A judged solution as chat `messages` for SFT.

The prompt is the one the solution was generated with, without its few-shot examples. TIR
solutions are written either `inline` (code and output blocks inside the assistant text, as
Qwen-style TIR models are trained) or as `tool_calls` (assistant turns calling a `python` tool
and `tool` turns holding the outputs, as chat templates with tool support expect).
"""

from __future__ import annotations

import json

from mathforge.prompts import Prompt
from mathforge.solutions.code_tags import CodeTags


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
        begin = next(tags.begin_regex.finditer(generation, pos), None)
        if begin is None:
            break
        end = generation.find(tags.code_end, begin.end())
        out_start = generation.find(tags.output_begin, end) if end >= 0 else -1
        if end < 0 or out_start != end + len(tags.code_end):
            break  # code that was never run (budget exhausted): stays in the text
        out_end = generation.find(tags.output_end, out_start + len(tags.output_begin))
        if out_end < 0:
            break
        calls += 1
        call_id = f"call_{calls}"
        code = generation[begin.end() : end]
        turns.append({
            "role": "assistant",
            "content": generation[pos : begin.start()].strip() or None,
            "tool_calls": [{"id": call_id, "type": "function",
                            "function": {"name": "python", "arguments": json.dumps({"code": code})}}],
        })  # fmt: skip
        output = generation[out_start + len(tags.output_begin) : out_end]
        turns.append({"role": "tool", "content": output, "tool_call_id": call_id})
        pos = out_end + len(tags.output_end)
    turns.append({"role": "assistant", "content": generation[pos:].strip()})
    return turns


def solution_messages(
    prompt_turns: list[dict], generation: str, tags: CodeTags | None, tir_format: str
) -> list[dict]:
    if tags is None or tir_format == "inline":
        return [*prompt_turns, {"role": "assistant", "content": generation.strip()}]
    return [*prompt_turns, *split_tool_turns(generation, tags)]
