"""Aggregate tokens/s of the embedded vLLM CPU server: 16 samples one at a time, concurrently, or as n=16.

Claim: sampling one prompt 16 times is worth batching (seen here: ~140 tok/s aggregate at 16
concurrent). One prompt (a short math word problem asking for a \\boxed{} answer), temperature 0.7,
--max-tokens 128, distinct seeds, sent through mathforge's `OpenAIClient` (no retries), in one run:

  (a) sequential  16 requests, one at a time (seeds s, s+1, ..., s+15)
  (b) concurrent  the same 16 requests in flight together
  (c) n=16        one request with n=16 and seed s (vLLM gives child i the seed s+i, so the same samples)

and prints completion tokens, wall seconds, aggregate tok/s and the ratios (b)/(a), (c)/(a). An untimed
warm-up request goes first. By default the script starts the real embedded server the way the
pipeline does (`server_spec(cfg["inference"])` + `managed_server(..., "job", ...)`, about a minute to
start on 2 cores) and stops it at the end; `--base-url URL --model NAME` uses a running server instead.

    .venv/bin/python benchmarks/embedded_throughput.py [--base-url http://127.0.0.1:8011 --model q]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from mathforge.inference.client import CompletionResult, OpenAIClient, SamplingParams

PROMPT = (
    "A bakery sells muffins for $3 each and cookies for $1.50 each. On Saturday it sold 42 muffins "
    "and twice as many cookies. How much money did it take in from muffins and cookies together? "
    "Reason step by step and put the final answer in \\boxed{}."
)
MESSAGES = [{"role": "user", "content": PROMPT}]


@dataclass
class Mode:
    label: str
    requests: int
    samples: int
    completion_tokens: int
    wall_s: float
    finished_by_length: int
    distinct: int

    @property
    def tok_s(self) -> float:
        return self.completion_tokens / self.wall_s


def summarize(label: str, results: list[CompletionResult], wall_s: float) -> Mode:
    choices = [c for r in results for c in r.choices]
    return Mode(
        label=label,
        requests=len(results),
        samples=len(choices),
        completion_tokens=sum(r.completion_tokens or 0 for r in results),
        wall_s=wall_s,
        finished_by_length=sum(c.finish_reason == "length" for c in choices),
        distinct=len({c.text for c in choices}),
    )


async def run_modes(base_url: str, model: str, args) -> list[Mode]:
    extra = {"ignore_eos": True} if args.ignore_eos else None

    def params(seed: int, n: int = 1, max_tokens: int = args.max_tokens) -> SamplingParams:
        return SamplingParams(
            temperature=args.temperature, top_p=1.0, max_tokens=max_tokens, seed=seed, n=n, extra_body=extra
        )

    seeds = [args.seed + i for i in range(args.samples)]
    modes: list[Mode] = []
    async with OpenAIClient(
        base_url, model, max_concurrent=args.samples, request_timeout_s=3600, max_retries=0
    ) as client:
        await client.chat(MESSAGES, params(seed=10_000, max_tokens=16))  # warm-up, untimed

        t0 = time.perf_counter()
        sequential = [await client.chat(MESSAGES, params(s)) for s in seeds]
        modes.append(summarize(f"(a) sequential x{args.samples}", sequential, time.perf_counter() - t0))
        print(f"  {modes[-1].label}: {modes[-1].wall_s:.1f}s", file=sys.stderr, flush=True)

        t0 = time.perf_counter()
        concurrent = await asyncio.gather(*(client.chat(MESSAGES, params(s)) for s in seeds))
        modes.append(summarize(f"(b) concurrent x{args.samples}", concurrent, time.perf_counter() - t0))
        print(f"  {modes[-1].label}: {modes[-1].wall_s:.1f}s", file=sys.stderr, flush=True)

        t0 = time.perf_counter()
        batched = await client.chat(MESSAGES, params(args.seed, n=args.samples))
        modes.append(summarize(f"(c) one request n={args.samples}", [batched], time.perf_counter() - t0))
        print(f"  {modes[-1].label}: {modes[-1].wall_s:.1f}s", file=sys.stderr, flush=True)
    return modes


@contextlib.contextmanager
def embedded_server(args):
    """Start the embedded server with mathforge's own code (scope `job`: stopped when we leave)."""
    from mathforge.config import REPO_ROOT, load_config, validate_config
    from mathforge.inference.endpoints import server_spec
    from mathforge.inference.server import managed_server

    if args.config:
        cfg = load_config(args.config, overrides={"inference": {"backend": "embedded"}})
    else:
        cfg = validate_config({"sources": [], "inference": {"backend": "embedded"}})
    inference = cfg["inference"]
    spec = server_spec(inference)
    state_dir = REPO_ROOT / inference["server"]["state_dir"]
    log_dir = REPO_ROOT / inference["server"]["log_dir"]
    print(f"starting the embedded vLLM CPU server ({spec.model}); log under {log_dir}", flush=True)
    t0 = time.monotonic()
    with managed_server(spec, "job", Path(state_dir), Path(log_dir)) as base_url:
        print(f"server ready at {base_url} after {time.monotonic() - t0:.0f}s", flush=True)
        yield base_url, spec.served_model_name


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base-url", help="use this running OpenAI-compatible server (without /v1)")
    ap.add_argument("--model", help="served model name (with --base-url)")
    ap.add_argument("--config", help="mathforge config YAML for the server (default: schema defaults)")
    ap.add_argument("--samples", type=int, default=16, help="samples of the prompt per mode")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--seed", type=int, default=0, help="first seed; sample i uses seed + i")
    ap.add_argument("--ignore-eos", action="store_true", help="make every sample run to --max-tokens")
    args = ap.parse_args()
    if bool(args.base_url) != bool(args.model):
        ap.error("--base-url and --model go together")

    print(
        f"embedded_throughput: {args.samples} samples of one prompt, temperature {args.temperature}, "
        f"max_tokens {args.max_tokens}, seeds {args.seed}..{args.seed + args.samples - 1}"
        f"{', ignore_eos' if args.ignore_eos else ''}; {len(os.sched_getaffinity(0))} cores",
        flush=True,
    )
    started = time.monotonic()
    if args.base_url:
        server = contextlib.nullcontext((args.base_url.rstrip("/"), args.model))
    else:
        server = embedded_server(args)
    with server as (base_url, model):
        print(f"server: {base_url}, model {model!r}", flush=True)
        modes = asyncio.run(run_modes(base_url, model, args))

    base = modes[0].tok_s
    print()
    header = (
        f"{'mode':<24} | {'requests':>8} | {'samples':>7} | {'compl. tokens':>13} | {'wall s':>7} | "
        f"{'tok/s':>7} | {'vs (a)':>6} | {'hit max_tokens':>14} | {'distinct':>8}"
    )
    print(header)
    print("-" * len(header))
    for m in modes:
        print(
            f"{m.label:<24} | {m.requests:>8} | {m.samples:>7} | {m.completion_tokens:>13} | "
            f"{m.wall_s:>7.1f} | {m.tok_s:>7.1f} | {m.tok_s / base:>5.2f}x | "
            f"{m.finished_by_length:>14} | {m.distinct:>8}"
        )
    print()
    print(f"ratio (b)/(a) concurrent vs sequential: {modes[1].tok_s / base:.2f}x")
    print(f"ratio (c)/(a) n={args.samples} vs sequential:      {modes[2].tok_s / base:.2f}x")
    print(f"ratio (c)/(b) n={args.samples} vs concurrent:      {modes[2].tok_s / modes[1].tok_s:.2f}x")
    print(f"total time {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
