"""One solution to generate (`SolutionTask`, with its TIR settings), what came back
(`SolutionResult`), and what the model reads after a code cell (`shown_output`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from mathforge.inference.client import SamplingParams
from mathforge.solving.code_tags import CodeTags


@dataclass(frozen=True)
class TIRSettings:
    tags: CodeTags
    max_code_executions: int = 100
    timeout_s: float = 10.0
    remaining_hint: bool = False
    transport: str = "chat"  # chat | completions | chat_tools


@dataclass
class SolutionTask:
    key: str
    messages: list[dict]
    params: SamplingParams  # max_tokens is the budget of the whole solution, over all its turns
    tir: TIRSettings | None  # None: a plain solution
    prefix: str = ""  # the prompt's assistant_prefix: the answer's start, given, not generated


@dataclass
class SolutionResult:
    key: str
    generation: str = ""
    reasoning: str | None = None  # the thinking the chat API returned apart (None: none)
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int = 0
    llm_calls: int = 0
    code_cells: list[dict] = field(default_factory=list)
    sandbox_isolation: list[str] = field(default_factory=list)
    model: str | None = None
    latency_s: float = 0.0
    error: str | None = None

    def to_record(self) -> dict:
        return dataclasses.asdict(self)


def shown_output(output: str, error: str | None) -> str:
    """What the model reads after a cell: its output, then the error (traceback) if any."""
    if not error:
        return output
    if output and not output.endswith("\n"):
        output += "\n"
    return output + error.rstrip("\n")
