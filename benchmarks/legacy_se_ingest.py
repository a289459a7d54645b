"""The in-memory Stack Exchange ingest as it was before streaming (main at 9df5423), for comparison only.

`benchmarks/se_ingest_memory.py` measures it against `mathforge.forum.stage.run`, and
`tests/unit/forum/test_se_streaming.py` checks that both write the same table and stats. Not used by
the pipeline.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from mathforge.attribution import author_entry, has_author, site_host
from mathforge.errors import InputError
from mathforge.forum.html_text import html_to_text
from mathforge.forum.stage import clean_thread
from mathforge.forum.threads import THREAD_SCHEMA, Thread, join_posts
from mathforge.funnel import StepStats, write_step
from mathforge.io import require_nonempty
from mathforge.truncation import count_cuts, empty_counts

_CHUNK = 1 << 20


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
    answers: list[_Post] = field(default_factory=list)

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
        return int(value)
    except ValueError as exc:
        raise InputError(path, f"line {line}", f"attribute {name} must be an integer, got {value!r}") from exc


def _parse_posts(path: Path) -> tuple[dict[int, _Post], dict[int, list[_Post]]]:
    questions: dict[int, _Post] = {}
    answers: dict[int, list[_Post]] = defaultdict(list)
    parser = expat.ParserCreate("utf-8")
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
        post = _Post(
            post_id=post_id,
            line=line,
            body=attrs.get("Body", ""),
            title=attrs.get("Title", ""),
            score=_int(attrs.get("Score"), path, line, "Score") or 0,
            accepted_answer_id=_int(attrs.get("AcceptedAnswerId"), path, line, "AcceptedAnswerId"),
            creation_date=attrs.get("CreationDate", ""),
            owner_user_id=_int(attrs.get("OwnerUserId"), path, line, "OwnerUserId"),
            owner_name=attrs.get("OwnerDisplayName"),
        )
        if post_type == 1:
            questions[post_id] = post
        else:
            parent = _int(attrs.get("ParentId"), path, line, "ParentId")
            if parent is None:
                raise InputError(path, f"line {line} (row Id={post_id})", "an answer needs ParentId")
            answers[parent].append(post)

    parser.StartElementHandler = on_start
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
    return questions, answers


def read_posts_xml(path: str | Path, source: str, site: str, license: str | None) -> Iterator[Thread]:
    """Threads ordered by question Id; answers: accepted first, then by score, then by Id."""
    path = Path(path)
    require_nonempty(path, "a Stack Exchange Posts.xml dump")
    host = site_host(site, path)
    questions, answers = _parse_posts(path)
    for qid in sorted(questions):
        q = questions[qid]
        replies = sorted(
            answers.get(qid, []),
            key=lambda a, acc=q.accepted_answer_id: (a.post_id != acc, -a.score, a.post_id),
        )
        title = html_to_text(q.title)
        body = html_to_text(q.body)
        post = f"{title}\n\n{body}" if title else body
        yield Thread(
            source=source,
            site=site or host or "",
            thread_id=str(qid),
            post_id=str(qid),
            title=title,
            forum_post=post,
            forum_discussions=join_posts([html_to_text(a.body) for a in replies]),
            n_discussion_posts=len(replies),
            license=license or stackexchange_license(q.creation_date),
            source_file=str(path),
            source_record=f"line {q.line} (row Id={qid})",
            source_url=f"https://{host}/q/{qid}" if host else None,
            authors=[q.author("question", license), *(a.author("answer", license) for a in replies)],
        )


def ingest_source(source: dict, limits: dict, out_path: str, stats_path: str) -> StepStats:
    """Read, clean and deduplicate one source; drops are counted by reason, cuts by field."""
    stats = StepStats(step="ingest", notes={"source": source["name"]})
    quotes = {"rows": 0, "chars": 0}
    seen: set[str] = set()
    rows: list[dict] = []
    max_threads = source.get("max_threads")
    for thread in read_posts_xml(source["path"], source["name"], source["site"], source.get("license")):
        stats.n_in += 1
        if max_threads is not None and len(rows) >= max_threads:
            stats.drop("over_max_threads")
            continue
        thread = clean_thread(thread, limits, quotes)
        if not thread.forum_post:
            stats.drop("empty_post")
            continue
        record = thread.to_record()
        if record["thread_uid"] in seen:
            stats.drop("duplicate_thread_id")
            continue
        seen.add(record["thread_uid"])
        rows.append(record)
    stats.n_out = len(rows)
    stats.counters["truncated"] = empty_counts(
        "forum_post", "forum_discussions", posts=("forum_discussions",)
    )
    for row in rows:
        count_cuts(stats.counters["truncated"], row["truncated"])
    stats.counters["quotes_removed"] = quotes
    stats.counters["attribution"] = {
        "rows_without_source_url": sum(r["source_url"] is None for r in rows),
        "rows_without_author": sum(not has_author(r["authors"]) for r in rows),
    }
    return write_step(stats, stats_path, (rows, THREAD_SCHEMA, out_path))
