"""The SFT audit's benchmark check: the length window vs comparing every benchmark item.

Side by side in one run, against the shared benchmark index (~3,500 items): distinct problems/s of
`NearIdenticalIndex.best_match` (normalised edit ratio >= threshold, candidates limited to the
length window the ratio allows) and of the same rapidfuzz search over every item, on the same
queries (half near-copies of indexed items, half held-out benchmark problems); the two must agree
on every query. Then rows/s of the whole audit (all checks) on SFT-like rows, 16
rows per problem as in the default config (the benchmark check is cached per problem).
Target: the window at least as fast as the exhaustive search with the same answers, and the whole
audit >= 2,000 rows/s on 2 cores (it runs twice per job: before writing and on the shards).

    .venv/bin/python benchmarks/sft_hygiene.py [--queries 1000]
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from mathforge.benchmarks import benchmark_spec, load_benchmark
from mathforge.config import REPO_ROOT
from mathforge.hygiene.audit import AuditContext, audit_rows
from mathforge.hygiene.near_identical import NearIdenticalIndex
from mathforge.hygiene.tool_output import output_markers
from mathforge.normalized_text import normalize_text

SHARED = REPO_ROOT.parent / "shared" / "data" / "benchmarks"
FIELDS = {"math500": "problem", "gsm8k_test": "question", "aime24": "problem", "aime25": "problem",
          "amc": "problem", "olympiad_bench": "problem"}  # fmt: skip
THRESHOLD = 0.9


def split(items, n: int, rng: random.Random):
    """(the indexed items, queries): half near-copies of indexed items (a few characters changed),
    half held-out benchmark problems (real problems that are not in the index)."""
    items = items[:]
    rng.shuffle(items)
    held_out, indexed = items[: n // 2], items[n // 2 :]
    copies = []
    for _ in range(n - n // 2):
        text = list(rng.choice(indexed).text)
        for _ in range(rng.randint(0, 3)):
            text[rng.randrange(len(text))] = rng.choice("abcdefxyz0123")
        copies.append("".join(text))
    return indexed, [q for pair in zip(copies, (i.text for i in held_out), strict=False) for q in pair]


def exhaustive(texts: list[str], query: str):
    return process.extractOne(normalize_text(query), texts, scorer=Levenshtein.normalized_similarity,
                              score_cutoff=THRESHOLD)  # fmt: skip


def rows_for(problems: list[str], per_problem: int) -> list[dict]:
    rows = []
    for p, problem in enumerate(problems):
        for k in range(per_problem):
            text = f"Step {k}: we reason about it.\n\\boxed{{{p}}}"
            rows.append({"problem_id": f"p{p}", "problem": problem, "expected_answer": str(p), "generation": text,
                         "variant": "high_without_tool", "tool": False, "seed": k, "request_key": f"k{p}-{k}",
                         "messages": [{"role": "user", "content": problem}, {"role": "assistant", "content": text}]})  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    items = [i for name, field in FIELDS.items()
             for i in load_benchmark(benchmark_spec(name, field, path=str(SHARED / f"{name}.jsonl")))]  # fmt: skip
    items, qs = split(items, args.queries, random.Random(0))
    index = NearIdenticalIndex(items, THRESHOLD)
    texts = [normalize_text(i.text) for i in items]
    start = time.perf_counter()
    windowed = [index.best_match(q) for q in qs]
    t_window = time.perf_counter() - start
    start = time.perf_counter()
    full = [exhaustive(texts, q) for q in qs]
    t_full = time.perf_counter() - start
    agree = sum((w is None) == (f is None) for w, f in zip(windowed, full, strict=True))
    print(
        f"benchmark items: {len(items)}; queries: {len(qs)} ({sum(w is not None for w in windowed)} near-identical)"
    )
    print(f"| search | problems/s |\n|---|---:|\n| length window | {len(qs) / t_window:,.0f} |"
          f"\n| every item | {len(qs) / t_full:,.0f} |")  # fmt: skip
    print(f"window / every item: {t_full / t_window:.1f}x; agreement: {agree}/{len(qs)}")
    rows = rows_for(qs[1::2][:200], per_problem=16)
    ctx = AuditContext(
        decontaminated={r["problem_id"] for r in rows}, removed={},
        solutions={r["request_key"]: {"problem_id": r["problem_id"], "judgement": True} for r in rows},
        final_answers={r["problem_id"]: r["expected_answer"] for r in rows},
        benchmarks=NearIdenticalIndex(items, THRESHOLD), output_markers=output_markers(Path(REPO_ROOT) / "config" / "prompts"),
        prompts_dir=str(REPO_ROOT / "config" / "prompts"),
    )  # fmt: skip
    start = time.perf_counter()
    result = audit_rows(rows, ctx)
    t_audit = time.perf_counter() - start
    print(f"whole audit: {len(rows) / t_audit:,.0f} rows/s ({len(rows)} rows, {len(result.kept)} kept)")


if __name__ == "__main__":
    main()
