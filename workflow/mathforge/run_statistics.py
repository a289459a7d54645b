"""Solution, answer and decontamination statistics and the SFT hygiene audit for `snakemake
--report`, from the step summaries the stages write, shards added up (`mathforge.funnel.by_step`;
the funnel is in `mathforge.run_report`)."""

from __future__ import annotations

from collections import Counter, defaultdict

from mathforge.funnel import StepStats
from mathforge.hygiene.report import hygiene_markdown
from mathforge.io import svg_figure

NONE = StepStats("none")  # a step the run did not have: nothing in, nothing counted


def run_statistics(steps: dict[str, StepStats]) -> dict:
    """The solution, answer and decontamination statistics over all steps (shards added up)."""
    sft = steps.get("write_sft_shards", NONE)
    return {
        "variants": solution_statistics(steps),
        "answers": answer_statistics(steps),
        "decontamination": [s for s in steps.values() if s.step.startswith("decontaminate:")],
        "hygiene": [sft.notes["hygiene"]] if "hygiene" in sft.notes else [],
        "problems": problem_label_statistics(steps),
        "forum_cot": forum_cot_statistics(steps),
    }


def forum_cot_statistics(steps: dict[str, StepStats]) -> dict:
    """rewrite_forum_solutions over all shards: problems, rewrites sent, kept, and every reason."""
    s = steps.get("rewrite_forum_solutions", NONE)
    return {
        "problems": s.n_in,
        "rewrites": s.counters.get("rewrites", 0),
        "kept": s.n_out,
        "dropped": dict(sorted(s.dropped.items())),
    }


def problem_label_statistics(steps: dict[str, StepStats]) -> dict:
    """The problem labels by source (merge_problems' `labels`: language, question_type,
    problem_type over answer and proof problems) and detect_language's detections before routing."""
    detection = steps.get("detect_language", NONE)
    return {
        "labels": steps.get("merge_problems", NONE).counters.get("labels", {}),
        "detected": detection.counters.get("languages", {}),
        "routes": detection.counters.get("language_routes", {}),
        "translated": detection.counters.get("translated", 0),
        "dropped": dict(sorted(detection.dropped.items())),
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


def solution_statistics(steps: dict[str, StepStats]) -> dict[str, Counter]:
    """{mode/effort: solutions, with_answer, completion_tokens, code_executions[, correct, judged]}."""
    variants: dict[str, Counter] = defaultdict(Counter)
    generated = steps.get("generate_solutions", NONE).counters.get("solutions_by_variant", {})
    for variant, counts in generated.items():
        variants[variant].update(counts)
    voted = steps.get("fill_majority_answer", NONE).counters.get("correct_by_variant", {})
    for variant, counts in voted.items():
        variants[variant].update(correct=counts["correct"], judged=counts["judged"])
    return dict(sorted(variants.items()))


def answer_statistics(steps: dict[str, StepStats]) -> dict:
    """Majority-vote outcomes over all shards: problems, rules, statuses, solve rates, judges."""
    majority = steps.get("fill_majority_answer", NONE)
    solutions = steps.get("generate_solutions", NONE)
    keys = ("answer_rule", "majority_status", "solve_rate_histogram", "judge_method")
    totals = {key: Counter(majority.counters.get(key, {})) for key in keys}
    cells = solutions.counters.get("code_cells", {})
    numbers = Counter(
        problems=majority.n_in,
        kept=majority.n_out,
        solutions=majority.counters.get("solutions", 0),
        correct_solutions=majority.counters.get("correct_solutions", 0),
        rejudged=majority.counters.get("rejudged", 0),
        code_cells=sum(cells.values()),
        code_cells_ok=cells.get("ok", 0),
        solution_errors=solutions.counters.get("errors", 0),
    )
    finish_reasons = Counter(solutions.counters.get("finish_reasons", {}))
    rewrite_votes = Counter(majority.counters.get("rewrite_votes", {}))  # forum_cot.count_as_votes
    return {"numbers": numbers, **totals, "finish_reasons": finish_reasons, "rewrite_votes": rewrite_votes}


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _counts(counter: dict) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counter.items()) if v) or "-"


def _rewrite_vote_lines(votes: dict) -> list[str]:
    """The forum_cot rewrites that voted (forum_cot.count_as_votes), when any did."""
    if not votes.get("rewrites"):
        return []
    return [
        f"- forum_cot rewrites that voted: {votes['rewrites']} rewrites, {votes.get('ballots', 0)} ballots "
        f"({votes.get('without_ballot', 0)} without an answer: no ballot); they changed the majority "
        f"{votes.get('changed_majority', 0)} times and the expected answer "
        f"{votes.get('changed_expected_answer', 0)} times."
    ]


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
        *_rewrite_vote_lines(answers.get("rewrite_votes") or {}),
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
        c = s.counters
        cands = c.get("candidates", {})
        lines.append(
            f"| {s.notes['target']} | {s.n_in} | {s.n_out} | {_counts(s.dropped)} "
            f"| {_counts(c.get('removed_per_benchmark', {}))} | {_counts(c.get('removed_per_method', {}))} "
            f"| {cands.get('dense', '-')}, {cands.get('lexical', '-')} | {_counts(c.get('judge', {}))} |"
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
