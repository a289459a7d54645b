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
