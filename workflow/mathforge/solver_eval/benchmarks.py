"""Answer benchmarks (MATH-500, AIME, GSM8K, ...): problems with a gold final answer, loaded and
checked before any request is sent. Every error names the file and line (or row)."""

from __future__ import annotations

import logging
import re

from mathforge.benchmarks import hf_records
from mathforge.errors import ConfigError, InputError
from mathforge.io import read_table_records, require_nonempty

log = logging.getLogger(__name__)


def answer_benchmark(cfg: dict, name: str) -> dict:
    spec = next((b for b in cfg["eval"]["answer_benchmarks"] if b["name"] == name), None)
    if spec is None:
        raise ConfigError(f"eval.answer_benchmarks has no benchmark named {name!r}")
    return spec


def gold_text(value: object, regex: str | None) -> str | None:
    """The gold answer as text: numbers without a spurious `.0` (AMC's 142.0), a list of answers
    joined with ", " (OlympiadBench), the regex's first group when one is set (GSM8K's
    `#### 18`); None when there is none."""
    if isinstance(value, list):
        parts = [gold_text(v, None) for v in value]
        value = ", ".join(p for p in parts if p) if all(parts) else None
    elif isinstance(value, float) and value.is_integer():
        value = str(int(value))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    if regex:
        found = re.search(regex, value, re.MULTILINE)
        if found is None:
            return None
        value = found.group(1) if found.groups() else found.group(0)
    return value.strip() or None


def _records(spec: dict) -> tuple[object, list[tuple[str, dict]]]:
    if spec["hf_dataset"]:
        return spec["hf_dataset"], hf_records(spec)
    if not spec["path"]:
        raise ConfigError(f"eval.answer_benchmarks {spec['name']!r}: set `path` or `hf_dataset`")
    require_nonempty(spec["path"], f"answer benchmark {spec['name']!r} (JSONL or Parquet)")
    return spec["path"], list(read_table_records(spec["path"]))


def load_answer_benchmark(spec: dict) -> list[dict]:
    """[{problem_id, problem, expected_answer}] in file order (the first `limit` problems)."""
    name, field, answer_field = spec["name"], spec["problem_field"], spec["answer_field"]
    origin, records = _records(spec)
    rows: list[dict] = []
    seen: dict[str, str] = {}
    for number, (where, record) in enumerate(records, start=1):
        problem = record.get(field)
        if not isinstance(problem, str) or not problem.strip():
            raise InputError(
                origin, where, f"answer benchmark {name!r}: expected a non-empty text field {field!r}"
            )
        gold = gold_text(record.get(answer_field), spec["answer_regex"])
        if gold is None:
            how = f" matching {spec['answer_regex']!r}" if spec["answer_regex"] else ""
            raise InputError(
                origin, where, f"answer benchmark {name!r}: expected a gold answer in {answer_field!r}{how}"
            )
        problem_id = f"{name}/{number}"
        if spec["id_field"]:
            if record.get(spec["id_field"]) in (None, ""):
                raise InputError(
                    origin, where, f"answer benchmark {name!r}: expected an id in {spec['id_field']!r}"
                )
            problem_id = str(record[spec["id_field"]])
        if problem_id in seen:
            raise InputError(
                origin,
                where,
                f"answer benchmark {name!r}: problem id {problem_id!r} repeats (first at {seen[problem_id]})",
            )
        seen[problem_id] = where
        rows.append({"problem_id": problem_id, "problem": problem.strip(), "expected_answer": gold})
        if spec["limit"] is not None and len(rows) >= spec["limit"]:
            break
    if not rows:
        raise InputError(origin, None, f"answer benchmark {name!r} has no problems")
    log.info("answer benchmark %s: %d problems from %s", name, len(rows), origin)
    return rows
