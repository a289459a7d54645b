"""Reading user tables with precise errors, and writing outputs atomically.

Every output is written to a temporary file beside its destination and renamed into place, so a
killed job never leaves a half-written artifact that Snakemake (or a user) could mistake for a
finished one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from mathforge.errors import InputError

if TYPE_CHECKING:  # pandas is imported where a frame is made: ~0.3 s a job that never needs it
    import pandas as pd


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        if not tmp.exists():
            raise RuntimeError(f"nothing was written to {tmp} for {final}")
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary directory beside `path`; it replaces `path` only if the block
    succeeds, and is removed if it fails (a directory artifact is never seen half-written)."""
    final = Path(path)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)


def write_parquet(table: pd.DataFrame | pa.Table, path: str | os.PathLike) -> None:
    if not isinstance(table, pa.Table):  # a pandas DataFrame
        table = pa.Table.from_pandas(table, preserve_index=False)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def write_parquet_rows(
    rows: Iterable[dict], schema: pa.Schema, path: str | os.PathLike, batch: int = 1000
) -> None:
    """Write rows as they arrive, `batch` rows per row group, so a large table never sits in memory."""
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        pending: list[dict] = []
        for row in rows:
            pending.append(row)
            if len(pending) >= batch:
                writer.write_table(pa.Table.from_pylist(pending, schema=schema))
                pending.clear()
        if pending:
            writer.write_table(pa.Table.from_pylist(pending, schema=schema))


def write_json(value: Any, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def write_text(text: str, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def svg_figure(path: str | os.PathLike, figsize: tuple[float, float]) -> Iterator[tuple[Any, Any]]:
    """A new matplotlib figure and its axes (headless backend); when the block succeeds it is laid
    out and written atomically to `path` as SVG. The figure is closed either way."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize)
    try:
        yield fig, ax
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="svg")
    finally:
        plt.close(fig)


def read_records(path: str | os.PathLike) -> list[dict]:
    """A Parquet artifact as plain Python records (nested columns stay lists and dicts)."""
    try:
        return pq.read_table(path).to_pylist()
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(path, None, f"expected a readable Parquet file ({exc})") from exc


def read_shard_records(
    path: str | os.PathLike, key: str, shard: int, n_shards: int, batch_rows: int = 8192
) -> list[dict]:
    """The records of a Parquet artifact whose `key` hashes to `shard` of `n_shards` (ids.shard_of).

    Read a record batch at a time, so a sharded job holds its shard and one batch, never the
    whole upstream table (memory flat in the table's size)."""
    from mathforge.ids import shard_of

    records: list[dict] = []
    try:
        parquet = pq.ParquetFile(path)
        if key not in parquet.schema_arrow.names:
            raise InputError(path, None, f"expected a `{key}` column, found {parquet.schema_arrow.names}")
        # One row group at a time: iter_batches over the whole file reads ahead across row groups
        # (its peak grew with the file: 28 -> 112 MB from 3,000 to 30,000 Stack Exchange threads).
        for group in range(parquet.num_row_groups):
            for batch in parquet.iter_batches(batch_size=batch_rows, row_groups=[group], use_threads=False):
                keep = [shard_of(k, n_shards) == shard for k in batch.column(key).to_pylist()]
                records.extend(batch.filter(pa.array(keep, type=pa.bool_())).to_pylist())
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(path, None, f"expected a readable Parquet file ({exc})") from exc
    return records


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object) for each non-blank line; errors name the line."""
    path = Path(path)
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    path, f"line {line_no}", f"expected UTF-8 text (bad byte at offset {exc.start})"
                ) from exc
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InputError(
                    path, f"line {line_no}", f"expected one JSON object per line ({exc.msg})"
                ) from exc
            if not isinstance(value, dict):
                raise InputError(
                    path, f"line {line_no}", f"expected a JSON object, got {type(value).__name__}"
                )
            yield line_no, value


def require_nonempty(path: str | os.PathLike, what: str) -> None:
    p = Path(path)
    if not p.exists():
        raise InputError(p, None, f"file does not exist; expected {what}")
    if p.stat().st_size == 0:
        raise InputError(p, None, f"file is empty; expected {what}")


def require_columns(record: dict, columns: Sequence[str], path: str | os.PathLike, where: str) -> None:
    for column in columns:
        if column not in record or record[column] is None:
            raise InputError(path, where, f"missing required column {column!r}")
        if not isinstance(record[column], str):
            raise InputError(
                path, where, f"column {column!r} must be a string, got {type(record[column]).__name__}"
            )


def read_table_records(path: str | os.PathLike) -> Iterator[tuple[str, dict]]:
    """Yield (location, record) from a JSONL or Parquet table; location is 'line N' or 'row N'."""
    path = Path(path)
    suffixes = "".join(path.suffixes[-2:]).lower()
    if path.suffix.lower() == ".parquet":
        # Arrow records, not pandas: pandas turns an integer column with nulls into floats (7 -> 7.0).
        for index, record in enumerate(read_records(path), start=1):
            yield f"row {index}", record
    elif path.suffix.lower() in {".jsonl", ".json", ".ndjson"} or suffixes.endswith(".jsonl"):
        for line_no, record in iter_jsonl(path):
            yield f"line {line_no}", record
    else:
        raise InputError(path, None, "expected a .parquet or .jsonl table")


def records_frame(records: Iterable[dict], columns: Sequence[str]) -> pd.DataFrame:
    """A frame with exactly `columns`, in that order, even when there are no records."""
    import pandas as pd

    frame = pd.DataFrame.from_records(list(records), columns=list(columns))
    return frame[list(columns)]
