"""Stack Exchange `Posts.xml` dumps: a question becomes the post, its answers the discussion.

The dump is streamed with expat (a multi-GB file is never parsed into a tree) and its questions
and answers are spilled to a SQLite file in a temporary directory (beside the job's output when
the caller says so), then joined by `ParentId` in question-Id order: memory stays flat in the
size of the dump (a few MB of buffers and SQLite page cache), disk holds roughly the dump's text.

Attribution (CC BY-SA): each thread keeps its URL `https://<host>/q/<id>` (the host is the
configured `site` if it is a host name, else the dump's folder name such as
`math.stackexchange.com`) and the author of the question and of every answer (`OwnerUserId`,
`OwnerDisplayName`; either or both are missing for deleted or anonymous users) with each post's
own licence.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.parsers import expat

from mathforge.attribution import author_entry, site_host
from mathforge.errors import InputError
from mathforge.forum.html_text import html_to_text
from mathforge.forum.threads import Thread, join_posts
from mathforge.io import require_nonempty

_CHUNK = 1 << 20
_BATCH = 2000  # posts buffered before one executemany
_CACHE_KIB = 16 * 1024  # SQLite page cache per connection

# Columns shared by both tables, in _Post's field order after post_id.
_POST_COLUMNS = "line, body, title, score, accepted_answer_id, creation_date, owner_user_id, owner_name"
_SCHEMA = f"""
CREATE TABLE questions (post_id INTEGER PRIMARY KEY, {_POST_COLUMNS});
CREATE TABLE answers (seq INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL, post_id INTEGER, {_POST_COLUMNS});
"""


@dataclass
class _Post:
    post_id: int
    line: int
    body: str
    title: str = ""
    score: int = 0
    accepted_answer_id: int | None = None
    creation_date: str = ""
    owner_user_id: int | None = None
    owner_name: str | None = None

    def author(self, role: str, license: str | None) -> dict:
        user_id = None if self.owner_user_id is None else str(self.owner_user_id)
        post_license = license or stackexchange_license(self.creation_date)
        return author_entry(role, str(self.post_id), user_id, self.owner_name or None, post_license)


def stackexchange_license(creation_date: str) -> str:
    """Stack Exchange's licence by contribution date (their published cut-over dates)."""
    day = creation_date[:10]
    if day and day < "2011-04-08":
        return "CC BY-SA 2.5"
    if day and day < "2018-05-02":
        return "CC BY-SA 3.0"
    return "CC BY-SA 4.0"


def _int(value: str | None, path: Path, line: int, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError as exc:
        raise InputError(path, f"line {line}", f"attribute {name} must be an integer, got {value!r}") from exc
    if not -(2**63) <= number < 2**63:  # the spill store's INTEGER range
        raise InputError(path, f"line {line}", f"attribute {name} must be a 64-bit integer, got {value!r}")
    return number


def _open_store(directory: Path) -> sqlite3.Connection:
    """A scratch database: no journal or fsync (it is rebuilt from the dump on any failure)."""
    con = sqlite3.connect(directory / "posts.sqlite", isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA temp_store=FILE")
    con.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
    con.executescript(_SCHEMA)
    return con


class _Spill:
    """Buffers parsed rows and writes them in batches, keeping file order within each table."""

    # A repeated question Id replaces the earlier row (the last one in the file wins).
    _INSERT_QUESTION = f"INSERT OR REPLACE INTO questions VALUES ({', '.join('?' * 9)})"
    _INSERT_ANSWER = f"INSERT INTO answers VALUES (NULL, {', '.join('?' * 10)})"

    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con
        self.questions: list[tuple] = []
        self.answers: list[tuple] = []

    def add(self, table: list[tuple], values: tuple) -> None:
        table.append(values)
        if len(table) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        self.con.executemany(self._INSERT_QUESTION, self.questions)
        self.con.executemany(self._INSERT_ANSWER, self.answers)
        self.questions.clear()
        self.answers.clear()


def _row_values(attrs: dict[str, str], path: Path, line: int) -> tuple:
    """A row's fields in _Post order after post_id (the tables' `_POST_COLUMNS`)."""
    return (
        line,
        attrs.get("Body", ""),
        attrs.get("Title", ""),
        _int(attrs.get("Score"), path, line, "Score") or 0,
        _int(attrs.get("AcceptedAnswerId"), path, line, "AcceptedAnswerId"),
        attrs.get("CreationDate", ""),
        _int(attrs.get("OwnerUserId"), path, line, "OwnerUserId"),
        attrs.get("OwnerDisplayName"),
    )


def _row_handler(parser: expat.XMLParserType, path: Path, spill: _Spill):
    state = {"root": None}

    def on_start(name: str, attrs: dict[str, str]) -> None:
        line = parser.CurrentLineNumber
        if state["root"] is None:
            state["root"] = name
            if name != "posts":
                raise InputError(path, f"line {line}", f"expected root element <posts>, got <{name}>")
            return
        if name != "row":
            return
        post_id = _int(attrs.get("Id"), path, line, "Id")
        post_type = _int(attrs.get("PostTypeId"), path, line, "PostTypeId")
        if post_id is None or post_type is None:
            raise InputError(path, f"line {line}", "a <row> needs the attributes Id and PostTypeId")
        if post_type not in (1, 2):
            return  # wikis, tag excerpts, moderator posts: not threads
        values = _row_values(attrs, path, line)
        if post_type == 1:
            spill.add(spill.questions, (post_id, *values))
            return
        parent = _int(attrs.get("ParentId"), path, line, "ParentId")
        if parent is None:
            raise InputError(path, f"line {line} (row Id={post_id})", "an answer needs ParentId")
        spill.add(spill.answers, (parent, post_id, *values))

    return on_start


def _spill_posts(path: Path, con: sqlite3.Connection) -> None:
    """Parse the dump into the `questions` and `answers` tables, then index answers by ParentId."""
    parser = expat.ParserCreate("utf-8")
    spill = _Spill(con)
    parser.StartElementHandler = _row_handler(parser, path, spill)
    con.execute("BEGIN")
    with path.open("rb") as fh:
        try:
            while chunk := fh.read(_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except expat.ExpatError as exc:
            raise InputError(
                path,
                f"line {exc.lineno}, column {exc.offset}",
                f"expected well-formed Stack Exchange Posts.xml ({expat.ErrorString(exc.code)})",
            ) from exc
    spill.flush()
    con.execute("CREATE INDEX answers_by_parent ON answers (parent_id, seq)")
    con.execute("COMMIT")


def _joined_posts(con: sqlite3.Connection) -> Iterator[tuple[_Post, list[_Post]]]:
    """Each question in Id order with its answers in file order (a merge join on ParentId).

    Answers whose question is not in the dump are skipped, as they always were.
    """
    questions = con.execute(f"SELECT post_id, {_POST_COLUMNS} FROM questions ORDER BY post_id")
    answers = con.execute(f"SELECT parent_id, post_id, {_POST_COLUMNS} FROM answers ORDER BY parent_id, seq")
    pending = answers.fetchone()
    for q_row in questions:
        qid = q_row[0]
        while pending is not None and pending[0] < qid:
            pending = answers.fetchone()
        replies = []
        while pending is not None and pending[0] == qid:
            replies.append(_Post(*pending[1:]))
            pending = answers.fetchone()
        yield _Post(*q_row), replies


def _thread(q: _Post, replies: list[_Post], path: Path, source: str, site: str, host: str | None,
            license: str | None) -> Thread:  # fmt: skip
    replies = sorted(replies, key=lambda a: (a.post_id != q.accepted_answer_id, -a.score, a.post_id))
    title = html_to_text(q.title)
    body = html_to_text(q.body)
    post = f"{title}\n\n{body}" if title else body
    return Thread(
        source=source,
        site=site or host or "",
        thread_id=str(q.post_id),
        post_id=str(q.post_id),
        title=title,
        forum_post=post,
        forum_discussions=join_posts([html_to_text(a.body) for a in replies]),
        n_discussion_posts=len(replies),
        license=license or stackexchange_license(q.creation_date),
        source_file=str(path),
        source_record=f"line {q.line} (row Id={q.post_id})",
        source_url=f"https://{host}/q/{q.post_id}" if host else None,
        authors=[q.author("question", license), *(a.author("answer", license) for a in replies)],
    )


def read_posts_xml(
    path: str | Path, source: str, site: str, license: str | None, spill_dir: str | Path | None = None
) -> Iterator[Thread]:
    """Threads ordered by question Id; answers: accepted first, then by score, then by Id.

    The spilled posts live in a temporary directory under `spill_dir` (the system's temp
    directory if None) that is removed when the iterator finishes or is closed.
    """
    path = Path(path)
    require_nonempty(path, "a Stack Exchange Posts.xml dump")
    host = site_host(site, path)
    if spill_dir is not None:
        Path(spill_dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="se-spill-", dir=spill_dir) as scratch:
        con = _open_store(Path(scratch))
        try:
            _spill_posts(path, con)
            for q, replies in _joined_posts(con):
                yield _thread(q, replies, path, source, site, host, license)
        finally:
            con.close()
