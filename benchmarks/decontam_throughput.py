"""Decontamination retrieval throughput and scaling against the shared benchmark index (~3,500 items).

Side by side in one run, each size in its own worker process (so peak memory is per size):
problems/s of retrieval (dense top-k + lexical n-gram lookup + candidate scoring) at 10k, 100k
and 1M synthetic problems, excluding embedding time (synthetic problems get random unit vectors),
and, separately, the embedding throughput of the real model on CPU. Problems are streamed in
chunks, so memory should stay flat as the count grows; cost should grow linearly.
Target: >= 5,000 problems/s after embedding on 2 cores.

    .venv/bin/python benchmarks/decontam_throughput.py [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from mathforge.benchmarks import benchmark_spec, load_benchmark
from mathforge.config import validate_config
from mathforge.decontam.dense import Embedder
from mathforge.decontam.lexical import LexicalIndex
from mathforge.decontam.stage import retrieve

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "benchmarks"
FIELDS = {
    "math500": "problem", "gsm8k_test": "question", "aime24": "problem", "aime25": "problem", "amc": "problem",
    "olympiad_bench": "problem", "minif2f_valid": "informal_prefix", "minif2f_test": "informal_prefix",
    "proofnet": "informal_prefix",
}  # fmt: skip
CHUNK = 10_000
BACKEND = validate_config({})["decontam"]["embedding"]["backend"]  # the pipeline's default


def index_items():
    items = []
    for name, field in FIELDS.items():
        items += load_benchmark(benchmark_spec(name, field, path=str(SHARED / f"{name}.jsonl")))
    return items


def make_vocab(items) -> list[str]:
    """Plain words of the benchmark texts (whole formulas would be partial copies of items)."""
    return sorted({w for i in items for w in i.text.split() if w.isalpha()})


def synthetic_problem(rng: random.Random, vocab: list[str]) -> str:
    words = rng.choices(vocab, k=rng.randint(15, 80))
    for _ in range(rng.randint(0, 3)):  # a few small formulas of our own
        a, b, op = rng.randint(1, 99), rng.randint(1, 99), rng.choice("+-*/^=<")
        words.insert(rng.randrange(len(words)), f"${rng.choice('xyzabn')}{op}{a}{rng.choice('+-')}{b}$")
    return " ".join(words)


def synthetic_chunk(rng: random.Random, vocab: list[str], items, n: int, dim: int, np_rng) -> tuple:
    texts = []
    for _ in range(n):
        if rng.random() < 0.01:  # a few planted copies keep candidate scoring in the timing
            texts.append("Please help: " + rng.choice(items).text)
        else:
            texts.append(synthetic_problem(rng, vocab))
    vectors = np_rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return texts, vectors


def worker(size: int, cache: str) -> dict:
    cfg = validate_config({})["decontam"]
    rcfg = cfg["retrieval"]
    items = index_items()
    embedder = Embedder(cfg["embedding"]["model"], cfg["embedding"]["batch_size"], cache, backend=BACKEND)
    bench_vectors = embedder.embed([i.text for i in items])
    lexical = LexicalIndex([i.text for i in items], n=rcfg["ngram"], max_postings=rcfg["max_postings"])
    vocab = make_vocab(items)
    rng, np_rng = random.Random(size), np.random.default_rng(size)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    retrieval_s, candidates, done = 0.0, 0, 0
    while done < size:
        n = min(CHUNK, size - done)
        texts, vectors = synthetic_chunk(rng, vocab, items, n, bench_vectors.shape[1], np_rng)
        t0 = time.perf_counter()
        result = retrieve(texts, vectors, bench_vectors, lexical, rcfg)
        retrieval_s += time.perf_counter() - t0
        candidates += sum(bool(c) for c in result.candidates)
        done += n
    embedder.close()
    return {
        "size": size,
        "index_items": len(items),
        "retrieval_s": retrieval_s,
        "problems_per_s": size / retrieval_s,
        "flagged": candidates,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_mb": rss_before / 1024,
    }


def embedding_rate(cache: str, n: int = 1000) -> dict:
    cfg = validate_config({})["decontam"]
    items = index_items()
    rng = random.Random(1)
    texts = [synthetic_problem(rng, make_vocab(items)) for _ in range(n)]
    embedder = Embedder(cfg["embedding"]["model"], cfg["embedding"]["batch_size"], None, backend=BACKEND)
    embedder.embed(texts[:32])  # load the model outside the timing
    t0 = time.perf_counter()
    embedder.embed(texts[32:])
    seconds = time.perf_counter() - t0
    return {"texts": n - 32, "seconds": seconds, "per_s": (n - 32) / seconds}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "mathforge" / "embeddings.sqlite"))
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.cache)))
        return 0
    # Warm the benchmark-index embedding cache once (first run: ~1.5 min on 2 cores).
    t0 = time.perf_counter()
    cfg = validate_config({})["decontam"]
    embedder = Embedder(
        cfg["embedding"]["model"], cfg["embedding"]["batch_size"], args.cache, backend=BACKEND
    )
    embedder.embed([i.text for i in index_items()])
    embedder.close()
    print(
        f"benchmark index embedded in {time.perf_counter() - t0:.1f}s ({embedder.computed} computed, rest cached)"
    )
    rate = embedding_rate(args.cache)
    print(
        f"embedding throughput (all-MiniLM-L6-v2, {BACKEND}, CPU): {rate['per_s']:.0f} problems/s ({rate['texts']} texts)"
    )
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        out = subprocess.run(
            [sys.executable, __file__, "--worker", str(size), "--cache", args.cache],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"\nretrieval after embedding, index of {rows[0]['index_items']} items, chunks of {CHUNK}:")
    header = f"{'problems':>9} | {'seconds':>8} | {'problems/s':>10} | {'s per 10k':>9} | {'peak RSS MB':>11} | flagged"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['size']:>9,} | {r['retrieval_s']:>8.1f} | {r['problems_per_s']:>10,.0f} | "
            f"{r['retrieval_s'] / r['size'] * 1e4:>9.2f} | {r['peak_rss_mb']:>11,.0f} | {r['flagged']}"
        )
    base = rows[0]
    for r in rows[1:]:
        print(
            f"x{r['size'] / base['size']:.0f} problems: time x{r['retrieval_s'] / base['retrieval_s']:.1f}, "
            f"peak memory x{r['peak_rss_mb'] / base['peak_rss_mb']:.2f}"
        )
    slowest = min(r["problems_per_s"] for r in rows)
    print(
        f"target >= 5,000 problems/s after embedding: {'PASS' if slowest >= 5000 else 'FAIL'} ({slowest:,.0f})"
    )
    print(f"embedding vs retrieval: retrieval is {slowest / rate['per_s']:.0f}x faster than embedding on CPU")
    total = 1 / (1 / rate["per_s"] + 1 / slowest)
    print(
        f"including embedding (CPU): {total:,.0f} problems/s end to end; embedding is the cost to scale out"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
