"""Near-identical to a benchmark item: normalised edit ratio, the length window, the cache."""

from __future__ import annotations

import random

from rapidfuzz.distance import Levenshtein

from mathforge.benchmarks import BenchmarkItem
from mathforge.hygiene.near_identical import NearIdenticalIndex
from mathforge.normalized_text import normalize_text

ITEMS = [
    BenchmarkItem("math", "m1", "Find the sum of all positive divisors of $360$ that are odd."),
    BenchmarkItem("math", "m2", "How many ways can 5 people sit around a round table?"),
    BenchmarkItem("gsm", "g1", "Tom has 3 apples and buys 4 more. How many apples does he have?"),
]


def test_a_copy_with_formatting_noise_and_one_edit_matches():
    index = NearIdenticalIndex(ITEMS, 0.9)
    hit = index.best_match(r"Find the sum of all positive divisors of $\displaystyle 360$ that are ODD!")
    assert hit is not None and hit.item.item_id == "m1" and hit.ratio >= 0.9


def test_a_different_problem_or_other_numbers_in_a_short_text_do_not_match():
    index = NearIdenticalIndex(ITEMS, 0.9)
    assert (
        index.best_match("Find the sum of all positive divisors of $1000$ that are even and square.") is None
    )
    assert index.best_match("Compute $1+1$.") is None
    assert index.best_match("") is None


def test_the_length_window_loses_no_match_an_exhaustive_search_finds():
    rng = random.Random(0)
    alphabet = "abcdefgh +=$"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(20, 80))) for _ in range(300)]
    items = [BenchmarkItem("b", str(i), t) for i, t in enumerate(texts)]
    index = NearIdenticalIndex(items, 0.85)
    for text in texts[:60]:
        query = list(text)
        for _ in range(rng.randint(0, 6)):
            query[rng.randrange(len(query))] = rng.choice(alphabet)
        query = "".join(query)
        best = max(Levenshtein.normalized_similarity(normalize_text(query), normalize_text(t)) for t in texts)
        hit = index.best_match(query)
        assert (hit is not None) == (best >= 0.85)
        if hit is not None:
            assert abs(hit.ratio - best) < 1e-3


def test_the_window_is_the_length_bound():
    index = NearIdenticalIndex([BenchmarkItem("b", str(n), "x" * n) for n in range(1, 200)], 0.9)
    lo, hi = index.window(100)
    lengths = [len(normalize_text(i.text)) for i in index.items[lo:hi]]
    assert min(lengths) == 90 and max(lengths) == 111
