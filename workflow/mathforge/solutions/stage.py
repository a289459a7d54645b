"""The solutions stage: one shard of problems -> `n_tir` + `n_plain` solutions per reasoning effort
(mathforge.solving generates them)."""

from __future__ import annotations

import logging
from collections import Counter

from mathforge.funnel import StepStats, write_step
from mathforge.inference.store import RequestStore
from mathforge.io import read_shard_records
from mathforge.schemas.solutions import SOLUTIONS_SCHEMA
from mathforge.solving.code_tags import load_code_tags
from mathforge.solving.generate import build_tasks, run_tasks, solution_row
from mathforge.solving.transcript import reasoning_format, thinking_continued

log = logging.getLogger(__name__)


def summarize(stats: StepStats, rows: list[dict], counts: Counter) -> None:
    by_variant: dict[str, dict] = {}
    for row in rows:
        variant = by_variant.setdefault(f"{row['mode']}/{row['effort']}", Counter())
        variant["solutions"] += 1
        variant["with_answer"] += row["predicted_answer"] is not None
        variant["completion_tokens"] += row["completion_tokens"] or 0
        variant["code_executions"] += row["num_code_executions"]
    cells = Counter(cell["status"] for row in rows for cell in row["code_cells"])
    stats.counters.update(
        {
            "solutions_by_variant": {k: dict(v) for k, v in sorted(by_variant.items())},
            "finish_reasons": dict(Counter(str(r["finish_reason"]) for r in rows)),
            "code_cells": dict(cells),
            "sessions_restarted": sum(any(c["restarted"] for c in r["code_cells"]) for r in rows),
            "code_cells_with_orphans_killed": sum(
                bool(c.get("orphans_killed")) for r in rows for c in r["code_cells"]
            ),
            "code_outputs_truncated": sum(c["truncated"] for r in rows for c in r["code_cells"]),
            "errors": sum(r["error"] is not None for r in rows),
            "requests": dict(counts),
        }
    )


def run(
    in_path: str,
    shard: int,
    cfg: dict,
    out_path: str,
    summary_path: str,
    store_path: str,
    n_shards: int | None = None,
) -> StepStats:
    n_shards = (
        n_shards or cfg["solutions"]["n_shards"]
    )  # the source's shards (its own, else solutions.n_shards)
    problems = read_shard_records(in_path, "problem_id", shard, n_shards)
    tasks = build_tasks(problems, cfg)
    with RequestStore(store_path) as store:
        counts = run_tasks([task for _, _, task in tasks], cfg, store)
        tags = load_code_tags(cfg["prompts_dir"], cfg["solutions"]["tir"]["code_tags"])
        fmt = reasoning_format(cfg["solutions"], tags)
        records = [store.get(task.key) for _, _, task in tasks]
        rows = [
            solution_row(row, meta, rec, fmt, tags)
            for (row, meta, _), rec in zip(tasks, records, strict=True)
        ]
    stats = StepStats(step="generate_solutions", n_in=len(problems), n_out=len(rows))
    stats.notes.update({"shard": shard, "n_shards": n_shards})
    # Answers the model went on thinking in past a forced close (the SFT audit drops them).
    stats.counters["thinking_continued_after_forced_close"] = sum(map(thinking_continued, records))
    summarize(stats, rows, counts)
    rate = counts["completion_tokens"] / counts["generation_seconds"] if counts["generation_seconds"] else 0.0
    log.info(
        "shard %d/%d: %d problems, %d solutions (%d cached, %d generated: %d tokens in %.1fs, %.1f tok/s; "
        "%.1fs with server start)",
        shard, n_shards, len(problems), len(rows), counts["cached"], counts["sent"],
        counts["completion_tokens"], counts["generation_seconds"], rate, counts["seconds"],
    )  # fmt: skip
    return write_step(stats, summary_path, (rows, SOLUTIONS_SCHEMA, out_path))
