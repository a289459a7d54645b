"""SFT filters: each returns the reason a solution is dropped, or None to keep it."""

from __future__ import annotations

import re

from mathforge.text import all_boxed

_BOXED = re.compile(r"\\boxed\s*\{")
_CODE_ERROR = re.compile(r"Traceback \(most recent call last\)|Timed out|TimeoutError|SyntaxError")


def trim_after_answer(text: str) -> str:
    """Cut everything after the line holding the last `\\boxed{}` (models ramble on after it)."""
    matches = list(_BOXED.finditer(text))
    if not matches:
        return text
    line_end = text.find("\n", matches[-1].start())
    return text if line_end < 0 else text[:line_end].rstrip()


def drop_reason(row: dict, cfg: dict) -> str | None:
    """Why `row` (a re-judged solution with its problem's verdicts) is not SFT data, or None."""
    if row["expected_answer"] is None:
        return "no_expected_answer"
    if row.get("answer_in_statement"):
        return "answer_in_statement"  # the problem gives its own answer: the row teaches copying
    if not row["difficulty_ok"]:
        return "difficulty"
    if row["judgement"] is not True:
        return "incorrect"
    if row["finish_reason"] != "stop":
        return "unfinished"
    if cfg["drop_multiple_boxed"] and len(set(all_boxed(row["generation"]))) > 1:
        return "multiple_boxed"
    if row["mode"] == "tir":
        cells = row["code_cells"] or []
        if cfg["drop_tir_without_code"] and not cells:
            return "tir_without_code"
        if cfg["drop_code_errors"] and any(
            c["status"] != "ok" or _CODE_ERROR.search(c["output"] or "") for c in cells
        ):
            return "code_error"
    tokens = row["completion_tokens"] or 0
    if cfg["max_tokens"] is not None and tokens > cfg["max_tokens"]:
        return "too_long"
    if tokens < cfg["min_tokens"]:
        return "too_short"
    return None
