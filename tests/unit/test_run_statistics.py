"""Solution, answer and decontamination statistics added up over shards, as the report shows them."""

from collections import Counter

from mathforge.funnel import StepStats, by_step
from mathforge.run_statistics import (
    answer_statistics,
    run_statistics,
    solution_statistics,
    statistics_markdown,
)


def as_stats(summary: dict, notes: tuple = ()) -> StepStats:
    """A StepStats from a flat mapping: the stage's own keys become counters (or `notes`)."""
    own = {k: v for k, v in summary.items() if k not in ("step", "n_in", "n_out", "dropped")}
    counters = {k: v for k, v in own.items() if k not in notes}
    return StepStats(summary["step"], summary["n_in"], summary["n_out"], Counter(summary["dropped"]), counters,
                     {k: v for k, v in own.items() if k in notes})  # fmt: skip


SOLUTIONS = [
    {
        "step": "generate_solutions", "n_in": 2, "n_out": 8, "dropped": {},
        "solutions_by_variant": {
            "plain/high": {"solutions": 4, "with_answer": 3, "completion_tokens": 400, "code_executions": 0},
            "tir/high": {"solutions": 4, "with_answer": 4, "completion_tokens": 200, "code_executions": 6},
        },
        "finish_reasons": {"stop": 7, "length": 1}, "code_cells": {"ok": 5, "error": 1}, "errors": 0,
    },
    {
        "step": "generate_solutions", "n_in": 1, "n_out": 4, "dropped": {},
        "solutions_by_variant": {
            "plain/high": {"solutions": 2, "with_answer": 2, "completion_tokens": 100, "code_executions": 0},
            "tir/high": {"solutions": 2, "with_answer": 1, "completion_tokens": 100, "code_executions": 2},
        },
        "finish_reasons": {"stop": 4}, "code_cells": {"ok": 1, "timeout": 1}, "errors": 1,
    },
]  # fmt: skip
MAJORITY = [
    {
        "step": "fill_majority_answer", "n_in": 2, "n_out": 1, "dropped": {"difficulty": 1},
        "answer_rule": {"forum_agrees": 2}, "majority_status": {"ok": 2}, "solutions": 8,
        "correct_solutions": 5, "rejudged": 0, "judge_method": {"exact": 6, "symbolic": 2},
        "solve_rate_histogram": {"0": 0, "0.5-0.6": 1, "1": 1},
        "correct_by_variant": {"plain/high": {"solutions": 4, "judged": 4, "correct": 2}, "tir/high": {"solutions": 4, "judged": 4, "correct": 3}},
    },
    {
        "step": "fill_majority_answer", "n_in": 1, "n_out": 1, "dropped": {},
        "answer_rule": {"forum_contradicted": 1}, "majority_status": {"ok": 1}, "solutions": 4,
        "correct_solutions": 4, "rejudged": 4, "judge_method": {"exact": 4},
        "solve_rate_histogram": {"0": 0, "0.5-0.6": 0, "1": 1},
        "correct_by_variant": {"plain/high": {"solutions": 2, "judged": 1, "correct": 1}, "tir/high": {"solutions": 2, "judged": 2, "correct": 2}},
    },
]  # fmt: skip
DECONTAM = {
    "step": "decontaminate:answers", "target": "answers", "n_in": 10, "n_out": 7,
    "dropped": {"benchmark_match": 2, "duplicate": 1},
    "removed_per_benchmark": {"gsm8k": 2}, "removed_per_method": {"retrieval": 1, "judge": 1, "dedup": 1},
    "candidates": {"dense": 5, "lexical": 3}, "judge": {"pairs": 2, "yes": 1, "no": 1},
}  # fmt: skip
SOLUTIONS = [as_stats(s) for s in SOLUTIONS]
MAJORITY = [as_stats(s) for s in MAJORITY]
DECONTAM = as_stats(DECONTAM, notes=("target",))


def test_solutions_add_up_over_shards_and_take_correctness_from_the_vote():
    variants = solution_statistics(by_step([*SOLUTIONS, *MAJORITY]))
    assert variants["tir/high"] == {
        "solutions": 6, "with_answer": 5, "completion_tokens": 300, "code_executions": 8, "correct": 5, "judged": 6,
    }  # fmt: skip
    assert variants["plain/high"]["correct"] == 3 and variants["plain/high"]["judged"] == 5


def test_answers_add_up_over_shards():
    answers = answer_statistics(by_step([*SOLUTIONS, *MAJORITY, DECONTAM]))
    assert answers["numbers"]["problems"] == 3 and answers["numbers"]["kept"] == 2
    assert answers["numbers"]["correct_solutions"] == 9 and answers["numbers"]["rejudged"] == 4
    assert answers["numbers"]["code_cells"] == 8 and answers["numbers"]["code_cells_ok"] == 6
    assert answers["answer_rule"] == {"forum_agrees": 2, "forum_contradicted": 1}
    assert list(answers["solve_rate_histogram"].items()) == [("0", 0), ("0.5-0.6", 1), ("1", 2)]
    assert answers["finish_reasons"] == {"stop": 11, "length": 1}


def test_markdown_rows():
    md = statistics_markdown(run_statistics(by_step([*SOLUTIONS, *MAJORITY, DECONTAM])))
    assert "| tir/high | 6 | 83.3% | 50 | 1.33 | 5 (83.3%) |" in md
    assert "| plain/high | 6 | 83.3% | 83 | 0.00 | 3 (60.0%) |" in md
    assert "Code cells run: 8 (75.0% ok)" in md and "Solutions that ended in an error: 1." in md
    assert "Problems voted on: 3; kept for SFT (answer found, solve rate in range): 2 (66.7%)" in md
    assert "| 1 | 2 |" in md
    assert (
        "| answers | 10 | 7 | benchmark_match: 2, duplicate: 1 | gsm8k: 2 | dedup: 1, judge: 1, retrieval: 1 "
        "| 5, 3 | no: 1, pairs: 2, yes: 1 |"
    ) in md


def test_rewrite_votes_add_up_over_shards_and_are_reported_only_when_rewrites_voted():
    votes = [{"rewrites": 3, "ballots": 2, "without_ballot": 1, "changed_majority": 1, "changed_expected_answer": 0},
             {"rewrites": 2, "ballots": 2, "without_ballot": 0, "changed_majority": 0, "changed_expected_answer": 1}]  # fmt: skip
    shards = [StepStats(m.step, m.n_in, m.n_out, m.dropped, {**m.counters, "rewrite_votes": v}, m.notes)
              for m, v in zip(MAJORITY, votes, strict=True)]  # fmt: skip
    md = statistics_markdown(run_statistics(by_step([*SOLUTIONS, *shards])))
    assert (
        "- forum_cot rewrites that voted: 5 rewrites, 4 ballots (1 without an answer: no ballot); "
        "they changed the majority 1 times and the expected answer 1 times."
    ) in md
    assert "forum_cot rewrites that voted" not in statistics_markdown(
        run_statistics(by_step([*SOLUTIONS, *MAJORITY]))
    )


def test_markdown_without_answers_yet():
    md = statistics_markdown(run_statistics(by_step(SOLUTIONS)))
    assert "| tir/high | 6 | 83.3% | 50 | 1.33 | - |" in md
    assert "Problems voted on: 0" in md


HYGIENE = {
    "checks": [{"name": "decontaminated", "description": "d", "on_failure": "fail_run"},
               {"name": "invented_tool_output", "description": "i", "on_failure": "drop"}],
    "variants": {"low_without_tool": {"checked": 3, "failing": {"decontaminated": 0, "invented_tool_output": 1},
                                      "shipped": 2}},
    "total": {"checked": 3, "failing": {"decontaminated": 0, "invented_tool_output": 1}, "shipped": 2},
    "shipped_audit": {"checked": 2, "failing": {"decontaminated": 0, "invented_tool_output": 0}, "shipped": 2},
    "settings": {"benchmark_edit_ratio": 0.9},
}  # fmt: skip


def test_the_sft_hygiene_audit_is_a_table_of_the_statistics_not_a_funnel_stage():
    from mathforge.run_report import funnel

    sft = StepStats("write_sft_shards", 3, 2, Counter(invented_tool_output=1), notes={"hygiene": HYGIENE})
    md = statistics_markdown(run_statistics(by_step([*SOLUTIONS, sft])))
    assert "## SFT hygiene audit" in md
    assert "| low_without_tool | 3 | 0 | 1 | 2 |" in md and "| total | 3 | 0 | 1 | 2 |" in md
    assert "invented_tool_output (drop)" in md and "2 rows, 0 failing" in md
    assert list(funnel(by_step([*SOLUTIONS, sft]))) == ["generate_solutions", "write_sft_shards"]


def test_problem_labels_become_tables_by_source_and_a_subject_chart(tmp_path):
    from mathforge.run_statistics import problem_type_plot

    detection = {
        "step": "detect_language",
        "n_in": 4,
        "n_out": 3,
        "dropped": {"translation:lost_math": 1},
        "languages": {"en": 2, "fr": 2},
        "language_routes": {"keep": 2, "translate": 2},
        "translated": 1,
    }
    merged = {
        "step": "merge_problems", "n_in": 3, "n_out": 3, "dropped": {},
        "labels": {
            "language": {"aops": {"en": 1, "fr": 1}, "se": {"en": 1}},
            "question_type": {"aops": {"answer": 1, "proof": 1}, "se": {"answer": 1}},
            "problem_type": {"aops": {"Algebra": 1, "Geometry": 1}, "se": {"Algebra": 1}},
        },
    }  # fmt: skip
    stats = run_statistics(by_step([as_stats(detection), as_stats(merged)]))
    md = statistics_markdown(stats)
    assert "Detected languages (every extracted problem, before routing): en: 2, fr: 2." in md
    assert "Translated into English: 1. Dropped: translation:lost_math: 1." in md
    assert "| value | aops | se | total |" in md
    assert "| Algebra | 1 | 1 | 2 |" in md and "| Geometry | 1 | 0 | 1 |" in md
    assert "| proof | 1 | 0 | 1 |" in md and "| fr | 1 | 0 | 1 |" in md
    problem_type_plot(stats["problems"]["labels"], str(tmp_path / "p.svg"))
    svg = (tmp_path / "p.svg").read_text()
    assert "<svg" in svg and "Geometry" in svg and "aops" in svg


def test_no_label_section_without_problem_labels():
    assert "Problems by language" not in statistics_markdown(run_statistics({}))
