"""Judging rows of solutions: the comparer and LLM judge one shard uses, a verdict written into
its row, and what the judged rows say per problem (why it gives no SFT rows, the solve-rate
histogram). Used by the judging and forum_cot stages, the solver evaluation and the SFT card."""

from __future__ import annotations

import contextlib
from collections import Counter

from mathforge.grading.equivalence import AnswerComparer
from mathforge.grading.judge import Judged
from mathforge.inference.generation import Generator
from mathforge.inference.models import stage_model


def _comparer(cfg: dict) -> AnswerComparer:
    comparison = cfg["answers"]["comparison"]
    return AnswerComparer(workers=comparison["workers"], timeout_s=comparison["timeout_s"])


@contextlib.contextmanager
def answer_judging(cfg: dict, store_path: str):
    """(comparer, LLM generator or None when the LLM judge is off): what judging a shard needs."""
    with _comparer(cfg) as comparer, contextlib.ExitStack() as stack:
        generator = None
        if cfg["answers"]["judge"]["enabled"]:
            generator = stack.enter_context(Generator(stage_model(cfg, "answers.judge"), store_path))
        yield comparer, generator


def apply_verdict(row: dict, judged: Judged) -> None:
    """The judgement columns of a solution row."""
    row["judgement"], row["judge_method"], row["judge_meta"] = judged.judgement, judged.method, judged.meta


def problem_drop_reason(problem: dict) -> str | None:
    """Why a problem of the majority table gives no SFT rows, or None."""
    if problem["expected_answer"] is None:
        return problem["answer_rule"]
    if problem["answer_in_statement"]:
        return "answer_in_statement"
    return None if problem["difficulty_ok"] else "difficulty"


def solve_rate_histogram(rates: list[float]) -> dict[str, int]:
    """Problems per solve-rate bin, all bins listed: "0" (none solved), "0.0-0.1" .. "0.9-1.0", "1" (all)."""
    order = ["0", *[f"{i / 10:.1f}-{i / 10 + 0.1:.1f}" for i in range(10)], "1"]
    counts = Counter()
    for rate in rates:
        low = min(int(rate * 10), 9) / 10
        counts["0" if rate == 0 else "1" if rate == 1 else f"{low:.1f}-{low + 0.1:.1f}"] += 1
    return {b: counts.get(b, 0) for b in order}
