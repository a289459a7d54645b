"""extract_problems: the LLM lists the problems in each thread's first post ("Problem N: ...").

Each problem is then checked against the post (mathforge.hygiene.faithful): one whose numbers or
formulas come from elsewhere (a reply's result) is dropped as `extraction:unfaithful`, or, with
`problems.faithfulness.retry`, the thread is sent back to the model once with what is unsupported.
"""

from __future__ import annotations

import logging
import re

from mathforge.funnel import StepStats, write_step
from mathforge.hygiene.faithful import Unsupported, describe, unsupported_content
from mathforge.ids import problem_id
from mathforge.inference.client import SamplingParams
from mathforge.inference.generation import Generator, make_request
from mathforge.inference.models import stage_model
from mathforge.io import read_shard_records
from mathforge.prompts import load_prompt
from mathforge.schemas.problems import DROPPED_SCHEMA, EXTRACTED_SCHEMA, PROVENANCE_NAMES, llm_meta

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


def _parsed(record: dict) -> tuple[list[str], str, str | None]:
    """The problems of one extraction reply, its status, and the problem cut by the token limit.

    A reply cut by the token limit loses its last problem, which may end mid-sentence; it is
    returned apart so that the drop is recorded. A cut right after a header cut no problem."""
    if record.get("error"):
        return [], "request_rejected", None
    problems, status = parse_problems(record["text"])
    headers = list(_PROBLEM_HEADER.finditer(record["text"]))
    last_body = record["text"][headers[-1].end() :].strip().strip("-").strip() if headers else ""
    if record.get("finish_reason") != "length" or not problems or problems[-1] != last_body:
        return problems, status, None
    return problems[:-1], ("ok" if len(problems) > 1 else "truncated"), problems[-1]


def _unfaithful(problems: list[str], post: str, check: dict) -> dict[str, list[Unsupported]]:
    """{problem: what the question post does not support} for the problems that are not faithful."""
    if not check["enabled"]:
        return {}
    implicit = tuple(check["implicit_numbers"])
    found = {p: unsupported_content(p, post, implicit) for p in problems}
    return {p: u for p, u in found.items() if u}


class _Extraction:
    """One thread's final extraction: the reply used, its problems, status and unfaithful ones."""

    def __init__(self, thread: dict, messages: list[dict], record: dict, check: dict, prompt):
        self.thread, self.messages, self.record, self.prompt = thread, messages, record, prompt
        self.problems, self.status, self.cut = _parsed(record)
        self.unfaithful = _unfaithful(self.problems, thread["forum_post"], check)


def _retry(
    items: list[_Extraction], cfg: dict, params: SamplingParams, gen: Generator, stats: StepStats
) -> list[_Extraction]:
    """Send each unfaithful extraction back once with what is unsupported; a reply with problems
    replaces the first one (and is checked again like it)."""
    check = cfg["problems"]["faithfulness"]
    prompt = load_prompt(cfg["prompts_dir"], check["retry_prompt"])
    todo = [i for i, item in enumerate(items) if item.unfaithful]
    requests = []
    for i in todo:
        unsupported = describe([u for found in items[i].unfaithful.values() for u in found])
        turn = [
            {"role": "assistant", "content": items[i].record["text"]},
            *prompt.render(unsupported=unsupported),
        ]
        requests.append(
            make_request(stage_model(cfg, "problems.extraction"), [*items[i].messages, *turn], params)
        )
    results = gen.run(requests)
    items = list(items)
    for i, request in zip(todo, requests, strict=True):
        retried = _Extraction(items[i].thread, request.messages, results[request.key], check, prompt)
        if retried.problems:
            items[i] = retried
        stats.counters["faithfulness"]["recovered"] += not items[i].unfaithful
    stats.counters["faithfulness"]["retried"] = len(todo)
    return items


def _dropped(thread: dict, reason: str, problem: str | None, detail: str) -> dict:
    return {"problem_id": problem and problem_id(problem, thread["source"], thread["thread_id"]),
            "thread_uid": thread["thread_uid"], "step": "extract_problems", "reason": reason,
            "problem": problem, "detail": detail}  # fmt: skip


def _collect(item: _Extraction, meta: dict, stats: StepStats, rows: list[dict], dropped: list[dict]) -> None:
    """Add one thread's problems to `rows`, and what it drops (and why) to `dropped`."""
    thread = item.thread
    if item.cut is not None:
        stats.drop("extraction:cut_by_token_limit")
        dropped.append(_dropped(thread, "extraction:cut_by_token_limit", item.cut, "finish_reason: length"))
    if not item.problems:
        if item.cut is None:
            stats.drop(f"no_problem:{item.status}")
            dropped.append(_dropped(thread, item.status, None, (item.record.get("text") or "")[:2000]))
        return
    seen = set()
    for index, problem in enumerate(item.problems):
        if problem in item.unfaithful:
            stats.drop("extraction:unfaithful")
            stats.counters["faithfulness"]["unfaithful"] += 1
            dropped.append(
                _dropped(thread, "extraction:unfaithful", problem, describe(item.unfaithful[problem]))
            )
            continue
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
                **{k: thread[k] for k in ("thread_uid", *PROVENANCE_NAMES, "forum_post",
                                          "forum_discussions", "truncated")},
                "expected_answer": None,
                "extraction": meta,
            }
        )  # fmt: skip


def run(
    raw_path: str,
    shard: int,
    n_shards: int,
    cfg: dict,
    out_path: str,
    dropped_path: str,
    stats_path: str,
    store_path: str,
) -> StepStats:
    stage, check = cfg["problems"]["extraction"], cfg["problems"]["faithfulness"]
    prompt = load_prompt(cfg["prompts_dir"], stage["prompt"])
    params = SamplingParams.from_config(stage)
    threads = read_shard_records(raw_path, "thread_uid", shard, n_shards)  # one batch at a time
    stats = StepStats(step="extract_problems", n_in=len(threads))
    stats.counters["faithfulness"] = {"retried": 0, "recovered": 0, "unfaithful": 0}
    with Generator(stage_model(cfg, "problems.extraction"), store_path) as gen:
        messages = [prompt.render(forum_post=t["forum_post"]) for t in threads]
        requests = [make_request(stage_model(cfg, "problems.extraction"), m, params) for m in messages]
        results = gen.run(requests)
        items = [
            _Extraction(t, m, results[r.key], check, prompt)
            for t, m, r in zip(threads, messages, requests, strict=True)
        ]
        if check["enabled"] and check["retry"]:
            items = _retry(items, cfg, params, gen, stats)
    stats.counters["requests"] = gen.totals.__dict__
    rows, dropped = [], []
    for item in items:
        _collect(item, llm_meta(item.record, item.prompt, params), stats, rows, dropped)
    stats.n_out = len(rows)
    return write_step(
        stats, stats_path, (rows, EXTRACTED_SCHEMA, out_path), (dropped, DROPPED_SCHEMA, dropped_path)
    )
