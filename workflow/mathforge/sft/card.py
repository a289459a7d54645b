"""The dataset card (Markdown): counts at every stage, the variants, the solve-rate histogram, and
the config hash, drawn from the stage summaries alone."""

from __future__ import annotations

import json
from collections import Counter

from mathforge.answers.stages import solve_rate_histogram
from mathforge.funnel import StepStats
from mathforge.hygiene.report import hygiene_markdown
from mathforge.ids import canonical_json, sha256_hex
from mathforge.inference.models import stage_model_identity
from mathforge.io import write_text
from mathforge.params import tracked_settings
from mathforge.truncation import describe_cuts


def _load(paths: list[str]) -> list[dict]:
    out = []
    for path in paths:
        with open(path) as fh:
            out.append(json.load(fh))
    return out


def _sum(summaries: list[dict], key: str) -> Counter:
    total: Counter = Counter()
    for s in summaries:
        value = s.get(key) or {}
        total.update(value if isinstance(value, dict) else {})
    return total


def _reasons(counter: Counter | dict) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counter.items()) if v) or "none"


def _with_cuts(reasons: str, summary: dict) -> str:
    """Drop reasons, then any text cuts of the step (rows kept, so never shown as drops)."""
    cuts = describe_cuts(summary.get("truncated") or {})
    return f"{reasons}; truncated (kept, not dropped): {cuts}" if cuts else reasons


def funnel_rows(summaries: dict[str, list[str]], stats: StepStats) -> list[tuple[str, str, str, str]]:
    rows = []
    for problems in _load(summaries.get("problems", [])):
        for step in ("ingest", "extract_problems", "classify_problems", "extract_answers"):
            s = problems["funnel"].get(step)
            if s:
                rows.append((step, str(s["n_in"]), str(s["n_out"]), _with_cuts(_reasons(s["dropped"]), s)))
    for decontam in _load(summaries.get("decontam", [])):
        rows.append(
            ("decontaminate", str(decontam["n_in"]), str(decontam["n_out"]), _reasons(decontam["removed"]))
        )
    solutions = _load(summaries.get("solutions", []))
    if solutions:
        rows.append(
            (
                "generate_solutions",
                f"{sum(s['n_in'] for s in solutions)} problems",
                f"{sum(s['n_out'] for s in solutions)} solutions",
                f"finish: {_reasons(_sum(solutions, 'finish_reasons'))}",
            )
        )
    judged = _load(summaries.get("judge", []))
    if judged:
        rows.append(
            (
                "judge_answers (forum answer)",
                str(sum(s["n_in"] for s in judged)),
                str(sum(s["n_out"] for s in judged)),
                f"judgement: {_reasons(_sum(judged, 'judgement'))}; "
                f"method: {_reasons(_sum(judged, 'judge_method'))}",
            )
        )
    majority = _load(summaries.get("majority", []))
    if majority:
        rows.append(
            (
                "fill_majority_answer",
                f"{sum(s['n_in'] for s in majority)} problems",
                f"{sum(s['n_out'] for s in majority)} problems",
                f"{_reasons(_sum(majority, 'dropped'))}; "
                f"answer rule: {_reasons(_sum(majority, 'answer_rule'))}",
            )
        )
        rows.append(
            (
                "re-judge (final answer)",
                f"{sum(s['solutions'] for s in majority)} solutions",
                f"{sum(s['correct_solutions'] for s in majority)} correct",
                f"judgement: {_reasons(_sum(majority, 'judgement'))}",
            )
        )
    forum_cot = _load(summaries.get("forum_cot", []))
    if forum_cot:
        rewrites = sum(s["rewrites"] for s in forum_cot)
        kept = sum(s["n_out"] for s in forum_cot)
        rows.append(
            (
                "rewrite_forum_solutions (forum_cot)",
                f"{sum(s['n_in'] for s in forum_cot)} problems",
                f"{kept} of {rewrites} rewrites agree",
                _reasons(_sum(forum_cot, "dropped")),
            )
        )
    rows.append(
        (
            "write_sft_shards",
            str(stats.n_in),
            str(stats.n_out),
            _with_cuts(_reasons(stats.dropped), stats.extra),
        )
    )
    return rows


ATTRIBUTION_NOTE = (
    "Every row keeps its licence (`license`: the source's own, the configured one, or `unknown` "
    "when neither says), a link to the original thread (`source_url`, e.g. "
    "`https://<site>/q/<id>` for Stack Exchange) and `authors`: who wrote the text the row is "
    "made from, in thread order (the question first, then every answer the discussion kept, the "
    "accepted one first), each with `post_id`, `user_id` (on Stack Exchange the profile is "
    "`https://<site>/users/<user_id>`), `name` (deleted users keep only a name or nothing) and "
    "that post's licence. Content under CC BY-SA (all of Stack Exchange) must be attributed when "
    "shared: name the authors, link `source_url`, name the licence, and state that it was changed"
    " (extracted, solved and rewritten by a model); derivatives are shared under the same "
    "licence. Rows whose licence is `unknown` have no known licence: check their source before "
    "redistributing them."
)


def licence_section(licenses: dict[str, int]) -> list[str]:
    """The card's licences table (SFT rows per licence) and how attribution is given."""
    return [
        "## Licences and attribution",
        "",
        "| license | rows |",
        "|---|---|",
        *([f"| {name} | {n} |" for name, n in sorted(licenses.items())] or ["| - | 0 |"]),
        "",
        ATTRIBUTION_NOTE,
        "",
    ]


def write_card(
    path: str,
    cfg: dict,
    stats: StepStats,
    manifest: dict,
    problems: dict[str, dict],
    summaries: dict[str, list[str]],
    hygiene: dict,
) -> None:
    config_hash = sha256_hex(canonical_json(tracked_settings(cfg)))[:16]
    rates = [p["solve_rate"] for p in problems.values() if p["expected_answer"] is not None]
    lines = [
        f"# {cfg['dataset']}: math reasoning SFT data",
        "",
        "Made by mathforge from forum threads: problems extracted and classified, decontaminated "
        "against public benchmarks, solved with and without a Python tool at several reasoning "
        "efforts, answers judged, voted and repaired, and only solutions that match the final "
        "answer kept.",
        "",
        f"- config hash: `{config_hash}`",
        f"- model: `{stage_model_identity(cfg, 'solutions')}`",
        f"- efforts: {', '.join(cfg['solutions']['efforts'])}; solutions per problem and effort: "
        f"{cfg['solutions']['n_tir']} with the tool + {cfg['solutions']['n_plain']} without",
        f"- TIR format in `messages`: {cfg['sft']['tir_format']}",
        "",
        "## Funnel",
        "",
        "| step | in | out | dropped / notes |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in funnel_rows(summaries, stats)],
        "",
        "## Variants",
        "",
        "| variant | rows | buckets (rows) | shards | why empty / dropped |",
        "|---|---|---|---|---|",
    ]
    for variant, counts in stats.extra["variants"].items():
        buckets = manifest.get(variant, {})
        rows = sum(b["rows"] for b in buckets.values())
        effort = variant.split("_", 1)[0]
        drops = {k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("dropped:")}
        if variant == "forum_cot":
            why = _reasons(drops) + " (rewrites that disagree: rewrite_forum_solutions above)"
        elif effort not in cfg["solutions"]["efforts"]:
            why = "effort not generated (solutions.efforts)"
        elif ("with_tool" in variant and not cfg["solutions"]["n_tir"]) or (
            "without_tool" in variant and not cfg["solutions"]["n_plain"]
        ):
            why = "no solutions of this mode (solutions.n_tir / n_plain)"
        else:
            why = _reasons(drops)
        per_bucket = ", ".join(f"{b} ({v['rows']})" for b, v in sorted(buckets.items())) or "-"
        files = sum(len(v["files"]) for v in buckets.values())
        lines.append(f"| {variant} | {rows} | {per_bucket} | {files} | {why} |")
    lines += ["", "## Hygiene audit", "", *hygiene_markdown(hygiene)]
    lines += [
        "",
        "## Solve rates",
        "",
        "Problems with a final answer by the share of their solutions that match it "
        f"(kept for SFT: {cfg['answers']['difficulty']['min_solve_rate']} to "
        f"{cfg['answers']['difficulty']['max_solve_rate']}).",
        "",
        "| solve rate | problems |",
        "|---|---|",
        *[f"| {b} | {n} |" for b, n in solve_rate_histogram(rates).items()],
        "",
        "## Loading",
        "",
        "```python",
        "import pandas as pd",
        "df = pd.read_parquet('data/high_with_tool')  # one variant, all buckets",
        "from datasets import load_dataset",
        "ds = load_dataset('parquet', data_files='data/*/*/shard-*.parquet', split='train')",
        "```",
        "",
        "Columns: `messages` (system/user/assistant chat turns; with `tool_calls` / `tool` turns when "
        "the TIR format is tool_calls), `problem`, `expected_answer`, `generation`, `variant`, "
        "`reasoning_effort`, `tool`, `num_tokens` (generated tokens), `bucket`, `solve_rate`, "
        "`answer_rule`, `source`, `license`, `source_url`, `authors`, `language` (of the original "
        "problem; the problem is its English translation when one was made), `question_type`, "
        "`problem_type` (subject), `model`, `seed`, `request_key`, "
        "`truncated` (text cut from `generation` after the final answer), `source_post_index` and "
        "`source_post` (forum_cot rows: the reply of the thread the solution was rewritten from).",
        "",
        *licence_section(stats.extra.get("licenses", {})),
    ]
    write_text("\n".join(lines), path)
