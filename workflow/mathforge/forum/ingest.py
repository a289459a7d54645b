"""One configured forum source -> `problems/{source}/raw.parquet` (normalized threads)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from mathforge.errors import ConfigError
from mathforge.forum.aops import read_aops_jsonl
from mathforge.forum.stackexchange import read_posts_xml
from mathforge.forum.threads import THREAD_SCHEMA, Thread, remove_quotes, truncate_discussion
from mathforge.funnel import StepStats, write_step

log = logging.getLogger(__name__)

FORUM_FORMATS = ("aops_jsonl", "stackexchange_xml")


def read_threads(source: dict) -> Iterator[Thread]:
    fmt = source["format"]
    if fmt == "aops_jsonl":
        return read_aops_jsonl(source["path"], source["name"], source["site"], source["license"])
    if fmt == "stackexchange_xml":
        return read_posts_xml(source["path"], source["name"], source["site"], source.get("license"))
    raise ConfigError(f"source {source['name']!r}: format {fmt!r} is not a forum format {FORUM_FORMATS}")


def clean_thread(thread: Thread, limits: dict) -> Thread:
    if limits["remove_quotes"]:
        thread.forum_post = remove_quotes(thread.forum_post)
        thread.forum_discussions = remove_quotes(thread.forum_discussions)
    thread.forum_post = thread.forum_post.strip()
    if limits["max_post_chars"] and len(thread.forum_post) > limits["max_post_chars"]:
        thread.forum_post = thread.forum_post[: limits["max_post_chars"]].rstrip()
    thread.forum_discussions, thread.discussions_truncated = truncate_discussion(
        thread.forum_discussions.strip(), limits["max_discussion_chars"]
    )
    return thread


def ingest_source(source: dict, limits: dict, out_path: str, stats_path: str) -> StepStats:
    """Read, clean and deduplicate one source; drops are counted by reason."""
    stats = StepStats(step=f"ingest:{source['name']}")
    seen: set[str] = set()
    rows: list[dict] = []
    max_threads = source.get("max_threads")
    for thread in read_threads(source):
        stats.n_in += 1
        if max_threads is not None and len(rows) >= max_threads:
            stats.drop("over_max_threads")
            continue
        thread = clean_thread(thread, limits)
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
    stats.extra["truncated_discussions"] = sum(r["discussions_truncated"] for r in rows)
    return write_step(stats, stats_path, (rows, THREAD_SCHEMA, out_path))
