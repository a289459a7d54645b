"""Autoformalization: proof problems -> Lean 4 statements, up to `max_turns` turns per problem.

Each turn: ask for a statement (first turn) or a corrected one (later turns, in the same
conversation, with feedback that depends on the failure), extract the last ```lean4 block,
normalize it (comments stripped, imports dropped: the trusted header provides them), compile it
with `sorry` allowed, then backtranslate it to natural language and ask a judge whether it says
what the problem says. Only a "Yes" from the judge accepts; a failed backtranslation or judge
call is a failed turn, never an accept. An empty answer cut by the token limit (the reasoning
used up the context) lowers the reasoning effort for the next try.

All LLM calls of one turn, over all problems, go out as one batch (resumable through the
request store); Lean checks run between the batches.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from mathforge.errors import InferenceError, InputError
from mathforge.grading.judge import parse_judgement
from mathforge.inference.client import SamplingParams
from mathforge.inference.generation import Generator, make_request
from mathforge.inference.models import stage_model
from mathforge.lean.feedback import error_feedback
from mathforge.lean.source import extract_lean_block, strip_comments, theorem_name
from mathforge.lean.verify import LeanVerdict
from mathforge.prompts import load_prompt

log = logging.getLogger(__name__)

_PLACEHOLDER = re.compile(
    r"\b(?:def|abbrev)\s+([^\s:(]+)[^\n]*?:=\s*(?:True|False|fun\b[^\n]*=>\s*(?:True|False))\s*$",
    re.MULTILINE,
)
EFFORTS = ("high", "medium", "low")


def normalize_statement(code: str, header: str = "") -> str:
    """Comments stripped, `import` lines dropped, the header's own lines at the top of the block
    removed (models echo the header, often in part; it is trusted and compiled in front
    anyway), blank lines squeezed."""
    lines = [ln.rstrip() for ln in strip_comments(code).splitlines() if not ln.strip().startswith("import ")]
    header_lines = {ln.strip() for ln in strip_comments(header).splitlines() if ln.strip()}
    start = 0
    while start < len(lines) and (not lines[start].strip() or lines[start].strip() in header_lines):
        start += 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines[start:])).strip()


def has_theorem(statement: str) -> bool:
    try:
        theorem_name(statement)
    except InputError:
        return False
    return True


def placeholder_definitions(statement: str) -> list[str]:
    """Names of definitions that are trivial stand-ins (`def IsNice (n : ℕ) : Prop := True`)."""
    return _PLACEHOLDER.findall(strip_comments(statement))


@dataclass
class Turn:
    turn: int
    effort: str
    response: str
    finish_reason: str | None
    statement: str | None = None
    # no_block | no_theorem | empty | compile_error | rejected | timeout | placeholder |
    # judge_failed | backtranslation_failed | inconsistent | accepted | llm_rejected
    outcome: str = ""
    lean_status: str | None = None
    lean_messages: list[dict] = field(default_factory=list)
    backtranslation: str | None = None
    judge_output: str | None = None
    reasoning: str | None = None  # the model's thinking, when the server returned it apart


@dataclass
class Formalization:
    problem_id: str
    problem: str
    messages: list[dict]
    effort: int = 0  # index into EFFORTS
    turns: list[Turn] = field(default_factory=list)
    formal_statement: str | None = None
    done: bool = False

    @property
    def status(self) -> str:
        return "accepted" if self.formal_statement is not None else "failed"


class Autoformalizer:
    def __init__(self, cfg: dict, generator: Generator, check: Callable[[str, str], LeanVerdict]):
        self.cfg = cfg
        self.stage = cfg["formal"]
        self.header = cfg["lean"]["header"]
        self.generator = generator
        self.check = check
        load = lambda key: load_prompt(cfg["prompts_dir"], self.stage["prompts"][key])  # noqa: E731
        self.prompts = {key: load(key) for key in ("formalize", "refine", "backtranslate", "judge")}
        self.params = SamplingParams.from_config(self.stage["sampling"])
        self.judge_params = SamplingParams.from_config(self.stage["judge_sampling"])

    def _params(self, task: Formalization, turn: int) -> SamplingParams:
        params = self.params
        if params.seed is not None:
            params = dataclasses.replace(params, seed=params.seed + turn)
        return params.with_reasoning_effort(EFFORTS[task.effort], self.stage["effort_via"])

    def _ask(self, conversations: list[list[dict]], params: list[SamplingParams]) -> list[dict]:
        requests = [
            make_request(stage_model(self.cfg, "formal"), m, p)
            for m, p in zip(conversations, params, strict=True)
        ]
        results = self.generator.run(requests)
        return [results[r.key] for r in requests]

    def run(self, problems: list[dict]) -> list[Formalization]:
        tasks = [
            Formalization(p["problem_id"], p["problem"],
                          self.prompts["formalize"].render(problem=p["problem"], header=self.header))
            for p in problems
        ]  # fmt: skip
        for turn in range(1, self.stage["max_turns"] + 1):
            active = [t for t in tasks if not t.done]
            if not active:
                break
            params = [self._params(t, turn) for t in active]
            replies = self._ask([t.messages for t in active], params)
            compiled: list[tuple[Formalization, Turn]] = []
            for task, reply in zip(active, replies, strict=True):
                step = Turn(turn, EFFORTS[task.effort], reply.get("text") or "", reply.get("finish_reason"))
                step.reasoning = reply.get("reasoning")
                task.turns.append(step)
                if reply.get("error"):
                    step.outcome = "llm_rejected"  # e.g. the conversation outgrew the context
                    task.done = True
                    continue
                if not step.response.strip() and step.finish_reason == "length":
                    step.outcome = "empty"  # reasoning used the whole budget: less effort next time
                    task.effort = min(task.effort + 1, len(EFFORTS) - 1)
                    continue
                task.messages = [*task.messages, {"role": "assistant", "content": step.response}]
                block = extract_lean_block(step.response)
                if block is None:
                    step.outcome = "no_block"
                    self._feedback(
                        task, "Your answer did not contain a ```lean4 code block with the statement."
                    )
                    continue
                step.statement = normalize_statement(block, self.header)
                if not has_theorem(step.statement):  # e.g. only a copy of the header: nothing to check
                    step.outcome = "no_theorem"
                    self._feedback(
                        task,
                        "Your code block has no `theorem` declaration (the header is already in the file). "
                        "Write one named theorem stating the problem, with proof `sorry`.",
                    )
                    continue
                placeholders = placeholder_definitions(step.statement)
                if placeholders and self.stage["reject_placeholders"]:
                    step.outcome = "placeholder"
                    names = ", ".join(placeholders)
                    self._feedback(
                        task,
                        f"The statement defines trivial stand-ins ({names}) instead of using the "
                        "library's definitions. State the problem with existing definitions.",
                    )
                    continue
                verdict = self.check(self.header, step.statement)
                step.lean_status = verdict.status
                step.lean_messages = [m.to_dict() for m in verdict.messages]
                if verdict.status == "infra_error":
                    raise InferenceError(f"Lean could not run: {verdict.reason}")
                if verdict.status != "ok":
                    step.outcome = {"error": "compile_error", "timeout": "timeout"}.get(
                        verdict.status, "rejected"
                    )
                    detail = error_feedback(
                        verdict, self.header, step.statement, self.stage["max_errors_in_feedback"], 1
                    )
                    self._feedback(task, f"The statement does not compile:\n\n{detail}")
                    continue
                compiled.append((task, step))
            if compiled:
                self._judge(compiled)
        for task in tasks:
            if task.formal_statement is None:
                task.done = True
        return tasks

    def _feedback(self, task: Formalization, feedback: str) -> None:
        task.messages = [*task.messages, *self.prompts["refine"].render(feedback=feedback)]

    def _judge(self, compiled: list[tuple[Formalization, Turn]]) -> None:
        back = self._ask(
            [self.prompts["backtranslate"].render(statement=step.statement) for _, step in compiled],
            [self.judge_params] * len(compiled),
        )
        judged: list[tuple[Formalization, Turn]] = []
        for (task, step), reply in zip(compiled, back, strict=True):
            text = (reply.get("text") or "").strip()
            if reply.get("error") or not text:
                step.outcome = "backtranslation_failed"  # never an accept
                self._feedback(
                    task, "The statement could not be checked; restate it, as plainly as possible."
                )
                continue
            step.backtranslation = text
            judged.append((task, step))
        if not judged:
            return
        verdicts = self._ask(
            [
                self.prompts["judge"].render(problem=task.problem, statement=step.statement,
                                             backtranslation=step.backtranslation)
                for task, step in judged
            ],
            [self.judge_params] * len(judged),
        )  # fmt: skip
        for (task, step), reply in zip(judged, verdicts, strict=True):
            step.judge_output = reply.get("text") or ""
            judgement = None if reply.get("error") else parse_judgement(step.judge_output)
            if judgement is True:
                step.outcome = "accepted"
                task.formal_statement = step.statement
                task.done = True
            elif judgement is False:
                step.outcome = "inconsistent"
                self._feedback(
                    task,
                    "The statement compiles but does not match the problem. A reviewer read it as:\n"
                    f"{step.backtranslation}\n\nand said:\n{step.judge_output}",
                )
            else:
                step.outcome = "judge_failed"  # an unreadable verdict is not an accept
                self._feedback(
                    task, "The statement could not be checked; restate it, as plainly as possible."
                )
