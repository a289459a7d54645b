"""Every cut of forum text is recorded on its row (field, original and kept length, posts kept) and
counted in the ingest summary; a cut is not a drop."""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pyarrow.parquet as pq
from conftest import summary_fields

from mathforge.forum.stage import run as ingest_source

LIMITS = {"remove_quotes": True, "max_post_chars": 16000, "max_discussion_chars": 96000}


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def ingest(source: dict, tmp_path: Path, limits: dict) -> tuple[list[dict], dict]:
    out = tmp_path / "out"
    ingest_source(source, limits, str(out / "raw.parquet"), str(out / "stats.json"))
    return pq.read_table(out / "raw.parquet").to_pylist(), summary_fields(out / "stats.json")


def aops(path: Path) -> dict:
    return {"name": "aops", "format": "aops_jsonl", "path": str(path), "site": "aops.com", "license": "l"}


def test_a_5mb_post_cut_to_16000_characters_is_recorded_and_counted(tmp_path: Path) -> None:
    big = "word " * 1_000_000  # 5,000,000 characters
    path = write_jsonl(tmp_path / "a.jsonl", [{"forum_post": big, "id": 1}, {"forum_post": "short", "id": 2}])
    rows, stats = ingest(aops(path), tmp_path, LIMITS)
    cut, short = rows
    assert len(cut["forum_post"]) <= 16000
    assert cut["truncated"] == [
        {"field": "forum_post", "original_chars": 4_999_999, "kept_chars": len(cut["forum_post"]),
         "original_posts": None, "kept_posts": None}
    ]  # fmt: skip
    assert short["truncated"] == []
    assert stats["n_in"] == stats["n_out"] == 2 and stats["dropped"] == {}  # a cut is not a drop
    assert stats["truncated"]["forum_post"] == {"rows": 1, "chars_cut": 4_999_999 - len(cut["forum_post"])}
    assert stats["truncated"]["forum_discussions"] == {"rows": 0, "chars_cut": 0, "posts_cut": 0}


def test_discussion_cut_records_posts_kept_and_the_row_count(tmp_path: Path) -> None:
    discussion = "Post 1:\nfirst reply\n\nPost 2:\n" + "y" * 300 + "\n\nPost 3:\nthird"
    path = write_jsonl(tmp_path / "a.jsonl", [{"forum_post": "Q", "forum_discussions": discussion}])
    (row,), stats = ingest(aops(path), tmp_path, {**LIMITS, "max_discussion_chars": 100})
    assert row["forum_discussions"] == "Post 1:\nfirst reply"
    assert row["n_discussion_posts"] == 1
    assert row["truncated"] == [
        {"field": "forum_discussions", "original_chars": len(discussion), "kept_chars": 19,
         "original_posts": 3, "kept_posts": 1}
    ]  # fmt: skip
    assert stats["truncated"]["forum_discussions"] == {
        "rows": 1, "chars_cut": len(discussion) - 19, "posts_cut": 2
    }  # fmt: skip


def test_a_single_post_longer_than_the_limit_is_cut_mid_post_and_still_counts_as_kept(tmp_path: Path) -> None:
    discussion = "Post 1:\n" + "z" * 500
    path = write_jsonl(tmp_path / "a.jsonl", [{"forum_post": "Q", "forum_discussions": discussion}])
    (row,), _stats = ingest(aops(path), tmp_path, {**LIMITS, "max_discussion_chars": 100})
    assert len(row["forum_discussions"]) == 100
    assert row["truncated"][0]["original_posts"] == row["truncated"][0]["kept_posts"] == 1


def test_both_fields_cut_on_one_stackexchange_row(tmp_path: Path) -> None:
    def row(**attrs: object) -> str:
        return "  <row " + " ".join(f"{k}={quoteattr(str(v))}" for k, v in attrs.items()) + " />\n"

    posts = tmp_path / "Posts.xml"
    posts.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<posts>\n'
        + row(Id=1, PostTypeId=1, Title="T", Body="<p>" + "q" * 400 + "</p>")
        + row(Id=2, PostTypeId=2, ParentId=1, Score=2, Body="a" * 80)
        + row(Id=3, PostTypeId=2, ParentId=1, Score=1, Body="b" * 80)
        + "</posts>\n"
    )
    source = {
        "name": "se",
        "format": "stackexchange_xml",
        "path": str(posts),
        "site": "x.org",
        "license": None,
    }
    (r,), stats = ingest(source, tmp_path, {**LIMITS, "max_post_chars": 100, "max_discussion_chars": 120})
    assert [t["field"] for t in r["truncated"]] == ["forum_post", "forum_discussions"]
    assert r["truncated"][0]["original_chars"] == len("T\n\n" + "q" * 400) and len(r["forum_post"]) == 100
    assert (r["truncated"][1]["original_posts"], r["truncated"][1]["kept_posts"]) == (2, 1)
    assert stats["truncated"]["forum_post"]["rows"] == stats["truncated"]["forum_discussions"]["rows"] == 1


def test_quote_removal_is_counted_not_recorded_as_truncation(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [{"forum_post": "Q [quote]old text[/quote]new"}])
    (row,), stats = ingest(aops(path), tmp_path, LIMITS)
    assert row["forum_post"] == "Q new" and row["truncated"] == []
    assert stats["quotes_removed"] == {"rows": 1, "chars": len("[quote]old text[/quote]")}
