"""write_proof_sft_shards: Lean-verified prover conversations -> SFT shards, written by the same
shard writer as the informal SFT data (`write_shards`).

Only verified attempts are kept; the same proof of the same statement is kept once. Variants:
`single_turn` (the conversation has one assistant turn: proved at once, or wrong turns deleted)
and `multi_turn` (it shows self-correction from compiler feedback); buckets by generated tokens.
"""

from __future__ import annotations

import logging

import pyarrow as pa

from mathforge.attribution import ATTRIBUTION_FIELDS
from mathforge.funnel import StepStats, write_step
from mathforge.io import read_records, write_json
from mathforge.schemas.messages import MESSAGE, with_reasoning_format
from mathforge.sft.stage import bucket_name, license_counts, write_shards

log = logging.getLogger(__name__)

VARIANTS = ("single_turn", "multi_turn")
PROOF_SFT_SCHEMA = pa.schema(
    [
        ("messages", pa.list_(MESSAGE)),
        ("problem", pa.string()),
        ("formal_statement", pa.string()),
        ("lean_header", pa.string()),
        ("proof", pa.string()),
        ("statement_id", pa.string()),
        ("problem_id", pa.string()),
        ("variant", pa.string()),
        ("attempt", pa.int32()),
        ("num_turns", pa.int32()),
        ("num_tokens", pa.int64()),
        ("bucket", pa.string()),
        ("source", pa.string()),
        ("license", pa.string()),
        *ATTRIBUTION_FIELDS,
        ("model", pa.string()),
        ("seed", pa.int64()),
    ]
)


def training_conversation(messages: list[dict], sft: dict) -> list[dict]:
    """A verified proof conversation as training data: the system message only when
    `sft.system_prompt`, the thinking in `sft.reasoning_format`."""
    kept = [m for m in messages if sft["system_prompt"] or m["role"] != "system"]
    return with_reasoning_format(kept, sft["reasoning_format"])


def build_proof_rows(attempts: list[dict], cfg: dict) -> tuple[list[dict], StepStats]:
    stats = StepStats(step="write_proof_sft_shards", n_in=len(attempts))
    seen: set[tuple[str, str]] = set()
    rows = []
    for row in sorted(attempts, key=lambda r: (r["statement_id"], r["attempt"])):
        if not row["verified"]:
            stats.drop("unverified")
            continue
        key = (row["statement_id"], " ".join(row["proof"].split()))
        if key in seen:
            stats.drop("duplicate_proof")
            continue
        seen.add(key)
        assistant_turns = sum(m["role"] == "assistant" for m in row["messages"])
        tokens = row["completion_tokens"] or 0
        rows.append(
            {
                "messages": training_conversation(row["messages"], cfg["sft"]),
                **{k: row[k] for k in ("problem", "formal_statement", "lean_header", "proof",
                                       "statement_id", "problem_id", "attempt", "source", "license",
                                       "source_url", "authors", "model", "seed")},
                "variant": VARIANTS[assistant_turns > 1],
                "num_turns": row["verified_turn"],
                "num_tokens": tokens,
                "bucket": bucket_name(tokens, cfg["sft"]["length_buckets"]),
            }
        )  # fmt: skip
    stats.n_out = len(rows)
    stats.counters["variants"] = {v: sum(r["variant"] == v for r in rows) for v in VARIANTS}
    stats.counters["licenses"] = license_counts(rows)
    return rows, stats


def write_proof_sft_shards(
    proof_paths: list[str], cfg: dict, out_dir: str, manifest_path: str, summary_path: str
) -> StepStats:
    attempts = [r for path in proof_paths for r in read_records(path)]
    rows, stats = build_proof_rows(attempts, cfg)
    manifest = write_shards(
        rows, out_dir, cfg["sft"]["shard_rows"], PROOF_SFT_SCHEMA, order=("statement_id", "attempt")
    )
    for variant in VARIANTS:
        manifest.setdefault(variant, {})
    write_json({"variants": manifest}, manifest_path)
    return write_step(stats, summary_path)
