"""Equivalence-aware voting (ties, no answers, minimum agreement) and the repair rule's branches."""

from __future__ import annotations

import pytest

from mathforge.grading.equivalence import AnswerComparer
from mathforge.grading.majority import majority_vote, repair_expected_answer, vote_with_ballots


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


def test_without_ballots_the_vote_is_the_plain_vote(comparer):
    answers = ["7", "7", "8", None]
    counted = vote_with_ballots(answers, [], None, 0, comparer, min_votes=2)
    assert counted.majority == majority_vote(answers, comparer, min_votes=2)
    assert counted.final == ("7", "no_forum_answer")
    assert (counted.changed_majority, counted.changed_answer) == (None, None)


def test_a_rewrite_ballot_alone_cannot_outvote_a_majority(comparer):
    counted = vote_with_ballots(["7", "7", "8"], ["8"], None, 0, comparer, min_votes=2)
    assert counted.final == ("7", "no_forum_answer") and counted.majority.total == 4
    assert counted.majority.classes[1].votes == 2  # the ballot is counted with the solutions' 8
    assert (counted.changed_majority, counted.changed_answer) == (False, False)


def test_a_rewrite_ballot_that_makes_the_majority_is_reported_as_changing_the_answer(comparer):
    # alone, one vote each is below min_votes: no answer; the ballot gives 8 its second vote
    counted = vote_with_ballots(["7", "8"], ["8"], None, 0, comparer, min_votes=2)
    assert counted.final == ("8", "no_forum_answer") and counted.majority.votes == 2
    assert (counted.changed_majority, counted.changed_answer) == (True, True)
    # a ballot that adds to the total can also take a majority away (below min_fraction)
    diluted = vote_with_ballots(["5", "5", "1"], ["9"], None, 0, comparer, min_fraction=0.6)
    assert diluted.final == (None, "no_reliable_answer") and diluted.changed_answer is True


def test_ties_with_a_ballot_follow_the_fixed_rule(comparer):
    # 11 and 12 tie at one vote each: 11 wins (lexicographic); the ballot for 12 breaks the tie
    flipped = vote_with_ballots(["12", "11"], ["12"], None, 0, comparer)
    assert flipped.final.answer == "12" and flipped.changed_answer is True
    # the ballot makes a 2-2 tie: the fixed rule still picks 11, nothing changed
    tied = vote_with_ballots(["11", "11", "12"], ["12"], None, 0, comparer)
    assert tied.final.answer == "11" and [c.votes for c in tied.majority.classes] == [2, 2]
    assert (tied.changed_majority, tied.changed_answer) == (False, False)


def test_a_ballot_never_confirms_the_forum_answer(comparer):
    # every solution contradicts the forum answer 9; the rewrite (from the same thread) says 9:
    # it votes, but does not count as agreeing, so the forum answer is not kept by its own thread
    counted = vote_with_ballots(["7", "7", "7"], ["9"], "9", 0, comparer, min_votes=2)
    assert counted.final == ("7", "forum_contradicted") and counted.changed_answer is False
    # with a solution agreeing, the forum answer stands whatever the ballot; the majority may change
    kept = vote_with_ballots(["7", "8"], ["8"], "8", 1, comparer)
    assert kept.final == ("8", "forum_agrees")
    assert (kept.majority.answer, kept.changed_majority, kept.changed_answer) == ("8", True, False)


def test_a_ballot_that_only_respells_the_majority_changes_nothing(comparer):
    # alone: 1/2 and 0.5 tie as spellings of the winning class; the ballot makes "1/2" its spelling
    counted = vote_with_ballots(["1/2", "0.5", "3"], ["1/2"], None, 0, comparer)
    alone = majority_vote(["1/2", "0.5", "3"], comparer)
    assert alone.answer != counted.final.answer == "1/2"
    assert (counted.changed_majority, counted.changed_answer) == (False, False)
