"""maj@k on hand-computed cases (ties, no answer, k = n), the exact and the sampled estimator, and
the classes from the pipeline's equivalence-aware vote."""

from itertools import combinations

import pytest

from mathforge.evaluation.majority import EXACT_MAX_N, VoteClasses, maj_at_every_k, vote_classes
from mathforge.grading.equivalence import AnswerComparer


def classes(labels, correct):
    return VoteClasses(labels, correct, [f"a{i}" for i in range(len(correct))])


@pytest.mark.parametrize(
    ("labels", "correct", "expected"),
    [
        ([0, 0, 0], [True], [1.0, 1.0, 1.0]),
        ([None] * 4, [], [0.0] * 4),  # no sample has an answer
        ([0, 1], [True, False], [0.5, 0.5]),  # k = n = 2 is a tie: split
        # k=2: {0,0} wins, {0,1} twice a tie (1/2): (1 + 1/2 + 1/2) / 3; k=3: two votes win
        ([0, 0, 1], [True, False], [2 / 3, 2 / 3, 1.0]),
        # the majority is wrong: maj@3 = 0 although one sample is right
        ([0, 0, 1], [False, True], [1 / 3, 1 / 3, 0.0]),
        # samples without an answer do not vote; a subset without any answer scores 0
        ([0, None, None], [True], [1 / 3, 2 / 3, 1.0]),
        # three-way tie at k = n with one correct class
        ([0, 1, 2], [False, True, False], [1 / 3, 1 / 3, 1 / 3]),
    ],
)
def test_hand_computed(labels, correct, expected):
    assert maj_at_every_k(classes(labels, correct)) == pytest.approx(expected, abs=1e-12)


def brute_force(labels, correct, k):
    """The definition, spelled out: mean over k-subsets, ties split, no answer = 0."""
    scores = []
    for subset in combinations(range(len(labels)), k):
        votes = {}
        for i in subset:
            if labels[i] is not None:
                votes[labels[i]] = votes.get(labels[i], 0) + 1
        if not votes:
            scores.append(0.0)
            continue
        top = max(votes.values())
        tied = [c for c, v in votes.items() if v == top]
        scores.append(sum(correct[c] for c in tied) / len(tied))
    return sum(scores) / len(scores)


def test_exact_path_matches_the_definition():
    labels = [0, 1, 0, None, 2, 1, 0, None, 3, 1]
    correct = [False, True, False, True]
    got = maj_at_every_k(classes(labels, correct))
    assert got == pytest.approx([brute_force(labels, correct, k) for k in range(1, 11)], abs=1e-12)


def test_sampled_path_estimates_the_definition_and_is_seeded():
    labels = [0, 1, 0, None, 2, 1, 0, None, 3, 1, 0, 2, 1, 1, 0, None, 1, 0]
    assert len(labels) > EXACT_MAX_N
    correct = [True, False, False, True]
    got = maj_at_every_k(classes(labels, correct), draws=4000, seed=3)
    for k in (1, 3, 6):
        assert got[k - 1] == pytest.approx(brute_force(labels, correct, k), abs=0.03)
    assert got[-1] == pytest.approx(brute_force(labels, correct, len(labels)), abs=1e-12)  # k = n: exact
    assert got == maj_at_every_k(classes(labels, correct), draws=4000, seed=3)
    assert got != maj_at_every_k(classes(labels, correct), draws=4000, seed=4)


@pytest.fixture(scope="module")
def comparer():
    with AnswerComparer(workers=1, timeout_s=10) as c:
        yield c


def test_equivalent_spellings_form_one_class(comparer):
    answers = ["1/2", "0.5", None, "\\frac{1}{2}", "3"]
    judgements = [True, True, False, True, False]
    vc = vote_classes(answers, judgements, comparer)
    assert len(vc.correct) == 2 and vc.correct == [True, False]
    assert vc.labels == [0, 0, None, 0, 1]
    assert maj_at_every_k(vc)[-1] == 1.0  # three equal answers outvote "3"
