"""read_posts_xml and stackexchange_license: synthetic dumps, bad input and the real shared samples."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest

from mathforge.errors import InputError
from mathforge.forum.stackexchange import read_posts_xml, stackexchange_license

REPO = Path(__file__).resolve().parents[3]
SHARED_FORUM = REPO.parent / "shared" / "data" / "forum"
SITES = ["math.stackexchange.com", "mathoverflow.net"]

HEADER = '<?xml version="1.0" encoding="utf-8"?>\n<posts>\n'


def row(**attrs: object) -> str:
    return "  <row " + " ".join(f"{k}={quoteattr(str(v))}" for k, v in attrs.items()) + " />\n"


def write_posts(path: Path, *rows: str) -> Path:
    path.write_text(HEADER + "".join(rows) + "</posts>\n", encoding="utf-8")
    return path


def read(path: Path, license: str | None = None) -> list:
    return list(read_posts_xml(path, "mse", "math.stackexchange.com", license))


@pytest.mark.parametrize(
    ("date", "licence"),
    [
        ("2009-01-01T00:00:00.000", "CC BY-SA 2.5"),
        ("2011-04-07T23:59:59.999", "CC BY-SA 2.5"),
        ("2011-04-08T00:00:00.000", "CC BY-SA 3.0"),
        ("2018-05-01T12:00:00.000", "CC BY-SA 3.0"),
        ("2018-05-02T00:00:00.000", "CC BY-SA 4.0"),
        ("2024-03-15", "CC BY-SA 4.0"),
        ("", "CC BY-SA 4.0"),
    ],
)
def test_stackexchange_license_cutovers(date: str, licence: str) -> None:
    assert stackexchange_license(date) == licence


# --- synthetic dumps -----------------------------------------------------------------------------------


def test_question_with_answers_accepted_first_then_score_then_id(tmp_path: Path) -> None:
    path = write_posts(
        tmp_path / "Posts.xml",
        row(Id=10, PostTypeId=1, AcceptedAnswerId=13, CreationDate="2012-01-01T00:00:00", Score=5,
            Title="Is $a &lt; b$?", Body="<p>Show $a &lt; b$.</p>"),
        row(Id=11, PostTypeId=2, ParentId=10, Score=3, Body="<p>low score</p>"),
        row(Id=12, PostTypeId=2, ParentId=10, Score=9, Body="<p>high score</p>"),
        row(Id=13, PostTypeId=2, ParentId=10, Score=1, Body="<p>accepted</p>"),
        row(Id=14, PostTypeId=2, ParentId=10, Score=3, Body="<p>tie, larger id</p>"),
    )  # fmt: skip
    (thread,) = read(path)
    assert thread.thread_id == thread.post_id == "10"
    assert thread.title == "Is $a < b$?"
    assert thread.forum_post == "Is $a < b$?\n\nShow $a < b$."
    assert thread.forum_discussions == (
        "Post 1:\naccepted\n\nPost 2:\nhigh score\n\nPost 3:\nlow score\n\nPost 4:\ntie, larger id"
    )
    assert thread.n_discussion_posts == 4
    assert thread.license == "CC BY-SA 3.0"
    assert thread.source_file == str(path)
    assert thread.source_record == "line 3 (row Id=10)"
    assert thread.to_record()["thread_uid"] == "mse:10"


def test_threads_ordered_by_numeric_question_id_and_answers_may_come_first(tmp_path: Path) -> None:
    path = write_posts(
        tmp_path / "Posts.xml",
        row(Id=3, PostTypeId=2, ParentId=100, Body="answer before its question"),
        row(Id=100, PostTypeId=1, Title="Hundred", Body="q100"),
        row(Id=9, PostTypeId=1, Body="q9"),
    )
    threads = read(path)
    assert [t.thread_id for t in threads] == ["9", "100"]
    assert threads[0].forum_post == "q9"  # no title: the body alone
    assert threads[0].forum_discussions == "" and threads[0].n_discussion_posts == 0
    assert threads[1].forum_discussions == "Post 1:\nanswer before its question"
    assert threads[1].source_record == "line 4 (row Id=100)"


def test_other_post_types_and_orphan_answers_are_ignored(tmp_path: Path) -> None:
    path = write_posts(
        tmp_path / "Posts.xml",
        row(Id=1, PostTypeId=1, Body="q"),
        row(Id=2, PostTypeId=4, Body="tag wiki excerpt"),
        row(Id=3, PostTypeId=5, Body="tag wiki"),
        row(Id=4, PostTypeId=2, ParentId=999, Body="orphan"),
    )
    (thread,) = read(path)
    assert thread.thread_id == "1"
    assert thread.forum_discussions == ""


def test_configured_license_overrides_the_date_rule(tmp_path: Path) -> None:
    path = write_posts(tmp_path / "Posts.xml", row(Id=1, PostTypeId=1, CreationDate="2010-01-01", Body="q"))
    assert read(path)[0].license == "CC BY-SA 2.5"
    assert read(path, license="my licence")[0].license == "my licence"


def test_missing_score_and_empty_optional_attributes(tmp_path: Path) -> None:
    path = write_posts(
        tmp_path / "Posts.xml",
        row(Id=1, PostTypeId=1, AcceptedAnswerId="", Body="q"),
        row(Id=2, PostTypeId=2, ParentId=1, Score="", Body="b"),
        row(Id=3, PostTypeId=2, ParentId=1, Score=-2, Body="c"),
        row(Id=4, PostTypeId=2, ParentId=1, Body="a"),
    )
    # scores: 0, -2, 0 -> by score, then id: 2, 4, 3
    assert read(path)[0].forum_discussions == "Post 1:\nb\n\nPost 2:\na\n\nPost 3:\nc"


def test_multiline_body_html_is_converted(tmp_path: Path) -> None:
    body = "<p>First.</p>\n\n<ol>\n<li>$x &gt; 0$</li>\n<li>two</li>\n</ol>\n"
    body += "<pre><code>x &lt; y\n</code></pre>\n"
    path = write_posts(tmp_path / "Posts.xml", row(Id=1, PostTypeId=1, Body=body))
    assert read(path)[0].forum_post == "First.\n\n1. $x > 0$\n2. two\n\n```\nx < y\n\n```"


def test_question_only_dump_with_no_rows_gives_no_threads(tmp_path: Path) -> None:
    assert read(write_posts(tmp_path / "Posts.xml")) == []


# --- bad input: the error names the file, the line, and what was expected ---------------------------------


def raises_input_error(path: Path) -> InputError:
    with pytest.raises(InputError) as exc:
        read(path)
    assert str(path) in str(exc.value)
    assert exc.value.path == str(path)
    return exc.value


def test_malformed_xml_unclosed_tag(tmp_path: Path) -> None:
    path = tmp_path / "Posts.xml"
    path.write_text(HEADER + row(Id=1, PostTypeId=1, Body="q") + '  <row Id="2" PostTypeId="1">\n</posts>\n')
    err = raises_input_error(path)
    # expat notices the unclosed <row> on line 4 when </posts> arrives on line 5
    assert err.where == "line 5, column 2"
    assert f"{path}:line 5, column 2: expected well-formed Stack Exchange Posts.xml" in str(err)
    assert "mismatched tag" in str(err)


def test_truncated_xml(tmp_path: Path) -> None:
    path = tmp_path / "Posts.xml"
    path.write_text(HEADER + row(Id=1, PostTypeId=1, Body="q"))
    err = raises_input_error(path)
    assert err.where.startswith("line 4")
    assert "expected well-formed Stack Exchange Posts.xml" in str(err)


def test_not_xml_at_all(tmp_path: Path) -> None:
    path = tmp_path / "Posts.xml"
    path.write_text("Id,PostTypeId\n1,1\n")
    err = raises_input_error(path)
    assert err.where.startswith("line 1")
    assert "expected well-formed Stack Exchange Posts.xml" in str(err)


def test_wrong_root_element(tmp_path: Path) -> None:
    path = tmp_path / "Users.xml"
    path.write_text('<?xml version="1.0" encoding="utf-8"?>\n<users>\n  <row Id="1" />\n</users>\n')
    err = raises_input_error(path)
    assert err.where == "line 2"
    assert f"{path}:line 2: expected root element <posts>, got <users>" == str(err)


def test_non_utf8_bytes(tmp_path: Path) -> None:
    path = tmp_path / "Posts.xml"
    path.write_bytes(HEADER.encode() + b'  <row Id="1" PostTypeId="1" Body="caf\xe9 au lait" />\n</posts>\n')
    err = raises_input_error(path)
    assert err.where.startswith("line 3, column ")
    assert "expected well-formed Stack Exchange Posts.xml" in str(err)


@pytest.mark.parametrize(
    "bad_row",
    [row(PostTypeId=1, Body="no id"), row(Id=2, Body="no type"), row(Id="", PostTypeId=1, Body="empty id")],
)
def test_row_missing_id_or_post_type(tmp_path: Path, bad_row: str) -> None:
    path = write_posts(tmp_path / "Posts.xml", row(Id=1, PostTypeId=1, Body="ok"), bad_row)
    err = raises_input_error(path)
    assert err.where == "line 4"
    assert "a <row> needs the attributes Id and PostTypeId" in str(err)


def test_answer_missing_parent_id(tmp_path: Path) -> None:
    path = write_posts(
        tmp_path / "Posts.xml", row(Id=1, PostTypeId=1, Body="q"), row(Id=2, PostTypeId=2, Body="orphan")
    )
    err = raises_input_error(path)
    assert err.where == "line 4 (row Id=2)"
    assert "an answer needs ParentId" in str(err)


@pytest.mark.parametrize(
    ("attrs", "name", "value"),
    [
        ({"Id": 2, "PostTypeId": 2, "ParentId": 1, "Score": "many"}, "Score", "many"),
        ({"Id": "x7", "PostTypeId": 1}, "Id", "x7"),
        ({"Id": 2, "PostTypeId": "question"}, "PostTypeId", "question"),
        ({"Id": 2, "PostTypeId": 2, "ParentId": "1.5"}, "ParentId", "1.5"),
        ({"Id": 2, "PostTypeId": 1, "AcceptedAnswerId": "none"}, "AcceptedAnswerId", "none"),
    ],
)
def test_non_integer_attribute(tmp_path: Path, attrs: dict, name: str, value: str) -> None:
    path = write_posts(tmp_path / "Posts.xml", row(Id=1, PostTypeId=1, Body="q"), row(**attrs, Body="b"))
    err = raises_input_error(path)
    assert err.where == "line 4"
    assert f"attribute {name} must be an integer, got {value!r}" in str(err)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "Posts.xml"
    path.write_bytes(b"")
    err = raises_input_error(path)
    assert err.where is None
    assert "file is empty; expected a Stack Exchange Posts.xml dump" in str(err)


def test_missing_file(tmp_path: Path) -> None:
    err = raises_input_error(tmp_path / "missing" / "Posts.xml")
    assert "does not exist" in str(err)


# --- the real shared samples ---------------------------------------------------------------------------


def site_path(site: str) -> Path:
    path = SHARED_FORUM / site / "Posts.xml"
    if not path.is_file():
        pytest.skip(f"shared sample data not available at {path}")
    return path


def independent_parse(
    path: Path,
) -> tuple[dict[str, ET.Element], dict[str, list[ET.Element]], dict[str, int]]:
    """Questions, answers by parent, and the line of each row, read with ElementTree + a regex."""
    rows = ET.parse(path).getroot().findall("row")
    questions = {r.get("Id"): r for r in rows if r.get("PostTypeId") == "1"}
    answers: dict[str, list[ET.Element]] = defaultdict(list)
    for r in rows:
        if r.get("PostTypeId") == "2":
            answers[r.get("ParentId")].append(r)
    lines = {}
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = re.match(r'\s*<row Id="(\d+)"', line)
        if match:
            lines[match.group(1)] = line_no
    return questions, answers, lines


@pytest.fixture(scope="module", params=SITES)
def real(request: pytest.FixtureRequest) -> tuple[str, Path, list, tuple]:
    site = request.param
    path = site_path(site)
    threads = list(read_posts_xml(path, site.split(".")[0], site, None))
    return site, path, threads, independent_parse(path)


def test_real_one_thread_per_question(real: tuple) -> None:
    _site, _path, threads, (questions, _answers, _lines) = real
    assert len(threads) == len(questions) == 100
    assert [t.thread_id for t in threads] == sorted(questions, key=int)
    assert len({t.thread_id for t in threads}) == len(threads)


def test_real_answer_counts_and_headers(real: tuple) -> None:
    _site, _path, threads, (_questions, answers, _lines) = real
    for thread in threads:
        n = len(answers[thread.thread_id])
        assert thread.n_discussion_posts == n
        headers = re.findall(r"^Post (\d+):$", thread.forum_discussions, flags=re.MULTILINE)
        assert headers == [str(i) for i in range(1, n + 1)]
        if n:
            assert thread.forum_discussions.startswith("Post 1:\n")


def test_real_accepted_answer_comes_first(real: tuple) -> None:
    from mathforge.forum.html_text import html_to_text

    _site, _path, threads, (questions, answers, _lines) = real
    checked = 0
    for thread in threads:
        accepted = questions[thread.thread_id].get("AcceptedAnswerId")
        if not accepted:
            continue
        (answer,) = [a for a in answers[thread.thread_id] if a.get("Id") == accepted]
        first_post = thread.forum_discussions.split("\n\nPost 2:\n")[0]
        assert first_post == "Post 1:\n" + html_to_text(answer.get("Body")).strip()
        checked += 1
    assert checked > 30


def test_real_provenance(real: tuple) -> None:
    site, path, threads, (questions, _answers, lines) = real
    for thread in threads:
        q = questions[thread.thread_id]
        assert thread.site == site
        assert thread.source_file == str(path)
        assert thread.source_record == f"line {lines[thread.thread_id]} (row Id={thread.thread_id})"
        assert thread.license == stackexchange_license(q.get("CreationDate"))
        assert thread.forum_post.startswith(thread.title + "\n\n")
        assert thread.title == q.get("Title").strip()  # the sample titles carry no HTML


def test_real_text_has_no_html_entities_left(real: tuple) -> None:
    _site, _path, threads, _parsed = real
    for thread in threads:
        for text in (thread.forum_post, thread.forum_discussions):
            assert not re.search(r"&(lt|gt|amp|quot|#\d+);", text)
            assert "<p>" not in text and "</p>" not in text


def test_real_math_stackexchange_facts() -> None:
    path = site_path("math.stackexchange.com")
    threads = {t.thread_id: t for t in read_posts_xml(path, "mse", "math.stackexchange.com", None)}
    licences = [t.license for t in threads.values()]
    assert (
        licences.count("CC BY-SA 2.5"),
        licences.count("CC BY-SA 3.0"),
        licences.count("CC BY-SA 4.0"),
    ) == (
        1,
        51,
        48,
    )
    first = threads["8596"]
    assert first.title == "What are the prerequisites for learning category theory?"
    assert first.forum_post.endswith(
        "I am currently perusing Categories for the Working Mathematician by Mac Lane."
    )
    assert first.license == "CC BY-SA 2.5"
    assert first.source_record == "line 3 (row Id=8596)"
    # answers 8600 (score 7), 8604 (4), 8618 (13, accepted): accepted first, then by score
    posts = first.forum_discussions.split("\n\nPost ")
    assert posts[0].startswith("Post 1:\nIt depends on whether you are talking about Category Theory")
    assert posts[1].startswith("2:\nI do not know of any specific applications to probability")
    assert posts[2].startswith("3:\nThis issue has been discussed multiple times in MO.")
    # an ordered list in the accepted answer of 119968 is numbered, marker on the text line
    assert threads["119968"].forum_discussions.startswith("Post 1:\n1. This is bizarre notation")
    # '&lt;' inside display math comes back as '<'
    assert "$$0<\\sum_{k=1}^{N}" in threads["398465"].forum_post
    assert threads["4881201"].source_record == "line 225 (row Id=4881201)"


def test_real_mathoverflow_facts() -> None:
    path = site_path("mathoverflow.net")
    threads = {t.thread_id: t for t in read_posts_xml(path, "mo", "mathoverflow.net", None)}
    licences = [t.license for t in threads.values()]
    assert (
        licences.count("CC BY-SA 2.5"),
        licences.count("CC BY-SA 3.0"),
        licences.count("CC BY-SA 4.0"),
    ) == (
        21,
        46,
        33,
    )
    # 11716: accepted 13591 (score 9) first, then 11778 (13), 13534 (7), then 11722 and 11739 (3, by id)
    posts = threads["11716"].forum_discussions.split("\n\nPost ")
    assert [p.split(":\n", 1)[1][:30] for p in posts] == [
        "For fixed integers $g,n$, any ",
        "The most interesting answer I ",
        "To me, it seems that the opera",
        "Although not an answer to your",
        "Hazewinkel quotes Y.I. Manin's",
    ]
    assert threads["3477"].forum_post.startswith("What is the symbol of a differential operator?\n\n")
    assert threads["3477"].n_discussion_posts == 7
    assert "```\n" in threads["9335"].forum_discussions  # a <pre><code> block in answer 9392
    assert "0<d(G,G')<\\infty" in threads["328039"].forum_post
