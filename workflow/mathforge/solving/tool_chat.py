"""TIR over the chat API's tool calls (`solutions.tir.transport: chat_tools`).

For servers that parse tool calls themselves, e.g. gpt-oss on vLLM with `--tool-call-parser
openai`: `python` is offered as a function tool, the reply's `tool_calls` run in the solution's
sandbox session, the outputs go back as `tool` messages (the assistant turn with its
`reasoning_content`, as vLLM turns it back into harmony analysis messages), and the model goes
on until it answers without a call. The solution is stored in the same form as the text
transports': the thinking with each call and its output inline in the code tags' blocks (so
the SFT writer splits it into tool turns the same way), the final content as the answer.
"""

from __future__ import annotations

import dataclasses
import json
import time

from mathforge.inference.client import Choice, OpenAIClient, RequestRejected
from mathforge.solving.task import SolutionResult, SolutionTask, shown_output

PYTHON_TOOL = {
    "type": "function",
    "function": {
        "name": "python",
        "description": "Run Python code in a stateful session (variables persist); returns what it prints.",
        "parameters": {"type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]},
    },
}


def call_code(call: dict) -> str:
    """The code of a python tool call: JSON arguments {"code": ...}, or the raw code (harmony's
    built-in python tool sends the code itself)."""
    arguments = (call.get("function") or {}).get("arguments") or ""
    try:
        value = json.loads(arguments)
    except ValueError:
        return arguments
    return value.get("code", "") if isinstance(value, dict) else arguments


def _append_thought(result: SolutionResult, text: str | None, tags) -> None:
    """Thinking text after what came before: a blank line between thoughts, none after an
    output block (the same joints as a harmony transcript split by solutions.transcript)."""
    if text and text.strip():
        after_block = (result.reasoning or "").endswith((tags.output_end, tags.code_end))
        joint = "\n\n" if result.reasoning and not after_block else ""
        result.reasoning = f"{result.reasoning or ''}{joint}{text.strip()}"


async def _ask(client: OpenAIClient, task: SolutionTask, history: list[dict], result: SolutionResult,
               can_run: bool) -> Choice:  # fmt: skip
    tools = {"tools": [PYTHON_TOOL], "tool_choice": "auto" if can_run else "none"}
    params = dataclasses.replace(
        task.params,
        max_tokens=task.params.max_tokens - result.completion_tokens,
        extra_body={**(task.params.extra_body or {}), **tools},
    )
    reply = await client.chat([*task.messages, *history], params)
    result.llm_calls += 1
    result.completion_tokens += reply.completion_tokens or 0
    result.prompt_tokens = reply.prompt_tokens
    result.model = reply.model or result.model
    result.finish_reason = reply.finish_reason
    return reply.choices[0]


async def solve_with_tool_calls(client: OpenAIClient, task: SolutionTask, sandbox) -> SolutionResult:
    started = time.monotonic()
    result, tags, session, history = SolutionResult(task.key), task.tir.tags, None, []
    try:
        while result.llm_calls < task.tir.max_code_executions + 2:
            if task.params.max_tokens - result.completion_tokens <= 0:
                result.finish_reason = "length"
                break
            can_run = len(result.code_cells) < task.tir.max_code_executions
            try:
                choice = await _ask(client, task, history, result, can_run)
            except RequestRejected as exc:
                result.error, result.finish_reason = str(exc), "rejected"
                break
            _append_thought(result, choice.reasoning, tags)
            if not choice.tool_calls or not can_run:
                result.generation = choice.text
                break
            _append_thought(result, choice.text, tags)  # a preamble before the call is thinking too
            turn = {"role": "assistant", "content": choice.text or None, "tool_calls": choice.tool_calls}
            history.append({**turn, "reasoning_content": choice.reasoning})
            for call in choice.tool_calls:
                if session is None:
                    session = await sandbox.open_session()
                    result.sandbox_isolation = sandbox.isolation(session)
                code = call_code(call)
                ran = await sandbox.execute(session, code, task.tir.timeout_s)
                result.code_cells.append({"code": code, **ran.to_dict()})
                shown = shown_output(ran.output, ran.error)
                result.reasoning = (result.reasoning or "") + f"{tags.code_begin}{code}{tags.code_end}"
                result.reasoning += tags.render_output(shown, None)
                history.append({"role": "tool", "tool_call_id": call.get("id"), "content": shown})
            result.finish_reason = None
        else:
            result.finish_reason = "max_calls"
    finally:
        if session is not None:
            await sandbox.close_session(session)
    result.latency_s = round(time.monotonic() - started, 4)
    return result
