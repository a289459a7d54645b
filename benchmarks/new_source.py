"""New data as a new input file (issue 22 item 6): jobs and wall of the rerun against a full
rebuild, and whether the two give the same artifacts. Real Snakemake on the scripted stub.

(1) A full run on --threads synthetic forum threads (benchmarks/scale.py's seeded generator and
    config: AoPS JSONL and a Stack Exchange Posts.xml, shard counts growing with N).
(2) --new-percent more threads arrive as a new file, added as a new source at the end of
    `sources` (one shard of each kind), and the workflow is rerun in the same directory.
(3) A rebuild from scratch of the grown config in a fresh directory.
Printed side by side: jobs and wall of (2) and (3), their ratios (targets: <= 10% each), and the
comparison of every Parquet artifact under results/ (rows equal, file by file).

    .venv/bin/python benchmarks/new_source.py [--threads 5000] [--new-percent 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import (
    REPO,
    Forum,
    aops_record,
    planned_jobs,
    print_table,
    rule_costs,
    scale_config,
    start_stub,
    write_forum_data,
)

from mathforge.schemas.measured import decided

NEW_SOURCE = {"name": "aops_new", "format": "aops_jsonl", "path": "data/new.jsonl", "site": "aops.example.org",
              "shards": 1, "solution_shards": 1, "formal_shards": 1}  # fmt: skip


def snakemake(workdir: Path, cores: int) -> tuple[float, int, str]:
    """A Snakemake run of `workdir`'s config with the local profile: (wall s, jobs run, its output)."""
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(workdir / "config.yaml"), "--profile", str(REPO / "profiles" / "local"),
           "--cores", str(cores)]  # fmt: skip
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - started
    log = workdir / f"snakemake-{int(started)}.log"
    log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"snakemake failed (log: {log}):\n{proc.stderr[-4000:]}")
    done = re.findall(r"(\d+) of (\d+) steps \(100%\) done", proc.stdout + proc.stderr)
    return wall, int(done[-1][1]) if done else 0, proc.stdout + proc.stderr


def print_first_run(workdir: Path, threads: int, wall: float, output: str, cpu: float) -> None:
    """The first (full) run's cost per rule, as benchmarks/scale.py prints it, before the rerun
    overwrites the aggregates' benchmark files."""
    costs = rule_costs(workdir / "logs" / "scale" / "benchmarks")
    print(f"\nFirst run, {threads:,} threads, from scratch:")
    print_table(costs, planned_jobs(output), wall, threads)
    print(f"CPU s of every process of the run (getrusage, stub excluded): {cpu:.1f}; largest job: "
          f"{max(c['rss'] for c in costs.values()):.0f} MB peak RSS")  # fmt: skip


def write_new_threads(path: Path, start: int, count: int, seed: int, proof_share: float) -> None:
    """`count` AoPS threads with ids from `start` on (distinct from every old thread)."""
    forum = Forum(seed)
    with path.open("w") as fh:
        for i in range(start, start + count):
            fh.write(json.dumps(aops_record(forum, i, forum.rng.random() < proof_share)) + "\n")


def compare(a: Path, b: Path) -> tuple[int, list[str]]:
    """(Parquet files compared, those that differ or exist on one side only) under results/:
    every row and column equal but the run's measurements (mathforge.schemas.measured)."""

    def files(root: Path) -> set[str]:
        return {str(p.relative_to(root)) for p in root.rglob("*.parquet") if ".requests" not in p.parts}

    left, right = files(a / "results"), files(b / "results")
    differ = sorted(left ^ right)
    for name in sorted(left & right):
        if decided(pq.read_table(a / "results" / name).to_pylist()) != decided(
            pq.read_table(b / "results" / name).to_pylist()
        ):
            differ.append(name)
    return len(left | right), differ


def run(args: argparse.Namespace, root: Path) -> None:
    incremental, rebuild = root / "incremental", root / "rebuild"
    (incremental / "data").mkdir(parents=True)
    counts = write_forum_data(incremental / "data", args.threads, args.seed, args.se_share, args.proof_share)
    stub, base_url = start_stub(root)
    try:
        cfg = scale_config(
            base_url,
            counts,
            args.threads_per_shard,
            (args.n_tir, args.n_plain),
            uid_base=args.sandbox_uid_base,
        )
        (incremental / "config.yaml").write_text(yaml.safe_dump(cfg))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        first_wall, first_jobs, output = snakemake(incremental, args.cores)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        print_first_run(incremental, args.threads, first_wall, output, cpu)
        new = max(1, round(args.threads * args.new_percent / 100))
        write_new_threads(
            incremental / "data" / "new.jsonl", args.threads, new, args.seed + 1, args.proof_share
        )
        cfg["sources"].append(NEW_SOURCE)
        (incremental / "config.yaml").write_text(yaml.safe_dump(cfg))
        inc_wall, inc_jobs, _ = snakemake(incremental, args.cores)
        if args.no_rebuild:
            full_wall, full_jobs = first_wall, first_jobs
        else:
            shutil.copytree(incremental / "data", rebuild / "data")
            shutil.copy(incremental / "config.yaml", rebuild / "config.yaml")
            full_wall, full_jobs, _ = snakemake(rebuild, args.cores)
    finally:
        stub.terminate()
        stub.wait(timeout=10)
    print(f"\n{args.threads:,} threads, then {new:,} new ones ({args.new_percent}%) as a new source; "
          f"--cores {args.cores}; first run: {first_jobs} jobs in {first_wall:.1f} s")  # fmt: skip
    print("\n| run | jobs | wall s |\n|---|---|---|")
    print(f"| rerun with the new source | {inc_jobs} | {inc_wall:.1f} |")
    full = "the first run (no rebuild; 1% fewer threads)" if args.no_rebuild else "rebuild from scratch"
    print(f"| {full} | {full_jobs} | {full_wall:.1f} |")
    print(f"| ratio | {inc_jobs / full_jobs:.3f} | {inc_wall / full_wall:.3f} |")
    if args.no_rebuild:
        print("\nArtifacts: not compared (--no-rebuild)")
        return
    compared, differ = compare(incremental, rebuild)
    print(f"\nArtifacts: {compared} Parquet files compared (timings and sandbox uids left out), "
          f"{len(differ)} differ" + (f": {differ[:10]}" if differ else " (rerun == rebuild, row for row)"))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=5000)
    parser.add_argument("--new-percent", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--se-share", type=float, default=0.3)
    parser.add_argument("--proof-share", type=float, default=0.15)
    parser.add_argument("--threads-per-shard", type=int, default=1000)
    parser.add_argument("--n-tir", type=int, default=2)
    parser.add_argument("--n-plain", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="run in this (new) directory and keep it")
    parser.add_argument(
        "--sandbox-uid-base", type=int, help="sandbox.uid_base (a range no other run on the host uses)"
    )
    parser.add_argument(
        "--no-rebuild", action="store_true",
        help="compare the rerun with the first full run instead of a rebuild (large N: half the time; "
        "the first run has the new source's threads fewer, so the ratios are slightly high)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.keep:
        run(args, args.keep)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(args, Path(tmp))


if __name__ == "__main__":
    main()
