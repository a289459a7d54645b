"""import_problems: bring-your-own problem tables (.jsonl / .parquet) -> extracted problems."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import summary_fields

from mathforge.errors import InputError
from mathforge.ids import problem_id, shard_of
from mathforge.problems.table import import_problems
from mathforge.schemas.problems import DROPPED_SCHEMA, EXTRACTED_SCHEMA

SOURCE = {"name": "byo", "format": "problem_table", "site": "my-site", "license": "CC0-1.0"}


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def run(path: Path, tmp_path: Path, shard: int = 0, n_shards: int = 1, tag: str = "") -> tuple:
    out = tmp_path / f"out{tag}"
    stats = import_problems({**SOURCE, "path": str(path)}, shard, n_shards, str(out / "problems.parquet"),
                            str(out / "dropped.parquet"), str(out / "stats.json"))  # fmt: skip
    problems = pq.read_table(out / "problems.parquet")
    dropped = pq.read_table(out / "dropped.parquet")
    assert problems.schema.equals(EXTRACTED_SCHEMA, check_metadata=False)
    assert dropped.schema.equals(DROPPED_SCHEMA, check_metadata=False)
    return stats, problems.to_pylist(), dropped.to_pylist(), summary_fields(out / "stats.json")


def test_jsonl_rows_become_problems_with_provenance(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", [{"problem": "  What is $1+1$?  ", "expected_answer": "2"}])
    stats, (row,), dropped, stats_json = run(path, tmp_path)
    assert dropped == []
    assert row["problem"] == "What is $1+1$?"
    assert row["expected_answer"] == "2"
    assert row["thread_id"] == row["post_id"] == "line1"
    assert row["thread_uid"] == "byo:line1"
    assert row["problem_id"] == problem_id("  What is $1+1$?  ", "byo", "line1")
    assert (row["source"], row["site"], row["license"]) == ("byo", "my-site", "CC0-1.0")
    assert (row["source_file"], row["source_record"]) == (str(path), "line 1")
    assert (row["problem_index"], row["forum_post"], row["forum_discussions"], row["extraction"]) == (
        0,
        "",
        "",
        None,
    )
    assert stats_json == {"step": "import_problems", "n_in": 1, "n_out": 1, "dropped": {}}
    assert (stats.n_in, stats.n_out) == (1, 1)


def test_expected_answer_is_optional(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", [{"problem": "a"}, {"problem": "b", "expected_answer": None}])
    _stats, rows, _dropped, _json = run(path, tmp_path)
    assert [r["expected_answer"] for r in rows] == [None, None]


def test_numeric_answers_and_ids_become_strings(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "p.jsonl",
        [
            {"problem": "a", "expected_answer": 2, "id": 17},
            {"problem": "b", "expected_answer": 2.5, "id": "x-1"},
            {"problem": 12, "expected_answer": -3},
        ],
    )
    _stats, rows, _dropped, _json = run(path, tmp_path)
    assert [r["expected_answer"] for r in rows] == ["2", "2.5", "-3"]
    assert [r["thread_id"] for r in rows] == ["17", "x-1", "line3"]
    assert rows[2]["problem"] == "12"


def test_own_id_column_priority(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "p.jsonl",
        [
            {"problem": "a", "problem_id": "P", "id": "I", "thread_id": "T"},
            {"problem": "b", "id": "I2", "thread_id": "T2"},
            {"problem": "c", "thread_id": "T3"},
            {"problem": "d", "id": ""},
        ],
    )
    _stats, rows, _dropped, _json = run(path, tmp_path)
    assert [r["thread_id"] for r in rows] == ["P", "I2", "T3", "line4"]
    assert [r["thread_uid"] for r in rows] == ["byo:P", "byo:I2", "byo:T3", "byo:line4"]


def test_row_site_and_license_override_source(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "p.jsonl", [{"problem": "a", "site": "other", "license": "MIT"}, {"problem": "b"}]
    )
    _stats, rows, _dropped, _json = run(path, tmp_path)
    assert [(r["site"], r["license"]) for r in rows] == [("other", "MIT"), ("my-site", "CC0-1.0")]


def test_empty_and_duplicate_problems_are_dropped_with_reason(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "p.jsonl",
        [
            {"problem": "Find x.", "id": "k"},
            {"problem": "   ", "id": "blank"},
            {"problem": None, "id": "null"},
            {"problem": "find   X.", "id": "k"},  # same normalized text and same id: a duplicate
            {"problem": "Find x.", "id": "other"},  # same text, other thread: kept
        ],
    )
    stats, rows, dropped, stats_json = run(path, tmp_path)
    assert [r["thread_id"] for r in rows] == ["k", "other"]
    assert stats_json["dropped"] == {"duplicate_problem": 1, "empty_problem": 2}
    assert (stats.n_in, stats.n_out) == (5, 2)
    assert [(d["reason"], d["thread_uid"], d["detail"], d["step"]) for d in dropped] == [
        ("empty_problem", "byo:blank", "line 2", "import_problems"),
        ("empty_problem", "byo:null", "line 3", "import_problems"),
        ("duplicate_problem", "byo:k", "line 4", "import_problems"),
    ]
    assert dropped[2]["problem_id"] == rows[0]["problem_id"]
    assert dropped[0]["problem_id"] is None


def test_parquet_table(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    table = pa.table(
        {
            "problem": ["a", "b", None, "d"],
            "expected_answer": pa.array([1, None, 3, 4], pa.int64()),
            "id": pa.array([10, 11, None, 13], pa.int64()),
        }
    )
    pq.write_table(table, path)
    _stats, rows, dropped, stats_json = run(path, tmp_path)
    assert [r["problem"] for r in rows] == ["a", "b", "d"]
    # integer columns with nulls stay integers: '1', not '1.0'; id 10, not '10.0'
    assert [r["expected_answer"] for r in rows] == ["1", None, "4"]
    assert [r["thread_id"] for r in rows] == ["10", "11", "13"]
    assert [r["source_record"] for r in rows] == ["row 1", "row 2", "row 4"]
    assert [(d["reason"], d["thread_uid"], d["detail"]) for d in dropped] == [
        ("empty_problem", "byo:row3", "row 3")
    ]
    assert stats_json["dropped"] == {"empty_problem": 1}


def test_parquet_float_answers(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"problem": ["a", "b"], "expected_answer": [0.5, float("nan")]}), path)
    _stats, rows, _dropped, _json = run(path, tmp_path)
    assert [r["expected_answer"] for r in rows] == ["0.5", None]


def test_shards_partition_the_rows(tmp_path: Path) -> None:
    records = [{"problem": f"Problem number {i}", "id": f"q{i}"} for i in range(40)]
    path = write_jsonl(tmp_path / "p.jsonl", records)
    results = [run(path, tmp_path, shard=s, n_shards=2, tag=str(s)) for s in (0, 1)]
    ids = [[r["thread_id"] for r in rows] for _stats, rows, _dropped, _json in results]
    assert set(ids[0]).isdisjoint(ids[1])
    assert sorted(ids[0] + ids[1], key=lambda x: int(x[1:])) == [f"q{i}" for i in range(40)]
    assert ids[0] and ids[1]
    for shard, shard_ids in enumerate(ids):
        assert all(shard_of(f"byo:{tid}", 2) == shard for tid in shard_ids)
    assert [r[3]["n_in"] for r in results] == [len(ids[0]), len(ids[1])]


def test_shard_with_no_rows_still_writes_typed_outputs(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", [{"problem": "only one", "id": "x"}])
    empty_shard = 1 - shard_of("byo:x", 2)
    _stats, rows, dropped, stats_json = run(path, tmp_path, shard=empty_shard, n_shards=2)
    assert rows == [] and dropped == [] and stats_json["n_in"] == 0


# --- bad input -----------------------------------------------------------------------------------------


def assert_fails_cleanly(path: Path, tmp_path: Path, where: str | None, *fragments: str) -> None:
    out = tmp_path / "out"
    with pytest.raises(InputError) as exc:
        import_problems({**SOURCE, "path": str(path)}, 0, 1, str(out / "problems.parquet"),
                        str(out / "dropped.parquet"), str(out / "stats.json"))  # fmt: skip
    message = str(exc.value)
    assert str(path) in message
    assert exc.value.where == where
    if where:
        assert f"{path}:{where}: " in message
    for fragment in fragments:
        assert fragment in message
    assert not out.exists() or list(out.iterdir()) == []


def test_missing_problem_column_jsonl(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", [{"problem": "ok"}, {"problem": "ok"}, {"question": "what?"}])
    assert_fails_cleanly(path, tmp_path, "line 3", "missing required column 'problem'")


def test_missing_problem_column_parquet(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"question": ["a", "b"]}), path)
    assert_fails_cleanly(path, tmp_path, "row 1", "missing required column 'problem'")


def test_missing_problem_column_in_a_row_of_another_shard_still_fails(tmp_path: Path) -> None:
    records = [{"problem": f"p{i}", "id": f"q{i}"} for i in range(10)] + [{"id": "q99"}]
    path = write_jsonl(tmp_path / "p.jsonl", records)
    assert_fails_cleanly(path, tmp_path, "line 11", "missing required column 'problem'")


def test_non_text_problem(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", [{"problem": ["a", "list"]}])
    assert_fails_cleanly(path, tmp_path, "line 1", "column 'problem' must be text or a number, got list")


def test_non_text_expected_answer(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", [{"problem": "a", "expected_answer": {"value": 1}}])
    assert_fails_cleanly(
        path, tmp_path, "line 1", "column 'expected_answer' must be text or a number, got dict"
    )


def test_invalid_json_line(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"problem": "a"}\n{"problem": "b"\n', encoding="utf-8")
    assert_fails_cleanly(path, tmp_path, "line 2", "expected one JSON object per line")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_bytes(b"")
    assert_fails_cleanly(path, tmp_path, None, "file is empty", "'problem' column")


def test_table_without_rows(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    assert_fails_cleanly(path, tmp_path, None, "the table has no rows")


def test_unsupported_table_format(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("problem\nwhat?\n", encoding="utf-8")
    assert_fails_cleanly(path, tmp_path, None, "expected a .parquet or .jsonl table")


def test_without_a_configured_licence_rows_say_unknown_not_null(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", [{"problem": "a"}, {"problem": "b", "license": None}])
    out = tmp_path / "out"
    source = {**SOURCE, "license": None, "path": str(path)}
    import_problems(source, 0, 1, str(out / "p.parquet"), str(out / "d.parquet"), str(out / "s.json"))
    assert [r["license"] for r in pq.read_table(out / "p.parquet").to_pylist()] == ["unknown", "unknown"]


def test_licence_source_url_and_author_columns_are_kept(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "p.jsonl",
        [
            {"id": "q1", "problem": "a", "license": "CC BY 4.0", "source_url": "https://ex.org/1", "author": "Ann"},
            {"id": "q2", "problem": "b", "url": "https://ex.org/2", "author_id": 9},
            {"id": "q3", "problem": "c"},
        ],
    )  # fmt: skip
    _stats, rows, _dropped, _json = run(path, tmp_path)
    by = {r["thread_id"]: r for r in rows}
    assert (by["q1"]["license"], by["q1"]["source_url"]) == ("CC BY 4.0", "https://ex.org/1")
    assert by["q1"]["authors"] == [
        {"role": "problem", "post_id": "q1", "user_id": None, "name": "Ann", "license": "CC BY 4.0"}
    ]
    assert by["q2"]["source_url"] == "https://ex.org/2" and by["q2"]["authors"][0]["user_id"] == "9"
    assert (by["q3"]["source_url"], by["q3"]["authors"], by["q3"]["license"]) == (None, [], "CC0-1.0")
