"""Near-identical to a benchmark item: normalised edit ratio at or above a threshold.

The ratio is rapidfuzz's normalised Levenshtein similarity, 1 - distance / longer length, on
texts normalised as decontamination normalises them (LaTeX presentation, spacing, number
formatting, case). Since the distance is at least the difference in length, the ratio is at most
shorter / longer: only benchmark items within that length window can reach the threshold, so each
query is compared with that window alone (items sorted by length, two bisections), and rapidfuzz
stops each comparison once the threshold is out of reach. Queries are cached (rows share problems).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from mathforge.benchmarks import BenchmarkItem
from mathforge.normalized_text import normalize_text


@dataclass(frozen=True)
class BenchmarkHit:
    item: BenchmarkItem
    ratio: float


class NearIdenticalIndex:
    def __init__(self, items: list[BenchmarkItem], threshold: float):
        if not 0 < threshold <= 1:
            raise ValueError(f"edit-ratio threshold must be in (0, 1], got {threshold}")
        normalised = sorted(((normalize_text(i.text), i) for i in items), key=lambda p: len(p[0]))
        self.threshold = threshold
        self._texts = [text for text, _ in normalised]
        self.items = [item for _, item in normalised]
        self._lengths = [len(text) for text in self._texts]
        self._cache: dict[str, BenchmarkHit | None] = {}  # by normalised text
        self._raw: dict[str, BenchmarkHit | None] = {}  # by text as given (skips normalising again)

    def window(self, length: int) -> tuple[int, int]:
        """Index range of the items whose length allows a ratio >= threshold with `length`."""
        low = math.ceil(length * self.threshold - 1e-9)
        high = math.floor(length / self.threshold + 1e-9)
        return bisect.bisect_left(self._lengths, low), bisect.bisect_right(self._lengths, high)

    def best_match(self, text: str) -> BenchmarkHit | None:
        """The closest benchmark item with ratio >= threshold, or None."""
        if text not in self._raw:
            query = normalize_text(text)
            if query not in self._cache:
                self._cache[query] = self._search(query)
            self._raw[text] = self._cache[query]
        return self._raw[text]

    def _search(self, query: str) -> BenchmarkHit | None:
        if not query:
            return None
        lo, hi = self.window(len(query))
        found = process.extractOne(
            query, self._texts[lo:hi], scorer=Levenshtein.normalized_similarity, score_cutoff=self.threshold
        )
        if found is None:
            return None
        _text, ratio, index = found
        return BenchmarkHit(self.items[lo + index], round(float(ratio), 4))
