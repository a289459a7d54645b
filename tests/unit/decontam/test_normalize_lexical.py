"""Normalization folds formatting; the lexical index finds copies, also inside longer posts."""

from __future__ import annotations

import random

import pytest

from mathforge.decontam.lexical import LexicalIndex
from mathforge.normalized_text import ngrams, normalize_text, strip_lean_doc_comment, tokens

ITEMS = [
    "Find the remainder when $3^{100}$ is divided by $7$, given that the answer is an integer.",
    "Janet has 1000 apples and sells 250 of them every day. How many days until she has none left?",
    "Compute $\\dbinom{31}{28}$.",
    "Let",  # a degenerate item: too short to match lexically
]


def test_formatting_noise_folds_to_the_same_tokens():
    a = tokens("Compute $\\dfrac{1}{2} + \\left(3\\right)$ for 1,000 cats.")
    b = tokens("compute  \\frac{1}{2}+(3) for 1000 CATS.")
    assert a == b == ["compute", "\\frac", "1", "2", "+", "(", "3", ")", "for", "1000", "cats"]


def test_normalize_text_drops_presentation_commands():
    assert normalize_text("$\\displaystyle \\text{Area}\\,=\\,\\tfrac{1}{2}$") == "{area} = \\frac{1}{2}"


def test_lean_doc_comment_is_stripped():
    assert strip_lean_doc_comment("/-- Show that $1+1=2$.-/\n") == "Show that $1+1=2$."


def test_ngrams_of_short_text_is_the_whole_text():
    assert ngrams(["a", "b"], 8) == {("a", "b")}
    assert len(ngrams(list("abcdefghij"), 8)) == 3
    assert ngrams([], 8) == set()


@pytest.fixture(scope="module")
def index():
    return LexicalIndex(ITEMS, n=8)


def test_verbatim_copy_scores_one(index):
    assert index.query(ITEMS[0], 0.5)[0] == (0, 1.0)


def test_copy_inside_a_long_post_is_found(index):
    post = (
        "Hi all, I found these in an old booklet. First one: how many primes are below 30? "
        f"Second one: {ITEMS[1]} Thanks! Also what is the best calculator for contests?"
    )
    assert index.query(post, 0.5)[0] == (1, 1.0)


def test_latex_rewrite_still_matches(index):
    rewritten = "Find the remainder when $\\displaystyle 3^{100}$ is divided by $7$ , given that the answer is an integer."
    assert index.query(rewritten, 0.5)[0][0] == 0


def test_short_item_matches_as_a_whole_sequence_and_degenerate_items_never(index):
    assert (2, 1.0) in index.query("Quick one: compute $\\binom{31}{28}$ please, my exam is tomorrow.", 0.5)
    assert index.query("Let me know what you think about this nice text", 0.1) == []


def test_unrelated_text_has_no_candidates(index):
    assert index.query("Prove that every tree with n vertices has exactly n-1 edges.", 0.3) == []


def test_query_many_equals_query_on_random_texts(index):
    rng = random.Random(0)
    words = [
        "find",
        "the",
        "remainder",
        "when",
        "is",
        "divided",
        "by",
        "given",
        "that",
        "answer",
        "apples",
        "sells",
        "compute",
        "let",
    ]
    texts = [" ".join(rng.choices(words, k=rng.randint(1, 30))) for _ in range(300)] + ITEMS
    assert index.query_many(texts, 0.3) == [index.query(t, 0.3) for t in texts]
