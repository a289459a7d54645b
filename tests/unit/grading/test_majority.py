"""Equivalence-aware voting (ties, no answers, minimum agreement) and the repair rule's branches."""

from __future__ import annotations

import pytest

from mathforge.grading.equivalence import AnswerComparer
from mathforge.grading.majority import majority_vote, repair_expected_answer


@pytest.fixture(scope="module")
def comparer():
    with AnswerComparer(workers=2, timeout_s=10) as c:
        yield c


def test_equivalent_spellings_vote_together(comparer):
    # Exact-string voting would pick "3" (3 votes) over the split 1/2 (2 + 2 + 1 votes).
    result = majority_vote(["1/2", "0.5", "3", "\\frac{1}{2}", "3", "0.5", "3", "\\dfrac12", None], comparer)
    assert result.status == "majority" and result.votes == 5 and result.total == 9
    assert set(result.classes[0].spellings) == {"1/2", "0.5", "\\frac{1}{2}", "\\dfrac12"}
    assert result.answer == "0.5"  # the most frequent spelling represents the class


def test_ties_are_broken_by_a_fixed_rule_not_by_order(comparer):
    a = majority_vote(["17", "\\frac{3}{2}", "17", "\\frac{3}{2}"], comparer)
    b = majority_vote(["\\frac{3}{2}", "17", "\\frac{3}{2}", "17"], comparer)
    assert a.answer == b.answer == "17"  # equal votes: the shorter canonical form wins
    c = majority_vote(["12", "11"], comparer)
    assert c.answer == "11"  # equal votes and length: lexicographic


def test_no_answers_and_minimum_agreement(comparer):
    assert majority_vote([None, None, ""], comparer).status == "no_answers"
    assert majority_vote([None, None, ""], comparer).answer is None
    low = majority_vote(["1", "2", "3", "4"], comparer, min_votes=2)
    assert (low.answer, low.status, low.votes) == (None, "below_min_votes", 1)
    weak = majority_vote(["5", "5", "1", "2", "3", None, None, None], comparer, min_votes=2, min_fraction=0.3)
    assert (weak.answer, weak.status) == (None, "below_min_fraction")
    ok = majority_vote(["5", "5", "5", "2"], comparer, min_votes=2, min_fraction=0.5)
    assert (ok.answer, ok.status, ok.fraction) == ("5", "majority", 0.75)


def test_repair_rule_branches(comparer):
    majority = majority_vote(["7", "7", "8"], comparer)
    assert repair_expected_answer("8", 1, majority) == ("8", "forum_agrees")  # kept: one solution agrees
    assert repair_expected_answer(None, 0, majority) == ("7", "no_forum_answer")
    assert repair_expected_answer("9", 0, majority) == ("7", "forum_contradicted")
    none = majority_vote([None, None], comparer)
    assert repair_expected_answer(None, 0, none) == (None, "no_reliable_answer")
    assert repair_expected_answer("9", 0, none) == (None, "no_reliable_answer")
    assert repair_expected_answer("9", 2, none) == ("9", "forum_agrees")
