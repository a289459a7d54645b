"""Runs of the SFT writer on real input files, as the workflow runs it: one write_sft_part job per
solutions shard (`mathforge.sft.part`), then the assembly (`mathforge.sft.stage.run`)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mathforge.decontam.stage import AUDIT_SCHEMA
from mathforge.funnel import read_summary
from mathforge.schemas.judged import FINAL_JUDGED_SCHEMA, MAJORITY_SCHEMA
from mathforge.sft.part import run_part
from mathforge.sft.stage import run as assemble


def write_part_inputs(d: Path, solutions: list[dict], problems: list[dict], kept, removed) -> dict:
    """One shard's final-judged solutions and majority problems, and its source's decontaminated
    set (`kept` problem ids) and audit (`removed` ones)."""
    d.mkdir(parents=True, exist_ok=True)
    paths = {name: str(d / f"{name}.parquet") for name in ("final", "majority", "set", "audit")}
    pq.write_table(pa.Table.from_pylist(solutions, schema=FINAL_JUDGED_SCHEMA), paths["final"])
    pq.write_table(pa.Table.from_pylist(problems, schema=MAJORITY_SCHEMA), paths["majority"])
    pq.write_table(pa.table({"problem_id": pa.array(kept, pa.string())}), paths["set"])
    audit = [{"problem_id": pid, "reason": "benchmark_match"} for pid in removed]
    pq.write_table(pa.Table.from_pylist(audit, schema=AUDIT_SCHEMA), paths["audit"])
    return paths


def run_part_job(cfg: dict, inputs: dict, out: Path, forum_cot=()) -> str:
    """write_sft_part on `inputs` (write_part_inputs): the part file's path."""
    part = out / "parts" / f"{Path(inputs['final']).parent.name}.parquet"
    run_part(
        inputs["final"], inputs["majority"], cfg, inputs["set"], inputs["audit"], str(part),
        hygiene_path=str(part.with_suffix(".hygiene.json")), summary_path=str(part.with_suffix(".summary.json")),
        forum_cot=list(forum_cot),
    )  # fmt: skip
    return str(part)


def run_assembly(cfg: dict, parts: list[str], majority: list[str], out: Path, summaries=()):
    """write_sft_shards on `parts`: (its stats, every shipped row, hygiene.json) under `out`."""
    stats = assemble(
        parts, majority, list(summaries), cfg, str(out / "data"), str(out / "manifest.json"),
        str(out / "card.md"), hygiene_path=str(out / "hygiene.json"), summary_path=str(out / "data.summary.json"),
    )  # fmt: skip
    hygiene = json.loads((out / "hygiene.json").read_text())
    # the run statistics read the audit from the step's summary
    assert read_summary(out / "data.summary.json").notes["hygiene"] == hygiene
    rows = pq.read_table(out / "data").to_pylist() if any((out / "data").rglob("*.parquet")) else []
    return stats, rows, hygiene
