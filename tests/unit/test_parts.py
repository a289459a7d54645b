"""Per-source parts of the downstream stages: a new source adds parts and changes none."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mathforge.config import validate_config
from mathforge.errors import ConfigError, InputError
from mathforge.ids import shard_of
from mathforge.io import read_records, read_shard_records
from mathforge.workflow import Paths


def config(*sources, tables=()):
    return validate_config({
        "sources": [{"name": n, "format": "aops_jsonl", "path": f"{n}.jsonl", **extra} for n, extra in sources],
        "solutions": {"n_shards": 3}, "formal": {"n_shards": 2},
        "proofs": {"statement_tables": [{"name": t, "path": f"{t}.jsonl"} for t in tables]},
    })  # fmt: skip


def test_parts_per_source_with_overrides_and_statement_tables():
    paths = Paths(config(("a", {}), ("b", {"solution_shards": 1, "formal_shards": 1}), tables=["t"]))
    assert paths.parts("solutions") == [("a", 0), ("a", 1), ("a", 2), ("b", 0)]
    assert paths.parts("formal") == [("a", 0), ("a", 1), ("b", 0)]
    assert paths.parts("proofs") == [("a", 0), ("a", 1), ("b", 0), ("t", 0), ("t", 1)]
    assert paths.part_files("solutions/{source}/shard-{shard}.parquet", "formal")[-1] == (
        f"{paths.results}/solutions/b/shard-0.parquet"
    )
    assert paths.earlier_sources("a") == [] and paths.earlier_sources("b") == ["a"]


def test_a_new_source_keeps_every_old_part():
    before = Paths(config(("a", {}), ("b", {}))).parts("solutions")
    after = Paths(config(("a", {}), ("b", {}), ("new", {"solution_shards": 1}))).parts("solutions")
    assert after[: len(before)] == before and after[len(before) :] == [("new", 0)]


def test_a_statement_table_may_not_share_a_sources_name():
    with pytest.raises(ConfigError, match=r"statement_tables: names must differ from the sources'.*\['a'\]"):
        config(("a", {}), tables=["a"])


def test_read_shard_records_streams_exactly_the_shard(tmp_path):
    path = tmp_path / "t.parquet"
    ids = [f"p{i}" for i in range(1000)]
    pq.write_table(pa.table({"problem_id": ids, "x": list(range(1000))}), path, row_group_size=128)
    every = read_records(path)
    for shard in range(3):
        got = read_shard_records(path, "problem_id", shard, 3, batch_rows=100)
        assert got == [r for r in every if shard_of(r["problem_id"], 3) == shard]
    with pytest.raises(InputError, match=r"t\.parquet.*expected a `thread_uid` column"):
        read_shard_records(path, "thread_uid", 0, 3)


def test_read_shard_records_holds_one_row_group_at_a_time(tmp_path):
    """Memory flat in the upstream table: Arrow's peak while reading a 40-row-group table stays
    within a few row groups (reading ahead across row groups grew with the file)."""
    import subprocess
    import sys

    path = tmp_path / "t.parquet"
    rows = 40 * 500
    text = ["x" * 2000 + str(i) for i in range(rows)]  # compresses to little on disk, 2 KB a row in memory
    pq.write_table(
        pa.table({"problem_id": [f"p{i}" for i in range(rows)], "text": text}), path, row_group_size=500
    )
    code = (
        "import sys, pyarrow as pa; from mathforge.io import read_shard_records; "
        f"read_shard_records({str(path)!r}, 'problem_id', 0, 40); "
        "print(pa.default_memory_pool().max_memory())"
    )
    peak = int(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    )
    one_group = 500 * 2000
    assert peak < 8 * one_group, f"Arrow peak {peak / 2**20:.1f} MB for 1 MB row groups"
