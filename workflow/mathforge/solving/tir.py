"""One solution: plain (a single completion) or tool-integrated reasoning (TIR).

TIR: generation stops at the end of a code block (the code tags' `code_end` is a stop string),
the code runs in the solution's own sandbox session (state carries across its cells), the
output is appended in the tags' output block, and generation continues from there, until the
model finishes, the token budget is spent, or `max_code_executions` cells have run (after which
`code_end` is no longer a stop string, so the model must finish without running code).

The partial answer is continued in one of two ways (`transport`):
- `chat`: the chat API with the partial answer as the last assistant message and vLLM's
  `continue_final_message` (the model's own chat template stays on the server);
- `completions`: the completions API on the prompt rendered here with the model's chat template
  (needed for formats with special tokens in the generation, such as gpt-oss's harmony python
  tool: `<|channel|>analysis to=python code<|message|>...<|call|>`, answered by a
  `python to=assistant` message);
- `chat_tools`: the chat API with `python` offered as a function tool; the model's `tool_calls`
  run and their outputs go back as `tool` messages (mathforge.solving.tool_chat).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from mathforge.inference.client import CompletionResult, OpenAIClient, RequestRejected, SamplingParams
from mathforge.solving.task import SolutionResult, SolutionTask, shown_output
from mathforge.solving.tool_chat import solve_with_tool_calls


async def _continue(
    client: OpenAIClient,
    task: SolutionTask,
    text: str,
    params: SamplingParams,
    render_prompt: Callable[..., str] | None,
) -> CompletionResult:
    transport = task.tir.transport if task.tir else "chat"
    if transport == "completions":
        if render_prompt is None:
            raise ValueError("the completions transport needs a chat-template renderer")
        # The task's own template kwargs (its effort): the completions API has no chat template.
        prompt = render_prompt(task.messages, **(task.params.chat_template_kwargs or {}))
        return await client.complete(prompt + task.prefix + text, params)
    if not task.prefix + text:
        return await client.chat(task.messages, params)
    extra = {**(params.extra_body or {}), "continue_final_message": True, "add_generation_prompt": False}
    return await client.chat(
        [*task.messages, {"role": "assistant", "content": task.prefix + text}],
        dataclasses.replace(params, extra_body=extra),
    )


async def generate_solution(
    client: OpenAIClient,
    task: SolutionTask,
    sandbox=None,
    render_prompt: Callable[..., str] | None = None,
) -> SolutionResult:
    """Run one solution to the end. Final request rejections end it with `error` set (what was
    generated so far is kept); transient failures that outlive the client's retries propagate."""
    if task.tir is not None and task.tir.transport == "chat_tools":
        return await solve_with_tool_calls(client, task, sandbox)
    started = time.monotonic()
    result = SolutionResult(task.key)
    tir = task.tir
    session = None
    max_calls = 2 * tir.max_code_executions + 4 if tir else 1  # stops on fences that hold no code
    try:
        while result.llm_calls < max_calls:
            budget = task.params.max_tokens - result.completion_tokens
            if budget <= 0:
                result.finish_reason = "length"
                break
            can_run = tir is not None and len(result.code_cells) < tir.max_code_executions
            params = dataclasses.replace(task.params, max_tokens=budget)
            if can_run:
                params = dataclasses.replace(
                    params,
                    stop=(*params.stop, tir.tags.code_end),
                    extra_body={**(params.extra_body or {}), "include_stop_str_in_output": True},
                )
            try:
                reply = await _continue(client, task, result.generation, params, render_prompt)
            except RequestRejected as exc:  # e.g. the prompt outgrew the context after a long output
                result.error = str(exc)
                result.finish_reason = "rejected"
                break
            result.llm_calls += 1
            result.generation += reply.text
            if reply.reasoning:
                result.reasoning = (
                    f"{result.reasoning}\n\n{reply.reasoning}" if result.reasoning else reply.reasoning
                )
            result.finish_reason = reply.finish_reason
            result.completion_tokens += reply.completion_tokens or 0
            result.prompt_tokens = reply.prompt_tokens
            result.model = reply.model or result.model
            if not can_run:
                break
            cell = tir.tags.find_cell(result.generation, reply.finish_reason)
            if cell is None:
                if reply.finish_reason == "stop" and reply.stop_reason == tir.tags.code_end:
                    continue  # a fence closed that held no code to run (e.g. a ```text block)
                break
            code, result.generation = cell
            if session is None:
                session = await sandbox.open_session()
                result.sandbox_isolation = sandbox.isolation(session)
            ran = await sandbox.execute(session, code, tir.timeout_s)
            result.code_cells.append({"code": code, **ran.to_dict()})
            remaining = tir.max_code_executions - len(result.code_cells) if tir.remaining_hint else None
            result.generation += tir.tags.render_output(shown_output(ran.output, ran.error), remaining)
            result.finish_reason = None  # generation goes on after the output
        else:
            result.finish_reason = "max_calls"
    finally:
        if session is not None:
            await sandbox.close_session(session)
    result.latency_s = round(time.monotonic() - started, 4)
    return result
