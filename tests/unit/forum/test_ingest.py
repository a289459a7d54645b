"""ingest_source: one forum source -> raw.parquet + stats json, drops counted by reason, atomic outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import summary_fields

from mathforge.errors import ConfigError, InputError
from mathforge.forum.stage import clean_thread
from mathforge.forum.stage import run as ingest_source
from mathforge.forum.threads import THREAD_SCHEMA, Thread

REPO = Path(__file__).resolve().parents[3]
SHARED_FORUM = REPO.parent / "shared" / "data" / "forum"

LIMITS = {"remove_quotes": True, "max_post_chars": 16000, "max_discussion_chars": 96000}


def aops_source(path: Path, **extra: object) -> dict:
    return {"name": "aops", "format": "aops_jsonl", "path": str(path), "site": "aops.com", "license": "lic",
            "max_threads": None, **extra}  # fmt: skip


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def run(source: dict, tmp_path: Path, limits: dict | None = None) -> tuple[object, list[dict], dict, Path]:
    out_dir = tmp_path / "out"
    stats = ingest_source(source, limits or LIMITS, str(out_dir / "raw.parquet"), str(out_dir / "stats.json"))
    table = pq.read_table(out_dir / "raw.parquet")
    assert table.schema.equals(THREAD_SCHEMA, check_metadata=False)
    return stats, table.to_pylist(), summary_fields(out_dir / "stats.json"), out_dir


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".tmp" in p.name) if directory.exists() else []


def test_drops_are_counted_by_reason(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"forum_post": "first", "id": 1},
            {"forum_post": "   ", "id": 2},  # empty after strip
            {"forum_post": "[quote]only a quote[/quote]", "id": 3},  # empty after quote removal
            {"forum_post": "dup of 1", "id": 1},
            {"forum_post": "fourth", "id": 4},
            {"forum_post": "fifth", "id": 5},
        ],
    )
    stats, rows, stats_json, out_dir = run(aops_source(path, max_threads=2), tmp_path)
    assert [r["thread_id"] for r in rows] == ["1", "4"]
    assert stats.n_in == 6 and stats.n_out == 2
    assert dict(stats.dropped) == {"empty_post": 2, "duplicate_thread_id": 1, "over_max_threads": 1}
    assert stats_json == {
        "step": "ingest",
        "source": "aops",
        "n_in": 6,
        "n_out": 2,
        "dropped": {"duplicate_thread_id": 1, "empty_post": 2, "over_max_threads": 1},
        "truncated": {
            "forum_post": {"rows": 0, "chars_cut": 0},
            "forum_discussions": {"rows": 0, "chars_cut": 0, "posts_cut": 0},
        },
        "quotes_removed": {"rows": 1, "chars": len("[quote]only a quote[/quote]")},
        "attribution": {"rows_without_source_url": 2, "rows_without_author": 2},
    }
    assert sorted(p.name for p in out_dir.iterdir()) == ["raw.parquet", "stats.json"]


def test_rows_carry_uid_and_provenance(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "in.jsonl", [{"forum_post": " Prove it. ", "forum_discussions": "Post 1:\nok"}]
    )
    _stats, (row,), _json, _dir = run(aops_source(path), tmp_path)
    assert row == {
        "thread_uid": "aops:L1",
        "source": "aops",
        "site": "aops.com",
        "thread_id": "L1",
        "post_id": "L1",
        "title": "",
        "forum_post": "Prove it.",
        "forum_discussions": "Post 1:\nok",
        "n_discussion_posts": 1,
        "license": "lic",
        "source_url": None,
        "authors": [],
        "source_file": str(path),
        "source_record": "line 1",
        "truncated": [],
    }


def test_quotes_removed_and_discussion_truncated_at_post_boundary(tmp_path: Path) -> None:
    discussion = "Post 1:\n[quote=A]the problem again[/quote]My solution.\n\nPost 2:\n" + "x" * 200
    path = write_jsonl(
        tmp_path / "in.jsonl", [{"forum_post": "Q [quote]old[/quote]text", "forum_discussions": discussion}]
    )
    limits = {**LIMITS, "max_discussion_chars": 100}
    stats, (row,), stats_json, _dir = run(aops_source(path), tmp_path, limits)
    assert row["forum_post"] == "Q text"
    assert row["forum_discussions"] == "Post 1:\nMy solution."
    assert [t["field"] for t in row["truncated"]] == ["forum_discussions"]
    assert stats.counters["truncated"]["forum_discussions"]["rows"] == 1
    assert stats_json["truncated"]["forum_discussions"]["rows"] == 1


def test_quote_removal_can_be_disabled(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", [{"forum_post": "[quote]q[/quote] a"}])
    _stats, (row,), _json, _dir = run(aops_source(path), tmp_path, {**LIMITS, "remove_quotes": False})
    assert row["forum_post"] == "[quote]q[/quote] a"


def test_long_first_post_is_cut_to_max_post_chars(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", [{"forum_post": "abc " * 100}])
    _stats, (row,), _json, _dir = run(aops_source(path), tmp_path, {**LIMITS, "max_post_chars": 10})
    assert row["forum_post"] == "abc abc ab"


def test_zero_limits_mean_no_limit() -> None:
    thread = Thread("s", "site", "1", "1", "", "p" * 50, "Post 1:\n" + "d" * 50, 1, "l", "f", "line 1")
    cleaned = clean_thread(thread, {"remove_quotes": True, "max_post_chars": 0, "max_discussion_chars": 0})
    assert cleaned.forum_post == "p" * 50
    assert cleaned.forum_discussions == "Post 1:\n" + "d" * 50
    assert cleaned.truncated == []


def test_unknown_format_is_a_config_error(tmp_path: Path) -> None:
    source = aops_source(tmp_path / "x.csv", format="csv")
    with pytest.raises(ConfigError, match="format 'csv' is not a forum format"):
        ingest_source(source, LIMITS, str(tmp_path / "raw.parquet"), str(tmp_path / "stats.json"))
    assert not (tmp_path / "raw.parquet").exists()


def test_empty_source_still_writes_typed_empty_table(tmp_path: Path) -> None:
    posts = tmp_path / "Posts.xml"
    posts.write_text('<?xml version="1.0" encoding="utf-8"?>\n<posts>\n</posts>\n', encoding="utf-8")
    source = {"name": "se", "format": "stackexchange_xml", "path": str(posts), "site": "x", "license": None}
    stats, rows, stats_json, _dir = run(source, tmp_path)
    assert rows == [] and stats.n_in == 0 and stats_json["n_out"] == 0


# --- bad input: clear error, nothing half-written --------------------------------------------------------


BAD_AOPS = {
    "invalid_json": (b'{"forum_post": "a"}\n{"forum_post": \n', "line 2"),
    "array_line": (b'{"forum_post": "a"}\n[1, 2]\n', "line 2"),
    "non_utf8": (b'{"forum_post": "a"}\n{"forum_post": "\xff\xfe"}\n', "line 2"),
    "missing_post": (b'{"forum_post": "a"}\n{"forum_post": "b"}\n{"post": "c"}\n', "line 3"),
    "bad_discussions": (b'{"forum_post": "a", "forum_discussions": ["x"]}\n', "line 1"),
    "empty": (b"", None),
}


@pytest.mark.parametrize("case", sorted(BAD_AOPS))
def test_bad_aops_input_writes_nothing(tmp_path: Path, case: str) -> None:
    content, where = BAD_AOPS[case]
    path = tmp_path / "in.jsonl"
    path.write_bytes(content)
    out_dir = tmp_path / "out"
    out, stats_path = out_dir / "raw.parquet", out_dir / "stats.json"
    with pytest.raises(InputError) as exc:
        ingest_source(aops_source(path), LIMITS, str(out), str(stats_path))
    assert str(path) in str(exc.value)
    assert exc.value.where == where
    assert not out.exists()
    assert not stats_path.exists()
    assert leftovers(out_dir) == []


Q1 = '  <row Id="1" PostTypeId="1" Body="a" />\n'
BAD_XML = {
    "unclosed_tag": "<posts>\n" + Q1 + '  <row Id="2" PostTypeId="1">\n</posts>\n',
    "wrong_root": '<users>\n  <row Id="1" PostTypeId="1" />\n</users>\n',
    "missing_id": "<posts>\n" + Q1 + '  <row PostTypeId="1" Body="b" />\n</posts>\n',
    "answer_without_parent": "<posts>\n" + Q1 + '  <row Id="2" PostTypeId="2" />\n</posts>\n',
    "bad_score": '<posts>\n  <row Id="1" PostTypeId="1" Score="1e3" />\n</posts>\n',
}
BAD_XML_WHERE = {
    "unclosed_tag": "line 4, column 2",
    "wrong_root": "line 1",
    "missing_id": "line 3",
    "answer_without_parent": "line 3 (row Id=2)",
    "bad_score": "line 2",
}


@pytest.mark.parametrize("case", sorted(BAD_XML))
def test_bad_posts_xml_writes_nothing(tmp_path: Path, case: str) -> None:
    path = tmp_path / "Posts.xml"
    path.write_text(BAD_XML[case], encoding="utf-8")
    out_dir = tmp_path / "out"
    out, stats_path = out_dir / "raw.parquet", out_dir / "stats.json"
    source = {"name": "se", "format": "stackexchange_xml", "path": str(path), "site": "x", "license": None}
    with pytest.raises(InputError) as exc:
        ingest_source(source, LIMITS, str(out), str(stats_path))
    assert exc.value.where == BAD_XML_WHERE[case]
    assert f"{path}:{BAD_XML_WHERE[case]}: " in str(exc.value)
    assert not out.exists()
    assert not stats_path.exists()
    assert leftovers(out_dir) == []


# --- the real shared samples ---------------------------------------------------------------------------


def shared(relative: str) -> Path:
    path = SHARED_FORUM / relative
    if not path.is_file():
        pytest.skip(f"shared sample data not available at {path}")
    return path


def test_real_aops_sample(tmp_path: Path) -> None:
    path = shared("aops_sample.jsonl")
    _stats, rows, stats_json, out_dir = run(aops_source(path, license="unknown"), tmp_path)
    assert stats_json["n_in"] == stats_json["n_out"] == 10
    assert stats_json["dropped"] == {}
    assert [r["thread_uid"] for r in rows] == [f"aops:L{i}" for i in range(1, 11)]
    assert all(r["source_file"] == str(path) and r["license"] == "unknown" for r in rows)
    assert not any("[quote" in r["forum_post"] + r["forum_discussions"] for r in rows)
    # line 8's second reply opens '[quote]' twice and never closes it: the tags go, the reply's
    # own solution stays.
    assert "I am going to put a solution of my problem" in rows[7]["forum_discussions"]
    assert rows[7]["forum_discussions"].rstrip().endswith("sqrt(S)*3^(1/4)")
    assert leftovers(out_dir) == []


@pytest.mark.parametrize(("site", "n_answers"), [("math.stackexchange.com", 125), ("mathoverflow.net", 189)])
def test_real_stackexchange_samples(tmp_path: Path, site: str, n_answers: int) -> None:
    path = shared(f"{site}/Posts.xml")
    source = {"name": site.split(".")[0], "format": "stackexchange_xml", "path": str(path), "site": site,
              "license": None, "max_threads": None}  # fmt: skip
    _stats, rows, stats_json, _dir = run(source, tmp_path)
    assert stats_json["n_in"] == stats_json["n_out"] == 100
    assert sum(r["n_discussion_posts"] for r in rows) == n_answers
    assert stats_json["truncated"]["forum_discussions"]["rows"] == 0
    assert {r["license"] for r in rows} == {"CC BY-SA 2.5", "CC BY-SA 3.0", "CC BY-SA 4.0"}
    assert all(r["thread_uid"] == f"{source['name']}:{r['thread_id']}" for r in rows)


def test_real_sample_truncation_and_max_threads(tmp_path: Path) -> None:
    path = shared("math.stackexchange.com/Posts.xml")
    source = {"name": "mse", "format": "stackexchange_xml", "path": str(path), "site": "mse", "license": None,
              "max_threads": 40}  # fmt: skip
    _stats, rows, stats_json, _dir = run(source, tmp_path, {**LIMITS, "max_discussion_chars": 500})
    assert len(rows) == 40
    assert stats_json["dropped"] == {"over_max_threads": 60}
    assert all(len(r["forum_discussions"]) <= 500 for r in rows)
    truncated = [r for r in rows if r["truncated"]]
    assert truncated and stats_json["truncated"]["forum_discussions"]["rows"] == len(truncated)
    assert all(r["forum_discussions"].startswith("Post 1:\n") for r in truncated)
