"""The formal statements as a dataset of their own: the accepted Lean 4 statements of
autoformalize (results/<dataset>/formal/<source>/shard-K.parquet), without proofs, in the columns
Nemotron-Math-Proofs publishes (`problem`, `formal_statement`, `lean_header`) with the
provenance and the formalization's verdicts. Statements not accepted are counted by reason."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa

from mathforge.attribution import licence_section
from mathforge.io import read_records
from mathforge.publish.stage import licence_counts, write_dataset_folder
from mathforge.schemas.problems import PROVENANCE

VARIANT = "statements"
# Provenance as published: where the problem comes from and under which licence (the pipeline's
# own file bookkeeping, source_file / source_record, stays out).
PUBLISHED_PROVENANCE = [(n, t) for n, t in PROVENANCE if n not in ("source_file", "source_record")]
STATEMENTS_SCHEMA = pa.schema(
    [
        ("problem_id", pa.string()),
        ("problem", pa.string()),
        ("formal_statement", pa.string()),
        ("lean_header", pa.string()),
        *PUBLISHED_PROVENANCE,
        ("num_turns", pa.int32()),  # formalization turns until accepted
        ("placeholder_flag", pa.bool_()),  # an earlier turn defined trivial stand-ins
        ("lean_status", pa.string()),  # the accepted statement's compile status (with `sorry`)
        ("backtranslation", pa.string()),  # the statement read back into natural language
        ("judge_output", pa.string()),  # the judge's verdict that it says what the problem says
    ]
)


def accepted_turn(row: dict) -> dict:
    """The turn whose statement was accepted (the last one with that outcome)."""
    return next((t for t in reversed(row.get("turns") or []) if t["outcome"] == "accepted"), {})


def statement_row(row: dict) -> dict:
    turn = accepted_turn(row)
    return {
        **{name: row.get(name) for name in STATEMENTS_SCHEMA.names},
        **{k: turn.get(k) for k in ("lean_status", "backtranslation", "judge_output")},
    }


def accepted_statements(formal_paths: list[str]) -> tuple[list[dict], Counter, int]:
    """The accepted statements of all shards, the others counted by reason, and the total read."""
    rows, dropped, total = [], Counter(), 0
    for path in formal_paths:
        for row in read_records(path):
            total += 1
            if row["status"] != "accepted":
                dropped[f"failed:{row.get('failure') or 'unknown'}"] += 1
            elif not (row.get("formal_statement") or "").strip():
                dropped["empty_statement"] += 1
            else:
                rows.append(statement_row(row))
    rows.sort(key=lambda r: r["problem_id"])
    return rows, dropped, total


def statements_card_body(dataset: str, total: int, kept: int, dropped: Counter, licenses: dict) -> str:
    dropped_text = ", ".join(f"{k}: {v}" for k, v in sorted(dropped.items())) or "none"
    lines = [
        f"# {dataset}: Lean 4 formal statements",
        "",
        "Made by mathforge: forum proof problems autoformalized into Lean 4 theorem statements "
        "(proof `sorry`). A statement is kept only when it compiled and a judge found that its "
        "backtranslation says what the problem says; statements come without proofs.",
        "",
        "## Funnel",
        "",
        "| step | in | out | dropped |",
        "|---|---|---|---|",
        f"| autoformalize | {total} | {kept} | {dropped_text} |",
        "",
        "Columns: `problem` (informal statement), `formal_statement` (the Lean 4 theorem, proof "
        "`sorry`), `lean_header` (imports and opens it compiles under), `problem_id`, provenance "
        "(`source`, `site`, `thread_id`, `post_id`, `license`, `source_url`, `authors`) and the "
        "formalization's verdicts (`num_turns`, `placeholder_flag`, `lean_status`, "
        "`backtranslation`, `judge_output`).",
        "",
        *licence_section(licenses),
    ]
    return "\n".join(lines)


def build_statements_folder(formal_paths: list[str], publish: dict, dataset: str, out_dir: str) -> dict:
    """Write the statements dataset folder (one configuration, `statements`); returns its manifest."""
    rows, dropped, total = accepted_statements(formal_paths)
    tables = {VARIANT: pa.Table.from_pylist(rows, schema=STATEMENTS_SCHEMA)} if rows else {}
    left_out = {} if rows else {VARIANT: "no accepted statements"}
    body = statements_card_body(dataset, total, len(rows), dropped, licence_counts(tables))
    funnel = {"n_in": total, "n_out": len(rows), "dropped": dict(sorted(dropped.items()))}
    return write_dataset_folder(
        "statements", tables, publish, f"{dataset}: Lean 4 formal statements", body, out_dir,
        left_out, extra={"funnel": funnel},
    )  # fmt: skip
