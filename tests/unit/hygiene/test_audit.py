"""The audit's registry: every check by name, first failure counted, fatal rows raise, the report."""

from __future__ import annotations

import pytest

from mathforge.benchmarks import BenchmarkItem
from mathforge.config import REPO_ROOT
from mathforge.hygiene.audit import CHECKS, AuditContext, RowCheck, SFTAuditError, audit_rows, raise_if_fatal
from mathforge.hygiene.near_identical import NearIdenticalIndex
from mathforge.hygiene.report import hygiene_markdown, hygiene_report
from mathforge.hygiene.tool_output import output_markers

PROMPTS = REPO_ROOT / "config" / "prompts"
PROBLEM = "What is 6*7?"


def row(pid="p1", seed=0, tool=False, generation="\\boxed{42}", messages=None, **kw) -> dict:
    messages = messages or [
        {"role": "user", "content": PROBLEM},
        {"role": "assistant", "content": generation},
    ]
    return {"problem_id": pid, "problem": PROBLEM, "expected_answer": "42", "generation": generation,
            "variant": f"high_{'with' if tool else 'without'}_tool", "tool": tool, "seed": seed,
            "request_key": f"k{pid}{seed}", "messages": messages, **kw}  # fmt: skip


def context(rows, judgement=True, removed=None) -> AuditContext:
    solutions = {r["request_key"]: {"problem_id": r["problem_id"], "judgement": judgement, "code_cells": [],
                                    "code_tags": "markdown@x"} for r in rows}  # fmt: skip
    return AuditContext(
        decontaminated={r["problem_id"] for r in rows}, removed=removed or {}, solutions=solutions,
        final_answers={r["problem_id"]: "42" for r in rows},
        benchmarks=NearIdenticalIndex([BenchmarkItem("b", "1", "Something else entirely, a long text.")], 0.9),
        output_markers=output_markers(PROMPTS), prompts_dir=str(PROMPTS),
    )  # fmt: skip


def test_the_registry_names_each_check_once_fatal_ones_first():
    names = [c.name for c in CHECKS]
    assert len(set(names)) == len(names)
    assert names[:2] == ["decontaminated", "judged_correct"] and all(c.fatal for c in CHECKS[:2])
    assert not any(c.fatal for c in CHECKS[2:]) and names[-1] == "duplicate_messages"
    assert {
        "invented_tool_output",
        "tool_output_mismatch",
        "benchmark_near_identical",
        "message_structure",
        "answer_in_statement",
    } <= set(names)


def test_a_row_counts_under_the_first_check_it_fails_and_clean_rows_are_kept():
    rows = [
        row(seed=0),
        row(seed=1, generation="```output\n42\n```\n\\boxed{42}"),
        row(seed=2, messages=[{"role": "user", "content": PROBLEM}]),
        row(seed=3),  # the same messages as seed 0
        row(seed=4, tool=True, generation="```python\nprint(42)\n```\n```output\n42\n```\n\\boxed{42}"),
    ]
    result = audit_rows(rows, context(rows))
    assert [r["seed"] for r in result.kept] == [0]
    assert [(r["seed"], c.name) for r, c, _ in result.failed] == [
        (1, "invented_tool_output"), (2, "message_structure"), (3, "duplicate_messages"), (4, "tool_output_mismatch")]  # fmt: skip
    assert result.counts["high_without_tool"] == {"checked": 4, "invented_tool_output": 1, "message_structure": 1,
                                                  "duplicate_messages": 1}  # fmt: skip
    raise_if_fatal(result)  # none of these must stop the run


def test_rows_that_must_never_ship_raise_with_their_ids():
    rows = [row(pid="p1"), row(pid="p2")]
    with pytest.raises(
        SFTAuditError, match=r"2 SFT row\(s\).*problem p1 \(high_without_tool, seed 0\): judged_correct"
    ):
        raise_if_fatal(audit_rows(rows, context(rows, judgement=False)))
    with pytest.raises(
        SFTAuditError, match=r"problem p2 .*decontaminated: removed by decontamination \(duplicate_of\)"
    ):
        raise_if_fatal(audit_rows(rows, context(rows, removed={"p2": "duplicate_of"})))


def test_a_statement_that_gives_its_own_answer_is_dropped():
    leaked = "Compute $1^2+2^2+3^2$.\nSum: $1^2+2^2+3^2 = 14$"
    rows = [row(pid="p1", problem=leaked, expected_answer="14",
                messages=[{"role": "user", "content": leaked}, {"role": "assistant", "content": "\\boxed{14}"}]),
            row(pid="p2")]  # fmt: skip
    ctx = context(rows)
    ctx.final_answers["p1"] = "14"
    result = audit_rows(rows, ctx)
    assert [(r["problem_id"], c.name) for r, c, _ in result.failed] == [("p1", "answer_in_statement")]
    assert [r["problem_id"] for r in result.kept] == ["p2"]


def test_a_new_check_is_one_registry_entry():
    always = RowCheck(
        "always_fails", "test", False, lambda r, ctx: "states 42" if "6*7" in r["problem"] else None
    )
    rows = [row()]
    result = audit_rows(rows, context(rows), (*CHECKS, always))
    assert result.counts["high_without_tool"]["always_fails"] == 1 and not result.kept


def test_report_and_table():
    rows = [row(seed=0), row(seed=1, generation="```output\n1\n```\n\\boxed{42}")]
    ctx = context(rows)
    audit = audit_rows(rows, ctx)
    shipped = audit_rows(audit.kept, ctx.fresh())
    report = hygiene_report(
        audit, shipped, ["high_with_tool", "high_without_tool"], {"benchmark_edit_ratio": 0.9}
    )
    assert report["variants"]["high_with_tool"]["checked"] == 0
    assert report["variants"]["high_without_tool"]["shipped"] == 1
    assert report["total"]["failing"]["invented_tool_output"] == 1
    assert report["shipped_audit"] == {
        "checked": 1,
        "failing": dict.fromkeys([c.name for c in CHECKS], 0),
        "shipped": 1,
    }
    table = "\n".join(hygiene_markdown(report))
    assert "| high_without_tool | 2 | 0 | 0 | 0 | 1 | 0 | 0 | 0 | 0 | 1 |" in table
    assert "invented_tool_output (drop)" in table and "decontaminated (fail_run)" in table
    assert "1 rows, 0 failing" in table
