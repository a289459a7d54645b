"""Faithful extraction: numbers and formulas of an extracted problem must come from the question post.

False positives are measured on the real forum samples in ../shared/data/forum: the post itself,
numbered by the extractor and re-wrapped, must pass; a reply's formula with a new number must not.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mathforge.forum.aops import read_aops_jsonl
from mathforge.forum.stackexchange import read_posts_xml
from mathforge.hygiene.faithful import (
    PostSupport,
    canonical_number,
    describe,
    latex_digit_reading,
    spelled_numbers,
    unsupported_content,
)

FORUM = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "forum"
T06_POST = (
    "Two quick ones from my homework.\n1) Solve for real $x$: $2x + 7 = 19$.\n"
    "2) Compute $\\displaystyle\\sum_{k=1}^{10} k^2$."
)


def tokens(problem: str, post: str) -> list[str]:
    return [u.token for u in unsupported_content(problem, post)]


def test_the_demo_thread_that_copies_the_answer_from_the_discussion_is_unfaithful():
    # What the real 0.5B model extracted from demo thread t06 (its discussion says "= 385").
    leaked = "Compute $\\displaystyle\\sum_{k=1}^{10} k^2$\nSum: $1^2 + 2^2 + … + 10^2 = 385$"
    found = unsupported_content(leaked, T06_POST)
    assert [u.token for u in found] == ["385"]
    assert describe(found) == "385 in $1^2 + 2^2 + … + 10^2 = 385$"
    # each problem of the multi-problem post, as the extractor numbers it, is faithful
    assert tokens("Solve for real $x$: $2x + 7 = 19$.", T06_POST) == []
    assert tokens("Compute $\\sum_{k=1}^{10} k^2$.", T06_POST) == []


@pytest.mark.parametrize(
    "problem, post",
    [
        # re-wrapping and re-delimiting LaTeX is not a change
        ("Find $x^{2}$ when $x = \\frac{1}{2}$.", "Find $x^2$ when $x=\\frac12$."),
        ("Evaluate \\(\\dfrac{3}{4} + \\left(2\\right)\\).", "Evaluate $$\\tfrac34+(2)$$"),
        ("Compute $\\frac{1}{2} \\cdot 6$.", "compute 1/2 * 6"),
        ("Find $1{,}000 + 2.50$.", "Find $1000 + 2.5$."),
        ("Compute $\\sqrt{2} + \\pi$.", "Compute sqrt(2) + pi."),
        ("Find $\\sum_{i=1}^{n} i$.", "Find the sum of the first $n$ positive integers."),
        # numbers the post spells in words, and the numbers words imply
        ("Among $25$ students, $3$ are chosen.", "Among twenty-five students, three are chosen."),
        ("Find $x^2 + 2x$ for $x = 300$.", "Find x squared plus twice x for x equal to three hundred."),
        ("Two thirds of $12$ is?", "What is two thirds of a dozen?"),
        # numbering and list markers the extractor adds
        ("Problem 3: Find $7 + 8$.", "(a) Find $7+8$."),
        ("1) Find $7 + 8$.\n2. Find $9$.", "a) Find 7+8. b) Find 9."),
        # 0 and 1 are implicit ("positive" -> "> 0", indices start at 1)
        ("Find all $n \\ge 1$ with $n^2 > 0$.", "Find all positive integers n whose square is positive."),
        # LaTeX's one-digit arguments: the user's x^23 may mean x^{23}
        ("Factor $x^{23} - 1$.", "Factor $x^23-1$."),
    ],
)
def test_rephrased_and_rewrapped_problems_are_faithful(problem, post):
    assert tokens(problem, post) == []


@pytest.mark.parametrize(
    "problem, post, unsupported",
    [
        ("Compute $2^{10}$. Note $2^{10} = 1024$.", "Compute $2^{10}$.", ["1024"]),
        ("Find $x$ if $2x = 16$.", "Find $x$ if $2x = 10$.", ["16"]),  # a changed given
        ("Find the area. The radius is 7.5.", "Find the area of the circle.", ["7.5"]),
        ("Evaluate $\\cos x$ at $x = 0$.", "Evaluate $\\sin x$ at $x = 0$.", ["\\cos"]),
        ("Find $\\int_0^1 x\\,dx$.", "Find the area under $y = x$ from $0$ to $1$.", ["\\int"]),
        ("Solve $x + 3 = 8$, so $x = 5$.", "Solve $x+3=8$.", ["5"]),
    ],
)
def test_numbers_and_operations_only_in_the_discussion_are_unsupported(problem, post, unsupported):
    assert tokens(problem, post) == unsupported


def test_number_helpers():
    assert [canonical_number(n) for n in ("007", "2.50", ".5", "3.0", "0")] == ["7", "2.5", "0.5", "3", "0"]
    assert latex_digit_reading("\\frac12 + x^23 + \\dbinom52") == "\\frac{1}{2} + x^{2}3 + \\dbinom{5}{2}"
    words = ["two", "hundred", "and", "thirty", "-", "five", "thirds", "twenty", "-", "first"]
    assert {"235", "3", "21", "100", "2", "30", "5"} <= spelled_numbers(words)
    assert "238" not in spelled_numbers(words)  # "thirds" starts a new number
    assert PostSupport.of("x", implicit=()).numbers == frozenset()


def _real_threads() -> list:
    if not FORUM.is_dir():
        pytest.skip(f"no forum samples at {FORUM}")
    threads = list(read_aops_jsonl(FORUM / "aops_sample.jsonl", "aops", "aops", "x"))
    for site in ("math.stackexchange.com", "mathoverflow.net"):
        threads += list(read_posts_xml(FORUM / site / "Posts.xml", site, site, None))
    return threads


def _rewrap(post: str) -> str:
    """What a faithful extractor may do: number it, re-delimit display math, brace exponents."""
    text = re.sub(r"\$\$(.+?)\$\$", r"\\[\1\\]", post, flags=re.DOTALL)
    text = re.sub(r"\^(\d)", r"^{\1}", text).replace("\\dfrac", "\\frac")
    return "Problem 1: " + text


def test_real_forum_posts_copied_or_rewrapped_are_faithful():
    threads = _real_threads()
    assert len(threads) > 100
    unfaithful = {
        t.thread_id: describe(u)
        for t in threads
        for text in (t.forum_post, _rewrap(t.forum_post))
        if (u := unsupported_content(text, t.forum_post))
    }
    assert unfaithful == {}


def test_real_reply_formulas_with_new_numbers_are_caught():
    caught = 0
    for thread in _real_threads():
        support = PostSupport.of(thread.forum_post)
        for formula in re.findall(r"\$[^$]+\$", thread.forum_discussions):
            new = [u for u in unsupported_content(formula, "") if u.token[0].isdigit()]
            if any(u.token not in support.numbers for u in new):
                assert unsupported_content(f"{thread.forum_post}\n{formula}", thread.forum_post)
                caught += 1
                break
    assert caught > 30  # of the 210 sample threads, those whose replies have such a formula
