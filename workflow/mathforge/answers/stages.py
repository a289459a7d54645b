"""The answers stages on one shard of solutions.

judge_answers: each solution's final answer against the forum's expected answer.
fill_majority_answer: vote per problem, repair the expected answer, re-judge every solution
against the final answer, and record each problem's solve rate (overall and per mode/effort);
a problem whose statement states its final answer (mathforge.hygiene) gives no SFT rows.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter, defaultdict

from mathforge.answers.equivalence import AnswerComparer
from mathforge.answers.judge import Judged, judge_answers
from mathforge.answers.majority import majority_vote, repair_expected_answer
from mathforge.answers.schema import FINAL_JUDGED_SCHEMA, JUDGED_SCHEMA, MAJORITY_SCHEMA
from mathforge.funnel import StepStats, write_step
from mathforge.hygiene.statement import states_answer
from mathforge.inference.generation import Generator
from mathforge.inference.models import stage_model
from mathforge.io import read_records

log = logging.getLogger(__name__)


def _comparer(cfg: dict) -> AnswerComparer:
    comparison = cfg["answers"]["comparison"]
    return AnswerComparer(workers=comparison["workers"], timeout_s=comparison["timeout_s"])


@contextlib.contextmanager
def _judging(cfg: dict, store_path: str):
    """(comparer, LLM generator or None when the LLM judge is off)."""
    with _comparer(cfg) as comparer, contextlib.ExitStack() as stack:
        generator = None
        if cfg["answers"]["judge"]["enabled"]:
            generator = stack.enter_context(Generator(stage_model(cfg, "answers.judge"), store_path))
        yield comparer, generator


def _apply(row: dict, judged: Judged) -> None:
    row["judgement"], row["judge_method"], row["judge_meta"] = judged.judgement, judged.method, judged.meta


def _judge_counts(rows: list[dict]) -> dict:
    return {
        "judge_method": dict(Counter(r["judge_method"] for r in rows)),
        "judgement": dict(Counter(str(r["judgement"]) for r in rows)),
    }


def judge_stage(in_path: str, cfg: dict, out_path: str, summary_path: str, store_path: str) -> StepStats:
    rows = read_records(in_path)
    with _judging(cfg, store_path) as (comparer, generator):
        judged = judge_answers(
            [(r["problem"], r["expected_answer"], r["predicted_answer"]) for r in rows],
            comparer,
            cfg,
            generator,
        )
        stats = StepStats(step="judge_answers", n_in=len(rows), n_out=len(rows))
        stats.counters["comparisons"] = dict(comparer.stats)
    for row, verdict in zip(rows, judged, strict=True):
        _apply(row, verdict)
    stats.counters.update(_judge_counts(rows))
    return write_step(stats, summary_path, (rows, JUDGED_SCHEMA, out_path))


def _solve_rates(group: list[dict]) -> tuple[float, list[dict]]:
    per_variant: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in group:
        counts = per_variant[f"{row['mode']}/{row['effort']}"]
        counts[0] += 1
        counts[1] += bool(row["judgement"])
    rates = [
        {"variant": v, "solutions": n, "correct": c, "rate": c / n}
        for v, (n, c) in sorted(per_variant.items())
    ]
    total = len(group)
    return (sum(bool(r["judgement"]) for r in group) / total if total else 0.0), rates


def _correct_by_variant(rows: list[dict]) -> dict[str, dict]:
    """Solutions, judged solutions (a final verdict exists: the problem has an expected answer) and
    correct ones per mode/effort, for the run report."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for row in rows:
        verdict = row["judgement"]
        counts[f"{row['mode']}/{row['effort']}"].update(
            solutions=1, judged=verdict is not None, correct=verdict is True
        )
    return {variant: dict(c) for variant, c in sorted(counts.items())}


def majority_stage(
    in_path: str, cfg: dict, out_majority: str, out_final: str, summary_path: str, store_path: str
) -> StepStats:
    rows = read_records(in_path)
    vote = cfg["answers"]["majority"]
    difficulty = cfg["answers"]["difficulty"]
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[row["problem_id"]].append(row)
    problems: list[dict] = []
    with _judging(cfg, store_path) as (comparer, generator):
        rejudge: list[dict] = []
        for problem_id in sorted(groups):
            group = groups[problem_id]
            forum = group[0]["expected_answer"]
            result = majority_vote(
                [r["predicted_answer"] for r in group], comparer, vote["min_votes"], vote["min_fraction"]
            )
            agreeing = sum(r["judgement"] is True for r in group)
            final = repair_expected_answer(forum, agreeing, result)
            for row in group:
                row["forum_answer"], row["answer_rule"] = forum, final.rule
                row["forum_judgement"] = row["judgement"]
                if final.answer == forum and row["judgement"] is not None:
                    continue  # the same comparison as before: keep its verdict and method
                row["expected_answer"] = final.answer
                rejudge.append(row)
            problems.append(
                {
                    "problem_id": problem_id,
                    "problem": group[0]["problem"],
                    "forum_answer": forum,
                    "majority_answer": result.answer,
                    "majority_status": result.status,
                    "majority_votes": result.votes,
                    "n_solutions": len(group),
                    "vote_classes": [
                        {"answer": c.answer, "votes": c.votes, "spellings": sorted(c.spellings)}
                        for c in result.classes
                    ],
                    "forum_agreeing": agreeing,
                    "expected_answer": final.answer,
                    "answer_rule": final.rule,
                }
            )
        judged = judge_answers(
            [(r["problem"], r["expected_answer"], r["predicted_answer"]) for r in rejudge],
            comparer,
            cfg,
            generator,
        )
        comparisons = dict(comparer.stats)
    for row, verdict in zip(rejudge, judged, strict=True):
        _apply(row, verdict)
    for problem in problems:
        group = groups[problem["problem_id"]]
        problem["n_correct"] = sum(bool(r["judgement"]) for r in group)
        problem["solve_rate"], problem["solve_rates"] = _solve_rates(group)
        has_answer = problem["expected_answer"] is not None
        problem["difficulty_ok"] = has_answer and (
            difficulty["min_solve_rate"] <= problem["solve_rate"] <= difficulty["max_solve_rate"]
        )
        # after the vote and the repair: the final answer may be one the statement itself gives
        problem["answer_in_statement"] = (
            states_answer(problem["problem"], problem["expected_answer"]) if has_answer else None
        )
    final_rows = [r for pid in sorted(groups) for r in groups[pid]]
    stats = StepStats(step="fill_majority_answer", n_in=len(problems))
    for problem in problems:
        reason = problem_drop_reason(problem)
        if reason:
            stats.drop(reason)
        else:
            stats.n_out += 1
    stats.counters.update(
        {
            "answer_rule": dict(Counter(p["answer_rule"] for p in problems)),
            "majority_status": dict(Counter(p["majority_status"] for p in problems)),
            "solutions": len(final_rows),
            "correct_solutions": sum(bool(r["judgement"]) for r in final_rows),
            "rejudged": len(rejudge),
            "correct_by_variant": _correct_by_variant(final_rows),
            "solve_rate_histogram": solve_rate_histogram(
                [p["solve_rate"] for p in problems if p["expected_answer"]]
            ),
            "comparisons": comparisons,
            **_judge_counts(final_rows),
        }
    )
    return write_step(
        stats,
        summary_path,
        (problems, MAJORITY_SCHEMA, out_majority),
        (final_rows, FINAL_JUDGED_SCHEMA, out_final),
    )


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
