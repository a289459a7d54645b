"""extract_answers: the forum's final answer for each problem (from the discussion), or null.
A problem whose text states that answer is dropped (`answer_in_statement`, mathforge.hygiene).

No request is sent when there is nothing to read (no replies) or the answer came with the
problem (a bring-your-own table with `expected_answer`); `answer_status` says which case held.
"""

from __future__ import annotations

import logging
import re

from mathforge.funnel import StepStats, write_step
from mathforge.hygiene.statement import states_answer
from mathforge.inference.client import SamplingParams
from mathforge.inference.generation import Generator, make_request
from mathforge.inference.models import stage_model
from mathforge.io import read_records
from mathforge.prompts import load_prompt
from mathforge.schemas.problems import ANSWERS_SCHEMA, DROPPED_SCHEMA, llm_meta
from mathforge.text import last_boxed

log = logging.getLogger(__name__)

_NOT_FOUND = re.compile(r"answer\s+not\s+found", re.IGNORECASE)


def parse_answer(text: str) -> tuple[str | None, str]:
    answer = last_boxed(text)
    if answer:
        return answer, "found"
    if _NOT_FOUND.search(text):
        return None, "not_found"
    return None, "unparseable"


def drop_stated_answers(rows: list[dict], stats: StepStats) -> tuple[list[dict], list[dict]]:
    """(kept rows, dropped rows): a problem whose text states its own expected answer teaches
    copying from the prompt; it is dropped as `answer_in_statement`."""
    kept, dropped = [], []
    for row in rows:
        where = row["expected_answer"] and states_answer(row["problem"], row["expected_answer"])
        if not where:
            kept.append(row)
            continue
        stats.drop("answer_in_statement")
        dropped.append(
            {"problem_id": row["problem_id"], "thread_uid": row["thread_uid"], "step": "extract_answers",
             "reason": "answer_in_statement", "problem": row["problem"],
             "detail": f"answer {row['expected_answer']}: {where}"}
        )  # fmt: skip
    stats.n_out = len(kept)
    return kept, dropped


def extract_answers(
    in_path: str, cfg: dict, out_path: str, dropped_path: str, stats_path: str, store_path: str
) -> StepStats:
    stage = cfg["problems"]["answers"]
    prompt = load_prompt(cfg["prompts_dir"], stage["prompt"])
    params = SamplingParams.from_config(stage)
    rows = read_records(in_path)
    stats = StepStats(step="extract_answers", n_in=len(rows), n_out=len(rows))
    todo = []
    for row in rows:
        row["answer_extraction"] = None
        if row.get("expected_answer"):
            row["answer_status"] = "provided"
        elif not (row.get("forum_discussions") or "").strip():
            row["answer_status"] = "no_discussion"
        else:
            todo.append(row)
    with Generator(stage_model(cfg, "problems.answers"), store_path) as gen:
        requests = [
            make_request(
                stage_model(cfg, "problems.answers"),
                prompt.render(problem=r["problem"], forum_post=r["forum_post"],
                              forum_discussions=r["forum_discussions"]),
                params,
            )
            for r in todo
        ]  # fmt: skip
        results = gen.run(requests)
    stats.counters["requests"] = gen.totals.__dict__
    for row, request in zip(todo, requests, strict=True):
        record = results[request.key]
        if record.get("error"):
            row["expected_answer"], row["answer_status"] = None, "rejected"
        else:
            row["expected_answer"], row["answer_status"] = parse_answer(record["text"])
        row["answer_extraction"] = llm_meta(record, prompt, params)
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row["answer_status"]] = statuses.get(row["answer_status"], 0) + 1
    stats.counters["answer_status"] = dict(sorted(statuses.items()))
    rows, dropped = drop_stated_answers(rows, stats)
    return write_step(
        stats, stats_path, (rows, ANSWERS_SCHEMA, out_path), (dropped, DROPPED_SCHEMA, dropped_path)
    )
