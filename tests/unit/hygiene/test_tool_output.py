"""Tool output in solutions: made up without the tool (any format), or not the sandbox's output."""

from __future__ import annotations

import asyncio

import pytest

from mathforge.config import REPO_ROOT
from mathforge.hygiene.tool_output import invented_output, output_markers, output_mismatch
from mathforge.inference.client import OpenAIClient, SamplingParams
from mathforge.sandbox.pool import SandboxPool
from mathforge.solving.code_tags import load_code_tags
from mathforge.solving.task import SolutionTask, TIRSettings
from mathforge.solving.tir import generate_solution

PROMPTS = REPO_ROOT / "config" / "prompts"
MARKDOWN = load_code_tags(PROMPTS, "markdown")
HARMONY = load_code_tags(PROMPTS, "gpt-oss")
MARKERS = output_markers(PROMPTS)


def cell(code: str, output: str, error: str | None = None) -> dict:
    return {"code": code, "output": output, "status": "ok" if error is None else "error", "error": error,
            "truncated": False, "restarted": False, "seconds": 0.0}  # fmt: skip


TIR_TEXT = (
    "Compute.\n```python\nx = 6 * 7\nprint(x)\n```\n```output\n42\n```\n"
    "Then.\n```python\nprint(x + 1)\n```\n```output\n43\n```\nSo \\boxed{43}."
)
TIR_CELLS = [cell("x = 6 * 7\nprint(x)\n", "42\n"), cell("print(x + 1)\n", "43\n")]


def test_output_markers_come_from_every_code_tags_file():
    assert "```output\n" in MARKERS and HARMONY.output_begin in MARKERS


@pytest.mark.parametrize(
    "text",
    [
        "Let me compute.\n```python\nprint(sum(k*k for k in range(11)))\n```\n```output\n385\n```\n\\boxed{385}",
        "```python\nprint(2)\n```\n``` output\n2\n```\n\\boxed{2}",
        "analysis<|start|>python to=assistant<|channel|>commentary<|message|>385<|end|>\\boxed{385}",
        "<|start|>functions.python to=assistant<|channel|>analysis<|message|>385<|end|> \\boxed{385}",
        "<|channel|>analysis to=python code<|message|>print(1)<|call|> so \\boxed{1}",
        "I call it.\n<tool_call>{...}</tool_call>\n<tool_response>\n385\n</tool_response>\n\\boxed{385}",
        "Run:\n<tool_output>385</tool_output> \\boxed{385}",
    ],
)
def test_a_solution_without_the_tool_that_shows_tool_output_is_caught(text):
    assert invented_output(text, MARKERS) is not None


def test_configured_markers_are_matched_verbatim():
    assert invented_output("x\n[[RESULT]] 385\n\\boxed{385}", ("[[RESULT]]",)).startswith("output marker")
    assert invented_output("x\n[[RESULT]] 385\n\\boxed{385}") is None


@pytest.mark.parametrize(
    "text",
    [
        "We can check with code:\n```python\nprint(sum(k*k for k in range(11)))\n```\nwhich gives \\boxed{385}.",
        "The output of the function at 3 is 9, so \\boxed{9}.",
        "```\noutput\n```\n\\boxed{1}",
        "The python program to=assist... no. \\boxed{1}",
    ],
)
def test_code_written_without_output_is_not_a_tool_output(text):
    assert invented_output(text, MARKERS) is None


def test_tir_blocks_equal_to_the_sandbox_outputs_pass():
    assert output_mismatch(TIR_TEXT, TIR_CELLS, MARKDOWN) is None
    trimmed = TIR_TEXT.split("Then.")[0] + "So \\boxed{42}."  # the second cell trimmed off the text
    assert output_mismatch(trimmed, TIR_CELLS, MARKDOWN) is None


def test_an_output_block_the_model_wrote_itself_is_a_mismatch():
    extra = TIR_TEXT.replace(
        "So \\boxed{43}.", "Check:\n```python\nprint(43)\n```\n```output\n43\n```\nSo \\boxed{43}."
    )
    assert "only 2 cell(s) ran" in output_mismatch(extra, TIR_CELLS, MARKDOWN)
    wrong = TIR_TEXT.replace("```output\n43\n", "```output\n44\n")
    assert "differs from the sandbox's output of cell 2" in output_mismatch(wrong, TIR_CELLS, MARKDOWN)
    no_code = "```output\n42\n```\n" + TIR_TEXT.split("```output\n42\n```\n", 1)[1]
    assert "does not follow the code" in output_mismatch(no_code, TIR_CELLS, MARKDOWN)
    unclosed = TIR_TEXT.replace("```output\n43\n```\nSo \\boxed{43}.", "```output\n43\nSo \\boxed{43}.")
    assert "not closed" in output_mismatch(unclosed, TIR_CELLS, MARKDOWN)
    other_format = TIR_TEXT.replace("So \\boxed{43}.", "<tool_response>43</tool_response>\nSo \\boxed{43}.")
    assert "tool result tag" in output_mismatch(other_format, TIR_CELLS, MARKDOWN)


def test_harmony_tir_blocks_are_checked_against_their_cells():
    call = "<|channel|>analysis to=python code<|message|>print(6*7)<|call|>"
    good = f"{call}{HARMONY.render_output('42', None)}<|channel|>final<|message|>\\boxed{{42}}"
    cells = [cell("print(6*7)", "42")]
    assert output_mismatch(good, cells, HARMONY) is None
    assert output_mismatch(good.replace(">42<", ">41<"), cells, HARMONY) is not None
    assert invented_output(good, MARKERS) is not None  # the same text from a plain solution


# The check against what the TIR loop really writes: hints, errors, truncation, unterminated code.
TURNS = [
    "First.\n```python\nx = 6 * 7\nprint(x)```\n",
    "Error next.\n```python\n1 / 0\n```\n",
    "Long.\n```python\nprint('z' * 500)\n```\n",
    "Silent.\n```python\ny = 1\n```\n",
    "So \\boxed{42}.",
]


@pytest.mark.parametrize("hint", [False, True])
def test_the_tir_loop_output_passes_the_check(stub_server, hint):
    stub = stub_server({"rules": [{"contains": "PROBLEM-H", "turns": TURNS}]})
    settings = TIRSettings(MARKDOWN, max_code_executions=4, timeout_s=5.0, remaining_hint=hint)
    task = SolutionTask(
        "k", [{"role": "user", "content": "PROBLEM-H"}], SamplingParams(max_tokens=4096), settings
    )

    async def go():
        async with (
            OpenAIClient(stub.base_url, "stub", max_retries=0) as client,
            SandboxPool(max_sessions=1, prestart=1, max_output=100) as pool,
        ):
            return await generate_solution(client, task, pool)

    result = asyncio.run(go())
    assert len(result.code_cells) == 4 and result.code_cells[1]["status"] == "error"
    assert result.code_cells[2]["truncated"]
    assert ("code execution(s) left" in result.generation) is hint
    assert output_mismatch(result.generation, result.code_cells, MARKDOWN) is None
    assert invented_output(result.generation, MARKERS) is not None
