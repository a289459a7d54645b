"""The prover loop: pass@N attempts per formal statement, each refined with Lean feedback.

Per statement, `n_pass` independent attempts (each its own seed); per attempt up to
`max_turns` turns. A turn: the model answers, the last ```lean4 block is taken, the trusted
statement is re-stitched onto its proof (its copy of the statement replaced) - or, when the
model wrote helper declarations before its theorem, its whole code is compiled and Lean checks
that the theorem proves the trusted statement - denylisted constructs (`apply?`, `exact?`,
`sorry`, `axiom`, ...) are rejected, and Lean checks the rest. On failure the next turn gets
feedback that depends on the failure: the compiler errors with their code lines and
`<error></error>` spans, or a message for sorry, timeout, a rejected construct, or a missing code
block. What else the next request holds is the context policy's (proofs/context.py: by default
the base prompt, the latest attempt as code only and its feedback), and its `max_tokens` is
lowered to what the model's context leaves when that length is known. With `stop_at_first`, a
statement's attempts stop once one is verified (data generation); without it every attempt runs to
its end (pass@k evaluation).

All LLM calls of one turn, over all attempts, go out as one batch (resumable through the request
store); the Lean checks of the turn then run `lean.workers` at a time (cached by the checker).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from dataclasses import dataclass, field

from mathforge.inference.client import SamplingParams
from mathforge.inference.generation import Generator, make_request
from mathforge.lean.checker import ProofChecker
from mathforge.lean.feedback import error_feedback
from mathforge.lean.source import extract_lean_block
from mathforge.prompts import Prompt
from mathforge.proofs.context import (
    ContextPolicy,
    FailedTurn,
    answer_budget,
    code_only,  # noqa: F401  (re-exported: it lived here)
    model_context_length,
    next_context,
)

log = logging.getLogger(__name__)

_DOC = re.compile(r"^\s*/--")
FEEDBACK_KINDS = ("errors", "sorry", "timeout", "rejected", "no_block", "cut_off")


@dataclass
class ProofTurn:
    turn: int
    response: str
    finish_reason: str | None
    completion_tokens: int | None = None
    proof: str | None = None  # the code Lean checked (re-stitched, or with the model's helpers)
    # verified | no_block | error | has_sorry | timeout | rejected | llm_rejected | context_full
    outcome: str = ""
    lean_status: str | None = None
    lean_reason: str | None = None
    lean_messages: list[dict] = field(default_factory=list)
    lean_seconds: float = 0.0
    feedback: str | None = None  # the user message the next turn got
    reasoning: str | None = None  # the model's thinking, when the server returned it apart
    max_tokens: int | None = None  # the answer tokens the request allowed (after the context budget)


@dataclass
class Attempt:
    statement_id: str
    attempt: int  # 0-based
    seed: int | None
    prompt: list[dict]  # the base prompt
    turns: list[ProofTurn] = field(default_factory=list)
    verified_turn: int | None = None
    done: bool = False
    stopped: bool = False  # ended early because another attempt proved the statement

    @property
    def verified(self) -> bool:
        return self.verified_turn is not None


def shown_statement(formal_statement: str, problem: str | None) -> str:
    """The statement as the prover sees it: with the informal problem as a doc comment, unless
    it already has one (miniF2F's `informal_prefix` style)."""
    if not problem or _DOC.match(formal_statement):
        return formal_statement.strip()
    return f"/-- {problem.strip()} -/\n{formal_statement.strip()}"


def failed_turns(attempt: Attempt) -> list[FailedTurn]:
    """The attempt's turns that got feedback, oldest first."""
    failed = [t for t in attempt.turns if t.feedback is not None]
    return [FailedTurn(t.response, t.feedback, t.reasoning, t.proof) for t in failed]


class Prover:
    def __init__(
        self, stage: dict, inference_cfg: dict, prompt: Prompt, feedback: dict[str, str],
        generator: Generator, checker: ProofChecker,
    ):  # fmt: skip
        self.stage = stage
        self.inference_cfg = inference_cfg
        self.prompt = prompt
        self.feedback = feedback
        self.generator = generator
        self.checker = checker
        self.context = ContextPolicy.from_config(stage["context"])
        self.context_length = model_context_length(inference_cfg)
        self.params = SamplingParams.from_config(stage["sampling"]).with_reasoning_effort(
            stage["reasoning_effort"], stage["effort_via"]
        )
        # Wall seconds by phase: model calls, Lean checks, and everything else (extraction,
        # stitching, feedback, bookkeeping) - where a run's time goes.
        self.seconds = {"generate": 0.0, "check": 0.0, "other": 0.0}

    def _seed(self, attempt: int) -> int | None:
        seed = self.params.seed
        return None if seed is None else seed + attempt * self.stage["max_turns"]

    def _feedback(self, kind: str, **values: str) -> str:
        return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: str(values[m.group(1)]), self.feedback[kind]).strip()

    def run(self, statements: list[dict], n_pass: int, stop_at_first: bool) -> dict[str, list[Attempt]]:
        """Attempts per statement id. `statements`: statement_id, formal_statement, lean_header, problem."""
        by_id = {s["statement_id"]: s for s in statements}
        attempts: dict[str, list[Attempt]] = {}
        for s in statements:
            prompt = self.prompt.render(
                header=s["lean_header"].strip(),
                formal_statement=shown_statement(s["formal_statement"], s["problem"]),
            )
            attempts[s["statement_id"]] = [
                Attempt(s["statement_id"], a, self._seed(a), prompt) for a in range(n_pass)
            ]
        started = time.monotonic()
        for turn in range(1, self.stage["max_turns"] + 1):
            active = [a for group in attempts.values() for a in group if not a.done]
            if not active:
                break
            t0 = time.monotonic()
            replies = self._ask(active, turn)
            self.seconds["generate"] += time.monotonic() - t0
            to_check = self._take_replies(active, replies, turn)
            t0 = time.monotonic()
            items = []
            for attempt, _step, block in to_check:
                target = by_id[attempt.statement_id]
                items.append((target["lean_header"], target["formal_statement"], block))
            verdicts = self.checker.check_many(items)
            self.seconds["check"] += time.monotonic() - t0
            for (attempt, step, _block), verdict, item in zip(to_check, verdicts, items, strict=True):
                self._judge_turn(attempt, step, verdict, item[0])
            if stop_at_first:
                for group in attempts.values():
                    if any(a.verified for a in group):
                        for a in group:
                            if not a.done:
                                a.done = a.stopped = True
        for group in attempts.values():
            for a in group:
                a.done = True
        total = time.monotonic() - started
        self.seconds["other"] = max(total - self.seconds["generate"] - self.seconds["check"], 0.0)
        return attempts

    def messages(self, attempt: Attempt) -> list[dict]:
        """The messages of the attempt's next request."""
        return next_context(attempt.prompt, failed_turns(attempt), self.context)

    def _ask(self, active: list[Attempt], turn: int) -> list[tuple[dict | None, int]]:
        """Per attempt: its reply (None when its context leaves no room for an answer, so nothing
        was sent) and the max_tokens its request allowed."""
        requests: list = []
        budgets = []
        for attempt in active:
            messages = self.messages(attempt)
            allowed = answer_budget(
                self.params.max_tokens, messages, self.context_length, self.context.margin_tokens
            )
            budgets.append(allowed)
            if allowed <= 0:
                requests.append(None)
                continue
            params = dataclasses.replace(self.params, max_tokens=allowed)
            if attempt.seed is not None:
                params = dataclasses.replace(params, seed=attempt.seed + turn - 1)
            requests.append(make_request(self.inference_cfg, messages, params))
        results = self.generator.run([r for r in requests if r is not None])
        return [(None if r is None else results[r.key], b) for r, b in zip(requests, budgets, strict=True)]

    def _take_replies(
        self, active: list[Attempt], replies: list[tuple[dict | None, int]], turn: int
    ) -> list[tuple[Attempt, ProofTurn, str]]:
        """Record each attempt's reply as its turn; (attempt, turn, Lean block) of those to check."""
        to_check = []
        for attempt, (reply, allowed) in zip(active, replies, strict=True):
            if reply is None:  # the context leaves no room for an answer: not sent
                attempt.turns.append(ProofTurn(turn, "", None, outcome="context_full", max_tokens=0))
                attempt.done = True
                continue
            step = ProofTurn(
                turn, reply.get("text") or "", reply.get("finish_reason"), reply.get("completion_tokens"),
                reasoning=reply.get("reasoning"), max_tokens=allowed,
            )  # fmt: skip
            attempt.turns.append(step)
            if reply.get("error"):
                step.outcome = "llm_rejected"  # e.g. the conversation outgrew the context
                attempt.done = True
                continue
            block = extract_lean_block(step.response)
            if block is None:
                step.outcome = "no_block"
                self._continue(attempt, step, "cut_off" if step.finish_reason == "length" else "no_block")
                continue
            to_check.append((attempt, step, block))
        return to_check

    def _judge_turn(self, attempt: Attempt, step: ProofTurn, verdict, header: str) -> None:
        step.lean_status, step.lean_reason = verdict.status, verdict.reason
        step.lean_messages = [m.to_dict() for m in verdict.messages]
        step.lean_seconds = verdict.seconds
        step.proof = verdict.code
        if verdict.status == "ok":
            step.outcome = "verified"
            attempt.verified_turn = step.turn
            attempt.done = True
            return
        if verdict.status == "infra_error":
            raise RuntimeError(f"Lean could not run: {verdict.reason}")
        step.outcome = verdict.status
        if verdict.status == "error":
            errors = error_feedback(
                verdict, header, step.proof or "", self.stage["max_errors_in_feedback"],
                self.stage["error_context_lines"],
            )  # fmt: skip
            self._continue(attempt, step, "errors", errors=errors)
        elif verdict.status == "has_sorry":
            self._continue(attempt, step, "sorry")
        elif verdict.status == "timeout":
            self._continue(attempt, step, "timeout", seconds=f"{self.checker.timeout_s:g}")
        else:
            self._continue(attempt, step, "rejected", reason=verdict.reason or "a forbidden construct")

    def _continue(self, attempt: Attempt, step: ProofTurn, kind: str, **values: str) -> None:
        """Give this turn its feedback (what the next request answers it with, unless it was the last)."""
        step.feedback = self._feedback(kind, turn=str(step.turn), **values)
        if step.turn >= self.stage["max_turns"]:
            attempt.done = True
