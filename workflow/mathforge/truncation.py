"""Recording text cuts: a row's `truncated` column lists every cut made to its text, and a stage
summary's `truncated` counts them per field. A cut keeps the row (it is not a drop), so reports
show it next to the funnel, never as a drop reason.

Row entry: {field, original_chars, kept_chars, original_posts, kept_posts} (the post counts only
for discussions, which are cut at a post boundary). Summary: {field: {rows, chars_cut[, posts_cut]}}.
"""

from __future__ import annotations

import pyarrow as pa

TRUNCATION = pa.struct(
    [
        ("field", pa.string()),
        ("original_chars", pa.int64()),
        ("kept_chars", pa.int64()),
        ("original_posts", pa.int32()),  # discussions only
        ("kept_posts", pa.int32()),
    ]
)
TRUNCATED_FIELD = ("truncated", pa.list_(TRUNCATION))


def cut_entry(
    field: str, original: str, kept: str, original_posts: int | None = None, kept_posts: int | None = None
) -> dict:
    return {
        "field": field,
        "original_chars": len(original),
        "kept_chars": len(kept),
        "original_posts": original_posts,
        "kept_posts": kept_posts,
    }


def empty_counts(*fields: str, posts: tuple[str, ...] = ()) -> dict[str, dict[str, int]]:
    """Zero counts for `fields` (those in `posts` also count posts), so summaries keep their shape."""
    return {f: {"rows": 0, "chars_cut": 0, **({"posts_cut": 0} if f in posts else {})} for f in fields}


def count_cuts(counts: dict[str, dict[str, int]], entries: list[dict]) -> None:
    """Add one row's cuts (its `truncated` entries) to `counts` in place."""
    for e in entries:
        field = counts.setdefault(e["field"], {"rows": 0, "chars_cut": 0})
        field["rows"] += 1
        field["chars_cut"] += e["original_chars"] - e["kept_chars"]
        if e["original_posts"] is not None:
            field["posts_cut"] = field.get("posts_cut", 0) + e["original_posts"] - e["kept_posts"]


def add_counts(total: dict[str, dict[str, int]], counts: dict[str, dict[str, int]]) -> None:
    """Add a summary's per-field cut counts into `total` in place (shards of one step)."""
    for field, values in counts.items():
        into = total.setdefault(field, {})
        for key, n in values.items():
            into[key] = into.get(key, 0) + n


def describe_cuts(counts: dict[str, dict[str, int]]) -> str:
    """'forum_post 1 rows, 120 chars cut; ...' for the fields with cuts, '' if none."""
    parts = []
    for field, c in sorted(counts.items()):
        if c.get("rows"):
            posts = f", {c['posts_cut']} posts cut" if c.get("posts_cut") else ""
            parts.append(f"{field} {c['rows']} rows, {c['chars_cut']} chars cut{posts}")
    return "; ".join(parts)
