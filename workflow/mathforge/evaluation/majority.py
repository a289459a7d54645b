"""maj@k: the accuracy of the equivalence-aware majority vote over k samples of a problem.

Definition (per problem; the benchmark's maj@k is the mean over problems):
- The n samples' answers are grouped once into equivalence classes with the pipeline's vote
  (`mathforge.grading.majority.cluster_answers`: equal after normalization, then symbolically).
  A class is correct when its representative answer (its most frequent spelling) was judged
  equal to the gold answer.
- maj@k is the EXPECTED score over the k-subsets of the n samples drawn uniformly without
  replacement (not the first k samples: that would be one noisy draw). In a subset, samples
  without an answer do not vote; the class with most votes wins; a tie between t top classes of
  which c are correct scores c / t (the expectation under a uniformly random tie break: the
  pipeline's fixed tie rule, shortest answer first, would favour short answers); a subset
  with no answer at all scores 0. The pipeline's min_votes / min_fraction do not apply.
- Exact for n <= EXACT_MAX_N (every subset is scored); above, estimated from `draws` seeded
  random permutations whose length-k prefixes are uniform k-subsets (so maj@n is still exact).
maj@1 is the accuracy of a single voted answer; it differs from pass@1 only in ties (none for
k = 1) and in judging the class representative instead of each spelling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mathforge.grading.equivalence import AnswerComparer
from mathforge.grading.majority import cluster_answers

EXACT_MAX_N = 14  # 2**14 subsets: exact enumeration stays well under a second


@dataclass
class VoteClasses:
    labels: list[int | None]  # per sample: the index of its class; None = no answer (no vote)
    correct: list[bool]  # per class, largest first: its representative was judged correct
    answers: list[str]  # per class: the representative answer


def vote_classes(
    answers: list[str | None], judgements: list[bool | None], comparer: AnswerComparer
) -> VoteClasses:
    """The classes of one problem's answers; `judgements[i]` is sample i's verdict against gold."""
    classes = cluster_answers(answers, comparer)
    by_spelling = {spelling: i for i, c in enumerate(classes) for spelling in c.spellings}
    labels = [None if a is None else by_spelling.get(a.strip()) for a in answers]
    verdict_of = {}
    for answer, judgement in zip(answers, judgements, strict=True):
        if answer is not None:
            verdict_of.setdefault(answer.strip(), bool(judgement))
    return VoteClasses(labels, [verdict_of[c.answer] for c in classes], [c.answer for c in classes])


def subset_scores(counts: np.ndarray, correct: np.ndarray) -> np.ndarray:
    """Score of each subset (row of per-class vote counts): the correct share of the top classes."""
    top = counts.max(axis=1, keepdims=True)
    tied = (counts == top) & (top > 0)
    n_tied = tied.sum(axis=1)
    n_right = (tied & correct).sum(axis=1)
    return np.where(n_tied > 0, n_right / np.maximum(n_tied, 1), 0.0)


def maj_at_every_k(classes: VoteClasses, draws: int = 1000, seed: int = 0) -> list[float]:
    """[maj@1, ..., maj@n] of one problem (see the module docstring)."""
    n, r = len(classes.labels), len(classes.correct)
    if n == 0:
        return []
    if r == 0:
        return [0.0] * n
    onehot = np.zeros((n, r), dtype=np.int32)
    for i, label in enumerate(classes.labels):
        if label is not None:
            onehot[i, label] = 1
    correct = np.asarray(classes.correct, dtype=bool)
    if n <= EXACT_MAX_N:
        masks = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
        scores = subset_scores(masks @ onehot, correct)
        sizes = masks.sum(axis=1)
        return [float(scores[sizes == k].mean()) for k in range(1, n + 1)]
    rng = np.random.default_rng(seed)
    perms = rng.permuted(np.tile(np.arange(n), (draws, 1)), axis=1)
    prefix_counts = np.cumsum(onehot[perms], axis=1)  # draws x k x classes
    scores = subset_scores(prefix_counts.reshape(-1, r), correct).reshape(draws, n)
    return [float(v) for v in scores.mean(axis=0)]
