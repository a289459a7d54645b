"""Incremental rebuilds and DAG planning, measured with real Snakemake in one run.

(1) Requests after adding new threads: a finished run on --threads synthetic forum threads (each
    its own problem: "Compute k+k"), then --new-percent more threads are appended and the
    workflow rerun. Requests the rerun sent / requests a full rerun from scratch sends (the
    first run's count), target <= 1.5% at 1% new threads. Counted at the scripted stub server.
(2) `snakemake -n` wall time on synthetic configs of --shards shards per stage (sources, solutions
    and formal shards alike), from nothing planned to every job planned, and how it grows;
    target < 10 s at 1,000 shards. Each is timed as users run it (`-n`, which prints every job)
    and quiet (`-n -q`), next to Snakemake's own floor: a chain of three one-line `script:` rules
    planned for the same number of jobs, so the ratio is what mathforge's rules add per job. One
    more config has --solutions-at-scale S:F: S solutions shards, F forum and formal shards (the
    scale where generation, 16 solutions per problem, is what is split finest).
(3) A no-op invocation on the finished run of (1): `snakemake -n` when everything is done; and on
    the last config of (2) with every output it planned created (no Snakemake metadata).

    .venv/bin/python benchmarks/incremental.py [--threads 200] [--new-percent 1] [--shards 10,100,1000]
        [--solutions-at-scale 1000:64]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SCRIPT = {
    "rules": [
        {"contains": "Forum post:\n", "reply": "Problem 1: {echo}"},
        {"contains": "Problem: Compute", "reply": "\\boxed{2}"},
    ],
    "default_reply": "no",
}


def snakemake(
    workdir: Path, *args: str, snakefile: Path = REPO / "Snakefile"
) -> tuple[float, subprocess.CompletedProcess]:
    """Snakemake on `snakefile` in `workdir` (its config.yaml, if it has one), timed; failures end the run."""
    configfile = workdir / "config.yaml"
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile), "--directory", str(workdir),
           *(["--configfile", str(configfile)] if configfile.exists() else []), "--cores", "2", *args]  # fmt: skip
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"snakemake failed:\n{proc.stderr[-4000:]}")
    return time.monotonic() - started, proc


def threads(start: int, stop: int) -> str:
    return "".join(
        json.dumps(
            {
                "thread_id": f"t{k}",
                "forum_post": f"Compute {k}+{k}.",
                "forum_discussions": f"Post 1:\n{2 * k}",
            }
        )
        + "\n"
        for k in range(start, stop)
    )


def config(base_url: str, shards: int, solution_shards: int, formal_shards: int | None = None) -> dict:
    return {
        "dataset": "bench",
        "sources": [{"name": "forum", "format": "aops_jsonl", "path": "data/forum.jsonl", "shards": shards}],
        "inference": {"backend": "openai", "model": "stub", "max_concurrent_requests": 64,
                      "openai": {"base_urls": [base_url], "api_key_env": None}},
        "solutions": {"n_shards": solution_shards, "n_tir": 0, "n_plain": 2, "efforts": ["low"]},
        "formal": {"n_shards": formal_shards or solution_shards},
        "lean": {"command": [sys.executable, "-m", "mathforge.lean.elpi_lean"]},
    }  # fmt: skip


FLOOR_SNAKEFILE = """
N = int(config["jobs"]) // 3
rule all:
    input: expand("c/{i}.txt", i=range(N))
rule a:
    output: "a/{i}.txt"
    script: "noop.py"
rule b:
    input: "a/{i}.txt"
    output: "b/{i}.txt"
    script: "noop.py"
rule c:
    input: "b/{i}.txt"
    output: "c/{i}.txt"
    script: "noop.py"
"""


def floor_seconds(workdir: Path, jobs: int) -> float:
    """`snakemake -n -q` on a bare chain of `script:` rules with `jobs` jobs (Snakemake's own cost)."""
    workdir.mkdir(parents=True)
    (workdir / "Snakefile").write_text(FLOOR_SNAKEFILE)
    (workdir / "noop.py").write_text("pass\n")
    seconds, _ = snakemake(workdir, "-n", "-q", "--config", f"jobs={jobs}", snakefile=workdir / "Snakefile")
    return seconds


def noop_at_scale(plan: Path, dry_run_output: str) -> tuple[float, int]:
    """`snakemake -n -q` once every planned output exists: the outputs listed by the dry run are
    created in the order it listed them (inputs older than outputs), without Snakemake's metadata,
    so this is the mtime and DAG cost of a finished large run, not its metadata reads."""
    outputs = [
        name.strip()
        for line in dry_run_output.splitlines()
        if line.startswith("    output: ")
        for name in line.removeprefix("    output: ").split(",")
    ]
    old = time.time() - 100_000
    for path in (plan / "data").iterdir():
        os.utime(path, (old, old))
    start = time.time() - 10
    for k, name in enumerate(outputs):
        path = plan / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        os.utime(path, (start + k * 1e-3, start + k * 1e-3))
    seconds, proc = snakemake(plan, "-n", "-q")
    if "Nothing to be done" not in proc.stdout + proc.stderr:
        raise SystemExit(f"no-op at scale planned jobs:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return seconds, len(outputs)


def requests_sent(base_url: str) -> int:
    with urllib.request.urlopen(base_url + "/stats", timeout=10) as resp:
        return json.load(resp)["requests"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=200)
    parser.add_argument("--new-percent", type=float, default=1.0)
    parser.add_argument("--shards", default="10,100,1000", help="shards per stage, every stage alike")
    parser.add_argument(
        "--solutions-at-scale",
        default="1000:64",
        help="one more config, S:F = S solutions shards with F forum and F formal shards (config.yaml has 64)",
    )
    args = parser.parse_args()
    from mathforge.inference.processes import free_port

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        port = free_port()
        (tmp / "stub.json").write_text(json.dumps(SCRIPT))
        stub = subprocess.Popen([sys.executable, "-m", "mathforge.inference.stub_server", "--port", str(port),
                                 "--script", str(tmp / "stub.json")])  # fmt: skip
        base_url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    requests_sent(base_url)
                    break
                except OSError:
                    time.sleep(0.1)
            run = tmp / "run"
            (run / "data").mkdir(parents=True)
            (run / "data" / "forum.jsonl").write_text(threads(0, args.threads))
            (run / "config.yaml").write_text(yaml.safe_dump(config(base_url, 8, 8)))
            full_s, _ = snakemake(run)
            full = requests_sent(base_url)
            new = max(1, round(args.threads * args.new_percent / 100))
            with (run / "data" / "forum.jsonl").open("a") as fh:
                fh.write(threads(args.threads, args.threads + new))
            inc_s, _ = snakemake(run)
            incremental = requests_sent(base_url) - full
            noop_s, noop = snakemake(run, "-n")
            assert "Nothing to be done" in noop.stdout + noop.stderr
            print(
                f"\n(1) {args.threads} threads, then {new} new ({100 * new / args.threads:.1f}%)",
                file=sys.stderr,
            )
            rows = []
            plans = [(f"all {n}", n, n, n) for n in (int(x) for x in args.shards.split(","))]
            if args.solutions_at_scale:
                sol, other = (int(x) for x in args.solutions_at_scale.split(":"))
                plans.append((f"sol {sol}, forum/formal {other}", other, sol, other))
            for k, (label, forum_shards, solution_shards, formal_shards) in enumerate(plans):
                plan = tmp / f"plan-{k}"
                (plan / "data").mkdir(parents=True)
                (plan / "data" / "forum.jsonl").write_text(threads(0, 10))
                cfg = config(base_url, forum_shards, solution_shards, formal_shards)
                (plan / "config.yaml").write_text(yaml.safe_dump(cfg))
                seconds, proc = snakemake(plan, "-n")
                jobs = sum(int(line.split()[-1]) for line in (proc.stdout + proc.stderr).split("Job stats:")[1]
                           .split("Reasons:")[0].splitlines()[3:] if line.split() and line.split()[0] == "total")  # fmt: skip
                quiet_s, _ = snakemake(plan, "-n", "-q")
                rows.append((label, jobs, seconds, quiet_s, floor_seconds(tmp / f"floor-{k}", jobs)))
                print(f"(2) {label} planned", file=sys.stderr)
            noop_big = noop_at_scale(plan, proc.stdout + proc.stderr)
        finally:
            stub.terminate()
            stub.wait()
    print("\n(1) incremental requests")
    print(
        f"{'full run':>10} {'new threads':>12} {'rerun':>8} {'rerun/full':>11} {'full s':>8} {'rerun s':>8}"
    )
    print(f"{full:>10} {new:>12} {incremental:>8} {100 * incremental / full:>10.2f}% {full_s:>8.1f} {inc_s:>8.1f}"
          f"   target <= 1.5%: {'PASS' if incremental / full <= 0.015 else 'FAIL'}")  # fmt: skip
    print(f"\n(3) no-op `snakemake -n` on the finished run: {noop_s:.2f} s; with every output of the last config"
          f" of (2) present ({rows[-1][1]} jobs, {noop_big[1]} files, no metadata): {noop_big[0]:.2f} s")  # fmt: skip
    print(
        "\n(2) `snakemake -n` with every job planned (seconds; floor = bare `script:` chain, same jobs, -q)"
    )
    print(
        f"{'shards':>28} {'jobs':>6} {'-n':>6} {'-n -q':>6} {'floor':>6} {'-q/floor':>9} {'ms/job -q':>10} target"
    )
    for label, jobs, seconds, quiet_s, floor_s in rows:
        verdict = f"-n {'PASS' if seconds < 10 else 'FAIL'}, -n -q {'PASS' if quiet_s < 10 else 'FAIL'}"
        print(f"{label:>28} {jobs:>6} {seconds:>6.2f} {quiet_s:>6.2f} {floor_s:>6.2f} {quiet_s / floor_s:>8.2f}x"
              f" {1000 * quiet_s / max(jobs, 1):>10.2f} {verdict}")  # fmt: skip
    alike = [r for r in rows if r[0].startswith("all ")]
    first, last = alike[0], alike[-1]
    print(
        f"{last[0]} vs {first[0]} shards per stage: {last[2] / first[2]:.1f}x the time for "
        f"{last[1] / first[1]:.1f}x the jobs (target: < 10 s at 1,000 shards)"
    )


if __name__ == "__main__":
    main()
