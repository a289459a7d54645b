"""One configured forum source -> `problems/{source}/raw.parquet` (normalized threads)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from mathforge.attribution import has_author
from mathforge.errors import ConfigError
from mathforge.forum.aops import read_aops_jsonl
from mathforge.forum.stackexchange import read_posts_xml
from mathforge.forum.threads import THREAD_SCHEMA, Thread, count_posts, remove_quotes, truncate_discussion
from mathforge.funnel import StepStats, write_step
from mathforge.io import write_parquet_rows
from mathforge.truncation import count_cuts, cut_entry, empty_counts

log = logging.getLogger(__name__)

FORUM_FORMATS = ("aops_jsonl", "stackexchange_xml")


def read_threads(source: dict, spill_dir: str | Path | None = None) -> Iterator[Thread]:
    """A source's threads; readers that must sort or join (Stack Exchange) spill under `spill_dir`."""
    fmt = source["format"]
    if fmt == "aops_jsonl":
        return read_aops_jsonl(source["path"], source["name"], source["site"], source["license"])
    if fmt == "stackexchange_xml":
        license = source.get("license")
        return read_posts_xml(source["path"], source["name"], source["site"], license, spill_dir)
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


def _kept_records(threads: Iterator[Thread], source: dict, limits: dict, stats: StepStats) -> Iterator[dict]:
    """Clean and deduplicate rows one at a time, counting drops, cuts and attribution gaps in `stats`."""
    quotes = stats.counters["quotes_removed"]
    attribution = stats.counters["attribution"]
    seen: set[str] = set()
    max_threads = source.get("max_threads")
    for thread in threads:
        stats.n_in += 1
        if max_threads is not None and stats.n_out >= max_threads:
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
        stats.n_out += 1
        count_cuts(stats.counters["truncated"], record["truncated"])
        attribution["rows_without_source_url"] += record["source_url"] is None
        attribution["rows_without_author"] += not has_author(record["authors"])
        yield record


def run(source: dict, limits: dict, out_path: str, stats_path: str) -> StepStats:
    """Read, clean and deduplicate one source; drops are counted by reason, cuts by field.

    Rows stream from the reader to the Parquet file, so memory does not grow with the source
    (Stack Exchange spills its posts to a scratch directory beside `out_path`).
    """
    stats = StepStats(step="ingest", notes={"source": source["name"]})  # sources add up like shards
    cuts = empty_counts("forum_post", "forum_discussions", posts=("forum_discussions",))
    stats.counters["truncated"] = cuts
    stats.counters["quotes_removed"] = {"rows": 0, "chars": 0}
    stats.counters["attribution"] = {"rows_without_source_url": 0, "rows_without_author": 0}
    # closing: a failed write removes the reader's spill now, not when the traceback is freed
    with contextlib.closing(read_threads(source, spill_dir=Path(out_path).parent)) as threads:
        write_parquet_rows(_kept_records(threads, source, limits, stats), THREAD_SCHEMA, out_path)
    return write_step(stats, stats_path)
