"""build_dataset_folder: SFT shards -> a Hub-ready dataset folder.

`<folder>/data/<variant>/<split>-NNNNN-of-NNNNN.parquet` (the shards' rows and schema, all buckets
of a variant together, split by problem id), `README.md` (Hub metadata + card + statistics) and
`manifest.json` (splits, statistics, files). Built next to its final place and renamed into it.
The shard writer is not touched: the folder is derived from its output alone.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mathforge.errors import InputError
from mathforge.funnel import read_summary
from mathforge.io import atomic_dir, write_json, write_text
from mathforge.publish.card import (
    front_matter,
    hub_metadata,
    loading_section,
    proof_card_body,
    without_section,
)
from mathforge.publish.splits import SPLITS, split_of
from mathforge.publish.stats import row_counts, split_stats, stats_markdown

log = logging.getLogger(__name__)

TITLES = {"sft": "math reasoning SFT data", "proofs": "Lean 4 proof SFT data"}
TOKENS_NOTE = {
    "sft": "Tokens are generated tokens (`num_tokens`).",
    "statements": "Statements are not generated text: the token columns are 0.",
}


def read_variant(data_dir: str | os.PathLike, buckets: dict) -> pa.Table | None:
    """All buckets of one variant as one table (bucket order, then the shard writer's order)."""
    tables = [pq.read_table(Path(data_dir) / f) for _, b in sorted(buckets.items()) for f in b["files"]]
    return pa.concat_tables(tables) if tables else None


def split_keys(table: pa.Table, source: str) -> list[str]:
    """Each row's problem id (a statement's id when a proof row has no problem id)."""
    keys = table.column("problem_id").to_pylist()
    if "statement_id" in table.column_names:
        keys = [k or s for k, s in zip(keys, table.column("statement_id").to_pylist(), strict=True)]
    for i, key in enumerate(keys):
        if not key:
            raise InputError(source, f"row {i}", "a `problem_id` (or `statement_id`) to split by")
    return keys


def write_split(table: pa.Table, folder: Path, variant: str, split: str, shard_rows: int) -> list[str]:
    n = max(1, -(-table.num_rows // shard_rows))
    files = []
    for i in range(n):
        rel = f"data/{variant}/{split}-{i:05d}-of-{n:05d}.parquet"
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.slice(i * shard_rows, shard_rows), folder / rel)
        files.append(rel)
    return files


def split_variant(table: pa.Table, publish: dict, source: str) -> tuple[dict[str, pa.Table], dict[str, dict]]:
    """The variant's non-empty splits (in SPLITS order) and their statistics (plus `all`)."""
    keys = split_keys(table, source)
    labels = [split_of(k, publish["splits"], publish["seed"]) for k in keys]
    has_tokens = "num_tokens" in table.column_names
    tokens = [t or 0 for t in table.column("num_tokens").to_pylist()] if has_tokens else [0] * table.num_rows
    parts, stats = {}, {}
    for split in SPLITS:
        mask = [label == split for label in labels]
        if any(mask):
            parts[split] = table.filter(pa.array(mask))
            stats[split] = split_stats([t for t, m in zip(tokens, mask, strict=True) if m],
                                       {k for k, m in zip(keys, mask, strict=True) if m})  # fmt: skip
    stats["all"] = split_stats(tokens, set(keys))
    return parts, stats


def card_body(
    kind: str, dataset: str, card_path: str | None, summary_path: str | None, licenses: dict
) -> str:
    """The SFT card as write_sft_shards wrote it (its loading notes replaced), or the proof card
    (from write_proof_sft_shards' summary)."""
    if kind == "proofs":
        return proof_card_body(dataset, read_summary(summary_path), licenses)
    return without_section(Path(card_path).read_text(encoding="utf-8"), "Loading").rstrip() + "\n"


def licence_counts(tables: dict[str, pa.Table]) -> dict[str, int]:
    counts = Counter(name for table in tables.values() for name in table.column("license").to_pylist())
    return dict(sorted(counts.items()))


def run(
    kind: str, data_dir: str, manifest_path: str, publish: dict, dataset: str, out_dir: str,
    card_path: str | None = None, summary_path: str | None = None,
) -> dict:  # fmt: skip
    """Write the dataset folder of `kind` (sft/proofs) from its shards; returns its manifest."""
    source = json.loads(Path(manifest_path).read_text())
    tables, left_out = {}, {}
    for variant, buckets in source["variants"].items():
        if publish["variants"] and variant not in publish["variants"]:
            left_out[variant] = "not in publish.variants"
            continue
        table = read_variant(data_dir, buckets)
        if table is None:
            left_out[variant] = "no rows"
            continue
        tables[variant] = table
    body = card_body(kind, dataset, card_path, summary_path, licence_counts(tables))
    return write_dataset_folder(kind, tables, publish, f"{dataset}: {TITLES[kind]}", body, out_dir, left_out)


def write_dataset_folder(
    kind: str, tables: dict[str, pa.Table], publish: dict, title: str, body: str, out_dir: str,
    left_out: dict[str, str] | None = None, extra: dict | None = None,
) -> dict:  # fmt: skip
    """Split each variant's table by problem id and write the folder (data files, README.md with
    the Hub metadata, `body` and the statistics, manifest.json plus `extra`) next to `out_dir`,
    then rename it into place; returns the manifest."""
    final = Path(out_dir)
    with atomic_dir(final) as tmp:
        manifest = _write_folder(kind, tables, publish, title, body, tmp, final.name, left_out or {}, extra)
    log.info("%s dataset folder: %s", kind, row_counts(manifest["variants"]))
    return manifest


def _write_folder(
    kind: str, tables: dict[str, pa.Table], publish: dict, title: str, body: str, tmp: Path, name: str,
    left_out: dict[str, str], extra: dict | None,
) -> dict:  # fmt: skip
    files, stats = {}, {}
    for variant, table in tables.items():
        parts, stats[variant] = split_variant(table, publish, f"{kind}/{variant}")
        files[variant] = {s: write_split(t, tmp, variant, s, publish["shard_rows"]) for s, t in parts.items()}
    licenses = licence_counts(tables)
    readme = [
        front_matter(hub_metadata(publish, title, licenses, files)),
        body,
        "## Splits and statistics",
        "",
        f"Split by problem id (all rows of a problem in one split; seed `{publish['seed']}`): "
        + ", ".join(f"{s} {f}" for s, f in publish["splits"].items())
        + f", train the rest. {TOKENS_NOTE.get(kind, TOKENS_NOTE['sft'])}",
        "",
        *stats_markdown(stats),
        "",
        *(["Left out: " + ", ".join(f"{v} ({why})" for v, why in left_out.items()), ""] if left_out else []),
        *loading_section(list(files), name),
    ]
    manifest = {
        "kind": kind,
        "splits": {"by": "problem_id", "seed": publish["seed"], "fractions": publish["splits"]},
        "variants": {v: {s: {**stats[v][s], "files": files[v].get(s, [])} for s in stats[v]} for v in stats},
        "left_out": left_out,
        "licenses": licenses,
        **(extra or {}),
    }
    write_text("\n".join(readme), tmp / "README.md")
    write_json(manifest, tmp / "manifest.json")
    return manifest
