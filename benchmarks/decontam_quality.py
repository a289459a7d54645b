"""Recall and precision of decontamination retrieval BEFORE the LLM judge, on a hard test set:
dense-only vs lexical-only vs combined, side by side in one run (target: recall >= 0.98 at
precision >= 0.98 for the combined signal).

The test set is built at run time from ../shared/data/benchmarks (verbatim copies, copies wrapped
in forum chatter next to another problem, LaTeX/spacing rewrites) plus hand-written rewordings
and same-style negatives from tests/data/decontam/ and CHAMP (see mathforge.decontam.evaluation).

    .venv/bin/python benchmarks/decontam_quality.py [--per-kind 100] [--dense-threshold 0.8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from mathforge.config import validate_config
from mathforge.decontam.dense import Embedder, embedding_cache_path
from mathforge.decontam.evaluation import build_examples, score
from mathforge.decontam.lexical import LexicalIndex
from mathforge.decontam.stage import retrieve

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "benchmarks"
DATA = REPO / "tests" / "data" / "decontam"


def score_signals(examples, index, vectors, bench_vectors, rcfg: dict) -> dict[str, dict]:
    """Recall/precision of dense, lexical and combined retrieval (mathforge.decontam.evaluation.score)."""
    lexical = LexicalIndex([i.text for i in index], n=rcfg["ngram"], max_postings=rcfg["max_postings"])
    texts = [e.text for e in examples]
    results = {}
    for signals in (("dense",), ("lexical",), ("dense", "lexical")):
        retrieval = retrieve(texts, vectors, bench_vectors, lexical, rcfg, signals=signals)
        name = "+".join(signals) if len(signals) == 1 else "combined"
        results[name] = score(examples, [bool(c) for c in retrieval.candidates])
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--per-kind", type=int, default=100, help="verbatim / wrapped / latex positives each")
    parser.add_argument("--dense-threshold", type=float, default=None)
    parser.add_argument("--lexical-threshold", type=float, default=None)
    parser.add_argument("--cache", default=None, help="embedding cache (default: a temporary file)")
    parser.add_argument("--backend", default=None, help="embedding backend (default: the config's)")
    args = parser.parse_args()
    full_cfg = validate_config({})
    cfg = full_cfg["decontam"]
    rcfg = dict(cfg["retrieval"])
    if args.dense_threshold is not None:
        rcfg["dense_threshold"] = args.dense_threshold
    if args.lexical_threshold is not None:
        rcfg["lexical_threshold"] = args.lexical_threshold

    examples, index = build_examples(
        SHARED, DATA / "rewordings.jsonl", DATA / "negatives.jsonl", args.per_kind
    )
    kinds = {}
    for e in examples:
        kinds[e.kind] = kinds.get(e.kind, 0) + 1
    print(f"test set: {len(examples)} examples {kinds}; index: {len(index)} benchmark items")
    with tempfile.TemporaryDirectory() as tmp:
        embedder = Embedder(
            cfg["embedding"]["model"],
            cfg["embedding"]["batch_size"],
            args.cache or Path(tmp) / "e.db",
            backend=args.backend or cfg["embedding"]["backend"],
            build_dir=embedding_cache_path(full_cfg).parent / "onnx",
        )
        t0 = time.perf_counter()
        bench_vectors = embedder.embed([i.text for i in index])
        vectors = embedder.embed([e.text for e in examples])
        embed_s = time.perf_counter() - t0
        embedder.close()
    print(f"embedded {embedder.computed} texts in {embed_s:.1f}s ({embedder.computed / embed_s:.0f}/s)")
    print(
        f"\nthresholds: dense >= {rcfg['dense_threshold']}, lexical containment >= {rcfg['lexical_threshold']}"
        f" ({rcfg['ngram']}-grams)\n"
    )
    header = f"{'signal':<10} | {'recall':>6} | {'precision':>9} | {'tp':>4} | {'fp':>3} | {'fn':>3} | correct by kind"
    print(header)
    print("-" * len(header))
    results = score_signals(examples, index, vectors, bench_vectors, rcfg)
    for name, s in results.items():
        kinds_txt = ", ".join(f"{k} {v}" for k, v in s["correct_by_kind"].items())
        print(
            f"{name:<10} | {s['recall']:>6.3f} | {s['precision']:>9.3f} | {s['tp']:>4} | {s['fp']:>3} | "
            f"{s['fn']:>3} | {kinds_txt}"
        )
    combined = results["combined"]
    ok = combined["recall"] >= 0.98 and combined["precision"] >= 0.98
    print(
        f"\nrecall ratio combined/dense {combined['recall'] / max(results['dense']['recall'], 1e-9):.2f}x, "
        f"combined/lexical {combined['recall'] / max(results['lexical']['recall'], 1e-9):.2f}x"
    )
    print(
        f"target recall >= 0.98 at precision >= 0.98 (combined, before the judge): {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
