"""Licences and attribution of forum rows: never the string 'None', Stack Exchange authors and post
URLs (owner fields present, partial or missing), AoPS author/URL fields passed through."""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pyarrow.parquet as pq
import pytest
from conftest import summary_fields

from mathforge.forum.aops import read_aops_jsonl
from mathforge.forum.stackexchange import read_posts_xml
from mathforge.forum.stage import run as ingest_source

REPO = Path(__file__).resolve().parents[3]
SHARED_FORUM = REPO.parent / "shared" / "data" / "forum"
LIMITS = {"remove_quotes": True, "max_post_chars": 16000, "max_discussion_chars": 96000}


def row(**attrs: object) -> str:
    return "  <row " + " ".join(f"{k}={quoteattr(str(v))}" for k, v in attrs.items()) + " />\n"


def write_posts(path: Path, *rows: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('<?xml version="1.0" encoding="utf-8"?>\n<posts>\n' + "".join(rows) + "</posts>\n")
    return path


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def ingest(source: dict, tmp_path: Path, limits: dict | None = None) -> tuple[list[dict], dict]:
    out = tmp_path / "out"
    ingest_source(source, limits or LIMITS, str(out / "raw.parquet"), str(out / "stats.json"))
    return pq.read_table(out / "raw.parquet").to_pylist(), summary_fields(out / "stats.json")


def author(role: str, post_id: str, user_id: str | None, name: str | None, license: str) -> dict:
    return {"role": role, "post_id": post_id, "user_id": user_id, "name": name, "license": license}


# --- licences ------------------------------------------------------------------------------------------


def test_aops_without_configured_licence_is_unknown_not_the_string_none(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "a.jsonl", [{"forum_post": "Prove it."}, {"forum_post": "b", "license": ""}]
    )
    source = {"name": "aops", "format": "aops_jsonl", "path": str(path), "site": "", "license": None}
    rows, _stats = ingest(source, tmp_path)
    assert [r["license"] for r in rows] == ["unknown", "unknown"]


def test_aops_record_licence_wins_over_the_configured_one(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "a.jsonl", [{"forum_post": "a", "license": "CC BY 4.0"}, {"forum_post": "b"}]
    )
    threads = list(read_aops_jsonl(path, "aops", "aops.com", "CC0-1.0"))
    assert [t.license for t in threads] == ["CC BY 4.0", "CC0-1.0"]


# --- Stack Exchange ------------------------------------------------------------------------------------


def test_stackexchange_rows_keep_authors_in_thread_order_and_the_post_url(tmp_path: Path) -> None:
    path = write_posts(
        tmp_path / "math.stackexchange.com" / "Posts.xml",
        row(Id=10, PostTypeId=1, AcceptedAnswerId=13, CreationDate="2012-01-01T00:00:00", OwnerUserId=7,
            Title="T", Body="<p>q</p>"),
        row(Id=11, PostTypeId=2, ParentId=10, Score=3, CreationDate="2019-01-01T00:00:00", OwnerUserId=8,
            OwnerDisplayName="Ann", Body="<p>second</p>"),
        row(Id=13, PostTypeId=2, ParentId=10, Score=1, CreationDate="2010-01-01T00:00:00",
            OwnerDisplayName="user123 (deleted)", Body="<p>accepted</p>"),
        row(Id=14, PostTypeId=2, ParentId=10, Score=0, CreationDate="2019-01-01T00:00:00", Body="<p>nobody</p>"),
    )  # fmt: skip
    (thread,) = read_posts_xml(path, "mse", "math.stackexchange.com", None)
    assert thread.source_url == "https://math.stackexchange.com/q/10"
    assert thread.authors == [
        author("question", "10", "7", None, "CC BY-SA 3.0"),
        author("answer", "13", None, "user123 (deleted)", "CC BY-SA 2.5"),
        author("answer", "11", "8", "Ann", "CC BY-SA 4.0"),
        author("answer", "14", None, None, "CC BY-SA 4.0"),
    ]
    # a configured licence applies to every post
    (configured,) = read_posts_xml(path, "mse", "math.stackexchange.com", "CC0-1.0")
    assert {a["license"] for a in configured.authors} == {"CC0-1.0"}


def test_stackexchange_site_comes_from_the_dump_folder_when_not_configured(tmp_path: Path) -> None:
    path = write_posts(tmp_path / "mathoverflow.net" / "Posts.xml", row(Id=5, PostTypeId=1, Body="q"))
    (thread,) = read_posts_xml(path, "mo", "", None)
    assert (thread.site, thread.source_url) == ("mathoverflow.net", "https://mathoverflow.net/q/5")
    # a configured site that is not a host name: the folder still gives the URL, the label stays
    (labelled,) = read_posts_xml(path, "mo", "MO", None)
    assert (labelled.site, labelled.source_url) == ("MO", "https://mathoverflow.net/q/5")


def test_stackexchange_without_any_host_has_no_url_and_is_counted(tmp_path: Path) -> None:
    path = write_posts(tmp_path / "dump" / "Posts.xml", row(Id=5, PostTypeId=1, Body="q"))
    source = {"name": "se", "format": "stackexchange_xml", "path": str(path), "site": "se", "license": None}
    (r,), stats = ingest(source, tmp_path)
    assert r["source_url"] is None and r["authors"] == [author("question", "5", None, None, "CC BY-SA 4.0")]
    assert stats["attribution"] == {"rows_without_source_url": 1, "rows_without_author": 1}


def test_stackexchange_authors_follow_the_answers_kept_after_truncation(tmp_path: Path) -> None:
    path = write_posts(
        tmp_path / "math.stackexchange.com" / "Posts.xml",
        row(Id=1, PostTypeId=1, OwnerUserId=1, Body="question"),
        row(Id=2, PostTypeId=2, ParentId=1, Score=9, OwnerUserId=2, Body="a" * 60),
        row(Id=3, PostTypeId=2, ParentId=1, Score=5, OwnerUserId=3, Body="b" * 60),
        row(Id=4, PostTypeId=2, ParentId=1, Score=1, OwnerUserId=4, Body="c" * 60),
    )
    source = {"name": "mse", "format": "stackexchange_xml", "path": str(path), "site": "", "license": None}
    (r,), _stats = ingest(source, tmp_path, {**LIMITS, "max_discussion_chars": 150})
    assert r["n_discussion_posts"] == 2
    assert [(a["role"], a["user_id"]) for a in r["authors"]] == [
        ("question", "1"),
        ("answer", "2"),
        ("answer", "3"),
    ]


def test_real_stackexchange_sample_has_urls_and_authors_without_owner_fields(tmp_path: Path) -> None:
    path = SHARED_FORUM / "math.stackexchange.com" / "Posts.xml"
    if not path.is_file():
        pytest.skip(f"shared sample data not available at {path}")
    source = {"name": "mse", "format": "stackexchange_xml", "path": str(path), "site": "", "license": None}
    rows, stats = ingest(source, tmp_path)
    assert all(r["source_url"] == f"https://math.stackexchange.com/q/{r['thread_id']}" for r in rows)
    assert all(r["site"] == "math.stackexchange.com" for r in rows)
    # the sample has no owner fields: one entry per post, ids of the posts, no user
    assert sum(len(r["authors"]) for r in rows) == 100 + 125
    assert all(a["user_id"] is None and a["name"] is None for r in rows for a in r["authors"])
    assert all(r["authors"][0] == author("question", r["thread_id"], None, None, r["license"]) for r in rows)
    assert stats["attribution"] == {"rows_without_source_url": 0, "rows_without_author": 100}


# --- AoPS ----------------------------------------------------------------------------------------------


def test_aops_author_and_url_fields_are_passed_through(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [
            {"forum_post": "a", "topic_id": 42, "author": "Alice", "url": "https://aops.com/community/c6h42"},
            {"forum_post": "b", "topic_id": 43, "username": "bob", "user_id": 17, "link": "https://x/43"},
            {"forum_post": "c", "post_id": "p9", "user": {"id": 5, "username": "carol"}, "thread_url": "https://x/9"},
            {"forum_post": "d"},
        ],
    )  # fmt: skip
    threads = list(read_aops_jsonl(path, "aops", "aops.com", "unknown"))
    assert [t.source_url for t in threads] == [
        "https://aops.com/community/c6h42",
        "https://x/43",
        "https://x/9",
        None,
    ]
    assert [t.authors for t in threads] == [
        [author("question", "42", None, "Alice", "unknown")],
        [author("question", "43", "17", "bob", "unknown")],
        [author("question", "p9", "5", "carol", "unknown")],
        [],
    ]


def test_aops_attribution_fields_of_the_wrong_type_are_an_input_error(tmp_path: Path) -> None:
    from mathforge.errors import InputError

    path = write_jsonl(tmp_path / "a.jsonl", [{"forum_post": "a", "url": ["not", "a", "url"]}])
    with pytest.raises(InputError, match=r"a\.jsonl:line 1: .*'url'"):
        list(read_aops_jsonl(path, "aops", "aops.com", "unknown"))
