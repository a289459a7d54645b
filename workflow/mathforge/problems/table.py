"""Bring your own problems: a Parquet/JSONL table with `problem` (and optional `expected_answer`).

Optional attribution columns: `license` (else the source's, else "unknown"), a URL and an author
under the field names listed in `mathforge.attribution` (e.g. `source_url`, `author`).

Rows enter the DAG after extraction (they are already problems) and go through classification
and the rest like forum problems; a given `expected_answer` is kept as the forum answer.
"""

from __future__ import annotations

import logging

from mathforge.attribution import license_of, record_author, record_url
from mathforge.errors import InputError
from mathforge.funnel import StepStats, write_step
from mathforge.ids import problem_id, shard_of, thread_uid
from mathforge.io import read_table_records, require_nonempty
from mathforge.schemas.problems import DROPPED_SCHEMA, EXTRACTED_SCHEMA

log = logging.getLogger(__name__)

_ID_COLUMNS = ("problem_id", "id", "thread_id")


def _text(value: object, path: str, where: str, column: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN from a pandas-written table
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    raise InputError(path, where, f"column {column!r} must be text or a number, got {type(value).__name__}")


def import_problems(
    source: dict, shard: int, n_shards: int, out_path: str, dropped_path: str, stats_path: str
) -> StepStats:
    path = source["path"]
    require_nonempty(path, "a problem table (.parquet or .jsonl) with a 'problem' column")
    stats = StepStats(step="import_problems")
    rows, dropped, seen = [], [], set()
    n_records = 0
    for where, record in read_table_records(path):
        n_records += 1
        if "problem" not in record:
            raise InputError(path, where, "missing required column 'problem'")
        problem = _text(record["problem"], path, where, "problem")
        own_id = next((record[c] for c in _ID_COLUMNS if record.get(c) not in (None, "")), None)
        tid = str(own_id) if own_id is not None else where.replace(" ", "")
        uid = thread_uid(source["name"], tid)
        if shard_of(uid, n_shards) != shard:
            continue
        stats.n_in += 1
        if not problem or not problem.strip():
            stats.drop("empty_problem")
            dropped.append({"problem_id": None, "thread_uid": uid, "step": "import_problems",
                            "reason": "empty_problem", "problem": problem, "detail": where})  # fmt: skip
            continue
        pid = problem_id(problem, source["name"], tid)
        if pid in seen:
            stats.drop("duplicate_problem")
            dropped.append({"problem_id": pid, "thread_uid": uid, "step": "import_problems",
                            "reason": "duplicate_problem", "problem": problem, "detail": where})  # fmt: skip
            continue
        seen.add(pid)
        license = license_of(_text(record.get("license"), path, where, "license"), source.get("license"))
        author = record_author(record, "problem", tid, license, path, where)
        rows.append(
            {
                "problem_id": pid,
                "problem": problem.strip(),
                "problem_index": 0,
                "thread_uid": uid,
                "source": source["name"],
                "site": _text(record.get("site"), path, where, "site") or source["site"],
                "thread_id": tid,
                "post_id": tid,
                "license": license,
                "source_url": record_url(record, path, where),
                "authors": [author] if author else [],
                "source_file": str(path),
                "source_record": where,
                "forum_post": "",
                "forum_discussions": "",
                "truncated": [],
                "expected_answer": _text(record.get("expected_answer"), path, where, "expected_answer"),
                "extraction": None,
            }
        )
    if n_records == 0:
        raise InputError(path, None, "the table has no rows; expected at least one problem")
    stats.n_out = len(rows)
    return write_step(
        stats, stats_path, (rows, EXTRACTED_SCHEMA, out_path), (dropped, DROPPED_SCHEMA, dropped_path)
    )
