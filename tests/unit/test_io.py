"""mathforge.io: atomic writes, JSONL/Parquet readers with located errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mathforge.errors import InputError
from mathforge.io import (
    atomic_path,
    iter_jsonl,
    read_records,
    read_table_records,
    records_frame,
    require_columns,
    require_nonempty,
    write_json,
    write_parquet,
    write_text,
)


class Boom(Exception):
    pass


def test_atomic_path_renames_on_success(tmp_path: Path) -> None:
    dest = tmp_path / "sub" / "dir" / "out.txt"
    with atomic_path(dest) as tmp:
        assert tmp.parent == dest.parent
        assert tmp != dest
        tmp.write_text("done")
        assert not dest.exists()  # nothing visible until the block succeeds
    assert dest.read_text() == "done"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["out.txt"]


def test_atomic_path_exception_leaves_no_temp_and_no_destination(tmp_path: Path) -> None:
    dest = tmp_path / "out.parquet"
    with pytest.raises(Boom), atomic_path(dest) as tmp:
        tmp.write_text("half written")
        raise Boom
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_exception_keeps_previous_destination(tmp_path: Path) -> None:
    dest = tmp_path / "out.txt"
    dest.write_text("old")
    with pytest.raises(Boom), atomic_path(dest) as tmp:
        tmp.write_text("new")
        raise Boom
    assert dest.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_path_requires_something_written(tmp_path: Path) -> None:
    dest = tmp_path / "out.txt"
    with pytest.raises(RuntimeError, match="nothing was written"), atomic_path(dest):
        pass
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


def test_write_helpers_round_trip(tmp_path: Path) -> None:
    write_json({"b": 1, "a": "é"}, tmp_path / "x.json")
    assert (tmp_path / "x.json").read_text(encoding="utf-8") == '{\n  "a": "é",\n  "b": 1\n}\n'
    write_text("héllo", tmp_path / "x.txt")
    assert (tmp_path / "x.txt").read_text(encoding="utf-8") == "héllo"
    write_parquet(pd.DataFrame({"a": [1, 2]}), tmp_path / "x.parquet")
    assert read_records(tmp_path / "x.parquet") == [{"a": 1}, {"a": 2}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json", "x.parquet", "x.txt"]


def test_iter_jsonl_yields_line_numbers_and_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"a": 1}\n\n  \n{"a": 2}\r\n{"a": "x"}', encoding="utf-8")
    assert list(iter_jsonl(path)) == [(1, {"a": 1}), (4, {"a": 2}), (5, {"a": "x"})]


@pytest.mark.parametrize(
    ("content", "line", "fragment"),
    [
        (b'{"a": 1}\n{"a": }\n', 2, "expected one JSON object per line"),
        (b'{"a": 1}\n\n[1]\n', 3, "expected a JSON object, got list"),
        (b"42\n", 1, "expected a JSON object, got int"),
        (b'{"a": 1}\n{"a": "\xc3"}\n', 2, "expected UTF-8 text"),
    ],
)
def test_iter_jsonl_errors_name_file_and_line(
    tmp_path: Path, content: bytes, line: int, fragment: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(InputError) as exc:
        list(iter_jsonl(path))
    assert str(exc.value).startswith(f"{path}:line {line}: ")
    assert fragment in str(exc.value)


def test_read_table_records_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"problem": "a", "n": 1}\n\n{"problem": "b"}\n', encoding="utf-8")
    assert list(read_table_records(path)) == [
        ("line 1", {"problem": "a", "n": 1}),
        ("line 3", {"problem": "b"}),
    ]


def test_read_table_records_parquet(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"problem": ["a", "b"], "n": [1, 2]}), path)
    assert list(read_table_records(path)) == [
        ("row 1", {"problem": "a", "n": 1}),
        ("row 2", {"problem": "b", "n": 2}),
    ]


def test_read_table_records_parquet_keeps_integers_with_nulls(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(
        pa.table({"id": pa.array([7, None], pa.int64()), "x": pa.array([None, 3], pa.int64())}), path
    )
    records = [record for _where, record in read_table_records(path)]
    assert records == [{"id": 7, "x": None}, {"id": None, "x": 3}]
    assert isinstance(records[0]["id"], int)


@pytest.mark.parametrize("name", ["t.csv", "t.txt", "t"])
def test_read_table_records_unsupported_suffix(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("problem\na\n")
    with pytest.raises(InputError) as exc:
        list(read_table_records(path))
    assert str(exc.value) == f"{path}: expected a .parquet or .jsonl table"


def test_read_table_records_corrupt_parquet(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    path.write_text("this is not parquet")
    with pytest.raises(InputError) as exc:
        list(read_table_records(path))
    assert str(path) in str(exc.value)
    assert "expected a readable Parquet file" in str(exc.value)


def test_require_nonempty(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file does not exist; expected a table"):
        require_nonempty(tmp_path / "missing", "a table")
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(InputError, match="file is empty; expected a table"):
        require_nonempty(tmp_path / "empty", "a table")
    (tmp_path / "ok").write_text("x")
    require_nonempty(tmp_path / "ok", "a table")


def test_require_columns() -> None:
    require_columns({"a": "x"}, ["a"], "f", "line 1")
    with pytest.raises(InputError, match=r"^f:line 2: missing required column 'a'$"):
        require_columns({"b": "x"}, ["a"], "f", "line 2")
    with pytest.raises(InputError, match=r"^f:line 3: column 'a' must be a string, got list$"):
        require_columns({"a": []}, ["a"], "f", "line 3")


def test_records_frame_has_exact_columns_even_when_empty() -> None:
    assert list(records_frame([], ["a", "b"]).columns) == ["a", "b"]
    frame = records_frame([{"b": 2, "a": 1, "c": 3}], ["a", "b"])
    assert list(frame.columns) == ["a", "b"]
    assert frame.to_dict(orient="records") == [{"a": 1, "b": 2}]


def test_write_json_is_canonical_and_parseable(tmp_path: Path) -> None:
    write_json({"z": [1, {"y": 2, "x": 1}]}, tmp_path / "s.json")
    text = (tmp_path / "s.json").read_text()
    assert json.loads(text) == {"z": [1, {"x": 1, "y": 2}]}
    assert text.index('"x"') < text.index('"y"')


def test_stage_modules_do_not_import_pandas() -> None:
    """pandas costs ~0.3 s of every job's start (1,000s of jobs at scale); only frame makers load it."""
    import subprocess
    import sys

    code = (
        "import sys, mathforge.io, mathforge.funnel, mathforge.sft.stage, mathforge.solutions.stage; "
        "sys.exit('pandas' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_atomic_dir_replaces_only_on_success(tmp_path) -> None:
    from mathforge.io import atomic_dir

    final = tmp_path / "out"
    final.mkdir()
    (final / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(final) as tmp:
        (tmp / "new.txt").write_text("half")
        raise RuntimeError("job killed")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary directory left
    assert (final / "old.txt").read_text() == "old"
    with atomic_dir(final) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in final.iterdir()) == ["new.txt"]
