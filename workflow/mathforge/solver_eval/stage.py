"""evaluate_solver: a model's accuracy on one answer benchmark at one reasoning effort, with or
without the Python tool.

Every problem gets `n_samples` solutions from the solution machinery of generate_solutions (same
prompts, code tags, TIR loop, sandbox and transports; sample i has seed `sampling.seed + i`, so
raising n only adds samples), stored in the job's request store like solutions. Each sample is
judged against the gold answer by the answers stages' comparer and judge (the method recorded
per row). The summary has pass@1 (the mean correctness over samples), maj@k and unbiased pass@k
for every k <= n, bootstrap intervals over problems, the share of samples without an answer,
mean tokens and code cells per sample.
"""

from __future__ import annotations

import copy
import logging
from collections import Counter, defaultdict

import pyarrow as pa

from mathforge.evaluation.bootstrap import bootstrap_interval
from mathforge.evaluation.majority import maj_at_every_k, vote_classes
from mathforge.evaluation.models import model_inference
from mathforge.evaluation.passk import pass_at_k
from mathforge.funnel import StepStats, write_step
from mathforge.grading.judge import judge_answers
from mathforge.grading.judged_rows import answer_judging, apply_verdict
from mathforge.ids import sha256_hex
from mathforge.inference.endpoints import model_identity
from mathforge.inference.store import RequestStore
from mathforge.schemas.judged import JUDGED_SCHEMA
from mathforge.solver_eval.benchmarks import answer_benchmark, load_answer_benchmark
from mathforge.solving.code_tags import load_code_tags
from mathforge.solving.generate import build_tasks, run_tasks, solution_row
from mathforge.solving.transcript import reasoning_format

log = logging.getLogger(__name__)

# The evaluation's mode names and the solution machinery's.
SOLUTION_MODE = {"no_tool": "plain", "tool": "tir"}
EVALUATED_MODEL = "evaluated"  # the name the evaluated model takes in one job's config

SOLVER_EVAL_SCHEMA = pa.schema(
    [("benchmark", pa.string()), ("eval_model", pa.string()), ("eval_mode", pa.string()), *JUDGED_SCHEMA]
)


def solver_job_config(cfg: dict, model: str, effort: str, mode: str) -> dict:
    """The config as the solution machinery sees it for one job: the evaluated model's inference,
    one effort, n samples of one mode, the evaluation's sampling and effort control."""
    solver = cfg["eval"]["solver"]
    solutions = copy.deepcopy(cfg["solutions"])
    n = solver["n_samples"]
    solutions.update(
        efforts=[effort],
        n_tir=n if mode == "tool" else 0,
        n_plain=n if mode == "no_tool" else 0,
        sampling=solver["sampling"],
        effort_via=solver["effort_via"] or solutions["effort_via"],
    )
    # The solution machinery finds its model through `solutions.model`: point it at the evaluated one.
    solutions["model"] = EVALUATED_MODEL
    models = {**(cfg.get("models") or {}), EVALUATED_MODEL: model_inference(cfg, model, "solutions")}
    return {**cfg, "models": models, "solutions": solutions}


def generate_samples(problems: list[dict], job_cfg: dict, store_path: str) -> tuple[list[dict], Counter]:
    """One solution row per sample (problem order, then sample index); only missing ones are sent."""
    tasks = build_tasks(problems, job_cfg)
    with RequestStore(store_path) as store:
        counts = run_tasks([task for _, _, task in tasks], job_cfg, store)
        tags = load_code_tags(job_cfg["prompts_dir"], job_cfg["solutions"]["tir"]["code_tags"])
        fmt = reasoning_format(job_cfg["solutions"], tags)
        rows = [solution_row(row, meta, store.get(task.key), fmt, tags) for row, meta, task in tasks]
    return rows, counts


def problem_seed(seed: int, problem_id: str) -> int:
    """A draw seed per problem: adding problems never changes another problem's estimate."""
    return seed + int(sha256_hex(problem_id)[:8], 16)


def score_problems(rows: list[dict], cfg: dict, judge_store: str) -> tuple[list[dict], dict]:
    """Judge every row in place; per problem: n, correct, answered, maj@k and pass@k for every k."""
    solver = cfg["eval"]["solver"]
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[row["problem_id"]].append(row)
    scores = []
    with answer_judging(cfg, judge_store) as (comparer, generator):
        judged = judge_answers(
            [(r["problem"], r["expected_answer"], r["predicted_answer"]) for r in rows],
            comparer,
            cfg,
            generator,
        )
        for row, verdict in zip(rows, judged, strict=True):
            apply_verdict(row, verdict)
        for problem_id, group in groups.items():
            answers = [r["predicted_answer"] for r in group]
            classes = vote_classes(answers, [r["judgement"] for r in group], comparer)
            n, correct = len(group), sum(bool(r["judgement"]) for r in group)
            maj = maj_at_every_k(
                classes, solver["maj_draws"], problem_seed(solver["bootstrap"]["seed"], problem_id)
            )
            scores.append({
                "problem_id": problem_id, "n": n, "correct": correct,
                "answered": sum(a is not None for a in answers),
                "majority_answer": classes.answers[0] if classes.answers else None,
                "maj_at_k": maj, "pass_at_k": [pass_at_k(n, correct, k) for k in range(1, n + 1)],
            })  # fmt: skip
        comparisons = dict(comparer.stats)
    return scores, comparisons


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def benchmark_metrics(scores: list[dict], n: int, bootstrap: dict) -> dict:
    """Means over problems for every k, and bootstrap intervals of the headline numbers."""
    maj = {str(k): round(_mean([s["maj_at_k"][k - 1] for s in scores]), 6) for k in range(1, n + 1)}
    passk = {str(k): round(_mean([s["pass_at_k"][k - 1] for s in scores]), 6) for k in range(1, n + 1)}
    per_problem = {
        "pass@1": [s["correct"] / s["n"] for s in scores],
        f"maj@{n}": [s["maj_at_k"][-1] for s in scores],
        f"pass@{n}": [float(s["correct"] > 0) for s in scores],
    }
    headline = {}
    for name, values in per_problem.items():
        interval = bootstrap_interval(
            values, bootstrap["samples"], bootstrap["confidence"], bootstrap["seed"]
        )
        headline[name] = {
            "value": round(_mean(values), 6),
            "ci": [round(v, 6) for v in interval] if interval else None,
        }
    return {
        "accuracy": headline["pass@1"]["value"],
        "headline": headline,
        "maj_at_k": maj,
        "pass_at_k": passk,
    }


def sample_statistics(rows: list[dict]) -> dict:
    total = len(rows) or 1
    return {
        "no_answer_share": round(sum(r["predicted_answer"] is None for r in rows) / total, 6),
        "mean_completion_tokens": round(sum(r["completion_tokens"] or 0 for r in rows) / total, 2),
        "code_cells_per_sample": round(sum(r["num_code_executions"] for r in rows) / total, 4),
        "finish_reasons": dict(Counter(str(r["finish_reason"]) for r in rows)),
        "judge_method": dict(Counter(r["judge_method"] for r in rows)),
        "errors": sum(r["error"] is not None for r in rows),
    }


def run(
    bench_name: str, model_name: str, effort: str, mode: str, cfg: dict,
    out_path: str, summary_path: str, store_path: str, judge_store: str,
) -> StepStats:  # fmt: skip
    problems = load_answer_benchmark(answer_benchmark(cfg, bench_name))  # bad input fails before any request
    job_cfg = solver_job_config(cfg, model_name, effort, mode)
    rows, counts = generate_samples(problems, job_cfg, store_path)
    scores, comparisons = score_problems(rows, cfg, judge_store)
    n = cfg["eval"]["solver"]["n_samples"]
    for row in rows:
        row.update(benchmark=bench_name, eval_model=model_name, eval_mode=mode)
    stats = StepStats(step="evaluate_solver", n_in=len(problems), n_out=len(rows))
    per_problem = {
        s["problem_id"]: {k: s[k] for k in ("correct", "answered", "majority_answer")} for s in scores
    }
    stats.notes.update(
        {
            "benchmark": bench_name, "model": model_name, "effort": effort, "mode": mode,
            "model_identity": model_identity(job_cfg["models"][EVALUATED_MODEL]),
            "n_problems": len(problems), "n_samples": n,
            **benchmark_metrics(scores, n, cfg["eval"]["solver"]["bootstrap"]),
            **sample_statistics(rows), "comparisons": comparisons, "requests": dict(counts),
            "per_problem": per_problem,
        }
    )  # fmt: skip
    log.info(
        "%s / %s / %s / %s: pass@1 %.3f over %d problems x %d samples (%d cached, %d generated)",
        bench_name, model_name, effort, mode, stats.notes["accuracy"], len(problems), n,
        counts["cached"], counts["sent"],
    )  # fmt: skip
    return write_step(stats, summary_path, (rows, SOLVER_EVAL_SCHEMA, out_path))
