"""The streaming Stack Exchange ingest writes the same table and stats as the old in-memory one.

The old implementation is kept only in `benchmarks/legacy_se_ingest.py`; both run `ingest_source`
on the real shared samples and on synthetic dumps with the shapes real dumps have.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pyarrow.parquet as pq
import pytest
from conftest import summary_fields

from mathforge.errors import InputError
from mathforge.forum import stackexchange, stage

REPO = Path(__file__).resolve().parents[3]
SHARED_FORUM = REPO.parent / "shared" / "data" / "forum"
SITES = ["math.stackexchange.com", "mathoverflow.net"]
LIMITS = {"remove_quotes": True, "max_post_chars": 16000, "max_discussion_chars": 96000}


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


legacy = _load("legacy_se_ingest")
bench = _load("se_ingest_memory")


def source(path: Path, license: str | None = None, max_threads: int | None = None, site: str = "") -> dict:
    return {"name": "mse", "format": "stackexchange_xml", "path": str(path), "site": site, "license": license,
            "max_threads": max_threads}  # fmt: skip


def run_both(src: dict, tmp_path: Path, limits: dict = LIMITS) -> tuple[list[dict], dict]:
    """Run old and new; assert identical rows (in order), schema and stats; return the new ones."""
    outputs = {}
    for name, run in (("old", legacy.ingest_source), ("new", stage.run)):
        out = tmp_path / name
        run(src, limits, str(out / "raw.parquet"), str(out / "stats.json"))
        table = pq.read_table(out / "raw.parquet")
        stats = summary_fields(out / "stats.json")
        outputs[name] = (table.schema, table.to_pylist(), stats)
        assert sorted(p.name for p in out.iterdir()) == ["raw.parquet", "stats.json"]  # spill removed
    assert outputs["new"][0].equals(outputs["old"][0])
    assert outputs["new"][1] == outputs["old"][1]
    assert outputs["new"][2] == outputs["old"][2]
    return outputs["new"][1], outputs["new"][2]


def row(**attrs: object) -> str:
    return "  <row " + " ".join(f"{k}={quoteattr(str(v))}" for k, v in attrs.items()) + " />\n"


def write_posts(path: Path, *rows: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('<?xml version="1.0" encoding="utf-8"?>\n<posts>\n' + "".join(rows) + "</posts>\n")
    return path


@pytest.mark.parametrize("site", SITES)
@pytest.mark.parametrize("license", [None, "CC BY-SA 4.0"])
def test_real_samples_same_output(site: str, license: str | None, tmp_path: Path) -> None:
    rows, stats = run_both(source(SHARED_FORUM / site / "Posts.xml", license), tmp_path)
    assert stats["n_out"] == 100 == len(rows)
    assert all(r["source_url"] == f"https://{site}/q/{r['thread_id']}" for r in rows)


def test_real_sample_with_truncation_and_max_threads_same_output(tmp_path: Path) -> None:
    limits = {"remove_quotes": True, "max_post_chars": 300, "max_discussion_chars": 1500}
    src = source(SHARED_FORUM / "mathoverflow.net" / "Posts.xml", max_threads=60, site="mathoverflow.net")
    rows, stats = run_both(src, tmp_path, limits)
    assert stats["dropped"]["over_max_threads"] == 40
    assert (
        stats["truncated"]["forum_post"]["rows"] > 0 and stats["truncated"]["forum_discussions"]["rows"] > 0
    )
    assert any(r["truncated"] for r in rows)


def test_edge_cases_same_output(tmp_path: Path) -> None:
    path = write_posts(
        tmp_path / "dump" / "math.stackexchange.com" / "Posts.xml",
        row(Id=21, PostTypeId=2, ParentId=20, Score=1, Body="<p>answer before its question</p>", OwnerUserId=5),
        row(Id=30, PostTypeId=1, AcceptedAnswerId=99, Title="accepted answer deleted", Body="<p>q30</p>",
            ClosedDate="2015-01-01T00:00:00.000", CreationDate="2010-01-01T00:00:00"),
        row(Id=20, PostTypeId=1, AcceptedAnswerId=22, Title="q", Body="<p>q20</p>", OwnerDisplayName="anon"),
        row(Id=22, PostTypeId=2, ParentId=20, Score=-2, Body="<p>accepted, low score</p>"),
        row(Id=23, PostTypeId=2, ParentId=15, Body="<p>orphan: its question was deleted</p>"),
        row(Id=24, PostTypeId=4, Body="<p>tag wiki</p>"),
        row(Id=25, PostTypeId=1, Title="", Body="<p> </p>"),
        row(Id=31, PostTypeId=2, ParentId=30, Score=3, Body="<p>a</p>"),
        row(Id=32, PostTypeId=2, ParentId=30, Score=3, Body="<p>tie</p>", OwnerUserId=""),
        row(Id=9, PostTypeId=1, Title="repeated id, first copy", Body="<p>old</p>"),
        row(Id=9, PostTypeId=1, Title="repeated id, last copy", Body="<p>new</p>"),
        row(Id=10, PostTypeId=1, Title="no answers", Body="<p>q10</p>", CreationDate="2019-01-01"),
    )  # fmt: skip
    rows, stats = run_both(source(path), tmp_path)
    assert [r["thread_id"] for r in rows] == ["9", "10", "20", "30"]
    assert rows[0]["title"] == "repeated id, last copy"
    assert (
        rows[2]["forum_discussions"] == "Post 1:\naccepted, low score\n\nPost 2:\nanswer before its question"
    )
    assert stats["dropped"] == {"empty_post": 1}


def test_random_synthetic_dump_same_output(tmp_path: Path) -> None:
    posts = tmp_path / "dump" / "math.stackexchange.com" / "Posts.xml"
    posts.parent.mkdir(parents=True)
    threads = bench.write_synthetic_posts(posts, 400_000, seed=3, window=16)
    limits = {"remove_quotes": False, "max_post_chars": 1500, "max_discussion_chars": 3000}
    rows, stats = run_both(source(posts), tmp_path, limits)
    assert stats["n_in"] == threads and len(rows) > 100


@pytest.mark.parametrize(
    ("rows", "where"),
    [
        ([row(Id=1, PostTypeId=1, Body="x"), row(Id=2, PostTypeId=2, Body="no parent")], "line 4 (row Id=2)"),
        (
            [row(Id=1, PostTypeId=1, Body="x"), '  <row Id="2" PostTypeId="2" Body="a < b" />\n'],
            "line 4, column",
        ),
        ([row(Id=1, PostTypeId=1, Body="x", Score="high")], "line 3"),
        ([row(Id=10**20, PostTypeId=1, Body="x")], "line 3"),
    ],
)
def test_bad_input_errors_name_file_and_line(rows: list[str], where: str, tmp_path: Path) -> None:
    path = write_posts(tmp_path / "Posts.xml", *rows)
    with pytest.raises(InputError) as new_error:
        stage.run(source(path), LIMITS, str(tmp_path / "out" / "raw.parquet"), str(tmp_path / "s.json"))
    assert str(path) in str(new_error.value) and where in str(new_error.value)
    assert list((tmp_path / "out").iterdir()) == []  # no spill directory and no partial table left
    if "10000" not in str(rows):  # the old reader had no 64-bit limit: there it failed differently
        with pytest.raises(InputError) as old_error:
            legacy.ingest_source(
                source(path), LIMITS, str(tmp_path / "o" / "raw.parquet"), str(tmp_path / "o.json")
            )
        assert str(old_error.value) == str(new_error.value)


def test_spill_goes_to_the_given_directory_and_is_removed(tmp_path: Path) -> None:
    path = write_posts(tmp_path / "Posts.xml", row(Id=1, PostTypeId=1, Body="<p>q</p>"))
    spill = tmp_path / "spill"
    threads = stackexchange.read_posts_xml(path, "mse", "", None, spill_dir=spill)
    first = next(threads)
    assert first.thread_id == "1"
    (scratch,) = spill.iterdir()
    assert (scratch / "posts.sqlite").exists()
    threads.close()  # a consumer that stops early still removes the scratch directory
    assert list(spill.iterdir()) == []


def test_failed_write_removes_the_spill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_posts(tmp_path / "Posts.xml", row(Id=1, PostTypeId=1, Body="<p>q</p>"))

    def failing_writer(rows, schema, out_path) -> None:
        next(iter(rows))  # the reader has spilled and yielded its first thread
        raise OSError("disk full")

    monkeypatch.setattr(stage, "write_parquet_rows", failing_writer)
    with pytest.raises(OSError, match="disk full") as error:
        stage.run(source(path), LIMITS, str(tmp_path / "out" / "raw.parquet"), str(tmp_path / "s.json"))
    assert list((tmp_path / "out").iterdir()) == []  # checked while the traceback is still alive
    assert error.value is not None
