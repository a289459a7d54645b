"""Sandbox outputs cut at sandbox.max_output_bytes are flagged per cell and counted in the summary."""

from __future__ import annotations

from collections import Counter

from mathforge.funnel import StepStats
from mathforge.solutions.stage import summarize


def cell(truncated: bool) -> dict:
    return {"code": "print(1)", "output": "1", "status": "ok", "error": None, "truncated": truncated,
            "restarted": False, "seconds": 0.0}  # fmt: skip


def test_truncated_code_outputs_are_counted():
    rows = [
        {"mode": "tir", "effort": "low", "predicted_answer": "1", "completion_tokens": 5, "num_code_executions": 2,
         "code_cells": [cell(True), cell(False)], "finish_reason": "stop", "error": None},
        {"mode": "tir", "effort": "low", "predicted_answer": None, "completion_tokens": 5, "num_code_executions": 1,
         "code_cells": [cell(True)], "finish_reason": "stop", "error": None},
    ]  # fmt: skip
    stats = StepStats(step="generate_solutions")
    summarize(stats, rows, Counter())
    assert stats.counters["code_outputs_truncated"] == 2
