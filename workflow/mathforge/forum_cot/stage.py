"""rewrite_forum_solutions: forum answers rewritten into step-by-step solutions (the `forum_cot` SFT variant).

For each problem of one solutions shard that gives SFT rows (fill_majority_answer's verdict), the
first reply of its thread that reads like a worked answer (`forum_cot.min_answer_chars` characters
with some mathematics in them) is sent to the LLM, which rewrites it into a step-by-step solution
ending in \\boxed{} (NuminaMath's CoT step). The rewrite is judged against the problem's FINAL
expected answer with the answers judge (symbolic first, LLM for the rest) and kept only when it
agrees. Every attempt is written with its status; problems without a request are counted.
The row keeps the post it came from (`source_post`, `source_post_index`) and its attribution: the
question's authors plus that reply's author when the source names one per reply (Stack Exchange).

With forum_cot.count_as_votes the rewrite comes before the vote instead (rewrite_forum_votes, every
problem of the shard), its boxed answer is one more ballot in fill_majority_answer, and
judge_forum_votes keeps it afterwards only when its problem gives SFT rows, its ballot did not change
the final expected answer, and it agrees with that answer: a rewrite never vouches for itself.
"""

from __future__ import annotations

import logging
import re
from collections import Counter

from mathforge.funnel import StepStats, read_summary, write_step
from mathforge.grading.judge import judge_answers
from mathforge.grading.judged_rows import answer_judging, apply_verdict, problem_drop_reason
from mathforge.inference.client import SamplingParams
from mathforge.inference.generation import Generator, make_request
from mathforge.inference.models import stage_model
from mathforge.io import read_records
from mathforge.prompts import load_prompt
from mathforge.schemas.judged import FORUM_COT_SCHEMA, REWRITE_VOTED
from mathforge.schemas.problems import PROBLEM_LABEL_NAMES, PROVENANCE_NAMES
from mathforge.schemas.solutions import FORUM_COT_MODE
from mathforge.schemas.threads import POST_HEADER
from mathforge.text import last_boxed

log = logging.getLogger(__name__)

MODEL_KEY = "forum_cot.rewrite"
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
        "mode": FORUM_COT_MODE, "effort": None, "sample_index": 0, "seed": params.seed,
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
    judge_pending(rows, cfg, store_path)


def judge_pending(rows: list[dict], cfg: dict, store_path: str) -> None:
    """Judge the rewrites without a status yet against their expected answer: kept or not."""
    todo = [r for r in rows if r["forum_cot_status"] is None]
    with answer_judging(cfg, store_path) as (comparer, generator):
        items = [(r["problem"], r["expected_answer"], r["predicted_answer"]) for r in todo]
        verdicts = judge_answers(items, comparer, cfg, generator)
    for row, verdict in zip(todo, verdicts, strict=True):
        apply_verdict(row, verdict)
        row["forum_cot_status"] = "kept" if verdict.judgement is True else "disagrees_with_expected_answer"


def run(
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
    rows = _rewrite(todo, cfg, store_path, stats)
    judge_rewrites(rows, cfg, judge_store_path)
    return _write_kept(rows, stats, out_path, summary_path)


def _rewrite(todo: list[tuple], cfg: dict, store_path: str, stats: StepStats) -> list[dict]:
    """The rewrite requests of (problem row, post index, post text) through the request store."""
    stage = cfg["forum_cot"]
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
    return [
        rewrite_row(p, index, post, results[r.key], stage["sft_prompt"], params)
        for (p, index, post), r in zip(todo, requests, strict=True)
    ]


def _write_kept(rows: list[dict], stats: StepStats, out_path: str, summary_path: str) -> StepStats:
    """Count every judged rewrite by status (kept = n_out) and write them with the summary."""
    for row in rows:
        row["forum_judgement"] = row.get("judgement")
        if row["forum_cot_status"] != "kept":
            stats.drop(row["forum_cot_status"])
    stats.n_out = sum(r["forum_cot_status"] == "kept" for r in rows)
    stats.counters["rewrites"] = len(rows)
    stats.counters["status"] = dict(sorted(Counter(r["forum_cot_status"] for r in rows).items()))
    stats.notes["pass_rate"] = round(stats.n_out / len(rows), 4) if rows else None
    return write_step(stats, summary_path, (rows, FORUM_COT_SCHEMA, out_path))


# forum_cot.count_as_votes: rewrite before the vote (rewrite_forum_votes), their boxed answers vote in
# fill_majority_answer, and the keep decision comes after it (judge_forum_votes).


def rewrite_forum_votes(
    solutions_path: str, problems_path: str, cfg: dict, out_path: str, summary_path: str, store_path: str
) -> StepStats:
    """Rewrite the worked forum answer of every problem of one solutions shard, before the vote.
    A finished rewrite with a boxed answer is a ballot (status REWRITE_VOTED, judged after the
    vote); the rest keep their failure status. Every problem of the shard is a candidate: which
    ones give SFT rows is only known after the vote."""
    wanted = sorted({s["problem_id"] for s in read_records(solutions_path)})
    problems = {p["problem_id"]: p for p in read_records(problems_path) if p["problem_id"] in wanted}
    stats = StepStats(step="rewrite_forum_votes", n_in=len(wanted))
    todo = []
    for problem_id in wanted:
        problem = problems[problem_id]
        post = answer_post(problem.get("forum_discussions"), cfg["forum_cot"]["min_answer_chars"])
        if post is None:
            stats.drop("no_answer_post")
            continue
        todo.append(({**problem, "forum_answer": problem["expected_answer"], "answer_rule": None}, *post))
    rows = _rewrite(todo, cfg, store_path, stats)
    for row in rows:
        row["forum_cot_status"] = status_before_judge(row) or REWRITE_VOTED
        if row["forum_cot_status"] != REWRITE_VOTED:
            stats.drop(row["forum_cot_status"])
    stats.n_out = sum(r["forum_cot_status"] == REWRITE_VOTED for r in rows)
    stats.counters["rewrites"] = len(rows)
    return write_step(stats, summary_path, (rows, FORUM_COT_SCHEMA, out_path))


def status_after_vote(row: dict, verdict: dict) -> str | None:
    """Why a rewrite that could vote cannot be kept, or None (to be judged). Its problem must give SFT
    rows, and its ballot must not have changed the final expected answer: a rewrite is kept only when
    it agrees with an answer that stands without its own vote (else it would vouch for itself)."""
    reason = problem_drop_reason(verdict)
    if reason is not None:
        return f"problem_not_sft:{reason}"
    if row["forum_cot_status"] != REWRITE_VOTED:
        return row["forum_cot_status"]
    return "own_vote_changed_answer" if verdict["rewrite_changed_answer"] else None


def judge_forum_votes(
    rewrites_path: str, rewrites_summary_path: str, majority_path: str, cfg: dict, out_path: str,
    summary_path: str, judge_store_path: str,
) -> StepStats:  # fmt: skip
    """After the vote: each rewrite of one shard gets its problem's final answer and its status
    (status_after_vote), the rest are judged against that answer; written as rewrite_forum_solutions
    writes them (same table and summary), with the rewrite step's requests and problem counts."""
    rows = read_records(rewrites_path)
    before = read_summary(rewrites_summary_path)
    verdicts = {m["problem_id"]: m for m in read_records(majority_path)}
    stats = StepStats(step="rewrite_forum_solutions", n_in=before.n_in)
    if before.dropped.get("no_answer_post"):
        stats.drop("no_answer_post", before.dropped["no_answer_post"])
    for row in rows:
        verdict = verdicts[row["problem_id"]]
        row.update({key: verdict[key] for key in ("expected_answer", "answer_rule", "forum_answer")})
        row["forum_cot_status"] = status_after_vote(row, verdict)
    judge_pending(rows, cfg, judge_store_path)
    stats.counters["requests"] = before.counters["requests"]
    return _write_kept(rows, stats, out_path, summary_path)
