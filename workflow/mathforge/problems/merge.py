"""Gather every source and shard into the problems artifacts and the funnel summary."""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict

import pyarrow as pa

from mathforge.io import read_records, write_json, write_parquet
from mathforge.schemas.problems import ANSWERS_SCHEMA, CLASSIFIED_SCHEMA, DROPPED_SCHEMA, PROBLEM_LABEL_NAMES
from mathforge.truncation import add_counts

log = logging.getLogger(__name__)


def _concat(paths: list[str]) -> list[dict]:
    rows = [row for path in paths for row in read_records(path)]
    rows.sort(key=lambda r: (r["problem_id"] or "", r["thread_uid"] or "", r.get("step") or ""))
    return rows


def funnel(stats_paths: list[str]) -> dict:
    """Sum the per-shard step stats into one funnel: {step: {n_in, n_out, dropped}}."""
    steps: dict[str, dict] = {}
    for path in stats_paths:
        with open(path) as fh:
            stats = json.load(fh)
        step = stats["step"].split(":", 1)[0]
        agg = steps.setdefault(step, {"n_in": 0, "n_out": 0, "dropped": Counter()})
        agg["n_in"] += stats["n_in"]
        agg["n_out"] += stats["n_out"]
        agg["dropped"].update(stats["dropped"])
        for key in ("routed_to_proofs", "translated", "problem_type_unparseable"):
            if key in stats:
                agg[key] = agg.get(key, 0) + stats[key]
        for key in ("answer_status", "quotes_removed", "attribution", "languages", "language_routes",
                    "question_types"):  # fmt: skip
            if key in stats:
                agg.setdefault(key, Counter()).update(stats[key])
        if "truncated" in stats:  # cuts keep their rows: counted apart from the drops
            add_counts(agg.setdefault("truncated", {}), stats["truncated"])
    return {
        step: {k: dict(sorted(v.items())) if isinstance(v, Counter) else v for k, v in agg.items()}
        for step, agg in steps.items()
    }


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
    stats_paths: list[str],
    out_problems: str,
    out_proofs: str,
    out_dropped: str,
    out_summary: str,
) -> dict:
    problems = _concat(answer_paths)
    proofs = _concat(proof_paths)
    dropped = _concat(dropped_paths)
    per_source: dict[str, Counter] = defaultdict(Counter)
    for row in problems:
        per_source[row["source"]]["problems"] += 1
        per_source[row["source"]]["with_expected_answer"] += row["expected_answer"] is not None
    for row in proofs:
        per_source[row["source"]]["proofs"] += 1
    summary = {
        "problems": len(problems),
        "proof_problems": len(proofs),
        "dropped": len(dropped),
        "with_expected_answer": sum(r["expected_answer"] is not None for r in problems),
        "per_source": {s: dict(sorted(c.items())) for s, c in sorted(per_source.items())},
        "labels": label_counts(problems + proofs),
        "funnel": funnel(stats_paths),
    }
    write_parquet(pa.Table.from_pylist(problems, schema=ANSWERS_SCHEMA), out_problems)
    write_parquet(pa.Table.from_pylist(proofs, schema=CLASSIFIED_SCHEMA), out_proofs)
    write_parquet(pa.Table.from_pylist(dropped, schema=DROPPED_SCHEMA), out_dropped)
    write_json(summary, out_summary)
    log.info(
        "problems: %d answer problems (%d with a forum answer), %d proof problems, %d dropped",
        summary["problems"], summary["with_expected_answer"], summary["proof_problems"], summary["dropped"],
    )  # fmt: skip
    for step, agg in summary["funnel"].items():
        log.info("  %s: in=%d out=%d dropped=%s", step, agg["n_in"], agg["n_out"], agg["dropped"])
    return summary
