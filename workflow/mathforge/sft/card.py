"""The dataset card (Markdown): counts at every stage, the variants, the solve-rate histogram, and
the config hash, drawn from the step summaries alone (`mathforge.funnel`)."""

from __future__ import annotations

from collections import Counter

from mathforge.attribution import licence_section
from mathforge.funnel import StepStats
from mathforge.grading.judged_rows import solve_rate_histogram
from mathforge.hygiene.report import hygiene_markdown
from mathforge.ids import canonical_json, sha256_hex
from mathforge.inference.models import stage_model_identity
from mathforge.io import write_text
from mathforge.params import tracked_settings
from mathforge.truncation import describe_cuts


def _reasons(counter: Counter | dict) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counter.items()) if v) or "none"


def _with_cuts(reasons: str, stats: StepStats) -> str:
    """Drop reasons, then any text cuts of the step (rows kept, so never shown as drops)."""
    cuts = describe_cuts(stats.counters.get("truncated") or {})
    return f"{reasons}; truncated (kept, not dropped): {cuts}" if cuts else reasons


def _counter(stats: StepStats, key: str) -> dict:
    return stats.counters.get(key) or {}


def funnel_rows(steps: dict[str, StepStats], stats: StepStats) -> list[tuple[str, str, str, str]]:
    """The card's funnel from the earlier steps' summaries (shards added up) and this step's `stats`."""
    rows = []
    for step in ("ingest", "extract_problems", "classify_problems", "extract_answers"):
        if s := steps.get(step):
            rows.append((step, str(s.n_in), str(s.n_out), _with_cuts(_reasons(s.dropped), s)))
    if s := steps.get("decontaminate:answers"):
        rows.append(("decontaminate", str(s.n_in), str(s.n_out), _reasons(s.dropped)))
    if s := steps.get("generate_solutions"):
        finish = _reasons(_counter(s, "finish_reasons"))
        rows.append(("generate_solutions", f"{s.n_in} problems", f"{s.n_out} solutions", f"finish: {finish}"))
    if s := steps.get("judge_answers"):
        method = _reasons(_counter(s, "judge_method"))
        notes = f"judgement: {_reasons(_counter(s, 'judgement'))}; method: {method}"
        rows.append(("judge_answers (forum answer)", str(s.n_in), str(s.n_out), notes))
    if s := steps.get("fill_majority_answer"):
        notes = f"{_reasons(s.dropped)}; answer rule: {_reasons(_counter(s, 'answer_rule'))}"
        rows.append(("fill_majority_answer", f"{s.n_in} problems", f"{s.n_out} problems", notes))
        rows.append(
            (
                "re-judge (final answer)",
                f"{s.counters['solutions']} solutions",
                f"{s.counters['correct_solutions']} correct",
                f"judgement: {_reasons(_counter(s, 'judgement'))}",
            )
        )
    if s := steps.get("rewrite_forum_solutions"):
        kept = f"{s.n_out} of {s.counters['rewrites']} rewrites agree"
        rows.append(("rewrite_forum_solutions (forum_cot)", f"{s.n_in} problems", kept, _reasons(s.dropped)))
    drops = _with_cuts(_reasons(stats.dropped), stats)
    rows.append(("write_sft_shards", str(stats.n_in), str(stats.n_out), drops))
    return rows


def write_card(
    path: str,
    cfg: dict,
    stats: StepStats,
    manifest: dict,
    solve_rates: list[float],
    steps: dict[str, StepStats],
    hygiene: dict,
) -> None:
    config_hash = sha256_hex(canonical_json(tracked_settings(cfg)))[:16]
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
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in funnel_rows(steps, stats)],
        "",
        "## Variants",
        "",
        "| variant | rows | buckets (rows) | shards | why empty / dropped |",
        "|---|---|---|---|---|",
    ]
    for variant, counts in stats.counters["variants"].items():
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
        *[f"| {b} | {n} |" for b, n in solve_rate_histogram(solve_rates).items()],
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
        *licence_section(stats.counters.get("licenses", {})),
    ]
    write_text("\n".join(lines), path)
