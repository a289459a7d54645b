"""Incremental rebuilds and DAG planning, measured with real Snakemake in one run.

(1) Requests after adding new threads: a finished run on --threads synthetic forum threads (each
    its own problem: "Compute k+k"), then --new-percent more threads are appended and the
    workflow rerun. Requests the rerun sent / requests a full rerun from scratch sends (the
    first run's count), target <= 1.5% at 1% new threads. Counted at the scripted stub server.
(2) `snakemake -n` wall time on synthetic configs of --shards shards per stage (sources, solutions
    and formal shards alike), from nothing planned to every job planned, and how it grows;
    target < 10 s at 1,000 shards.
(3) A no-op invocation on the finished run of (1): `snakemake -n` when everything is done.

    .venv/bin/python benchmarks/incremental.py [--threads 200] [--new-percent 1] [--shards 10,100,1000]
"""

from __future__ import annotations

import argparse
import json
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


def snakemake(workdir: Path, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory",
           str(workdir), "--configfile", str(workdir / "config.yaml"), "--cores", "2", *args]  # fmt: skip
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


def config(base_url: str, shards: int, solution_shards: int) -> dict:
    return {
        "dataset": "bench",
        "sources": [{"name": "forum", "format": "aops_jsonl", "path": "data/forum.jsonl", "shards": shards}],
        "inference": {"backend": "openai", "model": "stub", "max_concurrent_requests": 64,
                      "openai": {"base_urls": [base_url], "api_key_env": None}},
        "solutions": {"n_shards": solution_shards, "n_tir": 0, "n_plain": 2, "efforts": ["low"]},
        "formal": {"n_shards": solution_shards},
        "lean": {"command": [sys.executable, "-m", "mathforge.lean.elpi_lean"]},
    }  # fmt: skip


def requests_sent(base_url: str) -> int:
    with urllib.request.urlopen(base_url + "/stats", timeout=10) as resp:
        return json.load(resp)["requests"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=200)
    parser.add_argument("--new-percent", type=float, default=1.0)
    parser.add_argument("--shards", default="10,100,1000")
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
            for shards in [int(s) for s in args.shards.split(",")]:
                plan = tmp / f"plan-{shards}"
                (plan / "data").mkdir(parents=True)
                (plan / "data" / "forum.jsonl").write_text(threads(0, 10))
                (plan / "config.yaml").write_text(yaml.safe_dump(config(base_url, shards, shards)))
                seconds, proc = snakemake(plan, "-n")
                jobs = sum(int(line.split()[-1]) for line in (proc.stdout + proc.stderr).split("Job stats:")[1]
                           .split("Reasons:")[0].splitlines()[3:] if line.split() and line.split()[0] == "total")  # fmt: skip
                rows.append((shards, jobs, seconds))
                print(f"(2) {shards} shards planned", file=sys.stderr)
        finally:
            stub.terminate()
            stub.wait()
    print("\n(1) incremental requests")
    print(
        f"{'full run':>10} {'new threads':>12} {'rerun':>8} {'rerun/full':>11} {'full s':>8} {'rerun s':>8}"
    )
    print(f"{full:>10} {new:>12} {incremental:>8} {100 * incremental / full:>10.2f}% {full_s:>8.1f} {inc_s:>8.1f}"
          f"   target <= 1.5%: {'PASS' if incremental / full <= 0.015 else 'FAIL'}")  # fmt: skip
    print(f"\n(3) no-op `snakemake -n` on the finished run: {noop_s:.2f} s")
    print("\n(2) `snakemake -n` with every job planned")
    print(f"{'shards':>7} {'jobs':>7} {'seconds':>8} {'ms/job':>7}")
    for shards, jobs, seconds in rows:
        print(f"{shards:>7} {jobs:>7} {seconds:>8.2f} {1000 * seconds / max(jobs, 1):>7.2f}")
    last = rows[-1]
    print(
        f"{rows[-1][0]} vs {rows[0][0]} shards: {last[2] / rows[0][2]:.1f}x the time for "
        f"{last[1] / rows[0][1]:.1f}x the jobs; target < 10 s at {last[0]}: {'PASS' if last[2] < 10 else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
