"""The judging stage on one shard of solutions (extracting the forum's answer is another stage:
mathforge.problems.forum_answers).

judge_answers (`run`): each solution's final answer against the forum's expected answer.
fill_majority_answer: vote per problem, repair the expected answer, re-judge every solution
against the final answer, and record each problem's solve rate (overall and per mode/effort);
a problem whose statement states its final answer (mathforge.hygiene) gives no SFT rows.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict

from mathforge.funnel import StepStats, write_step
from mathforge.grading.judge import judge_answers
from mathforge.grading.judged_rows import (
    answer_judging,
    apply_verdict,
    problem_drop_reason,
    solve_rate_histogram,
)
from mathforge.grading.majority import majority_vote, repair_expected_answer
from mathforge.hygiene.statement import states_answer
from mathforge.io import read_records
from mathforge.schemas.judged import FINAL_JUDGED_SCHEMA, JUDGED_SCHEMA, MAJORITY_SCHEMA

log = logging.getLogger(__name__)


def _judge_counts(rows: list[dict]) -> dict:
    return {
        "judge_method": dict(Counter(r["judge_method"] for r in rows)),
        "judgement": dict(Counter(str(r["judgement"]) for r in rows)),
    }


def run(in_path: str, cfg: dict, out_path: str, summary_path: str, store_path: str) -> StepStats:
    rows = read_records(in_path)
    with answer_judging(cfg, store_path) as (comparer, generator):
        judged = judge_answers(
            [(r["problem"], r["expected_answer"], r["predicted_answer"]) for r in rows],
            comparer,
            cfg,
            generator,
        )
        stats = StepStats(step="judge_answers", n_in=len(rows), n_out=len(rows))
        stats.extra["comparisons"] = dict(comparer.stats)
    for row, verdict in zip(rows, judged, strict=True):
        apply_verdict(row, verdict)
    stats.extra.update(_judge_counts(rows))
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
    with answer_judging(cfg, store_path) as (comparer, generator):
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
        apply_verdict(row, verdict)
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
    stats.extra.update(
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
