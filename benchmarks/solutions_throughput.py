"""Generation wall time and tokens/s of the demo's solutions on the embedded model: plain vs TIR vs both.

The demo's solution settings (config/demo.yaml: efforts, samples, budget, TIR loop, sandbox) on the
demo's decontaminated problems (run `make demo` first, or pass --problems), each run with a fresh
store (nothing cached), all on one server started once, in one run:

  (a) plain   only the plain solutions (n_tir = 0)
  (b) tir     only the TIR solutions (n_plain = 0): generation, stops, sandbox cells, continuations
  (c) both    the demo's full mix, as the generate_solutions jobs run it

It prints, per run, solutions, LLM calls, completion tokens, wall seconds, tok/s, solutions/min,
code cells (and the share of wall time spent inside cells), answers found, and the ratios
tir/plain and both/(plain+tir separately).

    .venv/bin/python benchmarks/solutions_throughput.py [--base-url http://127.0.0.1:8011 --model q]
"""

from __future__ import annotations

import argparse
import copy
import logging
import sys
import tempfile
import time
from pathlib import Path

import yaml

from mathforge.config import REPO_ROOT, validate_config
from mathforge.inference.endpoints import open_target
from mathforge.inference.store import RequestStore
from mathforge.io import read_records
from mathforge.solving.generate import build_tasks, run_tasks
from mathforge.text import last_boxed

# The demo's decontaminated answer problems: one set per source.
DEMO_SETS = "results/demo/decontam/answers"


def measure(label: str, cfg: dict, problems: list[dict], workdir: Path) -> dict:
    tasks = [task for _, _, task in build_tasks(problems, cfg)]
    started = time.monotonic()
    with RequestStore(workdir / f"{label}.jsonl") as store:
        counts = run_tasks(tasks, cfg, store)
        records = [store.get(t.key) for t in tasks]
    wall = time.monotonic() - started
    cells = [c for r in records for c in r["code_cells"]]
    return {
        "run": label,
        "solutions": len(records),
        "llm_calls": sum(r["llm_calls"] for r in records),
        "tokens": counts["completion_tokens"],
        "wall_s": wall,
        "tok_s": counts["completion_tokens"] / wall,
        "sol_min": 60 * len(records) / wall,
        "cells": len(cells),
        "cell_s": sum(c["seconds"] for c in cells),
        "answers": sum(last_boxed(r["generation"]) is not None for r in records),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", default=str(REPO_ROOT / "config" / "demo.yaml"))
    parser.add_argument(
        "--problems",
        nargs="+",
        help=f"decontaminated answer sets (default: every source's, {DEMO_SETS}/<source>/set.parquet)",
    )
    parser.add_argument("--base-url", help="use a running OpenAI-compatible server instead of starting one")
    parser.add_argument("--model", default="q")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    paths = args.problems or sorted(str(p) for p in Path(DEMO_SETS).glob("*/set.parquet"))
    missing = [p for p in paths if not Path(p).exists()]
    if not paths or missing:
        sys.exit(f"{missing or DEMO_SETS + '/*/set.parquet'} not found: run `make demo` first "
                 "(or pass --problems <set.parquet> ...)")  # fmt: skip
    problems = [row for path in paths for row in read_records(path)]
    cfg = validate_config(yaml.safe_load(Path(args.config).read_text()))

    def with_server(base_urls: list[str], model: str) -> dict:
        out = copy.deepcopy(cfg)
        out["inference"].update(backend="openai", model=model, served_model_name=None)
        out["inference"]["openai"] = {"base_urls": base_urls, "api_key_env": None}
        return out

    def run_all(served: dict) -> list[dict]:
        n_tir, n_plain = served["solutions"]["n_tir"], served["solutions"]["n_plain"]
        runs = []
        with tempfile.TemporaryDirectory() as tmp:
            for label, tir, plain in (("plain", 0, n_plain), ("tir", n_tir, 0), ("both", n_tir, n_plain)):
                run_cfg = copy.deepcopy(served)
                run_cfg["solutions"].update(n_tir=tir, n_plain=plain)
                print(f"running {label} ...", file=sys.stderr)
                runs.append(measure(label, run_cfg, problems, Path(tmp)))
        return runs

    if args.base_url:
        runs = run_all(with_server([args.base_url], args.model))
    else:
        print("starting the embedded server (about a minute) ...", file=sys.stderr)
        with open_target(cfg["inference"]) as target:
            runs = run_all(with_server(target.base_urls, target.model))

    s = cfg["solutions"]
    print(
        f"\n{len(problems)} problems x efforts {s['efforts']} x ({s['n_tir']} tir + {s['n_plain']} plain), "
        f"max_tokens {s['sampling']['max_tokens']}, max_code_executions {s['tir']['max_code_executions']}, "
        f"{cfg['inference']['max_concurrent_requests']} concurrent"
    )
    header = f"{'run':6} {'solutions':>9} {'calls':>6} {'tokens':>7} {'wall s':>7} {'tok/s':>7} {'sol/min':>8} {'cells':>6} {'in cells':>8} {'answers':>8}"
    print(header)
    for r in runs:
        print(
            f"{r['run']:6} {r['solutions']:>9} {r['llm_calls']:>6} {r['tokens']:>7} {r['wall_s']:>7.1f} "
            f"{r['tok_s']:>7.1f} {r['sol_min']:>8.1f} {r['cells']:>6} {r['cell_s'] / r['wall_s']:>8.2%} "
            f"{r['answers'] / r['solutions']:>8.0%}"
        )
    plain, tir, both = runs
    print(
        f"\ntir/plain tok/s: {tir['tok_s'] / plain['tok_s']:.2f}   tir/plain wall: {tir['wall_s'] / plain['wall_s']:.2f}"
    )
    print(f"both vs plain+tir run apart: wall {both['wall_s'] / (plain['wall_s'] + tir['wall_s']):.2f}")


if __name__ == "__main__":
    main()
