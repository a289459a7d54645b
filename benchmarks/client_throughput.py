"""How many requests/s `OpenAIClient.chat` sustains against a trivial server, next to raw aiohttp and the SDK.

Claim (client.py): the client must never be the bottleneck for a GPU server; target >= 2,000 req/s at
concurrency 512 on 2 cores. A stub OpenAI-compatible server (aiohttp.web, one fixed chat completion
with usage) runs in a separate process on 127.0.0.1, so client and server do not share an event loop.
For each concurrency level, in the same run and against the same stub, the same payloads go through

  mathforge   `OpenAIClient.chat` (max_concurrent = level, no retries needed)
  raw aiohttp one ClientSession: post, read, json.loads -- the floor any aiohttp client pays
  openai SDK  `AsyncOpenAI.chat.completions.create` (httpx pool sized to the level), if importable

each driven like the pipeline drives the client (generation.py): `level` worker tasks sharing one
iterator of requests, on the default asyncio event loop. Connections are opened by an untimed warm-up.
Each cell is the median of --repeats runs (client order rotates between repeats). Besides req/s the
script prints CPU seconds the client process spends per request (its ceiling with a whole core to
itself) and how busy the stub was: with 2 cores the stub owns one, so a stub near 100% CPU means the
stub, not the client, set the pace.

    .venv/bin/python benchmarks/client_throughput.py [--requests 5000] [--levels 1,64,512]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import multiprocessing
import os
import socket
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from mathforge.inference.client import OpenAIClient, SamplingParams

MODEL = "stub-model"
STUB_TEXT = "The answer is \\boxed{42}."
STUB_USAGE = {"prompt_tokens": 57, "completion_tokens": 9, "total_tokens": 66}
MESSAGES = [
    {"role": "system", "content": "You are a careful mathematician. Put the final answer in \\boxed{}."},
    {
        "role": "user",
        "content": "A train travels 180 km in 2 hours and then 120 km in 1.5 hours. "
        "What is its average speed over the whole trip, in km/h?",
    },
]
PARAMS = SamplingParams(temperature=0.7, top_p=0.95, max_tokens=128, seed=0)
CLK_TCK = os.sysconf("SC_CLK_TCK")

Send = Callable[[], Awaitable[int]]  # one request; returns completion_tokens


# --- the stub server (runs in a child process) ---------------------------------------------------------


def _stub_main(conn, parent_pid: int) -> None:
    """Serve one fixed chat completion on 127.0.0.1:<free port>; report the port through `conn`."""
    from aiohttp import web

    with contextlib.suppress(ImportError):  # the stub is not under test: make it as fast as we can
        import uvloop

        uvloop.install()

    body = json.dumps(
        {
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": STUB_TEXT},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": STUB_USAGE,
        }
    ).encode()

    async def chat(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=body, content_type="application/json")

    async def main() -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        app = web.Application()
        app.router.add_post("/v1/chat/completions", chat)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.SockSite(runner, sock, backlog=4096).start()
        conn.send(sock.getsockname()[1])
        conn.close()
        while os.getppid() == parent_pid:  # never outlive the benchmark, even if it is killed
            await asyncio.sleep(0.5)
        await runner.cleanup()

    asyncio.run(main())


@contextlib.contextmanager
def stub_server():
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_stub_main, args=(child, os.getpid()), daemon=True, name="stub-server")
    proc.start()
    child.close()
    try:
        try:
            if not parent.poll(60):
                raise RuntimeError("stub server did not report its port within 60 s")
            port = parent.recv()
        except EOFError:
            proc.join(5)
            raise RuntimeError(f"stub server exited during start-up (exit code {proc.exitcode})") from None
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        proc.join(10)
        if proc.is_alive():
            proc.kill()
            proc.join(5)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (the stub's CPU use)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# --- the three clients ---------------------------------------------------------------------------------


@asynccontextmanager
async def mathforge_client(base_url: str, concurrency: int) -> AsyncIterator[Send]:
    async with OpenAIClient(base_url, MODEL, max_concurrent=concurrency, max_retries=0) as client:

        async def send() -> int:
            result = await client.chat(MESSAGES, PARAMS)
            if result.text != STUB_TEXT:
                raise ValueError(f"unexpected text {result.text!r}")
            return result.completion_tokens or 0

        yield send


@asynccontextmanager
async def raw_aiohttp_client(base_url: str, concurrency: int) -> AsyncIterator[Send]:
    url = base_url + "/v1/chat/completions"
    headers = {"Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def send() -> int:
            body = json.dumps({"model": MODEL, "messages": MESSAGES, **PARAMS.to_payload()}).encode()
            async with session.post(url, data=body, headers=headers) as resp:
                raw = await resp.read()
                if resp.status != 200:
                    raise ValueError(f"HTTP {resp.status}")
            data = json.loads(raw)
            if data["choices"][0]["message"]["content"] != STUB_TEXT:
                raise ValueError("unexpected text")
            return data["usage"]["completion_tokens"]

        yield send


def openai_sdk_available() -> str | None:
    try:
        import openai
    except ImportError:
        return None
    return openai.__version__


@asynccontextmanager
async def openai_sdk_client(base_url: str, concurrency: int) -> AsyncIterator[Send]:
    import httpx
    import openai

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    http_client = openai.DefaultAsyncHttpxClient(limits=limits)
    client = openai.AsyncOpenAI(
        base_url=base_url + "/v1", api_key="unused", max_retries=0, http_client=http_client
    )
    payload = PARAMS.to_payload()
    try:

        async def send() -> int:
            resp = await client.chat.completions.create(model=MODEL, messages=MESSAGES, **payload)
            if resp.choices[0].message.content != STUB_TEXT:
                raise ValueError("unexpected text")
            return resp.usage.completion_tokens

        yield send
    finally:
        await client.close()


# --- driving and measuring -----------------------------------------------------------------------------


@dataclass
class Run:
    done: int
    errors: int
    first_error: str | None
    wall_s: float
    client_cpu_s: float
    stub_cpu_s: float
    capped: bool  # stopped by --max-seconds before all requests were sent

    @property
    def rps(self) -> float:
        return self.done / self.wall_s if self.wall_s > 0 else 0.0


async def drive(send: Send, n_requests: int, concurrency: int, max_seconds: float, stub_pid: int) -> Run:
    """`concurrency` workers share one counter, like generation.py's workers share one iterator."""
    counter = itertools.count()
    done = errors = 0
    first_error: str | None = None
    expected = STUB_USAGE["completion_tokens"]
    deadline = time.monotonic() + max_seconds
    capped = False

    async def worker() -> None:
        nonlocal done, errors, first_error, capped
        while next(counter) < n_requests:
            if time.monotonic() > deadline:
                capped = True
                return
            try:
                tokens = await send()
                if tokens != expected:
                    raise ValueError(f"completion_tokens {tokens} != {expected}")
                done += 1
            except Exception as exc:
                errors += 1
                first_error = first_error or f"{type(exc).__name__}: {exc}"

    stub0, cpu0, t0 = cpu_seconds(stub_pid), time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, cpu, stub = time.perf_counter() - t0, time.process_time() - cpu0, cpu_seconds(stub_pid) - stub0
    return Run(done, errors, first_error, wall, cpu, stub, capped)


async def measure(factory, base_url: str, concurrency: int, args, stub_pid: int) -> Run:
    async with factory(base_url, concurrency) as send:
        warmup = min(args.requests, max(2 * concurrency, 200))
        await drive(send, warmup, concurrency, args.max_seconds, stub_pid)  # opens the connections
        return await drive(send, args.requests, concurrency, args.max_seconds, stub_pid)


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "-"


def fmt_rps(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=5000, help="timed requests per client and level")
    ap.add_argument("--levels", default="1,64,512", help="comma-separated concurrency levels")
    ap.add_argument("--repeats", type=int, default=3, help="runs per cell; the median is reported")
    ap.add_argument("--max-seconds", type=float, default=15.0, help="time cap of one run (and warm-up)")
    ap.add_argument("--target", type=float, default=2000.0, help="req/s mathforge must reach at 512")
    ap.add_argument("--no-sdk", action="store_true", help="skip the openai SDK even if installed")
    args = ap.parse_args()
    levels = [int(x) for x in args.levels.split(",") if x.strip()]

    clients = {"mathforge": mathforge_client, "raw aiohttp": raw_aiohttp_client}
    sdk_version = None if args.no_sdk else openai_sdk_available()
    if sdk_version:
        clients["openai SDK"] = openai_sdk_client

    print(
        f"client_throughput: {args.requests} requests x {args.repeats} repeats per cell, levels {levels}, "
        f"cap {args.max_seconds:.0f}s/run; {os.cpu_count()} cores; python {sys.version.split()[0]}, "
        f"aiohttp {aiohttp.__version__}, openai {sdk_version or 'not installed (skipped)'}",
        flush=True,
    )
    runs: dict[tuple[str, int], list[Run]] = {}
    started = time.monotonic()
    with stub_server() as (base_url, stub_pid):
        print(f"stub server: pid {stub_pid} at {base_url} (aiohttp.web, separate process)", flush=True)
        names = list(clients)
        for level in levels:
            for rep in range(args.repeats):
                order = names[rep % len(names) :] + names[: rep % len(names)]
                for name in order:
                    run = asyncio.run(measure(clients[name], base_url, level, args, stub_pid))
                    runs.setdefault((name, level), []).append(run)
                    print(
                        f"  c={level:<4} {name:<12} rep {rep + 1}: {run.rps:8,.0f} req/s "
                        f"({run.done} in {run.wall_s:.2f}s{', time-capped' if run.capped else ''}"
                        f"{f', {run.errors} errors' if run.errors else ''})",
                        file=sys.stderr,
                        flush=True,
                    )
    elapsed = time.monotonic() - started

    def med(name: str, level: int, attr: str = "rps") -> float | None:
        if (name, level) not in runs:
            return None
        return statistics.median(getattr(r, attr) for r in runs[(name, level)])

    def per_request(name: str, level: int, attr: str) -> float | None:
        if (name, level) not in runs:
            return None
        return statistics.median(getattr(r, attr) / max(r.done, 1) for r in runs[(name, level)])

    print()
    header = (
        f"{'concurrency':>11} | {'mathforge req/s':>15} | {'raw aiohttp req/s':>17} | "
        f"{'openai SDK req/s':>16} | {'mathforge/raw':>13} | {'mathforge/SDK':>13}"
    )
    print(header)
    print("-" * len(header))
    for level in levels:
        mf, raw, sdk = med("mathforge", level), med("raw aiohttp", level), med("openai SDK", level)
        print(
            f"{level:>11} | {fmt_rps(mf):>15} | {fmt_rps(raw):>17} | {fmt_rps(sdk):>16} | "
            f"{ratio(mf, raw):>13} | {ratio(mf, sdk):>13}"
        )

    print()
    print("CPU per request (median) -- client process, and the stub server's busy share of wall time:")
    header = (
        f"{'concurrency':>11} | {'client':<12} | {'client CPU us/req':>17} | {'1-core ceiling req/s':>20} | "
        f"{'stub CPU %':>10}"
    )
    print(header)
    print("-" * len(header))
    for level in levels:
        for name in clients:
            us = per_request(name, level, "client_cpu_s") * 1e6
            stub_busy = statistics.median(r.stub_cpu_s / r.wall_s for r in runs[(name, level)]) * 100
            print(f"{level:>11} | {name:<12} | {us:>17,.0f} | {1e6 / us:>20,.0f} | {stub_busy:>9.0f}%")

    problems = [
        f"{name} c={level}: {sum(r.errors for r in rs)} errors (first: "
        f"{next(r.first_error for r in rs if r.first_error)})"
        for (name, level), rs in runs.items()
        if any(r.errors for r in rs)
    ]
    capped = sorted({f"{name} c={level}" for (name, level), rs in runs.items() if any(r.capped for r in rs)})
    print()
    if capped:
        print(f"time-capped runs (req/s is over the requests done): {', '.join(capped)}")
    for line in problems:
        print(f"ERRORS: {line}")
    target_level = 512
    mf512 = med("mathforge", target_level)
    if mf512 is None:
        verdict = f"n/a (concurrency {target_level} not measured)"
    else:
        ok = mf512 >= args.target and not problems
        verdict = (
            f"{'PASS' if ok else 'FAIL'}: mathforge {mf512:,.0f} req/s at concurrency {target_level} "
            f"(target >= {args.target:,.0f} req/s on {os.cpu_count()} cores, stub server sharing them)"
        )
    print(f"target: {verdict}")
    print(f"total time {elapsed:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
