"""The judging stage on one shard of solutions (extracting the forum's answer is another stage:
mathforge.problems.forum_answers).

judge_answers (`run`): each solution's final answer against the forum's expected answer.
fill_majority_answer: vote per problem (with forum_cot.count_as_votes the forum_cot rewrites' boxed
answers vote too), repair the expected answer, re-judge every solution against the final answer,
and record each problem's solve rate (overall and per mode/effort);
a problem whose statement states its final answer (mathforge.hygiene) gives no SFT rows.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence

from mathforge.funnel import StepStats, write_step
from mathforge.grading.equivalence import AnswerComparer
from mathforge.grading.judge import judge_answers
from mathforge.grading.judged_rows import (
    answer_judging,
    apply_verdict,
    problem_drop_reason,
    solve_rate_histogram,
)
from mathforge.grading.majority import CountedVote, RepairedAnswer, vote_with_ballots
from mathforge.hygiene.statement import states_answer
from mathforge.inference.generation import Generator
from mathforge.io import read_records
from mathforge.schemas.judged import (
    FINAL_JUDGED_SCHEMA,
    JUDGED_SCHEMA,
    MAJORITY_SCHEMA,
    MAJORITY_VOTES_SCHEMA,
    REWRITE_VOTED,
)

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
        stats.counters["comparisons"] = dict(comparer.stats)
    for row, verdict in zip(rows, judged, strict=True):
        apply_verdict(row, verdict)
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
    in_path: str, cfg: dict, out_majority: str, out_final: str, summary_path: str, store_path: str,
    rewrite_votes: Sequence[str] = (),
) -> StepStats:  # fmt: skip
    """Vote per problem, repair the expected answer, re-judge against it, score the problems.
    `rewrite_votes`: forum_cot rewrite shards whose boxed answers vote too (forum_cot.count_as_votes;
    empty: the vote counts the solutions only)."""
    groups = _by_problem(read_records(in_path))
    rewrites = [r for path in rewrite_votes for r in read_records(path)]
    ballots = rewrite_ballots(rewrites) if rewrite_votes else None
    with answer_judging(cfg, store_path) as (comparer, generator):
        problems, rejudge = _vote_problems(groups, ballots, cfg["answers"]["majority"], comparer)
        _rejudge(rejudge, comparer, cfg, generator)
        comparisons = dict(comparer.stats)
    for problem in problems:
        _score_problem(problem, groups[problem["problem_id"]], cfg["answers"]["difficulty"])
    final_rows = [r for pid in sorted(groups) for r in groups[pid]]
    stats = _majority_stats(problems, final_rows, len(rejudge), comparisons)
    if ballots is not None:
        stats.counters["rewrite_votes"] = rewrite_vote_counts(problems, rewrites)
    return write_step(
        stats,
        summary_path,
        (problems, MAJORITY_SCHEMA if ballots is None else MAJORITY_VOTES_SCHEMA, out_majority),
        (final_rows, FINAL_JUDGED_SCHEMA, out_final),
    )


def _by_problem(rows: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[row["problem_id"]].append(row)
    return groups


def rewrite_ballots(rewrites: list[dict]) -> dict[str, list[str]]:
    """Per problem, the boxed answers of its rewrites that may vote (finished, with an answer);
    a rewrite without one casts no ballot and is not in the vote's total."""
    ballots: dict[str, list[str]] = defaultdict(list)
    for row in rewrites:
        if row["forum_cot_status"] == REWRITE_VOTED:
            ballots[row["problem_id"]].append(row["predicted_answer"])
    return ballots


def _vote_problems(
    groups: dict[str, list[dict]], ballots: dict[str, list[str]] | None, vote: dict, comparer: AnswerComparer
) -> tuple[list[dict], list[dict]]:
    """(one majority row per problem, the solutions to judge again against a changed answer)."""
    problems: list[dict] = []
    rejudge: list[dict] = []
    for problem_id in sorted(groups):
        group = groups[problem_id]
        forum = group[0]["expected_answer"]
        agreeing = sum(r["judgement"] is True for r in group)
        counted = vote_with_ballots(
            [r["predicted_answer"] for r in group], (ballots or {}).get(problem_id, []), forum, agreeing,
            comparer, vote["min_votes"], vote["min_fraction"],
        )  # fmt: skip
        rejudge += _set_final_answer(group, forum, counted.final)
        problems.append(_majority_row(problem_id, group, counted, agreeing))
        if ballots is not None:
            problems[-1].update(
                rewrite_votes=len(ballots.get(problem_id, [])),
                rewrite_changed_majority=counted.changed_majority,
                rewrite_changed_answer=counted.changed_answer,
            )
    return problems, rejudge


def _set_final_answer(group: list[dict], forum: str | None, final: RepairedAnswer) -> list[dict]:
    """Record the forum answer and verdict on each solution; the ones to judge again."""
    rejudge = []
    for row in group:
        row["forum_answer"], row["answer_rule"] = forum, final.rule
        row["forum_judgement"] = row["judgement"]
        if final.answer == forum and row["judgement"] is not None:
            continue  # the same comparison as before: keep its verdict and method
        row["expected_answer"] = final.answer
        rejudge.append(row)
    return rejudge


def _majority_row(problem_id: str, group: list[dict], counted: CountedVote, agreeing: int) -> dict:
    result, final = counted.majority, counted.final
    return {
        "problem_id": problem_id,
        "problem": group[0]["problem"],
        "forum_answer": group[0]["forum_answer"],  # set by _set_final_answer (expected_answer may not be)
        "majority_answer": result.answer,
        "majority_status": result.status,
        "majority_votes": result.votes,
        "n_solutions": len(group),
        "vote_classes": [
            {"answer": c.answer, "votes": c.votes, "spellings": sorted(c.spellings)} for c in result.classes
        ],
        "forum_agreeing": agreeing,
        "expected_answer": final.answer,
        "answer_rule": final.rule,
    }


def _rejudge(rows: list[dict], comparer: AnswerComparer, cfg: dict, generator: Generator | None) -> None:
    judged = judge_answers(
        [(r["problem"], r["expected_answer"], r["predicted_answer"]) for r in rows], comparer, cfg, generator
    )
    for row, verdict in zip(rows, judged, strict=True):
        apply_verdict(row, verdict)


def _score_problem(problem: dict, group: list[dict], difficulty: dict) -> None:
    """Correct solutions, solve rates and the difficulty and statement checks of one problem."""
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


def _majority_stats(
    problems: list[dict], final_rows: list[dict], rejudged: int, comparisons: dict
) -> StepStats:
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
            "rejudged": rejudged,
            "correct_by_variant": _correct_by_variant(final_rows),
            "solve_rate_histogram": solve_rate_histogram(
                [p["solve_rate"] for p in problems if p["expected_answer"]]
            ),
            "comparisons": comparisons,
            **_judge_counts(final_rows),
        }
    )
    return stats


def rewrite_vote_counts(problems: list[dict], rewrites: list[dict]) -> dict:
    """forum_cot.count_as_votes in the majority summary: rewrites read, ballots cast, rewrites
    without a ballot (no boxed answer, unfinished, failed), and the problems whose majority and
    whose final expected answer the ballots changed."""
    ballots = sum(p["rewrite_votes"] for p in problems)
    return {
        "rewrites": len(rewrites),
        "ballots": ballots,
        "without_ballot": len(rewrites) - ballots,
        "changed_majority": sum(bool(p["rewrite_changed_majority"]) for p in problems),
        "changed_expected_answer": sum(bool(p["rewrite_changed_answer"]) for p in problems),
    }
