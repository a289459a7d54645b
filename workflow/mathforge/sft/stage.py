"""The SFT rows: re-judged solutions -> filtered chat `messages`, and the shard layout.

Six variants (effort high/medium/low x with/without the Python tool), plus `forum_cot` (forum
answers rewritten into solutions, mathforge.forum_cot.stage) when that stage is on, each optionally split
into length buckets (by generated tokens; training long contexts is faster when sequences of
similar length are batched together), each bucket in shards of at most `shard_rows` rows:
`<out_dir>/<variant>/<bucket>/shard-00000.parquet`. The rows are built and audited per solutions
shard (`mathforge.sft.part`, rule write_sft_part) and assembled into the shards, manifest and card
by one job (`mathforge.sft.assemble`, rule write_sft_shards).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mathforge.attribution import ATTRIBUTION_FIELDS
from mathforge.funnel import StepStats
from mathforge.io import read_records
from mathforge.prompts import load_prompt
from mathforge.schemas.messages import MESSAGE, with_reasoning_format
from mathforge.schemas.problems import PROBLEM_LABEL_NAMES, PROBLEM_LABELS
from mathforge.schemas.solutions import FORUM_COT_MODE
from mathforge.sft.filters import drop_reason, trim_after_answer
from mathforge.sft.messages import prompt_messages, solution_messages
from mathforge.solving.code_tags import load_code_tags
from mathforge.truncation import TRUNCATED_FIELD, count_cuts, cut_entry

log = logging.getLogger(__name__)

EFFORTS = ("high", "medium", "low")
SFT_SCHEMA = pa.schema(
    [
        ("messages", pa.list_(MESSAGE)),
        ("problem_id", pa.string()),
        ("problem", pa.string()),
        ("expected_answer", pa.string()),
        ("generation", pa.string()),
        ("reasoning", pa.string()),
        ("variant", pa.string()),
        ("reasoning_effort", pa.string()),
        ("tool", pa.bool_()),
        ("num_tokens", pa.int64()),
        ("bucket", pa.string()),
        ("solve_rate", pa.float64()),
        ("answer_rule", pa.string()),
        ("source", pa.string()),
        ("license", pa.string()),
        *ATTRIBUTION_FIELDS,
        *PROBLEM_LABELS,  # language, question_type, problem_type (mathforge.schemas.problems)
        ("model", pa.string()),
        ("seed", pa.int64()),
        ("request_key", pa.string()),
        TRUNCATED_FIELD,  # text cut from `generation` (sft.trim_after_answer)
        ("source_post_index", pa.int32()),  # forum_cot: the reply of the thread that was rewritten
        ("source_post", pa.string()),  # forum_cot: that reply's text (null for generated solutions)
    ]
)


def license_counts(rows: list[dict]) -> dict[str, int]:
    """Rows per licence (for the card and the manifests)."""
    return dict(sorted(Counter(r["license"] for r in rows).items()))


def variant_name(effort: str, tool: bool) -> str:
    return f"{effort}_{'with' if tool else 'without'}_tool"


def bucket_name(tokens: int, bounds: list[int]) -> str:
    if not bounds:
        return "all"
    for bound in sorted(bounds):
        if tokens <= bound:
            return f"le{bound}"
    return f"gt{max(bounds)}"


def _dedup_key(row: dict) -> tuple[str, ...]:
    key = (row["problem_id"], " ".join(row["generation"].split()))
    # Two traces reaching the same answer text are different solutions.
    return (*key, " ".join(row["reasoning"].split())) if row.get("reasoning") else key


def build_rows(solutions: list[dict], problems: dict[str, dict], cfg: dict) -> tuple[list[dict], StepStats]:
    sft = cfg["sft"]
    stats = StepStats(step="write_sft_shards", n_in=len(solutions))
    per_variant: dict[str, Counter] = defaultdict(Counter)
    prompts, tags = {}, {}
    seen: set[tuple[str, str]] = set()
    rows = []
    cuts: dict[str, dict[str, int]] = {}
    for sol in solutions:
        problem = problems[sol["problem_id"]]
        sol = {**sol, "difficulty_ok": problem["difficulty_ok"], "solve_rate": problem["solve_rate"],
               "answer_in_statement": problem.get("answer_in_statement")}  # fmt: skip
        tir = sol["mode"] == "tir"
        variant = FORUM_COT_MODE if sol["mode"] == FORUM_COT_MODE else variant_name(sol["effort"], tir)
        reason = drop_reason(sol, sft)
        truncated = []
        if reason is None and sft["trim_after_answer"]:
            original, sol["generation"] = sol["generation"], trim_after_answer(sol["generation"])
            if sol["generation"] != original:
                truncated.append(cut_entry("generation", original, sol["generation"]))
        if reason is None and sft["dedup"]:
            key = _dedup_key(sol)
            reason = "duplicate" if key in seen else None
            seen.add(key)
        if reason is not None:
            stats.drop(reason)
            per_variant[variant][f"dropped:{reason}"] += 1
            continue
        if sol["prompt_name"] not in prompts:
            prompts[sol["prompt_name"]] = load_prompt(cfg["prompts_dir"], sol["prompt_name"])
        prompt = prompts[sol["prompt_name"]]
        by_prompt = cfg["solutions"]["effort_via"] == "prompt" and sol["mode"] != FORUM_COT_MODE
        instruction = prompt.effort_instruction(sol["effort"]) if by_prompt else ""
        code_tags = None
        if sol["mode"] == "tir":
            name = sol["code_tags"].split("@", 1)[0]
            if name not in tags:
                tags[name] = load_code_tags(cfg["prompts_dir"], name)
            code_tags = tags[name]
        messages = solution_messages(
            prompt_messages(prompt, sol["problem"], instruction, sft["system_prompt"]),
            sol["generation"],
            code_tags,
            sft["tir_format"],
            sol.get("reasoning"),
        )
        messages = with_reasoning_format(messages, sft["reasoning_format"])
        tokens = sol["completion_tokens"] or 0
        rows.append(
            {
                "messages": messages,
                "problem_id": sol["problem_id"],
                "problem": sol["problem"],
                "expected_answer": sol["expected_answer"],
                "generation": sol["generation"],
                "reasoning": sol.get("reasoning"),
                "variant": variant,
                "reasoning_effort": sol["effort"],
                "tool": sol["mode"] == "tir",
                "num_tokens": tokens,
                "bucket": bucket_name(tokens, sft["length_buckets"]),
                "solve_rate": sol["solve_rate"],
                "answer_rule": sol["answer_rule"],
                "source": sol["source"],
                "license": sol["license"],
                "source_url": sol.get("source_url"),
                "authors": sol.get("authors") or [],
                **{name: sol.get(name) for name in PROBLEM_LABEL_NAMES},
                "model": sol["model"],
                "seed": sol["seed"],
                "request_key": sol["request_key"],
                "truncated": truncated,
                "source_post_index": sol.get("source_post_index"),
                "source_post": sol.get("source_post"),
            }
        )
        count_cuts(cuts, truncated)
        per_variant[variant]["rows"] += 1
    stats.n_out = len(rows)
    stats.counters["truncated"] = cuts
    stats.counters["licenses"] = license_counts(rows)
    names = [variant_name(e, t) for e in EFFORTS for t in (True, False)]
    names += [FORUM_COT_MODE] if cfg["forum_cot"]["enabled"] else []
    stats.counters["variants"] = {name: dict(per_variant.get(name, {})) for name in names}
    return rows, stats


def kept_forum_solutions(paths: list[str]) -> list[dict]:
    """The rewritten forum answers that agree with the final answer (rewrite_forum_solutions):
    they join the generated solutions as the `forum_cot` variant (the rest are counted there)."""
    return [r for path in paths for r in read_records(path) if r["forum_cot_status"] == "kept"]


def write_shards(
    rows: list[dict], out_dir: str | os.PathLike, shard_rows: int, schema: pa.Schema = SFT_SCHEMA,
    order: tuple[str, ...] = ("problem_id", "seed"),
) -> dict:  # fmt: skip
    """Write `rows` as <variant>/<bucket>/shard-NNNNN.parquet under `out_dir`, atomically; the manifest.

    Rows are ordered by variant, bucket and then `order`, so the same rows give the same files."""
    final = Path(out_dir)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r["variant"], r["bucket"], *(r[k] for k in order))):
        groups[(row["variant"], row["bucket"])].append(row)
    manifest: dict[str, dict] = {}
    for (variant, bucket), group in sorted(groups.items()):
        files = []
        for start in range(0, len(group), shard_rows):
            path = tmp / variant / bucket / f"shard-{start // shard_rows:05d}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.Table.from_pylist(group[start : start + shard_rows], schema=schema), path)
            files.append(str(path.relative_to(tmp)))
        manifest.setdefault(variant, {})[bucket] = {"rows": len(group), "files": files}
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    return manifest


def count_drop(stats: StepStats, variant: str, reason: str, n: int = 1) -> None:
    """`n` rows of `variant` kept by build_rows and dropped later (by the audit, or as a duplicate
    of another part's row): in the step's drops and the variant's counts."""
    stats.drop(reason, n)
    counts = stats.counters["variants"][variant]
    counts["rows"] -= n
    counts[f"dropped:{reason}"] = counts.get(f"dropped:{reason}", 0) + n
    if not counts["rows"]:
        del counts["rows"]
    stats.n_out -= n
