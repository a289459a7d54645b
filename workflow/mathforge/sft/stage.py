"""write_sft_shards: re-judged solutions -> filtered chat `messages` in Parquet shards, plus a card.

Six variants (effort high/medium/low x with/without the Python tool), plus `forum_cot` (forum
answers rewritten into solutions, mathforge.forum_cot.stage) when that stage is on, each optionally split
into length buckets (by generated tokens; training long contexts is faster when sequences of
similar length are batched together), each bucket in shards of at most `shard_rows` rows:
`<out_dir>/<variant>/<bucket>/shard-00000.parquet`.

The rows are built and pass the hygiene audit per solutions shard (rule write_sft_part,
`mathforge.sft.part`: `sft/parts/<source>/shard-K.parquet` with its messages keys, audit counts
and summary). `run` (rule write_sft_shards) assembles them: the shards (`mathforge.sft.assemble`:
Arrow tables only, a conversation already in an earlier part dropped, the result checked against
the parts), the manifest, the card, the audit's report (`hygiene.json`: the parts' counts added
up, plus the drops across parts) and the step's summary (the parts' summaries added up, likewise).
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mathforge.attribution import ATTRIBUTION_FIELDS
from mathforge.funnel import StepStats, add_counts, by_step, read_summaries, write_step
from mathforge.funnel import summary_path as summary_of
from mathforge.hygiene.audit import AuditResult
from mathforge.hygiene.report import hygiene_report
from mathforge.io import atomic_dir, read_records, write_json
from mathforge.prompts import load_prompt
from mathforge.schemas.messages import MESSAGE, with_reasoning_format
from mathforge.schemas.problems import PROBLEM_LABEL_NAMES, PROBLEM_LABELS
from mathforge.schemas.solutions import FORUM_COT_MODE
from mathforge.sft.assemble import SFTAssemblyError, assemble_data, cross_part_keep
from mathforge.sft.card import write_card
from mathforge.sft.filters import drop_reason, trim_after_answer
from mathforge.sft.messages import prompt_messages, solution_messages
from mathforge.solving.code_tags import load_code_tags
from mathforge.truncation import TRUNCATED_FIELD, count_cuts, cut_entry

log = logging.getLogger(__name__)

STEP = "write_sft_shards"
PART_STEP = "write_sft_part"  # the parts' summaries add up under this step (by_step)
DUPLICATE = "duplicate_messages"  # the audit check a row duplicating another part's counts under
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
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r["variant"], r["bucket"], *(r[k] for k in order))):
        groups[(row["variant"], row["bucket"])].append(row)
    manifest: dict[str, dict] = {}
    with atomic_dir(out_dir) as tmp:
        for (variant, bucket), group in sorted(groups.items()):
            files = []
            for start in range(0, len(group), shard_rows):
                path = tmp / variant / bucket / f"shard-{start // shard_rows:05d}.parquet"
                path.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(pa.Table.from_pylist(group[start : start + shard_rows], schema=schema), path)
                files.append(str(path.relative_to(tmp)))
            manifest.setdefault(variant, {})[bucket] = {"rows": len(group), "files": files}
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


def keys_path(part_path: str | os.PathLike) -> str:
    """The messages keys beside a part file: `shard-0.parquet` -> `shard-0.keys.parquet`."""
    return str(part_path).removesuffix(".parquet") + ".keys.parquet"


def part_hygiene_path(part_path: str | os.PathLike) -> str:
    """A part's audit counts: `shard-0.parquet` -> `shard-0.hygiene.json`."""
    return str(part_path).removesuffix(".parquet") + ".hygiene.json"


def part_totals(parts: list[str]) -> tuple[StepStats, dict]:
    """The parts' summaries added up (as this step's) and their audit counts added up."""
    summed = by_step(read_summaries([summary_of(p) for p in parts])).get(PART_STEP)
    if summed is None:  # no solutions shard at all
        stats = StepStats(STEP, counters={"variants": {}, "truncated": {}, "licenses": {}})
    else:
        stats = StepStats(STEP, summed.n_in, summed.n_out, summed.dropped, summed.counters)
    hygiene: dict = {"audit": {}, "shipped_audit": {}}
    settings = []
    for path in parts:
        part = json.loads(Path(part_hygiene_path(path)).read_text(encoding="utf-8"))
        hygiene = add_counts(hygiene, {k: part[k] for k in ("audit", "shipped_audit")})
        settings.append(part["settings"])
    if any(s != settings[0] for s in settings):
        raise SFTAssemblyError("the SFT parts were audited with different settings (stale parts): "
                               f"{sorted({str(s) for s in settings})}")  # fmt: skip
    return stats, {**hygiene, "settings": settings[0] if settings else {}}


def count_cross_part_drops(dropped: Counter, stats: StepStats, hygiene: dict) -> None:
    """Rows dropped as another part's duplicates: in the step's stats and the audit's counts (as
    failing the duplicate check in the audit, and not read back in the shipped pass)."""
    for variant, n in sorted(dropped.items()):
        count_drop(stats, variant, DUPLICATE, n)
        audit = hygiene["audit"].setdefault(variant, {})
        audit[DUPLICATE] = audit.get(DUPLICATE, 0) + n
        hygiene["shipped_audit"][variant]["checked"] -= n


def solve_rates(majority: list[str]) -> list[float]:
    """The solve rate of every problem with a final answer (the card's histogram): two columns read."""
    rates: list[float] = []
    for path in majority:
        table = pq.read_table(path, columns=["solve_rate", "expected_answer"])
        rates += table.filter(pc.is_valid(table["expected_answer"])).column("solve_rate").to_pylist()
    return rates


def run(
    parts: list[str], majority: list[str], summary_paths: list[str], cfg: dict,
    out_dir: str, manifest_path: str, card_path: str, hygiene_path: str, summary_path: str,
) -> StepStats:  # fmt: skip
    """The shards, their manifest (files per variant and bucket), the card (its funnel from the
    earlier steps' `summary_paths`), the audit's report and this step's summary (with the report)."""
    stats, counts = part_totals(parts)
    keep = cross_part_keep([keys_path(p) for p in parts], cfg["sft"]["dedup"])
    manifest, dropped = assemble_data(parts, keep, out_dir, cfg["sft"]["shard_rows"])
    count_cross_part_drops(dropped, stats, counts)
    for variant in stats.counters["variants"]:
        manifest.setdefault(variant, {})
    audit, shipped = ({v: Counter(c) for v, c in counts[k].items()} for k in ("audit", "shipped_audit"))
    variants = list(stats.counters["variants"])
    hygiene = hygiene_report(
        AuditResult(counts=audit), AuditResult(counts=shipped), variants, counts["settings"]
    )
    write_json(hygiene, hygiene_path)
    write_json({"variants": manifest}, manifest_path)
    steps = by_step(read_summaries(summary_paths))
    write_card(card_path, cfg, stats, manifest, solve_rates(majority), steps, hygiene)
    stats.notes["hygiene"] = hygiene
    return write_step(stats, summary_path)
