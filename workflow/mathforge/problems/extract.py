"""extract_problems: the LLM lists the problems in each thread's first post ("Problem N: ...")."""

from __future__ import annotations

import logging
import re

from mathforge.funnel import StepStats, write_step
from mathforge.ids import problem_id, shard_of
from mathforge.inference.client import SamplingParams
from mathforge.inference.generation import Generator, make_request
from mathforge.io import read_records
from mathforge.problems.schema import DROPPED_SCHEMA, EXTRACTED_SCHEMA, llm_meta
from mathforge.prompts import load_prompt

log = logging.getLogger(__name__)

_PROBLEM_HEADER = re.compile(
    r"^[ \t>*#_]*Problem[ \t]*(\d+)[ \t]*[:.)][ \t*_]*", re.IGNORECASE | re.MULTILINE
)
_NONE = re.compile(r"no\s+problems?\s+(identified|found)", re.IGNORECASE)


def parse_problems(text: str) -> tuple[list[str], str]:
    """Problems listed as 'Problem N: ...'; status is 'ok', 'none' or 'unparseable'."""
    headers = list(_PROBLEM_HEADER.finditer(text))
    if not headers:
        return [], "none" if _NONE.search(text) else "unparseable"
    problems = []
    for header, following in zip(headers, [*headers[1:], None], strict=True):
        end = following.start() if following else len(text)
        body = text[header.end() : end].strip().strip("-").strip()
        if body and not _NONE.fullmatch(body.rstrip(".")):
            problems.append(body)
    return problems, ("ok" if problems else "none")


def select_shard(records: list[dict], shard: int, n_shards: int, key: str = "thread_uid") -> list[dict]:
    return [r for r in records if shard_of(r[key], n_shards) == shard]


def extract_problems(
    raw_path: str,
    shard: int,
    n_shards: int,
    cfg: dict,
    out_path: str,
    dropped_path: str,
    stats_path: str,
    store_path: str,
) -> StepStats:
    stage = cfg["problems"]["extraction"]
    prompt = load_prompt(cfg["prompts_dir"], stage["prompt"])
    params = SamplingParams.from_config(stage)
    threads = select_shard(read_records(raw_path), shard, n_shards)
    stats = StepStats(step="extract_problems", n_in=len(threads))
    with Generator(cfg["inference"], store_path) as gen:
        requests = [
            make_request(cfg["inference"], prompt.render(forum_post=t["forum_post"]), params) for t in threads
        ]
        results = gen.run(requests)
    stats.extra["requests"] = gen.totals.__dict__
    rows, dropped = [], []
    for thread, request in zip(threads, requests, strict=True):
        record = results[request.key]
        if record.get("error"):
            status, problems = "request_rejected", []
        else:
            problems, status = parse_problems(record["text"])
            if record.get("finish_reason") == "length" and problems:
                problems = problems[:-1]  # the last one may be cut off mid-sentence
                status = "ok" if problems else "truncated"
        if not problems:
            stats.drop(f"no_problem:{status}")
            dropped.append(
                {"problem_id": None, "thread_uid": thread["thread_uid"], "step": "extract_problems",
                 "reason": status, "problem": None, "detail": (record.get("text") or "")[:2000]}
            )  # fmt: skip
            continue
        meta = llm_meta(record, prompt, params)
        seen = set()
        for index, problem in enumerate(problems):
            pid = problem_id(problem, thread["source"], thread["thread_id"])
            if pid in seen:
                stats.drop("duplicate_in_thread")
                continue
            seen.add(pid)
            rows.append(
                {
                    "problem_id": pid,
                    "problem": problem,
                    "problem_index": index,
                    **{k: thread[k] for k in ("thread_uid", "source", "site", "thread_id", "post_id",
                                              "license", "source_file", "source_record",
                                              "forum_post", "forum_discussions")},
                    "expected_answer": None,
                    "extraction": meta,
                }
            )  # fmt: skip
    stats.n_out = len(rows)
    return write_step(
        stats, stats_path, (rows, EXTRACTED_SCHEMA, out_path), (dropped, DROPPED_SCHEMA, dropped_path)
    )
