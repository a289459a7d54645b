"""Stack Exchange ingest memory: the old in-memory reader vs the streaming one (issue 22, item 5).

Generates a synthetic `Posts.xml` of about `--size` MB in the official dump format, with post
lengths like the shared real samples (bodies: HTML paragraphs, inline math and code, lognormal
lengths with a median near 1 kB; ~1.5 answers per question) and the shapes a real dump has:
answers before their question, answers whose question was deleted, tag-wiki rows, accepted ids
that point at a deleted answer, anonymous and deleted owners, a few empty questions. Then runs
`ingest_source` with the old implementation (`benchmarks/legacy_se_ingest.py`, main at 9df5423)
and the new one, each in its own worker process, and prints wall time and peak RSS (the
`ru_maxrss` of each child, read with `os.wait4` so one case's peak does not mask another's, as
`RUSAGE_CHILDREN` would) side by side, with a worker that only imports the modules as the floor,
and whether both wrote the same table and stats. Target: peak RSS <= 1 GB for a 5 GB Posts.xml.

    .venv/bin/python benchmarks/se_ingest_memory.py [--size 200] [--seed 0] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import quoteattr

BENCHMARKS = Path(__file__).resolve().parent
WORDS = [
    "let",
    "be",
    "a",
    "group",
    "ring",
    "module",
    "functor",
    "category",
    "space",
    "map",
    "prove",
    "show",
    "that",
    "the",
    "if",
    "and",
    "only",
    "every",
    "finite",
    "compact",
    "continuous",
    "limit",
    "colimit",
    "adjoint",
    "natural",
    "transformation",
    "integral",
    "sum",
    "sequence",
    "converges",
    "bounded",
    "measure",
    "operator",
    "Hilbert",
    "Banach",
    "topology",
    "manifold",
    "tensor",
    "field",
    "vector",
    "basis",
]
MATH = ["$x^2+y^2=z^2$", r"$\int_0^1 f(x)\,dx$", r"$\mathcal{C}\to\mathcal{D}$", r"$\sum_{n\ge1} 1/n^2$"]


def _paragraph(rng: random.Random, n_chars: int) -> str:
    words: list[str] = []
    size = 0
    while size < n_chars:
        word = rng.choice(MATH) if rng.random() < 0.08 else rng.choice(WORDS)
        if rng.random() < 0.02:
            word = f"<code>{word}</code>"
        words.append(word)
        size += len(word) + 1
    return "<p>" + " ".join(words) + "</p>\n"


def _body(rng: random.Random) -> str:
    """HTML of lognormal length (median ~1 kB, mean ~1.4 kB like the shared samples)."""
    total = int(min(30_000, rng.lognormvariate(6.9, 0.8)))
    paragraphs = max(1, total // 400)
    return "".join(_paragraph(rng, total // paragraphs) for _ in range(paragraphs))


def _row(**attrs: object) -> str:
    return (
        "  <row " + " ".join(f"{k}={quoteattr(str(v))}" for k, v in attrs.items() if v is not None) + " />\n"
    )


def _owner(rng: random.Random) -> dict:
    roll = rng.random()
    if roll < 0.05:
        return {"OwnerDisplayName": f"user{rng.randrange(10**6)}"}  # deleted account: name only
    if roll < 0.07:
        return {}  # anonymous
    return {"OwnerUserId": rng.randrange(1, 10**7)}


def _date(rng: random.Random) -> str:
    return f"{rng.randrange(2009, 2025)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T12:00:00.000"


def _thread_rows(rng: random.Random, qid: int, next_id: int) -> tuple[list[str], int]:
    """A question, its answers and sometimes a stray row; returns the rows and the next free Id."""
    n_answers = min(12, int(rng.expovariate(1 / 1.5)))
    answer_ids = list(range(next_id, next_id + n_answers))
    accepted = rng.choice(answer_ids) if answer_ids and rng.random() < 0.5 else None
    if rng.random() < 0.01:
        accepted = next_id + n_answers + 7  # the accepted answer was deleted
    empty = rng.random() < 0.002  # nothing left after HTML clean-up: dropped as empty_post
    body, title = ("", "") if empty else (_body(rng), " ".join(rng.choices(WORDS, k=rng.randrange(4, 14))))
    common = {"Score": rng.randrange(-3, 60), "ViewCount": rng.randrange(10, 10**5), "CommentCount": 2}
    rows = [
        _row(Id=qid, PostTypeId=1, AcceptedAnswerId=accepted, CreationDate=_date(rng), **common,
             Body=body, Title=title,
             Tags="<category-theory><soft-question>", AnswerCount=n_answers, **_owner(rng))
    ]  # fmt: skip
    for aid in answer_ids:
        rows.append(_row(Id=aid, PostTypeId=2, ParentId=qid, CreationDate=_date(rng),
                         Score=rng.randrange(-5, 40), Body=_body(rng), **_owner(rng)))  # fmt: skip
    if rng.random() < 0.02:  # an answer whose question was deleted from the dump
        rows.append(
            _row(Id=next_id + n_answers, PostTypeId=2, ParentId=next_id + n_answers + 2, Body=_body(rng))
        )
    if rng.random() < 0.01:  # tag wiki excerpt: not a thread
        rows.append(_row(Id=next_id + n_answers + 1, PostTypeId=4, Body=_body(rng)))
    return rows, next_id + n_answers + 8


def write_synthetic_posts(path: Path, size_bytes: int, seed: int = 0, window: int = 64) -> int:
    """Write a Posts.xml of about `size_bytes`; rows are shuffled within `window` so some answers
    come before their question and question Ids are not in file order. Returns the thread count."""
    rng = random.Random(seed)
    written = 0
    threads = 0
    next_id = 1
    pending: list[str] = []
    with path.open("w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="utf-8"?>\n<posts>\n')
        while written < size_bytes:
            qid = next_id
            rows, next_id = _thread_rows(rng, qid, next_id + 1)
            threads += 1
            pending.extend(rows)
            if len(pending) >= window:
                rng.shuffle(pending)
                chunk = "".join(pending)
                fh.write(chunk)
                written += len(chunk.encode("utf-8"))
                pending.clear()
        fh.write("".join(pending) + "</posts>\n")
    return threads


def _source(posts: Path) -> dict:
    return {"name": "mse", "format": "stackexchange_xml", "path": str(posts), "site": "math.stackexchange.com",
            "license": None, "max_threads": None}  # fmt: skip


LIMITS = {"remove_quotes": False, "max_post_chars": 16000, "max_discussion_chars": 96000}


def _worker(impl: str, posts: Path, out_dir: Path) -> None:
    sys.path.insert(0, str(BENCHMARKS))
    import legacy_se_ingest

    from mathforge.forum import stage

    run = {"old": legacy_se_ingest.ingest_source, "new": stage.run}.get(impl)
    if run is not None:
        run(_source(posts), LIMITS, str(out_dir / "raw.parquet"), str(out_dir / "stats.json"))


def _measure(impl: str, posts: Path, out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, __file__, "--worker", impl, "--posts", str(posts), "--out", str(out_dir)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{impl} worker failed with exit code {proc.returncode}")
    cpu = usage.ru_utime + usage.ru_stime
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": usage.ru_maxrss / 1024}  # ru_maxrss is KiB on Linux


def _table_digest(path: Path) -> tuple[int, str]:
    """Row count and a hash of every row in order, read in batches (the parent stays small too)."""
    import pyarrow.parquet as pq

    digest = hashlib.sha256()
    rows = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=2000):
        for record in batch.to_pylist():
            digest.update(json.dumps(record, sort_keys=True).encode())
            rows += 1
    return rows, digest.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=float, default=200, help="Posts.xml size in MB (default 200)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", type=Path, help="work in this directory and keep it")
    ap.add_argument("--worker", choices=["old", "new", "floor"], help=argparse.SUPPRESS)
    ap.add_argument("--posts", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        _worker(args.worker, args.posts, args.out)
        return
    with tempfile.TemporaryDirectory(prefix="se-ingest-bench-") as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        posts = work / "math.stackexchange.com" / "Posts.xml"
        posts.parent.mkdir(exist_ok=True)
        print(f"generating {args.size:.0f} MB Posts.xml ...", file=sys.stderr)
        threads = write_synthetic_posts(posts, int(args.size * 1e6), args.seed)
        size_mb = posts.stat().st_size / 1e6
        results = {}
        for impl in ("floor", "old", "new"):
            print(f"running {impl} ...", file=sys.stderr)
            results[impl] = _measure(impl, posts, work / impl)
        same_table = _table_digest(work / "old" / "raw.parquet") == _table_digest(
            work / "new" / "raw.parquet"
        )
        old_stats, new_stats = (json.loads((work / i / "stats.json").read_text()) for i in ("old", "new"))
        print(f"Posts.xml {size_mb:.1f} MB, {threads} questions; rows written: {new_stats['n_out']}")
        floor = results["floor"]["peak_rss_mb"]
        print(
            f"{'case':<8}{'wall s':>9}{'cpu s':>9}{'peak RSS MB':>13}{'above floor MB':>16}{'per GB xml':>12}"
        )
        for impl, r in results.items():
            above = r["peak_rss_mb"] - floor
            per_gb = above / (size_mb / 1000)
            print(
                f"{impl:<8}{r['wall_s']:>9.1f}{r['cpu_s']:>9.1f}{r['peak_rss_mb']:>13.0f}{above:>16.0f}{per_gb:>12.0f}"
            )
        old, new = results["old"], results["new"]
        print(
            f"new/old: wall {new['wall_s'] / old['wall_s']:.2f}x, peak RSS {new['peak_rss_mb'] / old['peak_rss_mb']:.2f}x"
        )
        print(f"same table: {same_table}; same stats: {old_stats == new_stats}")


if __name__ == "__main__":
    main()
