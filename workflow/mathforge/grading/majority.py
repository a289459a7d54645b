"""Equivalence-aware majority vote over a problem's final answers, and the expected-answer repair.

Answers are grouped into classes of equal answers (exact after normalization, then symbolic);
the class with the most votes wins, ties broken by a fixed rule (most votes, then the shortest
canonical form, then lexicographic), so the result never depends on file order. Below a minimum
agreement (votes and fraction of all solutions) there is no reliable majority: null and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from mathforge.grading.equivalence import AnswerComparer
from mathforge.grading.normalize import normalize_answer


@dataclass
class AnswerClass:
    canonical: str  # the representative's normalized form
    answer: str  # the representative as written (the most frequent spelling)
    votes: int = 0
    spellings: dict[str, int] = field(default_factory=dict)


@dataclass
class MajorityResult:
    answer: str | None
    votes: int
    total: int  # solutions voting (with or without an answer)
    status: str  # majority | no_answers | below_min_votes | below_min_fraction
    classes: list[AnswerClass]

    @property
    def fraction(self) -> float:
        return self.votes / self.total if self.total else 0.0


def cluster_answers(answers: list[str | None], comparer: AnswerComparer) -> list[AnswerClass]:
    """Equivalence classes of the non-missing answers, largest first (ties: shortest, then lexicographic)."""
    by_form: dict[str, AnswerClass] = {}
    for answer in answers:
        form = normalize_answer(answer)
        if form is None:
            continue
        cls = by_form.setdefault(form, AnswerClass(form, answer.strip()))
        cls.votes += 1
        cls.spellings[answer.strip()] = cls.spellings.get(answer.strip(), 0) + 1
    forms = sorted(by_form.values(), key=lambda c: (-c.votes, len(c.canonical), c.canonical))
    classes: list[AnswerClass] = []
    for form in forms:  # merge each distinct form into the first class it is equal to
        verdicts = comparer.compare_many([(c.answer, form.answer) for c in classes])
        match = next((c for c, v in zip(classes, verdicts, strict=True) if v.equal), None)
        if match is None:
            classes.append(form)
            continue
        match.votes += form.votes
        for spelling, n in form.spellings.items():
            match.spellings[spelling] = match.spellings.get(spelling, 0) + n
    for cls in classes:
        cls.answer = min(cls.spellings, key=lambda s: (-cls.spellings[s], len(s), s))
    return sorted(classes, key=lambda c: (-c.votes, len(c.canonical), c.canonical))


def majority_vote(
    answers: list[str | None], comparer: AnswerComparer, min_votes: int = 1, min_fraction: float = 0.0
) -> MajorityResult:
    classes = cluster_answers(answers, comparer)
    total = len(answers)
    if not classes:
        return MajorityResult(None, 0, total, "no_answers", classes)
    top = classes[0]
    if top.votes < min_votes:
        return MajorityResult(None, top.votes, total, "below_min_votes", classes)
    if top.votes / total < min_fraction:
        return MajorityResult(None, top.votes, total, "below_min_fraction", classes)
    return MajorityResult(top.answer, top.votes, total, "majority", classes)


class RepairedAnswer(NamedTuple):
    answer: str | None
    rule: str  # forum_agrees | no_forum_answer | forum_contradicted | no_reliable_answer


def repair_expected_answer(
    forum_answer: str | None, agreeing: int, majority: MajorityResult
) -> RepairedAnswer:
    """Nemotron-Math-v2's rule: no forum answer -> the majority; a forum answer that at least one
    solution agrees with -> kept; one that every solution contradicts -> replaced by the majority.
    Without a reliable majority where one is needed, there is no answer (null), never a guess."""
    if forum_answer is not None and agreeing >= 1:
        return RepairedAnswer(forum_answer, "forum_agrees")
    if majority.answer is None:
        return RepairedAnswer(None, "no_reliable_answer")
    if forum_answer is None:
        return RepairedAnswer(majority.answer, "no_forum_answer")
    return RepairedAnswer(majority.answer, "forum_contradicted")


class CountedVote(NamedTuple):
    majority: MajorityResult  # over the solutions and the rewrite ballots
    final: RepairedAnswer
    changed_majority: bool | None  # None: no ballot was cast
    changed_answer: bool | None  # the final expected answer differs from the solutions' alone


def same_answer(a: str | None, b: str | None, comparer: AnswerComparer) -> bool:
    """Both missing, or equal (as written, else by the comparer: a different spelling of one answer)."""
    if a is None or b is None:
        return a is b
    return a == b or comparer.compare_many([(a, b)])[0].equal is True


def vote_with_ballots(
    answers: list[str | None],
    ballots: list[str],
    forum_answer: str | None,
    agreeing: int,
    comparer: AnswerComparer,
    min_votes: int = 1,
    min_fraction: float = 0.0,
) -> CountedVote:
    """The vote over the solutions' answers plus extra ballots (forum_cot rewrites' boxed answers,
    forum_cot.count_as_votes), the repaired answer, and whether the ballots changed either. Ballots
    join the vote and its total but never `agreeing`: a rewrite comes from the same thread as the
    forum answer, so it cannot confirm it. Without ballots this is the plain vote and repair."""
    result = majority_vote([*answers, *ballots], comparer, min_votes, min_fraction)
    final = repair_expected_answer(forum_answer, agreeing, result)
    if not ballots:
        return CountedVote(result, final, None, None)
    alone = majority_vote(answers, comparer, min_votes, min_fraction)
    final_alone = repair_expected_answer(forum_answer, agreeing, alone)
    changed_majority = alone.status != result.status or not same_answer(alone.answer, result.answer, comparer)
    changed_answer = not same_answer(final_alone.answer, final.answer, comparer)
    return CountedVote(result, final, changed_majority, changed_answer)
