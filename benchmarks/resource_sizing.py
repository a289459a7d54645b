"""Peak RSS per MB of input of a table job, against the config's sizing factor (issue 22, item 5).

`merge_problems` (reads every problems shard, writes the merged tables) runs on the demo's answers
and proofs shards with their rows repeated `--scales` times, each repeat with fresh ids and texts of
forum length (posts ~367 characters, discussions ~1,145, like the shared AoPS sample) drawn from the
demo's own words, so Parquet cannot compress the repeats away. Each size runs in its own worker and
its peak RSS is that worker's `ru_maxrss` (`os.wait4`); the inputs are written by another worker, so
the parent stays small (a child's peak counts the pages of the process it was forked from). It
prints input MB, peak RSS and CPU per size, the least-squares MB of RSS per input MB and the
intercept, and the `cpu` family's `mem_mb_per_input_mb` and `mem_mb` from the schema's defaults.

    make demo   # once: the template shards under results/demo/problems
    .venv/bin/python benchmarks/resource_sizing.py [--template results/demo/problems] [--scales 500,2000,6000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHARS = {"problem": 367, "forum_post": 367, "forum_discussions": 1145, "original_problem": 367}
IDS = ("problem_id", "thread_id", "thread_uid", "post_id")

WRITE = f"""
import random, sys, pandas as pd
template, out, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
chars, ids = {CHARS!r}, {IDS!r}
df = pd.read_parquet(template)
rng = random.Random(0)
vocab = " ".join(str(v) for c in ("problem", "forum_post", "forum_discussions") for v in df[c]).split()
def text(col, value):
    if not isinstance(value, str):
        return value
    words, n = [], 0
    while n < chars[col]:
        words.append(rng.choice(vocab))
        n += len(words[-1]) + 1
    return " ".join(words)
parts = []
for i in range(k):
    part = df.copy()
    for col in ids:
        if col in part:
            part[col] = part[col].astype(str) + f"-r{{i}}"
    for col in chars:
        if col in part:
            part[col] = part[col].map(lambda v, col=col: text(col, v))
    parts.append(part)
pd.concat(parts, ignore_index=True).to_parquet(out)
"""

MERGE = """
import json, sys
from mathforge.problems.merge import merge_problems
answers, proofs, out = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
merge_problems(answers, proofs, [], out_problems=f"{out}/p.parquet", out_proofs=f"{out}/pp.parquet",
               out_dropped=f"{out}/d.parquet", out_summary=f"{out}/s.json")
"""


def worker(code: str, *args: str) -> tuple[float, float]:
    """(peak RSS MB, CPU s) of a fresh Python running `code`."""
    proc = subprocess.Popen([sys.executable, "-c", code, *args])
    _, status, usage = os.wait4(proc.pid, 0)
    if status:
        raise SystemExit(f"worker failed with status {status}")
    return usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def inputs(template: Path, out: Path, k: int) -> tuple[list[str], list[str]]:
    """The answers and proofs shards of `template`, each repeated `k` times, under `out`."""
    answers = sorted(template.glob("*/answers/shard-*[0-9].parquet"))
    proofs = sorted(template.glob("*/classified/shard-*.proofs.parquet"))
    written: dict[str, list[str]] = {"answers": [], "proofs": []}
    for kind, files in (("answers", answers), ("proofs", proofs)):
        for src in files:
            dst = out / f"{kind}-{src.parent.parent.name}-{src.name}"
            worker(WRITE, str(src), str(dst), str(k))
            written[kind].append(str(dst))
    return written["answers"], written["proofs"]


def cpu_defaults() -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "workflow"))
    from mathforge.config import validate_config

    return validate_config({})["resources"]["cpu"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--template", type=Path, default=Path("results/demo/problems"))
    ap.add_argument("--scales", default="500,2000,6000")
    args = ap.parse_args()
    floor, _ = worker("import pandas, pyarrow, mathforge.problems.merge")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in (int(s) for s in args.scales.split(",")):
            out = Path(tmp) / f"x{k}"
            out.mkdir()
            answers, proofs = inputs(args.template, out, k)
            size = sum(os.path.getsize(f) for f in answers + proofs) / 2**20
            rss, cpu = worker(MERGE, json.dumps(answers), json.dumps(proofs), str(out))
            rows.append((size, rss, cpu))
            print(f"k={k:>6}  input {size:7.1f} MB  peak RSS {rss:7.0f} MB  CPU {cpu:6.1f} s", flush=True)
    n = len(rows)
    mx, my = sum(r[0] for r in rows) / n, sum(r[1] for r in rows) / n
    slope = sum((x - mx) * (y - my) for x, y, _ in rows) / sum((x - mx) ** 2 for x, _, _ in rows)
    cpu_s = sum(r[2] for r in rows) / sum(r[0] for r in rows)
    family = cpu_defaults()
    print(f"import-only worker: {floor:.0f} MB")
    print(
        f"fit: {slope:.1f} MB of RSS per input MB + {my - slope * mx:.0f} MB; {cpu_s:.2f} s of CPU per input MB"
    )
    print(
        f"config cpu family: mem_mb {family['mem_mb']} + {family['mem_mb_per_input_mb']} per input MB, "
        f"runtime {family['runtime']} min + {family['runtime_per_input_mb']} min per input MB: "
        f"{'covers' if family['mem_mb_per_input_mb'] >= slope else 'BELOW'} the measured slope"
    )


if __name__ == "__main__":
    main()
