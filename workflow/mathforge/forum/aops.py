"""AoPS-style JSONL: one thread per line with `forum_post` and `forum_discussions`.

Optional fields: an id (`thread_id`, `topic_id`, `id`; `post_id`), `title`, `license`, and the
first post's author and URL under the field names listed in `mathforge.attribution`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from mathforge.attribution import license_of, record_author, record_url
from mathforge.errors import InputError
from mathforge.forum.threads import Thread, count_posts, normalize_newlines
from mathforge.io import iter_jsonl, require_columns, require_nonempty

_ID_FIELDS = ("thread_id", "topic_id", "id")


def read_aops_jsonl(path: str | Path, source: str, site: str, license: str | None) -> Iterator[Thread]:
    """Threads in file order. A record without an id gets `L<line>` (stable for an append-only file)."""
    require_nonempty(path, "AoPS-style JSONL with 'forum_post' and 'forum_discussions'")
    n = 0
    for line_no, record in iter_jsonl(path):
        where = f"line {line_no}"
        require_columns(record, ("forum_post",), path, where)
        discussions = record.get("forum_discussions", "")
        if discussions is None:
            discussions = ""
        if not isinstance(discussions, str):
            raise InputError(path, where, "column 'forum_discussions' must be a string")
        thread_id = next(
            (str(record[f]) for f in _ID_FIELDS if record.get(f) not in (None, "")), f"L{line_no}"
        )
        discussions = normalize_newlines(discussions)
        post_id = str(record.get("post_id", thread_id))
        row_license = license_of(record.get("license"), license)
        author = record_author(record, "question", post_id, row_license, path, where)
        n += 1
        yield Thread(
            source=source,
            site=site,
            thread_id=thread_id,
            post_id=post_id,
            title=str(record.get("title") or ""),
            forum_post=normalize_newlines(record["forum_post"]),
            forum_discussions=discussions,
            n_discussion_posts=count_posts(discussions),
            license=row_license,
            source_file=str(path),
            source_record=where,
            source_url=record_url(record, path, where),
            authors=[author] if author else [],
        )
    if n == 0:
        raise InputError(path, None, "no records; expected at least one JSON object per line")
