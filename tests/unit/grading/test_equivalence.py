"""Answer equivalence on hard pairs: exact after normalization, integers, then math-verify in
killable worker processes (a timeout is unknown, never a verdict)."""

from __future__ import annotations

import time

import pytest

from mathforge.grading.equivalence import AnswerComparer
from mathforge.grading.normalize import normalize_answer

# (gold, answer, equal?, method that decides)
HARD_PAIRS = [
    ("\\frac{1}{2}", "0.5", True, "symbolic"),
    ("\\dfrac{3}{4}", "\\frac{3}{4}", True, "exact"),
    ("\\tfrac34", "0.75", True, "symbolic"),
    ("(1, 2]", "(1,2]", True, "exact"),
    ("(1, 2]", "[1, 2]", False, "symbolic"),
    ("\\{1, 2, 3\\}", "\\{3, 2, 1\\}", True, "symbolic"),
    ("50\\%", "50", True, "symbolic"),  # math-verify reads a percent sign as a unit mark
    ("90^\\circ", "90", True, "exact"),
    ("90^{\\circ}", "\\frac{\\pi}{2}", False, "symbolic"),  # degrees are not converted to radians
    ("x = 3", "3", True, "exact"),
    ("3", "x=3", True, "exact"),
    ("$42$", "042", True, "integer"),
    ("17", "18", False, "integer"),
    ("\\sqrt{2}/2", "\\frac{\\sqrt{2}}{2}", True, "symbolic"),
    ("\\frac{1}{3}", "0.34", False, "symbolic"),
    ("2\\pi", "6.283185307", True, "symbolic"),
    ("\\left( 1, 2 \\right)", "(1,2)", True, "exact"),
    ("1,000", "1000", True, "symbolic"),
    ("\\text{(B)}", "(B)", True, "exact"),
    ("5.", "5", True, "exact"),
]


@pytest.fixture(scope="module")
def comparer():
    with AnswerComparer(workers=2, timeout_s=10) as c:
        yield c


@pytest.mark.parametrize(("gold", "answer", "equal", "method"), HARD_PAIRS)
def test_hard_pairs(comparer, gold, answer, equal, method):
    verdict = comparer.compare(gold, answer)
    assert (verdict.equal, verdict.method) == (equal, method)


def test_unparseable_and_missing_answers_are_undecided_or_wrong(comparer):
    assert comparer.compare("5", "\\frac{").method == "unparseable"
    assert comparer.compare("Yes", "yes, it is").equal is None
    assert comparer.compare("5", None).equal is False and comparer.compare("5", None).method == "missing"
    assert comparer.compare(None, "5").equal is None


def test_normalization_keeps_what_could_change_the_value():
    assert normalize_answer("  $\\dfrac{1}{2}$. ") == "\\frac{1}{2}"
    assert normalize_answer("50\\%") == "50\\%"
    assert normalize_answer("x = y = 2") == "x=y=2"  # two equalities are not an assignment
    assert normalize_answer("(x, y) = (1, 2)") == "(x,y)=(1,2)"
    assert normalize_answer("") is None and normalize_answer(None) is None


def test_repeats_are_served_from_the_cache(comparer):
    comparer.compare("\\frac{2}{4}", "0.5")
    before = dict(comparer.stats)
    verdicts = comparer.compare_many([("\\frac{2}{4}", "0.5")] * 50)
    assert all(v.equal for v in verdicts)
    assert comparer.stats["symbolic"] == before["symbolic"]
    assert comparer.stats["cached"] == before["cached"] + 50


def test_a_comparison_that_hangs_is_killed_and_unknown_and_others_still_decide():
    # A huge power tower makes sympy work for a very long time.
    slow = "2^{2^{2^{2^{2^{2^{30}}}}}} - 3^{3^{3^{3^{20}}}}"
    with AnswerComparer(workers=2, timeout_s=1.0) as c:
        started = time.monotonic()
        verdicts = c.compare_many([(slow, "7^{7^{7^{7^{9}}}}"), ("\\frac{1}{2}", "0.5"), ("1/4", "0.25")])
        elapsed = time.monotonic() - started
    assert verdicts[0].equal is None and verdicts[0].method == "timeout"
    assert verdicts[1].equal is True and verdicts[2].equal is True
    assert elapsed < 8
