"""Lexical retrieval: word n-gram containment over normalized text (LaTeX and spacing folded).

Catches what dense embeddings blur: a benchmark problem copied verbatim into a long forum post
next to other text. The score of a pair is the larger of the two containments: the share of the
benchmark item's n-grams found in the problem, and the share of the problem's found in the item.

Speed: most problems share no n-gram with any benchmark. `query_many` hashes every n-gram of a
whole chunk of problems at once (numpy rolling hash over token ids) and tests membership against
the index's hashes; only problems with a hit take the exact (Python set) path. Items shorter than
n tokens are matched as whole token sequences; items shorter than `min_tokens` are not matched
lexically at all (a one-word "item" would match everything), only by the dense signal.
Very common n-grams (in more than `max_postings` items) generate no candidates, but still count
in the containment of candidates found through rarer ones.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from mathforge.normalized_text import ngrams, tokens

_MULT = np.uint64(0x9E3779B97F4A7C15)


class LexicalIndex:
    def __init__(
        self,
        texts: list[str],
        n: int = 8,
        max_postings: int = 64,
        max_candidates: int = 8,
        min_tokens: int = 4,
    ):
        self.n = n
        self.max_postings = max_postings
        self.max_candidates = max_candidates
        self.item_grams: list[set] = []
        self.short_items: list[tuple[int, str]] = []  # (item, " tok tok ... ") for items shorter than n
        postings: dict[tuple, list[int]] = defaultdict(list)
        self.vocab: dict[str, int] = {}
        for idx, text in enumerate(texts):
            toks = tokens(text)
            for tok in toks:
                self.vocab.setdefault(tok, len(self.vocab) + 1)  # 0 = a token no item has
            if len(toks) < min_tokens:
                self.item_grams.append(set())
                continue
            grams = ngrams(toks, n)
            if len(toks) < n:
                self.short_items.append((idx, f" {' '.join(toks)} "))
            self.item_grams.append(grams)
            for gram in grams:
                postings[gram].append(idx)
        self.postings = dict(postings)
        full = [g for g in self.postings if len(g) == n]
        self.powers = _MULT ** np.arange(n, dtype=np.uint64)
        self.gram_hashes = np.unique(
            self._hash(np.array([[self.vocab[t] for t in g] for g in full], dtype=np.uint64).reshape(-1, n))
        )

    def _hash(self, windows: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return (windows * self.powers).sum(axis=1, dtype=np.uint64)

    def pair_score(self, item: int, grams: set[tuple]) -> float:
        """Containment either way between item `item` and a text's n-grams (0 for unmatched items)."""
        item_grams = self.item_grams[item]
        if not item_grams or not grams:
            return 0.0
        shared = len(item_grams & grams)
        return max(shared / len(item_grams), shared / len(grams))

    def query(self, text: str, min_score: float, toks: list[str] | None = None) -> list[tuple[int, float]]:
        """(item index, containment score) with score >= min_score, best first, ties by index."""
        toks = tokens(text) if toks is None else toks
        grams = ngrams(toks, self.n)
        if not grams:
            return []
        hits: Counter = Counter()
        for gram in grams:
            posting = self.postings.get(gram)
            if posting is not None and len(posting) <= self.max_postings:
                hits.update(posting)
        results = []
        for idx, _count in sorted(hits.items(), key=lambda kv: (-kv[1], kv[0]))[: self.max_candidates]:
            score = self.pair_score(idx, grams)
            if score >= min_score:
                results.append((idx, score))
        if self.short_items:
            joined = f" {' '.join(toks)} "
            found = {idx for idx, _ in results}
            results += [(idx, 1.0) for idx, seq in self.short_items if idx not in found and seq in joined]
        results.sort(key=lambda r: (-r[1], r[0]))
        return results

    def query_many(self, texts: list[str], min_score: float) -> list[list[tuple[int, float]]]:
        """`query` for many texts; the n-gram hash prefilter skips texts that cannot match."""
        tok_lists = [tokens(t) for t in texts]
        out: list[list[tuple[int, float]]] = [[] for _ in texts]
        exact = set()
        long_rows = []
        for row, toks in enumerate(tok_lists):
            if len(toks) < self.n:
                exact.add(row)  # short texts are rare and cheap: exact path
            else:
                long_rows.append(row)
        if long_rows and self.gram_hashes.size:
            ids = [np.fromiter((self.vocab.get(t, 0) for t in tok_lists[r]), np.uint64) for r in long_rows]
            flat = np.concatenate(ids)
            owner = np.repeat(np.arange(len(long_rows)), [len(a) for a in ids])
            starts = sliding_window_view(np.arange(flat.size), self.n)[:, 0]
            inside = owner[starts] == owner[starts + self.n - 1]  # windows that stay within one text
            hashes = self._hash(sliding_window_view(flat, self.n)[inside])
            hit_owners = np.unique(owner[starts[inside]][np.isin(hashes, self.gram_hashes)])
            exact.update(long_rows[i] for i in hit_owners.tolist())
        if self.short_items:
            for row in long_rows:
                if row not in exact:
                    joined = f" {' '.join(tok_lists[row])} "
                    if any(seq in joined for _, seq in self.short_items):
                        exact.add(row)
        for row in exact:
            out[row] = self.query(texts[row], min_score, toks=tok_lists[row])
        return out
