"""Answer comparison speed and agreement vs math-verify, and voting accuracy vs exact-string majority.

Part 1, on the same --pairs (10,000) answer pairs with many repeats (drawn Zipf-like from a pool
of values, each spelled several equivalent ways: integers, fractions, decimals, \\frac/\\dfrac,
roots, percents, intervals, sets, tuples, `x = ...`), in one run:
  (a) math-verify directly: parse(gold) + parse(answer) + verify, per pair, in this process
  (b) mathforge's AnswerComparer (normalize, exact/integer fast paths, cache, math-verify in 2
      killable worker processes)
It prints pairs/s of each, the speed-up (target >= 5x), and the agreement: pairs where both decide
and the verdicts differ (target 0), and pairs math-verify decides that ours leaves undecided.

Part 2, voting accuracy on --groups synthetic problems with a known answer: 16 answers each, the
correct ones in mixed equivalent spellings, the wrong ones concentrated on a few distractors.
Exact-string majority (the reference: most common string, ties to the first seen) vs the
equivalence-aware majority; accuracy = the winning answer equals the truth.

    .venv/bin/python benchmarks/answer_equivalence.py [--pairs 10000] [--groups 300]
"""

from __future__ import annotations

import argparse
import logging
import random
import time
from collections import Counter

from mathforge.grading.equivalence import AnswerComparer
from mathforge.grading.majority import majority_vote

# Each value: equivalent spellings (the first is canonical).
VALUES = [
    ["\\frac{1}{2}", "1/2", "0.5", "\\dfrac{1}{2}", "\\tfrac12"],
    ["\\frac{3}{4}", "0.75", "3/4", "\\dfrac34"],
    ["\\frac{2}{3}", "2/3", "\\dfrac{2}{3}"],
    ["\\sqrt{2}", "\\sqrt 2", "2^{1/2}"],
    ["\\frac{\\sqrt{3}}{2}", "\\sqrt{3}/2", "\\dfrac{\\sqrt3}{2}"],
    ["2\\sqrt{5}", "\\sqrt{20}"],
    ["\\pi", "\\pi "],
    ["\\frac{\\pi}{4}", "\\pi/4"],
    ["(1, 2]", "(1,2]", "\\left(1, 2\\right]"],
    ["\\{1, 2, 3\\}", "\\{3, 2, 1\\}", "\\{1,2,3\\}"],
    ["(2, 3)", "(2,3)", "\\left(2, 3\\right)"],
    ["25\\%", "25", "25 \\%"],
    ["x = 7", "7", "x=7"],
    ["1000", "1,000", "1000.0"],
    ["e^{2}", "e^2"],
    ["\\frac{5}{12}", "5/12"],
    ["-\\frac{1}{3}", "-1/3", "\\frac{-1}{3}"],
    ["90^\\circ", "90", "90^{\\circ}"],
]
INTEGERS = [
    [str(n), f"{n}", f"{n}.", f"${n}$"]
    for n in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 15, 24, 36, 42, 91, 100, 120, 385, 2024)
]
POOL = VALUES + INTEGERS


def make_pairs(n: int, rng: random.Random) -> list[tuple[str, str]]:
    weights = [1 / (i + 1) for i in range(len(POOL))]  # Zipf-like: a few values dominate
    pairs = []
    for _ in range(n):
        gold = rng.choices(POOL, weights)[0]
        same_value = rng.random() < 0.6
        answer = rng.choice(gold if same_value else rng.choices(POOL, weights)[0])
        pairs.append((gold[0], answer))
    return pairs


def direct_math_verify(pairs: list[tuple[str, str]]) -> tuple[list[bool], float]:
    from math_verify import parse, verify

    started = time.monotonic()
    out = []
    for gold, answer in pairs:
        wrap = lambda s: s if s.startswith("$") else f"${s}$"  # noqa: E731
        out.append(bool(verify(parse(wrap(gold)), parse(wrap(answer)))))
    return out, time.monotonic() - started


def exact_majority(answers: list[str | None]) -> str | None:
    counts = Counter(a for a in answers if a)
    return counts.most_common(1)[0][0] if counts else None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    rng = random.Random(args.seed)
    pairs = make_pairs(args.pairs, rng)
    print(f"{len(pairs)} pairs, {len(set(pairs))} distinct", flush=True)

    reference, ref_s = direct_math_verify(pairs)
    with AnswerComparer(workers=2, timeout_s=5) as comparer:
        comparer.compare("1", "2")  # start-up is not part of the comparison rate
        started = time.monotonic()
        ours = comparer.compare_many(pairs)
        ours_s = time.monotonic() - started
        stats = dict(comparer.stats)

    disagree = [
        (p, r, o) for p, r, o in zip(pairs, reference, ours, strict=True) if o.decided and o.equal != r
    ]
    undecided = sum(not o.decided for o in ours)
    print(f"\n{'method':28} {'pairs/s':>10} {'seconds':>8}")
    print(f"{'math-verify direct':28} {len(pairs) / ref_s:>10.0f} {ref_s:>8.2f}")
    print(f"{'mathforge AnswerComparer':28} {len(pairs) / ours_s:>10.0f} {ours_s:>8.2f}")
    speedup = ref_s / ours_s
    print(f"speed-up: {speedup:.1f}x  ({'PASS' if speedup >= 5 else 'FAIL'} against >= 5x)")
    print(f"decided by: {stats}")
    print(f"verdicts differing where both decide: {len(disagree)}  ({'PASS' if not disagree else 'FAIL'})")
    for (gold, answer), r, o in disagree[:10]:
        print(f"   {gold!r} vs {answer!r}: math-verify {r}, ours {o.equal} ({o.method})")
    print(f"left undecided by ours (math-verify says something): {undecided}")

    correct_exact = correct_ours = 0
    with AnswerComparer(workers=2, timeout_s=5) as comparer:
        for _ in range(args.groups):
            truth = rng.choice(POOL)
            p = rng.uniform(0.25, 0.6)
            distractors = [rng.choice(rng.choice(POOL)) for _ in range(3)]
            distractors = [d for d in distractors if not comparer.compare(truth[0], d).equal] or ["-999"]
            answers = []
            for _ in range(16):
                r = rng.random()
                if r < p:
                    answers.append(rng.choice(truth))
                elif r < 0.93:
                    answers.append(rng.choices(distractors, [0.6, 0.3, 0.1][: len(distractors)])[0])
                else:
                    answers.append(None)
            exact = exact_majority(answers)
            correct_exact += exact is not None and bool(comparer.compare(truth[0], exact).equal)
            vote = majority_vote(answers, comparer).answer
            correct_ours += vote is not None and bool(comparer.compare(truth[0], vote).equal)
    n = args.groups
    print(f"\nvoting accuracy on {n} groups of 16 answers:")
    print(f"  exact-string majority:     {correct_exact / n:.3f}")
    print(f"  equivalence-aware majority: {correct_ours / n:.3f}")
    print(f"  ratio: {correct_ours / max(correct_exact, 1):.2f}x")


if __name__ == "__main__":
    main()
