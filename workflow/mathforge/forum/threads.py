"""The normalized thread record shared by every forum reader, and text clean-up."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import pyarrow as pa

from mathforge.attribution import ATTRIBUTION_FIELDS
from mathforge.ids import thread_uid
from mathforge.schemas.threads import POST_HEADER
from mathforge.truncation import TRUNCATED_FIELD

THREAD_SCHEMA = pa.schema(
    [
        ("thread_uid", pa.string()),
        ("source", pa.string()),
        ("site", pa.string()),
        ("thread_id", pa.string()),
        ("post_id", pa.string()),
        ("title", pa.string()),
        ("forum_post", pa.string()),
        ("forum_discussions", pa.string()),
        ("n_discussion_posts", pa.int32()),  # posts kept in forum_discussions
        ("license", pa.string()),
        *ATTRIBUTION_FIELDS,
        ("source_file", pa.string()),
        ("source_record", pa.string()),
        TRUNCATED_FIELD,
    ]
)


@dataclass
class Thread:
    source: str
    site: str
    thread_id: str
    post_id: str
    title: str
    forum_post: str
    forum_discussions: str
    n_discussion_posts: int
    license: str
    source_file: str
    source_record: str
    source_url: str | None = None
    authors: list[dict] = field(default_factory=list)  # attribution.AUTHOR entries, thread order
    truncated: list[dict] = field(default_factory=list)  # truncation.TRUNCATION entries

    def to_record(self) -> dict:
        record = asdict(self)
        record["thread_uid"] = thread_uid(self.source, self.thread_id)
        return record


# An innermost quote block: an opening tag, then text without another opening tag, then a closing tag.
_INNERMOST_QUOTE = re.compile(
    r"\[quote(?:=[^\]]*)?\](?:(?!\[quote(?:=[^\]]*)?\]).)*?\[/quote\]", re.IGNORECASE | re.DOTALL
)
_QUOTE_TAG = re.compile(r"\[quote(?:=[^\]]*)?\]|\[/quote\]", re.IGNORECASE)


def remove_quotes(text: str) -> str:
    """Drop AoPS `[quote]...[/quote]` blocks, nested ones included (innermost first).

    Unmatched tags are removed but their text is kept: posters often misuse `[quote]` as a
    closing tag, and dropping everything after it would throw away the reply's own solution.
    """
    while True:
        stripped = _INNERMOST_QUOTE.sub("", text)
        if stripped == text:
            break
        text = stripped
    return _QUOTE_TAG.sub("", text)


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def join_posts(posts: list[str]) -> str:
    """The reference format for discussions: 'Post i:' headers, one blank line apart."""
    return "\n\n".join(f"Post {i}:\n{post.strip()}" for i, post in enumerate(posts, start=1))


def count_posts(text: str) -> int:
    """The number of 'Post i:' headers at the start of a line (the discussion format)."""
    return len(POST_HEADER.findall(text))


def truncate_discussion(text: str, max_chars: int) -> tuple[str, bool]:
    """Cut a discussion to `max_chars`, preferring a 'Post i:' boundary so no post is cut mid-way."""
    if max_chars <= 0 or len(text) <= max_chars:
        return text, False
    head = text[:max_chars]
    boundary = head.rfind("\n\nPost ")
    if boundary > 0:
        head = head[:boundary]
    return head.rstrip(), True
