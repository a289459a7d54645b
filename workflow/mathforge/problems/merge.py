"""Gather every source and shard into the problems artifacts and their summary (the problem steps'
funnel is read from the steps' own summaries, `mathforge.funnel`)."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict

from mathforge.funnel import StepStats, write_step
from mathforge.io import read_records
from mathforge.schemas.problems import ANSWERS_SCHEMA, CLASSIFIED_SCHEMA, DROPPED_SCHEMA, PROBLEM_LABEL_NAMES

log = logging.getLogger(__name__)


def _concat(paths: list[str]) -> list[dict]:
    rows = [row for path in paths for row in read_records(path)]
    rows.sort(key=lambda r: (r["problem_id"] or "", r["thread_uid"] or "", r.get("step") or ""))
    return rows


def label_counts(rows: list[dict]) -> dict[str, dict[str, dict[str, int]]]:
    """{label column: {source: {value: rows}}} of the problem labels (language, question and problem type);
    a null value is counted as "none"."""
    counts: dict[str, dict[str, Counter]] = {name: defaultdict(Counter) for name in PROBLEM_LABEL_NAMES}
    for row in rows:
        for name in PROBLEM_LABEL_NAMES:
            counts[name][row["source"]][row.get(name) or "none"] += 1
    return {
        name: {source: dict(sorted(c.items())) for source, c in sorted(by_source.items())}
        for name, by_source in counts.items()
    }


def merge_problems(
    answer_paths: list[str],
    proof_paths: list[str],
    dropped_paths: list[str],
    out_problems: str,
    out_proofs: str,
    out_dropped: str,
    out_summary: str,
) -> StepStats:
    """Concatenate the shards (nothing is dropped here: n_in == n_out, the answer and proof rows)."""
    problems = _concat(answer_paths)
    proofs = _concat(proof_paths)
    dropped = _concat(dropped_paths)
    per_source: dict[str, Counter] = defaultdict(Counter)
    for row in problems:
        per_source[row["source"]]["problems"] += 1
        per_source[row["source"]]["with_expected_answer"] += row["expected_answer"] is not None
    for row in proofs:
        per_source[row["source"]]["proofs"] += 1
    rows = len(problems) + len(proofs)
    stats = StepStats(step="merge_problems", n_in=rows, n_out=rows)
    stats.counters = {
        "problems": len(problems),
        "proof_problems": len(proofs),
        "dropped_by_the_problem_steps": len(dropped),
        "with_expected_answer": sum(r["expected_answer"] is not None for r in problems),
        "per_source": {s: dict(sorted(c.items())) for s, c in sorted(per_source.items())},
        "labels": label_counts(problems + proofs),
    }
    log.info(
        "problems: %d answer problems (%d with a forum answer), %d proof problems, %d dropped",
        len(problems), stats.counters["with_expected_answer"], len(proofs), len(dropped),
    )  # fmt: skip
    return write_step(
        stats,
        out_summary,
        (problems, ANSWERS_SCHEMA, out_problems),
        (proofs, CLASSIFIED_SCHEMA, out_proofs),
        (dropped, DROPPED_SCHEMA, out_dropped),
    )
