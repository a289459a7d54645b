"""Licences and attribution carried on every row: `license`, `source_url` and `authors`.

A licence is always a string: the record's own, else the configured one, else "unknown" (never
the string 'None', never null). `authors` lists who wrote the text a row uses, in thread order
(the question or problem first, then each kept answer, the accepted one first), each with the
post id and that post's licence, so CC BY-SA content can be attributed post by post.

Input records (AoPS-style JSONL, bring-your-own tables) are read with these field names, first
present wins:
- URL: `source_url`, `url`, `link`, `thread_url`, `topic_url`, `post_url`
- author name: `author`, `username`, `user`, `author_name`, `poster` (a string, or an object
  with `username` / `name` / `display_name` and `id` / `user_id`)
- author id: `author_id`, `user_id`
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pyarrow as pa

from mathforge.errors import InputError

UNKNOWN_LICENSE = "unknown"
AUTHOR = pa.struct(
    [
        ("role", pa.string()),  # question | answer | problem
        ("post_id", pa.string()),
        ("user_id", pa.string()),
        ("name", pa.string()),  # display name as the source gives it (deleted users keep only this)
        ("license", pa.string()),  # the licence of this post
    ]
)
ATTRIBUTION_FIELDS = [("source_url", pa.string()), ("authors", pa.list_(AUTHOR))]

URL_FIELDS = ("source_url", "url", "link", "thread_url", "topic_url", "post_url")
AUTHOR_NAME_FIELDS = ("author", "username", "user", "author_name", "poster")
AUTHOR_ID_FIELDS = ("author_id", "user_id")
_NAME_KEYS = ("username", "name", "display_name")
_ID_KEYS = ("id", "user_id")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", re.IGNORECASE)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


def license_of(*candidates: object) -> str:
    """The first given licence (a record's own before the configured one), else "unknown"."""
    return next((str(c).strip() for c in candidates if not _missing(c)), UNKNOWN_LICENSE)


def site_host(site: str | None, path: str | Path) -> str | None:
    """The host name of a dump: the configured `site` if it is one, else the dump's folder name
    (Stack Exchange dumps unpack to folders like `math.stackexchange.com`), else None."""
    for candidate in (site, Path(path).resolve().parent.name):
        if candidate and _HOST.match(candidate):
            return candidate.lower()
    return None


def _scalar(value: object, path: str | Path, where: str, field: str) -> str | None:
    if _missing(value):
        return None
    if isinstance(value, float) and value.is_integer():  # an id column of a table with nulls
        value = int(value)
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value).strip()
    raise InputError(
        path, where, f"field {field!r} must be a string or an integer, got {type(value).__name__}"
    )


def _first(record: dict, fields: tuple[str, ...], path: str | Path, where: str) -> str | None:
    return next((v for f in fields if (v := _scalar(record.get(f), path, where, f)) is not None), None)


def record_url(record: dict, path: str | Path, where: str) -> str | None:
    """The record's link back to its source (URL_FIELDS), or None."""
    return _first(record, URL_FIELDS, path, where)


def record_author(
    record: dict, role: str, post_id: str, license: str, path: str | Path, where: str
) -> dict | None:
    """The author entry of a record (AUTHOR_NAME_FIELDS / AUTHOR_ID_FIELDS), or None if it has none."""
    name = user_id = None
    for field in AUTHOR_NAME_FIELDS:
        value = record.get(field)
        if isinstance(value, dict):  # e.g. {"id": 5, "username": "carol"}
            name = _first(value, _NAME_KEYS, path, where)
            user_id = _first(value, _ID_KEYS, path, where)
        else:
            name = _scalar(value, path, where, field)
        if name is not None or user_id is not None:
            break
    user_id = user_id or _first(record, AUTHOR_ID_FIELDS, path, where)
    if name is None and user_id is None:
        return None
    return author_entry(role, post_id, user_id, name, license)


def author_entry(role: str, post_id: str, user_id: str | None, name: str | None, license: str) -> dict:
    return {"role": role, "post_id": post_id, "user_id": user_id, "name": name, "license": license}


def has_author(authors: list[dict]) -> bool:
    """True if some entry names a person (a user id or a display name)."""
    return any(a["user_id"] is not None or a["name"] is not None for a in authors)


ATTRIBUTION_NOTE = (
    "Every row keeps its licence (`license`: the source's own, the configured one, or `unknown` "
    "when neither says), a link to the original thread (`source_url`, e.g. "
    "`https://<site>/q/<id>` for Stack Exchange) and `authors`: who wrote the text the row is "
    "made from, in thread order (the question first, then every answer the discussion kept, the "
    "accepted one first), each with `post_id`, `user_id` (on Stack Exchange the profile is "
    "`https://<site>/users/<user_id>`), `name` (deleted users keep only a name or nothing) and "
    "that post's licence. Content under CC BY-SA (all of Stack Exchange) must be attributed when "
    "shared: name the authors, link `source_url`, name the licence, and state that it was changed"
    " (extracted, solved and rewritten by a model); derivatives are shared under the same "
    "licence. Rows whose licence is `unknown` have no known licence: check their source before "
    "redistributing them."
)


def licence_section(licenses: dict[str, int]) -> list[str]:
    """The card's licences table (SFT rows per licence) and how attribution is given."""
    return [
        "## Licences and attribution",
        "",
        "| license | rows |",
        "|---|---|",
        *([f"| {name} | {n} |" for name, n in sorted(licenses.items())] or ["| - | 0 |"]),
        "",
        ATTRIBUTION_NOTE,
        "",
    ]
