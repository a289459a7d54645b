"""Assembling the SFT parts' Arrow tables into the dataset's shards (write_sft_shards, in
`mathforge.sft.stage`), without turning rows into Python objects.

Parts are read one at a time, in the order given (`sources` order, then shard order). With
`sft.dedup`, a row whose messages an earlier part already holds is dropped, found from the parts'
messages keys alone (`cross_part_keep`). The rows of each variant and bucket go to
`<variant>/<bucket>/shard-NNNNN.parquet`, at most `shard_rows` rows a file, in part order (each
part's rows by problem and seed), written as they come: memory holds one part and at most
FLUSH_BYTES of rows per bucket. The directory is written next to its final place, checked against
the parts (rows and key columns of every variant and bucket, in order) and only then renamed into
it, so a failed job leaves no half-written dataset.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mathforge.errors import MathforgeError
from mathforge.io import atomic_dir

KEY_COLUMNS = ("problem_id", "seed", "variant", "request_key")  # what the written shards are checked on
FLUSH_BYTES = 16 << 20  # rows of one bucket held before they are written (bounds the job's memory)


class SFTAssemblyError(MathforgeError):
    """The assembled shards are not the parts' rows, or the parts do not belong to one run."""


def _keys(path: str) -> np.ndarray:
    column = pq.read_table(path, columns=["messages_key"]).column("messages_key").combine_chunks()
    if not len(column):
        return np.empty(0, dtype="V32")
    return np.frombuffer(column.buffers()[1], dtype="V32")[column.offset : column.offset + len(column)]


def cross_part_keep(key_files: list[str], dedup: bool) -> list[np.ndarray]:
    """For each part (its messages keys file), which of its rows ship: with `dedup`, not those whose
    messages an earlier part holds (a part holds each conversation once: its own audit dropped
    the repeats)."""
    keys = [_keys(path) for path in key_files]
    if not dedup or not keys:
        return [np.ones(len(k), dtype=bool) for k in keys]
    every = np.concatenate(keys)
    _, first = np.unique(every, return_index=True)  # the first occurrence of each key
    keep = np.zeros(len(every), dtype=bool)
    keep[first] = True
    return np.split(keep, np.cumsum([len(k) for k in keys])[:-1])


def _groups(table: pa.Table) -> list[tuple[str, str]]:
    pairs = table.select(["variant", "bucket"]).group_by(["variant", "bucket"]).aggregate([])
    return sorted(zip(pairs.column("variant").to_pylist(), pairs.column("bucket").to_pylist(), strict=True))


def _group_rows(table: pa.Table, variant: str, bucket: str) -> pa.Table:
    """The rows of one variant and bucket, copied (no reference kept to the part's buffers)."""
    return table.filter(pc.and_(pc.equal(table["variant"], variant), pc.equal(table["bucket"], bucket)))


class BucketShards:
    """One variant and bucket's shard files, at most `shard_rows` rows each, written as rows come."""

    def __init__(self, root: Path, variant: str, bucket: str, shard_rows: int, schema: pa.Schema):
        self.root, self.dir, self.shard_rows, self.schema = root, root / variant / bucket, shard_rows, schema
        self.files: list[str] = []
        self.rows = self.in_file = self.pending_bytes = 0
        self.pending: list[pa.Table] = []
        self.writer: pq.ParquetWriter | None = None

    def add(self, table: pa.Table) -> None:
        self.pending.append(table)
        self.pending_bytes += table.nbytes
        if self.pending_bytes >= FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        table = pa.concat_tables(self.pending) if self.pending else self.schema.empty_table()
        self.pending, self.pending_bytes = [], 0
        while table.num_rows:
            if self.writer is None:
                path = self.dir / f"shard-{len(self.files):05d}.parquet"
                path.parent.mkdir(parents=True, exist_ok=True)
                self.writer, self.in_file = pq.ParquetWriter(path, self.schema), 0
                self.files.append(str(path.relative_to(self.root)))
            n = min(self.shard_rows - self.in_file, table.num_rows)
            self.writer.write_table(table.slice(0, n))
            self.in_file, self.rows, table = self.in_file + n, self.rows + n, table.slice(n)
            if self.in_file == self.shard_rows:
                self.writer.close()
                self.writer = None

    def close(self) -> dict:
        self.flush()
        if self.writer is not None:
            self.writer.close()
        return {"rows": self.rows, "files": self.files}


def write_data(parts: list[str], keep: list[np.ndarray], root: Path, shard_rows: int) -> tuple[dict, Counter]:
    """The parts' shipped rows as shards under `root`: (manifest, rows dropped per variant)."""
    buckets: dict[tuple[str, str], BucketShards] = {}
    dropped: Counter = Counter()
    for path, kept in zip(parts, keep, strict=True):
        table = pq.read_table(path)
        if table.num_rows != len(kept):
            raise SFTAssemblyError(
                f"{path}: {table.num_rows} rows but {len(kept)} messages keys (a stale part)"
            )
        mask = pa.array(kept, type=pa.bool_())
        dropped.update(table.filter(pc.invert(mask)).column("variant").to_pylist())
        table = table.filter(mask)
        for variant, bucket in _groups(table):
            if (variant, bucket) not in buckets:
                buckets[variant, bucket] = BucketShards(root, variant, bucket, shard_rows, table.schema)
            buckets[variant, bucket].add(_group_rows(table, variant, bucket))
    manifest: dict[str, dict] = {}
    for (variant, bucket), shards in sorted(buckets.items()):
        manifest.setdefault(variant, {})[bucket] = shards.close()
    return manifest, dropped


class KeyDigest:
    """Rows and a digest of their key columns, in order (the same however the rows are chunked)."""

    def __init__(self):
        self.rows, self.values, self.lengths = 0, hashlib.sha256(), hashlib.sha256()

    def update(self, table: pa.Table) -> None:
        columns = [pc.cast(table[c], pa.large_string()) for c in KEY_COLUMNS]
        separator = pa.scalar("\x1f", pa.large_string())
        joined = pc.binary_join_element_wise(
            *columns, separator, null_handling="replace", null_replacement="\x00"
        )
        for chunk in joined.chunks:
            if not len(chunk):
                continue
            offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64)[
                chunk.offset : chunk.offset + len(chunk) + 1
            ]
            self.values.update(memoryview(chunk.buffers()[2])[offsets[0] : offsets[-1]])
            self.lengths.update(np.diff(offsets).tobytes())
        self.rows += table.num_rows

    def result(self) -> tuple[int, str, str]:
        return self.rows, self.values.hexdigest(), self.lengths.hexdigest()


def verify_data(parts: list[str], keep: list[np.ndarray], root: Path, manifest: dict) -> None:
    """The written shards hold exactly the parts' shipped rows, bucket by bucket, in order."""
    expected: dict[tuple[str, str], KeyDigest] = defaultdict(KeyDigest)
    for path, kept in zip(parts, keep, strict=True):
        table = pq.read_table(path, columns=[*KEY_COLUMNS, "bucket"]).filter(pa.array(kept, type=pa.bool_()))
        for variant, bucket in _groups(table):
            expected[variant, bucket].update(_group_rows(table, variant, bucket))
    written: dict[tuple[str, str], KeyDigest] = defaultdict(KeyDigest)
    for variant, buckets in manifest.items():
        for bucket, entry in buckets.items():
            for f in entry["files"]:
                written[variant, bucket].update(pq.read_table(root / f, columns=list(KEY_COLUMNS)))
            if entry["rows"] != written[variant, bucket].rows:
                raise SFTAssemblyError(f"{variant}/{bucket}: manifest says {entry['rows']} rows, files hold "
                                       f"{written[variant, bucket].rows}")  # fmt: skip
    want = {k: d.result() for k, d in expected.items()}
    got = {k: d.result() for k, d in written.items()}
    if want != got:
        differ = sorted(k for k in want.keys() | got.keys() if want.get(k) != got.get(k))
        rows = {k: (want.get(k, (0,))[0], got.get(k, (0,))[0]) for k in differ}
        counts = [f"{v}/{b}: {n} rows in the parts, {m} written" for (v, b), (n, m) in rows.items()]
        raise SFTAssemblyError(f"the written SFT shards differ from the parts' rows: {'; '.join(counts)}")


def assemble_data(
    parts: list[str], keep: list[np.ndarray], out_dir: str, shard_rows: int
) -> tuple[dict, Counter]:
    """write_data into a directory beside `out_dir`, verified, then renamed onto it."""
    with atomic_dir(out_dir) as tmp:
        manifest, dropped = write_data(parts, keep, tmp, shard_rows)
        verify_data(parts, keep, tmp, manifest)
    return manifest, dropped
