"""One configured forum source -> `problems/{source}/raw.parquet` (normalized threads)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from mathforge.attribution import has_author
from mathforge.errors import ConfigError
from mathforge.forum.aops import read_aops_jsonl
from mathforge.forum.stackexchange import read_posts_xml
from mathforge.forum.threads import THREAD_SCHEMA, Thread, count_posts, remove_quotes, truncate_discussion
from mathforge.funnel import StepStats, write_step
from mathforge.truncation import count_cuts, cut_entry, empty_counts

log = logging.getLogger(__name__)

FORUM_FORMATS = ("aops_jsonl", "stackexchange_xml")


def read_threads(source: dict) -> Iterator[Thread]:
    fmt = source["format"]
    if fmt == "aops_jsonl":
        return read_aops_jsonl(source["path"], source["name"], source["site"], source["license"])
    if fmt == "stackexchange_xml":
        return read_posts_xml(source["path"], source["name"], source["site"], source.get("license"))
    raise ConfigError(f"source {source['name']!r}: format {fmt!r} is not a forum format {FORUM_FORMATS}")


def _cut_post(thread: Thread, max_chars: int) -> None:
    text = thread.forum_post
    if max_chars and len(text) > max_chars:
        thread.forum_post = text[:max_chars].rstrip()
        thread.truncated.append(cut_entry("forum_post", text, thread.forum_post))


def _cut_discussion(thread: Thread, max_chars: int) -> None:
    """Cut at a post boundary; the row then counts (and credits) only the answers it kept."""
    text = thread.forum_discussions
    thread.forum_discussions, cut = truncate_discussion(text, max_chars)
    if not cut:
        return
    original_posts = thread.n_discussion_posts
    kept_posts = min(count_posts(thread.forum_discussions), original_posts)
    thread.n_discussion_posts = kept_posts
    answers = [a for a in thread.authors if a["role"] == "answer"]
    if answers:  # answer entries follow the discussion's post order
        thread.authors = [a for a in thread.authors if a["role"] != "answer"] + answers[:kept_posts]
    thread.truncated.append(
        cut_entry("forum_discussions", text, thread.forum_discussions, original_posts, kept_posts)
    )


def clean_thread(thread: Thread, limits: dict, quotes: dict | None = None) -> Thread:
    """Remove quotes (counted in `quotes`: rows, chars) and cut to the limits (recorded on the row)."""
    if limits["remove_quotes"]:
        before = len(thread.forum_post) + len(thread.forum_discussions)
        thread.forum_post = remove_quotes(thread.forum_post)
        thread.forum_discussions = remove_quotes(thread.forum_discussions)
        removed = before - len(thread.forum_post) - len(thread.forum_discussions)
        if quotes is not None and removed:
            quotes["rows"] += 1
            quotes["chars"] += removed
    thread.forum_post = thread.forum_post.strip()
    thread.forum_discussions = thread.forum_discussions.strip()
    _cut_post(thread, limits["max_post_chars"])
    _cut_discussion(thread, limits["max_discussion_chars"])
    return thread


def ingest_source(source: dict, limits: dict, out_path: str, stats_path: str) -> StepStats:
    """Read, clean and deduplicate one source; drops are counted by reason, cuts by field."""
    stats = StepStats(step=f"ingest:{source['name']}")
    quotes = {"rows": 0, "chars": 0}
    seen: set[str] = set()
    rows: list[dict] = []
    max_threads = source.get("max_threads")
    for thread in read_threads(source):
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
    stats.extra["truncated"] = empty_counts("forum_post", "forum_discussions", posts=("forum_discussions",))
    for row in rows:
        count_cuts(stats.extra["truncated"], row["truncated"])
    stats.extra["quotes_removed"] = quotes
    stats.extra["attribution"] = {
        "rows_without_source_url": sum(r["source_url"] is None for r in rows),
        "rows_without_author": sum(not has_author(r["authors"]) for r in rows),
    }
    return write_step(stats, stats_path, (rows, THREAD_SCHEMA, out_path))
