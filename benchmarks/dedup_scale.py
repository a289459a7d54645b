"""Semantic dedup at scale: exact all-pairs search vs the approximate (faiss IVF) index.

Side by side in one run, each case in its own worker process (so wall time and peak RSS are per
case): `near_duplicates`' neighbour search and the collapse into clusters on synthetic unit
vectors (dim 384 like all-MiniLM-L6-v2) with topic structure and planted near-duplicates
(cosine 0.90-0.995 to an earlier row, a few chained into clusters of 3+). Vectors are written to a
float32 .npy file and memory-mapped by the worker, as a job would read an embedding artifact.

Printed per size: wall seconds (search, collapse), peak RSS, rows dropped, and the recall of the
duplicate pairs (cosine >= threshold among the top-k) that exact search finds; then the ratios
ann/exact. Targets (issue 22): 1M rows in <= 10 min and <= 4 GB peak RSS on 2 cores; pair
recall >= 0.99 against exact on 100k.

    .venv/bin/python benchmarks/dedup_scale.py [--sizes 10000,100000] [--ann-only 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mathforge.config import validate_config
from mathforge.decontam.dedup import duplicates_from_neighbours
from mathforge.decontam.neighbours import self_neighbours

DIM = 384
CHUNK = 50_000


def _unit(a: np.ndarray) -> np.ndarray:
    return (a / np.linalg.norm(a, axis=1, keepdims=True)).astype(np.float32)


def write_vectors(path: Path, n: int, seed: int, dup_share: float, topics: int) -> np.ndarray:
    """Synthetic embeddings to `path` (float32 .npy); returns the planted (row, original) pairs.

    A row is 0.6 x its topic's centre + noise (same-topic cosine ~0.35, like unrelated problems on
    one subject); a planted duplicate is an earlier row moved to a cosine of 0.90-0.995.
    """
    rng = np.random.default_rng(seed)
    centres = _unit(rng.standard_normal((topics, DIM)))
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, DIM))
    planted = []
    for start in range(0, n, CHUNK):
        end = min(n, start + CHUNK)
        block = 0.6 * centres[rng.integers(0, topics, end - start)]
        block += 0.8 * rng.standard_normal((end - start, DIM)) / np.sqrt(DIM)
        block = _unit(block)
        dups = np.flatnonzero(rng.random(end - start) < dup_share)
        dups = dups[dups + start > 0]
        for local in dups:
            row = start + local
            original = int(rng.integers(max(0, row - 5 * CHUNK), row))
            source = block[original - start] if original >= start else out[original]
            cos = rng.uniform(0.90, 0.995)
            noise = rng.standard_normal(DIM) / np.sqrt(DIM)
            noise -= (noise @ source) * source
            block[local] = _unit((source + np.sqrt(1 / cos**2 - 1) * noise / np.linalg.norm(noise))[None])[0]
            planted.append((row, original))
        out[start:end] = block
    out.flush()
    del out
    return np.asarray(planted, dtype=np.int64).reshape(-1, 2)


def synthetic_texts(n: int, planted: np.ndarray) -> list[str]:
    """Distinct texts; a planted duplicate's text is its original's with forum chatter added."""
    texts = [f"Problem {i}: find all integers x with x^2 = {i} mod {i % 97 + 3}." for i in range(n)]
    for row, original in planted:
        texts[row] = texts[original] + " Please help, thanks!"
    return texts


def worker(path: str, method: str, out: str) -> dict:
    dcfg = validate_config({})["decontam"]["dedup"]
    search = {**dcfg, "method": method}
    vectors = np.load(path, mmap_mode="r")
    n = vectors.shape[0]
    planted = np.load(path.replace(".npy", ".planted.npy"))
    texts = synthetic_texts(n, planted)
    keys = [(False, i) for i in range(n)]
    t0 = time.perf_counter()
    scores, rows, used = self_neighbours(vectors, dcfg["top_k"] + 1, search)
    t1 = time.perf_counter()
    drops = duplicates_from_neighbours(
        texts, scores, rows, keys, threshold=dcfg["threshold"], certain=dcfg["certain"],
        lexical_min=dcfg["lexical_min"],
    )  # fmt: skip
    t2 = time.perf_counter()
    hit = (scores >= dcfg["threshold"]) & (rows >= 0) & (rows != np.arange(n)[:, None])
    queries = np.repeat(np.arange(n), hit.sum(axis=1))
    pairs = np.stack([np.minimum(queries, rows[hit]), np.maximum(queries, rows[hit])], axis=1)
    np.save(out, np.unique(pairs, axis=0) if len(pairs) else pairs)
    return {
        "method": used, "n": n, "search_s": t1 - t0, "collapse_s": t2 - t1, "wall_s": t2 - t0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "drops": len(drops),
    }  # fmt: skip


def run_case(path: Path, method: str, workdir: Path) -> dict:
    out = workdir / f"{path.stem}.{method}.pairs.npy"
    cmd = [sys.executable, __file__, "--worker", str(path), "--method", method, "--out", str(out)]
    print(f"  {method} on {path.stem} ...", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {method} {path.name} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["pairs"] = {tuple(p) for p in np.load(out).tolist()}
    return result


def pair_recall(found: set, truth: set) -> float:
    return len(found & truth) / len(truth) if truth else 1.0


def planted_recall(result: dict, planted: np.ndarray) -> float:
    truth = {(min(a, b), max(a, b)) for a, b in planted.tolist()}
    return pair_recall(result["pairs"], truth)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000", help="sizes run with both exact and ann")
    ap.add_argument("--ann-only", default="", help="sizes run with ann only (e.g. 1000000)")
    ap.add_argument("--dup-share", type=float, default=0.05, help="share of rows planted as duplicates")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", default=None, help="where the vector files go (default: a temp dir)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--method", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.method, args.out)))
        return
    both = [int(s) for s in args.sizes.split(",") if s]
    ann_only = [int(s) for s in args.ann_only.split(",") if s]
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        workdir = Path(tmp)
        rows = []
        for n in sorted({*both, *ann_only}):
            path = workdir / f"vectors_{n}.npy"
            planted = write_vectors(path, n, args.seed, args.dup_share, topics=max(10, n // 500))
            np.save(workdir / f"vectors_{n}.planted.npy", planted)
            cases = {m: run_case(path, m, workdir) for m in (["exact", "ann"] if n in both else ["ann"])}
            path.unlink()
            rows.append((n, len(planted), cases, planted))
        report(rows)


def report(rows) -> None:
    load = os.getloadavg()
    print(f"# dedup_scale  (load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"{os.cpu_count()} cpus)")  # fmt: skip
    head = "| N | method | search s | collapse s | total s | peak RSS MB | dropped | pairs >= thr | recall vs exact | planted recall |"
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    for n, _n_planted, cases, planted in rows:
        exact = cases.get("exact")
        for method, r in cases.items():
            vs = f"{pair_recall(r['pairs'], exact['pairs']):.4f}" if exact else "-"
            print(f"| {n:,} | {method} | {r['search_s']:.1f} | {r['collapse_s']:.1f} | {r['wall_s']:.1f} | "
                  f"{r['peak_rss_mb']:.0f} | {r['drops']:,} | {len(r['pairs']):,} | {vs} | "
                  f"{planted_recall(r, planted):.4f} |")  # fmt: skip
    print()
    for n, _, cases, _ in rows:
        if "exact" in cases:
            e, a = cases["exact"], cases["ann"]
            print(f"N={n:,}: ann/exact wall {a['wall_s'] / e['wall_s']:.3f} (speed-up {e['wall_s'] / a['wall_s']:.1f}x), "
                  f"peak RSS {a['peak_rss_mb'] / e['peak_rss_mb']:.3f}, pair recall {pair_recall(a['pairs'], e['pairs']):.4f}")  # fmt: skip
        else:
            a = cases["ann"]
            ok = a["wall_s"] <= 600 and a["peak_rss_mb"] <= 4096
            print(f"N={n:,}: ann {a['wall_s']:.0f} s, {a['peak_rss_mb']:.0f} MB peak RSS "
                  f"({'PASS' if ok else 'FAIL'} vs <= 600 s, <= 4096 MB)")  # fmt: skip


if __name__ == "__main__":
    main()
