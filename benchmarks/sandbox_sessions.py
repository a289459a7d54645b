"""What a sandbox session costs, this tree next to a baseline tree in one run (issue 22, item 2).

1. CPU per session: open a session, run one trivial cell, close it; the CPU of the pool process and
   of every process under it (zygote, sessions), per session. Target <= 2 ms.
2. Over HTTP (`python -m mathforge.sandbox.server` of each tree), 16 concurrent clients, each in a
   loop: open a session, run three stateful cells, close it (what a TIR solution does); the latency
   of every request, p50 and p99. Target p99 < 10 ms. Also the cells alone in sessions kept open.

The trees alternate round by round, so load drifts on a shared host hit both alike; medians over
the rounds are printed with the ratios. Kernel work done outside the processes (a network
namespace is torn down by a kernel worker) is in neither column.

    .venv/bin/python benchmarks/sandbox_sessions.py                       # baseline: merge-base with main
    .venv/bin/python benchmarks/sandbox_sessions.py --baseline-rev f204118   # or any revision
    .venv/bin/python benchmarks/sandbox_sessions.py --baseline /tmp/old/workflow [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp

from mathforge.inference.processes import free_port
from mathforge.sandbox.pool import SandboxPool

REPO = Path(__file__).resolve().parents[1]
CELLS = ["x = 1", "x += 1", "print(x)"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def tree_cpu_seconds() -> float:
    """CPU of this process, of its children it reaped, and of its live children with theirs."""
    ticks = os.sysconf("SC_CLK_TCK")
    own = sum(
        r.ru_utime + r.ru_stime
        for r in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )
    live = 0.0
    for task in os.listdir("/proc/self/task"):
        for pid in Path(f"/proc/self/task/{task}/children").read_text().split():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            live += sum(map(int, fields[11:15])) / ticks  # utime stime cutime cstime
    return own + live


async def session_cpu(n: int) -> dict:
    async with SandboxPool(max_sessions=4, prestart=0) as pool:
        for _ in range(3):  # warm: the pool's first session (and a zygote's start) is not the cost
            sid = await pool.open_session()
            await pool.execute(sid, "1")
            await pool.close_session(sid)
        cpu0, t0 = tree_cpu_seconds(), time.perf_counter()
        for _ in range(n):
            sid = await pool.open_session()
            result = await pool.execute(sid, "1")
            assert result.output == "1\n", result
            await pool.close_session(sid)
        cpu, wall = tree_cpu_seconds() - cpu0, time.perf_counter() - t0
        sid = await pool.open_session()
        isolation = pool.isolation(sid)
    return {"cpu_ms": cpu / n * 1e3, "wall_ms": wall / n * 1e3, "isolation": isolation}


async def http_clients(url: str, clients: int, seconds: float, churn: bool) -> dict:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def timed(http, method: str, path: str, body: dict | None = None) -> dict:
        t0 = time.perf_counter()
        async with http.request(method, url + path, json=body) as resp:
            data = await resp.json()
            assert resp.status == 200, data
        latencies.append(time.perf_counter() - t0)
        return data

    async def client(http) -> None:
        sid = None
        while time.perf_counter() < deadline:
            if sid is None:
                sid = (await timed(http, "POST", "/sessions"))["session_id"]
            for code in CELLS:
                await timed(http, "POST", f"/sessions/{sid}/execute", {"code": code})
            if churn:
                await timed(http, "DELETE", f"/sessions/{sid}")
                sid = None

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    return {"p50_ms": percentile(latencies, 0.5) * 1e3, "p99_ms": percentile(latencies, 0.99) * 1e3,
            "rps": len(latencies) / seconds}  # fmt: skip


def http_round(tree: str, clients: int, seconds: float, churn: bool) -> dict:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mathforge.sandbox.server", "--port", str(port),
         "--max-sessions", str(2 * clients), "--prestart", "8"],
        env={**os.environ, "PYTHONPATH": tree}, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url + "/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(1)  # the pre-started sessions are up
        return asyncio.run(http_clients(url, clients, seconds, churn))
    finally:
        server.terminate()
        server.wait(30)


def in_tree(tree: str, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        env={**os.environ, "PYTHONPATH": tree}, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return json.loads(out.splitlines()[-1])


def baseline_tree(args: argparse.Namespace, keep: tempfile.TemporaryDirectory) -> str:
    if args.baseline:
        return args.baseline
    git = ["git", "-C", str(REPO)]
    rev = (
        args.baseline_rev
        or subprocess.run(
            [*git, "merge-base", "HEAD", "main"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    archive = subprocess.run([*git, "archive", rev, "workflow"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", keep.name], input=archive, check=True)
    return str(Path(keep.name) / "workflow")


def medians(runs: list[dict], keys: tuple[str, ...]) -> dict:
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def row(name: str, unit: str, new: float, old: float, target: str) -> None:
    print(f"{name:<44} | {new:>9.2f} {unit:<3} | {old:>9.2f} {unit:<3} | {old / new:>6.1f}x | {target}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", help="`workflow` directory of the tree to compare with")
    parser.add_argument(
        "--baseline-rev", help="else: this git revision of this clone (default: where HEAD left main)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=200, help="sessions per CPU round")
    parser.add_argument("--seconds", type=float, default=5.0, help="per HTTP round")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--cpu-only", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--http-only", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cpu_only:
        print(json.dumps(asyncio.run(session_cpu(args.cpu_only))))
        return 0
    if args.http_only:
        tree, seconds, churn = args.http_only
        print(json.dumps(http_round(tree, args.clients, float(seconds), churn == "churn")))
        return 0
    keep = tempfile.TemporaryDirectory(prefix="sandbox-baseline-")
    here, old = str(REPO / "workflow"), baseline_tree(args, keep)
    trees = {here: [], old: []}
    http = {(t, c): [] for t in trees for c in ("churn", "open")}
    for _ in range(args.rounds):
        for tree in trees:
            trees[tree].append(in_tree(tree, "--cpu-only", str(args.sessions)))
            for churn in ("churn", "open"):
                http[tree, churn].append(in_tree(tree, "--http-only", tree, str(args.seconds), churn))
    print(f"sandbox_sessions: this tree {here} vs baseline {old}; {args.rounds} alternating rounds; "
          f"{os.cpu_count()} cores; load {os.getloadavg()[0]:.1f}; root={os.geteuid() == 0}")  # fmt: skip
    print(
        f"isolation: this {', '.join(trees[here][0]['isolation'])}; baseline {', '.join(trees[old][0]['isolation'])}\n"
    )
    print(f"{'':<44} | {'this':>13} | {'baseline':>13} | {'ratio':>7} | target")
    new, base = (medians(trees[t], ("cpu_ms", "wall_ms")) for t in (here, old))
    row("CPU per session (open, 1 cell, close)", "ms", new["cpu_ms"], base["cpu_ms"], "<= 2 ms")
    row("wall per session, one at a time", "ms", new["wall_ms"], base["wall_ms"], "")
    for churn, label in (("churn", "open + 3 cells + close"), ("open", "cells in open sessions")):
        new, base = (medians(http[t, churn], ("p50_ms", "p99_ms", "rps")) for t in (here, old))
        row(f"HTTP {args.clients} clients, {label}: p99", "ms", new["p99_ms"], base["p99_ms"], "< 10 ms")
        row(f"HTTP {args.clients} clients, {label}: p50", "ms", new["p50_ms"], base["p50_ms"], "")
        print(f"{f'HTTP {args.clients} clients, {label}: requests/s':<44} | {new['rps']:>13,.0f} | "
              f"{base['rps']:>13,.0f} | {new['rps'] / base['rps']:>6.1f}x |")  # fmt: skip
    print("\n(medians over the rounds; ratio = baseline / this for times, this / baseline for requests/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
