"""The TIR loop against a scripted server (stop strings honoured like vLLM) and the real sandbox."""

import asyncio

import pytest

from mathforge.config import REPO_ROOT
from mathforge.inference.client import OpenAIClient, SamplingParams
from mathforge.sandbox.pool import SandboxPool
from mathforge.solving.code_tags import load_code_tags
from mathforge.solving.task import SolutionTask, TIRSettings
from mathforge.solving.tir import generate_solution

TAGS = load_code_tags(REPO_ROOT / "config" / "prompts", "markdown")
MESSAGES = [{"role": "system", "content": "Solve."}, {"role": "user", "content": "PROBLEM-A: what is 6*7+1?"}]
TURNS = [
    "First compute the product.\n```python\nx = 6 * 7\nprint(x)\n```\nThis text is past the stop string.",
    "Now add one, reusing x.\n```python\nprint(x + 1)\n```\n",
    "So the answer is \\boxed{43}.",
]


def run(base_url: str, task: SolutionTask, pool_kwargs=None, render=None):
    async def go():
        async with (
            OpenAIClient(base_url, "stub", max_retries=0) as client,
            SandboxPool(max_sessions=2, prestart=1, **(pool_kwargs or {})) as pool,
        ):
            return await generate_solution(client, task, pool, render)

    return asyncio.run(go())


def tir_task(max_exec=10, hint=False, transport="chat", max_tokens=4096, timeout_s=5.0):
    settings = TIRSettings(TAGS, max_code_executions=max_exec, timeout_s=timeout_s, remaining_hint=hint,
                           transport=transport)  # fmt: skip
    return SolutionTask("k1", MESSAGES, SamplingParams(max_tokens=max_tokens, seed=3), settings)


def test_cells_run_in_one_stateful_session_and_outputs_are_fed_back(stub_server):
    stub = stub_server({"rules": [{"contains": "PROBLEM-A", "turns": TURNS}], "keep_bodies": True})
    result = run(stub.base_url, tir_task())
    assert [c["code"] for c in result.code_cells] == ["x = 6 * 7\nprint(x)\n", "print(x + 1)\n"]
    assert [c["output"] for c in result.code_cells] == ["42\n", "43\n"]  # x survived between cells
    assert result.generation == (
        "First compute the product.\n```python\nx = 6 * 7\nprint(x)\n```\n```output\n42\n```\n"
        "Now add one, reusing x.\n```python\nprint(x + 1)\n```\n```output\n43\n```\n"
        "So the answer is \\boxed{43}."
    )
    assert result.llm_calls == 3 and result.finish_reason == "stop" and result.error is None
    bodies = stub.stats()["bodies"]
    assert bodies[0]["stop"] == ["```\n"] and bodies[0]["include_stop_str_in_output"] is True
    assert "continue_final_message" not in bodies[0]
    assert bodies[1]["continue_final_message"] is True and bodies[1]["add_generation_prompt"] is False
    assert bodies[1]["messages"][-1] == {
        "role": "assistant",
        "content": result.generation.split("Now add")[0],
    }
    assert all(b["seed"] == 3 for b in bodies)
    assert result.completion_tokens == 15  # 5 per call from the stub: summed over turns


def test_the_token_budget_spans_all_turns(stub_server):
    stub = stub_server({"rules": [{"contains": "PROBLEM-A", "turns": TURNS}], "keep_bodies": True})
    result = run(stub.base_url, tir_task(max_tokens=12))
    assert [b["max_tokens"] for b in stub.stats()["bodies"]] == [12, 7, 2]
    assert result.llm_calls == 3


def test_after_max_code_executions_code_is_no_longer_a_stop(stub_server):
    always_code = ["Again.\n```python\nprint('run')\n```\n"]
    stub = stub_server({"rules": [{"contains": "PROBLEM-A", "turns": always_code}], "keep_bodies": True})
    result = run(stub.base_url, tir_task(max_exec=2, hint=True))
    assert len(result.code_cells) == 2
    assert result.llm_calls == 3
    bodies = stub.stats()["bodies"]
    assert "stop" not in bodies[2] and "include_stop_str_in_output" not in bodies[2]
    assert "[1 code execution(s) left]" in result.generation
    assert "[no code executions left: finish without code]" in result.generation
    assert result.generation.endswith("Again.\n```python\nprint('run')\n```\n")  # the last is not run


def test_errors_and_timeouts_are_shown_to_the_model_and_the_session_goes_on(stub_server):
    turns = [
        "```python\ny = 5\n1 / 0\n```\n",
        "```python\nimport time\nwhile True:\n    time.sleep(0.01)\n```\n",
        "```python\nprint(y * 2)\n```\n",
        "Done: \\boxed{10}",
    ]
    stub = stub_server({"rules": [{"contains": "PROBLEM-A", "turns": turns}]})
    result = run(stub.base_url, tir_task(timeout_s=0.5))
    assert [c["status"] for c in result.code_cells] == ["error", "timeout", "ok"]
    assert "ZeroDivisionError" in result.generation
    assert "TimeoutError" in result.generation
    assert result.code_cells[2]["output"] == "10\n"  # state kept across the interrupted cell
    assert not any(c["restarted"] for c in result.code_cells)


def test_long_output_is_truncated_with_a_marker(stub_server):
    turns = ["```python\nprint('z' * 5000)\n```\n", "\\boxed{1}"]
    stub = stub_server({"rules": [{"contains": "PROBLEM-A", "turns": turns}]})
    result = run(stub.base_url, tir_task(), pool_kwargs={"max_output": 100})
    cell = result.code_cells[0]
    assert cell["truncated"] and "output truncated: 100 of 5001 bytes shown" in cell["output"]
    assert "z" * 101 not in result.generation


def test_a_fence_without_code_continues_generation(stub_server):
    turns = ["A table:\n```text\n1 2 3\n```\nand then \\boxed{6}"]
    stub = stub_server({"rules": [{"contains": "PROBLEM-A", "turns": turns}], "keep_bodies": True})
    result = run(stub.base_url, tir_task())
    # The stub replays the same turn (no output block was added); the loop stops after its bound.
    assert result.code_cells == []
    assert result.llm_calls == 2 * 10 + 4 and result.finish_reason == "max_calls"


def test_completions_transport_sends_the_rendered_prompt_plus_the_partial_answer(stub_server):
    stub = stub_server({"rules": [{"contains": "PROBLEM-A", "turns": TURNS}], "keep_bodies": True})

    def render(messages):
        return "".join(f"<{m['role']}>{m['content']}</{m['role']}>" for m in messages) + "<assistant>"

    result = run(stub.base_url, tir_task(transport="completions"), render=render)
    bodies = stub.stats()["bodies"]
    assert all("prompt" in b and "messages" not in b for b in bodies)
    assert bodies[1]["prompt"].startswith(render(MESSAGES) + "First compute")
    assert result.code_cells[1]["output"] == "43\n"


def test_a_rejection_mid_solution_keeps_what_was_generated(stub_server):
    turns = ["```python\nprint('big')\n```\n", "never"]
    stub = stub_server({"rules": [{"contains": "PROBLEM-A", "turns": turns}], "reject_contains": "```output"})
    result = run(stub.base_url, tir_task())
    assert result.finish_reason == "rejected" and "HTTP 400" in result.error
    assert result.generation.startswith("```python\nprint('big')\n```\n```output\nbig\n```\n")


def test_plain_solutions_are_one_call_without_stops(stub_server):
    stub = stub_server({"rules": [{"contains": "PROBLEM-A", "turns": TURNS}], "keep_bodies": True})

    async def go():
        async with OpenAIClient(stub.base_url, "stub") as client:
            return await generate_solution(client, SolutionTask("p", MESSAGES, SamplingParams(), None))

    result = asyncio.run(go())
    assert result.generation == TURNS[0] and result.code_cells == []
    assert "stop" not in stub.stats()["bodies"][0]


@pytest.mark.parametrize("bad", ["import os\nos._exit(3)\n", "import signal, os\nos.kill(os.getpid(), 9)\n"])
def test_a_crashing_cell_restarts_the_session_and_says_so(stub_server, bad):
    turns = [
        "```python\nkeep = 1\n```\n",
        f"```python\n{bad}```\n",
        "```python\nprint('keep' in globals())\n```\n",
        "\\boxed{0}",
    ]
    stub = stub_server({"rules": [{"contains": "PROBLEM-A", "turns": turns}]})
    result = run(stub.base_url, tir_task())
    assert [c["status"] for c in result.code_cells] == ["ok", "crashed", "ok"]
    assert result.code_cells[1]["restarted"]
    assert result.code_cells[2]["output"] == "False\n"  # the restart is visible, not silent


def test_the_assistant_prefix_starts_the_answer_on_both_transports(stub_server):
    stub = stub_server({"rules": [{"contains": "PROBLEM-A", "turns": TURNS}], "keep_bodies": True})

    def render(messages):
        return "".join(f"<{m['role']}>{m['content']}</{m['role']}>" for m in messages) + "<assistant>"

    completions = tir_task(transport="completions")
    completions.prefix = "<think>\n"
    result = run(stub.base_url, completions, render=render)
    chat = tir_task()
    chat.prefix = "<think>\n"
    run(stub.base_url, chat)
    bodies = stub.stats()["bodies"]
    prompts = [b["prompt"] for b in bodies if "prompt" in b]
    assert prompts[0] == render(MESSAGES) + "<think>\n"
    assert (
        prompts[1] == render(MESSAGES) + "<think>\n" + result.generation[: len(prompts[1]) - len(prompts[0])]
    )
    chats = [b for b in bodies if "messages" in b]
    assert chats[0]["messages"][-1] == {"role": "assistant", "content": "<think>\n"}
    assert chats[1]["messages"][-1]["content"].startswith("<think>\nFirst compute the product.")
    assert not result.generation.startswith("<think>")  # given, not generated: not in the row's text
