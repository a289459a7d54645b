"""rewrite_forum_solutions: forum answers rewritten into step-by-step solutions (the `forum_cot` SFT variant).

For each problem of one solutions shard that gives SFT rows (fill_majority_answer's verdict), the
first reply of its thread that reads like a worked answer (`forum_cot.min_answer_chars` characters
with some mathematics in them) is sent to the LLM, which rewrites it into a step-by-step solution
ending in \\boxed{} (NuminaMath's CoT step). The rewrite is judged against the problem's FINAL
expected answer with the answers judge (symbolic first, LLM for the rest) and kept only when it
agrees. Every attempt is written with its status; problems without a request are counted.
The row keeps the post it came from (`source_post`, `source_post_index`) and its attribution: the
question's authors plus that reply's author when the source names one per reply (Stack Exchange).
"""

from __future__ import annotations

import logging
import re
from collections import Counter

from mathforge.answers.judge import judge_answers
from mathforge.answers.schema import FORUM_COT_SCHEMA
from mathforge.answers.stages import _apply, _judging, problem_drop_reason
from mathforge.forum.threads import POST_HEADER
from mathforge.funnel import StepStats, write_step
from mathforge.inference.client import SamplingParams
from mathforge.inference.generation import Generator, make_request
from mathforge.inference.models import stage_model
from mathforge.io import read_records
from mathforge.problems.schema import PROBLEM_LABEL_NAMES, PROVENANCE_NAMES
from mathforge.prompts import load_prompt
from mathforge.text import last_boxed

log = logging.getLogger(__name__)

MODEL_KEY = "forum_cot.rewrite"
MODE = "forum_cot"  # the `mode` of the rows and the SFT variant's name
_MATH = re.compile(r"[$\\=0-9]")


def split_posts(discussion: str | None) -> list[str]:
    """The replies of a 'Post i:' discussion, in order (text before the first header is ignored)."""
    text = discussion or ""
    starts = [m for m in POST_HEADER.finditer(text)]
    return [
        text[m.end() : starts[i + 1].start() if i + 1 < len(starts) else len(text)].strip()
        for i, m in enumerate(starts)
    ]


def answer_post(discussion: str | None, min_chars: int) -> tuple[int, str] | None:
    """(1-based index, text) of the first reply long enough to hold a worked answer, or None."""
    for index, post in enumerate(split_posts(discussion), start=1):
        if len(post) >= min_chars and _MATH.search(post):
            return index, post
    return None


def post_attribution(row: dict, index: int) -> tuple[list[dict], str]:
    """(authors, licence) of a row rewritten from reply `index`: the question's author entries and
    the reply's own when the source lists one per reply; the reply's licence when known."""
    authors = list(row.get("authors") or [])
    replies = [a for a in authors if a["role"] == "answer"]
    own = [a for a in authors if a["role"] != "answer"]
    if len(replies) == len(split_posts(row.get("forum_discussions"))) and index <= len(replies):
        reply = replies[index - 1]
        return [*own, reply], reply["license"] or row["license"]
    return own, row["license"]


def _candidates(majority: list[dict], problems: dict[str, dict], min_chars: int, stats: StepStats):
    """(problem row with its final answer, post index, post text) for every problem to rewrite."""
    out = []
    for verdict in majority:
        reason = problem_drop_reason(verdict)
        if reason is not None:
            stats.drop(f"problem_not_sft:{reason}")
            continue
        problem = problems[verdict["problem_id"]]
        post = answer_post(problem.get("forum_discussions"), min_chars)
        if post is None:
            stats.drop("no_answer_post")
            continue
        final = {key: verdict[key] for key in ("expected_answer", "answer_rule", "forum_answer")}
        row = {**problem, **final}
        out.append((row, *post))
    return out


def rewrite_row(problem: dict, index: int, post: str, record: dict, prompt_name: str, params) -> dict:
    """The solution-shaped row of one rewrite (before judging)."""
    generation = (record.get("text") or "").strip()
    authors, licence = post_attribution(problem, index)
    return {
        "problem_id": problem["problem_id"],
        "problem": problem["problem"],
        "expected_answer": problem["expected_answer"],
        **{name: problem.get(name) for name in PROVENANCE_NAMES},
        "license": licence,
        "authors": authors,
        **{name: problem.get(name) for name in PROBLEM_LABEL_NAMES},
        "mode": MODE, "effort": None, "sample_index": 0, "seed": params.seed,
        "generation": generation, "reasoning": None,  # the rewriter's own thinking is not the solution
        "predicted_answer": last_boxed(generation),
        "finish_reason": record.get("finish_reason"),
        "prompt_tokens": record.get("prompt_tokens"), "completion_tokens": record.get("completion_tokens"),
        "num_llm_calls": 1, "num_code_executions": 0, "code_cells": [], "sandbox_isolation": [],
        "model": record.get("model"), "endpoint_kind": record.get("endpoint_kind"),
        "prompt_name": prompt_name, "prompt_hash": None, "code_tags": None,
        "request_key": record.get("key"), "latency_s": None, "error": record.get("error"),
        "forum_answer": problem["forum_answer"], "answer_rule": problem["answer_rule"],
        "source_post_index": index, "source_post": post,
    }  # fmt: skip


def status_before_judge(row: dict) -> str | None:
    """Why a rewrite cannot be kept whatever its answer, or None."""
    if row["error"]:
        return "rewrite_rejected"
    if row["finish_reason"] != "stop":
        return "unfinished"
    return None if row["predicted_answer"] else "no_boxed_answer"


def judge_rewrites(rows: list[dict], cfg: dict, store_path: str) -> None:
    """Set every rewrite's `forum_cot_status`, judging those with a boxed answer against the final
    answer (symbolic comparison, then the LLM judge for what it cannot decide)."""
    for row in rows:
        row["forum_cot_status"] = status_before_judge(row)
    todo = [r for r in rows if r["forum_cot_status"] is None]
    with _judging(cfg, store_path) as (comparer, generator):
        items = [(r["problem"], r["expected_answer"], r["predicted_answer"]) for r in todo]
        verdicts = judge_answers(items, comparer, cfg, generator)
    for row, verdict in zip(todo, verdicts, strict=True):
        _apply(row, verdict)
        row["forum_cot_status"] = "kept" if verdict.judgement is True else "disagrees_with_expected_answer"


def rewrite_forum_solutions(
    majority_path: str, problems_path: str, cfg: dict, out_path: str, summary_path: str,
    store_path: str, judge_store_path: str,
) -> StepStats:  # fmt: skip
    """Rewrite, judge and record the forum solutions of one shard (see the module docstring)."""
    stage = cfg["forum_cot"]
    majority = read_records(majority_path)
    wanted = {m["problem_id"] for m in majority}
    problems = {p["problem_id"]: p for p in read_records(problems_path) if p["problem_id"] in wanted}
    stats = StepStats(step="rewrite_forum_solutions", n_in=len(majority))
    todo = _candidates(majority, problems, stage["min_answer_chars"], stats)
    prompt = load_prompt(cfg["prompts_dir"], stage["rewrite"]["prompt"])
    params = SamplingParams.from_config(stage["rewrite"])
    model = stage_model(cfg, MODEL_KEY)
    requests = [
        make_request(model, prompt.render(problem=p["problem"], answer_post=post), params)
        for p, _, post in todo
    ]
    with Generator(model, store_path) as gen:
        results = gen.run(requests)
    stats.counters["requests"] = gen.totals.__dict__
    rows = [
        rewrite_row(p, index, post, results[r.key], stage["sft_prompt"], params)
        for (p, index, post), r in zip(todo, requests, strict=True)
    ]
    judge_rewrites(rows, cfg, judge_store_path)
    for row in rows:
        row["forum_judgement"] = row.get("judgement")
        if row["forum_cot_status"] != "kept":
            stats.drop(row["forum_cot_status"])
    stats.n_out = sum(r["forum_cot_status"] == "kept" for r in rows)
    stats.counters["rewrites"] = len(rows)
    stats.counters["status"] = dict(sorted(Counter(r["forum_cot_status"] for r in rows).items()))
    stats.notes["pass_rate"] = round(stats.n_out / len(rows), 4) if rows else None
    return write_step(stats, summary_path, (rows, FORUM_COT_SCHEMA, out_path))
