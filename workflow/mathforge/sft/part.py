"""write_sft_part: one solutions shard's re-judged solutions -> its SFT rows, audited.

The per-row work of the SFT data, one job per solutions shard (`<source>/shard-K`): the rows are
built (`build_rows`), the hygiene audit (`mathforge.hygiene`) checks each against the source's
decontaminated set, the shard's final verdicts and the benchmarks (rows that must never ship fail
the job, the others failing a check are dropped and counted), the kept rows are written as one
Parquet file (`sft/parts/<source>/shard-K.parquet`, ordered by variant, bucket, problem and seed),
read back and audited again. Beside it: the key of each row's messages (`.keys.parquet`, so the
assembly (`mathforge.sft.stage.run`) finds the same conversation in two parts from the keys alone),
the audit's counts (`.hygiene.json`) and the step's summary; all of them add up across parts.
"""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.parquet as pq

from mathforge.funnel import StepStats, write_step
from mathforge.hygiene.audit import (
    AuditContext,
    AuditResult,
    audit_rows,
    load_context,
    messages_key,
    raise_if_any_failed,
    raise_if_fatal,
)
from mathforge.io import read_records, write_json, write_parquet
from mathforge.sft.stage import PART_STEP, SFT_SCHEMA, build_rows, count_drop, kept_forum_solutions, keys_path

PART_ORDER = ("variant", "bucket", "problem_id", "seed")  # the rows of a part file, in order
KEYS_SCHEMA = pa.schema([("messages_key", pa.binary(32))])  # messages_key of each row, in order


def hygiene_settings(ctx: AuditContext, cfg: dict) -> dict:
    """What the audit compared the rows with (the same for every part of a run)."""
    return {
        **cfg["sft"]["hygiene"],
        "benchmarks": sorted({i.benchmark for i in ctx.benchmarks.items}),
        "benchmark_items": len(ctx.benchmarks.items),
        "output_markers": list(ctx.output_markers),
        "dedup": ctx.dedup,
    }


def part_hygiene(audit: AuditResult, shipped: AuditResult, settings: dict) -> dict:
    """A part's audit counts per variant, of both passes (rows checked, rows failing each check):
    numbers that add up across parts (`mathforge.funnel.add_counts`) into `sft/hygiene.json`."""
    return {
        "audit": {v: dict(c) for v, c in sorted(audit.counts.items())},
        "shipped_audit": {v: dict(c) for v, c in sorted(shipped.counts.items())},
        "settings": settings,
    }


def write_part(rows: list[dict], path: str) -> list[dict]:
    """`rows` as one Parquet file in PART_ORDER, atomically; the rows as read back from it."""
    ordered = sorted(rows, key=lambda r: tuple(r[k] for k in PART_ORDER))
    write_parquet(pa.Table.from_pylist(ordered, schema=SFT_SCHEMA), path)
    return pq.read_table(path).to_pylist()


def run_part(
    final_judged: str, majority: str, cfg: dict, decontam_set: str, decontam_audit: str,
    part_path: str, hygiene_path: str, summary_path: str, forum_cot: list[str] = (),
) -> StepStats:  # fmt: skip
    """One solutions shard's SFT rows, audited twice: the part file, its messages keys, its audit
    counts and its summary (module docstring)."""
    solutions = read_records(final_judged) + kept_forum_solutions(forum_cot)
    problems = {p["problem_id"]: p for p in read_records(majority)}
    rows, stats = build_rows(solutions, problems, cfg)
    stats.step = PART_STEP
    ctx = load_context(cfg, solutions, problems, [decontam_set], [decontam_audit])
    audit = audit_rows(rows, ctx)
    raise_if_fatal(audit)
    for row, check, _detail in audit.failed:
        count_drop(stats, row["variant"], check.name)
    written = write_part(audit.kept, part_path)
    shipped = audit_rows(written, ctx.fresh())
    if shipped.failed:  # a bug in the writer: nothing of this part may ship
        os.remove(part_path)
        raise_if_any_failed(shipped, part_path)
    keys = pa.table({"messages_key": [messages_key(r["messages"]) for r in written]}, schema=KEYS_SCHEMA)
    write_parquet(keys, keys_path(part_path))
    write_json(part_hygiene(audit, shipped, hygiene_settings(ctx, cfg)), hygiene_path)
    return write_step(stats, summary_path)
