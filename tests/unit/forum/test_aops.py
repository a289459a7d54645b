"""read_aops_jsonl: AoPS-style JSONL -> threads, on synthetic files, bad input and the shared sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mathforge.errors import InputError
from mathforge.forum.aops import read_aops_jsonl

REPO = Path(__file__).resolve().parents[3]
AOPS_SAMPLE = REPO.parent / "shared" / "data" / "forum" / "aops_sample.jsonl"


def write_jsonl(path: Path, records: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def read(path: Path, license: str = "unknown") -> list:
    return list(read_aops_jsonl(path, "aops", "artofproblemsolving.com", license))


def test_minimal_record(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [{"forum_post": "Prove $a<b$.", "forum_discussions": ""}])
    (thread,) = read(path)
    assert thread.source == "aops"
    assert thread.site == "artofproblemsolving.com"
    assert thread.thread_id == thread.post_id == "L1"
    assert thread.forum_post == "Prove $a<b$."
    assert thread.forum_discussions == ""
    assert thread.n_discussion_posts == 0
    assert thread.title == ""
    assert thread.license == "unknown"
    assert thread.source_file == str(path)
    assert thread.source_record == "line 1"
    assert thread.to_record()["thread_uid"] == "aops:L1"


def test_ids_from_record_fields_in_priority_order(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "t.jsonl",
        [
            {"forum_post": "a", "thread_id": 7, "topic_id": 8, "id": 9},
            {"forum_post": "b", "topic_id": 8, "id": 9},
            {"forum_post": "c", "id": 9, "post_id": 99},
            {"forum_post": "d", "thread_id": "", "id": None},
        ],
    )
    threads = read(path)
    assert [t.thread_id for t in threads] == ["7", "8", "9", "L4"]
    assert [t.post_id for t in threads] == ["7", "8", "99", "L4"]


def test_blank_lines_are_skipped_but_counted_in_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"forum_post": "a"}\n\n   \n{"forum_post": "b"}\n', encoding="utf-8")
    threads = read(path)
    assert [t.source_record for t in threads] == ["line 1", "line 4"]
    assert [t.thread_id for t in threads] == ["L1", "L4"]


def test_missing_or_null_discussions_become_empty(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "t.jsonl", [{"forum_post": "a"}, {"forum_post": "b", "forum_discussions": None}]
    )
    assert [t.forum_discussions for t in read(path)] == ["", ""]


def test_discussion_posts_counted_and_newlines_normalized(tmp_path: Path) -> None:
    discussion = "Post 1:\nfirst\r\nline\r\n\r\nPost 2:\nsecond mentions Post 3 inline\rend"
    path = write_jsonl(tmp_path / "t.jsonl", [{"forum_post": "q\r\nline", "forum_discussions": discussion}])
    (thread,) = read(path)
    assert "\r" not in thread.forum_post + thread.forum_discussions
    assert thread.forum_post == "q\nline"
    assert thread.n_discussion_posts == 2  # 'Post 3' mid-line is not a header


def test_record_title_and_license_override_defaults(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "t.jsonl",
        [{"forum_post": "a", "title": "T", "license": "CC BY 4.0"}, {"forum_post": "b", "license": ""}],
    )
    first, second = read(path, license="default-licence")
    assert (first.title, first.license) == ("T", "CC BY 4.0")
    assert (second.title, second.license) == ("", "default-licence")


def test_quotes_are_not_removed_by_the_reader(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [{"forum_post": "[quote]x[/quote] y"}])
    assert read(path)[0].forum_post == "[quote]x[/quote] y"


# --- bad input: the error names the file, the line, and what was expected ---------------------------------


def assert_input_error(exc: pytest.ExceptionInfo, path: Path, where: str | None, *expected: str) -> None:
    message = str(exc.value)
    assert str(path) in message
    assert exc.value.path == str(path)
    assert exc.value.where == where
    if where is not None:
        assert f"{path}:{where}:" in message
    for fragment in expected:
        assert fragment in message, (fragment, message)


def test_invalid_json_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"forum_post": "ok"}\n{"forum_post": "oops",}\n{"forum_post": "ok"}\n', encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read(path)
    assert_input_error(exc, path, "line 2", "expected one JSON object per line")


def test_json_array_instead_of_object(tmp_path: Path) -> None:
    path = tmp_path / "arr.jsonl"
    path.write_text('{"forum_post": "ok"}\n\n["forum_post", "x"]\n', encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read(path)
    assert_input_error(exc, path, "line 3", "expected a JSON object", "list")


def test_json_scalar_instead_of_object(tmp_path: Path) -> None:
    path = tmp_path / "scalar.jsonl"
    path.write_text('"just a string"\n', encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read(path)
    assert_input_error(exc, path, "line 1", "expected a JSON object", "str")


def test_non_utf8_bytes(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"forum_post": "ok"}\n{"forum_post": "caf\xe9"}\n')
    with pytest.raises(InputError) as exc:
        read(path)
    assert_input_error(exc, path, "line 2", "expected UTF-8")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    with pytest.raises(InputError) as exc:
        read(path)
    assert_input_error(exc, path, None, "file is empty", "forum_post")


def test_only_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "blank.jsonl"
    path.write_text("\n  \n\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read(path)
    assert_input_error(exc, path, None, "no records", "JSON object")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.jsonl"
    with pytest.raises(InputError) as exc:
        read(path)
    assert_input_error(exc, path, None, "does not exist")


@pytest.mark.parametrize(
    "record",
    [{"forum_discussions": "Post 1:\nx"}, {"forum_post": None}, {"title": "no post"}],
)
def test_missing_forum_post(tmp_path: Path, record: dict) -> None:
    path = write_jsonl(tmp_path / "nopost.jsonl", [{"forum_post": "fine"}, {"forum_post": "fine"}, record])
    with pytest.raises(InputError) as exc:
        read(path)
    assert_input_error(exc, path, "line 3", "missing required column 'forum_post'")


def test_non_string_forum_post(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "intpost.jsonl", [{"forum_post": 12}])
    with pytest.raises(InputError) as exc:
        read(path)
    assert_input_error(exc, path, "line 1", "'forum_post' must be a string", "int")


@pytest.mark.parametrize("value", [["Post 1:\nx"], {"a": 1}, 5])
def test_non_string_forum_discussions(tmp_path: Path, value: object) -> None:
    path = write_jsonl(
        tmp_path / "disc.jsonl", [{"forum_post": "a"}, {"forum_post": "b", "forum_discussions": value}]
    )
    with pytest.raises(InputError) as exc:
        read(path)
    assert_input_error(exc, path, "line 2", "'forum_discussions' must be a string")


def test_error_is_raised_lazily_after_good_records(tmp_path: Path) -> None:
    """The reader streams: good records before the bad line come out first, then the error."""
    path = tmp_path / "late.jsonl"
    path.write_text('{"forum_post": "a"}\n{"forum_post": "b"}\nnot json\n', encoding="utf-8")
    threads = read_aops_jsonl(path, "aops", "site", "lic")
    assert next(threads).forum_post == "a"
    assert next(threads).forum_post == "b"
    with pytest.raises(InputError, match="line 3"):
        next(threads)


# --- the real shared sample ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_threads() -> list:
    if not AOPS_SAMPLE.is_file():
        pytest.skip(f"shared sample data not available at {AOPS_SAMPLE}")
    return list(read_aops_jsonl(AOPS_SAMPLE, "aops", "artofproblemsolving.com", "unknown"))


@pytest.fixture(scope="module")
def sample_records() -> list[dict]:
    if not AOPS_SAMPLE.is_file():
        pytest.skip(f"shared sample data not available at {AOPS_SAMPLE}")
    lines = AOPS_SAMPLE.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_sample_one_thread_per_line(sample_threads: list, sample_records: list[dict]) -> None:
    assert len(sample_threads) == len(sample_records) == 10
    # the sample has no id fields, so ids are the (stable) line numbers
    assert [t.thread_id for t in sample_threads] == [f"L{i}" for i in range(1, 11)]
    assert [t.source_record for t in sample_threads] == [f"line {i}" for i in range(1, 11)]


def test_sample_provenance(sample_threads: list) -> None:
    for thread in sample_threads:
        assert thread.source == "aops"
        assert thread.site == "artofproblemsolving.com"
        assert thread.license == "unknown"
        assert thread.source_file == str(AOPS_SAMPLE)


def test_sample_text_matches_file_with_normalized_newlines(
    sample_threads: list, sample_records: list[dict]
) -> None:
    for thread, record in zip(sample_threads, sample_records, strict=True):
        assert "\r" not in thread.forum_post and "\r" not in thread.forum_discussions
        assert thread.forum_post == record["forum_post"].replace("\r\n", "\n").replace("\r", "\n")
        assert thread.forum_discussions == record["forum_discussions"].replace("\r\n", "\n")
    assert "\r" in sample_records[0]["forum_discussions"]  # the sample really has CRLF to normalize


def test_sample_discussion_counts(sample_threads: list) -> None:
    assert [t.n_discussion_posts for t in sample_threads] == [3, 0, 2, 3, 1, 1, 0, 2, 2, 4]
    for thread in sample_threads:
        if thread.n_discussion_posts:
            assert thread.forum_discussions.startswith("Post 1:\n")
            assert f"Post {thread.n_discussion_posts}:\n" in thread.forum_discussions
        else:
            assert thread.forum_discussions == ""


def test_sample_known_content(sample_threads: list) -> None:
    assert sample_threads[0].forum_post.startswith("In a magic square $n \\times n$")
    assert sample_threads[9].forum_post.startswith("[color=cyan]1. Three integers a, b, and c")
    assert "[quote]" in sample_threads[7].forum_discussions  # removed later, by ingest
