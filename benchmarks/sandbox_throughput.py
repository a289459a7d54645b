"""Sandbox executions/s and latency for trivial cells in stateful sessions at 1, 4 and 16 concurrent
sessions, side by side in one run with a fresh `python -c` per cell (what a stateless sandbox pays).
Target: >= 2,000 stateful executions/s at 4-16 sessions on 2 cores, p99 < 10 ms.

With `--baseline DIR` (the `workflow` directory of another checkout, e.g. a `git worktree` of the
previous commit) the stateful pools of both trees run in alternating rounds in one run, and the
ratio this tree / baseline is printed per level (the reply checks must cost no more than 10 %).

    .venv/bin/python benchmarks/sandbox_throughput.py [--seconds 5] [--levels 1,4,16]
    .venv/bin/python benchmarks/sandbox_throughput.py --baseline /tmp/sb-old/workflow [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import mathforge
from mathforge.sandbox.pool import SandboxPool


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def cpu_seconds(pids: list[int]) -> float:
    """CPU time of this process and of `pids` so far: a cost the other load on the host barely moves."""
    ticks = os.sysconf("SC_CLK_TCK")
    own = time.process_time()
    return own + sum(sum(map(int, Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[11:13])) / ticks
                     for p in pids)  # fmt: skip


async def stateful(level: int, seconds: float) -> dict:
    async with SandboxPool(max_sessions=level, prestart=level) as pool:
        sids = [await pool.open_session() for _ in range(level)]
        await asyncio.gather(*(pool.execute(s, "x = 0") for s in sids))
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds

        async def drive(sid: str) -> None:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                result = await pool.execute(sid, "x += 1")
                latencies.append(time.perf_counter() - t0)
                assert result.status == "ok", result

        session_pids = [pool._sessions[s].proc.pid for s in sids]
        t0, cpu0 = time.perf_counter(), cpu_seconds(session_pids)
        await asyncio.gather(*(drive(s) for s in sids))
        elapsed, cpu = time.perf_counter() - t0, cpu_seconds(session_pids) - cpu0
        totals = await asyncio.gather(*(pool.execute(s, "x") for s in sids))
        assert sum(int(r.output) for r in totals) == len(latencies)  # every execution really ran, statefully
        isolation = pool.isolation(sids[0])
    return {"rate": len(latencies) / elapsed, "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99),
            "n": len(latencies), "cpu_us": cpu / len(latencies) * 1e6, "isolation": isolation}  # fmt: skip


def python_c(level: int, seconds: float) -> dict:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    t0 = time.perf_counter()
    running: list[tuple[subprocess.Popen, float]] = []
    while time.perf_counter() < deadline or running:
        while len(running) < level and time.perf_counter() < deadline:
            running.append((subprocess.Popen([sys.executable, "-c", "x = 0\nx += 1"]), time.perf_counter()))
        proc, started = running.pop(0)
        proc.wait()
        latencies.append(time.perf_counter() - started)
    elapsed = time.perf_counter() - t0
    return {"rate": len(latencies) / elapsed, "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99),
            "n": len(latencies)}  # fmt: skip


def stateful_in(tree: str, level: int, seconds: float) -> dict:
    """`stateful` with the package of another checkout's `workflow` directory, in a fresh process."""
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--stateful-only", str(level), "--seconds", str(seconds)],
        env={**os.environ, "PYTHONPATH": tree}, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return json.loads(out)


def compare(baseline: str, levels: list[int], seconds: float, rounds: int) -> None:
    """This tree against `baseline`, in alternating rounds so load drifts hit both alike."""
    here = str(Path(mathforge.__file__).resolve().parents[1])
    print(f"sandbox_throughput: this tree {here} vs baseline {baseline}; {rounds} alternating rounds "
          f"of {seconds:g}s per level; {os.cpu_count()} cores; root={os.geteuid() == 0}\n")  # fmt: skip
    header = (f"{'sessions':>8} | {'this exec/s':>11} | {'p99 ms':>6} | {'CPU us/exec':>11} | {'baseline exec/s':>15} | "
              f"{'p99 ms':>6} | {'CPU us/exec':>11} | {'ratio exec/s':>12} | {'ratio CPU':>9}")  # fmt: skip
    print(header)
    print("-" * len(header))
    for level in levels:
        runs: dict[str, list[dict]] = {here: [], baseline: []}
        for _ in range(rounds):
            for tree in runs:
                runs[tree].append(stateful_in(tree, level, seconds))
        new, old = (
            {k: statistics.median(r[k] for r in runs[t]) for k in ("rate", "p99", "cpu_us")} for t in runs
        )
        print(f"{level:>8} | {new['rate']:>11,.0f} | {new['p99'] * 1e3:>6.2f} | {new['cpu_us']:>11.0f} | "
              f"{old['rate']:>15,.0f} | {old['p99'] * 1e3:>6.2f} | {old['cpu_us']:>11.0f} | "
              f"{new['rate'] / old['rate']:>11.2f}x | {old['cpu_us'] / new['cpu_us']:>8.2f}x")  # fmt: skip
    print(
        "\n(medians over the rounds; CPU = pool + session processes per execution, which the host's other"
        "\nload barely moves; a ratio >= 0.90 = no loss beyond 10 %)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--levels", default="1,4,16")
    parser.add_argument("--baseline", help="`workflow` directory of the checkout to compare with")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per level (--baseline)")
    parser.add_argument("--stateful-only", type=int, help=argparse.SUPPRESS)  # one level, JSON out
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    if args.stateful_only:
        print(json.dumps(asyncio.run(stateful(args.stateful_only, args.seconds))))
        return 0
    if args.baseline:
        compare(args.baseline, levels, args.seconds, args.rounds)
        return 0
    print(
        f"sandbox_throughput: trivial cells for {args.seconds:g}s per cell; {os.cpu_count()} cores; root={os.geteuid() == 0}"
    )
    rows = []
    for level in levels:
        s = asyncio.run(stateful(level, args.seconds))
        p = python_c(level, args.seconds)
        rows.append((level, s, p))
    print(f"isolation of a session: {', '.join(rows[0][1]['isolation'])}\n")
    header = (f"{'sessions':>8} | {'stateful exec/s':>15} | {'p50 ms':>6} | {'p99 ms':>6} | {'python -c exec/s':>16} | "
              f"{'p50 ms':>6} | {'p99 ms':>7} | {'ratio':>6}")  # fmt: skip
    print(header)
    print("-" * len(header))
    for level, s, p in rows:
        print(
            f"{level:>8} | {s['rate']:>15,.0f} | {s['p50'] * 1e3:>6.2f} | {s['p99'] * 1e3:>6.2f} | {p['rate']:>16,.0f} | "
            f"{p['p50'] * 1e3:>6.1f} | {p['p99'] * 1e3:>7.1f} | {s['rate'] / p['rate']:>5.0f}x"
        )
    busy = [s for level, s, _ in rows if level >= 4]
    ok = all(s["rate"] >= 2000 and s["p99"] < 0.010 for s in busy)
    print(
        f"\ntarget >= 2,000 stateful executions/s at 4-16 sessions with p99 < 10 ms: {'PASS' if ok else 'FAIL'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
