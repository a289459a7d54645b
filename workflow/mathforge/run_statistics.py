"""Solution, answer and decontamination statistics and the SFT hygiene audit for `snakemake
--report`, added up over shards from the summaries the stages write (the funnel is in
`mathforge.run_report`)."""

from __future__ import annotations

from collections import Counter, defaultdict

from mathforge.hygiene.report import STEP as HYGIENE_STEP
from mathforge.hygiene.report import hygiene_markdown
from mathforge.io import svg_figure


def summary_body(summary: dict) -> dict:
    """The stage summary itself: SFT manifests hold their StepStats under "stats"."""
    return summary.get("stats", summary)


def summary_kind(body: dict) -> str | None:
    """What a summary body describes: "problems" (problems/summary.json, the problem steps'
    funnel), "decontaminate", or the step name of a StepStats summary."""
    if "funnel" in body:
        return "problems"
    if "target" in body and "removed_per_method" in body:
        return "decontaminate"
    return body.get("step")


def run_statistics(summaries: list[dict]) -> dict:
    """The solution, answer and decontamination statistics over all summaries, computed once."""
    bodies = [summary_body(s) for s in summaries]
    return {
        "variants": solution_statistics(bodies),
        "answers": answer_statistics(bodies),
        "decontamination": decontamination_statistics(bodies),
        "hygiene": [s for s in bodies if summary_kind(s) == HYGIENE_STEP],
        "problems": problem_label_statistics(bodies),
        "forum_cot": forum_cot_statistics(bodies),
    }


def forum_cot_statistics(summaries: list[dict]) -> dict:
    """rewrite_forum_solutions over all shards: problems, rewrites sent, kept, and every reason."""
    shards = [s for s in summaries if summary_kind(s) == "rewrite_forum_solutions"]
    dropped: Counter = Counter()
    for shard in shards:
        dropped.update(shard.get("dropped", {}))
    return {
        "problems": sum(s["n_in"] for s in shards),
        "rewrites": sum(s.get("rewrites", 0) for s in shards),
        "kept": sum(s["n_out"] for s in shards),
        "dropped": dict(sorted(dropped.items())),
    }


def problem_label_statistics(summaries: list[dict]) -> dict:
    """The problem labels by source (problems/summary.json's `labels`: language, question_type,
    problem_type over answer and proof problems) and detect_language's detections before routing."""
    problems = next((s for s in summaries if summary_kind(s) == "problems"), {})
    detection = problems.get("funnel", {}).get("detect_language", {})
    return {
        "labels": problems.get("labels", {}),
        "detected": detection.get("languages", {}),
        "routes": detection.get("language_routes", {}),
        "translated": detection.get("translated", 0),
        "dropped": detection.get("dropped", {}),
    }


LABEL_TITLES = {
    "language": "Language",
    "question_type": "Question type",
    "problem_type": "Subject (problem_type)",
}


def labels_markdown(problems: dict) -> list[str]:
    """One table per label: rows per value and source (answer and proof problems)."""
    lines = ["## Problems by language, question type and subject", ""]
    if problems["detected"]:
        lines += [
            f"Detected languages (every extracted problem, before routing): {_counts(problems['detected'])}. "
            f"Routes: {_counts(problems['routes'])}. Translated into English: {problems['translated']}. "
            f"Dropped: {_counts(problems['dropped'])}.",
            "",
        ]
    for name, title in LABEL_TITLES.items():
        by_source = problems["labels"].get(name, {})
        if not by_source:
            continue
        sources = sorted(by_source)
        values = sorted({v for counts in by_source.values() for v in counts})
        lines += [f"### {title}", "", "| value | " + " | ".join(sources) + " | total |",
                  "|---|" + "---:|" * (len(sources) + 1)]  # fmt: skip
        for value in values:
            cells = [by_source[s].get(value, 0) for s in sources]
            lines.append(f"| {value} | " + " | ".join(map(str, cells)) + f" | {sum(cells)} |")
        lines.append("")
    return lines


def problem_type_plot(labels: dict, path: str) -> None:
    """Problems per subject (problem_type), one bar segment per source."""
    by_source = labels.get("problem_type", {})
    values = sorted({v for counts in by_source.values() for v in counts})
    with svg_figure(path, figsize=(7, 0.4 * max(len(values), 1) + 1.4)) as (_fig, ax):
        left = [0] * len(values)
        for source, counts in sorted(by_source.items()):
            widths = [counts.get(v, 0) for v in values]
            ax.barh(values, widths, left=left, label=source)
            left = [a + b for a, b in zip(left, widths, strict=True)]
        ax.invert_yaxis()
        ax.set_xlabel("problems (answer and proof)")
        if by_source:
            ax.legend(loc="lower right", title="source")


def solution_statistics(summaries: list[dict]) -> dict[str, Counter]:
    """{mode/effort: solutions, with_answer, completion_tokens, code_executions[, correct, judged]}."""
    variants: dict[str, Counter] = defaultdict(Counter)
    for summary in summaries:
        kind = summary_kind(summary)
        if kind == "generate_solutions":
            for variant, counts in summary.get("solutions_by_variant", {}).items():
                variants[variant].update(counts)
        elif kind == "fill_majority_answer":
            for variant, counts in summary.get("correct_by_variant", {}).items():
                variants[variant].update(correct=counts["correct"], judged=counts["judged"])
    return dict(sorted(variants.items()))


def answer_statistics(summaries: list[dict]) -> dict:
    """Majority-vote outcomes over all shards: problems, rules, statuses, solve rates, judges."""
    keys = ("answer_rule", "majority_status", "solve_rate_histogram", "judge_method", "finish_reasons")
    totals = {key: Counter() for key in keys}
    numbers = Counter()
    for summary in summaries:
        kind = summary_kind(summary)
        if kind == "fill_majority_answer":
            numbers.update(
                problems=summary["n_in"],
                kept=summary["n_out"],
                solutions=summary.get("solutions", 0),
                correct_solutions=summary.get("correct_solutions", 0),
                rejudged=summary.get("rejudged", 0),
            )
            for key in ("answer_rule", "majority_status", "solve_rate_histogram", "judge_method"):
                totals[key].update(summary.get(key, {}))
        elif kind == "generate_solutions":
            totals["finish_reasons"].update(summary.get("finish_reasons", {}))
            cells = summary.get("code_cells", {})
            numbers.update(
                code_cells=sum(cells.values()),
                code_cells_ok=cells.get("ok", 0),
                solution_errors=summary.get("errors", 0),
            )
    return {"numbers": numbers, **totals}


def decontamination_statistics(summaries: list[dict]) -> list[dict]:
    return [s for s in summaries if summary_kind(s) == "decontaminate"]


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _counts(counter: dict) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counter.items()) if v) or "-"


def statistics_markdown(stats: dict) -> str:
    """`run_statistics` as Markdown: solutions by variant, majority answers, decontamination."""
    variants, answers = stats["variants"], stats["answers"]
    n = answers["numbers"]
    lines = [
        "# Solutions, answers and decontamination",
        "",
        "## Solutions by mode and reasoning effort",
        "",
        "Correct is the final verdict against the expected answer after majority voting and repair, "
        "out of the solutions that have one (problems without an expected answer have no verdict).",
        "",
        "| variant | solutions | with \\boxed{} answer | mean completion tokens | code cells / solution "
        "| correct |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for variant, c in variants.items():
        solutions = c["solutions"]
        tokens = f"{c['completion_tokens'] / solutions:.0f}" if solutions else "-"
        cells = f"{c['code_executions'] / solutions:.2f}" if solutions else "-"
        correct = f"{c['correct']} ({_pct(c['correct'], c['judged'])})" if c["judged"] else "-"
        answered = _pct(c["with_answer"], solutions)
        lines.append(f"| {variant} | {solutions} | {answered} | {tokens} | {cells} | {correct} |")
    lines += [
        "",
        f"Finish reasons: {_counts(answers['finish_reasons'])}. "
        f"Code cells run: {n['code_cells']} ({_pct(n['code_cells_ok'], n['code_cells'])} ok). "
        f"Solutions that ended in an error: {n['solution_errors']}.",
        "",
        "## Majority answers",
        "",
        f"- Problems voted on: {n['problems']}; kept for SFT (answer found, solve rate in range): "
        f"{n['kept']} ({_pct(n['kept'], n['problems'])}).",
        f"- Solutions judged: {n['solutions']}; correct: {n['correct_solutions']} "
        f"({_pct(n['correct_solutions'], n['solutions'])}); re-judged after the answer was repaired: "
        f"{n['rejudged']}.",
        f"- Expected answer taken by rule: {_counts(answers['answer_rule'])}.",
        f"- Vote outcome: {_counts(answers['majority_status'])}.",
        f"- Verdicts decided by: {_counts(answers['judge_method'])}.",
        "",
        "| solve rate | problems |",
        "|---|---:|",
        *[f"| {b} | {v} |" for b, v in answers["solve_rate_histogram"].items()],
        "",
        "## Decontamination",
        "",
        "| target | in | out | removed (reason: rows) | per benchmark | per method "
        "| candidates (dense, lexical) | judge |",
        "|---|---:|---:|---|---|---|---|---|",
    ]
    for s in stats["decontamination"]:
        removed = s["removed"] if isinstance(s.get("removed"), dict) else {}
        cands = s.get("candidates", {})
        lines.append(
            f"| {s['target']} | {s['n_in']} | {s['n_out']} | {_counts(removed)} "
            f"| {_counts(s.get('removed_per_benchmark', {}))} | {_counts(s.get('removed_per_method', {}))} "
            f"| {cands.get('dense', '-')}, {cands.get('lexical', '-')} | {_counts(s.get('judge', {}))} |"
        )
    if stats.get("problems", {}).get("labels"):
        lines += ["", *labels_markdown(stats["problems"])]
    forum = stats.get("forum_cot") or {}
    if forum.get("problems"):
        lines += [
            "", "## Solutions rewritten from forum answers (forum_cot)", "",
            f"Problems voted on: {forum['problems']}; forum answers rewritten: {forum['rewrites']}; "
            f"agreeing with the final answer (kept): {forum['kept']} "
            f"({_pct(forum['kept'], forum['rewrites'])}). "
            f"Not rewritten or not kept: {_counts(forum['dropped'])}.",
        ]  # fmt: skip
    for report in stats.get("hygiene", []):
        lines += ["", "## SFT hygiene audit", "", *hygiene_markdown(report)]
    return "\n".join(lines) + "\n"


def solve_rate_plot(histogram: dict[str, int], path: str) -> None:
    """Problems per solve-rate bin (all shards), the difficulty profile of the answer set."""
    with svg_figure(path, figsize=(7, 3)) as (_fig, ax):
        ax.bar(list(histogram), list(histogram.values()), color="#3b75af")
        ax.set_xlabel("solve rate (correct / solutions)")
        ax.set_ylabel("problems")
        ax.tick_params(axis="x", labelrotation=45)
