"""The run's funnel for `snakemake --report`: rows in, rows out and drops by reason for every
stage, from the step summaries the stages write (`mathforge.funnel`, shards added up), as a
Markdown table and a bar chart."""

from __future__ import annotations

from mathforge.funnel import StepStats, by_step, read_summaries
from mathforge.io import svg_figure, write_text
from mathforge.run_statistics import (
    problem_type_plot,
    run_statistics,
    solve_rate_plot,
    statistics_markdown,
)

PROBLEM_STEPS = ("ingest", "extract_problems", "detect_language", "classify_problems", "extract_answers")
# Not funnel stages: merge_problems concatenates (rows in = rows out); imported tables are not
# counted apart from the forum steps they join (as before the one summary type).
NOT_FUNNEL = ("import_problems", "merge_problems")


def stage_label(step: str) -> str:
    """`decontaminate:answers` -> `decontaminate (answers)`: one step run on several targets."""
    name, _, qualifier = step.partition(":")
    return f"{name} ({qualifier})" if qualifier else name


def funnel(steps: dict[str, StepStats]) -> dict[str, StepStats]:
    """{stage label: summary}: the problem steps in pipeline order, then every other step."""
    problem = [steps[s] for s in PROBLEM_STEPS if s in steps]
    rest = [s for name, s in steps.items() if name not in PROBLEM_STEPS + NOT_FUNNEL]
    return {stage_label(s.step): s for s in problem + rest}


def funnel_markdown(stages: dict[str, StepStats]) -> str:
    lines = ["# Funnel", "", "Rows into and out of every stage, and what was dropped and why.", "",
             "| stage | in | out | kept | dropped (reason: rows) |", "|---|---:|---:|---:|---|"]  # fmt: skip
    for name, s in stages.items():
        kept = f"{100 * s.n_out / s.n_in:.0f}%" if s.n_in else "-"
        drops = ", ".join(f"{k}: {v}" for k, v in sorted(s.dropped.items())) or "-"
        lines.append(f"| {name} | {s.n_in} | {s.n_out} | {kept} | {drops} |")
    return "\n".join(lines + cuts_markdown(stages)) + "\n"


def cuts_markdown(stages: dict[str, StepStats]) -> list[str]:
    """The text cuts per stage and field (rows keep their place in the funnel above), or nothing."""
    cut = [(name, field, c) for name, s in stages.items()
           for field, c in sorted(s.counters.get("truncated", {}).items()) if c.get("rows")]  # fmt: skip
    if not cut:
        return []
    return [
        "", "## Text cut (rows kept, not dropped)", "",
        "Rows whose text was cut to a configured limit; each row lists its cuts in `truncated`.", "",
        "| stage | field | rows | chars cut | posts cut |", "|---|---|---:|---:|---:|",
        *[f"| {name} | {field} | {c['rows']} | {c['chars_cut']} | {c.get('posts_cut', '-')} |"
          for name, field, c in cut],
    ]  # fmt: skip


def funnel_plot(stages: dict[str, StepStats], path: str) -> None:
    names = list(stages)
    with svg_figure(path, figsize=(7, 0.45 * len(names) + 1.2)) as (_fig, ax):
        ax.barh(names, [stages[n].n_in for n in names], color="#d9d9d9", label="in")
        ax.barh(names, [stages[n].n_out for n in names], color="#3b75af", label="out")
        ax.invert_yaxis()
        ax.set_xlabel("rows")
        ax.legend(loc="lower right")


def write_run_report(
    summary_paths: list[str], md_path: str, plot_path: str, stats_path: str, solve_rates_path: str,
    problem_types_path: str | None = None,
) -> dict[str, StepStats]:  # fmt: skip
    """The funnel (table + chart), and the solution/answer/decontamination statistics (table +
    solve-rate histogram) with the problem labels (tables + subjects by source), all from the
    stages' summaries."""
    steps = by_step(read_summaries(summary_paths))
    stages = funnel(steps)
    write_text(funnel_markdown(stages), md_path)
    funnel_plot(stages, plot_path)
    stats = run_statistics(steps)
    write_text(statistics_markdown(stats), stats_path)
    solve_rate_plot(stats["answers"]["solve_rate_histogram"], solve_rates_path)
    if problem_types_path:
        problem_type_plot(stats["problems"]["labels"], problem_types_path)
    return stages
