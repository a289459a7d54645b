"""generate_solutions: for each problem of one shard, `n_tir` + `n_plain` solutions per reasoning effort.

Every solution has its own seed (`seed + sample number`, counted over all efforts and modes of
the problem), so no two requests of a problem coincide even when the backend ignores the
effort. A finished solution is appended to the job's store at once (keyed by a hash of the
model, messages, sampling parameters and TIR settings): a killed job redoes only the solutions
that were in flight, and a rebuild reuses every stored one without starting a server.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import json
import logging
import time
from collections import Counter
from collections.abc import Callable

from mathforge.config import deep_update
from mathforge.errors import ConfigError
from mathforge.funnel import StepStats, write_step
from mathforge.ids import shard_of
from mathforge.inference.client import SamplingParams
from mathforge.inference.endpoints import InferenceTarget, model_identity, open_target, server_spec
from mathforge.inference.generation import make_client, request_key, retries_exhausted, run_concurrently
from mathforge.inference.models import stage_model
from mathforge.inference.reasoning import after_last_close
from mathforge.inference.store import RequestStore
from mathforge.io import read_records
from mathforge.problems.schema import PROBLEM_LABEL_NAMES, PROVENANCE
from mathforge.prompts import Prompt, load_prompt
from mathforge.sandbox.remote import open_sandbox
from mathforge.solutions.code_tags import CodeTags, load_code_tags
from mathforge.solutions.schema import SOLUTIONS_SCHEMA
from mathforge.solutions.tir import SolutionTask, TIRSettings, generate_solution
from mathforge.solutions.transcript import reasoning_format, solution_parts, thinking_continued
from mathforge.text import last_boxed

log = logging.getLogger(__name__)

MODES = ("tir", "plain")


def mode_sampling(stage: dict, mode: str) -> dict:
    """The sampling section of one mode: `sampling` with `mode_sampling[mode]` merged over it."""
    return deep_update(copy.deepcopy(stage["sampling"]), stage.get("mode_sampling", {}).get(mode) or {})


def build_tasks(rows: list[dict], cfg: dict) -> list[tuple[dict, dict, SolutionTask]]:
    """(problem row, row metadata, task) for every solution of `rows`."""
    stage = cfg["solutions"]
    model_id = model_identity(stage_model(cfg, "solutions"))
    prompts = {mode: load_prompt(cfg["prompts_dir"], stage["prompts"][mode]) for mode in MODES}
    tir = stage["tir"]
    tags = load_code_tags(cfg["prompts_dir"], tir["code_tags"])
    settings = TIRSettings(
        tags=tags,
        max_code_executions=tir["max_code_executions"],
        timeout_s=cfg["sandbox"]["timeout_s"],
        remaining_hint=tir["remaining_hint"],
        transport=tir["transport"],
    )
    # What changes a TIR solution besides the request itself (part of its store key).
    tir_identity = {
        "tags": tags.hash,
        "max_code_executions": settings.max_code_executions,
        "timeout_s": settings.timeout_s,
        "remaining_hint": settings.remaining_hint,
        "transport": settings.transport,
        "max_output_bytes": cfg["sandbox"]["max_output_bytes"],
    }
    bases = {mode: SamplingParams.from_config(mode_sampling(stage, mode)) for mode in MODES}
    counts = {"tir": stage["n_tir"], "plain": stage["n_plain"]}
    out = []
    for row in rows:
        number = 0
        for effort in stage["efforts"]:
            for mode in MODES:
                prompt: Prompt = prompts[mode]
                instruction = prompt.effort_instruction(effort) if stage["effort_via"] == "prompt" else ""
                messages = prompt.render(problem=row["problem"], effort_instruction=instruction)
                base = bases[mode]
                for index in range(counts[mode]):
                    seed = None if base.seed is None else base.seed + number
                    number += 1
                    params = dataclasses.replace(base, seed=seed).with_reasoning_effort(
                        effort, stage["effort_via"]
                    )
                    extra = {"tir": tir_identity} if mode == "tir" else {}
                    if prompt.assistant_prefix:  # only then: earlier keys stay valid
                        extra["assistant_prefix"] = prompt.assistant_prefix
                    key = request_key(model_id, messages, params, extra or None)
                    task = SolutionTask(
                        key, messages, params, settings if mode == "tir" else None, prompt.assistant_prefix
                    )
                    meta = {
                        "mode": mode, "effort": effort, "sample_index": index, "seed": seed,
                        "prompt_name": prompt.name, "prompt_hash": prompt.hash,
                        "code_tags": f"{tags.name}@{tags.hash}" if mode == "tir" else None,
                        "sampling": json.dumps(params.to_payload(), sort_keys=True),
                    }  # fmt: skip
                    out.append((row, meta, task))
    return out


def chat_template_renderer(cfg: dict) -> Callable[..., str]:
    """Render messages with the model's own chat template (the `completions` transport).

    `render(messages, **template_kwargs)`: each task passes its own kwargs (its reasoning
    effort with `effort_via: chat_template_kwargs`) over the job's `sampling.chat_template_kwargs`,
    so every solution's prompt carries its own effort."""
    from transformers import AutoTokenizer  # heavy: only when this transport is chosen

    path = cfg["solutions"]["tir"]["tokenizer"]
    if not path:
        if stage_model(cfg, "solutions")["backend"] == "openai":
            raise ConfigError("solutions.tir.tokenizer is required for the completions transport with openai")
        path = server_spec(stage_model(cfg, "solutions")).model
    tokenizer = AutoTokenizer.from_pretrained(path)
    kwargs = cfg["solutions"]["sampling"].get("chat_template_kwargs") or {}

    def render(messages: list[dict], **template_kwargs) -> str:
        return tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, **{**kwargs, **template_kwargs}
        )

    return render


async def _run_all(
    pending: list[SolutionTask], target: InferenceTarget, cfg: dict, store: RequestStore,
    render: Callable | None, counts: Counter,
) -> None:  # fmt: skip
    needs_sandbox = any(t.tir for t in pending)
    sessions = asyncio.Semaphore(cfg["sandbox"]["max_sessions"])
    async with (
        make_client(target, stage_model(cfg, "solutions")) as client,
        open_sandbox(cfg["sandbox"]) if needs_sandbox else contextlib.nullcontext() as sandbox,
    ):

        async def solve(task: SolutionTask) -> None:
            if task.tir is None:
                result = await generate_solution(client, task)
            else:
                async with sessions:
                    result = await generate_solution(client, task, sandbox, render)
            store.add({**result.to_record(), "endpoint_kind": target.endpoint_kind})
            counts["sent"] += 1
            counts["completion_tokens"] += result.completion_tokens

        errors = await run_concurrently(
            pending, stage_model(cfg, "solutions")["max_concurrent_requests"], solve, "solution"
        )
    if errors:
        raise retries_exhausted(errors, "solution")


def run_tasks(tasks: list[SolutionTask], cfg: dict, store: RequestStore) -> Counter:
    """Generate every task not yet in `store`; the server and sandbox start only if one is missing."""
    counts: Counter = Counter(total=len(tasks))
    pending = list({t.key: t for t in tasks if t.key not in store}.values())
    counts["cached"] = len(tasks) - len(pending)
    started = time.monotonic()
    if pending:
        needs_render = cfg["solutions"]["tir"]["transport"] == "completions" and any(t.tir for t in pending)
        render = chat_template_renderer(cfg) if needs_render else None
        with open_target(stage_model(cfg, "solutions")) as target:
            generating = time.monotonic()  # server start-up excluded from the generation rate
            asyncio.run(_run_all(pending, target, cfg, store, render, counts))
            counts["generation_seconds"] = round(time.monotonic() - generating, 3)
    counts["seconds"] = round(time.monotonic() - started, 3)
    return counts


def solution_row(
    row: dict, meta: dict, record: dict, fmt: str = "none", tags: CodeTags | None = None
) -> dict:
    """The row of one solution; `fmt`: how its raw text separates thinking from answer."""
    cells = record.get("code_cells") or []
    reasoning, answer = solution_parts(record, fmt if tags else "none", tags)
    return {
        "problem_id": row["problem_id"],
        "problem": row["problem"],
        "expected_answer": row.get("expected_answer"),
        **{name: row.get(name) for name, _ in PROVENANCE},
        **{name: row.get(name) for name in PROBLEM_LABEL_NAMES},
        **meta,
        "generation": answer,
        "reasoning": reasoning or None,
        # the answer's, never one written while thinking (also past a forced close)
        "predicted_answer": last_boxed(after_last_close(answer)),
        "finish_reason": record["finish_reason"],
        "prompt_tokens": record["prompt_tokens"],
        "completion_tokens": record["completion_tokens"],
        "num_llm_calls": record["llm_calls"],
        "num_code_executions": len(cells),
        "code_cells": cells,
        "sandbox_isolation": record.get("sandbox_isolation") or [],
        "model": record.get("model"),
        "endpoint_kind": record.get("endpoint_kind"),
        "request_key": record["key"],
        "latency_s": record.get("latency_s"),
        "error": record.get("error"),
    }


def summarize(stats: StepStats, rows: list[dict], counts: Counter) -> None:
    by_variant: dict[str, dict] = {}
    for row in rows:
        variant = by_variant.setdefault(f"{row['mode']}/{row['effort']}", Counter())
        variant["solutions"] += 1
        variant["with_answer"] += row["predicted_answer"] is not None
        variant["completion_tokens"] += row["completion_tokens"] or 0
        variant["code_executions"] += row["num_code_executions"]
    cells = Counter(cell["status"] for row in rows for cell in row["code_cells"])
    stats.counters.update(
        {
            "solutions_by_variant": {k: dict(v) for k, v in sorted(by_variant.items())},
            "finish_reasons": dict(Counter(str(r["finish_reason"]) for r in rows)),
            "code_cells": dict(cells),
            "sessions_restarted": sum(any(c["restarted"] for c in r["code_cells"]) for r in rows),
            "code_cells_with_orphans_killed": sum(
                bool(c.get("orphans_killed")) for r in rows for c in r["code_cells"]
            ),
            "code_outputs_truncated": sum(c["truncated"] for r in rows for c in r["code_cells"]),
            "errors": sum(r["error"] is not None for r in rows),
            "requests": dict(counts),
        }
    )


def generate_solutions(
    in_path: str, shard: int, cfg: dict, out_path: str, summary_path: str, store_path: str
) -> StepStats:
    n_shards = cfg["solutions"]["n_shards"]
    problems = [r for r in read_records(in_path) if shard_of(r["problem_id"], n_shards) == shard]
    tasks = build_tasks(problems, cfg)
    with RequestStore(store_path) as store:
        counts = run_tasks([task for _, _, task in tasks], cfg, store)
        tags = load_code_tags(cfg["prompts_dir"], cfg["solutions"]["tir"]["code_tags"])
        fmt = reasoning_format(cfg["solutions"], tags)
        records = [store.get(task.key) for _, _, task in tasks]
        rows = [
            solution_row(row, meta, rec, fmt, tags)
            for (row, meta, _), rec in zip(tasks, records, strict=True)
        ]
    stats = StepStats(step="generate_solutions", n_in=len(problems), n_out=len(rows))
    stats.notes.update({"shard": shard, "n_shards": n_shards})
    # Answers the model went on thinking in past a forced close (the SFT audit drops them).
    stats.counters["thinking_continued_after_forced_close"] = sum(map(thinking_continued, records))
    summarize(stats, rows, counts)
    rate = counts["completion_tokens"] / counts["generation_seconds"] if counts["generation_seconds"] else 0.0
    log.info(
        "shard %d/%d: %d problems, %d solutions (%d cached, %d generated: %d tokens in %.1fs, %.1f tok/s; "
        "%.1fs with server start)",
        shard, n_shards, len(problems), len(rows), counts["cached"], counts["sent"],
        counts["completion_tokens"], counts["generation_seconds"], rate, counts["seconds"],
    )  # fmt: skip
    return write_step(stats, summary_path, (rows, SOLUTIONS_SCHEMA, out_path))
