"""The run's funnel for `snakemake --report`: rows in, rows out and drops by reason for every
stage, read from the summaries the stages write (problems funnel, decontamination, per-shard
step summaries, SFT manifests), as a Markdown table and a bar chart."""

from __future__ import annotations

import json
from collections import Counter

from mathforge.io import svg_figure, write_text
from mathforge.run_statistics import (
    problem_type_plot,
    run_statistics,
    solve_rate_plot,
    statistics_markdown,
    summary_body,
    summary_kind,
)
from mathforge.truncation import add_counts

PROBLEM_STEPS = ("ingest", "extract_problems", "detect_language", "classify_problems", "extract_answers")


def _add(
    stages: dict[str, dict], name: str, n_in: int, n_out: int, dropped: dict, truncated: dict | None = None
) -> None:
    stage = stages.setdefault(name, {"n_in": 0, "n_out": 0, "dropped": Counter(), "truncated": {}})
    stage["n_in"] += n_in
    stage["n_out"] += n_out
    stage["dropped"].update({k: v for k, v in dropped.items() if isinstance(v, int)})
    add_counts(stage["truncated"], truncated or {})  # cuts keep their rows: not drops


def funnel(summaries: list[dict]) -> dict[str, dict]:
    """{stage: {n_in, n_out, dropped}} over all summaries (shards of one step are added up)."""
    stages: dict[str, dict] = {}
    for summary in map(summary_body, summaries):
        kind = summary_kind(summary)
        if kind == "problems":
            for step in PROBLEM_STEPS:
                if step in summary["funnel"]:
                    s = summary["funnel"][step]
                    _add(stages, step, s["n_in"], s["n_out"], s.get("dropped", {}), s.get("truncated"))
        elif kind == "decontaminate":
            dropped = summary["removed"] if isinstance(summary.get("removed"), dict) else {}
            _add(stages, f"decontaminate ({summary['target']})", summary["n_in"], summary["n_out"], dropped)
        elif kind and "n_in" in summary:
            _add(stages, kind, summary["n_in"], summary["n_out"], summary.get("dropped", {}),
                 summary.get("truncated"))  # fmt: skip
    return stages


def funnel_markdown(stages: dict[str, dict]) -> str:
    lines = ["# Funnel", "", "Rows into and out of every stage, and what was dropped and why.", "",
             "| stage | in | out | kept | dropped (reason: rows) |", "|---|---:|---:|---:|---|"]  # fmt: skip
    for name, s in stages.items():
        kept = f"{100 * s['n_out'] / s['n_in']:.0f}%" if s["n_in"] else "-"
        drops = ", ".join(f"{k}: {v}" for k, v in sorted(s["dropped"].items())) or "-"
        lines.append(f"| {name} | {s['n_in']} | {s['n_out']} | {kept} | {drops} |")
    return "\n".join(lines + cuts_markdown(stages)) + "\n"


def cuts_markdown(stages: dict[str, dict]) -> list[str]:
    """The text cuts per stage and field (rows keep their place in the funnel above), or nothing."""
    cut = [(name, field, c) for name, s in stages.items()
           for field, c in sorted(s.get("truncated", {}).items()) if c.get("rows")]  # fmt: skip
    if not cut:
        return []
    return [
        "", "## Text cut (rows kept, not dropped)", "",
        "Rows whose text was cut to a configured limit; each row lists its cuts in `truncated`.", "",
        "| stage | field | rows | chars cut | posts cut |", "|---|---|---:|---:|---:|",
        *[f"| {name} | {field} | {c['rows']} | {c['chars_cut']} | {c.get('posts_cut', '-')} |"
          for name, field, c in cut],
    ]  # fmt: skip


def funnel_plot(stages: dict[str, dict], path: str) -> None:
    names = list(stages)
    with svg_figure(path, figsize=(7, 0.45 * len(names) + 1.2)) as (_fig, ax):
        ax.barh(names, [stages[n]["n_in"] for n in names], color="#d9d9d9", label="in")
        ax.barh(names, [stages[n]["n_out"] for n in names], color="#3b75af", label="out")
        ax.invert_yaxis()
        ax.set_xlabel("rows")
        ax.legend(loc="lower right")


def write_run_report(
    summary_paths: list[str], md_path: str, plot_path: str, stats_path: str, solve_rates_path: str,
    problem_types_path: str | None = None,
) -> dict[str, dict]:  # fmt: skip
    """The funnel (table + chart), and the solution/answer/decontamination statistics (table +
    solve-rate histogram) with the problem labels (tables + subjects by source), all from the
    stages' summaries."""
    summaries = []
    for path in summary_paths:
        with open(path, encoding="utf-8") as fh:
            summaries.append(json.load(fh))
    stages = funnel(summaries)
    write_text(funnel_markdown(stages), md_path)
    funnel_plot(stages, plot_path)
    stats = run_statistics(summaries)
    write_text(statistics_markdown(stats), stats_path)
    solve_rate_plot(stats["answers"]["solve_rate_histogram"], solve_rates_path)
    if problem_types_path:
        problem_type_plot(stats["problems"]["labels"], problem_types_path)
    return stages
